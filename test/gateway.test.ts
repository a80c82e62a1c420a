// The federated graph through the gateway, over the real calls and party-map subgraphs on the local
// Kafka and FerretDB: a query joining both, identity checks, and a subgraph that goes away.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { startGateway } from '../gateway/app.ts';
import type { CallsApp } from '../subgraphs/calls/app.ts';
import type { PartyMap } from '../subgraphs/party-map/app.ts';
import { startTestCalls } from './support/calls.ts';
import { startTestGateway, startTestPartyMap } from './support/gateway.ts';
import { codeOf, gql, ok, tokenFor } from './support/graphql.ts';
import { testScope } from './support/isolation.ts';
import { collectHeaders } from './support/calls.ts';
import { topicName } from '../platform/kafka.ts';
import { TOPICS } from '../platform/topics.ts';
import { waitFor } from './support/wait.ts';

const scope = testScope('gateway');
let calls: CallsApp;
let partyMap: PartyMap;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let url: string;
let partyMapUrl: string;

beforeAll(async () => {
  calls = await startTestCalls(scope);
  ({ partyMap, url: partyMapUrl } = await startTestPartyMap(scope));
  gateway = await startTestGateway(scope, { calls: calls.url, partyMap: partyMapUrl }, { SUBGRAPH_TIMEOUT_MS: '3000' });
  url = `${gateway.url}/graphql`;
}, 120_000);

afterAll(async () => {
  await gateway.service.shutdown('test');
  await calls.service.shutdown('test');
  await partyMap.service.shutdown('test');
  await scope.cleanup();
});

describe('the gateway', () => {
  it('joins a call (calls) with its units (party-map) in one query', async () => {
    const token = await tokenFor('changzhou-c1-g1', 'grid_worker', 'gw-li');
    const raised = ok(
      await gql(url, token, `mutation { raiseCall(input: { title: "龙船饭食品安全", description: "端午龙船饭围餐，请求食品安全保障",
        category: "市场监管" }) { call { id } } }`),
    ).raiseCall.call;
    const found = ok(
      await gql(url, token, `query($id: ID!) { call(id: $id) { status originUnit { id name kind parent { name } } } }`, {
        id: raised.id,
      }),
    ).call;
    expect(found).toEqual({
      status: 'RAISED',
      originUnit: { id: 'changzhou-c1-g1', name: '深井社区第1网格', kind: 'GRID', parent: { name: '深井社区' } },
    });
  });

  it('routes a located call by the grids party-map publishes on hub.units', async () => {
    // Key grids (重点网格) exist only in party-map's data: seeing one proves the copy came over Kafka.
    // Party-map publishes its ~200 units one outbox record at a time, the key grids among the last.
    await waitFor('the unit directory from hub.units', () => calls.directory.get('changzhou-c1-k1'), 80_000);
    const keyGrid = calls.directory.get('changzhou-c1-k1');
    expect(keyGrid).toMatchObject({ kind: 'grid', gridType: 'key' });
    const [minLng, minLat, maxLng, maxLat] = keyGrid?.bbox ?? [0, 0, 0, 0];
    const centre = { lng: (minLng + maxLng) / 2, lat: (minLat + maxLat) / 2 };
    const token = await tokenFor('huangpu-command', 'district_command');
    const raised = ok(
      await gql(url, token, `mutation($location: GeoPointInput) { raiseCall(input: { title: "井盖缺失", description: "人行道井盖缺失",
        category: "城市管理", location: $location }) { call { originUnit { id kind } } } }`, { location: centre }),
    ).raiseCall.call;
    // A call goes to the basic grid that holds the point, never to the overlapping key grid.
    expect(raised.originUnit.kind).toBe('GRID');
    expect(raised.originUnit.id).toMatch(/^changzhou-c1-g\d$/);
  });

  it('counts every operation by name, type and outcome on /metrics', async () => {
    const token = await tokenFor('changzhou', 'street');
    ok(await gql(url, token, 'query StreetInbox { inbox(box: TO_SIGN) { edges { cursor } } }'));
    await gql(url, token, 'query Broken { call(id: "x") { nope } }');
    const metrics = await (await fetch(`${gateway.service.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/huying_graphql_operation_duration_seconds_count\{service="gateway",operation="StreetInbox",type="query",outcome="ok"\} 1/);
    expect(metrics).toMatch(/huying_graphql_operation_duration_seconds_count\{service="gateway",operation="Broken",type="unknown",outcome="error"\} 1/);
  });

  it('serves no page that loads anything from the internet, and an explorer from its own files', async () => {
    const token = await tokenFor('changzhou', 'street');
    const page = await fetch(url, { headers: { accept: 'text/html', authorization: `Bearer ${token}` } });
    expect(await page.text()).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    const explorer = await (await fetch(`${gateway.url}/explorer`)).text();
    expect(explorer).toContain('/explorer/assets/graphiql.js');
    expect(explorer).not.toMatch(/(src|href)="https?:/);
    for (const asset of ['react.js', 'react-dom.js', 'graphiql.js', 'graphiql.css']) {
      const response = await fetch(`${gateway.url}/explorer/assets/${asset}`);
      expect(response.status, asset).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    expect((await fetch(`${gateway.url}/explorer/assets/..%2Fpackage.json`)).status).toBe(404);
  });

  it('refuses a missing or forged token, and hides another street’s call', async () => {
    expect(codeOf(await gql(url, undefined, '{ callableItems { code } }'))).toBe('UNAUTHENTICATED');
    const token = await tokenFor('changzhou', 'street');
    expect(codeOf(await gql(url, `${token.slice(0, -4)}AAAA`, '{ callableItems { code } }'))).toBe('UNAUTHENTICATED');
    const own = ok(
      await gql(url, token, `mutation { raiseCall(input: { title: "占道经营", description: "地铁口流动摊贩", category: "城市管理" }) { call { id } } }`),
    ).raiseCall.call;
    const other = await tokenFor('yuzhu', 'street');
    const seen = await gql(url, other, 'query($id: ID!) { call(id: $id) { id } }', { id: own.id });
    expect(seen.data?.call).toBeNull();
  });

  it('rejects a depth bomb and an alias flood with a clear error, before any subgraph is asked, over HTTP and graphql-ws', async () => {
    const token = await tokenFor('huangpu-command', 'district_command');
    const nested = (depth: number): string => (depth === 0 ? 'id' : `parent { ${nested(depth - 1)} }`);
    const deep = await gql(url, token, `{ unit(id: "changzhou-c1-g1") { ${nested(13)} } }`);
    expect(deep.status).toBe(400);
    expect(deep.errors?.[0]?.message).toMatch(/depth/i);
    expect(deep.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: callableItems { code }`).join(' ');
    const flood = await gql(url, token, `{ ${aliases} }`);
    expect(flood.errors?.[0]?.message).toMatch(/alias/i);
    expect(flood.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // The same bomb as a graphql-ws subscription meets the same limit.
    const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    try {
      const refused = (await new Promise<unknown>((resolve) =>
        client.subscribe({ query: `subscription { callUpdated { originUnit { ${nested(13)} } } }` }, { next: () => undefined, error: resolve, complete: () => resolve(undefined) }),
      )) as Array<{ message: string; extensions?: { code?: string } }>;
      expect(refused[0]?.message).toMatch(/depth/i);
      expect(refused[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    } finally {
      await client.dispose();
    }
  });

  it('streams a call’s status change to a graphql-ws subscriber within a second, and only to those who may see it', async () => {
    const grid = await tokenFor('changzhou-c1-g1', 'grid_worker', 'gw-li');
    const community = await tokenFor('changzhou-c1', 'community', 'sq-wang');
    const outsider = await tokenFor('yuzhu', 'street', 'yz-lin');
    const raised = ok(
      await gql(url, grid, `mutation { raiseCall(input: { title: "消防通道堵塞", description: "消防通道堆放杂物",
        category: "安全生产" }) { call { id } } }`),
    ).raiseCall.call;
    ok(await gql(url, grid, 'mutation($id: ID!) { callUp(id: $id) { status } }', { id: raised.id }));

    const wsUrl = url.replace(/^http/, 'ws');
    const subscriber = (token: string) =>
      createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    const watching = subscriber(grid);
    const stranger = subscriber(outsider);
    const received: Array<{ at: number; data: any }> = [];
    const strangerSaw: unknown[] = [];
    const query = `subscription($id: ID) { callUpdated(id: $id) { id status handling: handlingUnit { id name } } }`;
    const done = (async () => {
      for await (const result of watching.iterate<{ callUpdated: { status: string } }>({ query, variables: { id: raised.id } })) {
        received.push({ at: Date.now(), data: result.data });
        if (result.data?.callUpdated?.status === 'SIGNED') break;
      }
    })();
    void (async () => {
      for await (const result of stranger.iterate({ query: 'subscription { callUpdated { id } }' })) strangerSaw.push(result);
    })();
    // Wait until both subscriptions are registered with the gateway's event hub.
    await waitFor('two subscribers', () => (gateway.events.size >= 2 ? true : undefined));

    // Timed from the moment the call changed (stamped by the calls subgraph on this machine), so that
    // a mutation queued behind other test files' writes does not count against the subscription.
    const mutation = ok(await gql(url, community, 'mutation($id: ID!) { signCall(id: $id) { status updatedAt } }', { id: raised.id }));
    const signedAt = Date.parse(mutation.signCall.updatedAt);
    await done;
    const signed = received.find((r) => r.data.callUpdated.status === 'SIGNED');
    expect(signed?.data.callUpdated).toEqual({ id: raised.id, status: 'SIGNED', handling: { id: 'changzhou-c1', name: '深井社区' } });
    expect((signed?.at ?? Infinity) - signedAt).toBeLessThan(1000);
    expect(strangerSaw).toEqual([]);
    await Promise.all([watching.dispose(), stranger.dispose()]);
  });

  it('refuses a subscription without a valid token', async () => {
    const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: {}, retryAttempts: 0 });
    const closed = await new Promise<{ code: number }>((resolve) => {
      client.on('closed', (event) => resolve(event as { code: number }));
      client.subscribe({ query: 'subscription { callUpdated { id } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    });
    expect(closed.code).toBe(4403);
    await client.dispose();
  });

  it('limits each client’s requests a minute with a clear error, without touching other clients', async () => {
    const limited = await startTestGateway(scope, { calls: calls.url, partyMap: partyMapUrl }, { RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const limitedUrl = `${limited.url}/graphql`;
      const busy = await tokenFor('changzhou', 'street', 'busy-app');
      for (let i = 0; i < 3; i++) ok(await gql(limitedUrl, busy, '{ callableItems { code } }'));
      const refused = await gql(limitedUrl, busy, '{ callableItems { code } }');
      expect(refused.status).toBe(429);
      expect(codeOf(refused)).toBe('RATE_LIMITED');
      expect(refused.errors?.[0]?.message).toContain('请求过于频繁');
      // Another client of the same unit has a budget of its own.
      ok(await gql(limitedUrl, await tokenFor('changzhou', 'street', 'quiet-app'), '{ callableItems { code } }'));
    } finally {
      await limited.service.shutdown('test');
    }
  });

  it('answers automatic persisted queries: a hash alone once the text is known', async () => {
    const token = await tokenFor('changzhou', 'street');
    const query = '{ callableItems { code } }';
    const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') };
    const post = (body: Record<string, unknown>) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) }).then(
        (r) => r.json(),
      );
    expect((await post({ extensions: { persistedQuery } })).errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await post({ query, extensions: { persistedQuery } })).data.callableItems.length).toBeGreaterThan(0);
    expect((await post({ extensions: { persistedQuery } })).data.callableItems.length).toBeGreaterThan(0);
  });

  it('in allow-list mode runs only the manifest’s operations and subscriptions, by hash or by exact text', async () => {
    const listed = 'query Items { callableItems { code category } }';
    const listedSubscription = 'subscription Mine { callUpdated { id status } }';
    const manifest = join(mkdtempSync(join(tmpdir(), 'huying-pq-')), 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1,
      operations: [{ id: 'items', name: 'Items', type: 'query', body: listed }, { id: 'mine', name: 'Mine', type: 'subscription', body: listedSubscription }] }));
    const strict = await startTestGateway(scope, { calls: calls.url, partyMap: partyMapUrl }, { PERSISTED_QUERIES_MANIFEST: manifest });
    try {
      const strictUrl = `${strict.url}/graphql`;
      const token = await tokenFor('changzhou', 'street');
      const sha256Hash = createHash('sha256').update(listed).digest('hex');
      const byHash = await fetch(strictUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash } } }) }).then((r) => r.json());
      expect(byHash.data.callableItems.length).toBeGreaterThan(0);
      ok(await gql(strictUrl, token, listed));
      const freeform = await gql(strictUrl, token, '{ calls(first: 100) { edges { node { id } } } }');
      expect(freeform.status).toBe(400);
      expect(codeOf(freeform)).toBe('PERSISTED_QUERY_NOT_ALLOWED');

      // Subscriptions too: one off the list is refused, the listed one streams.
      const client = createClient({ url: strictUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
      try {
        const refused = await new Promise<unknown>((resolve) =>
          client.subscribe({ query: 'subscription { callUpdated { id title } }' }, { next: () => undefined, error: resolve, complete: () => resolve(undefined) }),
        );
        expect((refused as Array<{ extensions?: { code?: string } }>)[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
        const received: Array<{ callUpdated: { id: string; status: string } }> = [];
        client.subscribe<{ callUpdated: { id: string; status: string } }>({ query: listedSubscription }, {
          next: (message) => message.data && received.push(message.data), error: () => undefined, complete: () => undefined });
        await waitFor('the listed subscription live', () => (strict.streams.calls.size >= 1 ? true : undefined));
        const grid = await tokenFor('changzhou-c1-g1', 'grid_worker');
        const raised = ok(await gql(`${calls.url}/graphql`, grid, `mutation { raiseCall(input: { title: "路灯不亮", description: "小区门口路灯坏了一周",
          category: "城市管理" }) { call { id } } }`)).raiseCall.call.id;
        await waitFor('the call on the listed subscription', () => received.find((m) => m.callUpdated.id === raised));
      } finally {
        await client.dispose();
      }
    } finally {
      await strict.service.shutdown('test');
    }
  });

  it('carries the caller’s W3C trace through the gateway and the calls subgraph into the event’s Kafka headers', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const events = await collectHeaders(scope, topicName(scope.config, TOPICS.callEvents));
    try {
      const grid = await tokenFor('changzhou-c1-g1', 'grid_worker');
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${grid}`, traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
        body: JSON.stringify({ query: 'mutation { raiseCall(input: { title: "井盖松动", description: "路口井盖松动有异响", category: "城市管理" }) { call { id } } }' }),
      });
      const id = ((await response.json())).data.raiseCall.call.id as string;
      const raised = await waitFor('the call.raised event', () => events.records.find((r) => r.key === id));
      // The same trace, a span of its own (not the caller's).
      expect(raised.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      expect(raised.headers.traceparent).not.toContain('00f067aa0ba902b7');
    } finally {
      await events.stop();
    }
  });

  it('passes a subgraph’s refusal on with its code, never as an internal error', async () => {
    const grid = await tokenFor('changzhou-c1-g1', 'grid_worker');
    const refused = await gql(url, grid, `mutation { raiseCall(input: { title: "测试", description: "类别不存在", category: "不存在的类别" }) { call { id } } }`);
    expect(refused.status).toBe(200);
    expect(codeOf(refused)).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.message).toContain('类别无效');
  });

  it('runs identical queries in flight once per access scope, never shares across scopes, and never shares a mutation', async () => {
    const shared = async () => {
      const metrics = await (await fetch(`${gateway.service.metricsUrl}/metrics`)).text();
      return Number(/^huying_gateway_shared_operations_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
    };
    // A call in each street, so that both answers hold one (also when this test runs alone).
    ok(await gql(url, await tokenFor('changzhou-c1-g1', 'grid_worker'), `mutation { raiseCall(input: { title: "井盖缺失", description: "小区路口井盖缺失",
      category: "城市管理" }) { call { id } } }`));
    const lianheGrid = await tokenFor('lianhe-c1-g1', 'grid_worker');
    const lianheCall = ok(await gql(url, lianheGrid, `mutation { raiseCall(input: { title: "占道经营", description: "路口流动摊贩占道",
      category: "城市管理" }) { call { id } } }`)).raiseCall.call.id;
    const before = await shared();
    const query = '{ calls(first: 5) { edges { node { id originUnit { id } } } } }';
    // Two people of the same street command centre (one scope), and a neighbouring street's.
    const [a, b, other] = await Promise.all([
      tokenFor('changzhou-command', 'street_command', 'officer-a'),
      tokenFor('changzhou-command', 'street_command', 'officer-b'),
      tokenFor('lianhe-command', 'street_command', 'officer-c'),
    ]);
    const results = await Promise.all([...Array.from({ length: 10 }, (_, i) => gql(url, i % 2 ? a : b, query)), gql(url, other, query)]);
    const mine = results.slice(0, 10).map((r) => ok(r).calls.edges.map((e: any) => e.node.id));
    const theirs = (ok(results[10] as Awaited<ReturnType<typeof gql>>) as any).calls.edges.map((e: any) => e.node.id);
    expect(new Set(mine.map((ids) => ids.join()))).toHaveProperty('size', 1);
    expect(await shared()).toBeGreaterThan(before);
    // The other street's answer is its own: its call, none of changzhou's.
    expect(theirs).toContain(lianheCall);
    expect(mine[0]).not.toContain(lianheCall);
    expect(mine[0]?.length).toBeGreaterThan(0);
    // A GET that CSRF prevention refuses gets its refusal, also beside identical GETs that pass it.
    const search = `?query=${encodeURIComponent(query)}`;
    const get = (preflight: boolean) =>
      fetch(`${url}${search}`, { headers: { authorization: `Bearer ${a}`, ...(preflight && { 'apollo-require-preflight': 'true' }) } }).then((r) => r.status);
    const statuses = await Promise.all([get(true), get(false), get(true), get(false)]);
    expect(statuses).toEqual([200, 400, 200, 400]);
    // Identical mutations sent at once are never shared: each raises a call of its own.
    const raise = `mutation { raiseCall(input: { title: "夜间施工噪音", description: "工地凌晨两点打桩", category: "城市管理" }) { call { id } } }`;
    const raised = await Promise.all([gql(url, lianheGrid, raise), gql(url, lianheGrid, raise)]);
    expect(new Set(raised.map((r) => ok(r).raiseCall.call.id))).toHaveProperty('size', 2);
  });

  it('answers with partial data and an error naming the subgraph that is down', async () => {
    const token = await tokenFor('huangpu-command', 'district_command');
    await partyMap.service.shutdown('test: subgraph stopped');
    const started = Date.now();
    const result = await gql(url, token, '{ callableItems { code } unit(id: "changzhou") { name } }');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.data?.callableItems?.length).toBeGreaterThan(10);
    expect(result.data?.unit).toBeNull();
    expect(result.errors?.[0]?.extensions?.serviceName, JSON.stringify(result.errors)).toBe('party-map');
  });
});
