// Batched intake (intake.ts handleBatch, CallStore.createMany, OutboxPublisher.publishInserted) over the
// real Kafka and FerretDB: records produced in one go arrive as one fetched batch, so new calls are
// stored a slice at a time. Repeats are stored once, each call's commands apply in their order, and a
// copy killed (SIGKILL) in the middle of a batch, started again, loses and doubles nothing.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, openSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local.ts';
import { createKafka, type Producer, topicName } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { sealIntakeCommand } from '../../platform/personal-data.ts';
import { type Collected, collect, collectHeaders, startTestCalls } from '../../test/support/calls.ts';
import { testScope } from '../../test/support/isolation.ts';
import { waitFor } from '../../test/support/wait.ts';
import type { CallsApp } from './app.ts';
import { sourceCallId } from './intake.ts';
import { INSERT_SLICE } from './store.ts';
import type { CallDoc } from './model.ts';
import { verifyTimeline } from './timeline-chain.ts';

const scope = testScope('intake-batch');
let app: CallsApp;
let producer: Producer;
let events: Collected;
let dlq: Collected;
const children: ChildProcess[] = [];

beforeAll(async () => {
  app = await startTestCalls(scope);
  producer = createKafka(scope.config, 'test-intake-batch', createLogger('test', 'warn')).producer();
  await producer.connect();
  events = await collect(scope, app.topics.callEvents);
  dlq = await collect(scope, app.topics.intakeDlq);
  // A hub start, on a shared FerretDB busy with other work, may take longer than the default minute.
}, 180_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all([events.stop(), dlq.stop(), producer.disconnect()]);
  await app.service.shutdown('test');
  await scope.cleanup();
}, 180_000);

const GRIDS = ['changzhou-c1-g1', 'changzhou-c1-g2', 'changzhou-c2-g1'];

/** A 12345 create_call as the hotline connector writes it (contact sealed). */
function create(externalId: string, i: number) {
  const command = {
    commandId: randomUUID(),
    source: 'hotline',
    externalId,
    kind: 'create_call',
    occurredAt: new Date().toISOString(),
    call: {
      title: `占道经营投诉 ${i}`,
      description: `市民来电反映第${i}处路口有流动摊贩占道经营，影响通行。联系人电话13812345678。`,
      category: '城市管理',
      priority: 'NORMAL',
      unitId: GRIDS[i % GRIDS.length],
      citizen: { name: '李小明', phone: '13812345678' },
    },
  };
  return sealIntakeCommand(command, scope.keys);
}

function note(externalId: string, text: string) {
  return { commandId: randomUUID(), source: 'hotline', externalId, kind: 'update_call', occurredAt: new Date().toISOString(), update: { action: 'note', note: text } };
}

const notes = (externalId: string, i: number) => [note(externalId, `第一条补充 ${i}`), note(externalId, `第二条补充 ${i}`)];

/**
 * All in one send, keyed by the call as the connectors key them, and all on one partition: the
 * intake then fetches them as one batch, in this order, and stores the new calls in full slices.
 */
async function send(records: Array<Record<string, unknown> | string>) {
  await producer.send({
    topic: app.topics.intake,
    messages: records.map((r) => ({
      partition: 0,
      key: typeof r === 'string' ? 'bad' : `${r.source as string}:${r.externalId as string}`,
      value: typeof r === 'string' ? r : JSON.stringify(r),
    })),
  });
}

/** True once the intake group has committed every record on hub.intake (undefined until then). */
async function consumedAll(): Promise<true | undefined> {
  const admin = createKafka(scope.config, 'test-intake-batch-admin', createLogger('test', 'warn')).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(app.topics.intake);
    const [committed] = await admin.fetchOffsets({ groupId: topicName(scope.config, 'calls-intake'), topics: [app.topics.intake] });
    const at = new Map(committed?.partitions.map((p) => [p.partition, p.offset]));
    // A partition that never had a record has nothing to commit.
    return ends.every((end) => end.high === end.low || at.get(end.partition) === end.high) ? true : undefined;
  } finally {
    await admin.disconnect();
  }
}

const eventsOf = (id: string) => events.records.filter((e) => e.callId === id);

describe('batched intake', () => {
  it('stores a batch with repeats once per call, in each call\'s order, publishes every event once, and dead-letters a bad record between', { timeout: 200_000 }, async () => {
    const run = randomUUID().slice(0, 8);
    // More new calls than one slice holds, so the batch is stored in several inserts.
    const total = INSERT_SLICE + 5;
    const ids = Array.from({ length: total }, (_, i) => `B${run}-${i}`);
    // Calls 0, 20 and 52 get two notes each, to be applied after their create, in this order: call 0
    // right behind its create (the slice gathered so far is stored first), the others at the end.
    const noted = [0, 20, 52];
    const records: Array<Record<string, unknown> | string> = [];
    ids.forEach((externalId, i) => {
      const first = create(externalId, i);
      records.push(first);
      // Every third call: the same record again, and a second create under another commandId.
      if (i % 3 === 0) records.push(first, { ...first, commandId: randomUUID() });
      if (i === 42) records.push('{not json');
      if (i === 0) records.push(...notes(externalId, i));
    });
    ids.forEach((externalId, i) => {
      if (noted.includes(i) && i !== 0) records.push(...notes(externalId, i));
    });
    await send(records);

    const callIds = ids.map((externalId) => sourceCallId('hotline', externalId));
    let progress = '';
    const calls = await waitFor('every call stored with its notes and every event published', async () => {
      const stored = await Promise.all(callIds.map((id) => app.models.Call.findById(id).lean<CallDoc>()));
      const published = callIds.filter((id, i) => eventsOf(id).length === (noted.includes(i) ? 3 : 1));
      const off = callIds.find((id, i) => eventsOf(id).length !== (noted.includes(i) ? 3 : 1));
      const offSequences = off && eventsOf(off).map((e) => e.sequence).join(',');
      progress = `stored ${stored.filter(Boolean).length}, pending ${stored.filter((c) => c?.outboxPending).length}, published ${published.length} of ${total}${off ? `; ${off} has sequences [${offSequences}]` : ''}`;
      if (stored.some((call) => !call || call.outboxPending)) return undefined;
      return published.length === total ? (stored as CallDoc[]) : undefined;
    }, 150_000).catch((err: Error) => {
      throw new Error(`${err.message} (${progress})`);
    });

    for (const [i, call] of calls.entries()) {
      const expected = noted.includes(i) ? ['raise', 'source_note', 'source_note'] : ['raise'];
      expect(call.timeline.map((entry) => entry.action)).toEqual(expected);
      if (noted.includes(i)) expect(call.timeline.slice(1).map((entry) => entry.note)).toEqual([`第一条补充 ${i}`, `第二条补充 ${i}`]);
      expect(call.version).toBe(expected.length);
      // Audit (#18): the timeline is still one unbroken hash chain.
      expect(verifyTimeline(call)).toMatchObject({ status: 'INTACT' });
      // Every event once, in sequence, each naming its timeline entry.
      const published = eventsOf(call._id);
      expect(published.map((e) => e.sequence)).toEqual(expected.map((_, n) => n + 1));
      expect(published.map((e) => e.data.timelineEntry.position)).toEqual(expected.map((_, n) => n));
      expect(new Set(published.map((e) => e.eventId)).size).toBe(published.length);
    }
    expect(await app.models.Call.countDocuments({ 'sourceRef.externalId': { $in: ids } })).toBe(total);
    // The bad record became a dead letter and stopped nothing behind it.
    await waitFor('the dead letter', () => dlq.records.find((r) => r.reasonCode === 'invalid_json'));

    // The same records again in a later batch (a producer's retry, a replay): nothing changes.
    await send(ids.slice(0, 6).flatMap((externalId, i) => {
      const again = create(externalId, i);
      return [again, { ...again, commandId: randomUUID() }];
    }));
    await waitFor('the repeats consumed', () => consumedAll(), 40_000);
    const after = await Promise.all(callIds.map((id) => app.models.Call.findById(id, { version: 1 }).lean<CallDoc>()));
    expect(after.map((call) => call?.version)).toEqual(calls.map((call) => call.version));
    expect(callIds.flatMap(eventsOf)).toHaveLength(calls.reduce((n, call) => n + call.version, 0));

    // Personal data: sealed in the call, never in clear on the published events.
    expect(calls[0]?.personal).toBeTruthy();
    expect(JSON.stringify(callIds.flatMap(eventsOf))).not.toMatch(/13812345678|李小明/);
  });

  it('merges a call into an earlier call from another source even when more than five calls from its own source are more like it', async () => {
    const run = randomUUID().slice(0, 8);
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    // Three points on one street, west to east: the 信访 site, the new call 184 m east of it, and the
    // 12345 calls 184 m further (368 m from the 信访 site: too far to be its duplicates).
    const at = (lng: number) => ({ lng, lat: 23.1 });
    const [west, middle, east] = [at(113.45), at(113.4518), at(113.4536)];
    const sourceCall = (source: string, externalId: string, location: { lng: number; lat: number }, receivedAt: string) => ({
      commandId: randomUUID(),
      source,
      externalId,
      kind: 'create_call',
      occurredAt: new Date().toISOString(),
      call: { title: '工地夜间施工噪音', description: '科学城某工地夜间施工噪音扰民，凌晨还在打桩。', category: '城市管理', priority: 'NORMAL', unitId: GRIDS[0], location, receivedAt },
    });
    // Scores against the new call (domain/similarity.ts; same text, so 0.5 + 0.3 × closeness + 0.2 × recency):
    // each 12345 call 0.5 + 0.116 + 0.197 = 0.813, the 信访 call 0.5 + 0.116 + 0.172 = 0.788: the 信访
    // call ranks seventh, behind the six 12345 calls, yet above CROSS_SOURCE_MERGE_SCORE (0.6).
    await send([sourceCall('petition', `M${run}-P`, west, hoursAgo(10))]);
    const petition = sourceCallId('petition', `M${run}-P`);
    await waitFor('the 信访 call stored', () => app.models.Call.findById(petition).lean<CallDoc>());
    const hotline = Array.from({ length: 6 }, (_, i) => `M${run}-H${i}`);
    await send(hotline.map((externalId) => sourceCall('hotline', externalId, east, hoursAgo(1))));
    await waitFor('the 12345 calls stored', async () => ((await app.models.Call.countDocuments({ 'sourceRef.externalId': { $in: hotline } })) === 6 ? true : undefined));
    await send([sourceCall('hotline', `M${run}-N`, middle, new Date().toISOString())]);

    const merged = await waitFor('the new call merged', async () => {
      const call = await app.models.Call.findById(sourceCallId('hotline', `M${run}-N`)).lean<CallDoc>();
      return call?.status === 'MERGED' ? call : undefined;
    });
    expect(merged.mergedInto).toBe(petition);
    await waitFor('the 信访 call told of the merge', async () => {
      const call = await app.models.Call.findById(petition).lean<CallDoc>();
      return call?.mergedCallIds.includes(merged._id) ? true : undefined;
    });
    // The 12345 calls are nobody's duplicates: too far from the 信访 call, and one source with each other.
    const others = await app.models.Call.find({ 'sourceRef.externalId': { $in: hotline } }).lean<CallDoc[]>();
    expect(others.map((call) => call.status)).toEqual(hotline.map(() => 'RAISED'));
  });

  it('stores a call of a slice field for field as a mongoose document of it would be stored', async () => {
    const run = randomUUID().slice(0, 8);
    const draft = app.store.draft(
      { title: '井盖缺失', description: '路口井盖缺失，市民来电13812345678。', category: '城市管理', priority: 'URGENT', source: 'HOTLINE', sourceRef: { system: 'hotline', externalId: `D${run}` }, originUnitId: GRIDS[1]!, raisedBy: { subject: 'hotline-connector', unitId: 'huangpu', role: 'service_account' }, location: { lng: 113.45, lat: 23.1 }, citizen: { name: '李小明', phone: '13812345678' } },
      `D${run}-lean`,
    );
    const asDocument = { ...structuredClone(draft), _id: `D${run}-document` };
    await app.models.Call.create(asDocument);
    await app.store.createMany([draft]);
    const raw = app.models.Call.db.db!.collection<{ _id: string }>('calls');
    const [lean, document] = await Promise.all([raw.findOne({ _id: draft._id }), raw.findOne({ _id: asDocument._id })]);
    // The same fields in the same order, the same values; the outbox lease is this copy's publisher's.
    expect({ ...lean, _id: undefined, outboxLease: undefined }).toEqual({ ...document, _id: undefined, outboxLease: undefined });
    expect(Object.keys(lean!)).toEqual(Object.keys(document!));
  });

  it('dead-letters a record whose call the schema refuses, naming the field and not its value, and stores the rest of its slice', async () => {
    const run = randomUUID().slice(0, 8);
    const ids = [0, 1, 2].map((i) => `V${run}-${i}`);
    // No record can make such a draft today (intake's JSON schema holds the same enums): a draft is spoiled here.
    const draft = app.store.draft.bind(app.store);
    app.store.draft = (input, id) => (id === sourceCallId('hotline', ids[1]!) ? ({ ...draft(input, id), priority: 'SOMEDAY-13812345678' } as unknown as CallDoc) : draft(input, id));
    try {
      await send(ids.map((externalId, i) => create(externalId, i)));
      const letter = await waitFor('the dead letter', () => dlq.records.find((r) => r.reasonCode === 'schema' && String(r.reason).includes(sourceCallId('hotline', ids[1]!))));
      expect(letter.reason).toMatch(/priority \(enum\)/);
      expect(JSON.stringify(letter)).not.toContain('SOMEDAY');
      await waitFor('the rest published', () => ([0, 2].every((i) => eventsOf(sourceCallId('hotline', ids[i]!)).length === 1) ? true : undefined));
      await waitFor('the batch committed', () => consumedAll(), 40_000);
    } finally {
      app.store.draft = draft;
    }
    const stored = await app.models.Call.find({ _id: { $in: ids.map((id) => sourceCallId('hotline', id)) } }, { _id: 1 }).lean<CallDoc[]>();
    expect(stored.map((c) => c._id).sort()).toEqual([0, 2].map((i) => sourceCallId('hotline', ids[i]!)).sort());
    expect(eventsOf(sourceCallId('hotline', ids[1]!))).toEqual([]);
  });

  it('signs every event it publishes in a batch (Ed25519 headers, #18)', async () => {
    const headers = await collectHeaders(scope, app.topics.callEvents);
    try {
      const records = await waitFor('the events of the batch', () => (headers.records.length >= INSERT_SLICE ? headers.records : undefined));
      for (const record of records) {
        expect(record.headers.signature).toMatch(/^[0-9a-f]{128}$/);
        expect(record.headers['signature-key']).toBeTruthy();
        expect(record.headers['event-id']).toBeTruthy();
      }
    } finally {
      await headers.stop();
    }
  });
});

/** The calls service as production runs it, in its own process, on this file's database and topics. */
async function startCopy(): Promise<ChildProcess> {
  // Each copy's log goes to a file, so a failure can be read afterwards.
  mkdirSync('.data/logs', { recursive: true });
  const log = `.data/logs/${scope.dbName}-copy-${children.length + 1}.log`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/service.ts', 'calls'], {
    // METRICS_PORT 0: any free port (PORT + 5000, the default, was once taken by another file's process, and the copy never started).
    env: { ...process.env, ...scope.env, LOG_LEVEL: 'info', PORT: String(await freePort()), METRICS_PORT: '0', CALLS_DB: scope.dbName, SUPERVISION_INTERVAL_MS: '3600000' },
    stdio: ['ignore', openSync(log, 'w'), 'inherit'],
  });
  children.push(child);
  return child;
}

it('loses and doubles nothing when a copy is killed in the middle of a batch and started again', { timeout: 420_000 }, async () => {
  // Only the child copies consume from here on: the in-process one leaves the intake group.
  await app.service.shutdown('test');
  const run = randomUUID().slice(0, 8);
  const total = INSERT_SLICE * 3;
  const ids = Array.from({ length: total }, (_, i) => `K${run}-${i}`);
  // Every tenth call: after all the creates, a note that must apply exactly once, after its create.
  const noted = ids.filter((_, i) => i % 10 === 0);
  await send([...ids.map((externalId, i) => create(externalId, i)), ...noted.map((externalId) => note(externalId, `回访补充 ${externalId}`))]);
  const callIds = ids.map((externalId) => sourceCallId('hotline', externalId));
  const versionOf = (i: number) => (i % 10 === 0 ? 2 : 1);
  const { connectMongo } = await import('../../platform/mongo.ts');
  const conn = await connectMongo(scope.config, scope.dbName);
  const Call = conn.collection<CallDoc>('calls');
  const stored = () => Call.countDocuments({ 'sourceRef.externalId': { $in: ids } });
  try {
    const first = await startCopy();
    await waitFor('part of the batch stored', async () => ((await stored()) >= INSERT_SLICE ? true : undefined), 90_000);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const atKill = await stored();
    expect(atKill).toBeLessThan(total);

    const second = await startCopy();
    let progress = '';
    // Every event out first (counted from the topic, in memory), then every call recorded as published.
    const publishedAll = () => callIds.filter((id, i) => new Set(eventsOf(id).map((e) => e.sequence)).size === versionOf(i)).length;
    await waitFor('every event published', () => {
      if (second.exitCode !== null) throw new Error(`the second copy exited with ${second.exitCode}; see .data/logs/${scope.dbName}-copy-2.log`);
      return publishedAll() === total ? true : undefined;
    }, 280_000).catch((err: Error) => {
      throw new Error(`${err.message} (at kill ${atKill}, published ${publishedAll()} of ${total})`);
    });
    const calls = await waitFor('every call stored, noted and recorded as published', async () => {
      const docs = await Promise.all(callIds.map((_id) => Call.findOne({ _id })));
      progress = `at kill ${atKill}, stored ${docs.filter(Boolean).length}, noted ${docs.filter((c) => c && c.version >= 2).length}, pending ${docs.filter((c) => c?.outboxPending).length} of ${total}`;
      return docs.some((call, i) => !call || call.version < versionOf(i) || call.outboxPending) ? undefined : (docs as CallDoc[]);
    }, 120_000).catch((err: Error) => {
      throw new Error(`${err.message} (${progress})`);
    });
    for (const [i, call] of calls.entries()) {
      // Nothing doubled: one raise, a noted call's one note, the chain whole.
      expect(call.timeline.map((entry) => entry.action)).toEqual(versionOf(i) === 2 ? ['raise', 'source_note'] : ['raise']);
      expect(call.version).toBe(versionOf(i));
      expect(verifyTimeline(call)).toMatchObject({ status: 'INTACT' });
      // An event sent again after the kill (at-least-once) is the same event, never a second one.
      const published = eventsOf(call._id);
      for (const sequence of versionOf(i) === 2 ? [1, 2] : [1]) expect(new Set(published.filter((e) => e.sequence === sequence).map((e) => e.eventId)).size).toBe(1);
    }
    expect(await stored()).toBe(total);
  } finally {
    await conn.close();
  }
});
