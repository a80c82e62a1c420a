// The calls subgraph assembled: storage, rules, the GraphQL endpoint, the intake consumer, the outbox
// publishers and the supervision scheduler. `main.ts` runs it; tests start it in-process on port 0.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { authConfig, createVerifier } from '../../platform/auth.ts';
import { baseConfig, port } from '../../platform/config.ts';
import { GROUP_SESSION, runConsumer } from '../../platform/consumer.ts';
import { ensureTopics, serviceKafka, serviceProducer, topicName } from '../../platform/kafka.ts';
import { serviceDatabase } from '../../platform/mongo.ts';
import { OutboxPublisher } from '../../platform/outbox.ts';
import { IDEMPOTENCY_KEY_RETENTION_HOURS, IdempotencyKeys } from '../../platform/idempotency.ts';
import { keyringFrom, personalDataConfig } from '../../platform/personal-keys.ts';
import { signerFrom, signingConfig } from '../../platform/audit/signing.ts';
import { CheckpointPublisher, type CheckpointOptions } from '../../platform/audit/checkpoints.ts';
import { Service } from '../../platform/service.ts';
import { mountSubgraph } from '../../platform/subgraph.ts';
import { TOPICS } from '../../platform/topics.ts';
import { loadDemoCalls } from './demo.ts';
import { followUnits, type UnitDirectory } from '../../platform/unit-directory.ts';
import { computeDeadlines } from '../../rules/deadlines.ts';
import { loadCalendar, loadRulesFile } from '../../rules/files.ts';
import { DuplicateFinder } from './duplicates.ts';
import { IntakeProcessor } from './intake.ts';
import { CallableItems, loadCallableItems } from './items.ts';
import { callsModels, type CallDoc, type OrderDoc } from './model.ts';
import { OrderService } from './orders.ts';
import { createResolvers } from './resolvers.ts';
import { CallIndex, HISTORY_READ_BUDGET, HISTORY_WARM_DAYS, RECENT_WINDOW_DAYS } from './call-index.ts';
import { CallHistory } from './call-history.ts';
import { callEventEnvelope, CallStore, type CallRules, INSERT_SLICE } from './store.ts';
import { nextCheckAt, SupervisionScheduler } from './supervision.ts';

const shares = z
  .string()
  .transform((value, ctx) => {
    const list = value.split(',').map(Number);
    if (list.length === 0 || list.some((n) => !(n > 0 && n <= 1))) {
      ctx.addIssue({ code: 'custom', message: 'expected comma-separated shares in (0, 1], e.g. 0.5,0.8' });
      return z.NEVER;
    }
    return list.sort();
  });

/** Intake partitions one copy handles at a time (of hub.intake's 6): a named default, from bench:scale. */
const INTAKE_PARTITIONS_AT_ONCE = 3;

export const callsConfig = baseConfig.extend({
  ...authConfig.shape,
  ...personalDataConfig.shape,
  ...signingConfig.shape,
  PORT: port.default(4001),
  CALLS_DB: z.string().regex(/^[A-Za-z0-9_-]+$/).default('huying_calls'),
  DEMO_DATA: z.enum(['0', '1']).default('0'),
  SUPERVISION_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  OUTBOX_SWEEP_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  /** Due-soon warnings (将到期预警) at these shares of each step's limit. */
  WARNING_SHARES: shares.default([0.5, 0.8]),
  /** 12345 不满意 call-backs that send a call back for rework (重办) before the next goes to the command centre (DOMAIN.md: once). */
  CALLBACK_REWORKS: z.coerce.number().int().min(0).max(5).default(1),
  /**
   * The rules as JSON: a tier table (tier × priority → sign, respond, complete), or versions of the
   * tier table and source limits with their effective days (rules/deadlines.ts loadRules).
   */
  DEADLINE_POLICY_PATH: z.string().optional(),
  /** A JSON holiday table for years the calendar package lacks (e.g. 2027's notice; rules/calendar.ts). */
  HOLIDAY_OVERRIDES_PATH: z.string().optional(),
  /** A JSON callable-items list (呼应事项清单, versioned, with an effective date); the demo list otherwise. */
  CALLABLE_ITEMS_PATH: z.string().optional(),
  /** Days a closed call stays in memory after closing (call-index.ts RECENT_WINDOW_DAYS); older ones are read from history. */
  CALL_INDEX_RECENT_DAYS: z.coerce.number().min(0).max(366).default(RECENT_WINDOW_DAYS),
  /** Database reads one list page may spend on history (call-index.ts HISTORY_READ_BUDGET). */
  CALL_HISTORY_READ_BUDGET: z.coerce.number().int().min(10).max(100_000).default(HISTORY_READ_BUDGET),
  /** Days of the district's history read before the copy is ready (call-index.ts HISTORY_WARM_DAYS); 0: none. */
  CALL_HISTORY_WARM_DAYS: z.coerce.number().int().min(0).max(366).default(HISTORY_WARM_DAYS),
  /** How often calls past the recent window are archived out of memory. */
  CALL_ARCHIVE_INTERVAL_MS: z.coerce.number().int().min(100).max(86_400_000).default(60_000),
  /** Hours an idempotency key stays bound to its first request (platform/idempotency.ts); expired every hour. */
  IDEMPOTENCY_KEY_RETENTION_HOURS: z.coerce.number().int().min(1).max(8760).default(IDEMPOTENCY_KEY_RETENTION_HOURS),
  /**
   * Audit (#18): how often a signed checkpoint (Merkle root) of hub.call-events and the feedback topics
   * is published to hub.checkpoints; 0: this copy publishes none.
   */
  AUDIT_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
});
export type CallsConfig = z.infer<typeof callsConfig>;

export async function startCalls(config: CallsConfig) {
  // A bad callable-items list stops the start before anything connects, with every bad row named.
  if (config.CALLABLE_ITEMS_PATH) {
    const list = loadCallableItems(config.CALLABLE_ITEMS_PATH);
    if (list.effectiveFrom.getTime() > Date.now()) {
      throw new Error(`the callable-items list ${list.version} applies only from ${list.effectiveFrom.toISOString()}: load it on that day`);
    }
  }
  const service = new Service({ name: 'calls', config });
  const log = service.logger;
  const rulesBook = loadRulesFile(config.DEADLINE_POLICY_PATH);
  const calendar = loadCalendar(config.HOLIDAY_OVERRIDES_PATH);
  const personalKeys = keyringFrom(config);
  // Audit (#18): every event published on hub.call-events and hub.order-events is signed.
  const signer = signerFrom(config);

  const conn = await serviceDatabase(service, config, config.CALLS_DB);
  const models = await callsModels(conn);
  const keys = await IdempotencyKeys.on(conn, { retentionHours: config.IDEMPOTENCY_KEY_RETENTION_HOURS });

  const { kafka, admin } = await serviceKafka(service, config, 'calls');
  const topics = {
    intake: topicName(config, TOPICS.intake),
    intakeDlq: topicName(config, `${TOPICS.intake}.dlq`),
    callEvents: topicName(config, TOPICS.callEvents),
    orderEvents: topicName(config, TOPICS.orderEvents),
    hotlineFeedback: topicName(config, TOPICS.hotlineFeedback),
    petitionFeedback: topicName(config, TOPICS.petitionFeedback),
    checkpoints: topicName(config, TOPICS.checkpoints),
  };
  await ensureTopics(admin, [
    { topic: topics.intake, numPartitions: 6 },
    { topic: topics.intakeDlq, numPartitions: 1 },
    { topic: topics.callEvents, numPartitions: 6 },
    { topic: topics.orderEvents, numPartitions: 3 },
    // Audit (#18): the feedback topics (as the connectors make them) are checkpointed too.
    { topic: topics.hotlineFeedback, numPartitions: 3 },
    { topic: topics.petitionFeedback, numPartitions: 3 },
    { topic: topics.checkpoints, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
  ]);
  const producer = await serviceProducer(service, kafka);

  // Actions publish their events at once (kick); the sweep only catches what a crash left behind,
  // and every sweep scans the collection on FerretDB, so it runs seldom.
  // The sweep looks at the live calls in memory (a query would read the whole history on FerretDB).
  const callPublisher = new OutboxPublisher<CallDoc>(models.Call, {
    producer,
    pollMs: config.OUTBOX_SWEEP_MS,
    topic: topics.callEvents,
    logger: log,
    envelope: callEventEnvelope,
    candidates: () => index.pendingOutbox(),
    onSettled: (id, version) => index.outboxSettled(id, version),
    signer,
  });
  const orderPublisher = new OutboxPublisher<OrderDoc>(models.Order, {
    producer,
    pollMs: config.OUTBOX_SWEEP_MS,
    topic: topics.orderEvents,
    logger: log,
    envelope: (orderId, event) => ({ ...event, orderId, occurredAt: new Date(event.occurredAt).toISOString() }),
    signer,
  });

  // The unit directory, owned by the party-map subgraph: a copy kept current from hub.units.
  const directory = await followUnits({ kafka, admin, config, service, logger: log, name: 'calls' });
  // Checked again once the directory is known: every department it names must exist.
  const items = config.CALLABLE_ITEMS_PATH ? new CallableItems(loadCallableItems(config.CALLABLE_ITEMS_PATH, directory)) : new CallableItems();
  log.info({ version: items.version, effectiveFrom: items.effectiveFrom, classes: items.classes.length, items: items.items.length }, 'callable-items list');
  const rules = callRules(config, directory, items, rulesBook, calendar);
  // Lists, inboxes, counters and duplicate checks read an in-memory copy of the calls (call-index.ts):
  // this copy's writes update it at once, other copies' arrive on hub.call-events, read by this copy
  // in a group of its own from the moment it joins; then the copy is loaded once.
  const index = new CallIndex(models, CallHistory.on(conn, directory), {
    recentDays: config.CALL_INDEX_RECENT_DAYS,
    historyReadBudget: config.CALL_HISTORY_READ_BUDGET,
  });
  const indexConsumer = kafka.consumer({ groupId: topicName(config, `calls-index-${randomUUID()}`) });
  await indexConsumer.connect();
  service.onShutdown('call index consumer', () => indexConsumer.disconnect());
  const joined = new Promise<void>((resolve) => indexConsumer.on(indexConsumer.events.GROUP_JOIN, () => resolve()));
  await runConsumer({
    consumer: indexConsumer,
    topics: [topics.callEvents],
    handle: async ({ message, partition }) => {
      let event: { callId?: unknown; sequence?: unknown };
      try {
        event = JSON.parse(message.value?.toString('utf8') ?? '{}') as typeof event;
      } catch {
        // Not one of ours (the contract is the evaluation subgraph's to police): nothing to refresh.
        log.warn({ partition, offset: message.offset }, 'hub.call-events record is not JSON; the call index skips it');
        return;
      }
      const { callId, sequence } = event;
      if (typeof callId === 'string' && typeof sequence === 'number' && sequence > index.versionOf(callId)) await index.refresh([callId]);
    },
  });
  await joined;
  await index.load();
  log.info({ live: index.size }, 'call index loaded (live calls only)');
  // Calls that passed the recent window while no copy ran are archived before serving (one round, at
  // most ARCHIVE_BATCH), not beside the first requests: at 2,000,000 calls such a round took 4 s of
  // reads and writes right after the copy was ready (docs/performance.md).
  await index.archiveDue().then(
    (archived) => log.info({ archived }, 'calls past the recent window archived before serving'),
    (err: unknown) => log.warn({ err }, 'archiving calls before serving failed; the archiver tries again'),
  );
  const districts = directory.ofKind('district').map((unit) => unit.id);
  // Only a head start: should a read fail, the days are read when first asked for.
  await index.warmHistory(districts, config.CALL_HISTORY_WARM_DAYS).then(
    (entries) => log.info({ districts, days: config.CALL_HISTORY_WARM_DAYS, entries }, 'district history read ahead'),
    (err: unknown) => log.warn({ err, districts }, 'reading the district history ahead failed; its days are read when asked for'),
  );

  const store = new CallStore(models, rules, (id) => void callPublisher.kick(id), index, callPublisher);
  const orders = new OrderService(models, directory, (id) => void orderPublisher.kick(id));
  const duplicates = new DuplicateFinder(index, directory);
  const scheduler = new SupervisionScheduler(models, store, index, log, {
    intervalMs: config.SUPERVISION_INTERVAL_MS,
    shares: config.WARNING_SHARES,
  });

  if (config.DEMO_DATA === '1' && (await models.Call.estimatedDocumentCount()) === 0) {
    const loaded = await loadDemoCalls(store, orders, directory, items);
    log.info(loaded, 'demo calls loaded');
  }

  await mountSubgraph(service, {
    sdlPath: 'schemas/calls.graphql',
    resolvers: createResolvers({ index, store, directory, items, duplicates, orders, keys, personalKeys }),
    verifier: createVerifier(config),
  });

  // Closers run in reverse: first stop taking intake and supervising, then drain the outboxes.
  callPublisher.start();
  orderPublisher.start();
  service.onShutdown('outbox publishers', () => Promise.all([callPublisher.stop(), orderPublisher.stop()]));
  scheduler.start();
  service.onShutdown('supervision', () => scheduler.stop());
  const archiver = repeat(config.CALL_ARCHIVE_INTERVAL_MS, () => index.archiveDue(), (err) => log.warn({ err }, 'archiving calls failed; will retry'), { first: 'after an interval' });
  service.onShutdown('call archiver', () => archiver.stop());
  const keyExpiry = repeat(3_600_000, () => keys.expire(), (err) => log.warn({ err }, 'expiring idempotency keys failed; will retry'));
  service.onShutdown('idempotency key expiry', () => keyExpiry.stop());


  // Listen before joining the intake group: after a crash the join waits until the dead member's
  // session expires (GROUP_SESSION), and queries need not wait for that.
  const url = await service.listen();
  const intake = new IntakeProcessor(store, orders, directory, producer, personalKeys, log, duplicates, config.CALLBACK_REWORKS);
  const consumer = kafka.consumer({ groupId: topicName(config, 'calls-intake'), ...GROUP_SESSION });
  await consumer.connect();
  service.onShutdown('intake consumer', () => consumer.disconnect());
  // Records in runs of INSERT_SLICE: new calls stored with one insert and published with one send a run.
  // INTAKE_PARTITIONS_AT_ONCE partitions at a time, so one partition's checks and drafts run while
  // another's slice is written: a call's records share a partition (keyed by source record), and the
  // merge across sources only ever merges into an earlier call, so partitions need no order between
  // them. The store still takes one write command at a time (the FerretDB proxy), so no more than one
  // slice's BULK_SLICE statements are ever in FerretDB at once (platform/mongo.ts).
  await runConsumer({
    consumer,
    topics: [topics.intake],
    fromBeginning: true,
    partitionsAtOnce: INTAKE_PARTITIONS_AT_ONCE,
    batchRecords: INSERT_SLICE,
    handleBatch: (records) => intake.handleBatch(records),
  });

  // Audit (#18): the checkpoint log of the events and feedback the hub publishes.
  let checkpoints: CheckpointPublisher | undefined;
  if (config.AUDIT_CHECKPOINT_INTERVAL_MS > 0) {
    const publisher = new CheckpointPublisher({
      kafka,
      producer,
      signer,
      state: conn.db?.collection('audit_checkpoints') as CheckpointOptions['state'],
      topics: [topics.callEvents, topics.hotlineFeedback, topics.petitionFeedback],
      checkpointTopic: topics.checkpoints,
      groupId: topicName(config, 'audit-checkpoints'),
      intervalMs: config.AUDIT_CHECKPOINT_INTERVAL_MS,
      logger: log,
    });
    await publisher.start();
    service.onShutdown('checkpoints', () => publisher.stop());
    checkpoints = publisher;
  }

  return { service, url, models, index, archiver, store, orders, scheduler, callPublisher, intake, directory, topics, calendar, rulesBook, checkpoints, signer };
}

/** The rules a call is decided by: deadlines by the rules version in force, the calendar, supervision's shares. */
export function callRules(
  config: Pick<CallsConfig, 'WARNING_SHARES'>,
  directory: UnitDirectory,
  items: CallableItems,
  rulesBook: ReturnType<typeof loadRulesFile>,
  calendar: ReturnType<typeof loadCalendar>,
): CallRules {
  return {
    directory,
    items,
    deadlinesFor: (tier, priority, receivedAt, basis) => {
      // A call keeps the rules version it was received under (a closed month keeps its rules).
      const version = rulesBook.byId(basis?.policyVersion) ?? rulesBook.at(receivedAt);
      const d = computeDeadlines(
        version.deadlines,
        tier.toLowerCase() as Lowercase<typeof tier>,
        priority.toLowerCase() as Lowercase<typeof priority>,
        receivedAt,
        calendar,
        { limit: basis?.limit },
      );
      const notes = [...new Set([...(basis?.notes ?? []), ...d.notes])];
      return { sign: d.sign, respond: d.respond, complete: d.complete, notes, limit: basis?.limit, policyVersion: version.id };
    },
    addWorkingDays: (from, days) => {
      const due = calendar.addWorkingDays(from, days, 'next_day');
      return { due, notes: calendar.coverageNotes(from, due) };
    },
    workingDaysBetween: (a, b) => calendar.workingDaysBetween(a, b),
    nextCheckAt: (call) => nextCheckAt(call, config.WARNING_SHARES),
  };
}

/**
 * Runs `work` now (or, with `first: 'after an interval'`, once `intervalMs` has passed) and then every
 * `intervalMs` after the previous run ends; `stop` waits for a run in progress.
 */
function repeat(intervalMs: number, work: () => Promise<unknown>, onError: (err: unknown) => void, options: { first: 'now' | 'after an interval' } = { first: 'now' }) {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = work()
      .then(() => undefined, onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(run, intervalMs);
      });
  };
  if (options.first === 'now') run();
  else timer = setTimeout(run, intervalMs);
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type CallsApp = Awaited<ReturnType<typeof startCalls>>;
