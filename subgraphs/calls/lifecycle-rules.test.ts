// The lifecycle rules of issue #14 (DOMAIN.md "Rules the hub must not bend", "Tiers and who answers")
// as pure decisions: who may merge, withdraw, escalate and approve a call to a department, and the
// callable-items list file. The store is used only to draft calls and apply decisions in memory.
import { describe, expect, it } from 'vitest';
import type { Identity, Role } from '../../platform/auth.ts';
import { errorCode } from '../../platform/errors.ts';
import { checkIdempotencyKey } from '../../platform/idempotency.ts';
import { demoUnits } from '../../demo/district.ts';
import { UnitDirectory } from '../../platform/unit-directory.ts';
import { CallableItems, CallableItemsError, DEMO_ITEMS_FILE, loadCallableItems, parseCallableItems } from './items.ts';
import { type CallAction, followMergeTarget } from './lifecycle.ts';
import type { CallDoc, CallsModels } from './model.ts';
import { CallStore } from './store.ts';

const directory = new UnitDirectory(demoUnits());
const items = new CallableItems();
const store = new CallStore(undefined as unknown as CallsModels, {
  directory,
  items,
  deadlinesFor: () => ({ notes: [] }),
  addWorkingDays: (from, days) => ({ due: new Date(from.getTime() + days * 86_400_000), notes: [] }),
  workingDaysBetween: (a, b) => Math.round((b.getTime() - a.getTime()) / 86_400_000),
  nextCheckAt: () => undefined,
});

const who = (unitId: string, role: Role, subject = `${role}@${unitId}`, scopes: string[] = []): Identity => ({ subject, unitId, role, scopes });
const grid = who('changzhou-c1-g1', 'grid_worker');
const community = who('changzhou-c1', 'community');
const street = who('changzhou', 'street');
const streetCommand = who('changzhou-command', 'street_command');
const leader = who('changzhou', 'street_leader');
const districtCommand = who('huangpu-command', 'district_command');
const department = who('dept-urban', 'department');

function raised(by: Identity, originUnitId = by.unitId, extra: Partial<Parameters<CallStore['draft']>[0]> = {}): CallDoc {
  return store.draft({
    title: '占道经营',
    description: '地铁站口流动摊贩占道经营',
    category: '城市管理',
    priority: 'NORMAL',
    source: 'UNIT',
    originUnitId,
    raisedBy: { subject: by.subject, unitId: by.unitId, role: by.role },
    ...extra,
  });
}

const act = (call: CallDoc, action: CallAction, identity: Identity) => store.simulate(call, action, identity);
function refusal(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return errorCode(err);
  }
  return undefined;
}

describe('merging (DOMAIN.md: only a command centre whose scope holds both calls)', () => {
  const here = raised(grid);
  const there = raised(who('yuzhu-c1-g1', 'grid_worker'));
  const merge = (call: CallDoc, target: CallDoc, identity: Identity) =>
    act(call, { kind: 'merge', intoId: target._id, target }, identity);

  it('refuses handlers: a grid, a street, a department, leadership', () => {
    const other = raised(grid);
    for (const identity of [grid, street, department, leader, who('huangpu-leaders', 'leader')]) {
      expect(refusal(() => merge(here, other, identity))).toBe('FORBIDDEN');
    }
  });

  it("lets a street's command centre merge within its street, not across streets", () => {
    expect(merge(here, raised(grid), streetCommand)).toMatchObject({ status: 'MERGED', statusBeforeMerge: 'RAISED' });
    expect(refusal(() => merge(here, there, streetCommand))).toBe('FORBIDDEN');
    expect(refusal(() => merge(here, there, who('yuzhu-command', 'street_command')))).toBe('FORBIDDEN');
  });

  it("lets the district's command centre merge across streets", () => {
    expect(merge(here, there, districtCommand)).toMatchObject({ status: 'MERGED', mergedInto: there._id });
    expect(refusal(() => act(here, { kind: 'merge', intoId: there._id, target: there, note: '长'.repeat(2001) }, districtCommand))).toBe('BAD_USER_INPUT');
  });

  it('brings a merged call back to its previous state when the call it joined is withdrawn, closes it with one that closes', () => {
    const signed = act(act(raised(grid), { kind: 'call_up' }, grid), { kind: 'sign' }, community);
    const target = raised(grid);
    const merged = merge(signed, target, streetCommand);
    const withdrawn = act(target, { kind: 'withdraw', reason: '重复上报' }, grid);
    expect(followMergeTarget(merged, withdrawn, new Date())).toMatchObject({ set: { status: 'SIGNED' }, unset: ['mergedInto', 'statusBeforeMerge'] });
    const closed = act(target, { kind: 'complete', result: '已清理' }, grid);
    expect(followMergeTarget(merged, closed, new Date())).toMatchObject({ set: { status: 'CLOSED', result: '已清理' } });
    expect(followMergeTarget(merged, raised(grid), new Date())).toBeUndefined();
  });
});

describe('withdrawing (DOMAIN.md: only the source system, or the raising unit before dispatch)', () => {
  const sanfang = who('huangpu', 'service_account', 'sanfang-connector', ['calls:read', 'calls:write']);
  const withdraw = { kind: 'withdraw', reason: '误报' } as const;

  it('lets the raising unit withdraw its call before it is called up, and no one else', () => {
    const call = raised(grid);
    expect(act(call, withdraw, grid).status).toBe('WITHDRAWN');
    expect(act(call, withdraw, who('changzhou-c1-g1', 'grid_worker', 'gw-other')).status).toBe('WITHDRAWN');
    for (const identity of [community, street, districtCommand, sanfang, department]) {
      expect(refusal(() => act(call, withdraw, identity))).toBe('FORBIDDEN');
    }
  });

  it('refuses the raising unit once the call was called up or dispatched', () => {
    const up = act(raised(grid), { kind: 'call_up' }, grid);
    expect(refusal(() => act(up, withdraw, grid))).toBe('CONFLICT');
  });

  it("lets a source system withdraw only by its own record's revoke", () => {
    const sourceRef = { system: 'hotline', externalId: 'GZ12345-1' };
    const hotline = raised(who('huangpu', 'service_account', 'hotline-connector'), 'changzhou-c1-g1', { source: 'HOTLINE', sourceRef });
    const hotlineAccount = who('huangpu', 'service_account', 'hotline-connector', ['calls:read', 'calls:write']);
    expect(act(hotline, { ...withdraw, revokeOf: sourceRef }, hotlineAccount).status).toBe('WITHDRAWN');
    expect(refusal(() => act(hotline, { ...withdraw, revokeOf: { system: 'sanfang', externalId: 'GZ12345-1' } }, sanfang))).toBe('FORBIDDEN');
    // Without its revoke record, by hand, not even the account that created it (nor the grid it was routed to).
    // Never by hand, whoever asks: the call is the source's (CONFLICT, not a question of rights).
    expect(refusal(() => act(hotline, withdraw, hotlineAccount))).toBe('CONFLICT');
    expect(refusal(() => act(hotline, withdraw, grid))).toBe('CONFLICT');
    // A grid worker's call is no source's to revoke.
    expect(refusal(() => act(raised(grid), { ...withdraw, revokeOf: sourceRef }, sanfang))).toBe('FORBIDDEN');
  });
});

describe('escalation (reports, 四个入口: every tier may escalate, 提级呼、领导应)', () => {
  const escalate = { kind: 'escalate', reason: '多部门职责交叉，需区领导统筹' } as const;

  it('lets a grid and a community escalate their own raised calls, and a street its own', () => {
    for (const identity of [grid, community, street]) {
      expect(act(raised(identity), escalate, identity)).toMatchObject({ tier: 'LEADERSHIP', status: 'DISPATCHED', escalated: true, callerUnitId: identity.unitId });
    }
  });

  it('lets a community escalate a call called up to it; a department call is escalated by the street that called it', () => {
    const up = act(raised(grid), { kind: 'call_up' }, grid);
    expect(act(up, escalate, community).tier).toBe('LEADERSHIP');
    expect(refusal(() => act(up, escalate, who('lianhe-c1', 'community')))).toBe('FORBIDDEN');
    const own = raised(street);
    const atDepartment = act(act(own, { kind: 'request_dispatch', itemCode: 'CG-02' }, street), { kind: 'review_dispatch', approve: true }, leader);
    expect(refusal(() => act(atDepartment, escalate, department))).toBe('FORBIDDEN');
    expect(act(atDepartment, escalate, street)).toMatchObject({ tier: 'LEADERSHIP', coHandlingUnitIds: ['dept-urban'] });
  });
});

describe('leadership review (reports: a street’s call to a department is reviewed by its leadership first)', () => {
  it('waits for the street leader, who approves (recorded as the actor) or rejects with a reason', () => {
    const asked = act(raised(street), { kind: 'request_dispatch', itemCode: 'CG-02', note: '摊贩屡劝不改' }, street);
    expect(asked).toMatchObject({ status: 'RAISED', tier: 'STREET', pendingRequest: { kind: 'DISPATCH', itemCode: 'CG-02', unitId: 'dept-urban' } });
    for (const identity of [street, streetCommand, who('yuzhu', 'street_leader'), districtCommand, who('huangpu-leaders', 'leader')]) {
      expect(refusal(() => act(asked, { kind: 'review_dispatch', approve: true }, identity))).toBe('FORBIDDEN');
    }
    expect(refusal(() => act(asked, { kind: 'review_dispatch', approve: false }, leader))).toBe('BAD_USER_INPUT');
    const rejected = act(asked, { kind: 'review_dispatch', approve: false, reason: '街道执法队可自行处置' }, leader);
    expect(rejected.pendingRequest).toBeUndefined();
    expect(rejected.timeline.at(-1)).toMatchObject({ action: 'reject_dispatch', actor: { subject: leader.subject, role: 'street_leader' } });
    const approved = act(asked, { kind: 'review_dispatch', approve: true }, leader);
    expect(approved).toMatchObject({ tier: 'DEPARTMENT', handlingUnitId: 'dept-urban', callerUnitId: 'changzhou', itemCode: 'CG-02' });
    expect(approved.timeline.at(-1)).toMatchObject({ action: 'dispatch', actor: { subject: leader.subject } });
    expect(approved.outbox.at(-1)?.data).toMatchObject({ approvedBy: leader.subject, requestedBy: street.subject, itemsVersion: items.version });
    expect(refusal(() => act(approved, { kind: 'review_dispatch', approve: true }, leader))).toBe('CONFLICT');
  });

  it('drops a request still awaiting review when the street completes the call itself', () => {
    const asked = act(raised(street), { kind: 'request_dispatch', itemCode: 'CG-02' }, street);
    const done = act(asked, { kind: 'complete', result: '街道执法队已自行处置' }, street);
    expect(done).toMatchObject({ status: 'CLOSED' });
    expect(done.pendingRequest).toBeUndefined();
    expect(refusal(() => act(done, { kind: 'review_dispatch', approve: true }, leader))).toBe('CONFLICT');
  });

  it('refuses a second request while one awaits review, and a review with nothing asked', () => {
    const call = raised(street);
    expect(refusal(() => act(call, { kind: 'review_dispatch', approve: true }, leader))).toBe('CONFLICT');
    const asked = act(call, { kind: 'request_dispatch', itemCode: 'CG-02' }, street);
    expect(refusal(() => act(asked, { kind: 'request_dispatch', itemCode: 'CG-01' }, street))).toBe('CONFLICT');
  });
});

describe('callable items (reports: 花都 13 classes, 36 items, each with a lead 承办 and a fallback 兜底 department)', () => {
  const good = {
    version: 'test-1',
    effectiveFrom: '2026-11-01',
    classes: [{ category: '城市管理', fallbackUnitId: 'dept-urban' }],
    items: [{ code: 'X-1', category: '城市管理', name: '占道经营', leadUnitId: 'dept-urban', coUnitIds: ['dept-market'] }],
  };

  it('loads the demo list from its file, with a version and an effective date', () => {
    const list = loadCallableItems(DEMO_ITEMS_FILE, directory);
    expect(list.version).toBe('huangpu-demo-2026.1');
    expect(list.effectiveFrom.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(list.classes).toHaveLength(10);
    expect(list.items.length).toBeGreaterThanOrEqual(20);
  });

  it('reports every bad row of a list file, naming each', () => {
    const bad = {
      ...good,
      classes: [...good.classes, { category: '城市管理', fallbackUnitId: 'dept-urban' }, { category: '综治维稳', fallbackUnitId: 'changzhou' }],
      items: [
        ...good.items,
        { code: 'X-1', category: '城市管理', name: '重复', leadUnitId: 'dept-urban', coUnitIds: [] },
        { code: 'X-2', category: '不存在', name: '无类', leadUnitId: 'dept-urban', coUnitIds: [] },
        { code: 'X-3', category: '城市管理', name: '', leadUnitId: 'dept-nowhere', coUnitIds: [] },
        { code: 'X 4', category: '城市管理', name: '坏编码', leadUnitId: 'dept-urban', coUnitIds: ['dept-urban'], extra: 1 },
      ],
    };
    let problems: string[] = [];
    try {
      parseCallableItems(bad, 'bad.json', directory);
    } catch (err) {
      expect(err).toBeInstanceOf(CallableItemsError);
      problems = (err as CallableItemsError).problems;
    }
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('classes[1].category: 城市管理 is listed twice'),
        expect.stringContaining('classes[2].fallbackUnitId: changzhou is not a department'),
        expect.stringContaining('items[1].code: X-1 is listed twice'),
        expect.stringContaining('items[2].category: 不存在 is not a class'),
        expect.stringContaining('items[3].name'),
        expect.stringContaining('items[4].code'),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(6);
    expect(() => parseCallableItems({ ...good, version: '', effectiveFrom: 'soon' }, 'head.json')).toThrow(/list\.version[\s\S]*list\.effectiveFrom/);
  });

  it("sends a call no item matches to its class's fallback department (兜底), never a mistyped code", () => {
    const list = new CallableItems(parseCallableItems(good, 'good.json', directory));
    expect(list.route(undefined, '城市管理')).toEqual({ category: '城市管理', unitId: 'dept-urban', coUnitIds: [], fallback: true });
    expect(list.route('X-1', '城市管理')).toMatchObject({ unitId: 'dept-urban', coUnitIds: ['dept-market'], fallback: false });
    expect(refusal(() => list.route('X-9', '城市管理'))).toBe('BAD_USER_INPUT');
    expect(refusal(() => list.route('', '城市管理'))).toBe('BAD_USER_INPUT');
    expect(refusal(() => list.route(undefined, '综治维稳'))).toBe('BAD_USER_INPUT');
  });
});

describe('idempotency keys (#13: capped, printable ASCII)', () => {
  it('accepts up to 128 printable ASCII characters and refuses the rest with BAD_USER_INPUT', () => {
    expect(checkIdempotencyKey('a'.repeat(128))).toHaveLength(128);
    expect(checkIdempotencyKey('retry-01J9Z:x/y')).toBe('retry-01J9Z:x/y');
    for (const bad of ['a'.repeat(129), '', 'has space', '键', 'tab\there', 'nul\u0000']) {
      expect(refusal(() => checkIdempotencyKey(bad))).toBe('BAD_USER_INPUT');
    }
  });
});
