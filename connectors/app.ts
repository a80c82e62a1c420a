// The connectors assembled as one service: the 12345 hotline, 三防 and 信访 pipelines on the shared
// runtime, with /healthz, /readyz and /metrics. `main.ts` runs it; tests start it in-process on port 0
// or as a child process; any number of copies share the work through consumer groups.
import { z } from 'zod';
import { baseConfig, port } from '../platform/config.ts';
import { GROUP_SESSION } from '../platform/consumer.ts';
import { ensureTopics, serviceKafka, serviceProducer, topicName } from '../platform/kafka.ts';
import { Service } from '../platform/service.ts';
import { TOPICS } from '../platform/topics.ts';
import { followUnits } from '../platform/unit-directory.ts';
import { loadCalendar, loadRulesFile } from '../rules/files.ts';
import { HOTLINE_CATEGORIES, hotlineFeedbackPipeline, hotlineOrdersPipeline } from './hotline/hotline.ts';
import { PETITION_CATEGORIES, petitionFeedbackPipeline, petitionPipeline } from './petition/petition.ts';
import { loadCategoryMap } from './runtime/categories.ts';
import { dlqTopicOf } from '../platform/dead-letter.ts';
import { keyringFrom, personalDataConfig } from '../platform/personal-keys.ts';
import { hubVerifierFrom, signerFrom, signingConfig, sourceVerifiersFrom } from '../platform/audit/signing.ts';
import { connectorMetrics } from './runtime/metrics.ts';
import { Places } from './runtime/places.ts';
import { ConnectorRuntime, type Pipeline } from './runtime/runtime.ts';
import { followExpiries } from './sanfang/expiries.ts';
import { sanfangPipelines } from './sanfang/sanfang.ts';

export const SOURCES = ['hotline', 'sanfang', 'petition'] as const;
export type Source = (typeof SOURCES)[number];

const sourceList = z.string().transform((value, ctx) => {
  const list = [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
  const unknown = list.filter((s) => !(SOURCES as readonly string[]).includes(s));
  if (list.length === 0 || unknown.length > 0) {
    ctx.addIssue({ code: 'custom', message: `expected a comma-separated list of ${SOURCES.join(', ')}` });
    return z.NEVER;
  }
  return list as Source[];
});

export const connectorsConfig = baseConfig.extend({
  ...personalDataConfig.shape,
  ...signingConfig.shape,
  PORT: port.default(4005),
  /** Which sources this copy connects. */
  CONNECTORS: sourceList.default([...SOURCES]),
  /** Partitions one copy works on at once, per pipeline. */
  CONNECTOR_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(3),
  /** Attempts for a record that fails unexpectedly, before its dead letter. */
  CONNECTOR_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  CONNECTOR_RETRY_BASE_MS: z.coerce.number().int().min(1).max(60_000).default(200),
  /** Messages a batch gathers before it sends them and commits its offsets part-way. */
  CONNECTOR_FLUSH_EVERY: z.coerce.number().int().min(1).max(10_000).default(500),
  /** How long a copy that stopped answering keeps its partitions (Kafka allows 6 s to 5 min; the default is the hub's, platform/consumer.ts GROUP_SESSION). */
  CONNECTOR_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(GROUP_SESSION.sessionTimeout),
  /** Fault injection for connectors/crash.test.ts only: halt before the commit after this many sends. */
  CONNECTOR_TEST_HALT_AFTER_SENDS: z.coerce.number().int().min(1).optional(),
  /** A larger source record is dead-lettered as too large. */
  CONNECTOR_MAX_RECORD_BYTES: z.coerce.number().int().min(1024).max(1_000_000).default(65_536),
  /** JSON tables of extra category names: {"燃气安全": "安全生产"}. */
  HOTLINE_CATEGORY_MAP_PATH: z.string().optional(),
  PETITION_CATEGORY_MAP_PATH: z.string().optional(),
  /** The hub's CAP 1.2 sender id on the alerts it republishes as CAP (hub.alerts.cap): no spaces or commas. */
  CAP_SENDER: z
    .string()
    .regex(/^[^\s,<&]+$/)
    .default('huying-huangpu'),
  /** The same rule files as the calls subgraph's (rules/files.ts): the holiday table and the versioned limits. */
  HOLIDAY_OVERRIDES_PATH: z.string().optional(),
  DEADLINE_POLICY_PATH: z.string().optional(),
});
export type ConnectorsConfig = z.infer<typeof connectorsConfig>;

/** Every topic the connectors read or write, with the prefix. */
export function connectorTopics(config: Pick<ConnectorsConfig, 'TOPIC_PREFIX'>) {
  const t = (name: string) => topicName(config, name);
  return {
    intake: t(TOPICS.intake),
    callEvents: t(TOPICS.callEvents),
    alerts: t(TOPICS.alerts),
    alertsCap: t(TOPICS.alertsCap),
    capReceived: t(TOPICS.capReceived),
    capExpiries: t(TOPICS.capExpiries),
    hotlineOrders: t(TOPICS.hotlineOrders),
    hotlineFeedback: t(TOPICS.hotlineFeedback),
    floodWarnings: t(TOPICS.floodWarnings),
    floodIncidents: t(TOPICS.floodIncidents),
    petitions: t(TOPICS.petitions),
    petitionFeedback: t(TOPICS.petitionFeedback),
  };
}
export type ConnectorTopics = ReturnType<typeof connectorTopics>;

/** Dead letters may carry a source record of up to 1 MB, wrapped: their topics take up to 8 MiB. */
const DLQ_CONFIG = [{ name: 'max.message.bytes', value: String(8 * 1_048_576) }];

export async function startConnectors(config: ConnectorsConfig) {
  const service = new Service({ name: 'connectors', config });
  const log = service.logger;
  const keys = keyringFrom(config);
  const topics = connectorTopics(config);
  const { kafka, admin } = await serviceKafka(service, config, 'connectors');

  const sources = [topics.hotlineOrders, topics.floodWarnings, topics.floodIncidents, topics.petitions];
  await ensureTopics(admin, [
    // hub.units as followUnits makes it (compacted), here where a slow broker is waited for.
    { topic: topicName(config, TOPICS.units), numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ...sources.map((topic) => ({ topic, numPartitions: 6 })),
    ...[...sources, topics.callEvents].map((topic) => ({ topic: dlqTopicOf(topic), numPartitions: 1, configEntries: DLQ_CONFIG })),
    { topic: topics.intake, numPartitions: 6 },
    { topic: topics.callEvents, numPartitions: 6 },
    { topic: topics.alerts, numPartitions: 3 },
    { topic: topics.alertsCap, numPartitions: 3 },
    { topic: topics.capReceived, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    { topic: topics.capExpiries, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    { topic: topics.hotlineFeedback, numPartitions: 3 },
    { topic: topics.petitionFeedback, numPartitions: 3 },
  ]);

  const producer = await serviceProducer(service, kafka);

  const directory = await followUnits({ kafka, admin, config, service, logger: log, name: 'connectors' });
  const places = new Places(directory);
  const metrics = connectorMetrics(service.metrics);
  const runtime = new ConnectorRuntime({
    kafka,
    producer,
    logger: log,
    metrics,
    keys,
    groupId: (pipeline) => topicName(config, `connector-${pipeline.name}`),
    maxRecordBytes: config.CONNECTOR_MAX_RECORD_BYTES,
    attempts: config.CONNECTOR_ATTEMPTS,
    retryBaseMs: config.CONNECTOR_RETRY_BASE_MS,
    concurrency: config.CONNECTOR_CONCURRENCY,
    flushEvery: config.CONNECTOR_FLUSH_EVERY,
    sessionTimeoutMs: config.CONNECTOR_SESSION_TIMEOUT_MS,
    haltAfterSends: config.CONNECTOR_TEST_HALT_AFTER_SENDS,
    signer: signerFrom(config),
  });
  // Runs before the producer closes (closers run in reverse): batches in flight finish and commit.
  service.onShutdown('connector consumers', () => runtime.stop());

  // Source limits are counted on the operator's holiday table and rules, as the calls subgraph counts.
  const calendar = loadCalendar(config.HOLIDAY_OVERRIDES_PATH);
  const rules = loadRulesFile(config.DEADLINE_POLICY_PATH);
  const pipelines: Pipeline[] = [];
  if (config.CONNECTORS.includes('hotline')) {
    const deps = {
      places,
      calendar,
      rules,
      categories: loadCategoryMap(HOTLINE_CATEGORIES, config.HOTLINE_CATEGORY_MAP_PATH),
      topics: { orders: topics.hotlineOrders, intake: topics.intake, callEvents: topics.callEvents, feedback: topics.hotlineFeedback },
      keys,
    };
    pipelines.push(hotlineOrdersPipeline(deps), hotlineFeedbackPipeline({ directory, topics: deps.topics }));
  }
  if (config.CONNECTORS.includes('sanfang')) {
    const sanfang = sanfangPipelines({
      places,
      rules,
      topics: {
        warnings: topics.floodWarnings,
        incidents: topics.floodIncidents,
        intake: topics.intake,
        alerts: topics.alerts,
        alertsCap: topics.alertsCap,
        capReceived: topics.capReceived,
        capExpiries: topics.capExpiries,
      },
      keys,
      capSender: config.CAP_SENDER,
      onExpiryFailure: (warningId, err) => log.warn({ err, warningId }, 'CAP expiry lifting not sent; trying again'),
      deliver: async (outputs) => {
        await producer.sendBatch({ topicMessages: outputs.map(({ topic, key, value, headers }) => ({ topic, messages: [{ key, value, headers }] })) });
      },
    });
    service.onShutdown('CAP expiry timers', async () => sanfang.expiries.stop());
    // Re-arms the expiries of warnings issued before this copy started (kept on hub.cap-expiries).
    await followExpiries({ kafka, admin, topic: topics.capExpiries, groupId: topicName(config, 'connectors-cap-expiries'), service, logger: log, clock: sanfang.expiries });
    pipelines.push(...sanfang.pipelines);
  }
  if (config.CONNECTORS.includes('petition')) {
    const deps = {
      places,
      calendar,
      rules,
      categories: loadCategoryMap(PETITION_CATEGORIES, config.PETITION_CATEGORY_MAP_PATH),
      topics: { petitions: topics.petitions, intake: topics.intake, callEvents: topics.callEvents, feedback: topics.petitionFeedback },
      keys,
    };
    pipelines.push(petitionPipeline(deps), petitionFeedbackPipeline({ directory, topics: deps.topics }));
  }
  // Audit (#18): feedback is made only from hub.call-events records the hub signed; a source's records
  // are checked against its keys when SOURCE_VERIFY_KEYS lists any for it.
  const hubKeys = hubVerifierFrom(config);
  const sourceKeys = sourceVerifiersFrom(config);
  for (const pipeline of pipelines) {
    pipeline.signedBy = pipeline.topics.includes(topics.callEvents) ? hubKeys : sourceKeys.get(pipeline.name.split('-')[0] as string);
  }
  // Listen (health, metrics) before joining the groups: after a crash a join waits out the dead member's session.
  const url = await service.listen();
  for (const pipeline of pipelines) await runtime.start(pipeline);
  log.info({ sources: config.CONNECTORS, pipelines: pipelines.map((p) => p.name) }, 'connectors running');
  return { service, url, topics, directory, metrics, pipelines: pipelines.map((p) => p.name) };
}

export type ConnectorsApp = Awaited<ReturnType<typeof startConnectors>>;
