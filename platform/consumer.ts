// Consuming with at-least-once delivery made safe for shutdown: a record's offset is committed only
// after its handler has finished, and a batch in flight when the consumer stops is finished and
// committed before the consumer leaves its group. Handlers must be idempotent, since a crash between
// handling and commit delivers the record again.
import type { Consumer, KafkaMessage } from 'kafkajs';

export interface ConsumedRecord {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

export interface ConsumeOptions {
  consumer: Consumer;
  topics: string[];
  fromBeginning?: boolean;
  handle: (record: ConsumedRecord) => Promise<void>;
}

export async function runConsumer({
  consumer,
  topics,
  fromBeginning = false,
  handle,
}: ConsumeOptions): Promise<void> {
  await consumer.subscribe({ topics, fromBeginning });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
      let handled: string | undefined;
      try {
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break;
          await handle({ topic: batch.topic, partition: batch.partition, message });
          resolveOffset(message.offset);
          handled = message.offset;
          // Heartbeats go out only between records: long work belongs in smaller steps, not one handler.
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
