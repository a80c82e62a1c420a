// The evaluation subgraph assembled: its database, the unit directory (hub.units), the projection of
// hub.call-events, the counter publisher and the GraphQL endpoint. `main.ts` runs it; tests and the
// bench start it in-process on port 0.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { authConfig, createVerifier } from '../../platform/auth.ts';
import { baseConfig, port } from '../../platform/config.ts';
import { GROUP_SESSION } from '../../platform/consumer.ts';
import { ensureTopics, serviceKafka, serviceProducer, topicName } from '../../platform/kafka.ts';
import { serviceDatabase } from '../../platform/mongo.ts';
import { Service } from '../../platform/service.ts';
import { mountSubgraph } from '../../platform/subgraph.ts';
import { TOPICS } from '../../platform/topics.ts';
import { followUnits } from '../../platform/unit-directory.ts';
import { loadCalendar } from '../../rules/files.ts';
import { CounterPublisher } from './counters.ts';
import { MonthClosing } from './domain/period.ts';
import { DEFAULT_SCHEMES, Schemes, type SchemeVersion, validateSchemes } from './domain/schemes.ts';
import { Projector } from './projector.ts';
import { createResolvers } from './resolvers.ts';
import { type EvaluationModels, EvaluationStore, evaluationModels } from './store.ts';

export const evaluationConfig = baseConfig.extend({
  ...authConfig.shape,
  PORT: port.default(4002),
  EVALUATION_DB: z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, "_" or "-"').default('huying_evaluation'),
  /** The consumer group that projects hub.call-events (a new name replays the topic from the start). */
  EVALUATION_GROUP: z.string().regex(/^[A-Za-z0-9._-]+$/).default('evaluation-projector'),
  /**
   * Bytes of hub.call-events fetched at once (per partition and per fetch); a partition's share of a
   * fetch is projected as one batch. 64 MiB holds about 40,000 events: a replay writes each ledger
   * document once per batch (bench:replay: 4,102 events/s against 2,848 with 16 MiB, with no more
   * resident memory), while a live fetch returns as soon as anything has arrived.
   */
  EVALUATION_BATCH_BYTES: z.coerce.number().int().min(65_536).max(268_435_456).default(67_108_864),
  /** Months close at the end of this working day of the next month (DOMAIN.md: the 5th). */
  MONTH_CLOSE_WORKING_DAY: z.coerce.number().int().min(1).max(20).default(5),
  /** Counter events per scope at most this often (ms); never more than once a second. */
  COUNTER_INTERVAL_MS: z.coerce.number().int().min(1000).max(600_000).default(1000),
  /** A JSON scheme table (see domain/schemes.ts); the built-in Huangpu and Beijing schemes otherwise. */
  SCHEMES_PATH: z.string().optional(),
  /** A closed month is frozen this long after it closed (ms), once the projection has caught up: events the calls outbox wrote before the close have arrived. */
  MONTH_FREEZE_AFTER_MS: z.coerce.number().int().min(0).default(600_000),
  /** How often a copy looks for closed months to freeze (ms). */
  MONTH_FREEZE_CHECK_MS: z.coerce.number().int().min(100).default(60_000),
  /** How months combine into the annual assessment (年度): the mean of the year's closed months with a score (default), or of all its months with a score. */
  ANNUAL_COMBINE: z.enum(['MEAN_OF_CLOSED_MONTHS', 'MEAN_OF_MONTHS']).default('MEAN_OF_CLOSED_MONTHS'),
  /** A JSON holiday override table for years the calendar package lacks (as for the calls subgraph). */
  HOLIDAY_OVERRIDES_PATH: z.string().optional(),
});
export type EvaluationConfig = z.infer<typeof evaluationConfig>;

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${what} from ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A scheme version new to this database (or changed) may not take effect from a month that has
 * already closed: that would rescore a frozen month. A fresh database accepts the table as it is.
 */
export async function guardClosedMonths(models: EvaluationModels, versions: SchemeVersion[], closing: MonthClosing, now = new Date()) {
  const seen = new Map((await models.SchemeSeen.find({}).lean()).map((s) => [s._id, s.fingerprint]));
  const fresh = versions.filter((v) => seen.get(`${v.scheme}@${v.version}`) !== JSON.stringify(v));
  if (seen.size > 0) {
    const late = fresh.filter((v) => closing.isClosed(v.effectiveFrom, now));
    if (late.length > 0) {
      throw new Error(
        `scheme table rejected: ${late.map((v) => `${v.scheme}@${v.version} (from ${v.effectiveFrom})`).join(', ')} would change closed months; a new or changed version must take effect from an open month`,
      );
    }
  }
  for (const v of fresh) {
    await models.SchemeSeen.updateOne({ _id: `${v.scheme}@${v.version}` }, { $set: { fingerprint: JSON.stringify(v), seenAt: now } }, { upsert: true });
  }
}

export async function startEvaluation(config: EvaluationConfig) {
  const service = new Service({ name: 'evaluation', config });
  const log = service.logger;
  try {
    const calendar = loadCalendar(config.HOLIDAY_OVERRIDES_PATH);
    const closing = new MonthClosing(calendar, config.MONTH_CLOSE_WORKING_DAY);
    const schemes = new Schemes(config.SCHEMES_PATH ? validateSchemes(readJson(config.SCHEMES_PATH, 'the scheme table')) : DEFAULT_SCHEMES);

    const conn = await serviceDatabase(service, config, config.EVALUATION_DB);
    const models = evaluationModels(conn);
    await guardClosedMonths(models, schemes.versions, closing);

    const { kafka, admin } = await serviceKafka(service, config, 'evaluation');
    const topics = {
      callEvents: topicName(config, TOPICS.callEvents),
      dlq: topicName(config, `${TOPICS.callEvents}.dlq`),
      counters: topicName(config, TOPICS.counters),
    };
    await ensureTopics(admin, [
      { topic: topics.callEvents, numPartitions: 6 },
      { topic: topics.dlq, numPartitions: 1 },
      { topic: topics.counters, numPartitions: 3 },
    ]);
    const producer = await serviceProducer(service, kafka);

    // The unit directory, owned by the party-map subgraph: a copy kept current from hub.units.
    const directory = await followUnits({ kafka, admin, config, service, logger: log, name: 'evaluation' });
    const store = new EvaluationStore(models, closing, (origin) => {
      const path = directory.get(origin)?.path ?? [origin];
      return path.filter((id) => directory.get(id)?.kind !== 'district');
    });

    const upgraded = await store.upgrade();
    if (upgraded.from !== upgraded.to) log.info(upgraded, 'evaluation projection upgraded');

    await mountSubgraph(service, {
      sdlPath: 'schemas/evaluation.graphql',
      resolvers: createResolvers({ store, directory, schemes, closing, annual: config.ANNUAL_COMBINE }),
      verifier: createVerifier(config),
    });

    // Closers run in reverse: the consumer stops first, then the counters are flushed.
    const counters = new CounterPublisher(store, directory, producer, topics.counters, log, config.COUNTER_INTERVAL_MS);
    service.onShutdown('counter publisher', () => counters.stop());
    const projector = new Projector(store, producer, topics.dlq, log, (ids) => counters.notify(ids));
    // Listen before joining the group: after a crash the join waits out the dead member's session.
    const url = await service.listen();
    const consumer = kafka.consumer({
      groupId: topicName(config, config.EVALUATION_GROUP),
      ...GROUP_SESSION,
      maxBytesPerPartition: config.EVALUATION_BATCH_BYTES,
      maxBytes: config.EVALUATION_BATCH_BYTES,
    });
    await consumer.connect();
    service.onShutdown('call-events consumer', () => consumer.disconnect());
    // While this copy projects every partition, only its own writes change what it reads (store.ts).
    let generation = 0;
    const notAlone = () => {
      generation++;
      store.projectsEverything(false);
    };
    for (const event of [consumer.events.REBALANCING, consumer.events.STOP, consumer.events.CRASH]) consumer.on(event, notAlone);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      // At once: the calls this copy remembers storing may since have been written by another copy.
      store.projectsEverything(false);
      const joined = ++generation;
      admin.fetchTopicMetadata({ topics: [topics.callEvents] }).then(
        ({ topics: [meta] }) => {
          const mine = payload.memberAssignment[topics.callEvents]?.length ?? 0;
          if (joined === generation) store.projectsEverything(mine > 0 && mine === meta?.partitions.length);
        },
        (err: unknown) => log.warn({ err }, 'could not count the call-event partitions; reads lapse every second'),
      );
    });
    await projector.run(consumer, topics.callEvents);

    // Closed months are frozen once the projection has caught up with every event written so far.
    const groupId = topicName(config, config.EVALUATION_GROUP);
    const caughtUp = async () => {
      const [high, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(topics.callEvents),
        admin.fetchOffsets({ groupId, topics: [topics.callEvents] }),
      ]);
      const done = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      return high.every((p) => BigInt(p.high) === BigInt(p.low) || (done.get(p.partition) ?? -1n) >= BigInt(p.high));
    };
    const freeze = async () => {
      if (!(await caughtUp())) return;
      const frozen = await store.freezeClosed(closing, schemes.versions, new Date(), config.MONTH_FREEZE_AFTER_MS);
      if (frozen.length > 0) log.info({ frozen }, 'closed months frozen');
    };
    let freezing: Promise<void> | undefined;
    const freezer = setInterval(() => {
      freezing ??= freeze()
        .catch((err: unknown) => log.warn({ err }, 'freezing closed months failed; will retry'))
        .finally(() => {
          freezing = undefined;
        });
    }, config.MONTH_FREEZE_CHECK_MS);
    service.onShutdown('month freezer', async () => {
      clearInterval(freezer);
      await freezing;
    });

    return { service, url, models, store, projector, counters, directory, schemes, closing, topics };
  } catch (err) {
    await service.shutdown('start-up failed');
    throw err;
  }
}

export type EvaluationApp = Awaited<ReturnType<typeof startEvaluation>>;
