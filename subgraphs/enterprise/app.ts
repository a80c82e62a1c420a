// The enterprise zone subgraph (企业服务专区) assembled: its database and in-memory copies, the unit
// directory (hub.units), the outbox publishing demands' intake commands to hub.intake, the consumer
// that follows their calls (hub.call-events, hub.intake.dlq), and the GraphQL endpoint. `main.ts`
// runs it; tests and the bench start it in-process on port 0.
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { authConfig, createVerifier } from '../../platform/auth.ts';
import { baseConfig, port } from '../../platform/config.ts';
import { GROUP_SESSION, runConsumer } from '../../platform/consumer.ts';
import { ensureTopics, type Producer, serviceKafka, serviceProducer, topicName } from '../../platform/kafka.ts';
import { serviceDatabase } from '../../platform/mongo.ts';
import { OutboxPublisher } from '../../platform/outbox.ts';
import { sealIntakeCommand } from '../../platform/personal-data.ts';
import { keyringFrom, personalDataConfig } from '../../platform/personal-keys.ts';
import { Service } from '../../platform/service.ts';
import { mountSubgraph } from '../../platform/subgraph.ts';
import { TOPICS } from '../../platform/topics.ts';
import { followUnits } from '../../platform/unit-directory.ts';
import { loadDemoIfEmpty } from './demo-load.ts';
import type { IntakeCommand } from '../calls/intake.ts';
import { CallFollower } from './events.ts';
import { type DemandDoc, enterpriseModels } from './model.ts';
import { createResolvers } from './resolvers.ts';
import { EnterpriseZone } from './store.ts';

export const enterpriseConfig = baseConfig.extend({
  ...authConfig.shape,
  ...personalDataConfig.shape,
  PORT: port.default(4004),
  ENTERPRISE_DB: z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, "_" or "-"').default('huying_enterprise'),
  /** 1: load the demo enterprise zone into an empty database at start. */
  DEMO_DATA: z.enum(['0', '1'], { message: 'expected 0 or 1' }).default('0'),
  /** How often each copy looks for changes other copies made (ms; 0: never). */
  LIVE_REFRESH_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  /** How often demands' intake commands not yet published are looked for (ms). */
  OUTBOX_SWEEP_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
});
export type EnterpriseConfig = z.infer<typeof enterpriseConfig>;

/** Intake commands are keyed `source:externalId` (schemas/events/intake-command.schema.json). */
function intakeKeyed(producer: Producer): Producer {
  const keyed: Producer = {
    ...producer,
    send: (record) => producer.send({ ...record, messages: record.messages.map((m) => ({ ...m, key: `enterprise:${String(m.key)}` })) }),
  };
  return keyed;
}

export async function startEnterprise(config: EnterpriseConfig) {
  const service = new Service({ name: 'enterprise', config });
  const log = service.logger;
  const keys = keyringFrom(config);
  try {
    const conn = await serviceDatabase(service, config, config.ENTERPRISE_DB);
    const models = await enterpriseModels(conn);

    const { kafka, admin } = await serviceKafka(service, config, 'enterprise');
    const topics = {
      intake: topicName(config, TOPICS.intake),
      intakeDlq: topicName(config, `${TOPICS.intake}.dlq`),
      callEvents: topicName(config, TOPICS.callEvents),
    };
    // The same partitions as the calls subgraph creates them with, whichever starts first.
    await ensureTopics(admin, [
      { topic: topics.intake, numPartitions: 6 },
      { topic: topics.intakeDlq, numPartitions: 1 },
      { topic: topics.callEvents, numPartitions: 6 },
    ]);
    const producer = await serviceProducer(service, kafka);

    const directory = await followUnits({ kafka, admin, config, service, logger: log, name: 'enterprise' });

    const publisher = new OutboxPublisher<DemandDoc>(models.Demand, {
      producer: intakeKeyed(producer),
      topic: topics.intake,
      pollMs: config.OUTBOX_SWEEP_MS,
      logger: log,
      // The stored event is the intake command itself; the enterprise contact goes sealed for the calls subgraph.
      envelope: (_demandId, event) => sealIntakeCommand(event.data as unknown as IntakeCommand, keys),
    });
    const zone = new EnterpriseZone(models, directory, { logger: log, onOutbox: (id) => void publisher.kick(id) });
    await zone.load();
    if (config.DEMO_DATA === '1') {
      const loaded = await loadDemoIfEmpty(zone, models);
      if (loaded) log.info(loaded, 'enterprise demo data loaded');
    }
    zone.startPolling(config.LIVE_REFRESH_MS);
    service.onShutdown('live copies', () => zone.stop());

    await mountSubgraph(service, {
      sdlPath: fileURLToPath(new URL('../../schemas/enterprise.graphql', import.meta.url)),
      resolvers: createResolvers(zone),
      verifier: createVerifier(config),
    });

    // Closers run in reverse: the consumer stops first, then the outbox drains, then the producer goes.
    publisher.start();
    service.onShutdown('outbox publisher', () => publisher.stop());
    // Listen before joining the group: after a crash the join waits out the dead member's session.
    const url = await service.listen();
    const follower = new CallFollower(zone, topics, log);
    const consumer = kafka.consumer({ groupId: topicName(config, 'enterprise-calls'), ...GROUP_SESSION });
    await consumer.connect();
    service.onShutdown('calls consumer', () => consumer.disconnect());
    await runConsumer({
      consumer,
      topics: [topics.callEvents, topics.intakeDlq],
      fromBeginning: true,
      handle: (record) => follower.handle(record),
    });

    // In the background: the outbox publishes what it writes, and requests need not wait.
    void zone.followEarlierDemands().then(
      (n) => n > 0 && log.info({ demands: n }, 'earlier demands: their officers now follow the calls'),
      (err: unknown) => log.warn({ err }, 'earlier demands not brought up to date; the next start tries again'),
    );

    return { service, url, models, zone, publisher, directory, topics };
  } catch (err) {
    await service.shutdown('start-up failed');
    throw err;
  }
}

export type EnterpriseApp = Awaited<ReturnType<typeof startEnterprise>>;
