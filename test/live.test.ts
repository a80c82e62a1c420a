// Live subscriptions through the gateway over a real graphql-ws client, fed by the real event topics:
// the inbox (hub.call-events), dashboard counters (the evaluation subgraph's hub.counters, resolved
// through the graph), and 三防 alerts (hub.alerts) by area.
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { startGateway } from '../gateway/app.ts';
import { loadConfig } from '../platform/config.ts';
import { createKafka, topicName } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { TOPICS } from '../platform/topics.ts';
import type { CallsApp } from '../subgraphs/calls/app.ts';
import { type EvaluationApp, evaluationConfig, startEvaluation } from '../subgraphs/evaluation/app.ts';
import type { PartyMap } from '../subgraphs/party-map/app.ts';
import { startTestCalls } from './support/calls.ts';
import { startTestGateway, startTestPartyMap } from './support/gateway.ts';
import { gql, ok, tokenFor } from './support/graphql.ts';
import { testScope } from './support/isolation.ts';
import { waitFor } from './support/wait.ts';

const scope = testScope('live');
let calls: CallsApp;
let partyMap: PartyMap;
let evaluation: EvaluationApp;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let url: string;
const clients: Client[] = [];

beforeAll(async () => {
  calls = await startTestCalls(scope);
  let partyMapUrl: string;
  ({ partyMap, url: partyMapUrl } = await startTestPartyMap(scope));
  evaluation = await startEvaluation(loadConfig(evaluationConfig, { ...scope.env, PORT: '0', EVALUATION_DB: scope.database('eval') }));
  gateway = await startTestGateway(scope, { calls: calls.url, partyMap: partyMapUrl, evaluation: evaluation.url });
  url = `${gateway.url}/graphql`;
}, 120_000);

afterAll(async () => {
  for (const client of clients) void client.dispose();
  await gateway.service.shutdown('test');
  await evaluation.service.shutdown('test');
  await calls.service.shutdown('test');
  await partyMap.service.shutdown('test');
  await scope.cleanup();
});

/** A graphql-ws subscriber collecting every message of one subscription. */
function subscribe(token: string, query: string, variables: Record<string, unknown> = {}) {
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  clients.push(client);
  const received: any[] = [];
  const errors: unknown[] = [];
  client.subscribe({ query, variables }, { next: (m) => (m.errors ? errors.push(...m.errors) : received.push(m.data)), error: (e) => errors.push(e), complete: () => undefined });
  return { received, errors };
}

describe('live subscriptions', () => {
  it('tells a community its inbox changed when a grid calls a matter up to it, and no other community', async () => {
    const grid = await tokenFor('changzhou-c1-g1', 'grid_worker');
    const mine = subscribe(await tokenFor('changzhou-c1', 'community'), 'subscription { inboxChanged { id status tier handlingUnit { name } } }');
    const other = subscribe(await tokenFor('lianhe-c1', 'community'), 'subscription { inboxChanged { id } }');
    await waitFor('two inbox subscribers', () => (gateway.streams.calls.size >= 2 ? true : undefined));

    const raised = ok(await gql(url, grid, `mutation { raiseCall(input: { title: "楼道堆放杂物", description: "楼道堆放大量杂物，存在消防隐患",
      category: "城市管理" }) { call { id } } }`)).raiseCall.call;
    ok(await gql(url, grid, 'mutation($id: ID!) { callUp(id: $id, note: "需社区协调") { status } }', { id: raised.id }));
    const change = await waitFor('the inbox change', () => mine.received.find((m) => m.inboxChanged.tier === 'COMMUNITY'));
    expect(change.inboxChanged).toEqual({ id: raised.id, status: 'DISPATCHED', tier: 'COMMUNITY', handlingUnit: { name: '深井社区' } });
    expect(other.received).toEqual([]);
  });

  it('streams a street’s dashboard counters, resolved through the graph, only to those who may see the street', async () => {
    const district = subscribe(await tokenFor('huangpu-command', 'district_command'),
      'subscription { dashboardCounters(scope: "changzhou") { raised scope { id name } } }');
    const outsider = subscribe(await tokenFor('lianhe', 'street'), 'subscription { dashboardCounters(scope: "changzhou") { raised } }');
    // Another street is refused when it subscribes (platform/policy.ts), before anything is streamed.
    await waitFor('the outsider refused', () => (outsider.errors.length > 0 ? true : undefined));
    expect(JSON.stringify(outsider.errors)).toContain('FORBIDDEN');
    await waitFor('the counter subscriber', () => (gateway.streams.counters.size >= 1 ? true : undefined));

    const grid = await tokenFor('changzhou-c2-g1', 'grid_worker');
    ok(await gql(url, grid, `mutation { raiseCall(input: { title: "路灯不亮", description: "小区门口路灯损坏，夜间出行不便",
      category: "城市管理" }) { call { id } } }`));
    const update = await waitFor('counters for changzhou', () => district.received.find((m) => m.dashboardCounters.raised >= 1), 15_000);
    // The street's name comes from the party-map subgraph: the payload went through the federated graph.
    expect(update.dashboardCounters.scope).toEqual({ id: 'changzhou', name: '长洲街' });
    expect(outsider.received).toEqual([]);
  });

  it('delivers a 三防 warning to the streets of its area and the district, never to another street', async () => {
    const fields = 'alertId kind colour level title areaUnitIds';
    const gridInArea = subscribe(await tokenFor('changzhou-c1-g2', 'grid_worker'), `subscription { floodAlerts { ${fields} } }`);
    const district = subscribe(await tokenFor('huangpu-command', 'district_command'), `subscription { floodAlerts { alertId } }`);
    const elsewhere = subscribe(await tokenFor('lianhe', 'street'), `subscription { floodAlerts { alertId } }`);
    await waitFor('three alert subscribers', () => (gateway.streams.alerts.size >= 3 ? true : undefined));

    const kafka = createKafka(scope.config, 'test-alerts', createLogger('test', 'warn'));
    const producer = kafka.producer();
    await producer.connect();
    const alert = {
      eventId: 'w-2026-0611-1:WARNING',
      alertId: 'w-2026-0611-1',
      kind: 'WARNING',
      hazard: 'RAINSTORM',
      colour: 'RED',
      level: 'I',
      title: '暴雨红色预警：长洲街立即开展积水点巡查',
      areaUnitIds: ['changzhou'],
      occurredAt: new Date().toISOString(),
      source: 'sanfang',
    };
    await producer.send({ topic: topicName(scope.config, TOPICS.alerts), messages: [{ key: alert.alertId, value: JSON.stringify(alert) }] });
    await producer.disconnect();

    const seen = await waitFor('the warning at the grid', () => gridInArea.received[0]);
    expect(seen.floodAlerts).toEqual({ alertId: alert.alertId, kind: 'WARNING', colour: 'RED', level: 'I', title: alert.title, areaUnitIds: ['changzhou'] });
    await waitFor('the warning at the district', () => district.received[0]);
    expect(elsewhere.received).toEqual([]);
  });
});
