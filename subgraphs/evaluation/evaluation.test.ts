// The evaluation subgraph over the real local Kafka and FerretDB: the hand-calculated month projected
// from hub.call-events, explanations, rankings, access and bad input, a real call from the calls
// subgraph scored and counted, dead letters, and replays (twice, and in shuffled per-call order with
// duplicates) that give exactly the same figures.
import { type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../platform/config.ts';
import { contract } from '../../platform/contracts.ts';
import { createKafka } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { type CallsApp } from '../calls/app.ts';
import { type Collected, collect, startTestCalls } from '../../test/support/calls.ts';
import { codeOf, gql, ok, tokenFor } from '../../test/support/graphql.ts';
import { type TestScope, testScope } from '../../test/support/isolation.ts';
import { waitFor } from '../../test/support/wait.ts';
import { type EvaluationApp, evaluationConfig, guardClosedMonths, startEvaluation } from './app.ts';
import { DEFAULT_SCHEMES } from './domain/schemes.ts';
import type { CallEvent } from '../../platform/call-event.ts';
import { DEPT, marchCalls, STREET } from './domain/month.fixture.ts';
import { CallScript } from './scripted-calls.ts';
import { periodOf } from './domain/period.ts';
import { PROJECTION_VERSION } from './store.ts';

const scope = testScope('evaluation');
let app: EvaluationApp;
let calls: CallsApp;
let producer: Producer;
let counters: Collected;
let url: string;
const tokens: Record<string, string> = {};
const recorded: CallEvent[] = marchCalls().flatMap((c) => c.events);

/** An evaluation copy on `database` (its own: the calls subgraph has this file's main database). */
function start(s: TestScope, database: string, env: Record<string, string> = {}) {
  return startEvaluation(loadConfig(evaluationConfig, { ...s.env, PORT: '0', EVALUATION_DB: database, ...env }));
}

async function publish(p: Producer, topic: string, events: unknown[]) {
  await p.send({
    topic,
    messages: events.map((e) => ({ key: (e as { callId?: string }).callId ?? 'x', value: typeof e === 'string' ? e : JSON.stringify(e) })),
  });
}

/** Keys sorted at every level: the same figures written in another order compare equal. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Every ledger document's contributions, by id (the figures a replay must reproduce exactly). */
async function ledgers(a: EvaluationApp, keep: (docId: string, key: string) => boolean = () => true): Promise<string> {
  const ids = (await a.models.Ledger.find({}, { _id: 1 }).lean()).map((doc) => doc._id);
  const figures: Record<string, unknown> = {};
  // As read: a replay appends in other batches than the live run, so the stored chunks differ.
  for (const doc of (await a.store.loadLedgers(ids)).values()) {
    const calls = Object.fromEntries(Object.entries(doc.calls ?? {}).filter(([k]) => keep(doc._id, k)));
    if (Object.keys(calls).length > 0) figures[doc._id] = calls;
  }
  return JSON.stringify(canonical(figures));
}

/** Like test/support's collect, with each record's Kafka timestamp (when it was sent). */
async function collectWithTimestamps(s: TestScope, topic: string): Promise<Collected> {
  const consumer = createKafka(s.config, 'test-counters', createLogger('test', 'warn')).consumer({ groupId: `${s.config.TOPIC_PREFIX}counters-${Math.random()}` });
  await consumer.connect();
  const records: Array<Record<string, any>> = [];
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      records.push({ key: message.key?.toString(), timestamp: message.timestamp, ...JSON.parse(String(message.value)) });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

const entities = (unit: string, fields: string) =>
  `{ _entities(representations: [{ __typename: "Unit", id: "${unit}" }]) { ... on Unit { ${fields} } } }`;

beforeAll(async () => {
  app = await start(scope, scope.database('eval'));
  url = `${app.url}/graphql`;
  calls = await startTestCalls(scope);
  producer = createKafka(scope.config, 'test-publisher', createLogger('test', 'warn')).producer();
  await producer.connect();
  counters = await collectWithTimestamps(scope, app.topics.counters);
  tokens.dept = await tokenFor(DEPT, 'department', 'cg-liu');
  tokens.market = await tokenFor('dept-market', 'department', 'sj-he');
  tokens.street = await tokenFor(STREET, 'street', 'jd-chen');
  tokens.leader = await tokenFor(STREET, 'street_leader', 'jd-ld-chen');
  tokens.otherStreet = await tokenFor('yuzhu', 'street', 'yz-lin');
  tokens.command = await tokenFor('huangpu-command', 'district_command', 'qzh-xu');
  tokens.officer = await tokenFor('huangpu', 'enterprise_officer', 'cso-1');
  // The month, with two events delivered twice (the outbox may publish again after a crash).
  await publish(producer, app.topics.callEvents, [...recorded, recorded[3], recorded[10]]);
  await waitFor('the month projected', () => (app.projector.projected >= recorded.length ? true : undefined));
});

afterAll(async () => {
  await Promise.all([counters?.stop(), producer?.disconnect()]);
  await calls?.service.shutdown('test');
  await app?.service.shutdown('test');
  await scope.cleanup();
});

describe('the hand-calculated month through Kafka and FerretDB', () => {
  it('scores the department as worked out by hand under both schemes', async () => {
    const perf = `performance(period: "2026-03") { score frozen scheme { scheme version } dimensions { key points }
      deductions { key count points } facts { dispatched signed signedOnTime completed completedOnTime urged reopened
      overdue { step count } ratings { stars count } adjudicationsWon adjudicationsLost } }
      beijing: performance(period: "2026-03", scheme: BEIJING) { score dimensions { key points } }`;
    const unit = ok(await gql(url, tokens.dept, entities(DEPT, perf)))._entities[0];
    expect(unit.performance).toMatchObject({
      score: 78.58,
      frozen: true,
      scheme: { scheme: 'HUANGPU', version: 1 },
      dimensions: [
        { key: 'SIGN_OFF', points: 25.7143 },
        { key: 'HANDLING', points: 36.3636 },
        { key: 'SATISFACTION', points: 19.5 },
      ],
      deductions: [
        { key: 'overdueSign', count: 1, points: 1 },
        { key: 'overdueRespond', count: 1, points: 1 },
        { key: 'reopened', count: 1, points: 1 },
      ],
      facts: {
        dispatched: 7,
        signed: 7,
        signedOnTime: 6,
        completed: 5,
        completedOnTime: 5,
        urged: 2,
        reopened: 1,
        overdue: [
          { step: 'SIGN', count: 1 },
          { step: 'RESPOND', count: 1 },
          { step: 'COMPLETE', count: 0 },
        ],
        ratings: [
          { stars: 5, count: 1 },
          { stars: 4, count: 1 },
          { stars: 3, count: 1 },
          { stars: 2, count: 1 },
          { stars: 1, count: 0 },
        ],
        adjudicationsWon: 1,
        adjudicationsLost: 1,
      },
    });
    expect(unit.beijing).toEqual({
      score: 76.5,
      dimensions: [
        { key: 'RESPONSE', points: 10 },
        { key: 'RESOLUTION', points: 37.5 },
        { key: 'SATISFACTION', points: 29 },
      ],
    });
  });

  it('explains why the department lost points, call by call', async () => {
    const query = (after?: string) =>
      entities(
        DEPT,
        `performance(period: "2026-03") { explanation(first: 3, onlyLosses: true${after ? `, after: "${after}"` : ''}) {
          totalCount pageInfo { hasNextPage endCursor }
          edges { node { call { id } event sequence fact step onTime stars lost earned belongsTo note effects { dimension lost } } } } }`,
      );
    const losses: any[] = [];
    let after: string | undefined;
    for (;;) {
      const page = ok(await gql(url, tokens.dept, query(after)))._entities[0].performance.explanation;
      expect(page.totalCount).toBe(36);
      expect(page.edges.length).toBeLessThanOrEqual(3);
      losses.push(...page.edges.map((e: any) => e.node));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    // C2 signed late: 30/7 of 按时签收; its sign was also overdue (−1) and it got 基本满意 (3 stars).
    const c2 = losses.filter((l) => l.call.id === 'M2');
    expect(c2).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ event: 'call.signed', fact: 'sign', onTime: false, lost: 4.2857, note: '签收超时' }),
        expect.objectContaining({ event: 'call.urged', fact: 'overdue', step: 'SIGN', lost: 1, note: '签收逾期，自动扣分' }),
        expect.objectContaining({ event: 'call.closed', fact: 'rating', stars: 3, lost: 3, note: '评价 3 星（基本满意）' }),
      ]),
    );
    // Every loss, added up, is what separates the score from 100.
    const lost = losses.reduce((s, l) => s + l.lost, 0);
    expect(Math.round((100 - lost) * 100) / 100).toBe(78.58);
    expect(losses.every((l) => l.lost > 0 && l.belongsTo === '2026-03')).toBe(true);
  });

  it('books the rating that came after March closed in May, and leaves March alone', async () => {
    const may = ok(
      await gql(url, tokens.dept, entities(DEPT, `performance(period: "2026-05") { score facts { lateEntries ratings { stars count } }
        explanation { edges { node { call { id } period belongsTo note } } } }`)),
    )._entities[0].performance;
    expect(may.score).toBe(100);
    expect(may.facts.lateEntries).toBe(1);
    expect(may.explanation.edges.map((e: any) => e.node)).toEqual([
      { call: { id: 'M8' }, period: '2026-05', belongsTo: '2026-03', note: '评价 5 星（非常满意）（属 2026-03，该月已关账，计入 2026-05）' },
    ]);
  });

  it('ranks departments and streets, and shows a unit its place', async () => {
    const depts = ok(
      await gql(url, tokens.market, `{ rankings(kind: DEPARTMENT, period: "2026-03") { totalCount scheme { scheme }
        edges { node { rank score unit { id } } } } }`),
    ).rankings;
    expect(depts).toMatchObject({ totalCount: 1, scheme: { scheme: 'HUANGPU' }, edges: [{ node: { rank: 1, score: 78.58, unit: { id: DEPT } } }] });
    const streets = ok(await gql(url, tokens.dept, `{ rankings(kind: STREET, period: "2026-03") { edges { node { rank score unit { id } } } } }`));
    expect(streets.rankings.edges).toEqual([{ node: { rank: 1, score: 99, unit: { id: STREET } } }]);
    // Another department sees the ranking of dept-urban, not its score sheet.
    const place = ok(await gql(url, tokens.market, entities(DEPT, 'ranking(period: "2026-03") { rank of score kind }')));
    expect(place._entities[0].ranking).toEqual({ rank: 1, of: 1, score: 78.58, kind: 'DEPARTMENT' });
    const trend = ok(await gql(url, tokens.dept, entities(DEPT, 'trend(from: "2026-02", to: "2026-05") { period score frozen }')));
    expect(trend._entities[0].trend).toEqual([
      { period: '2026-02', score: null, frozen: true },
      { period: '2026-03', score: 78.58, frozen: true },
      { period: '2026-04', score: null, frozen: true },
      { period: '2026-05', score: 100, frozen: true },
    ]);
  });

  it('counts the month for the street and the district dashboards', async () => {
    const fields = `dashboardCounters(scope: $scope, period: "2026-03") { scope { id } period raised raisedAtTier { tier count }
      calledUpToDepartments completed completionRate onTimeRate satisfactionRate overdueNow }`;
    const q = `query($scope: ID!) { ${fields} }`;
    const street = ok(await gql(url, tokens.street, q, { scope: STREET })).dashboardCounters;
    // 8 raised (7 at the street, 1 at its community); 7 reached a department; 6 done; 4 of 6 rated ≥ 4 stars.
    expect(street).toEqual({
      scope: { id: STREET },
      period: '2026-03',
      raised: 8,
      raisedAtTier: [
        { tier: 'GRID', count: 0 },
        { tier: 'COMMUNITY', count: 0 },
        { tier: 'STREET', count: 1 },
        { tier: 'DEPARTMENT', count: 7 },
        { tier: 'LEADERSHIP', count: 0 },
      ],
      calledUpToDepartments: 7,
      completed: 6,
      completionRate: 0.75,
      // 6 done, each by its completion deadline; the 2 open ones not yet due (scoring.test.ts).
      onTimeRate: 1,
      satisfactionRate: 0.6667,
      overdueNow: 0,
    });
    const district = ok(await gql(url, tokens.command, q, { scope: 'huangpu' })).dashboardCounters;
    expect({ ...district, scope: undefined }).toEqual({ ...street, scope: undefined });
  });
});

describe('access and bad input', () => {
  it('refuses other units\' score sheets, malformed months and unknown units, with codes', async () => {
    expect(codeOf(await gql(url, tokens.market, entities(DEPT, 'performance(period: "2026-03") { score }')))).toBe('FORBIDDEN');
    expect(codeOf(await gql(url, tokens.otherStreet, entities(STREET, 'performance(period: "2026-03") { score }')))).toBe('FORBIDDEN');
    expect(codeOf(await gql(url, tokens.officer, '{ rankings(kind: STREET, period: "2026-03") { totalCount } }'))).toBe('FORBIDDEN');
    const bad = await gql(url, tokens.dept, entities(DEPT, 'performance(period: "2026-13") { score }'));
    expect(codeOf(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toContain('考核月份无效：2026-13');
    expect(codeOf(await gql(url, tokens.command, entities('no-such-unit', 'performance(period: "2026-03") { score }')))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(url, tokens.command, entities('changzhou-c1', 'performance(period: "2026-03") { score }')))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(url, tokens.command, '{ rankings(kind: STREET, period: "2026-3") { totalCount } }'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(url, tokens.command, '{ rankings(kind: STREET, period: "2026-03", first: 500) { totalCount } }'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(url, tokens.command, entities(DEPT, 'trend(from: "2024-01", to: "2026-03") { score }')))).toBe('BAD_USER_INPUT');
    const counters = 'query($scope: ID!) { dashboardCounters(scope: $scope) { raised } }';
    expect(codeOf(await gql(url, tokens.street, counters, { scope: 'yuzhu' }))).toBe('FORBIDDEN');
    expect(codeOf(await gql(url, tokens.street, counters, { scope: 'nowhere' }))).toBe('BAD_USER_INPUT');
    ok(await gql(url, tokens.street, counters, { scope: 'changzhou-c1' }));
    const anonymous = await gql(url, undefined, '{ scoringSchemes { scheme } }');
    expect(anonymous.status).toBe(401);
    expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');
  });
});

/** The month of the real call raised below (the later replays leave its rank document out). */
let realCallMonth = periodOf(new Date());

describe('a real call from the calls subgraph', () => {
  it('is scored for the department, explained on the call, counted and published for the dashboards', async () => {
    const callsUrl = `${calls.url}/graphql`;
    const call = (field: string, vars: Record<string, unknown>, token = tokens.street) =>
      gql(callsUrl, token, `mutation($id: ID!, $a: String!) { ${field} { id status } }`, vars);
    const raisedCall = ok(
      await gql(
        callsUrl,
        tokens.street,
        `mutation($input: RaiseCallInput!) { raiseCall(input: $input) { call { id raisedAt } } }`,
        { input: { title: '工地夜间施工噪音扰民', description: '凌晨两点还在打桩', category: '城市管理' } },
      ),
    ).raiseCall.call;
    const raised = raisedCall.id as string;
    // The month the call counts in (a test running across a month's end must not look at the next).
    realCallMonth = periodOf(new Date(raisedCall.raisedAt));
    ok(await call('dispatchToDepartment(id: $id, itemCode: "CG-03", note: $a)', { id: raised, a: '需城管执法' }));
    ok(await call('reviewDispatch(id: $id, approve: true, reason: $a)', { id: raised, a: '同意' }, tokens.leader));
    ok(await gql(callsUrl, tokens.dept, 'mutation($id: ID!) { signCall(id: $id) { id } }', { id: raised }));
    ok(await call('respondCall(id: $id, note: $a)', { id: raised, a: '已约谈施工单位' }, tokens.dept));
    ok(await call('completeCall(id: $id, result: $a)', { id: raised, a: '已责令夜间停工' }, tokens.dept));
    ok(await gql(callsUrl, tokens.street, 'mutation($id: ID!) { confirmCall(id: $id, stars: 4) { id } }', { id: raised }));

    const evaluation = `{ _entities(representations: [{ __typename: "Call", id: "${raised}" }]) { ... on Call { evaluation {
      entries { unit { id } fact onTime stars earned lost note } } } } }`;
    const entries = await waitFor('the call scored', async () => {
      const e = ok(await gql(url, tokens.dept, evaluation))._entities[0].evaluation?.entries;
      return e?.some((x: any) => x.fact === 'rating') ? e : undefined;
    });
    expect(entries.map((e: any) => [e.unit.id, e.fact, e.onTime, e.stars])).toEqual([
      [DEPT, 'dispatched', null, null],
      [DEPT, 'sign', true, null],
      [DEPT, 'respond', true, null],
      [DEPT, 'complete', true, null],
      [DEPT, 'rating', null, 4],
    ]);
    // Four stars are not five: the rating cost part of its share of 满意度.
    expect(entries[4].lost).toBeGreaterThan(0);
    // Another street does not see how this call was scored.
    expect(ok(await gql(url, tokens.otherStreet, evaluation))._entities[0].evaluation).toBeNull();

    // The completion and the rating may go out in separate publishes (at most one a second per scope):
    // what dashboards rely on is that each scope's latest publish comes to show the whole story.
    const final = { period: realCallMonth, raised: 1, calledUpToDepartments: 1, completed: 1, completionRate: 1, satisfactionRate: 1 };
    const showsAll = (r: Record<string, any> | undefined) =>
      r !== undefined && Object.entries(final).every(([k, v]) => r[k] === v);
    const published = await waitFor('counters with the completion and the rating, for the street, the district and the department', () => {
      const latest = (scope: string) => counters.records.filter((r) => r.key === scope && r.period === realCallMonth).at(-1);
      const all = [latest(STREET), latest('huangpu'), latest(DEPT)];
      return all.every(showsAll) ? all : undefined;
    });
    const valid = contract('counter-event');
    for (const record of published as Array<Record<string, any>>) {
      const { key: _key, timestamp: _timestamp, ...event } = record;
      expect(valid(event)).toEqual({ ok: true, value: event });
      expect(record).toMatchObject(final);
      expect(record.raisedAtTier).toContainEqual({ tier: 'DEPARTMENT', count: 1 });
    }
    // The same figures answer the query (period defaults to the current month).
    const asked = ok(await gql(url, tokens.dept, `query { dashboardCounters(scope: "${DEPT}") { period raised completed updatedAt } }`));
    expect(asked.dashboardCounters).toMatchObject({ period: realCallMonth, raised: 1, completed: 1 });
    // At most one publish a second per scope (one publish may carry several months).
    for (const key of [STREET, 'huangpu', DEPT]) {
      const sends = [...new Set(counters.records.filter((r) => r.key === key).map((r) => Number(r.timestamp)))].sort((a, b) => a - b);
      sends.slice(1).forEach((at, i) => expect(at - (sends[i] as number)).toBeGreaterThanOrEqual(1000));
    }
  });
});

describe('two copies', () => {
  it('both show a call\'s new facts, the second one within about a second', async () => {
    // Alone in its group, a copy reads only what it wrote itself.
    await waitFor('the first copy projecting alone', () => (app.store.projectsAlone ? true : undefined));
    const second = await start(scope, scope.database('eval'));
    try {
      await waitFor('the partitions shared', () => (!app.store.projectsAlone && !second.store.projectsAlone ? true : undefined), 30_000);
      const callsUrl = `${calls.url}/graphql`;
      const raised = ok(
        await gql(callsUrl, tokens.street, `mutation($input: RaiseCallInput!) { raiseCall(input: $input) { call { id } } }`, {
          input: { title: '僵尸车占用消防通道', description: '小区门口一辆车停了十年', category: '城市管理' },
        }),
      ).raiseCall.call.id as string;
      ok(await gql(callsUrl, tokens.street, 'mutation($id: ID!) { dispatchToDepartment(id: $id, itemCode: "CG-03") { id } }', { id: raised }));
      ok(await gql(callsUrl, tokens.leader, 'mutation($id: ID!) { reviewDispatch(id: $id, approve: true) { id } }', { id: raised }));
      const facts = async (copy: EvaluationApp) => (await copy.store.readCalls([raised])).get(raised)?.obs.map((o) => o.type) ?? [];
      const shows = async (copy: EvaluationApp, fact: string) => ((await facts(copy)).includes(fact) ? true : undefined);
      await waitFor('the dispatch seen by both copies', async () => ((await shows(app, 'call.dispatched')) && (await shows(second, 'call.dispatched'))));

      ok(await gql(callsUrl, tokens.dept, 'mutation($id: ID!) { signCall(id: $id) { id } }', { id: raised }));
      // One copy projects the sign-off and drops what it read; the other read the call moments ago
      // and shows the sign-off once that read lapses.
      const other = await waitFor('a copy shows the sign-off', async () =>
        (await shows(app, 'call.signed')) ? second : (await shows(second, 'call.signed')) ? app : undefined,
      );
      await waitFor('the other copy shows the sign-off too', () => shows(other, 'call.signed'), 5000);
    } finally {
      await second.service.shutdown('test');
    }
    await waitFor('the first copy alone again', () => (app.store.projectsAlone ? true : undefined), 30_000);
  });
});

describe('replays', () => {
  it('give identical figures when the topic is replayed into empty databases, twice', async () => {
    const live = await ledgers(app);
    // Two replays side by side, each a fresh database and consumer group reading from the start.
    await Promise.all(
      [1, 2].map(async (round) => {
        const replay = await start(scope, scope.database(`replay${round}`), { EVALUATION_GROUP: `replay-${round}` });
        try {
          await waitFor(`replay ${round} caught up`, async () => ((await ledgers(replay)) === live ? true : undefined), 30_000);
        } finally {
          await replay.service.shutdown('test');
        }
      }),
    );
  });

  it('rebuild the rank documents once for a database projected before they existed', async () => {
    const before = await ledgers(app);
    await app.models.Ledger.deleteMany({ _id: { $regex: '^(rank|meta)\\|' } });
    expect(await app.store.upgrade()).toEqual({ from: 1, to: PROJECTION_VERSION });
    expect(await ledgers(app)).toBe(before);
    expect(await app.store.upgrade()).toEqual({ from: PROJECTION_VERSION, to: PROJECTION_VERSION });
    // A database of version 2 (before text observations and grouped lines) is read as it is.
    await app.models.Ledger.updateOne({ _id: 'meta|projection' }, { $set: { version: 2 } });
    expect(await app.store.upgrade()).toEqual({ from: 2, to: PROJECTION_VERSION });
  });

  it('refuse a database a later projection version wrote, and leave it as it is', async () => {
    await app.models.Ledger.updateOne({ _id: 'meta|projection' }, { $set: { version: PROJECTION_VERSION + 1 } });
    try {
      await expect(app.store.upgrade()).rejects.toThrow(`projection version ${PROJECTION_VERSION + 1}, later than this copy's ${PROJECTION_VERSION}`);
      expect((await app.models.Ledger.findById('meta|projection').lean())?.version).toBe(PROJECTION_VERSION + 1);
    } finally {
      await app.models.Ledger.updateOne({ _id: 'meta|projection' }, { $set: { version: PROJECTION_VERSION } });
    }
  });

  it('give identical figures when each call\'s events arrive shuffled and repeated, and dead-letter what fails the contract', async () => {
    const shuffled = testScope('evaluation-shuffled');
    const p = createKafka(shuffled.config, 'test-shuffler', createLogger('test', 'warn')).producer();
    await p.connect();
    const other = await start(shuffled, shuffled.dbName);
    const dlq = await collect(shuffled, other.topics.dlq);
    try {
      const events = [...recorded, ...recorded.filter((_, i) => i % 4 === 0)].sort(() => Math.random() - 0.5);
      // Two records that fail the contract, among them: dead-lettered with the reason, the rest goes on.
      const broken = { ...recorded[0], sequence: 0 };
      await publish(p, other.topics.callEvents, [...events.slice(0, 20), '{not json', broken, ...events.slice(20)]);
      // The live run's figures of the same calls (it also holds the real call of the test above).
      // (Rank documents hold units' month totals; the current month's has the real call in it.)
      const thisMonth = `rank|${realCallMonth}`;
      const expected = await ledgers(app, (id, key) => (id.startsWith('rank|') ? id !== thisMonth : key.startsWith('M')));
      await waitFor('the shuffled stream projected', async () => ((await ledgers(other)) === expected ? true : undefined));
      const dead = await waitFor('two dead letters', () => (dlq.records.length >= 2 ? dlq.records : undefined));
      // Two partitions: in either order.
      expect(dead.map((r) => r.reason).sort()).toEqual(['fails the call-event contract: /sequence must be >= 1', 'invalid JSON']);
      expect(dead.find((r) => r.reason !== 'invalid JSON')?.record).toBe(JSON.stringify(broken));
    } finally {
      await Promise.all([p.disconnect(), dlq.stop()]);
      await other.service.shutdown('test');
      await shuffled.cleanup();
    }
  });
});

describe('closed months and the year', () => {
  const perf = `performance(period: "2026-03") { score frozen scheme { scheme version } facts { dispatched } }`;

  it('a closed month is never rewritten (DOMAIN.md "Months close"): frozen with the scheme it was scored under, a back-dated event leaves it as it was', async () => {
    // March closed on 8 April; the projection has caught up (every event above is projected). The
    // copy's own freezer (every minute) may have frozen it already: either way it is frozen once.
    await app.store.freezeClosed(app.closing, app.schemes.versions, new Date(), 0);
    const closedDocs = await app.models.Ledger.find({ _id: { $regex: '^closed\\|' } }, { _id: 1 }).lean();
    expect(closedDocs.map((d) => d._id).sort()).toEqual(['closed|2026-03', 'closed|2026-05']);
    const frozen = await app.store.frozenMonth('2026-03');
    expect(frozen?.schemes.map((v) => `${v.scheme}@${v.version}`)).toEqual(['HUANGPU@1', 'BEIJING@1']);
    // A call whose events claim to have happened in March arrives now (a source's back-dated record,
    // or a replay under changed rules): the live ledger books it in March, the closed month does not move.
    const late = new CallScript('LATE1', STREET, '2026-03-30T08:00:00+08:00')
      .assign('2026-03-30T09:00:00+08:00', DEPT, 'DEPARTMENT', {
        sign: '2026-03-31T09:00:00+08:00',
        respond: '2026-04-01T09:00:00+08:00',
        complete: '2026-04-03T18:00:00+08:00',
      })
      .urge('2026-03-31T09:00:00+08:00', ['SIGN']);
    await publish(producer, app.topics.callEvents, late.events);
    // Its events may be projected in more than one batch: wait for its assignment to reach the
    // department's March figures (the ledger document is written a moment before the batch adds its
    // changes to the totals this copy keeps).
    await waitFor('the back-dated call projected', async () =>
      (await app.store.totals([`perf|${DEPT}|2026-03`])).get(`perf|${DEPT}|2026-03`)?.totals.dispatched === 8 ? true : undefined,
    );
    expect((await app.store.loadLedgers([`perf|${DEPT}|2026-03`])).get(`perf|${DEPT}|2026-03`)?.calls.LATE1).toBeTruthy();
    const unit = ok(await gql(url, tokens.dept, entities(DEPT, perf)))._entities[0];
    expect(unit.performance).toEqual({ score: 78.58, frozen: true, scheme: { scheme: 'HUANGPU', version: 1 }, facts: { dispatched: 7 } });
    const ranked = ok(await gql(url, tokens.market, '{ rankings(kind: DEPARTMENT, period: "2026-03") { edges { node { score unit { id } } } } }'));
    expect(ranked.rankings.edges).toEqual([{ node: { score: 78.58, unit: { id: DEPT } } }]);
    // Freezing again changes nothing.
    expect(await app.store.freezeClosed(app.closing, app.schemes.versions, new Date(), 0)).toEqual([]);
  });

  it('refuses a scheme change that would take effect in a closed month, and takes one from an open month', async () => {
    const v1 = DEFAULT_SCHEMES[0]!;
    const at = new Date('2026-12-04T10:00:00+08:00');
    // December 2026 is open on 4 December; March is closed.
    const into = (effectiveFrom: string) => [...DEFAULT_SCHEMES, { ...v1, version: 2, effectiveFrom }];
    await expect(guardClosedMonths(app.models, into('2026-03'), app.closing, at)).rejects.toThrow(/HUANGPU@2 \(from 2026-03\) would change closed months/);
    await guardClosedMonths(app.models, into('2026-12'), app.closing, at);
    expect((await app.models.SchemeSeen.findById('HUANGPU@2').lean())?.fingerprint).toContain('"effectiveFrom":"2026-12"');
  });

  it('rolls the months up into the annual assessment (年度): by default the mean of the year\'s closed months with a score', async () => {
    // dept-urban in 2026: March 78.58 and May 100 are closed; the current month (the real call above)
    // is still open and does not count. (78.58 + 100)/2 = 89.29.
    const annual = ok(
      await gql(url, tokens.dept, entities(DEPT, 'annual(year: 2026) { year rule score monthsCounted months { period score frozen } }')),
    )._entities[0].annual;
    expect(annual).toMatchObject({ year: 2026, rule: 'MEAN_OF_CLOSED_MONTHS', score: 89.29, monthsCounted: 2 });
    expect(annual.months.slice(0, 5)).toEqual([
      { period: '2026-01', score: null, frozen: true },
      { period: '2026-02', score: null, frozen: true },
      { period: '2026-03', score: 78.58, frozen: true },
      { period: '2026-04', score: null, frozen: true },
      { period: '2026-05', score: 100, frozen: true },
    ]);
    // Annual rankings: departments (dept-urban alone has closed months scored), streets (长洲街: March 99).
    const depts = ok(await gql(url, tokens.market, '{ annualRankings(kind: DEPARTMENT, year: 2026) { rule rows { rank score monthsCounted unit { id } } } }'));
    expect(depts.annualRankings).toEqual({ rule: 'MEAN_OF_CLOSED_MONTHS', rows: [{ rank: 1, score: 89.29, monthsCounted: 2, unit: { id: DEPT } }] });
    const streets = ok(await gql(url, tokens.dept, '{ annualRankings(kind: STREET, year: 2026) { rows { rank score unit { id } } } }'));
    expect(streets.annualRankings.rows).toEqual([{ rank: 1, score: 99, unit: { id: STREET } }]);
    // Bad input and access, with codes.
    expect(codeOf(await gql(url, tokens.dept, entities(DEPT, 'annual(year: 2999) { score }')))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(url, tokens.dept, entities(DEPT, 'annual(year: 1999) { score }')))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(url, tokens.market, entities(DEPT, 'annual(year: 2026) { score }')))).toBe('FORBIDDEN');
    expect(codeOf(await gql(url, tokens.officer, '{ annualRankings(kind: STREET, year: 2026) { year } }'))).toBe('FORBIDDEN');
  });
});
