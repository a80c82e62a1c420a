import mongoose, { type Connection } from 'mongoose';
import type { BaseConfig } from './config.ts';
import type { Service } from './service.ts';

export type { Connection } from 'mongoose';

/**
 * A mongoose connection to one service's own database. Code written against it targets what MongoDB 7
 * and FerretDB 1.24 both support: single-document atomic updates, no transactions, no change streams.
 */
export async function connectMongo(
  config: Pick<BaseConfig, 'MONGODB_URI'>,
  dbName: string,
): Promise<Connection> {
  const conn = mongoose.createConnection(config.MONGODB_URI, {
    dbName,
    serverSelectionTimeoutMS: 10_000,
    // Indexes are created explicitly at start-up (syncIndexes), not lazily on first use.
    autoIndex: false,
  });
  await conn.asPromise();
  return conn;
}

/** A service's own database (connectMongo): closed at shutdown, and pinged for readiness. */
export async function serviceDatabase(
  service: Pick<Service, 'onShutdown' | 'addReadinessCheck'>,
  config: Pick<BaseConfig, 'MONGODB_URI'>,
  dbName: string,
): Promise<Connection> {
  const conn = await connectMongo(config, dbName);
  service.onShutdown('mongodb', () => conn.close());
  service.addReadinessCheck('mongodb', mongoReadiness(conn));
  return conn;
}

/** Readiness: the database answers `ping`. */
export function mongoReadiness(conn: Connection): () => Promise<void> {
  return async () => {
    if (!conn.db) throw new Error('not connected');
    await conn.db.admin().ping();
  };
}

/**
 * Statements per bulk write. FerretDB 1.24 on SQLite deadlocks on an update or delete command of 100
 * statements or more (it holds a connection per statement, from a pool of 100); the local FerretDB
 * proxy refuses such commands, so bulk writes go in slices.
 */
export const BULK_SLICE = 50;

/**
 * The positions of the documents an unordered insertMany found already stored (duplicate key,
 * E11000); any other failure is thrown again.
 */
export function duplicatesOf(err: unknown): number[] {
  const writeErrors = (err as { writeErrors?: Array<{ index: number; code?: number; err?: { code?: number } }> }).writeErrors;
  if (!writeErrors || writeErrors.some((e) => (e.code ?? e.err?.code) !== 11000)) throw err;
  return writeErrors.map((e) => e.index);
}

/** Runs `write` over `ops` in slices of BULK_SLICE, one after the other. */
export async function inSlices<T>(ops: T[], write: (slice: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < ops.length; i += BULK_SLICE) await write(ops.slice(i, i + BULK_SLICE));
}

/** `items` grouped by `keyOf`, each group in the items' order (one write per document a group goes to). */
export function groupBy<T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** Runs `work` over `items` with at most `limit` at once, results in order (reads by `_id`, mostly). */
export async function eachLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
