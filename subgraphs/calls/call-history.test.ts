// The bounded call index over the real local Kafka and FerretDB: only live calls stay in memory (open,
// or closed within the recent window), older ones are archived into day documents, and lists,
// cursors and counters over history answer exactly what a scan of every call would, through a
// restart that loads only the live set, and with a read budget small enough to cut pages short.
import { Writable } from 'node:stream';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/logger.ts';
import { startTestCalls } from '../../test/support/calls.ts';
import { codeOf, gql, ok, tokenFor } from '../../test/support/graphql.ts';
import { testScope } from '../../test/support/isolation.ts';
import { waitFor } from '../../test/support/wait.ts';
import type { CallsApp } from './app.ts';
import { CallIndex, HISTORY_WARM_DAYS } from './call-index.ts';
import { archivedCopy, CallHistory, dayOf, decodeEntry, encodeEntry, FIRST_DAY_TTL_MS, historyKeysOf } from './call-history.ts';
import { type CallDoc, INDEX_PROJECTION } from './model.ts';

const scope = testScope('calls-history');
let app: CallsApp;
let url: string;

const DAY = 86_400_000;
const NOW = Date.now();
const GRID_A = 'changzhou-c1-g1';
const GRID_B = 'changzhou-c1-g2';
const GRID_C = 'yuzhu-c1-g1';
const GRIDS = [GRID_A, GRID_B, GRID_C];
const tokens: Record<string, string> = {};
/** Every call of the fixture, as stored: the oracle the lists are checked against. */
let fixture: CallDoc[] = [];

// A read budget small enough that some history pages come back short: the lists must still hold every
// call, once, in order.
const ENV = { CALL_INDEX_RECENT_DAYS: '7', CALL_ARCHIVE_INTERVAL_MS: '3600000', CALL_HISTORY_READ_BUDGET: '30' };

/**
 * 90 calls over the last ~120 days in three grids: most closed days after raising (archived), some
 * withdrawn, a few still open however old, a few closed yesterday (inside the window).
 */
function buildFixture(): CallDoc[] {
  const calls: CallDoc[] = [];
  for (let i = 0; i < 90; i++) {
    const grid = GRIDS[i % 3]!;
    // Several calls share one instant: the id breaks the tie, as in the live order.
    const raisedAt = new Date(NOW - 3 * DAY - Math.floor(i / 2) * 31 * 3_600_000);
    const call = app.store.withClock(() => raisedAt).draft({
      title: `历史事项 ${i}`,
      description: i % 10 === 0 ? '井盖缺失' : '路灯不亮',
      category: i % 4 === 0 ? '城市管理' : '交通管理',
      priority: 'NORMAL',
      source: 'UNIT',
      originUnitId: grid,
      raisedBy: { subject: `gw-${grid}`, unitId: grid, role: 'grid_worker' },
    });
    call.outbox = [];
    call.outboxPending = false;
    if (i % 11 === 5) {
      // Still open, however old: stays in memory.
    } else if (i % 13 === 7) {
      call.status = 'WITHDRAWN';
      call.closedAt = new Date(raisedAt.getTime() + DAY);
      delete call.nextCheckAt;
    } else {
      call.status = 'CLOSED';
      // The newest few closed yesterday: inside the window.
      call.closedAt = i < 6 ? new Date(NOW - DAY) : new Date(raisedAt.getTime() + 2 * DAY);
      call.completedAt = call.closedAt;
      call.reachedDepartment = i % 5 === 0;
      if (i % 3 !== 2) {
        call.rating = { stars: 4, satisfaction: i % 2 ? 'SATISFIED' : 'BASIC', ratedAt: call.closedAt, ratedBy: call.raisedBy };
      }
      delete call.nextCheckAt;
    }
    call.updatedAt = call.closedAt ?? raisedAt;
    calls.push(call);
  }
  return calls;
}

const newestFirst = (a: CallDoc, b: CallDoc) =>
  b.raisedAt.getTime() - a.raisedAt.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0);
const isLive = (call: CallDoc) => !['CLOSED', 'WITHDRAWN'].includes(call.status) || call.closedAt!.getTime() > NOW - 7 * DAY;

interface Page {
  edges: Array<{ cursor: string; node: { id: string } }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Every page of a list, following the cursors; also how many pages came back short. */
async function walk(token: string, filter: Record<string, unknown>, first: number) {
  const ids: string[] = [];
  let after: string | null = null;
  let short = 0;
  for (let pages = 0; pages < 200; pages++) {
    const data: { calls: Page } = ok(
      await gql(url, token, `query($f: CallFilter, $n: Int, $a: String) { calls(filter: $f, first: $n, after: $a) {
        edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`, { f: filter, n: first, a: after }),
    );
    ids.push(...data.calls.edges.map((e) => e.node.id));
    if (!data.calls.pageInfo.hasNextPage) return { ids, short };
    if (data.calls.edges.length < first) short++;
    after = data.calls.pageInfo.endCursor;
  }
  throw new Error('more than 200 pages');
}

const inMonthRange = (from: Date, to: Date) => (c: CallDoc) => c.raisedAt >= from && c.raisedAt < to;

async function counters(token: string, scopeUnitId: string, from: Date, to: Date) {
  const data = ok(
    await gql(url, token, `query($s: ID!, $f: DateTime!, $t: DateTime!) { callCounters(scopeUnitId: $s, from: $f, to: $t) {
      raised completed calledUpToDepartments completionRate satisfactionRate raisedByTier { tier count } } }`, {
      s: scopeUnitId,
      f: from.toISOString(),
      t: to.toISOString(),
    }),
  );
  return data.callCounters as Record<string, unknown> & { raisedByTier: Array<{ tier: string; count: number }> };
}

function expectedCounters(calls: CallDoc[]) {
  const completed = calls.filter((c) => c.status === 'CLOSED' || c.status === 'COMPLETED').length;
  const rated = calls.filter((c) => c.rating);
  const satisfied = rated.filter((c) => c.rating!.satisfaction === 'SATISFIED' || c.rating!.satisfaction === 'VERY_SATISFIED');
  return {
    raised: calls.length,
    completed,
    calledUpToDepartments: calls.filter((c) => c.reachedDepartment).length,
    completionRate: calls.length ? completed / calls.length : null,
    satisfactionRate: rated.length ? satisfied.length / rated.length : null,
    raisedByTier: calls.length ? [{ tier: 'GRID', count: calls.length }] : [],
  };
}

/** Another copy's connection to this file's database, with the filter of every `find` it sends. */
function watchedConnection() {
  const watched = mongoose.createConnection(scope.config.MONGODB_URI, { dbName: scope.dbName, autoIndex: false, monitorCommands: true });
  const finds: unknown[] = [];
  watched.getClient().on('commandStarted', (event) => {
    if (event.commandName === 'find') finds.push(event.command.filter);
  });
  return { watched, finds };
}

/** A fixture call archived by the tests below (the first one not live). */
const archivedBase = () => fixture.find((c) => !isLive(c))!;

/** A call like it listed under `unit` alone (a key of no fixture list, so the lists and counters checked here are untouched). */
function archivedCallOf(unit: string, id: string): CallDoc {
  const base = archivedBase();
  return { ...base, _id: id, visibleTo: [unit], handlingUnitId: unit, coHandlingUnitIds: [], followers: [], raisedBy: { ...base.raisedBy, subject: unit } };
}

beforeAll(async () => {
  app = await startTestCalls(scope, ENV);
  url = `${app.url}/graphql`;
  tokens.command = await tokenFor('huangpu-command', 'district_command', 'qzh-xu');
  tokens.gridA = await tokenFor(GRID_A, 'grid_worker', `gw-${GRID_A}`);
  tokens.gridC = await tokenFor(GRID_C, 'grid_worker', 'gw-other');
  tokens.street = await tokenFor('changzhou', 'street', 'jd-chen');
  fixture = buildFixture();
  await app.store.insertMany(fixture);
});

afterAll(async () => {
  await app.service.shutdown('test');
  await scope.cleanup();
});

describe('bounded call index', () => {
  it('day entries keep what counters need, and each call is listed under its units and people', () => {
    const call = fixture.find((c) => c.rating && c.reachedDepartment)!;
    const entry = decodeEntry(encodeEntry(call, app.directory, true));
    expect(entry).toEqual({
      id: call._id,
      raisedAt: call.raisedAt.getTime(),
      status: 'CLOSED',
      originTier: 'GRID',
      reachedDepartment: true,
      satisfaction: call.rating!.satisfaction,
      version: call.version,
      copied: true,
    });
    expect(decodeEntry(encodeEntry(call, app.directory, false))).toEqual({ ...entry, copied: false });
    expect(historyKeysOf(call)).toEqual(expect.arrayContaining(['huangpu', 'changzhou', call.originUnitId, `p:${call.raisedBy.subject}`]));
    // Days are China Standard Time: 16:00 UTC is the next day in Guangzhou.
    expect(dayOf(Date.parse('2026-03-01T15:59:59Z'))).toBe('2026-03-01');
    expect(dayOf(Date.parse('2026-03-01T16:00:00Z'))).toBe('2026-03-02');
  });

  it('archives calls closed before the window and keeps open and recently closed ones in memory', async () => {
    const live = fixture.filter(isLive);
    expect(app.index.size).toBe(fixture.length);
    const archived = await app.index.archiveDue();
    expect(archived).toBe(fixture.length - live.length);
    expect(app.index.size).toBe(live.length);
    for (const call of fixture) expect(app.index.holds(call._id)).toBe(isLive(call));
    // Archiving again changes nothing; the live set in the database is exactly the live calls.
    expect(await app.index.archiveDue()).toBe(0);
    const history = CallHistory.on(app.models.Call.db, app.directory);
    expect((await history.liveIds()).sort()).toEqual(live.map((c) => c._id).sort());
  });

  it('writes each archived call\'s copy, equal to a read of the call, and a list reads the copy when its day says there is one', async () => {
    const history = CallHistory.on(app.models.Call.db, app.directory);
    const archived = fixture.filter((c) => !isLive(c));
    for (const call of archived) {
      const read = await app.models.Call.findById(call._id, INDEX_PROJECTION).lean<CallDoc>();
      expect(await history.copyOf(call._id, call.version)).toEqual(read);
      // A copy of another version is no copy of this one.
      expect(await history.copyOf(call._id, call.version + 1)).toBeUndefined();
    }
    // Which one a list reads: a copy altered here shows through a new copy's list (nothing kept yet);
    // with its copy gone, the call is read instead.
    const [altered, missing] = archived.filter((c) => c.visibleTo.includes(GRID_A)).sort(newestFirst);
    await history.model.updateOne({ _id: `call|${altered!._id}` }, { $set: { copy: Buffer.from(mongoose.mongo.BSON.serialize({ ...(await history.copyOf(altered!._id, altered!.version)), title: '（副本）' })) } });
    await history.model.deleteOne({ _id: `call|${missing!._id}` });
    const copy = new CallIndex(app.models, history, { recentDays: 7 });
    const page = await copy.findWithHistory({ filter: { visibleTo: GRID_A }, keys: [GRID_A], limit: 1_000 });
    const shown = new Map(page.calls.map((c) => [c._id, c]));
    expect(shown.get(altered!._id)?.title).toBe('（副本）');
    expect(shown.get(missing!._id)).toEqual(await app.models.Call.findById(missing!._id, INDEX_PROJECTION).lean<CallDoc>());
    // Nothing loaded into this copy's memory: the page is the archived calls, every one.
    expect(page.calls.map((c) => c._id).sort()).toEqual(archived.filter((c) => c.visibleTo.includes(GRID_A)).map((c) => c._id).sort());
    // Put back as the archiver wrote them, for the tests below.
    for (const call of [altered!, missing!]) {
      const { _id, ...fields } = archivedCopy((await app.models.Call.findById(call._id, INDEX_PROJECTION).lean<CallDoc>())!);
      await history.model.updateOne({ _id }, { $set: fields }, { upsert: true });
    }
  });

  it('logs a failed bulk write of calls or of their copies without the citizen in it', async () => {
    const lines: string[] = [];
    const logger = createLogger('test', 'info', new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) }));
    const [call] = fixture.filter((c) => !isLive(c));
    const withCitizen = { ...call!, _id: `LOG-${Date.now()}`, citizen: { name: '陈大文', phone: '13812345678' } };
    // Each written twice in one insert: the second fails, with the driver's bulk write error, which holds the document.
    const failures = [
      await app.models.Call.db.db!.collection<{ _id: string }>('calls').insertMany([withCitizen, withCitizen], { ordered: false }).catch((err: unknown) => err),
      await app.models.Call.db.db!.collection<{ _id: string }>('call_history').insertMany([archivedCopy(withCitizen), archivedCopy(withCitizen)], { ordered: false }).catch((err: unknown) => err),
    ];
    for (const err of failures) {
      expect(err).toBeInstanceOf(Error);
      logger.warn({ err }, 'write failed');
    }
    const text = lines.join('');
    expect(text).not.toMatch(/陈大文|13812345678/);
    // What a reader needs is still there: which statement failed, and why.
    expect(lines.map((line) => JSON.parse(line).err.writeErrors)).toEqual([[{ index: 1, code: 11000 }], [{ index: 1, code: 11000 }]]);
    await app.models.Call.deleteOne({ _id: withCitizen._id });
  });

  it('a list pinned to one category (the duplicate check\'s) gives what a scan of every held call gives, after archiving too', () => {
    // CallIndex.find reads such a list from its calls by category; an $or hides the category from it.
    for (const category of ['城市管理', '交通管理', '无此类别']) {
      for (const limit of [undefined, 1, 3]) {
        const pinned = app.index.find({ filter: { $and: [{ category }, { status: { $ne: 'CLOSED' } }] }, limit }).map((c) => c._id);
        const scanned = app.index.find({ filter: { $or: [{ category }], status: { $ne: 'CLOSED' } }, limit }).map((c) => c._id);
        expect(pinned).toEqual(scanned);
      }
      const pinned = app.index.find({ filter: { category } });
      if (category !== '无此类别') expect(pinned.length).toBeGreaterThan(0);
      // A lower bound on raisedAt ends the scan early: exactly at a held call's time, inclusive or not.
      for (const bound of pinned.map((c) => c.raisedAt)) {
        for (const op of ['$gte', '$gt']) {
          const since = app.index.find({ filter: { category, raisedAt: { [op]: bound } } }).map((c) => c._id);
          expect(since).toEqual(app.index.find({ filter: { $or: [{ category }], raisedAt: { [op]: bound } } }).map((c) => c._id));
        }
      }
    }
  });

  it('a list or count pinned to one unit (an inbox\'s, a unit reader\'s) gives what a scan of every held call gives, as handling units change', () => {
    // Its own index over the fixture, so the app's stays as the other cases expect it.
    const index = new CallIndex(app.models, CallHistory.on(app.models.Call.db, app.directory));
    for (const call of fixture) index.put(call);
    const units = [...GRIDS, 'changzhou-c1', 'changzhou', 'huangpu', 'dept-x', 'dept-y', '无此单位'];
    const open = { status: { $in: ['RAISED', 'SIGNED', 'DISPATCHED', 'RESPONDED', 'REOPENED'] } };
    // Each filter with a unit index.find reads from that unit's calls, beside the same filter with an
    // $or branch that matches nothing and hides the unit from it (a scan of every held call).
    const filtersOf = (unit: string) => [
      [{ visibleTo: unit }, { $or: [{ visibleTo: unit }, { _id: { $in: [] } }] }],
      [
        { $or: [{ handlingUnitId: unit }, { coHandlingUnitIds: unit }], ...open },
        { $or: [{ handlingUnitId: unit }, { coHandlingUnitIds: unit }, { _id: { $in: [] } }], ...open },
      ],
      [{ handlingUnitId: unit, status: 'RAISED' }, { $or: [{ handlingUnitId: unit }, { _id: { $in: [] } }], status: 'RAISED' }],
    ];
    const expectSame = () => {
      for (const unit of units) {
        for (const [pinned, scanned] of filtersOf(unit)) {
          for (const limit of [undefined, 2]) {
            expect(index.find({ filter: pinned!, limit }).map((c) => c._id)).toEqual(index.find({ filter: scanned!, limit }).map((c) => c._id));
          }
          expect(index.count(pinned!)).toBe(index.count(scanned!));
        }
      }
    };
    expectSame();
    expect(index.count({ visibleTo: GRID_A })).toBe(fixture.filter((c) => c.visibleTo.includes(GRID_A)).length);
    // Called up to a department with a co-handler, then handed back: the unit lists follow each version.
    const call = fixture.find((c) => c.originUnitId === GRID_A && c.status === 'RAISED')!;
    index.put({ ...call, version: call.version + 1, handlingUnitId: 'dept-x', coHandlingUnitIds: ['dept-y'], visibleTo: [...call.visibleTo, 'dept-x', 'dept-y'] });
    expect(index.find({ filter: { $or: [{ handlingUnitId: 'dept-x' }, { coHandlingUnitIds: 'dept-x' }] } }).map((c) => c._id)).toEqual([call._id]);
    expect(index.find({ filter: { coHandlingUnitIds: 'dept-y' } }).map((c) => c._id)).toEqual([call._id]);
    expectSame();
    index.put({ ...call, version: call.version + 2 });
    expect(index.count({ visibleTo: 'dept-x' })).toBe(0);
    expect(index.count({ coHandlingUnitIds: 'dept-y' })).toBe(0);
    expect(index.find({ filter: { handlingUnitId: call.handlingUnitId } }).map((c) => c._id)).toContain(call._id);
    expectSame();
  });

  it('a day document kept after a read is dropped when this copy archives into it, and a fresh read shows the new call', async () => {
    const history = CallHistory.on(app.models.Call.db, app.directory);
    // Keys of its own (no unit or person of the fixture, in this file's own database), so the lists and counters below are untouched.
    const unit = 'cache-test-unit';
    const base = archivedBase();
    const archivedCall = (id: string) => archivedCallOf(unit, id);
    const day = dayOf(base.raisedAt.getTime());
    await history.archive([archivedCall(`${unit}-1`)]);
    expect((await history.day([unit], day)).map((e) => e.id)).toEqual([`${unit}-1`]);
    await history.archive([archivedCall(`${unit}-2`)]);
    expect((await history.day([unit], day)).map((e) => e.id).sort()).toEqual([`${unit}-1`, `${unit}-2`]);
    // Requests side by side (a dashboard's first counters) share one read of a day, and the shared
    // result gives way to the calls an archiving round writes into that day.
    const earlier = { ...archivedCall(`${unit}-3`), raisedAt: new Date(base.raisedAt.getTime() - 2 * DAY) };
    const earlierDay = dayOf(earlier.raisedAt.getTime());
    const [first, second] = await Promise.all([history.day([unit], earlierDay), history.day([unit], earlierDay)]);
    expect(first).toBe(second);
    expect(first).toEqual([]);
    await history.archive([earlier]);
    expect((await history.day([unit], earlierDay)).map((e) => e.id)).toEqual([`${unit}-3`]);
  });

  it('a kept day serves while its key\'s count of archiving rounds stands, and is read again once another copy\'s round moved it', async () => {
    const history = CallHistory.on(app.models.Call.db, app.directory);
    // Another copy of the service, on the same database.
    const other = new CallHistory(history.model, app.directory);
    const unit = 'cache-test-unit-2';
    const base = archivedBase();
    const archivedCall = (id: string) => archivedCallOf(unit, id);
    const day = dayOf(base.raisedAt.getTime());
    await other.archive([archivedCall(`${unit}-1`)]);
    await history.firstDay([unit]);
    const kept = await history.day([unit], day);
    expect(kept.map((e) => e.id)).toEqual([`${unit}-1`]);
    // A minute on, nothing archived into the day since: the same read still serves.
    await history.firstDay([unit], Date.now() + FIRST_DAY_TTL_MS);
    expect(await history.day([unit], day)).toBe(kept);
    // Another copy archives into it: seen once this copy reads the key's first day again (a minute at most).
    await other.archive([archivedCall(`${unit}-2`)]);
    await history.firstDay([unit], Date.now() + 2 * FIRST_DAY_TTL_MS);
    expect((await history.day([unit], day)).map((e) => e.id).sort()).toEqual([`${unit}-1`, `${unit}-2`]);
  });

  it('a kept day this copy archives into is brought up to date without a read, unless another copy\'s round was counted in between', async () => {
    const { watched, finds } = watchedConnection();
    try {
      const history = CallHistory.on(watched, app.directory);
      const other = new CallHistory(app.models.Call.db.models.CallHistory!, app.directory);
      const unit = 'cache-test-unit-3';
      const base = archivedBase();
      const archivedCall = (id: string) => archivedCallOf(unit, id);
      const day = dayOf(base.raisedAt.getTime());
      const ids = async () => (await history.day([unit], day)).map((e) => e.id).sort();
      await history.archive([archivedCall(`${unit}-1`)]);
      await history.firstDay([unit]);
      expect(await ids()).toEqual([`${unit}-1`]);
      // This copy's round: the kept day gains the call, and nothing is read.
      await history.archive([archivedCall(`${unit}-2`)]);
      finds.length = 0;
      expect(await ids()).toEqual([`${unit}-1`, `${unit}-2`]);
      expect(finds).toEqual([]);
      // Another copy's round, then this copy's: the kept day cannot say it holds the other's call, so it is read.
      await other.archive([archivedCall(`${unit}-3`)]);
      await history.archive([archivedCall(`${unit}-4`)]);
      finds.length = 0;
      expect(await ids()).toEqual([`${unit}-1`, `${unit}-2`, `${unit}-3`, `${unit}-4`]);
      expect(finds).toEqual([{ _id: `day|${unit}|${day}` }]);
    } finally {
      await watched.close();
    }
  });

  it('lists over history keep the order and cursors a scan of every call gives', async () => {
    const all = [...fixture].sort(newestFirst);
    expect((await walk(tokens.command!, {}, 7)).ids).toEqual(all.map((c) => c._id));

    const from = new Date(NOW - 80 * DAY);
    const to = new Date(NOW - 40 * DAY);
    const gridA = all.filter((c) => c.visibleTo.includes(GRID_A)).filter(inMonthRange(from, to));
    expect(gridA.length).toBeGreaterThan(5);
    const mine = await walk(tokens.gridA!, { raisedFrom: from.toISOString(), raisedTo: to.toISOString() }, 4);
    expect(mine.ids).toEqual(gridA.map((c) => c._id));

    // A street's closed calls of one of its grids; a text search; another street's grid sees none of them.
    const closedB = all.filter((c) => c.originUnitId === GRID_B && c.status === 'CLOSED');
    expect((await walk(tokens.street!, { unitId: GRID_B, status: ['CLOSED'] }, 5)).ids).toEqual(closedB.map((c) => c._id));
    const manholes = all.filter((c) => c.visibleTo.includes('changzhou') && c.description.includes('井盖'));
    // Few calls match: pages come back short where the read budget ran out, and still miss none.
    const searched = await walk(tokens.street!, { text: '井盖' }, 3);
    expect(searched.ids).toEqual(manholes.map((c) => c._id));
    expect(searched.short).toBeGreaterThan(0);
    const otherStreet = await walk(tokens.gridC!, {}, 50);
    expect(otherStreet.ids).toEqual(all.filter((c) => c.visibleTo.includes(GRID_C)).map((c) => c._id));
    expect((await walk(tokens.gridC!, { unitId: GRID_A }, 50)).ids).toEqual([]);
  });

  it('counters over history match a count of every call, for a street and the district', async () => {
    const from = new Date(NOW - 70 * DAY);
    const to = new Date(NOW - 10 * DAY);
    const street = fixture.filter((c) => c.visibleTo.includes('changzhou')).filter(inMonthRange(from, to));
    expect(await counters(tokens.command!, 'changzhou', from, to)).toMatchObject(expectedCounters(street));
    const whole = new Date(NOW - 400 * DAY);
    expect(await counters(tokens.command!, 'huangpu', whole, new Date(NOW + DAY))).toMatchObject(expectedCounters(fixture));
  });

  it('refuses a forged cursor with BAD_USER_INPUT', async () => {
    const forged = Buffer.from(JSON.stringify(['not a date', 'C1'])).toString('base64url');
    const result = await gql(url, tokens.command, `query($a: String) { calls(first: 3, after: $a) { edges { node { id } } } }`, { a: forged });
    expect(codeOf(result)).toBe('BAD_USER_INPUT');
  });

  it('an archived call that changes again is live again, and a start loads only the live set', async () => {
    const revived = fixture.find((c) => c.status === 'CLOSED' && !isLive(c))!;
    const changed = await app.store.system(revived._id, () => ({
      set: { status: 'REOPENED' },
      entry: { action: 'reopen', note: '复查发现问题', attachments: [] },
      event: { type: 'call.reopened', data: {} },
    }));
    expect(changed?.status).toBe('REOPENED');
    expect(app.index.holds(revived._id)).toBe(true);
    const reopened = await walk(tokens.command!, { status: ['REOPENED'] }, 6);
    expect(reopened.ids).toEqual([revived._id]);
    // Counted once, as it is now: from memory, and no longer from its day's totals.
    const now = fixture.map((c) => (c._id === revived._id ? changed! : c));
    expect(await counters(tokens.command!, 'huangpu', new Date(NOW - 400 * DAY), new Date(NOW + DAY))).toMatchObject(expectedCounters(now));
    const street = now.filter((c) => c.visibleTo.includes('changzhou')).filter(inMonthRange(new Date(NOW - 70 * DAY), new Date(NOW - 10 * DAY)));
    expect(await counters(tokens.command!, 'changzhou', new Date(NOW - 70 * DAY), new Date(NOW - 10 * DAY))).toMatchObject(expectedCounters(street));

    // What a new copy would load at start: the live calls and the revived one, none of the history.
    const fresh = new CallIndex(app.models, CallHistory.on(app.models.Call.db, app.directory), { recentDays: 7 });
    await fresh.load();
    expect(fresh.size).toBe(app.index.size);
    for (const call of fixture) expect(fresh.holds(call._id)).toBe(isLive(call) || call._id === revived._id);
  });

  it('a copy reads the district\'s days of the last CALL_HISTORY_WARM_DAYS before it serves, and its first counters over them read no day document', async () => {
    const { watched, finds } = watchedConnection();
    try {
      const fresh = new CallIndex(app.models, CallHistory.on(watched, app.directory), { recentDays: 7 });
      await fresh.load();
      const entries = await fresh.warmHistory(['huangpu'], HISTORY_WARM_DAYS, NOW);
      // Every archived call raised in those days: the days from 62 days ago to the recent window.
      const warmed = fixture.filter((c) => !isLive(c) && dayOf(c.raisedAt.getTime()) >= dayOf(NOW - HISTORY_WARM_DAYS * DAY));
      expect(warmed.length).toBeGreaterThan(10);
      expect(entries).toBe(warmed.length);
      finds.length = 0;
      const tierOf = (unitId: string) => app.directory.tierOf(unitId);
      const month = [new Date(NOW - 40 * DAY), new Date(NOW - 10 * DAY)] as const;
      const counted = await fresh.countRange('huangpu', ...month, tierOf, NOW);
      expect(finds).toEqual([]);
      expect(counted).toEqual(await app.index.countRange('huangpu', ...month, tierOf, NOW));
      expect(counted.raised).toBeGreaterThan(5);
    } finally {
      await watched.close();
    }
  });

  it('a database from before the live set is read whole once, then archived again without doubling any call', async () => {
    const history = CallHistory.on(app.models.Call.db, app.directory);
    await history.model.deleteOne({ _id: 'meta' });
    const migrated = new CallIndex(app.models, history, { recentDays: 7 });
    await migrated.load();
    expect(migrated.size).toBe(fixture.length);
    expect(await history.liveSetSince()).toBeInstanceOf(Date);
    await migrated.archiveDue();
    expect(migrated.size).toBe(app.index.size);
    // Each archived call now has two entries in its day documents: lists and counters still count it once.
    const all = fixture.map((c) => c._id);
    expect((await walk(tokens.command!, {}, 30)).ids.sort()).toEqual(all.sort());
    expect(await counters(tokens.command!, 'huangpu', new Date(NOW - 400 * DAY), new Date(NOW + DAY))).toMatchObject({ raised: fixture.length });
  });
  it('counters and lists that read days while this copy archives a call into one of them, or holds an archived one again, count and list it once', async () => {
    // A copy whose day reads wait, once done, until the test lets them go: an archiving round runs in between.
    class HeldHistory extends CallHistory {
      release: (() => void) | undefined;
      held = new Set<string>();
      readDays: string[] = [];
      override async day(keys: readonly string[], day: string) {
        this.readDays.push(day);
        const list = await super.day(keys, day);
        if (this.release) {
          this.held.add(day);
          await new Promise<void>((resolve) => {
            const before = this.release!;
            this.release = () => {
              before();
              resolve();
            };
          });
        }
        return list;
      }
      hold() {
        this.held.clear();
        this.release = () => undefined;
      }
      letGo() {
        const release = this.release;
        this.release = undefined;
        release?.();
      }
    }
    const history = new HeldHistory(app.models.Call.db.models.CallHistory!, app.directory);
    const copy = new CallIndex(app.models, history, { recentDays: 7 });
    // Closed 10 days ago, raised 12 days ago: due for archiving, not archived yet.
    const due = (n: number): CallDoc => {
      const raisedAt = new Date(NOW - 12 * DAY - n * 3_600_000);
      const call = app.store.withClock(() => raisedAt).draft({
        title: `归档竞态 ${n}`,
        description: '路灯不亮',
        category: '交通管理',
        priority: 'NORMAL',
        source: 'UNIT',
        originUnitId: GRID_A,
        raisedBy: { subject: `gw-${GRID_A}`, unitId: GRID_A, role: 'grid_worker' },
      });
      Object.assign(call, { outbox: [], outboxPending: false, status: 'CLOSED', closedAt: new Date(NOW - 10 * DAY), completedAt: new Date(NOW - 10 * DAY), updatedAt: new Date(NOW - 10 * DAY) });
      delete call.nextCheckAt;
      return call;
    };
    const [counted, listed] = [due(1), due(2)];
    await app.store.insertMany([counted]);
    await copy.load();
    const from = new Date(NOW - 20 * DAY);
    const to = new Date(NOW - 5 * DAY);
    const tierOf = (unitId: string) => app.directory.tierOf(unitId);
    const before = await copy.countRange('huangpu', from, to, tierOf);

    // Counters: the call's day is fetched, the round archives the call and takes it out of memory, then they count.
    history.hold();
    const counting = copy.countRange('huangpu', from, to, tierOf);
    await waitFor('the call\'s day fetched', () => (history.held.has(dayOf(counted.raisedAt.getTime())) ? true : undefined));
    expect(await copy.archiveDue()).toBe(1);
    expect(copy.holds(counted._id)).toBe(false);
    history.letGo();
    expect((await counting).raised).toBe(before.raised);

    // Several rounds while one counters request reads its days, each taking a call out of memory:
    // every call is counted, and no day is read twice.
    const several = [3, 4, 5, 6].map(due);
    await app.store.insertMany(several);
    await copy.refresh(several.map((call) => call._id));
    const withSeveral = await copy.countRange('huangpu', from, to, tierOf);
    expect(withSeveral.raised).toBe(before.raised + several.length);
    history.hold();
    const reads = history.readDays.length;
    const countingSeveral = copy.countRange('huangpu', from, to, tierOf);
    await waitFor('a day fetched', () => (history.held.size > 0 ? true : undefined));
    for (let round = 0; round < several.length; round++) expect(await copy.archiveDue(Date.now(), 1)).toBe(1);
    expect(several.filter((call) => copy.holds(call._id))).toEqual([]);
    history.letGo();
    expect((await countingSeveral).raised).toBe(withSeveral.raised);
    const read = history.readDays.slice(reads);
    expect(read.length).toBeGreaterThan(0);
    expect(new Set(read).size).toBe(read.length);

    // Lists: the call is on the page from memory when the page begins, and in its day once archived.
    expect(dayOf(listed.raisedAt.getTime()) < dayOf(NOW - 9 * DAY)).toBe(true);
    await app.store.insertMany([listed]);
    await copy.refresh([listed._id]);
    const query = { filter: { visibleTo: 'huangpu', raisedAt: { $gte: from, $lt: to } }, keys: ['huangpu'], limit: 500, from, to };
    history.hold();
    const listing = copy.findWithHistory(query);
    // The scan's first round (its newest days): the call's own day is read in a later one, after the round.
    await waitFor('the first days fetched', () => (history.held.size > 0 ? true : undefined));
    expect(await copy.archiveDue()).toBe(1);
    history.letGo();
    const ids = (await listing).calls.map((call) => call._id);
    expect(ids.filter((id) => id === listed._id)).toHaveLength(1);
    expect(new Set(ids).size).toBe(ids.length);

    // The other way round: archived when the page begins, held again during it (it changed): listed, as it is now.
    history.hold();
    const relisting = copy.findWithHistory(query);
    await waitFor('the first days fetched', () => (history.held.size > 0 ? true : undefined));
    const reopened = await app.store.system(listed._id, () => ({
      set: { status: 'REOPENED' },
      entry: { action: 'reopen', note: '复查发现问题', attachments: [] },
      event: { type: 'call.reopened', data: {} },
    }));
    await copy.refresh([listed._id]);
    expect(copy.holds(listed._id)).toBe(true);
    history.letGo();
    const again = (await relisting).calls;
    expect(again.filter((call) => call._id === listed._id).map((call) => call.status)).toEqual([reopened!.status]);
    expect(new Set(again.map((call) => call._id)).size).toBe(again.length);
  });

  it('a copy that starts archives the calls that passed the window while no round ran, before it serves', async () => {
    // Closed months ago and still held by the running copy, whose archiver runs only hourly here.
    const late = archivedCallOf('unit-late-at-start', 'late-at-start');
    await app.store.insertMany([late]);
    expect(app.index.holds(late._id)).toBe(true);
    const started = await startTestCalls(scope, ENV);
    try {
      expect(started.index.holds(late._id)).toBe(false);
      expect(await CallHistory.on(app.models.Call.db, app.directory).liveIds()).not.toContain(late._id);
    } finally {
      await started.service.shutdown('test');
    }
  });

  it('an archived call changed and still closed (followed) is live again, and lists show it as it now is once archived again', async () => {
    const history = CallHistory.on(app.models.Call.db, app.directory);
    const followed = archivedCallOf('unit-followed', 'followed-after-archive');
    await app.store.insertMany([followed]);
    expect(await app.index.archiveDue()).toBeGreaterThan(0);
    expect(await history.liveIds()).not.toContain(followed._id);
    const changed = await app.store.system(followed._id, () => ({
      set: { followers: ['zhang-follower'] },
      entry: { action: 'follow', note: '', attachments: [] },
      event: { type: 'call.followed', data: {} },
    }));
    expect(changed).toMatchObject({ status: 'CLOSED', version: followed.version + 1 });
    // Live again: a copy started now holds it, and the next round archives it again, copy and all.
    expect(await history.liveIds()).toContain(followed._id);
    // Archived again once its events are out (a call with events waiting stays).
    await waitFor('the change published', async () => ((await app.models.Call.findById(followed._id).lean<CallDoc>())?.outboxPending === false ? true : undefined));
    expect(await app.index.archiveDue()).toBeGreaterThan(0);
    expect(app.index.holds(followed._id)).toBe(false);
    const fresh = new CallIndex(app.models, history, { recentDays: 7 });
    const page = await fresh.findWithHistory({ filter: { visibleTo: 'unit-followed' }, keys: ['unit-followed'], limit: 10 });
    expect(page.calls).toHaveLength(1);
    expect(page.calls[0]).toMatchObject({ version: changed!.version, followers: ['zhang-follower'] });
  });

  it('a call another copy changes while this copy archives it stays live (the round takes it out after the change put it back)', async () => {
    class ChangedMeanwhile extends CallHistory {
      change: (() => Promise<void>) | undefined;
      override async archive(calls: readonly CallDoc[]) {
        await this.change?.();
        return super.archive(calls);
      }
    }
    const history = new ChangedMeanwhile(app.models.Call.db.models.CallHistory!, app.directory);
    const copy = new CallIndex(app.models, history, { recentDays: 7 });
    const reopened = archivedCallOf('unit-reopened', 'reopened-while-archived');
    await app.store.insertMany([reopened]);
    await copy.load();
    expect(copy.holds(reopened._id)).toBe(true);
    // Another copy reopens it between this round's read of the call and its removal from the live
    // set: marked live, changed, marked live again, all before the round's removal.
    history.change = async () => {
      history.change = undefined;
      await history.markLive([reopened._id]);
      await app.models.Call.updateOne({ _id: reopened._id }, { $set: { status: 'REOPENED' }, $inc: { version: 1 } });
      await history.markLive([reopened._id]);
    };
    await copy.archiveDue();
    expect(await history.liveIds()).toContain(reopened._id);
    expect(copy.holds(reopened._id)).toBe(true);
    const restarted = new CallIndex(app.models, history, { recentDays: 7 });
    await restarted.load();
    expect(restarted.holds(reopened._id)).toBe(true);
    expect(restarted.find({ filter: { visibleTo: 'unit-reopened', status: 'REOPENED' } }).map((c) => c._id)).toEqual([reopened._id]);
  });
});
