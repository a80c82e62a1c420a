// The batch projection (projector.ts, store.ts `apply`) over the real local Kafka and FerretDB: a
// month of calls in log order (a call's events spread over several batches, some delivered twice)
// replayed twice into empty databases gives identical ledgers, equal to the pure rules'; a batch
// redelivered after a crash — between write and commit, or in the middle of its writes — changes
// nothing and leaves the same ledgers.
import type { Consumer, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoUnits } from '../../demo/district.ts';
import { GROUP_SESSION } from '../../platform/consumer.ts';
import { createKafka, ensureTopics } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { connectMongo, type Connection } from '../../platform/mongo.ts';
import { loadCalendar } from '../../rules/files.ts';
import { testScope } from '../../test/support/isolation.ts';
import { waitFor } from '../../test/support/wait.ts';
import { contributions, mergeObservations, type Observation, observe } from './domain/ledger.ts';
import { MonthClosing } from './domain/period.ts';
import { Projector, type RawRecord } from './projector.ts';
import { inLogOrder, scriptedMonth } from './scripted-calls.ts';
import { type BatchResult, callKey, callOf, COMPACT_AFTER_CHUNKS, contributionsIn, encodeChunk, EvaluationStore, evaluationModels } from './store.ts';

const scope = testScope('batchprojection');
const logger = createLogger('test', 'warn');
const kafka = createKafka(scope.config, 'test-batch-projection', logger);
// The copies killed on purpose: kafkajs logs every failed attempt of theirs as an error.
const dyingKafka = createKafka(scope.config, 'test-batch-projection-dying', createLogger('test', 'fatal'));
const topic = `${scope.config.TOPIC_PREFIX}hub.call-events`;
const dlq = `${topic}.dlq`;
const closing = new MonthClosing(loadCalendar(), 5);
const units = new Map(demoUnits().map((u) => [u.id, u]));
const scopesOf = (origin: string) => (units.get(origin)?.path ?? [origin]).filter((id) => units.get(id)?.kind !== 'district');
const streets = demoUnits().filter((u) => u.kind === 'street').map((u) => u.id);
const departments = demoUnits().filter((u) => u.kind === 'department').map((u) => u.id);

// 16 calls of March 2026 in the order they happened; three events published again (an outbox retry).
const CALLS = 16;
const events = inLogOrder(scriptedMonth('BP', CALLS, '2026-03', departments, streets));
const log = [...events, events[5], events[40], events[80]].map((e) => ({ key: e!.callId, value: JSON.stringify(e) }));
let producer: Producer;
const connections: Connection[] = [];
/** Bytes per fetch: about 40 events a batch. */
const BATCH_BYTES = 65_536;

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  // One partition, so that a copy taking over gets exactly the batch the one before it died in.
  await ensureTopics(admin, [{ topic, numPartitions: 1 }, { topic: dlq, numPartitions: 1 }]);
  await admin.disconnect();
  producer = kafka.producer();
  await producer.connect();
  // In sends of 30: a fetch of BATCH_BYTES returns a send or two, so a call's events span batches.
  for (let i = 0; i < log.length; i += 30) await producer.send({ topic, messages: log.slice(i, i + 30) });
});

afterAll(async () => {
  await producer?.disconnect();
  for (const conn of connections) await conn.close();
  await scope.cleanup();
});

async function freshStore(name: string): Promise<EvaluationStore> {
  const conn = await connectMongo(scope.config, scope.database(name));
  connections.push(conn);
  return new EvaluationStore(evaluationModels(conn), closing, scopesOf);
}

/** Every document of both collections, without write times, by `_id`. */
async function contents(store: EvaluationStore) {
  // As read: a batch delivered again appends its contributions again, and reads the same.
  const ids = (await store.models.Ledger.find({}, { _id: 1 }).lean()).map((doc) => doc._id);
  // A document left with no contributions (added and taken back in different batches) reads as none.
  const ledgers = [...(await store.loadLedgers(ids)).values()]
    .filter((doc) => doc.calls === undefined || Object.keys(doc.calls).length > 0 || !/^(perf|ctr|open)\|/.test(doc._id))
    .map(({ appended: _appended, ...doc }) => doc);
  const calls = (await store.models.Call.find({}).lean()).map(callOf);
  const byId = <T extends { _id: string }>(docs: T[]) => Object.fromEntries(docs.map((d): [string, T] => [d._id, d]).sort(([a], [b]) => a.localeCompare(b)));
  return {
    ledgers: byId(ledgers.map(({ updatedAt: _ignored, ...doc }) => doc)),
    calls: byId(calls),
  };
}

/** A projector consuming the topic in `groupId` until `until` holds; stops without committing more. */
async function consume(store: EvaluationStore, groupId: string, until: (p: Projector) => boolean, projector = new Projector(store, producer, dlq, logger)) {
  const consumer: Consumer = (projector instanceof DiesBeforeCommit ? dyingKafka : kafka).consumer({ groupId: `${scope.config.TOPIC_PREFIX}${groupId}`, ...GROUP_SESSION, maxBytesPerPartition: BATCH_BYTES, maxBytes: BATCH_BYTES });
  await consumer.connect();
  await projector.run(consumer, topic);
  await waitFor(`${groupId} projected`, () => (until(projector) ? true : undefined), 60_000);
  await consumer.disconnect();
  return projector;
}

/** A copy that stores the first batch it is given and dies before committing it. */
class DiesBeforeCommit extends Projector {
  died = false;
  override async project(batch: RawRecord[], between?: () => Promise<void>): Promise<BatchResult> {
    await super.project(batch, between);
    this.died = true;
    throw new Error('killed before the commit');
  }
}

const records = (from: number, to: number): RawRecord[] =>
  log.slice(from, to).map((m, i) => ({ key: Buffer.from(m.key), value: Buffer.from(m.value), offset: String(from + i), partition: 0, topic }));

let reference: Awaited<ReturnType<typeof contents>>;

describe('the batch projection', () => {
  it('gives identical ledgers when the topic is replayed into two empty databases, equal to the pure rules', async () => {
    const [a, b] = await Promise.all([freshStore('replay_a'), freshStore('replay_b')]);
    await Promise.all([a, b].map((store, i) => consume(store, `replay-${i}`, (p) => p.projected >= events.length)));
    const [first, second] = await Promise.all([contents(a), contents(b)]);
    expect(second).toEqual(first);
    reference = first;

    // Each call's entries are what the rules give for all its events, whatever the batches were.
    const byCall = new Map<string, Observation[]>();
    for (const e of events) byCall.set(e.callId, mergeObservations(byCall.get(e.callId) ?? [], [observe(e)]));
    const expected: Record<string, Record<string, unknown>> = {};
    for (const [callId, obs] of byCall) {
      for (const [ledgerId, vector] of contributions(obs, scopesOf(obs[0]!.origin), closing)) (expected[ledgerId] ??= {})[callKey(callId)] = vector;
    }
    const projected = Object.fromEntries(
      Object.entries(first.ledgers)
        .filter(([id]) => /^(perf|ctr|open)\|/.test(id))
        .map(([id, doc]) => [id, doc.calls]),
    );
    expect(projected).toEqual(expected);
    expect(Object.keys(first.calls)).toHaveLength(CALLS);
  });

  it('changes nothing when a batch is redelivered after a crash between its write and its commit', async () => {
    const store = await freshStore('crash_commit');
    // The first copy stores its first batch and dies before committing it.
    const first = new DiesBeforeCommit(store, producer, dlq, logger);
    await consume(store, 'crash', (p) => (p as DiesBeforeCommit).died, first);
    const afterCrash = await contents(store);
    expect(Object.keys(afterCrash.calls).length).toBeGreaterThan(0);

    // A new copy (nothing remembered) joins the group: the same batch comes again, first.
    const again = new DiesBeforeCommit(await freshStoreOn(store), producer, dlq, logger);
    await consume(store, 'crash', (p) => (p as DiesBeforeCommit).died, again);
    expect(again.projected).toBe(0);
    expect(await contents(store)).toEqual(afterCrash);

    // And the whole topic then gives the same ledgers as a replay that never crashed.
    await consume(await freshStoreOn(store), 'crash', (p) => p.projected > 0 && p.projected >= events.length - first.projected);
    expect(await contents(store)).toEqual(reference);
  });

  it('leaves the same ledgers when a copy dies at any point inside a batch and the batch comes again', async () => {
    // Two batches: the second has new calls and later events of calls the first stored.
    const split = 60;
    const points = { counted: 0 };
    const counting = await freshStore('crash_count');
    await new Projector(counting, producer, dlq, logger).project(records(0, split));
    await new Projector(counting, producer, dlq, logger).project(records(split, log.length), async () => {
      points.counted++;
    });
    expect(points.counted).toBeGreaterThanOrEqual(3);
    for (let point = 1; point <= points.counted; point++) {
      const store = await freshStore(`crash_at_${point}`);
      await new Projector(store, producer, dlq, logger).project(records(0, split));
      let reached = 0;
      const dying = async () => {
        if (++reached === point) throw new Error(`killed after write ${point}`);
      };
      await expect(new Projector(store, producer, dlq, logger).project(records(split, log.length), dying)).rejects.toThrow(/killed/);
      await new Projector(await freshStoreOn(store), producer, dlq, logger).project(records(split, log.length));
      expect(await contents(store), `killed after write ${point}`).toEqual(reference);
    }
  });

  it('compacts the ledger documents a copy keeps appending to, read or not, and reads the same ledgers', async () => {
    // Compacted past 3 chunks, so that this month of 16 calls gets there.
    const compactAfter = 3;
    const plain = await freshStore('one_by_one');
    const store = new EvaluationStore(plain.models, closing, scopesOf, compactAfter);
    // Every record its own batch: a line per event in a unit's counters, which nothing reads.
    const projector = new Projector(store, producer, dlq, logger);
    for (let i = 0; i < log.length; i++) await projector.project(records(i, i + 1));
    const raw = await store.models.Ledger.find({ _id: { $regex: '^(perf|ctr|open)\\|' } }).lean();
    expect(Math.max(...raw.map((doc) => doc.chunks?.length ?? 0))).toBeLessThanOrEqual(compactAfter);
    // Counters and open calls too, which nothing read here (no counters are published).
    const compacted = raw.filter((doc) => (doc.appended ?? 0) > compactAfter).map((doc) => doc._id);
    expect(compacted.filter((id) => /^(ctr|open)\|/.test(id)).length).toBeGreaterThan(3);
    expect(await contents(store)).toEqual(reference);
  });

  it('reads contributions appended as text over the fields of an older document, and compacts a long one without losing any', async () => {
    const store = await freshStore('chunks');
    const id = 'perf|dept-test|2026-04';
    // Written before chunks: contributions as fields.
    await store.models.Ledger.updateOne({ _id: id }, { $set: { calls: { a: { dispatched: 1 }, b: { dispatched: 1, signed: 1 } } } }, { upsert: true });
    const append = (chunk: string) => store.models.Ledger.updateOne({ _id: id }, { $push: { chunks: chunk }, $inc: { appended: 1 } });
    // A later entry replaces an earlier one; `key=` removes; corrections are negative.
    await append(encodeChunk([['b', null], ['~Yy9k', { dispatched: 1, lateEntries: -1 }]]));
    await append(encodeChunk([['c', { completed: 2 }], ['c', { completed: 1 }]]));
    // Calls with the same contribution are one group; a call given twice counts as its last.
    expect(encodeChunk([['x', { raised: 1 }], ['z', { raised: 2 }], ['y', { raised: 1 }], ['z', null]])).toBe('|raised:1=x y|=z');
    // A chunk as written before grouping: one `key=…` entry per call.
    await append('e=urged:1 f=signed:1 e=');
    const expected = { a: { dispatched: 1 }, '~Yy9k': { dispatched: 1, lateEntries: -1 }, c: { completed: 1 }, f: { signed: 1 } };
    expect((await store.loadLedgers([id])).get(id)?.calls).toEqual(expected);
    expect((await store.totals([id])).get(id)).toMatchObject({ totals: { dispatched: 2, lateEntries: -1, completed: 1, signed: 1 }, calls: 4 });

    // A compaction read before another chunk was appended leaves the document as it is.
    const stale = (await store.models.Ledger.findById(id).lean())!;
    await append(encodeChunk([['d', { urged: 1 }]]));
    await (store as unknown as { compact: (doc: unknown, calls: unknown) => Promise<void> }).compact(stale, expected);
    expect((await store.loadLedgers([id])).get(id)?.calls).toEqual({ ...expected, d: { urged: 1 } });

    // More chunks than COMPACT_AFTER_CHUNKS: a read writes them back as one, fields included.
    for (let i = 0; i < COMPACT_AFTER_CHUNKS; i++) await append(encodeChunk([[`e${i}`, { entries: i + 1 }]]));
    const read = (await store.loadLedgers([id])).get(id)?.calls;
    const stored = (await store.models.Ledger.findById(id).lean())!;
    expect(stored.chunks).toHaveLength(1);
    expect(stored.calls).toBeUndefined();
    expect(contributionsIn(stored)).toEqual(read);
    expect(Object.keys(read ?? {})).toHaveLength(5 + COMPACT_AFTER_CHUNKS);
  });

  it('reads calls stored by an older copy (observations as an array) and continues them as text', async () => {
    const store = await freshStore('older_calls');
    const split = 60;
    await new Projector(store, producer, dlq, logger).project(records(0, split));
    // What an older copy wrote: the same calls with their observations as an array of fields.
    const stored = await store.models.Call.find({}).lean();
    expect(stored.every((doc) => typeof doc.obs === 'string')).toBe(true);
    for (const doc of stored) await store.models.Call.replaceOne({ _id: doc._id }, callOf(doc));
    await new Projector(await freshStoreOn(store), producer, dlq, logger).project(records(split, log.length));
    expect(await contents(store)).toEqual(reference);
    // A call given later events is written back as text; one without stays as the older copy left it.
    const after = await store.models.Call.find({}).lean();
    expect(after.some((doc) => typeof doc.obs === 'string') && after.some((doc) => Array.isArray(doc.obs))).toBe(true);
  });

  it('keeps no ledger totals read while its own batch is writing them, so its changes are not added twice', async () => {
    const store = await freshStore('totals-in-flight');
    await new Projector(store, producer, dlq, logger).project(records(0, 60));
    const appended = async () => new Map((await store.models.Ledger.find({}, { _id: 1, appended: 1 }).lean()).map((doc) => [doc._id, doc.appended ?? 0]));
    const before = await appended();
    // Paused after each write of the next batch: once its ledger appends have landed, a reader (a
    // ranking, the counters) reads their totals before the batch goes on.
    let landed: string[] = [];
    await new Projector(store, producer, dlq, logger).project(records(60, log.length), async () => {
      if (landed.length > 0) return;
      landed = [...(await appended())].filter(([id, n]) => /^(perf|ctr)\|/.test(id) && n > (before.get(id) ?? 0)).map(([id]) => id);
      if (landed.length > 0) await store.totals(landed);
    });
    expect(landed.length).toBeGreaterThan(0);
    const figures = (totals: Map<string, { totals: object; calls: number }>) => Object.fromEntries([...totals].map(([id, t]) => [id, [t.totals, t.calls]]));
    const stored = figures(await (await freshStoreOn(store)).totals(landed));
    expect(figures(await store.totals(landed))).toEqual(stored);
  });

  it('keeps no ledger totals read before a consumer-group change, since another copy may have written meanwhile', async () => {
    const store = await freshStore('totals-epoch');
    const id = 'perf|dept-test|2026-03';
    await store.models.Ledger.updateOne({ _id: id }, { $set: { calls: { a: { calls: 1 } }, updatedAt: new Date() } }, { upsert: true });
    store.projectsEverything(true);
    // A read in flight when the group changes again (this copy still projects alone, and keeps totals a while).
    const read = store.totals([id]);
    store.projectsEverything(true);
    expect((await read).get(id)?.totals).toEqual({ calls: 1 });
    // Another copy's write that landed before the change: the next read shows it.
    await store.models.Ledger.updateOne({ _id: id }, { $set: { 'calls.b': { calls: 1 } } });
    expect((await store.totals([id])).get(id)?.totals).toEqual({ calls: 2 });
  });
});

/** Another copy's store on the same database (a restarted process: nothing remembered). */
async function freshStoreOn(store: EvaluationStore): Promise<EvaluationStore> {
  return new EvaluationStore(store.models, closing, scopesOf);
}
