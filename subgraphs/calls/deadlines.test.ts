// The deadline rules as the calls subgraph applies them, over the real local Kafka and FerretDB:
// clocks from receipt, emergencies around the clock, a source's limit as an outer bound through
// hand-offs, extensions, 信访 appeals and late 三防 orders. Each instant is chosen (the store on a
// given clock), and every expected deadline is worked out by hand in a comment (docs/rules.md).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity, Role } from '../../platform/auth.ts';
import { formatShanghai, shanghaiTime } from '../../rules/calendar.ts';
import { type Collected, collect, startTestCalls } from '../../test/support/calls.ts';
import { gql, ok, tokenFor } from '../../test/support/graphql.ts';
import { testScope } from '../../test/support/isolation.ts';
import { waitFor } from '../../test/support/wait.ts';
import type { CallsApp } from './app.ts';
import { type IntakeCommand, sourceCallId } from './intake.ts';
import type { CallDoc } from './model.ts';

const scope = testScope('calls-deadlines');
let app: CallsApp;
let orderEvents: Collected;

beforeAll(async () => {
  app = await startTestCalls(scope);
  orderEvents = await collect(scope, app.topics.orderEvents);
});

afterAll(async () => {
  await orderEvents.stop();
  await app.service.shutdown('test');
  await scope.cleanup();
});

const at = (day: string, time: string) => shanghaiTime(day, time);
const who = (unitId: string, role: Role): Identity => ({ subject: `${role}@${unitId}`, unitId, role, scopes: [] });
const GRID = who('changzhou-c1-g1', 'grid_worker');
const COMMUNITY = who('changzhou-c1', 'community');
const COMMAND = who('huangpu-command', 'district_command');
const clock = (instant: Date) => app.store.withClock(() => instant);
const shown = (call: CallDoc) => ({
  sign: call.deadlines.sign && formatShanghai(new Date(call.deadlines.sign)),
  respond: call.deadlines.respond && formatShanghai(new Date(call.deadlines.respond)),
  complete: call.deadlines.complete && formatShanghai(new Date(call.deadlines.complete)),
});
const stored = async (id: string) => (await app.store.get(id)) as CallDoc;

/** A call raised at the grid at `raisedAt` and called up to its community at `calledUpAt`. */
async function atCommunity(raisedAt: Date, calledUpAt: Date, priority: 'NORMAL' | 'URGENT' = 'NORMAL'): Promise<string> {
  const { call } = await clock(raisedAt).create({
    title: '小区消防通道被占',
    description: `消防通道长期停放车辆 ${randomUUID()}`,
    category: '安全生产',
    priority,
    source: 'UNIT',
    originUnitId: GRID.unitId,
    raisedBy: { subject: GRID.subject, unitId: GRID.unitId, role: GRID.role },
  });
  await clock(calledUpAt).act(call._id, { kind: 'call_up' }, GRID);
  return call._id;
}

function sourceCall(source: IntakeCommand['source'], externalId: string, call: Partial<NonNullable<IntakeCommand['call']>>): IntakeCommand {
  return {
    commandId: randomUUID(),
    source,
    externalId,
    kind: 'create_call',
    occurredAt: new Date().toISOString(),
    call: { title: '来源事项', description: `来源系统转来的事项 ${externalId}`, category: '城市管理', priority: 'NORMAL', unitId: GRID.unitId, ...call },
  };
}

const ruleOf = (err: unknown) => (err as { extensions?: { code?: string; rule?: string } }).extensions;

describe('clocks start on receipt', () => {
  it('clocks start on receipt: signing late buys no time', async () => {
    // Called up to the community Mon 9/28 15:00. Community normal: sign 4 working hours → 15–18 (3),
    // Tue 9/29 09–10 (1) → 9/29 10:00; respond 1 working day → 9/29 18:00; complete 3 working days →
    // 9/29, 9/30, 10/8 → 10/8 18:00. Signed late on Wed 9/30 09:00: nothing moves (counted from the
    // sign-off, respond would have become 10/8 18:00 and complete 10/10 18:00).
    const id = await atCommunity(at('2026-09-28', '14:00'), at('2026-09-28', '15:00'));
    const expected = { sign: '2026-09-29 10:00', respond: '2026-09-29 18:00', complete: '2026-10-08 18:00' };
    expect(shown(await stored(id))).toEqual(expected);
    const signed = await clock(at('2026-09-30', '09:00')).act(id, { kind: 'sign' }, COMMUNITY);
    expect(signed.status).toBe('SIGNED');
    expect(shown(signed)).toEqual(expected);
    // Signed after its 9/29 10:00 deadline: the miss is on record at once.
    expect(signed.overdueSteps).toEqual(['SIGN']);
  });
});

describe('emergencies run around the clock', () => {
  it('emergencies run around the clock: a 三防 水浸点 reported on 10/1 is due 10/3, not 10/9', async () => {
    // Urgent at the street 长洲街, received Thu 10/1 10:00 (National Day): sign 2 h → 12:00, respond
    // 4 h → 14:00, complete 48 h → Sat 10/3 10:00. On working hours it was due Fri 10/9.
    const externalId = `SF-I-${randomUUID()}`;
    await app.intake.apply(
      sourceCall('sanfang', externalId, { priority: 'URGENT', unitId: 'changzhou', category: '水务三防', receivedAt: at('2026-10-01', '10:00').toISOString() }),
    );
    expect(shown(await stored(sourceCallId('sanfang', externalId)))).toEqual({
      sign: '2026-10-01 12:00',
      respond: '2026-10-01 14:00',
      complete: '2026-10-03 10:00',
    });
  });
});

describe('a source limit is an outer bound', () => {
  it('source limit is an outer bound: a 12345 咨询 due 9/30 18:00 stays due then after call-ups', async () => {
    const externalId = `GZ12345-${randomUUID()}`;
    const limit = at('2026-09-30', '18:00');
    const note = '诉求类型缺失，按最严时限计 (appeal type missing: the strictest limit applies)';
    await app.intake.apply(
      sourceCall('hotline', externalId, { receivedAt: at('2026-09-29', '10:00').toISOString(), completeBy: limit.toISOString(), deadlineNotes: [note] }),
    );
    const id = sourceCallId('hotline', externalId);
    expect((await stored(id)).deadlines.limit).toEqual(limit);
    // Grid → community Tue 9/29 11:00: sign 4 working hours → 11–12, 13:30–16:30 → 16:30; respond 1
    // working day → 9/30 18:00; complete 3 working days → 10/9 18:00, capped at the limit 9/30 18:00.
    const community = await clock(at('2026-09-29', '11:00')).act(id, { kind: 'call_up' }, GRID);
    expect(shown(community)).toEqual({ sign: '2026-09-29 16:30', respond: '2026-09-30 18:00', complete: '2026-09-30 18:00' });
    // Community → street 9/29 17:00: street normal complete 5 working days → 10/12 18:00: capped again.
    await clock(at('2026-09-29', '16:00')).act(id, { kind: 'sign' }, COMMUNITY);
    const street = await clock(at('2026-09-29', '17:00')).act(id, { kind: 'call_up' }, COMMUNITY);
    expect(street.tier).toBe('STREET');
    expect(shown(street).complete).toBe('2026-09-30 18:00');
    expect(street.deadlines.limit).toEqual(limit);
    // The source's note travels with it; the limit and the rules version show in GraphQL.
    expect(street.deadlines.notes).toEqual([note]);
    const seen = ok(
      await gql(`${app.url}/graphql`, await tokenFor('huangpu-command', 'district_command'), 'query($id: ID!) { call(id: $id) { deadlines { complete limit policyVersion notes } } }', { id }),
    ).call;
    expect(seen.deadlines).toEqual({ complete: limit.toISOString(), limit: limit.toISOString(), policyVersion: 'default-2026', notes: [note] });
  });

  it('steps in order: a call received Friday night is not due to be signed after it must be completed', async () => {
    // 12345 紧急 at the grid, received Fri 10/16 21:00, its limit 2 hours → 23:00. Grid normal would
    // be: sign 2 working hours → Mon 10/19 11:00, respond 4 working hours → Mon 13:30–…: all clamp to 23:00.
    const externalId = `GZ12345-${randomUUID()}`;
    await app.intake.apply(
      sourceCall('hotline', externalId, { receivedAt: at('2026-10-16', '21:00').toISOString(), completeBy: at('2026-10-16', '23:00').toISOString() }),
    );
    expect(shown(await stored(sourceCallId('hotline', externalId)))).toEqual({
      sign: '2026-10-16 23:00',
      respond: '2026-10-16 23:00',
      complete: '2026-10-16 23:00',
    });
  });

  it('reopen keeps the source limit and the notice: rework within the limit', async () => {
    // A 12345 order received Mon 2026-12-28 10:00 whose limit was counted into 2027 without data.
    const externalId = `GZ12345-${randomUUID()}`;
    const note = '2027年无官方节假日数据，按周末规则推算 (no official holiday data for 2027; weekends only)';
    const limit = at('2027-01-05', '18:00');
    await app.intake.apply(
      sourceCall('hotline', externalId, { receivedAt: at('2026-12-28', '10:00').toISOString(), completeBy: limit.toISOString(), deadlineNotes: [note] }),
    );
    const id = sourceCallId('hotline', externalId);
    await clock(at('2026-12-28', '11:00')).act(id, { kind: 'call_up' }, GRID);
    await clock(at('2026-12-28', '12:00')).act(id, { kind: 'sign' }, COMMUNITY);
    await clock(at('2026-12-29', '10:00')).act(id, { kind: 'complete', result: '已清理' }, COMMUNITY);
    // Reopened Wed 12/30 10:00: community normal 3 working days → 12/31, 1/1 (no data), 1/4 → 1/4 18:00,
    // inside the limit; the notes stay (the 2027 one once).
    const reopened = await clock(at('2026-12-30', '10:00')).act(id, { kind: 'reopen', reason: '仍有车辆' }, GRID);
    expect(shown(reopened).complete).toBe('2027-01-04 18:00');
    expect(reopened.deadlines.notes).toEqual([note]);
    expect(reopened.deadlines.limit).toEqual(limit);
  });
});

describe('extensions', () => {
  it('extensions: within the original limit, once, and a grant after the deadline keeps the miss', async () => {
    // Community normal, received Mon 10/12 10:00: complete 3 working days → 10/13, 10/14, 10/15 → 10/15 18:00.
    const id = await atCommunity(at('2026-10-12', '09:00'), at('2026-10-12', '10:00'));
    await clock(at('2026-10-12', '11:00')).act(id, { kind: 'sign' }, COMMUNITY);
    // More than the original 3 working days: refused, nothing written.
    const tooLong = await clock(at('2026-10-13', '10:00'))
      .act(id, { kind: 'request_extension', workingDays: 4, reason: '需协调物业' }, COMMUNITY)
      .catch(ruleOf);
    expect(tooLong).toMatchObject({ code: 'DEADLINE_RULE', rule: 'extension.within_original' });
    expect((await stored(id)).pendingRequest).toBeUndefined();
    await clock(at('2026-10-13', '10:00')).act(id, { kind: 'request_extension', workingDays: 3, reason: '需协调物业' }, COMMUNITY);
    // Decided by the command centre, by nobody else.
    const byCaller = await clock(at('2026-10-13', '11:00'))
      .act(id, { kind: 'decide_extension', grant: true, note: '同意' }, GRID)
      .catch(ruleOf);
    expect(byCaller).toMatchObject({ code: 'FORBIDDEN' });
    // Granted Fri 10/16 09:00, after the deadline: the new deadline is 3 working days after 10/15 →
    // 10/16, 10/19, 10/20 → 10/20 18:00, and the miss of 10/15 18:00 stays recorded.
    const granted = await clock(at('2026-10-16', '09:00')).act(id, { kind: 'decide_extension', grant: true, note: '同意' }, COMMAND);
    expect(shown(granted).complete).toBe('2026-10-20 18:00');
    expect(granted.overdueSteps).toContain('COMPLETE');
    expect(granted.extension).toMatchObject({ workingDays: 3, missed: true });
    // A second extension is refused (three grants once moved 10/12 to 2027-02-15).
    const again = await clock(at('2026-10-16', '10:00'))
      .act(id, { kind: 'request_extension', workingDays: 1, reason: '再延' }, COMMUNITY)
      .catch(ruleOf);
    expect(again).toMatchObject({ code: 'DEADLINE_RULE', rule: 'extension.once' });
  });

  it('extensions: a grant after a late completion keeps the miss', async () => {
    // Due 10/15 18:00 (as above); asked 10/14, completed late on 10/16 09:00, granted 10/16 10:00.
    const id = await atCommunity(at('2026-10-12', '09:00'), at('2026-10-12', '10:00'));
    await clock(at('2026-10-12', '11:00')).act(id, { kind: 'sign' }, COMMUNITY);
    await clock(at('2026-10-14', '10:00')).act(id, { kind: 'request_extension', workingDays: 2, reason: '需协调物业' }, COMMUNITY);
    await clock(at('2026-10-16', '09:00')).act(id, { kind: 'complete', result: '已清理' }, COMMUNITY);
    const granted = await clock(at('2026-10-16', '10:00')).act(id, { kind: 'decide_extension', grant: true, note: '同意' }, COMMAND);
    expect(granted.overdueSteps).toContain('COMPLETE');
    expect(granted.extension).toMatchObject({ missed: true });
  });

  it('extensions: asked after the deadline is refused', async () => {
    const id = await atCommunity(at('2026-10-12', '09:00'), at('2026-10-12', '10:00'));
    await clock(at('2026-10-12', '11:00')).act(id, { kind: 'sign' }, COMMUNITY);
    // Due 10/15 18:00; asked 10/15 18:00.
    const late = await clock(at('2026-10-15', '18:00'))
      .act(id, { kind: 'request_extension', workingDays: 1, reason: '来不及' }, COMMUNITY)
      .catch(ruleOf);
    expect(late).toMatchObject({ code: 'DEADLINE_RULE', rule: 'extension.before_deadline' });
  });

  it('extensions: a 信访 call is extended by at most 30 days', async () => {
    // Received and accepted Mon 10/12: handle within 60 days → 12/11 (Fri) → the end of 12/11.
    const externalId = `HPXF-${randomUUID()}`;
    await app.intake.apply(
      sourceCall('petition', externalId, { receivedAt: at('2026-10-12', '10:00').toISOString(), completeBy: at('2026-10-28', '00:00').toISOString() }),
    );
    const id = sourceCallId('petition', externalId);
    await clock(at('2026-10-12', '11:00')).act(id, { kind: 'call_up' }, GRID);
    await clock(at('2026-10-12', '12:00')).act(id, { kind: 'sign' }, COMMUNITY);
    const handleBy = at('2026-12-12', '00:00');
    await app.intake.apply({
      commandId: randomUUID(),
      source: 'petition',
      externalId,
      kind: 'update_call',
      occurredAt: new Date().toISOString(),
      update: { action: 'accept', note: '已受理', completeBy: handleBy.toISOString() },
    });
    // 25 working days after Sat 12/12: 12/14 … 2027-01-18 ≈ 37 days > 30: refused.
    const long = await clock(at('2026-10-13', '10:00'))
      .act(id, { kind: 'request_extension', workingDays: 25, reason: '需调查' }, COMMUNITY)
      .catch(ruleOf);
    expect(long).toMatchObject({ code: 'DEADLINE_RULE', rule: 'extension.petition_30_days' });
    // 20 working days: 12/14–12/18 (5), 12/21–12/25 (10), 12/28–12/31 (14), 1/1 (15, no data), 1/4–1/8 (20)
    // → 2027-01-08 18:00, 27¾ days after 12/12 00:00: allowed.
    await clock(at('2026-10-13', '10:00')).act(id, { kind: 'request_extension', workingDays: 20, reason: '需调查' }, COMMUNITY);
    const granted = await clock(at('2026-10-14', '10:00')).act(id, { kind: 'decide_extension', grant: true, note: '同意' }, COMMAND);
    expect(shown(granted).complete).toBe('2027-01-08 18:00');
    // Only a granted extension moves the outer bound.
    expect(granted.deadlines.limit).toEqual(at('2027-01-08', '18:00'));
  });
});

describe('信访 appeals', () => {
  const appeal = (petitionNo: string, stage: 'review' | 'rereview', unitId: string) =>
    sourceCall('petition', `${petitionNo}/${stage === 'review' ? '复查' : '复核'}`, {
      unitId,
      identityProtected: true,
      receivedAt: new Date().toISOString(),
      completeBy: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      appeal: { stage, of: stage === 'review' ? petitionNo : `${petitionNo}/复查` },
    });

  it('信访 复核 only after a 复查: without one it is refused', async () => {
    await expect(app.intake.apply(appeal(`HPXF-${randomUUID()}`, 'rereview', 'luogang'))).rejects.toMatchObject({
      code: 'rule',
      message: expect.stringContaining('复核须在复查之后'),
    });
  });

  it('信访 复查 and 复核 are decided one level above the unit complained about', async () => {
    // A street (萝岗街) complained about: its 复查 goes to the district (leadership), not to the street.
    const petitionNo = `HPXF-${randomUUID()}`;
    await app.intake.apply(appeal(petitionNo, 'review', 'luogang'));
    const review = await stored(sourceCallId('petition', `${petitionNo}/复查`));
    expect(review).toMatchObject({ status: 'DISPATCHED', tier: 'LEADERSHIP', handlingUnitId: 'huangpu-leaders', originUnitId: 'luogang' });
    // With the 复查 on record, the 复核 is taken, also above the street.
    await app.intake.apply(appeal(petitionNo, 'rereview', 'luogang'));
    expect(await stored(sourceCallId('petition', `${petitionNo}/复核`))).toMatchObject({ handlingUnitId: 'huangpu-leaders' });
    // A community complained about: its street decides.
    const other = `HPXF-${randomUUID()}`;
    await app.intake.apply(appeal(other, 'review', 'changzhou-c1'));
    expect(await stored(sourceCallId('petition', `${other}/复查`))).toMatchObject({ tier: 'STREET', handlingUnitId: 'changzhou' });
  });
});

describe('late 三防 orders', () => {
  it('late 三防 orders are still orders: issued at once, marked late in GraphQL and the event', async () => {
    // A red warning issued 61 minutes ago reaches intake now: its 1-hour deadline passed a minute ago.
    const externalId = `SF-W-${randomUUID()}`;
    const deadline = new Date(Date.now() - 60_000);
    await app.intake.apply({
      commandId: randomUUID(),
      source: 'sanfang',
      externalId,
      kind: 'issue_order',
      occurredAt: new Date(Date.now() - 61 * 60_000).toISOString(),
      order: { title: '暴雨红色预警：巡查', description: '请立即巡查', kind: 'INSPECTION', priority: 'URGENT', unitIds: ['changzhou'], deadline: deadline.toISOString() },
    });
    const order = await waitFor('the late order', async () => (await app.models.Order.findOne({ 'sourceRef.externalId': externalId }).lean()) ?? undefined);
    const seen = ok(
      await gql(`${app.url}/graphql`, await tokenFor('changzhou', 'street'), 'query($id: ID!) { order(id: $id) { late deadline status } }', { id: order._id }),
    ).order;
    expect(seen).toEqual({ late: true, deadline: deadline.toISOString(), status: 'OPEN' });
    const event = await waitFor('order.issued', () => orderEvents.records.find((r) => r.orderId === order._id && r.type === 'order.issued'));
    expect(event.data).toMatchObject({ late: true });
    // A person's order with a past deadline is still refused.
    const refused = await gql(
      `${app.url}/graphql`,
      await tokenFor('huangpu-command', 'district_command'),
      'mutation($input: IssueOrderInput!) { issueOrder(input: $input) { id } }',
      { input: { title: '巡查', description: '巡查', kind: 'INSPECTION', unitIds: ['changzhou'], deadline: deadline.toISOString() } },
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
