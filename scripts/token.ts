// `npm run token -- --unit <unit id> --role <role> [--subject <id>] [--scope "calls:read ..."] [--expires 12h]`
// prints a development bearer token (HS256, the development key or JWT_SECRET) for the demo data. It
// carries iat and exp, and --expires may not exceed JWT_MAX_LIFETIME (30d), beyond which services refuse it.
import { parseArgs } from 'node:util';
import { DEFAULT_JWT_MAX_LIFETIME, lifetimeSeconds, mintToken, ROLES, type Role } from '../platform/auth.ts';
import { demoUnits } from '../demo/district.ts';

const { values } = parseArgs({
  options: {
    unit: { type: 'string' },
    role: { type: 'string' },
    subject: { type: 'string' },
    scope: { type: 'string' },
    expires: { type: 'string', default: '12h' },
  },
});
const units = new Map(demoUnits().map((u) => [u.id, u]));
const fail = (message: string) => {
  console.error(`${message}\nusage: npm run token -- --unit <unit id> --role <${ROLES.join('|')}>`);
  process.exit(2);
};
if (!values.unit || !units.has(values.unit)) fail(`unknown or missing --unit (e.g. changzhou-c1-g1, changzhou, dept-urban, huangpu-command)`);
if (!values.role || !ROLES.includes(values.role as Role)) fail(`unknown or missing --role`);
const maxLifetime = process.env.JWT_MAX_LIFETIME || DEFAULT_JWT_MAX_LIFETIME;
const lifetime = lifetimeSeconds(values.expires);
if (!lifetime || lifetime > (lifetimeSeconds(maxLifetime) ?? 0)) {
  fail(`--expires ${values.expires}: expected a duration such as 12h, 7d or 3600s, at most JWT_MAX_LIFETIME (${maxLifetime})`);
}
console.log(
  await mintToken(
    {
      subject: values.subject ?? `${values.role}@${values.unit}`,
      unitId: values.unit as string,
      role: values.role as Role,
      scopes: values.scope?.split(' ').filter(Boolean),
    },
    { secret: process.env.JWT_SECRET, expiresIn: `${lifetime}s` },
  ),
);
