// The connectors end to end over the real Kafka and FerretDB, with the real calls subgraph: each
// source's record → call (or order) → feedback record; cross-source duplicates handled once; bad
// records dead-lettered with their reason between good ones; a dead letter re-driven after a fix.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../platform/config.ts';
import { createKafka, type Producer } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { calendarWith, formatShanghai, type HolidayTable, shanghaiDay, shanghaiTime, shiftDay, WorkCalendar } from '../rules/calendar.ts';
import { petitionDeadline } from '../rules/deadlines.ts';
import { convert } from '../subgraphs/party-map/geo/crs.ts';
import type { CallsApp } from '../subgraphs/calls/app.ts';
import { sourceCallId } from '../subgraphs/calls/intake.ts';
import { type Collected, collect, startTestCalls } from '../test/support/calls.ts';
import { gql, ok, tokenFor } from '../test/support/graphql.ts';
import { testScope } from '../test/support/isolation.ts';
import { waitFor } from '../test/support/wait.ts';
import { type ConnectorsApp, connectorsConfig, startConnectors } from './app.ts';
import { redrive } from './redrive.ts';
import { hotlineCommand } from './hotline/hotline.ts';
import { Places } from './runtime/places.ts';
import { warningOrderId } from './sanfang/sanfang.ts';
import { capWarningId } from './sanfang/cap.ts';
import { capSample, OBSERVATORY, XML_ATTACKS } from './sanfang/cap-samples.ts';
import { collectHeaders } from '../test/support/calls.ts';

const scope = testScope('connectors');
let calls: CallsApp;
let connectors: ConnectorsApp;
let producer: Producer;
const collected: Record<string, Collected> = {};
const kafka = createKafka(scope.config, 'test-connectors', createLogger('test', 'warn'));

// The operator's holiday table the connectors count on (HOLIDAY_OVERRIDES_PATH). TEST DATA: the next
// working day after today is declared a day off (say, a typhoon), so a count that uses the table
// differs from one that does not.
const plain = new WorkCalendar();
let dayOff = shiftDay(shanghaiDay(new Date()), 1);
while (!plain.isWorkingDay(dayOff)) dayOff = shiftDay(dayOff, 1);
const HOLIDAYS: HolidayTable = { years: [], days: [{ date: dayOff, kind: 'holiday', name: '台风停工（测试）' }] };
const holidaysPath = join(tmpdir(), `holidays-${randomUUID()}.json`);
writeFileSync(holidaysPath, JSON.stringify(HOLIDAYS));
const calendar = calendarWith(HOLIDAYS);

const start = (env: Record<string, string> = {}) =>
  startConnectors(
    loadConfig(connectorsConfig, { ...scope.env, PORT: '0', CONNECTOR_RETRY_BASE_MS: '10', HOLIDAY_OVERRIDES_PATH: holidaysPath, ...env }),
  );

beforeAll(async () => {
  calls = await startTestCalls(scope);
  connectors = await start();
  producer = kafka.producer();
  await producer.connect();
  const t = connectors.topics;
  for (const [name, topic] of Object.entries({
    intake: t.intake,
    hotlineFeedback: t.hotlineFeedback,
    petitionFeedback: t.petitionFeedback,
    alerts: t.alerts,
    callEvents: t.callEvents,
    hotlineDlq: `${t.hotlineOrders}.dlq`,
    warningsDlq: `${t.floodWarnings}.dlq`,
    capReceived: t.capReceived,
  })) {
    collected[name] = await collect(scope, topic);
  }
});

afterAll(async () => {
  await Promise.all([...Object.values(collected).map((c) => c.stop()), producer.disconnect()]);
  await connectors.service.shutdown('test');
  await calls.service.shutdown('test');
  await scope.cleanup();
});

const now = () => new Date().toISOString();
const records = (name: string) => collected[name]?.records ?? [];
const gridWorker = () => tokenFor('changzhou-c1-g1', 'grid_worker');

async function send(topic: string, key: string, value: unknown, headers: Record<string, string> = {}) {
  await producer.send({ topic, messages: [{ key, value: typeof value === 'string' ? value : JSON.stringify(value), headers }] });
}

// A building site in 长洲街 深井社区 第1网格 (WGS-84), and the same place as AMap (GCJ-02) gives it.
const SITE = { lng: 113.4025, lat: 23.0651 };
const [gcjLng, gcjLat] = convert([SITE.lng, SITE.lat], 'WGS84', 'GCJ02');

function hotlineNew(orderNo: string, overrides: Record<string, unknown> = {}) {
  return {
    record_id: `R-${randomUUID()}`,
    record_type: 'NEW',
    order_no: orderNo,
    record_time: now(),
    accept_time: now(),
    channel: '电话',
    appeal_type: '投诉',
    category_path: ['城乡建设', '施工噪音'],
    title: '工地夜间施工噪音扰民',
    content: '市民来电反映：长洲街深井社区某工地夜间施工，凌晨两点还在打桩，噪音严重影响休息，要求查处。',
    address: '广州市黄埔区长洲街深井社区深井村工地',
    coord: { x: gcjLng, y: gcjLat, crs: 'GCJ02' },
    caller_name: '陈大文',
    caller_phone: '13812345678',
    urgency: '一般',
    ...overrides,
  };
}

async function completeCall(id: string, result: string) {
  ok(await gql(`${calls.url}/graphql`, await gridWorker(), 'mutation($id: ID!, $r: String!) { completeCall(id: $id, result: $r) { status } }', { id, r: result }));
}

const storedCall = (id: string, ready: (c: any) => boolean = () => true): Promise<any> =>
  waitFor<any>(`call ${id}`, async () => {
    const call = await calls.models.Call.findById(id).lean();
    return call && ready(call) ? call : undefined;
  });

describe('12345 hotline', () => {
  it('turns a work order into a call, writes the handling result back, and takes the call-back rating', async () => {
    const orderNo = 'GZ12345-20260601-0001';
    const traceId = 'a'.repeat(32);
    await send(connectors.topics.hotlineOrders, orderNo, hotlineNew(orderNo), { traceparent: `00-${traceId}-${'b'.repeat(16)}-01` });
    const id = sourceCallId('hotline', orderNo);
    const call = await storedCall(id);
    expect(call).toMatchObject({ source: 'HOTLINE', category: '城市管理', priority: 'NORMAL', originUnitId: 'changzhou-c1-g1' });
    // GCJ-02 came in; WGS-84 is stored, within a metre of the site.
    expect(Math.abs(call.location.lng - SITE.lng)).toBeLessThan(1e-5);
    expect(Math.abs(call.location.lat - SITE.lat)).toBeLessThan(1e-5);
    // A complaint (投诉) has 15 working days from receipt, that day included, on the operator's table.
    expect(call.deadlines.complete).toEqual(calendar.addWorkingDays(call.raisedAt, 15, 'include_start_day'));
    expect(call.citizen).toEqual({ name: '陈大文', phone: '13812345678' });
    // The trace continues into hub.intake, as a new span of the same trace.
    const command = await waitFor('the intake command', () => records('intake').find((r) => r.externalId === orderNo));
    expect(command?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(command?.traceparent).not.toContain('b'.repeat(16));
    // The caller's contact goes sealed for the calls subgraph, never in clear.
    expect(command.call.citizen).toBeUndefined();
    expect(command.call.personal).toMatch(/^pd1\.dev\.[0-9a-f]+$/);
    expect(JSON.stringify(command)).not.toMatch(/13812345678|陈大文/);

    await completeCall(id, '已责令工地停止夜间施工，市民电话13812345678已回复');
    const feedback = await waitFor('the handling result', () => records('hotlineFeedback').find((r) => r.order_no === orderNo));
    // The grid handled what it received itself: completing closes the call at once.
    expect(feedback).toMatchObject({
      key: orderNo,
      result_type: '办结',
      status: 'CLOSED',
      call_id: id,
      handle_unit: { id: 'changzhou-c1-g1', name: '深井社区第1网格' },
    });
    expect(feedback.handle_result).toContain('已责令工地停止夜间施工');
    expect(feedback.handle_result).not.toContain('13812345678');
    expect(feedback.handle_result).toContain('市民电话138****5678已回复');

    await send(connectors.topics.hotlineOrders, orderNo, {
      record_id: `R-${randomUUID()}`,
      record_type: 'CALLBACK',
      order_no: orderNo,
      record_time: now(),
      callback: { contacted: true, resolved: true, satisfaction: '满意' },
    });
    const closed = await storedCall(id, (c) => c.rating);
    expect(closed.status).toBe('CLOSED');
    expect(closed.rating).toMatchObject({ stars: 4, satisfaction: 'SATISFIED' });
    // The call-back's own answers travel whole (DOMAIN.md "12345 call-back": what the Beijing rates count).
    const callback = await waitFor('the callback command', () => records('intake').find((r) => r.externalId === orderNo && r.kind === 'callback'));
    expect(callback.callback).toEqual({ contacted: true, resolved: true, satisfaction: 'SATISFIED' });
    expect(closed.callbacks).toMatchObject([{ contacted: true, resolved: true, satisfaction: 'SATISFIED' }]);
    // A call-back that did not reach the citizen (no satisfaction) is recorded only: not a valid call-back.
    await send(connectors.topics.hotlineOrders, orderNo, {
      record_id: `R-${randomUUID()}`,
      record_type: 'CALLBACK',
      order_no: orderNo,
      record_time: now(),
      callback: { contacted: false },
    });
    const noted = await storedCall(id, (c) => c.timeline.some((t: any) => t.note === '12345回访：未联系上市民'));
    expect(noted.callbacks).toHaveLength(1);
  });

  it('routes an order without coordinates by the place its address names, and applies urge and extension once each', async () => {
    const orderNo = 'GZ12345-20260601-0002';
    await send(
      connectors.topics.hotlineOrders,
      orderNo,
      hotlineNew(orderNo, { coord: undefined, address: '黄埔区鱼珠街茅岗社区茅岗路88号', category_path: ['交通运输'], appeal_type: '求助', content: '小区门口僵尸车停放半年无人处理' }),
    );
    const id = sourceCallId('hotline', orderNo);
    await storedCall(id);
    const urge = { record_id: `R-${randomUUID()}`, record_type: 'URGE', order_no: orderNo, record_time: now(), note: '市民再次来电催办' };
    const newDue = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const extend = { record_id: `R-${randomUUID()}`, record_type: 'EXTEND', order_no: orderNo, record_time: now(), new_due_time: newDue, note: '需协调交警拖移' };
    // The hotline sends the urge twice (its own retry): applied once.
    for (const record of [urge, urge, extend]) await send(connectors.topics.hotlineOrders, orderNo, record);
    const call = await storedCall(id, (c) => c.timeline.some((t: any) => t.action === 'source_extend'));
    expect(call).toMatchObject({ originUnitId: 'yuzhu-c2', category: '交通管理' });
    expect(call.timeline.filter((t: any) => t.action === 'source_urge')).toHaveLength(1);
    expect(new Date(call.deadlines.complete).toISOString()).toBe(newDue);
  });
});

describe('三防', () => {
  it('orders the streets of a warning to inspect within its level, closes the order when it is lifted, and alerts dashboards', async () => {
    const issuedAt = now();
    const warning = {
      warningId: 'SF-W-20260601-01',
      action: 'ISSUE',
      hazard: 'RAINSTORM',
      signal: 'RED',
      areas: ['长洲街', 'lianhe'],
      title: '黄埔区暴雨红色预警',
      content: '预计未来3小时黄埔区将出现100毫米以上降水，请做好防御。',
      issuedAt,
    };
    await send(connectors.topics.floodWarnings, warning.warningId, warning);
    const orderId = warningOrderId(warning.warningId);
    const order = await waitFor<any>('the inspection order', async () => (await calls.models.Order.findById(orderId).lean()) ?? undefined);
    expect(order).toMatchObject({ kind: 'INSPECTION', priority: 'URGENT', status: 'OPEN', assignedUnitIds: ['changzhou', 'lianhe'] });
    expect(new Date(order.deadline).getTime()).toBe(new Date(issuedAt).getTime() + 3_600_000);
    const alert = await waitFor('the warning alert', () => records('alerts').find((a) => a.alertId === warning.warningId && a.kind === 'WARNING'));
    expect(alert).toMatchObject({ colour: 'RED', hazard: 'RAINSTORM', areaUnitIds: ['changzhou', 'lianhe'], orderId, source: 'sanfang' });

    await send(connectors.topics.floodWarnings, warning.warningId, { ...warning, action: 'LIFT', liftedAt: now() });
    await waitFor('the order closed', async () => ((await calls.models.Order.findById(orderId).lean())?.status === 'CLOSED' ? true : undefined));
    await waitFor('the lifted alert', () => records('alerts').find((a) => a.alertId === warning.warningId && a.kind === 'WARNING_LIFTED'));
  });

  it('CAP 1.2: typhoon and rainstorm alert → update → cancel become orders and are lifted; a drill orders nothing; expires lifts; XML attacks are dead-lettered', async () => {
    const capAlerts = await collectHeaders(scope, connectors.topics.alertsCap);
    try {
      const order = (identifier: string) => calls.models.Order.findById(warningOrderId(capWarningId(OBSERVATORY, identifier))).lean() as Promise<any>;
      const status = (identifier: string, wanted: string) =>
        waitFor(`order of ${identifier} ${wanted}`, async () => ((await order(identifier))?.status === wanted ? true : undefined));
      const run = `${Date.now()}`;
      const id = (name: string) => `${name}-${run}`;
      const sent = new Date(Date.now() - 5 * 60_000);
      const south = '<polygon>23.07,113.41 23.07,113.47 23.10,113.47 23.10,113.41 23.07,113.41</polygon>';
      const whole = '<geocode><valueName>行政区划代码</valueName><value>440112</value></geocode>';
      const put = (identifier: string, xml: string) => send(connectors.topics.floodWarnings, `${OBSERVATORY}:${identifier}`, xml);

      // Typhoon: orange over 长洲街 and 联和街, updated to red over the whole district, then cancelled.
      await put(id('TY'), capSample({ identifier: id('TY'), sent, hazard: 'typhoon', colour: '橙色', severity: 'Severe', area: south }));
      await status(id('TY'), 'OPEN');
      expect(await order(id('TY'))).toMatchObject({ kind: 'INSPECTION', assignedUnitIds: ['changzhou', 'lianhe'] });
      // The same document again (a re-send) changes nothing.
      await put(id('TY'), capSample({ identifier: id('TY'), sent, hazard: 'typhoon', colour: '橙色', severity: 'Severe', area: south }));
      const updateSent = new Date(sent.getTime() + 60_000);
      await put(id('TY-U'), capSample({ identifier: id('TY-U'), msgType: 'Update', sent: updateSent, references: [[id('TY'), sent]], hazard: 'typhoon', colour: '红色', severity: 'Extreme', area: whole }));
      await status(id('TY-U'), 'OPEN');
      await status(id('TY'), 'CLOSED');
      expect((await order(id('TY-U'))).assignedUnitIds).toHaveLength(8);
      // A red typhoon signal: inspection within the hour from its issue.
      expect(new Date((await order(id('TY-U'))).deadline).getTime()).toBe(Math.floor(updateSent.getTime() / 1000) * 1000 + 3_600_000);
      await put(id('TY-C'), capSample({ identifier: id('TY-C'), msgType: 'Cancel', sent: new Date(), references: [[id('TY-U'), updateSent]], hazard: 'typhoon', colour: '红色', severity: 'Extreme', area: whole }));
      await status(id('TY-U'), 'CLOSED');

      // Rainstorm: yellow by a circle, updated to red, cancelled.
      await put(id('RS'), capSample({ identifier: id('RS'), sent, hazard: 'rainstorm', colour: '黄色', severity: 'Moderate', area: '<circle>23.10,113.50 3</circle>' }));
      await status(id('RS'), 'OPEN');
      expect((await order(id('RS'))).assignedUnitIds).toEqual(['lianhe', 'luogang', 'yuzhu']);
      await put(id('RS-U'), capSample({ identifier: id('RS-U'), msgType: 'Update', sent: updateSent, references: [[id('RS'), sent]], hazard: 'rainstorm', colour: '红色', severity: 'Extreme', area: '<circle>23.10,113.50 3</circle>' }));
      await status(id('RS-U'), 'OPEN');
      await status(id('RS'), 'CLOSED');
      await put(id('RS-C'), capSample({ identifier: id('RS-C'), msgType: 'Cancel', sent: new Date(), references: [[id('RS-U'), updateSent]], hazard: 'rainstorm', colour: '红色', severity: 'Extreme', area: south }));
      await status(id('RS-U'), 'CLOSED');

      // A warning whose `expires` comes two seconds after it arrives is lifted then.
      await put(id('EX'), capSample({ identifier: id('EX'), sent: new Date(), expires: new Date(Date.now() + 2_000), hazard: 'rainstorm', colour: '黄色', severity: 'Moderate', area: south }));
      await status(id('EX'), 'OPEN');
      await status(id('EX'), 'CLOSED');

      // An exercise orders nothing and reaches no dashboard; its document is kept for audit.
      await put(id('DR'), capSample({ identifier: id('DR'), status: 'Exercise', sent, hazard: 'rainstorm', colour: '红色', severity: 'Extreme', area: south }));
      const drill = await waitFor('the exercise kept for audit', () => records('capReceived').find((r) => r.identifier === id('DR')));
      expect(drill).toMatchObject({ status: 'Exercise', outcome: 'skipped', reason: expect.stringContaining('Exercise') });
      expect(drill.xml).toContain('<status>Exercise</status>');
      expect(await order(id('DR'))).toBeNull();
      expect(records('alerts').some((a) => a.alertId === capWarningId(OBSERVATORY, id('DR')))).toBe(false);

      // Each alert on hub.alerts also went out as CAP 1.2, under the same key.
      const typhoonAlert = capWarningId(OBSERVATORY, id('TY'));
      await waitFor('the typhoon warning and its lifting as CAP', () => (capAlerts.records.filter((r) => r.key === typhoonAlert).length >= 2 ? true : undefined));
      expect(records('alerts').filter((a) => a.alertId === typhoonAlert).map((a) => a.kind)).toEqual(expect.arrayContaining(['WARNING', 'WARNING_LIFTED']));

      // XML attacks: dead letters with the reason, nothing ordered.
      for (const attack of XML_ATTACKS) await send(connectors.topics.floodWarnings, `attack:${run}`, attack.xml);
      const letters = await waitFor<any[]>('the attacks dead-lettered', () => {
        const mine = records('warningsDlq').filter((d) => d.key?.text === `attack:${run}`);
        return mine.length >= XML_ATTACKS.length ? mine : undefined;
      });
      expect(letters.map((l) => l.reasonCode)).toEqual(XML_ATTACKS.map((a) => a.code));
      expect(letters[1].reason).toContain('never expanded');
    } finally {
      await capAlerts.stop();
    }
  });

  it('CAP expires survives a restart: a warning expiring soon is lifted at its expiry by the copy started again, one already lifted is not lifted twice', async () => {
    const run = `${Date.now()}`;
    const south = '<polygon>23.07,113.41 23.07,113.47 23.10,113.47 23.10,113.41 23.07,113.41</polygon>';
    const put = (identifier: string, expires: Date) =>
      send(connectors.topics.floodWarnings, `${OBSERVATORY}:${identifier}`, capSample({ identifier, sent: new Date(), expires, hazard: 'rainstorm', colour: '黄色', severity: 'Moderate', area: south }));
    const status = (identifier: string, wanted: string, timeoutMs?: number) =>
      waitFor(
        `order of ${identifier} ${wanted}`,
        async () => ((await calls.models.Order.findById(warningOrderId(capWarningId(OBSERVATORY, identifier))).lean())?.status === wanted ? true : undefined),
        timeoutMs,
      );
    const lifted = (identifier: string) => records('alerts').filter((a) => a.alertId === capWarningId(OBSERVATORY, identifier) && a.kind === 'WARNING_LIFTED');
    // CAP times are whole seconds.
    const wholeSecondsFromNow = (ms: number) => new Date(Math.ceil((Date.now() + ms) / 1000) * 1000);

    const early = `EXA-${run}`;
    await put(early, wholeSecondsFromNow(1_000));
    await status(early, 'CLOSED');
    const later = `EXB-${run}`;
    const expires = wholeSecondsFromNow(10_000);
    await put(later, expires);
    await status(later, 'OPEN');

    // The copy stops before the expiry (its timer goes with it); another starts.
    await connectors.service.shutdown('test');
    expect(Date.now()).toBeLessThan(expires.getTime());
    connectors = await start();
    await status(later, 'CLOSED', 30_000);
    expect(Date.now()).toBeGreaterThanOrEqual(expires.getTime());
    const [lift] = await waitFor('the lifting alert', () => (lifted(later).length > 0 ? lifted(later) : undefined));
    expect(lift?.occurredAt).toBe(expires.toISOString());
    // The warning that had expired before the restart waits no more: lifted once only.
    expect(lifted(early)).toHaveLength(1);
  });

  it('makes an urgent call at the street that holds a waterlogging point given in BD-09', async () => {
    const point = { lng: 113.47, lat: 23.09 }; // 联和街
    const [bdLng, bdLat] = convert([point.lng, point.lat], 'WGS84', 'BD09');
    const incident = {
      incidentId: 'SF-I-20260601-07',
      type: 'WATERLOGGING',
      severity: '较大',
      position: { lng: bdLng, lat: bdLat, crs: 'BD09' },
      address: '科学大道与开创大道交界',
      description: '路面积水，车辆无法通行',
      waterDepthCm: 40,
      reportedAt: now(),
    };
    await send(connectors.topics.floodIncidents, incident.incidentId, incident);
    const call = await storedCall(sourceCallId('sanfang', incident.incidentId));
    expect(call).toMatchObject({ source: 'SANFANG', priority: 'URGENT', originUnitId: 'lianhe', category: '水务三防', itemCode: 'SW-01' });
    expect(call.title).toContain('积水约40厘米');
    const alert = await waitFor('the incident alert', () => records('alerts').find((a) => a.alertId === incident.incidentId));
    expect(alert).toMatchObject({ kind: 'INCIDENT', areaUnitIds: ['lianhe'], callId: call._id });
  });
});

function petition(petitionNo: string, overrides: Record<string, unknown> = {}) {
  return {
    recordNo: `XF-R-${randomUUID()}`,
    petitionNo,
    stage: 'REGISTERED',
    recordedAt: now(),
    form: '网上信访',
    receivedAt: now(),
    petitioner: { name: '林小红', phone: '13900001111', idNumber: '440112199001011234' },
    title: '工地夜间打桩噪音扰民',
    content: '反映长洲街深井社区一工地夜间施工打桩，噪音很大，凌晨还在施工，严重影响居民休息。',
    category: '城乡建设/施工噪音',
    location: SITE,
    ...overrides,
  };
}

describe('信访', () => {
  it('makes a protected call with the statutory limits, and sends the reply back', async () => {
    const petitionNo = 'HPXF-2026-000101';
    await send(
      connectors.topics.petitions,
      petitionNo,
      petition(petitionNo, { category: '劳动社保', title: '讨薪', content: '某公司拖欠三个月工资', location: undefined, targetUnit: '萝岗街' }),
    );
    const id = sourceCallId('petition', petitionNo);
    const call = await storedCall(id);
    expect(call).toMatchObject({ source: 'PETITION', identityProtected: true, originUnitId: 'luogang', category: '民生服务' });
    // Acceptance is decided within 15 days of receipt; once accepted, it is handled within 60 days of
    // acceptance; a last day on a holiday or rest day moves to the next working day (民法典 第二百零三条).
    expect(call.deadlines.complete).toEqual(petitionDeadline('route', call.raisedAt, calendar).due);
    expect(call.deadlines.limit).toEqual(call.deadlines.complete);
    const decidedAt = now();
    await send(connectors.topics.petitions, petitionNo, { recordNo: `XF-R-${randomUUID()}`, petitionNo, stage: 'ACCEPTED', recordedAt: now(), decidedAt });
    const handleBy = petitionDeadline('handle', new Date(decidedAt), calendar).due;
    const accepted = await storedCall(id, (c) => new Date(c.deadlines.complete).getTime() === handleBy.getTime());
    expect(accepted.deadlines.limit).toEqual(handleBy);
    // The street (not the petition's subject) does not see the petitioner.
    const seen = ok(
      await gql(`${calls.url}/graphql`, await tokenFor('luogang', 'street'), 'query($id: ID!) { call(id: $id) { citizen { name phone masked } } }', { id }),
    ).call;
    expect(JSON.stringify(seen)).not.toContain('林小红');

    ok(await gql(`${calls.url}/graphql`, await tokenFor('luogang', 'street'), 'mutation($id: ID!) { completeCall(id: $id, result: "已协调劳动监察追回欠薪") { status } }', { id }));
    const reply = await waitFor('the reply', () => records('petitionFeedback').find((r) => r.petitionNo === petitionNo));
    expect(reply).toMatchObject({ replyType: 'REPLIED', status: 'CLOSED', reply: '已协调劳动监察追回欠薪', handlingUnit: { id: 'luogang', name: '萝岗街' } });
    expect(JSON.stringify(reply)).not.toContain('林小红');
  });

  it('keeps the petitioner out of the content and address the complained-about unit reads; the district command centre reads them as written', async () => {
    const petitionNo = 'HPXF-2026-000103';
    const title = '林小红反映工地夜间施工';
    const content = '我叫林小红，电话139 0000 1111，身份证440112199001011234。萝岗街某工地夜间施工，林小红多次投诉未果。';
    const address = '萝岗街香雪社区8号（林小红家，座机020-82221111）';
    await send(connectors.topics.petitions, petitionNo, petition(petitionNo, { title, content, address, location: undefined, targetUnit: '萝岗街' }));
    const id = sourceCallId('petition', petitionNo);
    const stored = await storedCall(id);
    const secrets = /林小红|13900001111|139 0000 1111|440112199001011234|020-82221111/;
    const query = 'query($id: ID!) { call(id: $id) { title description address citizen { name phone masked } } }';
    // The street complained about: no name, phone or ID number anywhere in what it reads.
    const street = ok(await gql(`${calls.url}/graphql`, await tokenFor('luogang', 'street'), query, { id })).call;
    expect(JSON.stringify(street)).not.toMatch(secrets);
    expect(street).toEqual({
      title: '林**反映工地夜间施工',
      description: '我叫林**，电话139****1111，身份证4401**********1234。萝岗街某工地夜间施工，林**多次投诉未果。',
      address: '萝岗街香雪社区8号（林**家，座机020****1111）',
      citizen: { name: null, phone: null, masked: true },
    });
    // Nor its command centre (the petitioner's identity is the district's alone).
    const streetCommand = ok(await gql(`${calls.url}/graphql`, await tokenFor('luogang-command', 'street_command'), query, { id })).call;
    expect(JSON.stringify(streetCommand)).not.toMatch(secrets);
    // The district command centre reads what the petitioner wrote.
    const district = ok(await gql(`${calls.url}/graphql`, await tokenFor('huangpu-command', 'district_command'), query, { id })).call;
    expect(district).toEqual({ title, description: content, address, citizen: { name: '林小红', phone: '13900001111', masked: false } });
    // Stored: the visible fields scrubbed, what was written only sealed; on Kafka, nothing in clear.
    expect(JSON.stringify([stored.title, stored.description, stored.address])).not.toMatch(secrets);
    expect(stored.personal).toMatch(/^pd1\./);
    const command = await waitFor('the intake command', () => records('intake').find((r) => r.externalId === petitionNo));
    expect(JSON.stringify(command)).not.toMatch(secrets);
    await waitFor('the call raised', () => records('callEvents').find((e) => e.callId === id));
    expect(JSON.stringify(records('callEvents').filter((e) => e.callId === id))).not.toMatch(secrets);
  });

  it('handles once the same noisy site reported to 12345 and to 信访, and tells both sources the result', async () => {
    const orderNo = 'GZ12345-20260601-0009';
    const petitionNo = 'HPXF-2026-000102';
    await send(connectors.topics.hotlineOrders, orderNo, hotlineNew(orderNo));
    const hotlineCall = await storedCall(sourceCallId('hotline', orderNo));
    await send(connectors.topics.petitions, petitionNo, petition(petitionNo));
    const petitionCall = await storedCall(sourceCallId('petition', petitionNo), (c) => c.status === 'MERGED');
    expect(petitionCall.mergedInto).toBe(hotlineCall._id);
    await storedCall(hotlineCall._id, (c) => c.mergedCallIds.includes(petitionCall._id));
    const merged = await waitFor('the merge told to 信访', () => records('petitionFeedback').find((r) => r.petitionNo === petitionNo));
    expect(merged).toMatchObject({ replyType: 'MERGED', mergedInto: hotlineCall._id });

    await completeCall(hotlineCall._id, '已对工地立案查处，责令夜间停工');
    await waitFor('the 12345 result', () => records('hotlineFeedback').find((r) => r.order_no === orderNo && r.result_type === '办结'));
    await send(connectors.topics.hotlineOrders, orderNo, {
      record_id: `R-${randomUUID()}`,
      record_type: 'CALLBACK',
      order_no: orderNo,
      record_time: now(),
      callback: { contacted: true, resolved: true, satisfaction: '非常满意' },
    });
    const reply = await waitFor('the 信访 reply', () =>
      records('petitionFeedback').find((r) => r.petitionNo === petitionNo && r.replyType === 'REPLIED'),
    );
    expect(reply.reply).toBe('已对工地立案查处，责令夜间停工');
    expect(await calls.models.Call.countDocuments({ status: { $in: ['RAISED', 'COMPLETED'] }, 'sourceRef.externalId': { $in: [orderNo, petitionNo] } })).toBe(0);
  });
});

describe('source limits at the connectors', () => {
  it('12345 紧急 and 水电气热: the domain limits, applied on the way in, and a missing appeal type is refused', async () => {
    const received = new Date();
    const orders = {
      'GZ12345-20261204-0301': { urgency: '紧急', appeal_type: '投诉' },
      'GZ12345-20261204-0302': { appeal_type: '求助', category_path: ['城乡建设'], content: '长洲街深井社区整栋楼停水两天，老人无法做饭' },
      'GZ12345-20261204-0303': { appeal_type: undefined },
    };
    for (const [orderNo, fields] of Object.entries(orders)) {
      await send(connectors.topics.hotlineOrders, orderNo, hotlineNew(orderNo, { accept_time: received.toISOString(), ...fields }));
    }
    const [urgent, utility] = await Promise.all(['GZ12345-20261204-0301', 'GZ12345-20261204-0302'].map((no) => storedCall(sourceCallId('hotline', no))));
    // 紧急: 2 hours, around the clock (was 24); 停水: 24 hours (was 10 working days).
    expect(urgent.deadlines.complete).toEqual(new Date(received.getTime() + 2 * 3_600_000));
    expect(utility.deadlines.complete).toEqual(new Date(received.getTime() + 24 * 3_600_000));
    // A new order without its appeal type breaks the hotline contract: refused with its reason, never
    // given the most lenient 15 days (rules/deadlines.ts hotlineLimit takes the strictest where a type
    // may be missing).
    const letter = await waitFor('the untyped order refused', () => records('hotlineDlq').find((d) => d.key?.text === 'GZ12345-20261204-0303'));
    expect(letter).toMatchObject({ reasonCode: 'schema', reason: expect.stringContaining('appeal_type') });
    expect(await calls.store.get(sourceCallId('hotline', 'GZ12345-20261204-0303'))).toBeNull();
  });

  it('holiday table: the connectors count on the operator override table (HOLIDAY_OVERRIDES_PATH)', async () => {
    // A 咨询 received now: 2 working days, that day included. The table makes the next working day a
    // day off, so the second day is the one after it.
    const received = new Date();
    const orderNo = 'GZ12345-20261204-0304';
    await send(connectors.topics.hotlineOrders, orderNo, hotlineNew(orderNo, { accept_time: received.toISOString(), appeal_type: '咨询' }));
    const call = await storedCall(sourceCallId('hotline', orderNo));
    const withTable = calendar.addWorkingDays(received, 2, 'include_start_day');
    expect(withTable).not.toEqual(plain.addWorkingDays(received, 2, 'include_start_day'));
    expect(call.deadlines.complete).toEqual(withTable);
  });

  it('holiday table: a 12345 limit counted into 2027 without official data carries the notice', () => {
    // Received Thu 2026-12-31 10:00 as 咨询: 12/31 (1), Fri 2027-01-01 (2: no data, counted as working)
    // → 2027-01-01 18:00 with the 2027 notice. With 2027 declared (TEST DATA: New Year's Day off): 12/31 (1),
    // Mon 1/4 (2) → 2027-01-04 18:00, no notice.
    const received = shanghaiTime('2026-12-31', '10:00');
    const record = { ...hotlineNew('GZ12345-20261231-0001', { accept_time: received.toISOString(), record_time: received.toISOString(), appeal_type: '咨询' }) };
    const deps = (cal: WorkCalendar) => ({
      places: new Places(connectors.directory),
      calendar: cal,
      categories: { 城乡建设: '住房建设', '城乡建设/施工噪音': '城市管理' },
      topics: { orders: '', intake: '', callEvents: '', feedback: '' },
      keys: scope.keys,
      now: () => received,
    });
    const guessed = hotlineCommand(record as never, deps(plain)).call!;
    expect([formatShanghai(new Date(guessed.completeBy!)), guessed.deadlineNotes]).toEqual([
      '2027-01-01 18:00',
      ['2027年无官方节假日数据，按周末规则推算 (no official holiday data for 2027; weekends only)'],
    ]);
    const table: HolidayTable = { years: [{ year: 2027, notice: '测试用通知（非官方）' }], days: [{ date: '2027-01-01', kind: 'holiday', name: '元旦' }] };
    const loaded = hotlineCommand(record as never, deps(calendarWith(table))).call!;
    expect([formatShanghai(new Date(loaded.completeBy!)), loaded.deadlineNotes]).toEqual(['2027-01-04 18:00', undefined]);
  });

  it('信访 appeals: timeliness from receipt, 复查 one level above the street, 复核 without 复查 dead-lettered', async () => {
    const intakeDlq = await collect(scope, `${connectors.topics.intake}.dlq`);
    try {
      const petitionNo = 'HPXF-2026-000201';
      // The 复查 request was received on the 30th day after the answer, the last allowed (a working
      // day, so no roll), and recorded only now, a day or more later: judged by the recording it would
      // be late; judged by the receipt it is in time.
      let lastDay = shiftDay(shanghaiDay(new Date()), -1);
      while (!calendar.isWorkingDay(lastDay)) lastDay = shiftDay(lastDay, -1);
      const repliedAt = shanghaiTime(shiftDay(lastDay, -30), '10:00').toISOString();
      const receivedAt = shanghaiTime(lastDay, '10:00').toISOString();
      expect(petitionDeadline('request_review', new Date(repliedAt), calendar).due.getTime()).toBeLessThanOrEqual(Date.now());
      const review = petition(petitionNo, {
        stage: 'REVIEW_REQUESTED',
        reviewKind: '复查',
        repliedAt,
        receivedAt,
        reason: '对答复不服',
        location: undefined,
        targetUnit: '萝岗街',
      });
      await send(connectors.topics.petitions, petitionNo, review);
      const call = await storedCall(sourceCallId('petition', `${petitionNo}/复查`));
      // The street complained about does not review itself: the district does.
      expect(call).toMatchObject({ originUnitId: 'luogang', handlingUnitId: 'huangpu-leaders', tier: 'LEADERSHIP', status: 'DISPATCHED' });
      expect(call.deadlines.complete).toEqual(petitionDeadline('answer_review', new Date(receivedAt), calendar).due);

      // A 复核 of a petition that never had a 复查: refused with its reason.
      const orphan = 'HPXF-2026-000202';
      await send(connectors.topics.petitions, orphan, petition(orphan, { stage: 'REVIEW_REQUESTED', reviewKind: '复核', repliedAt, receivedAt, reason: '不服', location: undefined, targetUnit: '萝岗街' }));
      const letter = await waitFor('the refused 复核', () => intakeDlq.records.find((d) => d.key?.text === `petition:${orphan}/复核`));
      expect(letter).toMatchObject({ reasonCode: 'rule', reason: expect.stringContaining('复核须在复查之后') });
      expect(await calls.store.get(sourceCallId('petition', `${orphan}/复核`))).toBeNull();
    } finally {
      await intakeDlq.stop();
    }
  });

  it('三防 storm path: a red warning that reaches the hub after a one-hour lag is delivered, marked late', async () => {
    // Issued 61 minutes ago: its 1-hour inspection limit passed a minute ago. Still an order, at once.
    const issuedAt = new Date(Date.now() - 61 * 60_000).toISOString();
    const warning = {
      warningId: 'SF-W-20261204-LAG',
      action: 'ISSUE',
      hazard: 'RAINSTORM',
      signal: 'RED',
      areas: ['长洲街', 'lianhe'],
      title: '黄埔区暴雨红色预警',
      content: '预计未来3小时黄埔区将出现100毫米以上降水。',
      issuedAt,
    };
    await send(connectors.topics.floodWarnings, warning.warningId, warning);
    const orderId = warningOrderId(warning.warningId);
    const order = await waitFor<any>('the late order', async () => (await calls.models.Order.findById(orderId).lean()) ?? undefined);
    expect(order).toMatchObject({ late: true, status: 'OPEN', assignedUnitIds: ['changzhou', 'lianhe'] });
    expect(new Date(order.deadline).getTime()).toBe(new Date(issuedAt).getTime() + 3_600_000);
    expect(order.description).toContain('已超过巡查时限，请立即巡查');
    // The street sees it in its inbox of orders, marked late.
    const seen = ok(
      await gql(`${calls.url}/graphql`, await tokenFor('changzhou', 'street'), 'query($id: ID!) { order(id: $id) { late outstanding { unit { id } } } }', { id: orderId }),
    ).order;
    expect(seen.late).toBe(true);
    expect(seen.outstanding.map((a: any) => a.unit.id)).toContain('changzhou');
    await waitFor('the warning alert', () => records('alerts').find((a) => a.alertId === warning.warningId && a.kind === 'WARNING'));
  });
});

describe('bad records', () => {
  it('dead-letters each bad record with its reason, between good ones, and never stops the partition', async () => {
    const key = 'GZ12345-20260601-0100';
    const bad: Array<[string, unknown]> = [
      ['invalid_json', '{"record_id": "R-1", "record_type": '],
      ['schema', { ...hotlineNew(key), appeal_type: '表扬' }],
      ['unknown_category', hotlineNew('GZ12345-20260601-0102', { category_path: ['燃气安全', '瓶装气'] })],
      ['impossible_date', hotlineNew('GZ12345-20260601-0103', { accept_time: '2026-02-30T10:00:00+08:00' })],
      ['impossible_date', hotlineNew('GZ12345-20260601-0104', { accept_time: '2030-01-01T10:00:00+08:00' })],
      ['outside_district', hotlineNew('GZ12345-20260601-0105', { coord: { x: 113.264, y: 23.129, crs: 'WGS84' } })],
      ['too_large', hotlineNew('GZ12345-20260601-0106', { content: '很长的内容'.repeat(20_000) })],
    ];
    // Everything on one key, so on one partition, in this order: good, the bad ones, good.
    await producer.send({
      topic: connectors.topics.hotlineOrders,
      messages: [
        { key, value: JSON.stringify(hotlineNew('GZ12345-20260601-0101')) },
        ...bad.map(([, value]) => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value) })),
        { key, value: JSON.stringify(hotlineNew('GZ12345-20260601-0107')) },
      ],
    });
    await storedCall(sourceCallId('hotline', 'GZ12345-20260601-0107'));
    await storedCall(sourceCallId('hotline', 'GZ12345-20260601-0101'));
    const letters = await waitFor<any[]>('the dead letters', () => {
      // The dead letter's own `key` field (the original key, as text) overrides the collector's.
      const mine = records('hotlineDlq').filter((d) => d.key?.text === key);
      return mine.length >= bad.length ? mine : undefined;
    });
    expect(letters.map((l) => l.reasonCode)).toEqual(bad.map(([code]) => code));
    const poison = letters[0];
    expect(poison).toMatchObject({
      sourceTopic: connectors.topics.hotlineOrders,
      connector: 'hotline-orders',
      value: { text: bad[0]?.[1] },
      reason: 'invalid JSON',
    });
    expect(Number(letters[1].offset)).toBe(Number(poison.offset) + 1);
    // A work order in a dead letter: readable with the caller masked, the original sealed for the re-drive.
    expect(letters[1].value.text).toContain('"caller_phone":"138****5678"');
    expect(letters[1].value.text).toContain('"caller_name":"陈**"');
    expect(letters[1].value.sealed).toMatch(/^pd1\.dev\./);
    expect(JSON.stringify(letters)).not.toMatch(/13812345678|陈大文/);
    expect(letters[5].reason).toContain('outside the district');
    for (const id of ['0102', '0103', '0104', '0105', '0106']) {
      expect(await calls.store.get(sourceCallId('hotline', `GZ12345-20260601-${id}`))).toBeNull();
    }
    const metrics = await (await fetch(`${connectors.service.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/huying_connector_dead_letters_total\{[^}]*reason="too_large"[^}]*\} 1/);
    expect(metrics).toContain('huying_connector_lag_records');
  });

  it('re-drives a dead letter after the fix (a category added to the map) into a call', async () => {
    const id = sourceCallId('hotline', 'GZ12345-20260601-0102');
    const mapPath = join(tmpdir(), `categories-${randomUUID()}.json`);
    writeFileSync(mapPath, JSON.stringify({ 燃气安全: '安全生产' }));
    await connectors.service.shutdown('test: restart with the new category map');
    connectors = await start({ HOTLINE_CATEGORY_MAP_PATH: mapPath });
    const result = await redrive({
      kafka,
      topic: `${connectors.topics.hotlineOrders}.dlq`,
      groupId: `${scope.config.TOPIC_PREFIX}connectors-redrive`,
      reason: 'unknown_category',
      logger: createLogger('test', 'warn'),
      keys: scope.keys,
    });
    expect(result.redriven).toBe(1);
    const call = await storedCall(id);
    expect(call).toMatchObject({ category: '安全生产', originUnitId: 'changzhou-c1-g1' });
    // A second run finds nothing new to re-drive.
    const again = await redrive({
      kafka,
      topic: `${connectors.topics.hotlineOrders}.dlq`,
      groupId: `${scope.config.TOPIC_PREFIX}connectors-redrive`,
      logger: createLogger('test', 'warn'),
      keys: scope.keys,
    });
    expect(again.redriven).toBe(0);
  });
});
