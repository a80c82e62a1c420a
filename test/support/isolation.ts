// Each test file gets its own database and Kafka topic prefix, so files run in parallel without
// touching each other, against the one local broker and FerretDB.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { type BaseConfig, baseConfig, loadConfig } from '../../platform/config.ts';
import { createKafka } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { connectMongo } from '../../platform/mongo.ts';

export interface TestScope {
  /** A database name of this file's own (the calls subgraph's, under startTestCalls). */
  dbName: string;
  /** Another database of this file's own, for one more service (`<dbName>_<suffix>`), removed with the scope. */
  database: (suffix: string) => string;
  /** Configuration pointing at the test infrastructure, with this file's topic prefix. */
  config: BaseConfig;
  /** The environment a child service process needs to join this scope. */
  env: Record<string, string>;
  /** Removes the scope's topics and databases. */
  cleanup: () => Promise<void>;
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
  return {
    dbName,
    database: (suffix) => {
      const name = `${dbName}_${suffix}`;
      databases.add(name);
      return name;
    },
    config,
    env,
    async cleanup() {
      const admin = createKafka(config, 'test-cleanup', createLogger('test', 'warn')).admin();
      await admin.connect();
      try {
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(env.TOPIC_PREFIX));
        if (topics.length > 0) await admin.deleteTopics({ topics });
      } finally {
        await admin.disconnect();
      }
      for (const name of databases) {
        const conn = await connectMongo(config, name);
        await conn.dropDatabase();
        await conn.close();
      }
    },
  };
}
