// The pages' routes on a bare Fastify app: the development sign-in mints tokens only for demo
// identities and only outside production; every page and bundle is held to its own origin by CSP.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { authConfig, createVerifier } from '../platform/auth.ts';
import { servePages } from './pages.ts';

const auth = authConfig.parse({});

function pages(production: boolean, signInUrl?: string) {
  const app = Fastify();
  servePages(app, { production, auth, signInUrl });
  return app;
}

describe('pages', () => {
  it('mints a development token for a demo identity, which the hub verifies', async () => {
    const app = pages(false);
    const identities = (await app.inject({ url: '/web/dev/identities' })).json<Array<{ unitId: string; role: string; subject?: string }>>();
    expect(identities).toContainEqual(expect.objectContaining({ unitId: 'huangpu-command', role: 'district_command' }));
    const officer = identities.find((i) => i.role === 'enterprise_officer');
    const answer = await app.inject({ method: 'POST', url: '/web/dev/token', payload: officer });
    const identity = await createVerifier({ ...auth, NODE_ENV: 'test' })(`Bearer ${answer.json<{ token: string }>().token}`);
    expect(identity).toMatchObject({ unitId: officer?.unitId, role: 'enterprise_officer', subject: officer?.subject });
  });

  it('refuses an identity the demo does not have: another role for a unit, another subject, a unit that does not exist', async () => {
    const app = pages(false);
    for (const payload of [
      { unitId: 'changzhou-c1-g1', role: 'district_command' },
      { unitId: 'dept-business', role: 'enterprise_officer', subject: 'cso-99' },
      { unitId: 'huangpu-command', role: 'district_command', subject: 'someone-else' },
      { unitId: 'nowhere', role: 'street' },
      { unitId: 'huangpu-command' },
      'not json at all',
    ]) {
      const answer = await app.inject({ method: 'POST', url: '/web/dev/token', payload });
      expect(answer.statusCode, JSON.stringify(payload)).toBeGreaterThanOrEqual(400);
      expect(answer.json()).not.toHaveProperty('token');
    }
  });

  it('has no development sign-in in production, and says where staff sign in', async () => {
    const app = pages(true, 'https://sso.agency.example/huying');
    expect((await app.inject({ method: 'POST', url: '/web/dev/token', payload: { unitId: 'huangpu-command', role: 'district_command' } })).statusCode).toBe(404);
    expect((await app.inject({ url: '/web/dev/identities' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/web/sign-in.json' })).json()).toEqual({ mode: 'production', signInUrl: 'https://sso.agency.example/huying' });
  });

  it('serves the pages and their bundles under a same-origin Content-Security-Policy', async () => {
    const app = pages(true);
    for (const url of ['/screen', '/workbench', '/web/assets/screen.js', '/web/assets/workbench.js', '/web/assets/pages.css']) {
      const answer = await app.inject({ url });
      expect(answer.statusCode, url).toBe(200);
      expect(answer.headers['content-security-policy'], url).toContain("default-src 'self'");
      expect(answer.headers['content-security-policy'], url).toContain("connect-src 'self'");
    }
    expect((await app.inject({ url: '/web/assets/../../package.json' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/web/assets/nothing.js' })).statusCode).toBe(404);
  });
});
