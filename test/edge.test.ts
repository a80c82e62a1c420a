// The hub's edge (issue 13): what an outsider, a forged token or odd input gets from the gateway and
// from each of the four subgraphs reached directly, on the real local Kafka and FerretDB.
import { request as httpRequest } from 'node:http';
import { createClient, type Client } from 'graphql-ws';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { startGateway } from '../gateway/app.ts';
import { DEVELOPMENT_JWT_SECRET, GATEWAY_SCOPE, mintToken } from '../platform/auth.ts';
import { createKafka, topicName } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { TOPICS } from '../platform/topics.ts';
import type { CallsApp } from '../subgraphs/calls/app.ts';
import type { EnterpriseApp } from '../subgraphs/enterprise/app.ts';
import type { EvaluationApp } from '../subgraphs/evaluation/app.ts';
import type { PartyMap } from '../subgraphs/party-map/app.ts';
import { startTestGateway, startTestHub } from './support/gateway.ts';
import { codeOf, gql, ok, tokenFor } from './support/graphql.ts';
import { testScope } from './support/isolation.ts';
import { waitFor } from './support/wait.ts';

const scope = testScope('edge');
let hub: Awaited<ReturnType<typeof startTestHub>>;
let calls: CallsApp;
let partyMap: PartyMap;
let evaluation: EvaluationApp;
let enterprise: EnterpriseApp;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let url: string;
const subgraphs: Record<string, string> = {};
const clients: Client[] = [];

beforeAll(async () => {
  hub = await startTestHub(scope);
  ({ calls, partyMap, evaluation, enterprise, gateway } = hub);
  Object.assign(subgraphs, { calls: calls.url, 'party-map': hub.urls.partyMap, evaluation: evaluation.url, enterprise: enterprise.url });
  url = `${gateway.url}/graphql`;
}, 180_000);

afterAll(async () => {
  await Promise.all(clients.map(async (c) => c.dispose()));
  await hub?.stop();
  await scope.cleanup();
});

/** A request on exactly this path (no URL normalisation on the way), answered as status and JSON (or text). */
function raw(base: string, path: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
  const { hostname, port } = new URL(base);
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: options.method ?? 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON (a 404 page)
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const post = (base: string, path: string, token: string | undefined, query: string, variables: Record<string, unknown> = {}) =>
  raw(base, path, { body: JSON.stringify({ query, variables }), headers: token ? { authorization: `Bearer ${token}` } : {} });

/** The first thing a subscription gets: its errors (an error message, or a result with errors), or its data. */
function firstOutcome(client: Client, query: string, variables: Record<string, unknown> = {}) {
  return new Promise<{ errors?: Array<{ message: string; extensions?: { code?: string } }>; data?: unknown }>((resolve) => {
    client.subscribe(
      { query, variables },
      {
        next: (result) => resolve(result as never),
        error: (errors) => resolve({ errors: errors as never }),
        complete: () => undefined,
      },
    );
  });
}

function wsClient(token: string, gatewayUrl = url) {
  const client = createClient({ url: gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  clients.push(client);
  return client;
}

// Each subgraph's own query, with data an outsider must never see.
const PROBES: Record<string, string> = {
  calls: '{ callableItems { code } }',
  'party-map': '{ unit(id: "changzhou") { name } }',
  evaluation: '{ rankings(kind: STREET, period: "2026-05") { __typename } }',
  enterprise: '{ enterprises(first: 1) { __typename } }',
};

describe('subgraphs reached directly', () => {
  // Fastify decodes `/%67raphql` and drops the query string before routing: those reach the GraphQL
  // route and must authenticate; the others are not the route at all.
  const ROUTED = ['/graphql', '/%67raphql', '/graphql?x', '/graphql?query=%7B__typename%7D', '/%67%72%61%70%68%71%6c'];
  const UNROUTED = ['//graphql', '/graphql/', '/GRAPHQL', '/graphql%2F', '/./graphql', '/graphql;x', '/graphql%00'];

  it('authenticate the GraphQL route however its path is spelled, and answer nothing else', async () => {
    for (const [name, base] of Object.entries(subgraphs)) {
      for (const path of ROUTED) {
        const anonymous = await post(base, path, undefined, PROBES[name] as string);
        expect([name, path, anonymous.status, anonymous.body?.errors?.[0]?.extensions?.code]).toEqual([name, path, 401, 'UNAUTHENTICATED']);
        expect(anonymous.body.data).toBeNull();
        const get = await raw(base, `${path}${path.includes('?') ? '&' : '?'}query=${encodeURIComponent(PROBES[name] as string)}`, { method: 'GET' });
        expect([name, path, 'GET', get.status]).toEqual([name, path, 'GET', 401]);
      }
      for (const path of UNROUTED) {
        const anonymous = await post(base, path, undefined, PROBES[name] as string);
        expect([name, path, anonymous.status]).toEqual([name, path, 404]);
        expect(JSON.stringify(anonymous.body)).not.toContain('"data"');
      }
      // A forged token is no better than none.
      const forged = await mintToken({ subject: 'x', unitId: 'huangpu-command', role: 'district_command' }, { secret: 'not-the-hub-key-at-all' });
      expect((await post(base, '/%67raphql', forged, PROBES[name] as string)).status).toBe(401);
    }
  });

  it('refuse to execute an operation that reached them without an identity (fail closed)', async () => {
    // mercurius' own entry point skips the HTTP hooks, as a route added later would.
    for (const app of [calls, partyMap, evaluation, enterprise]) {
      await expect(app.service.app.graphql('{ __typename }')).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    }
  });

  it('refuse introspection and _service to anyone but the gateway’s identity, and keep _entities for users', async () => {
    const street = await tokenFor('changzhou', 'street');
    const account = await tokenFor('huangpu', 'service_account', 'some-app', ['calls:read']);
    const gatewayIdentity = await tokenFor('huangpu', 'service_account', 'gateway', [GATEWAY_SCOPE]);
    for (const [name, base] of Object.entries(subgraphs)) {
      for (const token of [street, account]) {
        for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Query") { name } }', '{ _service { sdl } }',
          'query { ...s } fragment s on Query { _service { sdl } }']) {
          const refused = await post(base, '/graphql', token, query);
          expect([name, query, refused.status, refused.body.errors?.[0]?.extensions?.code]).toEqual([name, query, 403, 'FORBIDDEN']);
          expect(refused.body.data).toBeNull();
        }
      }
      const sdl = await post(base, '/graphql', gatewayIdentity, '{ _service { sdl } }');
      expect(sdl.status).toBe(200);
      expect(sdl.body.data._service.sdl).toContain('type Query');
      const schema = await post(base, '/graphql', gatewayIdentity, '{ __schema { queryType { name } } }');
      expect(schema.body.data.__schema.queryType.name).toBe('Query');
    }
    const entities = await post(subgraphs['party-map'] as string, '/graphql', street, 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Unit { name } } }', {
      r: [{ __typename: 'Unit', id: 'changzhou' }],
    });
    expect(entities.status).toBe(200);
    expect(entities.body.data._entities).toEqual([{ name: '长洲街' }]);
  });

  it('keep their own depth, alias and token limits (GRAPHQL_VALIDATION_FAILED, 400)', async () => {
    const token = await tokenFor('huangpu-command', 'district_command');
    const nested = (depth: number): string => (depth === 0 ? 'id' : `parent { ${nested(depth - 1)} }`);
    const base = subgraphs['party-map'] as string;
    const deep = await post(base, '/graphql', token, `{ unit(id: "changzhou-c1-g1") { ${nested(20)} } }`);
    expect([deep.status, deep.body.errors?.[0]?.extensions?.code]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    expect(deep.body.errors[0].message).toMatch(/depth/i);
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: callableItems { code }`).join(' ');
    const flood = await post(subgraphs.calls as string, '/graphql', token, `{ ${aliases} }`);
    expect([flood.status, flood.body.errors?.[0]?.extensions?.code]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    expect(flood.body.errors[0].message).toMatch(/alias/i);
    const long = `{ callableItems { ${Array.from({ length: 5000 }, () => 'code').join(' ')} } }`;
    const tokens = await post(subgraphs.calls as string, '/graphql', token, long);
    expect([tokens.status, tokens.body.errors?.[0]?.extensions?.code]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    expect(tokens.body.errors[0].message).toContain('Token limit of 4000 exceeded');
  });
});

describe('bad input gets a 4xx with a clear code and writes nothing', () => {
  it('a token-limit breach is a 400 GRAPHQL_VALIDATION_FAILED, not a 500', async () => {
    const token = await tokenFor('changzhou', 'street');
    const long = `{ callableItems { ${Array.from({ length: 2500 }, () => 'code').join(' ')} } }`;
    const refused = await gql(url, token, long);
    expect([refused.status, codeOf(refused)]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    expect(refused.errors?.[0]?.message).toContain('Token limit of 2000 exceeded');
  });

  it('an Infinity float (1e999) is a 400 BAD_USER_INPUT, as a literal and as a variable, at the gateway and at the subgraph', async () => {
    const token = await tokenFor('changzhou', 'street');
    const literal = await gql(url, token, '{ locate(point: { lng: 1e999, lat: 23.1 }) { inDistrict } }');
    expect([literal.status, codeOf(literal)]).toEqual([400, 'BAD_USER_INPUT']);
    expect(literal.errors?.[0]?.extensions?.field).toBe('locate.point.lng');
    const body = '{"query":"query($p: PointInput!) { locate(point: $p) { inDistrict } }","variables":{"p":{"lng":113.4,"lat":-1e999}}}';
    for (const base of [gateway.url, subgraphs['party-map'] as string]) {
      const variable = await raw(base, '/graphql', { body, headers: { authorization: `Bearer ${token}` } });
      expect([variable.status, variable.body.errors?.[0]?.extensions?.code, variable.body.errors?.[0]?.extensions?.field]).toEqual([400, 'BAD_USER_INPUT', 'variables.p.lat']);
    }
    const direct = await post(subgraphs['party-map'] as string, '/graphql', token, '{ locate(point: { lng: 1e999, lat: 23.1 }) { inDistrict } }');
    expect([direct.status, direct.body.errors?.[0]?.extensions?.code]).toEqual([400, 'BAD_USER_INPUT']);
  });

  it('an invalid DateTime is BAD_USER_INPUT (a variable, a literal, a day the month lacks), never an internal error', async () => {
    const token = await tokenFor('changzhou', 'street');
    const query = 'query($from: DateTime!, $to: DateTime!) { callCounters(scopeUnitId: "changzhou", from: $from, to: $to) { raised } }';
    for (const from of ['yesterday', '2026-13-01T00:00:00+08:00', '2026-02-30T00:00:00+08:00']) {
      const refused = await gql(url, token, query, { from, to: '2026-06-01T00:00:00+08:00' });
      expect([from, codeOf(refused)]).toEqual([from, 'BAD_USER_INPUT']);
      expect(refused.errors?.[0]?.message).toContain('时间格式无效');
    }
    const literal = await gql(url, token, '{ callCounters(scopeUnitId: "changzhou", from: "soon", to: "2026-06-01T00:00:00+08:00") { raised } }');
    expect(codeOf(literal)).toBe('BAD_USER_INPUT');
    ok(await gql(url, token, query, { from: '2026-02-28T00:00:00+08:00', to: '2026-06-01T00:00:00+08:00' }));
  });

  it('a GeoJSON nested 50,000 deep is refused with BAD_USER_INPUT before any walk, and the subgraph keeps answering', async () => {
    const token = await tokenFor('huangpu-command', 'district_command');
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const collection = `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"深","code":"x"},"geometry":{"type":"Polygon","coordinates":${deep}}}]}`;
    const refused = await gql(url, token, 'mutation($fc: String!) { importGrids(featureCollection: $fc) { accepted } }', { fc: collection });
    expect(codeOf(refused)).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.message).toContain('嵌套超过 32 层');
    // The same depth in the variables themselves.
    const body = `{"query":"query($p: PointInput!) { locate(point: $p) { inDistrict } }","variables":{"p":${'['.repeat(50_000)}1${']'.repeat(50_000)}}}`;
    for (const base of [gateway.url, subgraphs['party-map'] as string]) {
      const variables = await raw(base, '/graphql', { body, headers: { authorization: `Bearer ${token}` } });
      expect([variables.status, variables.body.errors?.[0]?.extensions?.code]).toEqual([400, 'BAD_USER_INPUT']);
    }
    ok(await gql(url, token, '{ unit(id: "changzhou") { name } }'));
  });

  it('a control character (NUL …) in any string input is BAD_USER_INPUT naming the field, and no call is stored', async () => {
    const grid = await tokenFor('changzhou-c1-g1', 'grid_worker');
    const before = calls.index.size;
    const mutation = 'mutation($input: RaiseCallInput!) { raiseCall(input: $input) { call { id } } }';
    for (const title of ['井盖\u0000缺失', '井盖\u001b[31m缺失', '井盖\u0007']) {
      const input = { title, description: '人行道井盖缺失', category: '城市管理' };
      for (const base of [gateway.url, subgraphs.calls as string]) {
        const refused = await raw(base, '/graphql', { body: JSON.stringify({ query: mutation, variables: { input } }), headers: { authorization: `Bearer ${grid}` } });
        expect([refused.status, refused.body.errors?.[0]?.extensions?.code, refused.body.errors?.[0]?.extensions?.field]).toEqual([400, 'BAD_USER_INPUT', 'variables.input.title']);
      }
    }
    const literal = await gql(url, grid, 'mutation { raiseCall(input: { title: "井盖\\u0000缺失", description: "x", category: "城市管理" }) { call { id } } }');
    expect([literal.status, codeOf(literal), literal.errors?.[0]?.extensions?.field]).toEqual([400, 'BAD_USER_INPUT', 'raiseCall.input.title']);
    const direct = await post(subgraphs.calls as string, '/graphql', grid, 'mutation { raiseCall(input: { title: "井盖\\u0000缺失", description: "x", category: "城市管理" }) { call { id } } }');
    expect([direct.status, direct.body.errors?.[0]?.extensions?.code]).toEqual([400, 'BAD_USER_INPUT']);
    expect(calls.index.size).toBe(before);
    // Tabs and line breaks stay allowed.
    ok(await gql(url, grid, mutation, { input: { title: '井盖缺失', description: '第一行\n第二行\t完', category: '城市管理' } }));
  });

  it('serves /metrics only on its own loopback port, never on the public GraphQL port', async () => {
    expect((await raw(gateway.url, '/metrics', { method: 'GET' })).status).toBe(404);
    for (const [name, app] of [['calls', calls], ['party-map', partyMap], ['evaluation', evaluation], ['enterprise', enterprise]] as const) {
      expect((await raw(subgraphs[name] as string, '/metrics', { method: 'GET' })).status).toBe(404);
      expect(app.service.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
    const metrics = await (await fetch(`${gateway.service.metricsUrl}/metrics`)).text();
    expect(metrics).toContain('huying_graphql_operation_duration_seconds');
  });
});

describe('tokens and the rate limit at the gateway', () => {
  it('refuses a token without exp or iat, or living longer than JWT_MAX_LIFETIME, with UNAUTHENTICATED', async () => {
    const key = new TextEncoder().encode(DEVELOPMENT_JWT_SECRET);
    const claims = { unit: 'changzhou', role: 'street' };
    const base = () => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('s').setIssuer('huying').setAudience('huying');
    const forever = await base().setIssuedAt().sign(key);
    const noIat = await base().setExpirationTime('1h').sign(key);
    const tooLong = await base().setIssuedAt().setExpirationTime('31d').sign(key);
    for (const token of [forever, noIat, tooLong]) {
      const refused = await gql(url, token, '{ callableItems { code } }');
      expect([refused.status, codeOf(refused)]).toEqual([401, 'UNAUTHENTICATED']);
      expect((await post(subgraphs.calls as string, '/graphql', token, '{ callableItems { code } }')).status).toBe(401);
    }
    ok(await gql(url, await base().setIssuedAt().setExpirationTime('30d').sign(key), '{ callableItems { code } }'));
  });

  it('keys the rate limit on the verified identity: forged tokens naming someone count against their sender’s address', async () => {
    const limited = await startTestGateway(scope, { calls: calls.url, partyMap: subgraphs['party-map'] }, { RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const limitedUrl = `${limited.url}/graphql`;
      const forge = (subject: string) => mintToken({ subject, unitId: 'changzhou', role: 'street' }, { secret: 'an-attackers-own-key-123' });
      // Three forged tokens naming the victim, then a fresh forged subject: one bucket, the address's.
      for (let i = 0; i < 3; i++) expect((await gql(limitedUrl, await forge('victim'), '{ callableItems { code } }')).status).toBe(401);
      const rotated = await gql(limitedUrl, await forge(`someone-else-${Date.now()}`), '{ callableItems { code } }');
      expect([rotated.status, codeOf(rotated)]).toEqual([429, 'RATE_LIMITED']);
      // The victim's own budget is whole.
      const victim = await tokenFor('changzhou', 'street', 'victim');
      for (let i = 0; i < 3; i++) ok(await gql(limitedUrl, victim, '{ callableItems { code } }'));
      expect((await gql(limitedUrl, victim, '{ callableItems { code } }')).status).toBe(429);
    } finally {
      await limited.service.shutdown('test');
    }
  });
});

describe('graphql-ws', () => {
  it('keeps a socket whose token lives longer than 24.8 days open, and streams on it', async () => {
    const grid = await mintToken({ subject: 'dashboard', unitId: 'changzhou-c1-g1', role: 'grid_worker' }, { expiresIn: '29d' });
    const client = wsClient(grid);
    let closed: number | undefined;
    client.on('closed', (event) => {
      closed = (event as { code: number }).code;
    });
    const received: string[] = [];
    const before = gateway.streams.calls.size;
    client.subscribe<{ callUpdated: { id: string } }>({ query: 'subscription { callUpdated { id } }' }, {
      next: (m) => m.data && received.push(m.data.callUpdated.id), error: () => undefined, complete: () => undefined });
    await waitFor('the long-lived subscription', () => (gateway.streams.calls.size > before ? true : undefined));
    const id = ok(await gql(url, grid, 'mutation { raiseCall(input: { title: "路灯不亮", description: "小区门口路灯坏了", category: "城市管理" }) { call { id } } }'))
      .raiseCall.call.id;
    await waitFor('the call on the long-lived socket', () => received.find((r) => r === id));
    expect(closed).toBeUndefined();
  });

  it('refuses a 400-fragment subscription by the token limit, as over HTTP', async () => {
    const client = wsClient(await tokenFor('changzhou', 'street'));
    const fragments = Array.from({ length: 400 }, (_, i) => `fragment f${i} on Call { id }`).join('\n');
    const spreads = Array.from({ length: 400 }, (_, i) => `...f${i}`).join(' ');
    const outcome = await firstOutcome(client, `subscription { callUpdated { ${spreads} } }\n${fragments}`);
    expect(outcome.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(outcome.errors?.[0]?.message).toContain('Token limit of 2000 exceeded');
  });

  it('refuses control characters in a subscription’s variables with BAD_USER_INPUT', async () => {
    const client = wsClient(await tokenFor('changzhou', 'street'));
    const outcome = await firstOutcome(client, 'subscription($id: ID) { callUpdated(id: $id) { id } }', { id: 'a\u0000b' });
    expect(outcome.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('closes a socket that sends a frame larger than an HTTP body may be (1009)', async () => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { padding: 'x'.repeat(2 * 1024 * 1024) } }));
    expect(await closed).toBe(1009);
  });

  it('caps the subscriptions of a socket and of an identity, with TOO_MANY_SUBSCRIPTIONS', async () => {
    const capped = await startTestGateway(scope, { calls: calls.url, partyMap: subgraphs['party-map'] }, { MAX_SUBSCRIPTIONS_PER_SOCKET: '2', MAX_SUBSCRIPTIONS_PER_IDENTITY: '3' });
    try {
      const cappedUrl = `${capped.url}/graphql`;
      const token = await tokenFor('changzhou', 'street', 'wall-screen');
      const first = wsClient(token, cappedUrl);
      const live = (client: Client) => client.subscribe({ query: 'subscription { callUpdated { id } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
      live(first);
      live(first);
      await waitFor('two subscriptions', () => (capped.streams.calls.size >= 2 ? true : undefined));
      const third = await firstOutcome(first, 'subscription { callUpdated { id } }');
      expect(third.errors?.[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
      expect(third.errors?.[0]?.message).toContain('at most 2 subscriptions per socket');
      const second = wsClient(token, cappedUrl);
      live(second);
      await waitFor('three subscriptions', () => (capped.streams.calls.size >= 3 ? true : undefined));
      const fourth = await firstOutcome(second, 'subscription { callUpdated { id } }');
      expect(fourth.errors?.[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
      expect(fourth.errors?.[0]?.message).toContain('at most 3 subscriptions per identity');
      // Another person of the same unit has caps of their own.
      live(wsClient(await tokenFor('changzhou', 'street', 'someone-else'), cappedUrl));
      await waitFor('another identity’s subscription', () => (capped.streams.calls.size >= 4 ? true : undefined));
    } finally {
      await capped.service.shutdown('test');
    }
  });

  it('hides field suggestions from subscriptions in production, as over HTTP', async () => {
    const production = await startTestGateway(scope, { calls: calls.url, partyMap: subgraphs['party-map'] }, { NODE_ENV: 'production', JWT_SECRET: DEVELOPMENT_JWT_SECRET });
    try {
      const token = await tokenFor('changzhou', 'street');
      const typo = 'subscription { callUpdated { titel } }';
      const dev = await firstOutcome(wsClient(token), typo);
      expect(dev.errors?.[0]?.message).toContain('Did you mean');
      const prod = await firstOutcome(wsClient(token, `${production.url}/graphql`), typo);
      expect(prod.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(prod.errors?.[0]?.message).not.toContain('Did you mean');
      expect(prod.errors?.[0]?.message).not.toContain('title');
    } finally {
      await production.service.shutdown('test');
    }
  });
});

describe('floodAlerts(area)', () => {
  it('streams an area only within the subscriber’s jurisdiction: FORBIDDEN otherwise, and no other street’s incident', async () => {
    const forbidden: Array<[string, string, string[]?]> = [
      ['changzhou-c1-g1', 'grid_worker'],
      ['changzhou-c1', 'community'],
      ['changzhou', 'street'],
      ['changzhou-command', 'street_command'],
      ['huangpu', 'service_account', ['enterprise:apartments']],
      ['changzhou', 'enterprise_officer'],
    ];
    for (const [unit, role, scopes] of forbidden) {
      const client = wsClient(await tokenFor(unit, role as never, `${role}-alerts`, scopes ?? []));
      for (const area of ['lianhe', 'huangpu']) {
        const outcome = await firstOutcome(client, 'subscription($area: ID) { floodAlerts(area: $area) { alertId } }', { area });
        expect([unit, role, area, outcome.errors?.[0]?.extensions?.code]).toEqual([unit, role, area, 'FORBIDDEN']);
      }
    }
    // An enterprise officer watches no area at all.
    for (const [unit, role] of [['changzhou', 'enterprise_officer']] as const) {
      const outcome = await firstOutcome(wsClient(await tokenFor(unit, role)), 'subscription { floodAlerts { alertId } }');
      expect(outcome.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const unknown = await firstOutcome(wsClient(await tokenFor('huangpu-command', 'district_command')), 'subscription { floodAlerts(area: "atlantis") { alertId } }');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // Allowed: a grid its own grid, a street one of its communities; the district's roles, its
    // departments (三防 is district-wide work) and scoped accounts anywhere.
    const received = new Map<string, unknown[]>();
    const allowed: Array<[string, string, string | null, string[]?]> = [
      ['changzhou-c1-g1', 'grid_worker', null],
      ['changzhou', 'street', 'changzhou-c2'],
      ['lianhe-command', 'street_command', 'lianhe'],
      ['huangpu-command', 'district_command', 'lianhe'],
      ['huangpu-leaders', 'leader', 'huangpu'],
      ['dept-water', 'department', 'lianhe'],
      ['huangpu', 'service_account', 'huangpu', ['alerts:read']],
    ];
    const before = gateway.streams.alerts.size;
    for (const [unit, role, area, scopes] of allowed) {
      const seen: unknown[] = [];
      received.set(`${role}@${unit}`, seen);
      wsClient(await tokenFor(unit, role as never, `${role}-watch`, scopes ?? [])).subscribe(
        { query: 'subscription($area: ID) { floodAlerts(area: $area) { alertId title } }', variables: { area } },
        { next: (m) => seen.push(m), error: (e) => seen.push(e), complete: () => undefined },
      );
    }
    await waitFor('every allowed subscription live', () => (gateway.streams.alerts.size >= before + allowed.length ? true : undefined));

    // An incident in 联和街 with its address reaches 联和's watchers and the district, not 长洲's grid.
    const kafka = createKafka(scope.config, 'test-edge-alerts', createLogger('test', 'warn'));
    const producer = kafka.producer();
    await producer.connect();
    const incident = { eventId: 'i-edge-1:INCIDENT', alertId: 'i-edge-1', kind: 'INCIDENT', incidentType: 'WATERLOGGING', title: '联和街某路12号地下车库进水',
      areaUnitIds: ['lianhe'], occurredAt: new Date().toISOString(), source: 'sanfang' };
    await producer.send({ topic: topicName(scope.config, TOPICS.alerts), messages: [{ key: incident.alertId, value: JSON.stringify(incident) }] });
    await producer.disconnect();
    for (const watcher of ['street_command@lianhe-command', 'district_command@huangpu-command', 'department@dept-water', 'service_account@huangpu', 'leader@huangpu-leaders']) {
      await waitFor(`the incident at ${watcher}`, () => received.get(watcher)?.[0]);
      // Each message also carries its resume cursor (gateway/replay.ts).
      expect(received.get(watcher)?.[0]).toEqual({
        data: { floodAlerts: { alertId: 'i-edge-1', title: incident.title } },
        extensions: { cursor: expect.any(String) },
      });
    }
    expect(received.get('grid_worker@changzhou-c1-g1')).toEqual([]);
    expect(received.get('street@changzhou')).toEqual([]);
  });
});
