// The call-and-respond lifecycle through the calls subgraph's GraphQL endpoint, over the real local
// Kafka and FerretDB: tiers, actions, who may take them, errors, and the events they publish.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Collected, collect, startTestCalls } from '../../test/support/calls.ts';
import { codeOf, gql, ok, tokenFor } from '../../test/support/graphql.ts';
import { testScope } from '../../test/support/isolation.ts';
import { waitFor } from '../../test/support/wait.ts';
import type { CallsApp } from './app.ts';

const scope = testScope('calls-lifecycle');
let app: CallsApp;
let events: Collected;
let url: string;

// The demo district: 长洲街 (changzhou) → 深井社区 (changzhou-c1) → its first grid.
const GRID = 'changzhou-c1-g1';
const COMMUNITY = 'changzhou-c1';
const STREET = 'changzhou';
const tokens: Record<string, string> = {};

beforeAll(async () => {
  app = await startTestCalls(scope);
  url = `${app.url}/graphql`;
  events = await collect(scope, app.topics.callEvents);
  tokens.grid = await tokenFor(GRID, 'grid_worker', 'gw-li');
  tokens.community = await tokenFor(COMMUNITY, 'community', 'sq-wang');
  tokens.street = await tokenFor(STREET, 'street', 'jd-chen');
  tokens.streetCommand = await tokenFor(`${STREET}-command`, 'street_command', 'zh-zhao');
  tokens.urban = await tokenFor('dept-urban', 'department', 'cg-liu');
  tokens.market = await tokenFor('dept-market', 'department', 'sj-he');
  tokens.command = await tokenFor('huangpu-command', 'district_command', 'qzh-xu');
  tokens.otherStreet = await tokenFor('yuzhu', 'street', 'yz-lin');
  tokens.leader = await tokenFor(STREET, 'street_leader', 'jd-ld-chen');
  tokens.otherLeader = await tokenFor('yuzhu', 'street_leader', 'yz-ld-he');
});

afterAll(async () => {
  await events.stop();
  await app.service.shutdown('test');
  await scope.cleanup();
});

const CALL_FIELDS = `id status tier version originUnit { id } handlingUnit { id } callerUnit { id }
  coHandlingUnits { id } deadlines { sign respond complete notes } overdueSteps reopenCount escalated
  rating { stars satisfaction } result category item { code leadUnit { id } }`;

async function raise(token: string, input: Record<string, unknown>, idempotencyKey?: string) {
  return gql(url, token, `mutation($input: RaiseCallInput!, $key: String) {
      raiseCall(input: $input, idempotencyKey: $key) { call { ${CALL_FIELDS} } possibleDuplicates { call { id } score reasons } } }`, {
    input,
    key: idempotencyKey,
  });
}

async function mutate(token: string, field: string, args: Record<string, unknown>) {
  const decl = Object.keys(args)
    .map((k) => `$${k}: ${argType(k)}`)
    .join(', ');
  const pass = Object.keys(args)
    .map((k) => `${k}: $${k}`)
    .join(', ');
  return gql(url, token, `mutation(${decl}) { ${field}(${pass}) { ${CALL_FIELDS} } }`, args);
}

function argType(name: string): string {
  const types: Record<string, string> = {
    id: 'ID!',
    intoId: 'ID!',
    itemCode: 'ID',
    approve: 'Boolean!',
    reassignTo: 'ID',
    stars: 'Int!',
    workingDays: 'Int!',
    expectedVersion: 'Int',
    grant: 'Boolean!',
    attachments: '[String!]',
    idempotencyKey: 'String',
  };
  return types[name] ?? 'String!';
}

/** 街道呼、部门应: the street asks, its leader approves (街道领导审核). */
async function toDepartment(id: string, itemCode?: string, street = tokens.street as string, leader = tokens.leader as string) {
  ok(await mutate(street, 'dispatchToDepartment', itemCode ? { id, itemCode } : { id }));
  return ok(await mutate(leader, 'reviewDispatch', { id, approve: true })).reviewDispatch;
}

const noise = {
  title: '工地夜间施工噪音扰民',
  description: '科学城某工地夜间施工，凌晨两点还在打桩，噪音影响周边居民休息。',
  category: '城市管理',
  location: { lng: 113.4025, lat: 23.0651 },
};

describe('a call from the grid up to a department and back', () => {
  it('is answered tier by tier, rated by the street, and every step is recorded and published', async () => {
    const raised = ok(await raise(tokens.grid as string, noise)).raiseCall.call;
    expect(raised).toMatchObject({ status: 'RAISED', tier: 'GRID', originUnit: { id: GRID }, handlingUnit: { id: GRID } });
    const id = raised.id as string;

    // 网格呼、社区应
    let call = ok(await mutate(tokens.grid as string, 'callUp', { id, note: '网格无法协调施工单位' })).callUp;
    expect(call).toMatchObject({ status: 'DISPATCHED', tier: 'COMMUNITY', handlingUnit: { id: COMMUNITY }, callerUnit: { id: GRID } });
    ok(await mutate(tokens.community as string, 'signCall', { id }));
    // 社区呼、街道应
    call = ok(await mutate(tokens.community as string, 'callUp', { id })).callUp;
    expect(call).toMatchObject({ tier: 'STREET', handlingUnit: { id: STREET }, callerUnit: { id: COMMUNITY } });
    call = ok(await mutate(tokens.streetCommand as string, 'signCall', { id })).signCall;
    expect(call.status).toBe('SIGNED');
    // 街道呼、部门应: only for an item of the list, after the street leadership's review.
    call = await toDepartment(id, 'CG-03');
    expect(call).toMatchObject({
      status: 'DISPATCHED',
      tier: 'DEPARTMENT',
      handlingUnit: { id: 'dept-urban' },
      callerUnit: { id: STREET },
      item: { code: 'CG-03', leadUnit: { id: 'dept-urban' } },
    });
    expect(call.coHandlingUnits.map((u: { id: string }) => u.id)).toEqual(['dept-ecology', 'dept-housing']);
    expect(call.deadlines.sign && call.deadlines.respond && call.deadlines.complete).toBeTruthy();

    ok(await mutate(tokens.urban as string, 'signCall', { id }));
    ok(await mutate(tokens.urban as string, 'respondCall', { id, note: '已约谈施工单位，夜间停止打桩' }));
    call = ok(
      await mutate(tokens.urban as string, 'completeCall', {
        id,
        result: '已责令夜间停工，办理夜间施工许可前不得施工',
        attachments: ['https://files.example/evidence/1.jpg'],
      }),
    ).completeCall;
    expect(call.status).toBe('COMPLETED');
    // Only the caller (the street) rates; 5 stars scores in full.
    expect(codeOf(await mutate(tokens.urban as string, 'confirmCall', { id, stars: 5 }))).toBe('FORBIDDEN');
    call = ok(await mutate(tokens.street as string, 'confirmCall', { id, stars: 5, comment: '响应及时' })).confirmCall;
    expect(call).toMatchObject({ status: 'CLOSED', rating: { stars: 5, satisfaction: 'VERY_SATISFIED' } });

    const history = ok(
      await gql(url, tokens.street as string, `query($id: ID!) { call(id: $id) { timeline(first: 50) { totalCount edges { node {
        action status actor { subject unit { id } } toUnit { id } } } } } }`, { id }),
    ).call.timeline;
    expect(history.edges.map((e: any) => e.node.action)).toEqual([
      'raise', 'call_up', 'sign', 'call_up', 'sign', 'request_dispatch', 'dispatch', 'sign', 'respond', 'complete', 'confirm',
    ]);
    expect(history.edges[6].node.actor).toEqual({ subject: 'jd-ld-chen', unit: { id: STREET } });
    expect(history.edges[7].node.actor).toEqual({ subject: 'cg-liu', unit: { id: 'dept-urban' } });

    // Every change was published once, in order, keyed by the call, with no personal data.
    const published = await waitFor('the call events', () => {
      const mine = events.records.filter((r) => r.callId === id);
      return mine.length >= 11 ? mine : undefined;
    });
    expect(published.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(published.map((e) => e.type)).toEqual([
      'call.raised', 'call.called_up', 'call.signed', 'call.called_up', 'call.signed', 'call.dispatch_requested',
      'call.dispatched', 'call.signed', 'call.responded', 'call.completed', 'call.closed',
    ]);
    expect(published[6]).toMatchObject({ actor: { subject: 'jd-ld-chen', role: 'street_leader' }, data: { itemCode: 'CG-03', approvedBy: 'jd-ld-chen' } });
    expect(published.every((e) => e.key === id)).toBe(true);
    expect(published.at(-1)?.call).toMatchObject({ status: 'CLOSED', handlingUnitId: 'dept-urban', rating: { stars: 5 } });
  });
});

describe('bad input and illegal steps', () => {
  let id: string;
  beforeAll(async () => {
    id = ok(await raise(tokens.grid as string, { ...noise, title: '路口信号灯损坏', category: '交通管理' })).raiseCall.call.id;
    ok(await mutate(tokens.grid as string, 'callUp', { id }));
  });

  it('refuses to complete before signing, and says so', async () => {
    const result = await mutate(tokens.community as string, 'completeCall', { id, result: '已处理' });
    expect(codeOf(result)).toBe('CONFLICT');
    expect(result.errors?.[0]?.message).toContain('待签收');
  });

  it('refuses an actor outside the handling unit, and hides calls outside the jurisdiction', async () => {
    expect(codeOf(await mutate(tokens.street as string, 'signCall', { id }))).toBe('FORBIDDEN');
    expect(codeOf(await mutate(tokens.otherStreet as string, 'signCall', { id }))).toBe('NOT_FOUND');
    const seen = await gql(url, tokens.otherStreet as string, 'query($id: ID!) { call(id: $id) { id } }', { id });
    expect(seen.data?.call).toBeNull();
    // A department sees only what was dispatched to it.
    const dept = await gql(url, tokens.market as string, 'query($id: ID!) { call(id: $id) { id } }', { id });
    expect(dept.data?.call).toBeNull();
  });

  it('rejects bad arguments with BAD_USER_INPUT and changes nothing', async () => {
    const before = ok(await gql(url, tokens.community as string, 'query($id: ID!) { call(id: $id) { version status } }', { id })).call;
    ok(await mutate(tokens.community as string, 'signCall', { id }));
    ok(await mutate(tokens.community as string, 'callUp', { id }));
    ok(await mutate(tokens.street as string, 'signCall', { id }));
    const version = before.version + 3;
    const cases = [
      mutate(tokens.street as string, 'dispatchToDepartment', { id, itemCode: 'NOPE-1' }),
      mutate(tokens.street as string, 'dispatchToDepartment', { id, itemCode: 'JT-02', note: '长'.repeat(2001) }),
      mutate(tokens.street as string, 'completeCall', { id, result: '好'.repeat(5001) }),
      mutate(tokens.street as string, 'completeCall', {
        id,
        result: '已处理',
        attachments: Array.from({ length: 10 }, (_, i) => `https://files.example/${i}.jpg`),
      }),
      mutate(tokens.street as string, 'completeCall', { id, result: '已处理', attachments: ['javascript:alert(1)'] }),
    ];
    for (const result of await Promise.all(cases)) expect(codeOf(result)).toBe('BAD_USER_INPUT');
    const after = ok(await gql(url, tokens.street as string, 'query($id: ID!) { call(id: $id) { version status } }', { id })).call;
    expect(after).toEqual({ version, status: 'SIGNED' });
    expect(codeOf(await raise(tokens.grid as string, { ...noise, category: '不存在的类别' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await raise(tokens.grid as string, { ...noise, location: { lng: 23.06, lat: 113.4 } }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await mutate(tokens.street as string, 'signCall', { id: 'C-NO-SUCH-CALL' }))).toBe('NOT_FOUND');
  });

  it('rates once, with 1 to 5 stars only', async () => {
    ok(await mutate(tokens.street as string, 'completeCall', { id, result: '已修复信号灯' }));
    expect(codeOf(await mutate(tokens.community as string, 'confirmCall', { id, stars: 6 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await mutate(tokens.community as string, 'confirmCall', { id, stars: 0 }))).toBe('BAD_USER_INPUT');
    ok(await mutate(tokens.community as string, 'confirmCall', { id, stars: 3 }));
    expect(codeOf(await mutate(tokens.community as string, 'confirmCall', { id, stars: 5 }))).toBe('CONFLICT');
  });

  it('refuses a request without a valid identity', async () => {
    const missing = await gql(url, undefined, '{ callableItems { code } }');
    expect(missing.status).toBe(401);
    expect(codeOf(missing)).toBe('UNAUTHENTICATED');
    const forged = await gql(url, `${tokens.grid}x`, '{ callableItems { code } }');
    expect(codeOf(forged)).toBe('UNAUTHENTICATED');
  });
});

describe('concurrency and retries', () => {
  it('returns the same call for a retried raise with the same idempotency key', async () => {
    const first = ok(await raise(tokens.grid as string, noise, 'mobile-retry-1')).raiseCall.call;
    const again = ok(await raise(tokens.grid as string, noise, 'mobile-retry-1')).raiseCall.call;
    expect(again.id).toBe(first.id);
    const retried = await Promise.all([
      mutate(tokens.grid as string, 'callUp', { id: first.id, idempotencyKey: 'up-1' }),
      mutate(tokens.grid as string, 'callUp', { id: first.id, idempotencyKey: 'up-1' }),
    ]);
    for (const r of retried) expect(ok(r).callUp.handlingUnit.id).toBe(COMMUNITY);
  });

  it('lets one of two simultaneous sign-offs win; the other gets CONFLICT, nothing is lost', async () => {
    const call = ok(await raise(tokens.grid as string, noise)).raiseCall.call;
    ok(await mutate(tokens.grid as string, 'callUp', { id: call.id }));
    const other = await tokenFor(COMMUNITY, 'community', 'sq-zhang');
    const results = await Promise.all([
      mutate(tokens.community as string, 'signCall', { id: call.id }),
      mutate(other, 'signCall', { id: call.id }),
    ]);
    expect(results.filter((r) => !r.errors).length).toBe(1);
    expect(results.map(codeOf).filter(Boolean)).toEqual(['CONFLICT']);
    const stale = await mutate(tokens.community as string, 'respondCall', { id: call.id, note: '处理中', expectedVersion: 2 });
    expect(codeOf(stale)).toBe('CONFLICT');
    // A client that sends no version as an explicit null (a null variable) is not checked against one.
    ok(await mutate(tokens.community as string, 'respondCall', { id: call.id, note: '处理中', expectedVersion: null }));
  });
});

describe('escalation and adjudication', () => {
  it('takes a failing department call up to district leadership, keeping the department as co-handler', async () => {
    const id = ok(await raise(tokens.street as string, { ...noise, title: '僵尸车停放十年无人处理', category: '交通管理' })).raiseCall.call.id;
    await toDepartment(id, 'JT-01');
    ok(await mutate(tokens.command as string, 'superviseCall', { id, note: '请交警大队尽快处置' }));
    const traffic = await tokenFor('dept-traffic', 'department', 'jj-guo');
    ok(await mutate(traffic, 'signCall', { id }));
    // It may not refuse; it may ask the command centre, which keeps it with the department.
    ok(await mutate(traffic, 'requestAdjudication', { id, reason: '车辆归属不明，需城管协助' }));
    const kept = ok(await mutate(tokens.command as string, 'adjudicate', { id, note: '由交警主办，城管协办' })).adjudicate;
    expect(kept.handlingUnit.id).toBe('dept-traffic');
    const escalated = ok(await mutate(tokens.street as string, 'escalateCall', { id, reason: '部门逾期未处置' })).escalateCall;
    expect(escalated).toMatchObject({ tier: 'LEADERSHIP', handlingUnit: { id: 'huangpu-leaders' }, escalated: true, status: 'DISPATCHED' });
    expect(escalated.coHandlingUnits.map((u: { id: string }) => u.id)).toContain('dept-traffic');
  });

  it('reassigns (改派) on the command centre’s decision and extends a deadline it grants', async () => {
    const id = ok(await raise(tokens.street as string, { ...noise, title: '河涌出现黑臭', category: '生态环境' })).raiseCall.call.id;
    await toDepartment(id, 'ST-02');
    const ecology = await tokenFor('dept-ecology', 'department', 'st-wu');
    ok(await mutate(ecology, 'signCall', { id }));
    ok(await mutate(ecology, 'requestAdjudication', { id, reason: '排污口属水务管理' }));
    expect(codeOf(await mutate(tokens.street as string, 'adjudicate', { id, reassignTo: 'dept-water', note: '改派' }))).toBe('FORBIDDEN');
    const moved = ok(await mutate(tokens.command as string, 'adjudicate', { id, reassignTo: 'dept-water', note: '改派水务局' })).adjudicate;
    expect(moved).toMatchObject({ handlingUnit: { id: 'dept-water' }, status: 'DISPATCHED' });
    const water = await tokenFor('dept-water', 'department', 'sw-fang');
    const signed = ok(await mutate(water, 'signCall', { id })).signCall;
    ok(await mutate(water, 'requestExtension', { id, workingDays: 3, reason: '需清淤' }));
    const granted = ok(await mutate(tokens.command as string, 'decideExtension', { id, grant: true, note: '同意延期' })).decideExtension;
    expect(new Date(granted.deadlines.complete).getTime()).toBeGreaterThan(new Date(signed.deadlines.complete).getTime());
  });
});

describe('duplicates and merging', () => {
  it('offers the open call about the same site, and resolving one resolves both', async () => {
    const first = ok(await raise(tokens.grid as string, noise)).raiseCall.call;
    const second = ok(
      await raise(tokens.grid as string, {
        title: '工地晚上打桩噪音太大',
        description: '工地晚上打桩噪音太大，影响休息，科学城那边，请尽快处理。',
        category: '城市管理',
        location: { lng: 113.4027, lat: 23.0653 },
      }),
    ).raiseCall;
    expect(second.possibleDuplicates.map((d: any) => d.call.id)).toContain(first.id);
    const candidate = second.possibleDuplicates.find((d: any) => d.call.id === first.id);
    expect(candidate.reasons.join(' ')).toContain('同一类别');
    const unrelated = ok(
      await raise(tokens.grid as string, { ...noise, title: '僵尸车', description: '小区门口僵尸车停放十年无人处理' }),
    ).raiseCall;
    expect(unrelated.possibleDuplicates.map((d: any) => d.call.id)).not.toContain(first.id);

    const merged = ok(await mutate(tokens.streetCommand as string, 'mergeCall', { id: second.call.id, intoId: first.id })).mergeCall;
    expect(merged.status).toBe('MERGED');
    ok(await mutate(tokens.grid as string, 'completeCall', { id: first.id, result: '已联系施工方停工' }));
    const after = ok(
      await gql(url, tokens.grid as string, 'query($id: ID!) { call(id: $id) { status result mergedInto { id } } }', { id: second.call.id }),
    ).call;
    expect(after).toEqual({ status: 'CLOSED', result: '已联系施工方停工', mergedInto: { id: first.id } });
  });
});

describe('inbox, counters and orders', () => {
  it('shows each unit its own work and the district its figures', async () => {
    const id = ok(await raise(tokens.grid as string, { ...noise, title: '消防通道堵塞', category: '安全生产' })).raiseCall.call.id;
    ok(await mutate(tokens.grid as string, 'callUp', { id }));
    const inbox = ok(
      await gql(url, tokens.community as string, '{ inbox(box: TO_SIGN, first: 50) { edges { node { id } } } }'),
    ).inbox;
    expect(inbox.edges.map((e: any) => e.node.id)).toContain(id);
    const counters = ok(
      await gql(url, tokens.command as string, `query($from: DateTime!, $to: DateTime!) { callCounters(scopeUnitId: "changzhou", from: $from, to: $to) {
        raised completed calledUpToDepartments completionRate satisfactionRate raisedByTier { tier count } } }`, {
        from: new Date(Date.now() - 3_600_000).toISOString(),
        to: new Date(Date.now() + 60_000).toISOString(),
      }),
    ).callCounters;
    expect(counters.raised).toBeGreaterThanOrEqual(8);
    expect(counters.calledUpToDepartments).toBeGreaterThanOrEqual(3);
    expect(counters.completionRate).toBeGreaterThan(0);
    const forbidden = await gql(url, tokens.otherStreet as string, `query($from: DateTime!, $to: DateTime!) {
      callCounters(scopeUnitId: "changzhou", from: $from, to: $to) { raised } }`, {
      from: new Date(Date.now() - 3_600_000).toISOString(),
      to: new Date().toISOString(),
    });
    expect(codeOf(forbidden)).toBe('FORBIDDEN');
    const badPage = await gql(url, tokens.community as string, '{ calls(first: 1000) { edges { cursor } } }');
    expect(codeOf(badPage)).toBe('BAD_USER_INPUT');
  });

  it('pushes an order down to streets and shows the issuer who has not finished', async () => {
    const issued = ok(
      await gql(url, tokens.command as string, `mutation($input: IssueOrderInput!) { issueOrder(input: $input) { id outstanding { unit { id } } } }`, {
        input: {
          title: '暴雨橙色预警巡查',
          description: '各街道2小时内完成水浸黑点巡查',
          kind: 'INSPECTION',
          priority: 'URGENT',
          unitIds: ['changzhou', 'yuzhu'],
          deadline: new Date(Date.now() + 2 * 3_600_000).toISOString(),
        },
      }),
    ).issueOrder;
    expect(issued.outstanding).toHaveLength(2);
    const order = (field: string, token: string, extra = '') =>
      gql(url, token, `mutation($id: ID!) { ${field}(id: $id${extra}) { status outstanding { unit { id } status } } }`, { id: issued.id });
    expect(codeOf(await order('completeOrder', tokens.street as string, ', note: "完成"'))).toBe('CONFLICT');
    ok(await order('signOrder', tokens.street as string));
    const done = ok(await order('completeOrder', tokens.street as string, ', note: "已巡查12处"')).completeOrder;
    expect(done.outstanding).toEqual([{ unit: { id: 'yuzhu' }, status: 'ISSUED' }]);
    // A unit the order was not given does not even see it.
    expect(codeOf(await order('signOrder', tokens.grid as string))).toBe('NOT_FOUND');
  });
});

// Issue #14's lifecycle rules, end to end over the real store and broker (decisions are unit-tested
// in lifecycle-rules.test.ts).
describe('lifecycle rules (DOMAIN.md "Rules the hub must not bend")', () => {
  const status = async (id: string, token = tokens.command as string) =>
    ok(await gql(url, token, 'query($id: ID!) { call(id: $id) { status result mergedInto { id } version pendingRequest { kind } } }', { id })).call;

  it('merging: only a command centre whose scope holds both calls (a department may not merge 长洲街 into 鱼珠街)', async () => {
    const here = ok(await raise(tokens.street as string, { ...noise, title: '长洲街占道经营' })).raiseCall.call.id;
    const there = ok(await raise(tokens.otherStreet as string, { ...noise, title: '鱼珠街占道经营' })).raiseCall.call.id;
    await toDepartment(here, 'CG-02');
    await toDepartment(there, 'CG-02', tokens.otherStreet, tokens.otherLeader);
    const urbanDept = await tokenFor('dept-urban', 'department', 'cg-zhou');
    expect(codeOf(await mutate(urbanDept, 'mergeCall', { id: here, intoId: there }))).toBe('FORBIDDEN');
    // 长洲街's command centre does not even see 鱼珠街's call; the district's merges across streets.
    expect(codeOf(await mutate(tokens.streetCommand as string, 'mergeCall', { id: here, intoId: there }))).toBe('NOT_FOUND');
    expect((await status(here)).status).toBe('DISPATCHED');
    ok(await mutate(tokens.command as string, 'mergeCall', { id: here, intoId: there }));
    expect(await status(here)).toMatchObject({ status: 'MERGED', mergedInto: { id: there } });
  });

  it('merging: merged calls follow their target to its end (a chain X→Y→Z closes with Z; into a merged call joins its end)', async () => {
    const [x, y, z, w] = await Promise.all(
      ['X', 'Y', 'Z', 'W'].map(async (name) => ok(await raise(tokens.grid as string, { ...noise, title: `同一工地噪音 ${name}` })).raiseCall.call.id),
    );
    ok(await mutate(tokens.streetCommand as string, 'mergeCall', { id: x, intoId: y }));
    ok(await mutate(tokens.streetCommand as string, 'mergeCall', { id: y, intoId: z }));
    // Into X (merged into Y, merged into Z): W joins Z.
    expect(ok(await mutate(tokens.streetCommand as string, 'mergeCall', { id: w, intoId: x })).mergeCall.status).toBe('MERGED');
    expect((await status(w)).mergedInto).toEqual({ id: z });
    expect(codeOf(await mutate(tokens.streetCommand as string, 'mergeCall', { id: z, intoId: x }))).toBe('BAD_USER_INPUT');
    ok(await mutate(tokens.grid as string, 'completeCall', { id: z, result: '已责令夜间停工' }));
    for (const id of [x, y, w]) expect(await status(id)).toMatchObject({ status: 'CLOSED', result: '已责令夜间停工' });
  });

  it('merging: a withdrawn target brings the calls merged into it back to their previous state, and supervision resumes', async () => {
    const target = ok(await raise(tokens.grid as string, { ...noise, title: '重复上报的噪音' })).raiseCall.call.id;
    const merged = ok(await raise(tokens.grid as string, { ...noise, title: '工地噪音（社区处理中）' })).raiseCall.call.id;
    ok(await mutate(tokens.grid as string, 'callUp', { id: merged }));
    ok(await mutate(tokens.community as string, 'signCall', { id: merged }));
    ok(await mutate(tokens.streetCommand as string, 'mergeCall', { id: merged, intoId: target }));
    const stored = () => app.store.get(merged);
    expect((await stored())?.nextCheckAt).toBeUndefined();
    ok(await mutate(tokens.grid as string, 'withdrawCall', { id: target, reason: '网格员误报' }));
    expect(await status(merged)).toMatchObject({ status: 'SIGNED', mergedInto: null });
    expect((await stored())?.nextCheckAt).toBeInstanceOf(Date);
    ok(await mutate(tokens.community as string, 'respondCall', { id: merged, note: '社区继续跟进' }));
    const unmerged = await waitFor('the unmerge event', () => events.records.find((e) => e.callId === merged && e.type === 'call.unmerged'));
    expect(unmerged).toMatchObject({ call: { status: 'SIGNED', mergedInto: null }, data: { fromId: target } });
  });

  it("withdrawing: only the raising unit before dispatch (another source's service account may not withdraw a grid worker's call)", async () => {
    const sanfang = await tokenFor('huangpu', 'service_account', 'sanfang-connector', ['calls:read', 'calls:write']);
    const id = ok(await raise(tokens.grid as string, { ...noise, title: '井盖缺失' })).raiseCall.call.id;
    expect(codeOf(await mutate(sanfang, 'withdrawCall', { id, reason: '三防系统撤回' }))).toBe('FORBIDDEN');
    expect(codeOf(await mutate(tokens.command as string, 'withdrawCall', { id, reason: '撤回' }))).toBe('FORBIDDEN');
    ok(await mutate(tokens.grid as string, 'callUp', { id }));
    expect(codeOf(await mutate(tokens.grid as string, 'withdrawCall', { id, reason: '已自行解决' }))).toBe('CONFLICT');
    expect((await status(id)).status).toBe('DISPATCHED');
    const own = ok(await raise(tokens.grid as string, { ...noise, title: '误报' })).raiseCall.call.id;
    expect(ok(await mutate(tokens.grid as string, 'withdrawCall', { id: own, reason: '误报' })).withdrawCall.status).toBe('WITHDRAWN');
  });

  it('escalation: every tier may escalate, a community directly and a street its own raised call', async () => {
    const fromCommunity = ok(await raise(tokens.community as string, { ...noise, title: '社区直接提级' })).raiseCall.call.id;
    expect(ok(await mutate(tokens.community as string, 'escalateCall', { id: fromCommunity, reason: '涉及多个部门' })).escalateCall).toMatchObject({
      tier: 'LEADERSHIP',
      callerUnit: { id: COMMUNITY },
      escalated: true,
    });
    const fromStreet = ok(await raise(tokens.street as string, { ...noise, title: '街道自身呼叫提级' })).raiseCall.call.id;
    expect(ok(await mutate(tokens.street as string, 'escalateCall', { id: fromStreet, reason: '需区领导统筹' })).escalateCall.tier).toBe('LEADERSHIP');
    const fromGrid = ok(await raise(tokens.grid as string, { ...noise, title: '网格提级' })).raiseCall.call.id;
    expect(ok(await mutate(tokens.grid as string, 'escalateCall', { id: fromGrid, reason: '紧急' })).escalateCall.tier).toBe('LEADERSHIP');
    // A department's role never escalates (the policy refuses it before looking the call up).
    expect(codeOf(await mutate(tokens.market as string, 'escalateCall', { id: fromGrid, reason: '再提级' }))).toBe('FORBIDDEN');
  });

  it("leadership review: only a street_leader of the call's street approves a call to a department; a rejection needs a reason", async () => {
    const id = ok(await raise(tokens.street as string, { ...noise, title: '楼顶违建', category: '城市管理' })).raiseCall.call.id;
    const asked = ok(await mutate(tokens.street as string, 'dispatchToDepartment', { id, itemCode: 'CG-01', note: '需规划部门认定' })).dispatchToDepartment;
    expect(asked).toMatchObject({ status: 'RAISED', tier: 'STREET' });
    expect((await status(id)).pendingRequest).toEqual({ kind: 'DISPATCH' });
    const toReview = ok(await gql(url, tokens.leader as string, '{ inbox(box: TO_REVIEW, first: 50) { edges { node { id } } } }')).inbox;
    expect(toReview.edges.map((e: any) => e.node.id)).toContain(id);
    expect(codeOf(await mutate(tokens.street as string, 'reviewDispatch', { id, approve: true }))).toBe('FORBIDDEN');
    expect(codeOf(await mutate(tokens.streetCommand as string, 'reviewDispatch', { id, approve: true }))).toBe('FORBIDDEN');
    expect(codeOf(await mutate(tokens.otherLeader as string, 'reviewDispatch', { id, approve: true }))).toBe('NOT_FOUND');
    expect(codeOf(await mutate(tokens.leader as string, 'reviewDispatch', { id, approve: false }))).toBe('BAD_USER_INPUT');
    const rejected = ok(await mutate(tokens.leader as string, 'reviewDispatch', { id, approve: false, reason: '街道执法队可自行拆除' })).reviewDispatch;
    expect(rejected).toMatchObject({ status: 'RAISED', tier: 'STREET' });
    expect((await status(id)).pendingRequest).toBeNull();
    // Asked again without an item: the class's fallback department (兜底).
    const sent = await toDepartment(id);
    expect(sent).toMatchObject({ tier: 'DEPARTMENT', handlingUnit: { id: 'dept-urban' }, item: null });
    const dispatched = await waitFor('the dispatch event', () => events.records.find((e) => e.callId === id && e.type === 'call.dispatched'));
    expect(dispatched).toMatchObject({ actor: { subject: 'jd-ld-chen', role: 'street_leader' }, data: { fallback: true, itemsVersion: 'huangpu-demo-2026.1' } });
    const list = ok(await gql(url, tokens.street as string, '{ callableItemsList { version effectiveFrom classes { category fallbackUnit { id } } } }')).callableItemsList;
    expect(list).toMatchObject({ version: 'huangpu-demo-2026.1', effectiveFrom: '2026-01-01T00:00:00.000Z' });
    expect(list.classes).toContainEqual({ category: '城市管理', fallbackUnit: { id: 'dept-urban' } });
  });

  it('idempotency keys: a key reused with different input is refused (IDEMPOTENCY_KEY_REUSED) and nothing is written', async () => {
    const first = ok(await raise(tokens.grid as string, noise, 'reuse-1')).raiseCall.call;
    const reused = await raise(tokens.grid as string, { ...noise, title: '另一件事' }, 'reuse-1');
    expect(codeOf(reused)).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(ok(await raise(tokens.grid as string, noise, 'reuse-1')).raiseCall.call.id).toBe(first.id);
    const up = ok(await mutate(tokens.grid as string, 'callUp', { id: first.id, idempotencyKey: 'reuse-2' })).callUp;
    expect(codeOf(await mutate(tokens.community as string, 'signCall', { id: first.id, idempotencyKey: 'reuse-2' }))).toBeUndefined();
    expect(codeOf(await mutate(tokens.grid as string, 'callUp', { id: first.id, note: '换了备注', idempotencyKey: 'reuse-2' }))).toBe('IDEMPOTENCY_KEY_REUSED');
    const other = ok(await raise(tokens.grid as string, { ...noise, title: '另一件事' })).raiseCall.call.id;
    expect(codeOf(await mutate(tokens.grid as string, 'callUp', { id: other, idempotencyKey: 'reuse-2' }))).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await status(other)).toMatchObject({ status: 'RAISED', version: 1 });
    expect((await status(first.id)).version).toBe(up.version + 1);
  });

  it('idempotency keys: longer than 128 characters or not printable ASCII is BAD_USER_INPUT, and nothing is written', async () => {
    const id = ok(await raise(tokens.grid as string, { ...noise, title: '键过长' })).raiseCall.call.id;
    for (const key of ['k'.repeat(129), '重试一次', 'with space']) {
      expect(codeOf(await mutate(tokens.grid as string, 'callUp', { id, idempotencyKey: key }))).toBe('BAD_USER_INPUT');
      expect(codeOf(await raise(tokens.grid as string, { ...noise, title: '不应写入' }, key))).toBe('BAD_USER_INPUT');
    }
    expect(await status(id)).toMatchObject({ status: 'RAISED', version: 1 });
    const stray = ok(await gql(url, tokens.grid as string, '{ calls(filter: { text: "不应写入" }) { edges { node { id } } } }')).calls;
    expect(stray.edges).toEqual([]);
  });
});

describe('the callable-items list from a file (CALLABLE_ITEMS_PATH)', () => {
  const listScope = testScope('calls-items-file');
  const dir = mkdtempSync(join(tmpdir(), 'huying-items-'));
  const list = {
    version: 'huangpu-2026.12',
    effectiveFrom: '2026-12-01',
    classes: [
      { category: '城市管理', fallbackUnitId: 'dept-urban' },
      { category: '交通管理', fallbackUnitId: 'dept-police' },
    ],
    items: [{ code: 'JT-09', category: '交通管理', name: '共享单车乱停放', leadUnitId: 'dept-traffic', coUnitIds: ['dept-urban'] }],
  };
  afterAll(async () => {
    await listScope.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is loaded and versioned: its items, its fallback departments and its version on every dispatch', async () => {
    const path = join(dir, 'items.json');
    writeFileSync(path, JSON.stringify(list));
    const listed = await startTestCalls(listScope, { CALLABLE_ITEMS_PATH: path });
    try {
      const at = `${listed.url}/graphql`;
      const seen = ok(await gql(at, tokens.street as string, '{ callableItemsList { version items { code } classes { category fallbackUnit { id } } } }')).callableItemsList;
      expect(seen).toEqual({
        version: 'huangpu-2026.12',
        items: [{ code: 'JT-09' }],
        classes: [
          { category: '城市管理', fallbackUnit: { id: 'dept-urban' } },
          { category: '交通管理', fallbackUnit: { id: 'dept-police' } },
        ],
      });
      // A category outside the list is not accepted; one of its classes with no item goes to the fallback.
      const bad = await gql(at, tokens.street as string, 'mutation { raiseCall(input: { title: "河涌黑臭", description: "河涌发黑", category: "生态环境" }) { call { id } } }');
      expect(codeOf(bad)).toBe('BAD_USER_INPUT');
      const id = ok(await gql(at, tokens.street as string, 'mutation { raiseCall(input: { title: "路口护栏损坏", description: "护栏倒伏", category: "交通管理" }) { call { id } } }')).raiseCall.call.id;
      ok(await gql(at, tokens.street as string, 'mutation($id: ID!) { dispatchToDepartment(id: $id) { id } }', { id }));
      const sent = ok(await gql(at, tokens.leader as string, 'mutation($id: ID!) { reviewDispatch(id: $id, approve: true) { tier handlingUnit { id } } }', { id })).reviewDispatch;
      expect(sent).toEqual({ tier: 'DEPARTMENT', handlingUnit: { id: 'dept-police' } });
      const event = (await listed.models.Call.findById(id).lean())?.outbox.at(-1);
      expect(event?.data).toMatchObject({ fallback: true, itemsVersion: 'huangpu-2026.12' });
    } finally {
      await listed.service.shutdown('test');
    }
  });

  it('refuses to start with a bad list, naming every bad row, or one not yet in effect', async () => {
    const path = join(dir, 'bad.json');
    const rows = [{ code: 'JT-09', category: '无此类', name: '重复', leadUnitId: 'dept-traffic' }, { code: 'JT-10', category: '交通管理', name: '', leadUnitId: 'dept-traffic' }];
    writeFileSync(path, JSON.stringify({ ...list, items: [...list.items, ...rows] }));
    const failure = startTestCalls(listScope, { CALLABLE_ITEMS_PATH: path });
    await expect(failure).rejects.toThrow(/items\[1\]\.code: JT-09 is listed twice[\s\S]*items\[1\]\.category: 无此类[\s\S]*items\[2\]\.name/);
    writeFileSync(path, JSON.stringify({ ...list, effectiveFrom: '2099-01-01' }));
    await expect(startTestCalls(listScope, { CALLABLE_ITEMS_PATH: path })).rejects.toThrow(/applies only from 2099-01-01/);
  });
});
