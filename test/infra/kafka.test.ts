// The local Apache Kafka broker, through kafkajs and the platform's client factory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConsumer } from '../../platform/consumer.ts';
import { type Admin, createKafka, ensureTopics, type Kafka, topicName } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { testScope } from '../support/isolation.ts';

const scope = testScope('kafka');
const logger = createLogger('test', 'warn');
let kafka: Kafka;
let admin: Admin;
const topic = topicName(scope.config, 'hub.smoke');

beforeAll(async () => {
  kafka = createKafka(scope.config, 'kafka-test', logger);
  admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
});

afterAll(async () => {
  await admin.disconnect();
  await scope.cleanup();
});

async function consumeUntil(groupId: string, count: number) {
  const consumer = kafka.consumer({ groupId });
  const received: Array<{ key: string; value: string; partition: number }> = [];
  await consumer.connect();
  let resolve = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  await runConsumer({
    consumer,
    topics: [topic],
    fromBeginning: true,
    handle: async ({ message, partition }) => {
      received.push({ key: String(message.key), value: String(message.value), partition });
      if (received.length >= count) resolve();
    },
  });
  await done;
  // Stopping finishes the batch in flight and commits it before leaving the group.
  await consumer.disconnect();
  return received;
}

describe('local Kafka through kafkajs', () => {
  it('creates topics idempotently', async () => {
    await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(3);
  });

  it('delivers produced records to a consumer group, in order per key', async () => {
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const messages = Array.from({ length: 60 }, (_, i) => ({
      key: `call-${i % 4}`,
      value: JSON.stringify({ seq: Math.floor(i / 4), text: '龙船饭食品安全' }),
    }));
    await producer.send({ topic, messages });
    await producer.disconnect();

    const received = await consumeUntil(`${scope.config.TOPIC_PREFIX}g1`, 60);
    expect(received).toHaveLength(60);
    for (const key of ['call-0', 'call-1', 'call-2', 'call-3']) {
      const forKey = received.filter((r) => r.key === key);
      expect(forKey.map((r) => JSON.parse(r.value).seq)).toEqual([...Array(15).keys()]);
      expect(new Set(forKey.map((r) => r.partition)).size).toBe(1);
      expect(JSON.parse(forKey[0]?.value ?? '{}').text).toBe('龙船饭食品安全');
    }
  });

  it('resumes a consumer group from its committed offsets', async () => {
    const groupId = `${scope.config.TOPIC_PREFIX}g2`;
    await consumeUntil(groupId, 60);
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    // A partition that never had a record reports offset -1.
    const committed = offsets[0]?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    expect(committed).toBe(60);

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'call-9', value: JSON.stringify({ seq: 'after' }) }] });
    await producer.disconnect();
    const next = await consumeUntil(groupId, 1);
    expect(next.map((r) => JSON.parse(r.value).seq)).toEqual(['after']);
  });
});
