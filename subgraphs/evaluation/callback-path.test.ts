// The 12345 call-back path end to end over the real Kafka and FerretDB (DOMAIN.md "12345 call-back"):
// a hotline work order → the hotline connector → hub.intake → the calls subgraph → hub.call-events →
// evaluation. The call is resolved at grid level (booked for its street); the citizen's first
// call-back is 不满意 and sends it back for rework (重办); the second is 满意. The Beijing rates count
// the call-backs' own answers, not the hub's respond step.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectorsApp, connectorsConfig, startConnectors } from '../../connectors/app.ts';
import { loadConfig } from '../../platform/config.ts';
import { createKafka, type Producer } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { startTestCalls } from '../../test/support/calls.ts';
import { gql, ok, tokenFor } from '../../test/support/graphql.ts';
import { testScope } from '../../test/support/isolation.ts';
import { waitFor } from '../../test/support/wait.ts';
import type { CallsApp } from '../calls/app.ts';
import { sourceCallId } from '../calls/intake.ts';
import { type EvaluationApp, evaluationConfig, startEvaluation } from './app.ts';
import { periodOf } from './domain/period.ts';

const scope = testScope('callback-path');
let calls: CallsApp;
let connectors: ConnectorsApp;
let evaluation: EvaluationApp;
let producer: Producer;

beforeAll(async () => {
  calls = await startTestCalls(scope);
  connectors = await startConnectors(loadConfig(connectorsConfig, { ...scope.env, PORT: '0', CONNECTOR_RETRY_BASE_MS: '10' }));
  evaluation = await startEvaluation(loadConfig(evaluationConfig, { ...scope.env, PORT: '0', EVALUATION_DB: scope.database('eval') }));
  producer = createKafka(scope.config, 'test-hotline', createLogger('test', 'warn')).producer();
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await connectors?.service.shutdown('test');
  await evaluation?.service.shutdown('test');
  await calls?.service.shutdown('test');
  await scope.cleanup();
});

const ORDER = 'GZ12345-20261204-0001';

async function hotline(record: Record<string, unknown>) {
  await producer.send({
    topic: connectors.topics.hotlineOrders,
    messages: [{ key: ORDER, value: JSON.stringify({ record_id: `R-${randomUUID()}`, order_no: ORDER, record_time: new Date().toISOString(), ...record }) }],
  });
}

describe('a 12345 call-back from the hotline to the scores', () => {
  it('sends the call back for rework on 不满意, closes it on 满意, and scores the street on the call-backs\' own answers', async () => {
    const now = new Date().toISOString();
    await hotline({
      record_type: 'NEW',
      accept_time: now,
      channel: '电话',
      appeal_type: '投诉',
      category_path: ['城乡建设', '施工噪音'],
      content: '市民来电反映：长洲街深井社区某工地夜间施工，凌晨两点还在打桩。',
      coord: { x: 113.4025, y: 23.0651, crs: 'WGS84' },
      caller_name: '陈大文',
      caller_phone: '13812345678',
      urgency: '一般',
    });
    const id = sourceCallId('hotline', ORDER);
    const stored = (what: string, ready: (c: any) => boolean) =>
      waitFor<any>(what, async () => {
        const c = await calls.models.Call.findById(id).lean();
        return c && ready(c) ? c : undefined;
      });
    const raised = await stored('the call', () => true);
    expect(raised).toMatchObject({ originUnitId: 'changzhou-c1-g1', tier: 'GRID' });
    const month = periodOf(raised.raisedAt);

    const grid = await tokenFor('changzhou-c1-g1', 'grid_worker');
    const complete = async (result: string) =>
      ok(await gql(`${calls.url}/graphql`, grid, 'mutation($id: ID!, $r: String!) { completeCall(id: $id, result: $r) { status } }', { id, r: result }));

    // The grid handles it itself: completing closes it at once.
    await complete('已责令工地停止夜间施工');
    await stored('closed by the grid', (c) => c.status === 'CLOSED');
    // 回访 1: the unit did contact the citizen, not resolved, 不满意 → back for rework (重办).
    await hotline({ record_type: 'CALLBACK', callback: { contacted: true, resolved: false, satisfaction: '不满意', comment: '夜里还在施工' } });
    const reworked = await stored('the rework', (c) => c.status === 'REOPENED');
    expect(reworked).toMatchObject({ reopenCount: 1, callbacks: [{ contacted: true, resolved: false, satisfaction: 'UNSATISFIED' }] });
    await complete('已查封打桩设备，夜间停工');
    await stored('completed again', (c) => c.status === 'COMPLETED');
    // 回访 2: contacted, resolved, 满意 → closed, rated 4 stars by the call-back.
    await hotline({ record_type: 'CALLBACK', callback: { contacted: true, resolved: true, satisfaction: '满意' } });
    const closed = await stored('closed by the call-back', (c) => c.status === 'CLOSED' && c.callbacks?.length === 2);
    expect(closed.rating).toMatchObject({ stars: 4, satisfaction: 'SATISFIED' });

    // Evaluation: the grid's call is booked for its street (长洲街), with both call-backs.
    const street = await tokenFor('changzhou', 'street');
    const url = `${evaluation.url}/graphql`;
    const entries = await waitFor<any[]>('the call scored', async () => {
      const q = `{ _entities(representations: [{ __typename: "Call", id: "${id}" }]) { ... on Call { evaluation { entries { unit { id } fact onTime stars note } } } } }`;
      const e = ok(await gql(url, street, q))._entities[0].evaluation?.entries;
      return e?.some((x: any) => x.fact === "rating") ? e : undefined;
    });
    expect(entries.map((e: any) => [e.unit.id, e.fact, e.onTime, e.stars])).toEqual([
      ['changzhou', 'reopen', null, null],
      ['changzhou', 'callback', null, null],
      ['changzhou', 'complete', true, null],
      ['changzhou', 'rating', null, 4],
      ['changzhou', 'callback', null, null],
    ]);
    expect(entries.filter((e: any) => e.fact === 'callback').map((e: any) => e.note)).toEqual([
      '12345回访：已联系、未解决、不满意',
      '12345回访：已联系、已解决、满意',
    ]);

    const perf = `{ _entities(representations: [{ __typename: "Unit", id: "changzhou" }]) { ... on Unit {
      huangpu: performance(period: "${month}", scheme: HUANGPU) { score dimensions { key items points } deductions { key count } }
      beijing: performance(period: "${month}", scheme: BEIJING) { score dimensions { key items points } } } } }`;
    const unit = ok(await gql(url, street, perf))._entities[0];
    // Beijing, over the 2 valid call-backs: 响应率 2/2 × 10 = 10; 解决率 1/2 × 50 = 25;
    // 满意率 (1 satisfied + 0.9 × 0 basic)/2 × 40 = 20. Total 55 (the hub's own steps are not asked).
    expect(unit.beijing).toEqual({
      score: 55,
      dimensions: [
        { key: 'RESPONSE', items: 2, points: 10 },
        { key: 'RESOLUTION', items: 2, points: 25 },
        { key: 'SATISFACTION', items: 2, points: 20 },
      ],
    });
    // Huangpu: no sign-off at grid level (empty: no points, does not count); 及时响应办理 1/1 and
    // 满意度 4★ = 0.8 share the 100 over weights 40 + 30: 40 × 100/70 = 57.1429, 30 × 100/70 × 0.8 =
    // 34.2857; the rework costs 1: 91.4286 − 1 = 90.43.
    expect(unit.huangpu).toEqual({
      score: 90.43,
      dimensions: [
        { key: 'SIGN_OFF', items: 0, points: 0 },
        { key: 'HANDLING', items: 1, points: 57.1429 },
        { key: 'SATISFACTION', items: 1, points: 34.2857 },
      ],
      deductions: [{ key: 'reopened', count: 1 }],
    });
  });
});
