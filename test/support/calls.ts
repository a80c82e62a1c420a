// Runs the calls subgraph in-process for a test file, on its own database and topics.
import { loadConfig } from '../../platform/config.ts';
import { runConsumer } from '../../platform/consumer.ts';
import { createKafka } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { type CallsApp, callsConfig, startCalls } from '../../subgraphs/calls/app.ts';
import type { TestScope } from './isolation.ts';

export async function startTestCalls(scope: TestScope, env: Record<string, string> = {}): Promise<CallsApp> {
  return startCalls(
    loadConfig(callsConfig, {
      ...scope.env,
      PORT: '0',
      CALLS_DB: scope.dbName,
      // Tests drive supervision by hand (scheduler.tick) at chosen instants.
      SUPERVISION_INTERVAL_MS: '3600000',
      ...env,
    }),
  );
}

export interface Collected {
  records: Array<Record<string, any>>;
  stop: () => Promise<void>;
}

/** Collects every record of a topic (parsed JSON, with its key) from the beginning. */
export async function collect(scope: TestScope, topic: string): Promise<Collected> {
  const kafka = createKafka(scope.config, 'test-collector', createLogger('test', 'warn'));
  const consumer = kafka.consumer({ groupId: `${scope.config.TOPIC_PREFIX}collector-${Math.random()}` });
  await consumer.connect();
  const records: Array<Record<string, any>> = [];
  await runConsumer({
    consumer,
    topics: [topic],
    fromBeginning: true,
    handle: async ({ message }) => {
      records.push({ key: message.key?.toString(), ...JSON.parse(String(message.value)) });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

/** Every record's key and headers (as text) of a topic, from the beginning. */
export async function collectHeaders(scope: TestScope, topic: string) {
  const kafka = createKafka(scope.config, 'test-collector', createLogger('test', 'warn'));
  const consumer = kafka.consumer({ groupId: `${scope.config.TOPIC_PREFIX}headers-${Math.random()}` });
  await consumer.connect();
  const records: Array<{ key?: string; headers: Record<string, string> }> = [];
  await runConsumer({
    consumer,
    topics: [topic],
    fromBeginning: true,
    handle: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      records.push({ key: message.key?.toString(), headers });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}
