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
let partyMapUrl: string;
const clients: Client[] = [];

beforeAll(async () => {
  calls = await startTestCalls(scope);
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

/** A graphql-ws subscriber collecting every message of one subscription (`messages`: whole, with extensions). */
function subscribe(token: string, query: string, variables: Record<string, unknown> = {}, at = url) {
  const client = createClient({ url: at.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  clients.push(client);
  const received: any[] = [];
  const messages: any[] = [];
  const errors: any[] = [];
  client.subscribe(
    { query, variables },
    {
      next: (m) => {
        messages.push(m);
        if (m.errors) errors.push(...m.errors);
        else received.push(m.data);
      },
      error: (e) => errors.push(...(Array.isArray(e) ? e : [e])),
      complete: () => undefined,
    },
  );
  return { client, received, messages, errors };
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

  it('resumes a dashboard from its cursor: what it missed while away, in order, then live; on a restarted gateway copy too', async () => {
    const district = await tokenFor('huangpu-command', 'district_command');
    const grid = await tokenFor('changzhou-c3-g1', 'grid_worker');
    const raise = async (title: string) =>
      ok(await gql(url, grid, 'mutation($t: String!) { raiseCall(input: { title: $t, description: "续传测试：井盖缺失需尽快处理", category: "城市管理" }) { call { id } } }', { t: title }))
        .raiseCall.call.id as string;
    const live = 'subscription($after: String) { callUpdated(after: $after) { id status tier } }';
    const before = gateway.streams.calls.size;
    const first = subscribe(district, live);
    await waitFor('the dashboard subscribed', () => (gateway.streams.calls.size > before ? true : undefined));
    const a = await raise('续传甲');
    const seen = await waitFor('call A on the dashboard', () => first.messages.find((m) => m.data?.callUpdated.id === a));
    const cursor = seen.extensions.cursor as string;
    expect(cursor).toMatch(/^\d+(\.\d+){5}$/);

    // The dashboard goes away (its gateway restarts); the hub goes on.
    await first.client.dispose();
    await waitFor('the dashboard gone', () => (gateway.streams.calls.size === before ? true : undefined));
    const awayFrom = new Date().toISOString();
    const missed: string[] = [];
    const stopWatching = gateway.streams.calls.listen(({ event }) => missed.push(event.callId));
    ok(await gql(url, grid, 'mutation($id: ID!) { callUp(id: $id, note: "需社区协调") { status } }', { id: a }));
    const b = await raise('续传乙');
    await waitFor('both changes on the topic', () => (missed.includes(a) && missed.includes(b) ? true : undefined));
    stopWatching();

    // Back with its cursor: every event of the gap, in the order the topic holds them, then live ones.
    const back = subscribe(district, live, { after: cursor });
    await waitFor('what was missed', () => (back.received.length >= missed.length ? true : undefined));
    expect(back.received.map((m) => m.callUpdated.id)).toEqual(missed);
    const c = await raise('续传丙');
    await waitFor('call C live after the replay', () => back.received.find((m) => m.callUpdated.id === c));
    expect(back.received.slice(0, missed.length + 1).map((m) => m.callUpdated.id)).toEqual([...missed, c]);
    expect(back.messages.every((m) => typeof m.extensions?.cursor === 'string')).toBe(true);

    // Another gateway copy (or this one restarted) resumes the same cursor: it read the topic from
    // Kafka's offsets, not from "latest". Each call's events keep their order (one partition holds
    // them); different calls' may interleave otherwise than on the first copy.
    const copy = await startTestGateway(scope, { calls: calls.url, partyMap: partyMapUrl, evaluation: evaluation.url });
    try {
      const elsewhere = subscribe(district, live, { after: cursor }, `${copy.url}/graphql`);
      await waitFor('the replay on the other copy', () => (elsewhere.received.length >= missed.length + 1 ? true : undefined));
      expect(elsewhere.received.slice(0, missed.length + 1).map((m) => m.callUpdated.id).sort()).toEqual([...missed, c].sort());
      // A cursor the topic cannot serve is refused, telling the client to re-query.
      const stale = subscribe(district, live, { after: '0' }, `${copy.url}/graphql`);
      const garbled = subscribe(district, live, { after: 'yesterday' }, `${copy.url}/graphql`);
      await waitFor('both refused', () => (stale.errors.length > 0 && garbled.errors.length > 0 ? true : undefined));
      expect(stale.errors[0].extensions.code).toBe('CURSOR_EXPIRED');
      expect(garbled.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    } finally {
      await copy.service.shutdown('test');
    }

    // Re-querying: the calls changed since the dashboard went away, and none changed only before.
    const changed = ok(await gql(url, district, 'query($from: DateTime!) { calls(filter: { updatedFrom: $from }, first: 50) { edges { node { id } } } }', { from: awayFrom }));
    expect(changed.calls.edges.map((e: { node: { id: string } }) => e.node.id).sort()).toEqual([a, b, c].sort());
  });
});
