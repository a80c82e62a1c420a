// The history generator (`npm run history`) over the real FerretDB: what it writes is what the calls
// service would have written over the years — every archived call listed in its days with its copy
// (call-history.ts), the copy equal to a read of the call, and the rest in the live set.
import { afterAll, describe, expect, it } from 'vitest';
import { demoUnits } from '../demo/district.ts';
import { connectMongo } from '../platform/mongo.ts';
import { UnitDirectory } from '../platform/unit-directory.ts';
import { testScope } from '../test/support/isolation.ts';
import { CallHistory, decodeEntry } from '../subgraphs/calls/call-history.ts';
import { type CallDoc, callsModels, INDEX_PROJECTION } from '../subgraphs/calls/model.ts';
import { generateHistory } from './history.ts';

const scope = testScope('history-generator');

afterAll(async () => {
  await scope.cleanup();
});

describe('npm run history', () => {
  it('writes archived calls into their days with their copies, and the others into the live set', async () => {
    const result = await generateHistory({ calls: 400, years: 1, db: scope.dbName, events: false, seed: 7, recentDays: 7, mongodbUri: scope.config.MONGODB_URI });
    expect(result.archived).toBeGreaterThan(0);
    expect(result.archived + result.live).toBe(400);
    const conn = await connectMongo(scope.config, scope.dbName);
    try {
      const { Call } = await callsModels(conn);
      const history = CallHistory.on(conn, new UnitDirectory(demoUnits()));
      const live = new Set(await history.liveIds());
      expect(live.size).toBe(result.live);
      const days = await history.model.find({ _id: /^day\|/ }).lean<Array<{ chunks: string[] }>>();
      const entries = new Map(days.flatMap((d) => d.chunks.flatMap((chunk) => chunk.split(' ').map(decodeEntry))).map((e) => [e.id, e]));
      const calls = await Call.find({}, INDEX_PROJECTION).lean<CallDoc[]>();
      for (const call of calls) {
        if (live.has(call._id)) continue;
        expect(entries.get(call._id)).toMatchObject({ version: call.version, copied: true });
        expect(await history.copyOf(call._id, call.version)).toEqual(call);
      }
      expect(calls.filter((call) => !live.has(call._id))).toHaveLength(result.archived);
    } finally {
      await conn.close();
    }
  });
});
