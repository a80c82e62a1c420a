// Consuming with at-least-once delivery made safe for shutdown: a record's offset is committed only
// after its handler has finished (record by record, or a run of records at once with `handleBatch`),
// and a batch in flight when the consumer stops is finished and committed before the consumer leaves
// its group. Handlers must be idempotent, since a crash between handling and commit delivers the
// record again.
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, ConsumerConfig, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from './logger.ts';

/**
 * Session settings of every long-lived consumer group (calls intake, evaluation, the enterprise zone,
 * the connectors). kafkajs's defaults (session 30 s, rebalance 60 s) make a group whose member
 * crashed, or that lost its broker, wait half a minute before anyone consumes again: the coordinator
 * removes a silent member only when its session expires, and a member joining meanwhile waits for
 * it. Chosen instead:
 * - `sessionTimeout` 10 s: a crashed member is dropped within 10 s. It must outlast the longest gap
 *   between heartbeats: kafkajs heartbeats after each fetch (a fetch waits at most `maxWaitTimeInMs`,
 *   below) and between records (platform/consumer.ts), so 10 s leaves one fetch and a slow
 *   record of margin. The broker accepts 6–300 s (`group.min/max.session.timeout.ms`).
 * - `heartbeatInterval` 1 s: a rebalance reaches every member within about a second (a tenth of the
 *   session, Kafka's own advice is at most a third).
 * - `maxWaitTimeInMs` 1 s (kafkajs: 5 s): how long a fetch waits for records on a quiet topic;
 *   stopping waits for the fetch in flight, so this bounds a graceful stop's wait, and heartbeats
 *   follow each fetch.
 * - `rebalanceTimeout` 15 s: how long a rebalance waits for members to finish their batch and
 *   rejoin; batches are handled a record (or a run of DEFAULT_BATCH_RECORDS) at a time, so a live
 *   member rejoins in well under that, and a stuck one no longer holds the whole group for a minute.
 * A member that stops gracefully leaves its group at once (LeaveGroup), so none of this is waited on
 * after a SIGTERM; these bounds are for crashes and broker restarts.
 */
export const GROUP_SESSION = {
  sessionTimeout: 10_000,
  heartbeatInterval: 1_000,
  rebalanceTimeout: 15_000,
  maxWaitTimeInMs: 1_000,
} as const satisfies Partial<ConsumerConfig>;

/**
 * A consumer in a group of this process alone (`<groupPrefix><uuid>`, GROUP_SESSION), for reading a
 * topic whole into memory. The group is deleted when the process stops (`onShutdown`, under `name`):
 * a per-process group left behind would show as lag for ever.
 */
export async function processConsumer(options: {
  kafka: Kafka;
  admin: Admin;
  groupPrefix: string;
  name: string;
  onShutdown: (name: string, close: () => Promise<unknown>) => void;
  logger: Logger;
}): Promise<Consumer> {
  const { kafka, admin, name, logger } = options;
  const groupId = `${options.groupPrefix}${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, ...GROUP_SESSION });
  await consumer.connect();
  options.onShutdown(name, async () => {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch((err: unknown) => logger.warn({ err, groupId }, `could not delete the group of the ${name}`));
  });
  return consumer;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

/**
 * Records a batch handler takes at once (`handleBatch`): one fetched batch is cut into runs of this
 * many, each handled and committed before the next. A named default: 100 records are two database
 * slices (platform/mongo.ts BULK_SLICE); a copy that dies loses at most one run's work in progress
 * (done again, idempotently, by the next owner of the partition).
 */
export const DEFAULT_BATCH_RECORDS = 100;

export type ConsumeOptions = {
  consumer: Consumer;
  topics: string[];
  fromBeginning?: boolean;
  /**
   * Partitions handled at once (kafkajs `partitionsConsumedConcurrently`, default 1). Order holds
   * within a partition only, so a handler that runs for several partitions at a time must not need
   * order across them.
   */
  partitionsAtOnce?: number;
} & (
  | { handle: (record: ConsumedRecord) => Promise<void> }
  | {
      /**
       * Takes consecutive records of one partition, in offset order; resolves once every one of them
       * is done (stored), so all of them are committed. Throwing commits none of this run.
       */
      handleBatch: (records: ConsumedRecord[]) => Promise<void>;
      /** Records per run (DEFAULT_BATCH_RECORDS). */
      batchRecords?: number;
    }
);

export async function runConsumer(options: ConsumeOptions): Promise<void> {
  const { consumer, topics, fromBeginning = false } = options;
  const handleRun =
    'handleBatch' in options
      ? options.handleBatch
      : async (records: ConsumedRecord[]) => {
          for (const record of records) await options.handle(record);
        };
  const runLength = 'handleBatch' in options ? (options.batchRecords ?? DEFAULT_BATCH_RECORDS) : 1;
  await consumer.subscribe({ topics, fromBeginning });
  await consumer.run({
    partitionsConsumedConcurrently: options.partitionsAtOnce ?? 1,
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
      let handled: string | undefined;
      try {
        for (let i = 0; i < batch.messages.length; i += runLength) {
          if (!isRunning() || isStale()) break;
          const run = batch.messages.slice(i, i + runLength);
          // A run's steps (a slice stored, a send) may each take seconds on a loaded machine: the
          // group session must track that the process lives, not how long one step takes, so
          // heartbeats go out on a timer while a run is handled (kafkajs sends at most one per
          // heartbeatInterval). One refused (the group rebalancing) is left to the commit below,
          // which then fails and the run comes again to the partition's next owner.
          const beating = runLength > 1 ? setInterval(() => void heartbeat().catch(() => undefined), GROUP_SESSION.heartbeatInterval) : undefined;
          try {
            await handleRun(run.map((message) => ({ topic: batch.topic, partition: batch.partition, message })));
          } finally {
            clearInterval(beating);
          }
          const last = run.at(-1)!.offset;
          resolveOffset(last);
          handled = last;
          // Heartbeats go out only between runs: long work belongs in smaller steps, not one handler.
          await heartbeat();
        }
      } finally {
        // Commit what was handled, also when a handler failed, so a retry starts at the failed record.
        if (handled !== undefined) {
          const offset = (BigInt(handled) + 1n).toString();
          await commitOffsetsIfNecessary({
            topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset }] }],
          });
        }
      }
    },
  });
}
