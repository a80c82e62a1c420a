// Projects `hub.call-events` into evaluation's ledgers, a whole Kafka batch at a time (a fetch of up
// to EVALUATION_BATCH_BYTES per partition): the batch's ledger changes are computed in memory, written
// with one bulk write per slice of ledger documents, then the calls, and only then is the offset
// committed. An event that fails the contract goes to `hub.call-events.dlq` with the reason and is not
// retried; a database or broker failure is thrown, and the batch comes again from the first
// uncommitted record (applying it twice changes nothing: store.ts `apply`).
import type { Consumer, Producer } from 'kafkajs';
import { contract } from '../../platform/contracts.ts';
import type { Logger } from '../../platform/logger.ts';
import type { CallEvent } from '../../platform/call-event.ts';
import { type Observation, observe } from './domain/ledger.ts';
import type { BatchResult, EvaluationStore } from './store.ts';

const validateEvent = contract<CallEvent>('call-event');

export interface RawRecord {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  partition: number;
  topic: string;
}

export interface Rejection {
  reason: string;
  record: RawRecord;
}

/** Parses and checks records; the good ones become observations grouped by call. */
export function sortOut(records: RawRecord[]): { byCall: Map<string, Observation[]>; rejected: Rejection[] } {
  const byCall = new Map<string, Observation[]>();
  const rejected: Rejection[] = [];
  for (const record of records) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(record.value?.toString('utf8') ?? '');
    } catch {
      rejected.push({ reason: 'invalid JSON', record });
      continue;
    }
    const checked = validateEvent(parsed);
    if (!checked.ok) {
      rejected.push({ reason: `fails the call-event contract: ${checked.reason}`, record });
      continue;
    }
    const event = checked.value;
    const list = byCall.get(event.callId) ?? [];
    list.push(observe(event));
    byCall.set(event.callId, list);
  }
  return { byCall, rejected };
}

export class Projector {
  /** Events projected since start (not counting repeats; counted when stored, so a batch that failed after storing some is not counted twice). */
  get projected(): number {
    return this.store.storedEvents;
  }

  constructor(
    private readonly store: EvaluationStore,
    private readonly producer: Producer,
    private readonly dlqTopic: string,
    private readonly logger: Logger,
    /** Told which ledger documents changed (the counter publisher). */
    private readonly onChanged: (ledgerIds: string[]) => void = () => undefined,
  ) {}

  /** Applies one batch of raw records; dead-letters the bad ones. `between` runs between writes (a heartbeat). */
  async project(records: RawRecord[], between?: () => Promise<void>): Promise<BatchResult> {
    const { byCall, rejected } = sortOut(records);
    if (rejected.length > 0) {
      for (const { reason, record } of rejected) {
        this.logger.warn({ topic: record.topic, partition: record.partition, offset: record.offset, reason }, 'call event dead-lettered');
      }
      await this.producer.send({
        topic: this.dlqTopic,
        messages: rejected.map(({ reason, record }) => ({
          key: record.key,
          value: JSON.stringify({
            reason,
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            record: record.value?.toString('utf8') ?? null,
          }),
          headers: { 'dlq-reason': reason.slice(0, 200) },
        })),
      });
    }
    const result = await this.store.apply(byCall, between);
    if (result.changed.length > 0) this.onChanged(result.changed);
    return result;
  }

  /** Consumes `topic` from the beginning in `consumer`'s group, a batch at a time. */
  async run(consumer: Consumer, topic: string): Promise<void> {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        await this.project(
          batch.messages.map((m) => ({ key: m.key, value: m.value, offset: m.offset, partition: batch.partition, topic: batch.topic })),
          heartbeat,
        );
        // Committed only once everything the batch changed is stored.
        const last = (batch.messages.at(-1) as { offset: string }).offset;
        resolveOffset(last);
        await commitOffsetsIfNecessary({
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
        });
        await heartbeat();
      },
    });
  }
}
