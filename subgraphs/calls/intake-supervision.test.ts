// Intake from hub.intake (idempotent, dead letters) and supervision (warn, urge exactly once) with two
// copies of the calls service on one database and one Kafka, as production runs them.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redrive } from '../../connectors/redrive.ts';
import { contract } from '../../platform/contracts.ts';
import { createKafka, type Producer, topicName } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { deadLetterContext } from '../../platform/dead-letter.ts';
import { sealIntakeCommand } from '../../platform/personal-data.ts';
import { Keyring } from '../../platform/personal-keys.ts';
import { TOPICS } from '../../platform/topics.ts';
import { type Collected, collect, startTestCalls } from '../../test/support/calls.ts';
import { gql, ok, tokenFor } from '../../test/support/graphql.ts';
import { testScope } from '../../test/support/isolation.ts';
import { waitFor } from '../../test/support/wait.ts';
import type { CallsApp } from './app.ts';
import { sourceCallId } from './intake.ts';

const scope = testScope('calls-intake');
let first: CallsApp;
let second: CallsApp;
let producer: Producer;
let dlq: Collected;
let events: Collected;

beforeAll(async () => {
  [first, second] = [await startTestCalls(scope), await startTestCalls(scope)];
  producer = createKafka(scope.config, 'test-intake', createLogger('test', 'warn')).producer();
  await producer.connect();
  dlq = await collect(scope, first.topics.intakeDlq);
  events = await collect(scope, first.topics.callEvents);
});

afterAll(async () => {
  await Promise.all([dlq.stop(), events.stop(), producer.disconnect()]);
  await Promise.all([first.service.shutdown('test'), second.service.shutdown('test')]);
  await scope.cleanup();
});

const noiseCall = {
  title: '工地夜间施工噪音投诉',
  description: '市民来电反映：科学城某工地夜间施工，凌晨还在打桩，严重影响休息。我叫陈大文，电话13812345678。',
  category: '城市管理',
  priority: 'NORMAL',
  location: { lng: 113.4025, lat: 23.0651 },
  citizen: { name: '陈大文', phone: '13812345678' },
  receivedAt: new Date().toISOString(),
};

/** A 12345 order's create_call as the hotline connector writes it: the caller's contact sealed. */
function hotlineOrder(externalId: string, overrides: Record<string, unknown> = {}) {
  const command = { commandId: randomUUID(), source: 'hotline', externalId, kind: 'create_call', occurredAt: new Date().toISOString(), call: noiseCall, ...overrides };
  return sealIntakeCommand(command as typeof command & { call: typeof noiseCall }, scope.keys);
}

async function send(...records: Array<Record<string, unknown> | string>) {
  await producer.send({
    topic: first.topics.intake,
    messages: records.map((r) => ({
      key: typeof r === 'string' ? 'bad' : `${r.source as string}:${r.externalId as string}`,
      value: typeof r === 'string' ? r : JSON.stringify(r),
    })),
  });
}

describe('intake from hub.intake', () => {
  it('makes one call of a record delivered twice, routed to the grid that holds its point', async () => {
    const order = hotlineOrder('GZ12345-20261122-0001');
    await send(order, { ...order, commandId: randomUUID() });
    const id = sourceCallId('hotline', 'GZ12345-20261122-0001');
    const call = await waitFor('the hotline call', () => first.store.get(id).then((c) => c ?? undefined));
    expect(call).toMatchObject({ source: 'HOTLINE', originUnitId: 'changzhou-c1-g1', status: 'RAISED' });
    await waitFor('both records consumed', async () => {
      const raised = events.records.filter((e) => e.callId === id && e.type === 'call.raised');
      return raised.length === 1 ? raised : undefined;
    });
    expect(await first.models.Call.countDocuments({ 'sourceRef.externalId': 'GZ12345-20261122-0001' })).toBe(1);
    // Personal data stays out of the published event.
    const published = JSON.stringify(events.records.filter((e) => e.callId === id));
    expect(published).not.toContain('13812345678');
    expect(published).not.toContain('陈大文');
  });

  it('masks the citizen for a grid worker and shows the handling unit and command centre in full', async () => {
    const id = sourceCallId('hotline', 'GZ12345-20261122-0001');
    const query = 'query($id: ID!) { call(id: $id) { description citizen { name phone masked } } }';
    const grid = ok(await gql(`${first.url}/graphql`, await tokenFor('changzhou-c1-g1', 'grid_worker'), query, { id })).call;
    expect(grid.citizen).toEqual({ name: '陈大文', phone: '13812345678', masked: false });
    // The description as the caller gave it, to those who may call back; masked for the others.
    expect(grid.description).toBe(noiseCall.description);
    const community = ok(await gql(`${first.url}/graphql`, await tokenFor('changzhou-c1', 'community'), query, { id })).call;
    expect(community.citizen).toEqual({ name: '陈**', phone: '138****5678', masked: true });
    expect(community.description).toBe('市民来电反映：科学城某工地夜间施工，凌晨还在打桩，严重影响休息。我叫陈**，电话138****5678。');
  });

  it('dead-letters a poison record between two good ones with its reason, and keeps consuming', async () => {
    await send(
      hotlineOrder('GZ12345-20261122-0002'),
      '{"not json',
      hotlineOrder('GZ12345-20261122-0003', { call: { title: 'x' } }),
      hotlineOrder('GZ12345-20261122-0004', {
        call: { ...noiseCall, location: { lng: 120.1, lat: 30.2 } },
      }),
      hotlineOrder('GZ12345-20261122-0005'),
    );
    // The two good records' keys fall on different partitions: each is awaited on its own.
    for (const orderNo of ['GZ12345-20261122-0002', 'GZ12345-20261122-0005']) {
      await waitFor(`the good record ${orderNo}`, async () => ((await first.store.get(sourceCallId('hotline', orderNo))) ? true : undefined));
    }
    const dead = await waitFor('three dead letters', () => (dlq.records.length >= 3 ? dlq.records : undefined));
    // Different keys land on different partitions, so the dead letters come in no fixed order.
    expect(dead).toHaveLength(3);
    // The same dead letters as the connectors write, so that connectors:redrive can put them back.
    const valid = contract('dead-letter');
    // (A dead letter has a key field of its own, which stands in for the collector's record key.)
    for (const letter of dead) expect(valid(letter)).toEqual({ ok: true, value: letter });
    expect(dead.map((d) => [d.reasonCode, d.reason]).sort()).toEqual([
      ['invalid_json', 'invalid JSON'],
      ['outside_district', expect.stringContaining('outside every grid')],
      ['schema', expect.stringContaining("fails its schema: /call must have required property 'description'")],
    ]);
    const poison = dead.find((d) => d.reasonCode === 'invalid_json');
    expect(poison).toMatchObject({ connector: 'calls-intake', value: { text: '{"not json' }, key: { text: 'bad' }, sourceTopic: first.topics.intake });
    expect(poison?.deadLetterId).toBe(`${first.topics.intake}:${poison?.partition}:${poison?.offset}`);
  });

  it('re-drives a command for a unit the directory did not know yet, once the unit is published', async () => {
    // A 12345 order for a community founded this week: the party map has not published it yet.
    const order = hotlineOrder('GZ12345-20261122-0100', {
      call: { ...noiseCall, unitId: 'changzhou-c9', location: undefined },
    });
    await send(order);
    const refused = await waitFor('the refusal', () => dlq.records.find((d) => d.reasonCode === 'unknown_unit'));
    expect(refused.reason).toBe('unknown unit changzhou-c9');
    const id = sourceCallId('hotline', 'GZ12345-20261122-0100');
    expect(await first.store.get(id)).toBeNull();

    // The party map publishes the new community; both copies learn it.
    await producer.send({
      topic: topicName(scope.config, TOPICS.units),
      messages: [
        {
          key: 'changzhou-c9',
          value: JSON.stringify({
            schema: 'hub.units/v1',
            eventId: randomUUID(),
            unitId: 'changzhou-c9',
            version: 1,
            changedAt: new Date().toISOString(),
            unit: {
              id: 'changzhou-c9', name: '新设社区', kind: 'community', parentId: 'changzhou', path: ['huangpu', 'changzhou', 'changzhou-c9'],
              gridType: null, focus: null, crs: 'WGS84', bbox: null, centre: null, boundary: null,
            },
          }),
        },
      ],
    });
    await waitFor('both copies knowing the community', () =>
      first.directory.get('changzhou-c9') && second.directory.get('changzhou-c9') ? true : undefined,
    );

    const kafka = createKafka(scope.config, 'test-redrive', createLogger('test', 'warn'));
    const result = await redrive({
      kafka,
      topic: first.topics.intakeDlq,
      groupId: topicName(scope.config, 'connectors-redrive'),
      reason: 'unknown_unit',
      logger: createLogger('test', 'warn'),
      keys: scope.keys,
    });
    // Only the unknown unit goes back; the poison records of the test above stay where they are.
    expect({ redriven: result.redriven, passedOver: result.passedOver }).toEqual({ redriven: 1, passedOver: 3 });
    const call = await waitFor('the re-driven call', () => first.store.get(id).then((c) => c ?? undefined));
    expect(call).toMatchObject({ source: 'HOTLINE', originUnitId: 'changzhou-c9', sourceRef: { system: 'hotline', externalId: 'GZ12345-20261122-0100' } });
    // Nothing new was refused.
    expect(dlq.records.filter((d) => d.reasonCode === 'unknown_unit')).toHaveLength(1);
  });

  it('records an update to a closed call without reopening it, and takes the call-back rating', async () => {
    const id = sourceCallId('hotline', 'GZ12345-20261122-0002');
    const grid = await tokenFor('changzhou-c1-g1', 'grid_worker');
    ok(
      await gql(`${first.url}/graphql`, grid, 'mutation($id: ID!) { completeCall(id: $id, result: "已责令停工") { status } }', { id }),
    );
    const base = { source: 'hotline', externalId: 'GZ12345-20261122-0002', occurredAt: new Date().toISOString() };
    await send(
      { ...base, commandId: randomUUID(), kind: 'update_call', update: { action: 'urge', note: '市民再次来电催办' } },
      { ...base, commandId: randomUUID(), kind: 'rate_call', rating: { satisfaction: 'SATISFIED', contacted: true, resolved: true } },
    );
    const call = await waitFor('the update and rating', async () => {
      const c = await first.models.Call.findById(id).lean();
      return c?.rating ? c : undefined;
    });
    expect(call.status).toBe('CLOSED');
    expect(call.rating).toMatchObject({ stars: 4, satisfaction: 'SATISFIED' });
    expect(call.timeline.map((t) => t.action)).toEqual(['raise', 'complete', 'source_urge', 'source_rating']);
  });

  it('12345 call-back (DOMAIN.md "12345 call-back"): 不满意 sends the call back for rework once, the second goes to the command centre, and each answer is published', async () => {
    const orderNo = 'GZ12345-20261122-0200';
    const id = sourceCallId('hotline', orderNo);
    await send(hotlineOrder(orderNo));
    await waitFor('the call', () => first.store.get(id).then((c) => c ?? undefined));
    const grid = await tokenFor('changzhou-c1-g1', 'grid_worker');
    const complete = async (result: string) =>
      ok(await gql(`${first.url}/graphql`, grid, 'mutation($id: ID!, $r: String!) { completeCall(id: $id, result: $r) { status } }', { id, r: result }));
    const callback = (satisfaction: string, resolved: boolean) => ({
      commandId: randomUUID(),
      source: 'hotline',
      externalId: orderNo,
      kind: 'callback',
      occurredAt: new Date().toISOString(),
      callback: { contacted: true, resolved, satisfaction },
    });
    const stored = (ready: (c: any) => boolean) => waitFor<any>('the call-back applied', async () => {
      const c = await first.models.Call.findById(id).lean();
      return c && ready(c) ? c : undefined;
    });

    await complete('已责令停工');
    // First 不满意: back for rework (重办) at the unit that answered, with a new completion deadline.
    await send(callback('UNSATISFIED', false));
    const reworked = await stored((c) => c.callbacks?.length === 1);
    expect(reworked).toMatchObject({ status: 'REOPENED', reopenCount: 1, supervisionCount: 0, handlingUnitId: 'changzhou-c1-g1' });
    expect(reworked.completedAt).toBeUndefined();
    expect(reworked.rating).toBeUndefined();

    // Second 不满意 after the rework: to the district command centre (督办), and the call stays open.
    await complete('已再次整改');
    await send(callback('UNSATISFIED', false));
    const escalated = await stored((c) => c.callbacks?.length === 2);
    expect(escalated).toMatchObject({ status: 'COMPLETED', reopenCount: 1, supervisionCount: 1 });
    expect(escalated.timeline.at(-1)).toMatchObject({ action: 'callback_to_command', toUnitId: 'huangpu-command' });

    // A satisfied call-back closes it; its answer is the rating.
    await send(callback('SATISFIED', true));
    const closed = await stored((c) => c.callbacks?.length === 3);
    expect(closed).toMatchObject({ status: 'CLOSED', rating: { stars: 4, satisfaction: 'SATISFIED' } });

    // Every call-back's own answers reach hub.call-events (what the Beijing rates count).
    const published = await waitFor('three call-back events', () => {
      const found = events.records.filter((e) => e.callId === id && e.type === 'call.callback');
      return found.length === 3 ? found : undefined;
    });
    expect(published.map((e) => [e.data.outcome, e.call.callbackCount, e.call.callback.satisfaction, e.call.callback.resolved])).toEqual([
      ['rework', 1, 'UNSATISFIED', false],
      ['to_command_centre', 2, 'UNSATISFIED', false],
      ['closed', 3, 'SATISFIED', true],
    ]);
    expect(JSON.stringify(published)).not.toContain('13812345678');

    // Only the source that created the call records its call-backs: not another connector, not a person.
    const answers = { kind: 'callback' as const, contacted: true, resolved: true, satisfaction: 'VERY_SATISFIED' as const, reworks: 1 };
    const sanfang = { subject: 'sanfang-connector', unitId: 'huangpu', role: 'service_account' as const, scopes: ['calls:read', 'calls:write'] };
    await expect(first.store.act(id, answers, sanfang)).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    const command = { subject: 'qzh-xu', unitId: 'huangpu-command', role: 'district_command' as const, scopes: [] };
    await expect(first.store.act(id, answers, command)).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect((await first.store.get(id))?.callbacks).toHaveLength(3);
  });

  it('refuses a call-back for an order it does not know, as a dead letter', async () => {
    await send({
      commandId: randomUUID(),
      source: 'hotline',
      externalId: 'GZ12345-20261122-0299',
      kind: 'callback',
      occurredAt: new Date().toISOString(),
      callback: { contacted: true, resolved: true, satisfaction: 'SATISFIED' },
    });
    const refused = await waitFor('the refusal', () => dlq.records.find((d) => d.reasonCode === 'unknown_call' && JSON.stringify(d.value).includes('0299')));
    expect(refused.reason).toContain('unknown call');
  });

  it('withdraws a call its source revokes', async () => {
    await send({
      commandId: randomUUID(),
      source: 'hotline',
      externalId: 'GZ12345-20261122-0005',
      kind: 'revoke_call',
      occurredAt: new Date().toISOString(),
      reason: '市民撤诉',
    });
    await waitFor('the withdrawal', async () => {
      const c = await first.store.get(sourceCallId('hotline', 'GZ12345-20261122-0005'));
      return c?.status === 'WITHDRAWN' ? c : undefined;
    });
  });

  it('refuses a contact in clear on hub.intake; the dead letter shows it masked and keeps the original sealed', async () => {
    const externalId = 'GZ12345-20261122-0210';
    const clear = { commandId: randomUUID(), source: 'hotline', externalId, kind: 'create_call', occurredAt: new Date().toISOString(), call: noiseCall };
    // The test plays a producer that breaks the contract: its own record is the one allowed in clear.
    scope.allowClear({ topic: first.topics.intake, key: `hotline:${externalId}`, why: 'a producer that puts the caller in clear' });
    await send(clear);
    const letter = await waitFor('the refusal', () => dlq.records.find((d) => d.value?.text?.includes(externalId)));
    expect(letter).toMatchObject({ reasonCode: 'schema', reason: expect.stringContaining('must NOT have additional properties') });
    expect(letter.value.text).toContain('"citizen":{"name":"陈**","phone":"138****5678"}');
    expect(JSON.stringify(letter)).not.toMatch(/13812345678|陈大文/);
    // The re-drive opens the original exactly.
    const original = scope.keys.open(letter.value.sealed, deadLetterContext(letter.deadLetterId, 'value'));
    expect(JSON.parse(original.toString('utf8'))).toEqual(clear);
    expect(await first.store.get(sourceCallId('hotline', externalId))).toBeNull();
  });

  it('dead-letters a contact sealed under a key it does not hold (unknown_key), naming the key, and makes no call', async () => {
    const externalId = 'GZ12345-20261122-0201';
    const stranger = new Keyring([{ id: 'k9', key: randomBytes(32) }]);
    await send(sealIntakeCommand({ commandId: randomUUID(), source: 'hotline', externalId, kind: 'create_call', occurredAt: new Date().toISOString(), call: noiseCall }, stranger));
    const letter = await waitFor('the refusal', () => dlq.records.find((d) => d.reasonCode === 'unknown_key'));
    expect(letter.reason).toContain('sealed with key "k9", which is not among PERSONAL_DATA_KEYS (dev)');
    expect(await first.store.get(sourceCallId('hotline', externalId))).toBeNull();
    // A contact moved from another record does not open either.
    const moved = hotlineOrder('GZ12345-20261122-0202');
    await send({ ...moved, externalId: 'GZ12345-20261122-0203' });
    const refused = await waitFor('the moved contact refused', () =>
      dlq.records.find((d) => d.reasonCode === 'unknown_key' && d.reason.includes('intake:hotline:GZ12345-20261122-0203')),
    );
    expect(refused.reason).toContain('moved from another record');
  });
});

describe('supervision with two copies of the service', () => {
  it('warns before a step falls due and urges an overdue step exactly once', async () => {
    const token = await tokenFor('yuzhu-c2-g3', 'grid_worker', 'gw-mo');
    const raised = ok(
      await gql(`${first.url}/graphql`, token, `mutation { raiseCall(input: {
        title: "消防通道被堵", description: "小区消防通道堆放杂物", category: "安全生产" }) { call { id deadlines { complete } } } }`),
    ).raiseCall.call;
    const complete = new Date(raised.deadlines.complete);
    const raisedAt = Date.now();
    // 85% of the way to the deadline: both warnings (50%, 80%) are due; both copies look at once.
    const nearly = new Date(raisedAt + 0.85 * (complete.getTime() - raisedAt));
    await Promise.all([first.scheduler.tick(nearly), second.scheduler.tick(nearly)]);
    // Past the deadline, many ticks from both copies at once: one urge.
    const late = new Date(complete.getTime() + 60_000);
    await Promise.all([0, 1, 2].flatMap(() => [first.scheduler.tick(late), second.scheduler.tick(late)]));
    const call = await first.models.Call.findById(raised.id).lean();
    expect(call?.overdueSteps).toEqual(['COMPLETE']);
    expect(call?.urgeCount).toBe(1);
    expect(call?.timeline.filter((t) => t.action === 'urge')).toHaveLength(1);
    expect(call?.timeline.filter((t) => t.action === 'due_soon')).toHaveLength(1);
    // Either copy may have recorded it: the other's lists show it once its event arrives (call-index.ts).
    const overdue = await waitFor('the overdue call in the first copy’s inbox', async () => {
      const edges = ok(await gql(`${first.url}/graphql`, token, '{ inbox(box: OVERDUE) { edges { node { id overdueSteps } } } }')).inbox.edges;
      return edges.length > 0 ? edges : undefined;
    });
    expect(overdue).toEqual([{ node: { id: raised.id, overdueSteps: ['COMPLETE'] } }]);
    // The grid's counters count it as overdue now (worked out only when asked for).
    const counters = ok(
      await gql(`${first.url}/graphql`, token, 'query($f: DateTime!, $t: DateTime!) { callCounters(scopeUnitId: "yuzhu-c2-g3", from: $f, to: $t) { raised overdueNow } }', {
        f: new Date(raisedAt - 86_400_000).toISOString(),
        t: new Date(raisedAt + 86_400_000).toISOString(),
      }),
    ).callCounters;
    expect(counters).toEqual({ raised: 1, overdueNow: 1 });
    const published = await waitFor('the urge event', () => {
      const urges = events.records.filter((e) => e.callId === raised.id && e.type === 'call.urged');
      return urges.length > 0 ? urges : undefined;
    });
    expect(published).toHaveLength(1);
  });
});
