// Follows the calls the zone's demands became. `hub.call-events` (keyed by call id, per-call
// `sequence`) moves each demand with its call; `hub.intake.dlq` tells which intake commands the calls
// subgraph refused, so a demand whose call could not be made says why instead of waiting for ever.
// Both are consumed at least once: applying a record twice changes nothing.
import type { ConsumedRecord } from '../../platform/consumer.ts';
import { contract } from '../../platform/contracts.ts';
import { type DeadLetter, decodeBytes } from '../../platform/dead-letter.ts';
import type { Logger } from '../../platform/logger.ts';
import type { CallEvent } from '../../platform/call-event.ts';
import type { EnterpriseZone } from './store.ts';

const validateEvent = contract<CallEvent>('call-event');
const validateLetter = contract<DeadLetter>('dead-letter');

function parse(value: Buffer | null): unknown {
  try {
    return value ? JSON.parse(value.toString('utf8')) : undefined;
  } catch {
    return undefined;
  }
}

export class CallFollower {
  constructor(
    private readonly zone: EnterpriseZone,
    private readonly topics: { callEvents: string; intakeDlq: string },
    private readonly logger: Logger,
  ) {}

  async handle({ topic, partition, message }: ConsumedRecord): Promise<void> {
    const record = parse(message.value);
    if (topic === this.topics.callEvents) {
      // Cheap test first: most calls are not the zone's.
      const source = (record as { call?: { source?: string } } | undefined)?.call?.source;
      if (source !== 'ENTERPRISE') return;
      const checked = validateEvent(record);
      if (!checked.ok) {
        this.logger.warn({ partition, offset: message.offset, reason: checked.reason }, 'call event ignored: fails its contract');
        return;
      }
      await this.zone.applyCallEvent(checked.value);
      return;
    }
    if (topic === this.topics.intakeDlq) {
      const letter = validateLetter(record);
      if (!letter.ok) {
        this.logger.warn({ partition, offset: message.offset, reason: letter.reason }, 'dead letter ignored: fails its contract');
        return;
      }
      const { value, reason } = letter.value;
      const command = parse(value ? decodeBytes(value) : null) as { source?: string; externalId?: string; kind?: string } | undefined;
      if (command?.source !== 'enterprise' || !command.externalId) return;
      if (command.kind === 'create_call') {
        await this.zone.rejectDemand(command.externalId, reason);
      } else {
        this.logger.warn({ demandId: command.externalId, kind: command.kind, reason }, 'intake command for a demand refused');
      }
    }
  }
}
