// Each test file gets its own database and Kafka topic prefix, so files run in parallel without
// touching each other, against the one local broker and FerretDB.
//
// Before a file's topics are deleted, every record on them is read and scanned for phone and ID
// numbers in clear (test/support/topic-scan.ts): nothing the hub writes may carry one. The source
// systems' own topics (src.12345.orders …) are theirs and are not scanned; their dead letters are.
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { inject } from 'vitest';
import { type BaseConfig, baseConfig, loadConfig } from '../../platform/config.ts';
import { createKafka } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { connectMongo } from '../../platform/mongo.ts';
import { type Keyring, keyringFrom } from '../../platform/personal-keys.ts';
import { type Allowed, describeFindings, type ScanResult, scanTopics, SOURCE_TOPICS } from './topic-scan.ts';

export interface TestScope {
  /** A database name of this file's own (the calls subgraph's, under startTestCalls). */
  dbName: string;
  /** Another database of this file's own, for one more service (`<dbName>_<suffix>`), removed with the scope. */
  database: (suffix: string) => string;
  /** Configuration pointing at the test infrastructure, with this file's topic prefix. */
  config: BaseConfig;
  /** The environment a child service process needs to join this scope. */
  env: Record<string, string>;
  /** The keys the services of this scope seal personal data with (the development key). */
  keys: Keyring;
  /** Exempts one record from the scan: a test that plays a producer putting a contact in clear, on purpose. */
  allowClear: (allowed: Allowed) => void;
  /**
   * Scans the scope's topics, then removes them and its databases; fails listing any phone or ID number
   * in clear (and any of `names`, when a test knows which names must never appear).
   */
  cleanup: (options?: { names?: readonly string[] }) => Promise<ScanResult>;
}

export function testScope(label: string): TestScope {
  const id = `${label
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(0, 20)}_${randomBytes(3).toString('hex')}`;
  const env = {
    KAFKA_BROKERS: inject('kafkaBrokers'),
    MONGODB_URI: inject('mongodbUri'),
    TOPIC_PREFIX: `test.${id}.`,
    LOG_LEVEL: 'warn',
    APOLLO_TELEMETRY_DISABLED: '1',
  };
  const config = loadConfig(baseConfig, env);
  const dbName = `test_${id}`;
  const databases = new Set([dbName]);
  const allowed: Allowed[] = [];
  return {
    dbName,
    database: (suffix) => {
      const name = `${dbName}_${suffix}`;
      databases.add(name);
      return name;
    },
    config,
    env,
    keys: keyringFrom({ NODE_ENV: 'test' }),
    allowClear: (entry) => void allowed.push(entry),
    async cleanup(options = {}) {
      const kafka = createKafka(config, 'test-cleanup', createLogger('test', 'warn'));
      const admin = kafka.admin();
      await admin.connect();
      let scan: ScanResult;
      try {
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(env.TOPIC_PREFIX));
        const sources = new Set(SOURCE_TOPICS.map((t) => `${env.TOPIC_PREFIX}${t}`));
        scan = await scanTopics(
          kafka,
          topics.filter((t) => !sources.has(t)),
          { allowed, groupId: `${env.TOPIC_PREFIX}personal-data-scan`, names: options.names },
        );
        if (topics.length > 0) await admin.deleteTopics({ topics });
      } finally {
        await admin.disconnect();
      }
      for (const name of databases) {
        const conn = await connectMongo(config, name);
        await conn.dropDatabase();
        await conn.close();
      }
      // One line per test file, so a whole run's scan can be summed up (records, topics, findings).
      const report = new URL('../../.data/', import.meta.url);
      mkdirSync(report, { recursive: true });
      appendFileSync(
        new URL('personal-data-scan.jsonl', report),
        `${JSON.stringify({ at: new Date().toISOString(), scope: label, records: scan.records, topics: scan.topics, findings: scan.findings.length })}\n`,
      );
      if (scan.findings.length > 0) {
        throw new Error(
          `personal data in clear on Kafka (${scan.findings.length} in ${scan.records} records of ${scan.topics} topics):\n${describeFindings(scan.findings)}`,
        );
      }
      return scan;
    },
  };
}
