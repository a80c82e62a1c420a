import { type Admin, type ITopicConfig, Kafka, type LogEntry, logLevel, type Producer } from 'kafkajs';
import type { BaseConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { Service } from './service.ts';

export type { Admin, Consumer, Kafka, Producer } from 'kafkajs';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * The level a kafkajs log line gets in the service's log. kafkajs logs every error response of the
 * broker at error level ("Response Heartbeat(key: 12, version: 3)": the group is rebalancing, a
 * partition's leader moved, the coordinator is loading) before it retries, or throws to the caller,
 * which handles it. Those are warnings; error is kept for what kafkajs itself cannot go on from.
 */
export function kafkaLogLevel(level: number, message: string): 'error' | 'warn' | 'info' | 'debug' {
  const mapped = levels[level] ?? 'info';
  return mapped === 'error' && message.startsWith('Response ') ? 'warn' : mapped;
}

/** A kafkajs client whose own logs go through the service's logger. */
export function createKafka(
  config: Pick<BaseConfig, 'KAFKA_BROKERS'>,
  clientId: string,
  logger: Logger,
): Kafka {
  // The hub relies on kafkajs 2's default (murmur2, Java-compatible) partitioner: no need to warn.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...extra } = log;
        kafkaLogger[kafkaLogLevel(level, message)](extra, message);
      },
  });
}

/** The full name of a hub topic or consumer group, with the configured prefix. */
export function topicName(config: Pick<BaseConfig, 'TOPIC_PREFIX'>, name: string): string {
  return `${config.TOPIC_PREFIX}${name}`;
}

/** Create the topics that do not exist yet; existing ones are left as they are. */
/**
 * Creates the topics that do not exist yet. Tried again while a busy broker does not yet know topics it
 * has just created: kafkajs's createTopics waits out LEADER_NOT_AVAILABLE but not
 * UNKNOWN_TOPIC_OR_PARTITION, which a loaded single broker answers for a moment (seen with four
 * copies of a service starting at once).
 */
export async function ensureTopics(admin: Admin, topics: ITopicConfig[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await createMissing(admin, topics);
      // Topics another service created a moment ago may still be without leaders: a subscribe or send
      // then fails with "This server does not host this topic-partition". Wait until every one is led.
      return await awaitLeaders(admin, topics.map((t) => t.topic));
    } catch (err) {
      if (attempt >= 10 || (err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

async function awaitLeaders(admin: Admin, names: string[]): Promise<void> {
  if (names.length === 0) return;
  const { topics } = await admin.fetchTopicMetadata({ topics: names });
  const unled = topics.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
  if (unled.length > 0) {
    throw Object.assign(new Error(`topics without a leader yet: ${unled.map((t) => t.name).join(', ')}`), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
  }
}

async function createMissing(admin: Admin, topics: ITopicConfig[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return;
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (err) {
    // Another copy of the service may have created them a moment ago.
    const now = new Set(await admin.listTopics());
    if (missing.some((t) => !now.has(t.topic))) throw err;
  }
}

type ServiceHooks = Pick<Service, 'onShutdown' | 'addReadinessCheck' | 'logger'>;

/** A service's Kafka client and connected admin: closed at shutdown, the cluster asked for readiness. */
export async function serviceKafka(
  service: ServiceHooks,
  config: Pick<BaseConfig, 'KAFKA_BROKERS'>,
  clientId: string,
): Promise<{ kafka: Kafka; admin: Admin }> {
  const kafka = createKafka(config, clientId, service.logger);
  const admin = kafka.admin();
  await admin.connect();
  service.onShutdown('kafka admin', () => admin.disconnect());
  service.addReadinessCheck('kafka', kafkaReadiness(admin));
  return { kafka, admin };
}

/** A service's producer, closed at shutdown: idempotent, one request in flight, so each key keeps its order. */
export async function serviceProducer(service: ServiceHooks, kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  service.onShutdown('kafka producer', () => producer.disconnect());
  return producer;
}

/** Readiness: the cluster answers a metadata request. */
export function kafkaReadiness(admin: Admin): () => Promise<void> {
  return async () => {
    await admin.describeCluster();
  };
}
