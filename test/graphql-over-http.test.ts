// The gateway against the GraphQL-over-HTTP specification's own audit suite (graphql-http's
// auditServer), run with a valid bearer token as agency apps' clients send it, and the media types and
// status codes the specification asks for, CSRF prevention kept. The audit asks nothing of the
// subgraphs (`__typename`, `__type`), so the gateway runs alone.
import { auditServer } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { startGateway } from '../gateway/app.ts';
import { startTestGateway } from './support/gateway.ts';
import { tokenFor } from './support/graphql.ts';
import { testScope } from './support/isolation.ts';

const scope = testScope('gqlhttp');
let gateway: Awaited<ReturnType<typeof startGateway>>;
let url: string;
let token: string;

beforeAll(async () => {
  gateway = await startTestGateway(scope, {});
  url = `${gateway.url}/graphql`;
  token = await tokenFor('huangpu-command', 'district_command');
});

afterAll(async () => {
  await gateway.service.shutdown('test');
  await scope.cleanup();
});

/** The audit's MAYs this gateway declines: a GET without a preflight header is refused as a possible CSRF. */
const CSRF_REFUSED_MAYS = ['5A70', 'D6D5', '6A70'];

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('GraphQL over HTTP', () => {
  it('passes every MUST and SHOULD of the specification’s audit; the only MAYs declined are GETs that CSRF prevention refuses', async () => {
    const withToken: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const results = await auditServer({ url, fetchFn: withToken });
    expect(results.length).toBeGreaterThanOrEqual(61);
    const failed = results.flatMap((r) => (r.status === 'ok' ? [] : [r]));
    // Every MUST and SHOULD is ok: no error, no warning.
    expect(failed.filter((r) => r.status !== 'notice').map((r) => `${r.id} ${r.name}: ${r.reason}`)).toEqual([]);
    expect(failed.map((r) => r.id).sort()).toEqual([...CSRF_REFUSED_MAYS].sort());
    for (const notice of failed) expect(await notice.response.text()).toContain('Cross-Site Request Forgery');
  });

  it('answers a request error with 400 under application/graphql-response+json, with 200 under application/json (also for */* or no Accept)', async () => {
    const broken = { query: '{' };
    const modern = await post(broken, { accept: 'application/graphql-response+json' });
    const apolloClient = await post(broken, { accept: 'application/graphql-response+json, application/json;q=0.9' });
    const any = await post(broken, { accept: '*/*' });
    const none = await post(broken, { accept: '' });
    const legacy = await post(broken, { accept: 'application/json' });
    for (const response of [modern, apolloClient]) expect([response.status, response.headers.get('content-type')]).toEqual([400, 'application/graphql-response+json; charset=utf-8']);
    for (const response of [any, none, legacy]) expect([response.status, response.headers.get('content-type')]).toEqual([200, 'application/json; charset=utf-8']);
    const body = (await legacy.json()) as { data?: unknown; errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]?.extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(body).not.toHaveProperty('data');
    // The gateway's own input checks before the pipeline follow the same rule.
    const control = { query: 'query ($name: String!) { __type(name: $name) { name } }', variables: { name: 'a\u0000b' } };
    const checkedModern = await post(control, { accept: 'application/graphql-response+json' });
    const checkedLegacy = await post(control, { accept: 'application/json' });
    expect([checkedModern.status, checkedModern.headers.get('content-type')]).toEqual([400, 'application/graphql-response+json; charset=utf-8']);
    expect([checkedLegacy.status, ((await checkedLegacy.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code]).toEqual([
      200,
      'BAD_USER_INPUT',
    ]);
    // A malformed HTTP request (no query), a missing token and an unacceptable media type keep their 4xx.
    expect((await post({ notquery: '{ __typename }' }, { accept: 'application/json' })).status).toBe(400);
    expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{"query":"{ __typename }"}' })).status).toBe(401);
    expect((await post({ query: '{ __typename }' }, { accept: 'text/html' })).status).toBe(406);
  });

  it('runs a GET with URL-encoded variables once it carries a preflight header, and refuses it as a possible CSRF without one', async () => {
    const search = new URLSearchParams({ query: 'query Type($name: String!) { __type(name: $name) { name } }', variables: JSON.stringify({ name: 'Call' }) });
    const get = (headers: Record<string, string>) => fetch(`${url}?${search}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
    const preflighted = await get({ 'apollo-require-preflight': 'true', accept: 'application/graphql-response+json' });
    expect([preflighted.status, await preflighted.json()]).toEqual([200, { data: { __type: { name: 'Call' } } }]);
    const simple = await get({ accept: 'application/json' });
    expect(simple.status).toBe(400);
    expect(await simple.text()).toContain('Cross-Site Request Forgery');
    // A mutation over GET is 405, whatever the media type.
    const mutation = await fetch(`${url}?${new URLSearchParams({ query: 'mutation { __typename }' })}`, {
      headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true', accept: 'application/json' },
    });
    expect(mutation.status).toBe(405);
  });
});
