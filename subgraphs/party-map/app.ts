// Builds the party-map service without listening: the database, the hub.units topic and its
// publisher, the directory with its spatial index, and the subgraph. main.ts listens; tests and the
// bench run it in-process on PORT 0.
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createVerifier, authConfig } from '../../platform/auth.ts';
import { baseConfig, port } from '../../platform/config.ts';
import { ensureTopics, serviceKafka, serviceProducer, topicName } from '../../platform/kafka.ts';
import type { Logger } from '../../platform/logger.ts';
import { serviceDatabase } from '../../platform/mongo.ts';
import { Service } from '../../platform/service.ts';
import { mountSubgraph } from '../../platform/subgraph.ts';
import { TOPICS } from '../../platform/topics.ts';
import { loadDemoIfEmpty } from './demo-load.ts';
import { Directory } from './directory.ts';
import { type Models, createModels, syncIndexes } from './models.ts';
import { createUnitPublisher } from './publisher.ts';
import type { OutboxPublisher } from '../../platform/outbox.ts';
import type { UnitDoc } from './models.ts';
import { createResolvers } from './resolvers.ts';

export const partyMapConfig = baseConfig.extend({
  PORT: port.default(4003),
  /** 1: load the demo district into an empty database at start. */
  DEMO_DATA: z
    .enum(['0', '1'], { message: 'expected 0 or 1' })
    .default('0')
    .transform((v) => v === '1'),
  /** How often each copy checks whether another one changed the map (ms; 0: never). */
  GEO_REFRESH_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
  /** How often unit changes not yet on hub.units are looked for (ms). */
  UNITS_SWEEP_MS: z.coerce.number().int().min(100).max(600_000).default(1_000),
  PARTY_MAP_DB: z.string().regex(/^[A-Za-z0-9_-]+$/).default('huying_party_map'),
  ...authConfig.shape,
});
export type PartyMapConfig = z.infer<typeof partyMapConfig>;

export const DATABASE = 'huying_party_map';
export const SDL_PATH = fileURLToPath(new URL('../../schemas/party-map.graphql', import.meta.url));

export interface PartyMap {
  service: Service;
  models: Models;
  directory: Directory;
  publisher: OutboxPublisher<UnitDoc>;
  /** The hub.units topic, with prefix. */
  topic: string;
}

export async function buildPartyMap(config: PartyMapConfig, options: { dbName?: string; logger?: Logger } = {}): Promise<PartyMap> {
  const service = new Service({ name: 'party-map', config, ...(options.logger && { logger: options.logger }) });
  try {
    const conn = await serviceDatabase(service, config, options.dbName ?? config.PARTY_MAP_DB);
    const models = createModels(conn);
    await syncIndexes(models);

    const { kafka, admin } = await serviceKafka(service, config, 'party-map');
    const topic = topicName(config, TOPICS.units);
    // Compacted: the topic keeps the latest record of every unit, a directory any service can replay.
    await ensureTopics(admin, [{ topic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]);
    const producer = await serviceProducer(service, kafka);

    const publisher = createUnitPublisher(models, { producer, topic, logger: service.logger, pollMs: config.UNITS_SWEEP_MS });
    if (config.DEMO_DATA) {
      const loaded = await loadDemoIfEmpty(models, publisher.newLease());
      if (loaded) {
        // The whole directory in one send, where the sweep would publish it a unit at a time.
        await publisher.publishInserted(loaded);
        service.logger.info({ units: loaded.length }, 'party-map demo data loaded');
      }
    }

    const directory = new Directory({ models, logger: service.logger, pollMs: config.GEO_REFRESH_MS });
    await directory.refresh();
    directory.startPolling();
    service.onShutdown('directory', () => directory.stop());

    publisher.start();
    // Closers run in reverse: the publisher stops before the producer disconnects.
    service.onShutdown('units publisher', () => publisher.stop());

    await mountSubgraph(service, {
      sdlPath: SDL_PATH,
      resolvers: createResolvers({ models, directory, publisher }),
      verifier: createVerifier(config),
    });
    return { service, models, directory, publisher, topic };
  } catch (err) {
    await service.shutdown('start-up failed');
    throw err;
  }
}
