// The consumer runtime every connector stands on. A pipeline maps each record of its source topics to
// messages (intake commands, alerts, feedback); the runtime does the rest, the same way for every
// source:
// - consumer groups, one per pipeline, so copies of the connector share the partitions;
// - per-key order: a partition's records are mapped in order and their messages sent in that order
//   (idempotent producer, one request in flight), and a record is retried before the next is looked at;
// - batching: the messages of a whole batch go out in one request, and only then is its offset
//   committed (at-least-once; downstream writes are idempotent on deterministic command ids, so a
//   crash between send and commit duplicates nothing in effect);
// - retries with exponential backoff for unexpected failures, then the dead-letter topic; a
//   deliberate refusal (Rejected: bad JSON, schema, unknown category, impossible date, outside the
//   district, too large) goes there at once. A dead letter never stops the partition;
// - graceful shutdown: a batch in flight is finished (sent and committed) before the group is left;
// - metrics: records by outcome, retries, dead letters by reason, lag per partition, batch time.
// Same discipline as platform/consumer.ts runConsumer (commit only what was handled), extended to
// whole batches because a connector's work is a pure mapping followed by one produce request.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Logger } from '../../platform/logger.ts';
import { GROUP_SESSION } from '../../platform/consumer.ts';
import { deadLetterOutput } from '../../platform/dead-letter.ts';
import type { Keyring } from '../../platform/personal-keys.ts';
import type { RecordSigner, RecordVerifier } from '../../platform/audit/signing.ts';
import type { ConnectorMetrics } from './metrics.ts';
import { type Output, Rejected, type RejectionCode, type SourceRecord, sourceRecord } from '../../platform/source-record.ts';
import { childTrace, type TraceHeaders } from './trace.ts';

export interface PipelineContext {
  /** The trace context for everything written for this record (a child span of the record's). */
  trace: TraceHeaders;
}

export interface Pipeline {
  /** `hotline-orders`, `sanfang-warnings`, `petition-feedback` …: names the consumer group and metrics. */
  name: string;
  /** Full topic names (with the prefix). */
  topics: string[];
  /** The messages a record becomes; throw Rejected to dead-letter it. An empty list skips it. */
  process(record: SourceRecord, context: PipelineContext): Promise<Output[]> | Output[];
  /**
   * Audit (#18): the keys its records must be signed with (a source that signs; the hub's own keys for
   * hub.call-events). A record without a valid signature is dead-lettered (`bad_signature`).
   */
  signedBy?: RecordVerifier;
}

/** The header that keeps, on every message made from a record, what its signature check found. */
export const SOURCE_SIGNATURE_HEADER = 'source-signature';

export interface RuntimeOptions {
  kafka: Kafka;
  producer: Producer;
  logger: Logger;
  metrics: ConnectorMetrics;
  /** Seals the personal data of a dead letter's record (the re-drive opens it). */
  keys: Keyring;
  /** Audit (#18): signs every message published (platform/audit/signing.ts). */
  signer?: RecordSigner;
  /** Consumer group name for a pipeline (with the prefix). */
  groupId: (pipeline: Pipeline) => string;
  /** Largest record accepted, in bytes; a larger one is dead-lettered. */
  maxRecordBytes: number;
  /** Attempts for a record whose processing fails unexpectedly, before it is dead-lettered. */
  attempts: number;
  /** First retry delay; doubles each time, at most 30 s. */
  retryBaseMs: number;
  /** Partitions one copy processes at once. */
  concurrency: number;
  /** Messages gathered before a batch is sent and committed part-way. */
  flushEvery?: number;
  /** How long a silent copy keeps its partitions before the group hands them to the others. */
  sessionTimeoutMs?: number;
  /**
   * Fault injection for the crash test, never set in production: after this many sends, the copy
   * stops before it commits (as a process frozen at the worst moment), writes `connector halted` to
   * stderr and sends nothing more, so the test can SIGKILL it with records out but not committed.
   */
  haltAfterSends?: number;
}

export class ConnectorRuntime {
  private readonly consumers: Consumer[] = [];
  private sends = 0;
  private halted = false;

  constructor(private readonly options: RuntimeOptions) {}

  async start(pipeline: Pipeline): Promise<void> {
    const { kafka, concurrency } = this.options;
    const consumer = kafka.consumer({
      groupId: this.options.groupId(pipeline),
      maxBytesPerPartition: 1_048_576,
      ...GROUP_SESSION,
      ...(this.options.sessionTimeoutMs && { sessionTimeout: this.options.sessionTimeoutMs }),
    });
    await consumer.connect();
    this.consumers.push(consumer);
    await consumer.subscribe({ topics: pipeline.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: concurrency,
      eachBatch: (payload) => this.batch(pipeline, payload),
    });
  }

  /** Leaves every group after the batches in flight are sent and committed. */
  async stop(): Promise<void> {
    await Promise.all(this.consumers.splice(0).map((c) => c.disconnect()));
  }

  private async batch(pipeline: Pipeline, payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary } = payload;
    const { metrics } = this.options;
    const flushEvery = this.options.flushEvery ?? 500;
    const labels = { pipeline: pipeline.name, topic: batch.topic };
    const timer = metrics.batchSeconds.startTimer(labels);
    let pending: Output[] = [];
    let done: string | undefined;

    const flush = async () => {
      if (done === undefined) return;
      await this.haltIf(this.halted);
      await this.publish(pipeline, pending, heartbeat);
      if (pending.length > 0) await this.haltIf(++this.sends === this.options.haltAfterSends);
      pending = [];
      resolveOffset(done);
      await commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(done) + 1n).toString() }] }],
      });
      metrics.lag.set({ ...labels, partition: String(batch.partition) }, lagAfter(batch.highWatermark, done));
      done = undefined;
      await heartbeat();
    };

    try {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break;
        const record = sourceRecord(batch.topic, batch.partition, message);
        pending.push(...(await this.handle(pipeline, record, heartbeat)));
        done = message.offset;
        if (pending.length >= flushEvery) await flush();
      }
      await flush();
    } finally {
      timer();
    }
  }

  /** The crash test's fault injection (haltAfterSends): from now on this copy waits forever. */
  private async haltIf(condition: boolean): Promise<void> {
    if (!condition) return;
    if (!this.halted) {
      this.halted = true;
      process.stderr.write(`connector halted after ${this.sends} sends, before committing\n`);
    }
    await new Promise(() => {});
  }

  /** A record's messages, or its dead letter: retries unexpected failures with backoff first. */
  private async handle(pipeline: Pipeline, record: SourceRecord, heartbeat: () => Promise<void>): Promise<Output[]> {
    const { metrics, logger, attempts, retryBaseMs, maxRecordBytes } = this.options;
    const labels = { pipeline: pipeline.name, topic: record.topic };
    const where = { pipeline: pipeline.name, topic: record.topic, partition: record.partition, offset: record.offset };
    const trace = childTrace(record.headers);
    let failure: { code: RejectionCode; reason: string; attempts: number } | undefined;
    if ((record.value?.length ?? 0) > maxRecordBytes) {
      failure = { code: 'too_large', reason: `record of ${record.value?.length} bytes exceeds ${maxRecordBytes}`, attempts: 1 };
    }
    // Audit (#18): a record its source signs is checked before anything is made of it.
    const signature = pipeline.signedBy?.check(record.topic, record.key, record.value, record.headers);
    if (!failure && signature && signature.status !== 'valid') {
      const key = 'keyId' in signature ? ` (key "${signature.keyId}"; known: ${pipeline.signedBy?.keyIds.join(', ')})` : '';
      failure = { code: 'bad_signature', reason: `signature ${signature.status}${key}`, attempts: 1 };
    }
    const checked = signature?.status === 'valid' ? `valid;key=${signature.keyId}` : 'unsigned';
    for (let attempt = 1; !failure; attempt++) {
      try {
        const outputs = await pipeline.process(record, { trace });
        metrics.records.inc({ ...labels, outcome: outputs.length > 0 ? 'processed' : 'skipped' });
        return outputs.map((o) => ({ ...o, headers: { ...trace, [SOURCE_SIGNATURE_HEADER]: checked, ...o.headers } }));
      } catch (err) {
        if (err instanceof Rejected) {
          failure = { code: err.code, reason: err.message, attempts: attempt };
        } else if (attempt >= attempts) {
          failure = { code: 'failed_after_retries', reason: `failed after ${attempt} attempts: ${(err as Error).message}`, attempts: attempt };
        } else {
          metrics.retries.inc(labels);
          // The error's message only: records may hold personal data, and are never logged.
          logger.warn({ ...where, attempt, err: (err as Error).message }, 'record failed; retrying');
          await sleep(Math.min(retryBaseMs * 2 ** (attempt - 1), 30_000));
          await heartbeat();
        }
      }
    }
    metrics.records.inc({ ...labels, outcome: 'dead_lettered' });
    metrics.deadLetters.inc({ ...labels, reason: failure.code });
    logger.warn({ ...where, reasonCode: failure.code, reason: failure.reason }, 'record dead-lettered');
    return [deadLetterOutput(pipeline.name, record, failure, this.options.keys)];
  }

  /** Sends a batch's messages in one request, in order; retries the send with backoff, then gives up. */
  private async publish(pipeline: Pipeline, outputs: Output[], heartbeat: () => Promise<void>): Promise<void> {
    if (outputs.length === 0) return;
    const { producer, metrics, logger, attempts, retryBaseMs } = this.options;
    // Grouped by topic in first-seen order; within a topic the records keep their order.
    const byTopic = new Map<string, Output[]>();
    for (const output of outputs) byTopic.set(output.topic, [...(byTopic.get(output.topic) ?? []), output]);
    const topicMessages = [...byTopic].map(([topic, messages]) => ({
      topic,
      // Audit (#18): every message the hub publishes is signed over its value, topic and key.
      messages: messages.map(({ key, value, headers }) => ({ key, value, headers: { ...headers, ...this.options.signer?.headers(topic, key, value) } })),
    }));
    for (let attempt = 1; ; attempt++) {
      try {
        await producer.sendBatch({ topicMessages });
        for (const [topic, messages] of byTopic) metrics.published.inc({ pipeline: pipeline.name, topic }, messages.length);
        return;
      } catch (err) {
        // The broker is not taking writes: nothing is committed, so nothing is lost. After the last
        // attempt the error stops this batch and the consumer starts again from the committed offset.
        if (attempt >= attempts) throw err;
        metrics.retries.inc({ pipeline: pipeline.name, topic: 'publish' });
        logger.warn({ pipeline: pipeline.name, attempt, err: (err as Error).message }, 'publish failed; retrying');
        await sleep(Math.min(retryBaseMs * 2 ** (attempt - 1), 30_000));
        await heartbeat();
      }
    }
  }
}

function lagAfter(highWatermark: string, offset: string): number {
  return Math.max(0, Number(BigInt(highWatermark) - BigInt(offset) - 1n));
}
