// The pages the hub serves itself: the command centre's big screen (/screen) and a unit's workbench
// (/workbench), bundled by esbuild from web/ and the packages in the lockfile (ECharts, graphql-ws),
// so a page never loads anything from outside the machine (government networks are isolated); the
// Content-Security-Policy holds the browser to that too. Outside production a sign-in picker of demo
// units and roles mints development tokens; production has no such route and takes the token from the
// agency's own sign-in.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type AuthConfig, DEVELOPMENT_JWT_SECRET, lifetimeSeconds, mintToken, type Role } from '../platform/auth.ts';
import { demoUnits } from '../demo/district.ts';
import { demoOfficers } from '../demo/enterprise.ts';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '..', 'web');
const PAGES = { screen: 'screen', workbench: 'workbench' } as const;

/**
 * Self only: scripts, styles, images, fetches and the graphql-ws socket all stay on the hub's own
 * origin. Inline style attributes are allowed (ECharts writes its tooltips with them); they load nothing.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** The two bundles, built once per process (about a second) and shared by every gateway in it. */
let bundles: Promise<Map<string, { body: string; type: string }>> | undefined;
function buildBundles() {
  bundles ??= build({
    entryPoints: Object.values(PAGES).map((page) => join(WEB, page, 'main.ts')),
    outdir: 'out',
    entryNames: '[dir]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'chrome109',
    write: false,
    logLevel: 'silent',
  }).then((result) => {
    const files = new Map<string, { body: string; type: string }>();
    for (const file of result.outputFiles) files.set(file.path.split('/').pop() as string, { body: file.text, type: 'text/javascript; charset=utf-8' });
    files.set('pages.css', { body: readFileSync(join(WEB, 'shared', 'pages.css'), 'utf8'), type: 'text/css; charset=utf-8' });
    return files;
  });
  return bundles;
}

export const pagesConfig = z.object({
  /** Production: the agency's OpenID Connect sign-in page the pages send staff to (see README "Web pages"). */
  WEB_SIGN_IN_URL: z.url().optional(),
});

/** Development tokens live a working day, or less when JWT_MAX_LIFETIME is shorter. */
const DEV_TOKEN_SECONDS = 12 * 3600;

export interface PagesOptions {
  production: boolean;
  auth: AuthConfig;
  /** Production: the agency sign-in page staff are sent to (WEB_SIGN_IN_URL). */
  signInUrl?: string;
}

/** The demo identities the development picker offers: one per unit and role that fit together. */
export function demoIdentities(): Array<{ label: string; group: string; unitId: string; role: Role; subject?: string }> {
  const units = demoUnits();
  const byKind = (kind: string) => units.filter((u) => u.kind === kind);
  const identities: Array<{ label: string; group: string; unitId: string; role: Role; subject?: string }> = [];
  const add = (group: string, role: Role, list: Array<{ id: string; name: string }>, suffix = '') =>
    list.forEach((u) => identities.push({ label: `${u.name}${suffix}`, group, unitId: u.id, role }));
  add('区指挥中心', 'district_command', byKind('district_command'));
  add('区领导', 'leader', byKind('leadership'));
  add('街镇指挥中心', 'street_command', byKind('street_command'));
  add('街道', 'street', byKind('street'));
  add('街道领导（审核呼叫部门）', 'street_leader', byKind('street'), ' · 领导');
  add('区属职能部门', 'department', byKind('department'));
  add('社区', 'community', byKind('community'));
  add('网格员', 'grid_worker', byKind('grid'));
  const names = new Map(units.map((u) => [u.id, u.name]));
  for (const officer of demoOfficers()) {
    // The officer's number and unit, not their name: a demo picker shows no personal data.
    identities.push({ label: `首席服务官 ${officer.id}（${names.get(officer.unitId) ?? officer.unitId}）`, group: '首席服务官', unitId: officer.unitId, role: 'enterprise_officer', subject: officer.id });
  }
  return identities;
}

const tokenRequest = z.object({ unitId: z.string().min(1).max(64), role: z.string().min(1).max(32), subject: z.string().min(1).max(64).optional() });

export function servePages(app: FastifyInstance, options: PagesOptions): void {
  void buildBundles().catch(() => undefined); // start early; a failure is reported when a bundle is asked for
  const html = Object.fromEntries(Object.values(PAGES).map((page) => [page, readFileSync(join(WEB, page, 'index.html'), 'utf8')]));
  const secure = (reply: { header: (k: string, v: string) => unknown }) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
  };
  for (const page of Object.values(PAGES)) {
    app.get(`/${page}`, async (_request, reply) => {
      secure(reply);
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html[page]);
    });
  }
  app.get<{ Params: { name: string } }>('/web/assets/:name', async (request, reply) => {
    const file = (await buildBundles()).get(request.params.name);
    if (!file) return reply.code(404).send({ error: 'no such asset' });
    secure(reply);
    return reply.type(file.type).header('cache-control', 'no-cache').send(file.body);
  });
  app.get('/web/sign-in.json', async () => ({
    mode: options.production ? 'production' : 'development',
    ...(options.production && options.signInUrl && { signInUrl: options.signInUrl }),
  }));
  if (options.production || options.auth.JWKS_URL) return;

  // Development only: the gateway verifies HS256 tokens with this same key, so what it mints here works.
  const identities = demoIdentities();
  const allowed = new Set(identities.map((i) => `${i.unitId}|${i.role}|${i.subject ?? ''}`));
  app.get('/web/dev/identities', async () => identities);
  app.post('/web/dev/token', async (request, reply) => {
    const parsed = tokenRequest.safeParse(request.body);
    const wanted = parsed.success ? parsed.data : undefined;
    if (!wanted || !allowed.has(`${wanted.unitId}|${wanted.role}|${wanted.subject ?? ''}`)) {
      return reply.code(400).send({ error: '没有这个演示单位和角色 (no such demo identity)' });
    }
    const token = await mintToken(
      { subject: wanted.subject ?? `${wanted.role}@${wanted.unitId}`, unitId: wanted.unitId, role: wanted.role as Role },
      { secret: options.auth.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET, issuer: options.auth.JWT_ISSUER, audience: options.auth.JWT_AUDIENCE, expiresIn: `${Math.min(DEV_TOKEN_SECONDS, lifetimeSeconds(options.auth.JWT_MAX_LIFETIME) ?? DEV_TOKEN_SECONDS)}s` },
    );
    return { token };
  });
}
