// What goes back to a source system comes from hub.call-events: the calls subgraph publishes every
// change with a snapshot of the call and its source reference. A source hears about its own calls
// when they are completed (办结, with the result), closed without having been completed here (closed
// with the call they were merged into, or confirmed directly), and merged into another call (并单).
// The result is scrubbed again here: what goes back to a source is the hub's own record.
import { contract } from '../../platform/contracts.ts';
import { scrubText } from '../../platform/personal-data.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import { parseRecord, type SourceRecord } from '../../platform/source-record.ts';
import type { CallEvent } from '../../platform/call-event.ts';


const validateEvent = contract<CallEvent>('call-event');

export interface Outcome {
  kind: 'COMPLETED' | 'CLOSED' | 'MERGED';
  event: CallEvent;
  externalId: string;
  result: string | null;
  handlingUnit: { id: string; name: string };
  mergedInto: string | null;
  at: string;
}

/** The outcome a source must hear about, or undefined for events of other sources and other changes. */
export function outcomeFor(record: SourceRecord, system: string, directory: UnitDirectory): Outcome | undefined {
  const event = parseRecord(record, validateEvent);
  const ref = event.call.sourceRef;
  if (ref?.system !== system) return undefined;
  const kind =
    event.type === 'call.completed'
      ? 'COMPLETED'
      : event.type === 'call.merged'
        ? 'MERGED'
        : event.type === 'call.closed' && event.data.bySource !== true
          ? 'CLOSED'
          : undefined;
  if (!kind) return undefined;
  const unitId = event.call.handlingUnitId;
  return {
    kind,
    event,
    externalId: ref.externalId,
    result: event.call.result ? scrubText(event.call.result) : null,
    handlingUnit: { id: unitId, name: directory.get(unitId)?.name ?? unitId },
    mergedInto: event.call.mergedInto ?? null,
    at: event.occurredAt,
  };
}
