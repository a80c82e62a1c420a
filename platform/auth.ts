// Identity: every request carries a bearer JWT naming the subject, their unit and their role. The
// gateway verifies it and forwards it; each subgraph verifies it again itself, so a request that
// reaches a subgraph directly without a valid token is refused.
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { GraphQLError } from 'graphql';

/** Roles, from the grid up; `service_account` is an agency system acting with scopes. */
export const ROLES = [
  'grid_worker', // 网格员
  'community', // 社区
  'street', // 街道 / 镇
  'street_leader', // 街道领导: approves a street's call to a department (审核), unit = the street
  'street_command', // 街镇指挥中心
  'department', // 区属职能部门
  'district_command', // 区指挥中心
  'leader', // 区领导 (提级呼叫)
  'enterprise_officer', // 首席服务官
  'service_account', // agency system
] as const;
export type Role = (typeof ROLES)[number];

export interface Identity {
  subject: string;
  unitId: string;
  role: Role;
  scopes: string[];
}

/**
 * What decides what an identity may see: its role and unit (and an agency account's scopes). Two
 * identities with the same access scope get the same answers, so the gateway may share work between
 * them. An enterprise officer sees the enterprises they serve themselves, and an agency account the calls
 * it raised, so their subject counts too.
 */
export function accessScope(identity: Identity): string {
  // Officers and agency accounts also see what they themselves serve, follow or raised (platform/policy.ts).
  const person = identity.role === 'enterprise_officer' || identity.role === 'service_account' ? identity.subject : '';
  return [identity.role, identity.unitId, [...identity.scopes].sort().join(','), person].join('|');
}

/** A token lifetime such as `30d`, `12h`, `90m` or `3600s`, in seconds. */
export function lifetimeSeconds(text: string): number | undefined {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

/** The longest a token may live (exp − iat) unless JWT_MAX_LIFETIME says otherwise: a dashboard's month. */
export const DEFAULT_JWT_MAX_LIFETIME = '30d';

/**
 * The gateway's own identity: an agency account (`service_account`) holding this scope. Only it may
 * introspect a subgraph (`__schema`, `__type`) or read its SDL (`_service`); the production gateway
 * runs the composed static supergraph and needs neither, and `npm run compose` reads the SDL files.
 */
export const GATEWAY_SCOPE = 'gateway:introspect';

export function isGatewayIdentity(identity: Identity): boolean {
  return identity.role === 'service_account' && identity.scopes.includes(GATEWAY_SCOPE);
}

export const authConfig = z.object({
  /** HS256 key for development and tests. */
  JWT_SECRET: z.string().min(16, 'expected at least 16 characters').optional(),
  /** RS256/ES256 keys for production. */
  JWKS_URL: z.url({ message: 'expected an https URL of a JSON Web Key Set' }).optional(),
  JWT_ISSUER: z.string().min(1).default('huying'),
  JWT_AUDIENCE: z.string().min(1).default('huying'),
  /** A token must name when it was issued (iat) and expires (exp), and live no longer than this. */
  JWT_MAX_LIFETIME: z
    .string()
    .refine((text) => (lifetimeSeconds(text) ?? 0) > 0, 'expected a duration such as 30d, 12h, 90m or 3600s')
    .default(DEFAULT_JWT_MAX_LIFETIME),
});
export type AuthConfig = z.infer<typeof authConfig>;

/** The development key: used only when neither JWT_SECRET nor JWKS_URL is set outside production. */
export const DEVELOPMENT_JWT_SECRET = 'huying-development-key-not-for-production';

export class AuthError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: 'UNAUTHENTICATED' } });
  }
}

const claims = z.object({
  sub: z.string().min(1),
  unit: z.string().min(1),
  role: z.enum(ROLES),
  scope: z.string().optional(),
});

type VerifierConfig = Omit<AuthConfig, 'JWT_MAX_LIFETIME'> & { JWT_MAX_LIFETIME?: string; NODE_ENV: string };

function jwtVerifier(config: VerifierConfig): (token: string) => Promise<JWTPayload> {
  // A token without exp would be valid forever; without iat its lifetime could not be checked.
  const claimsOptions = { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, requiredClaims: ['exp', 'iat'] };
  if (config.JWKS_URL) {
    const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(config.JWKS_URL));
    return async (token) => (await jwtVerify(token, keys, { ...claimsOptions, algorithms: ['RS256', 'ES256'] })).payload;
  }
  if (!config.JWT_SECRET && config.NODE_ENV === 'production') {
    throw new Error('JWT_SECRET or JWKS_URL must be set in production');
  }
  const secret = new TextEncoder().encode(config.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET);
  return async (token) => (await jwtVerify(token, secret, { ...claimsOptions, algorithms: ['HS256'] })).payload;
}

export type Verifier = (authorization: string | undefined) => Promise<Identity>;

/** How long a verified token is trusted without checking its signature again (never past its expiry). */
const VERIFIED_TOKEN_TTL_MS = 60_000;

/** How far a token's iat may lie in the future (clocks of the issuer and the hub differ a little). */
const CLOCK_SKEW_S = 60;

export function createVerifier(config: VerifierConfig): Verifier {
  const verify = jwtVerifier(config);
  const maxLifetime = lifetimeSeconds(config.JWT_MAX_LIFETIME ?? DEFAULT_JWT_MAX_LIFETIME) ?? 0;
  // Clients send the same token with every request; checking its signature each time costs more
  // than the rest of a shared request. A verified token is remembered for a minute at most, so a
  // key withdrawn from the JWKS stops being accepted within that minute.
  const verified = new LRUCache<string, { identity: Identity; trustedUntil: number }>({ max: 10_000 });
  return async (authorization) => {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new AuthError('缺少身份令牌 (missing bearer token)');
    const known = verified.get(token);
    if (known && Date.now() < known.trustedUntil) return known.identity;
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch (err) {
      const { code, claim } = err as { code?: string; claim?: string };
      if (code === 'ERR_JWT_EXPIRED') throw new AuthError('身份令牌已过期 (token expired)');
      if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && (claim === 'exp' || claim === 'iat')) {
        throw new AuthError(`身份令牌须注明签发和过期时间 (token lacks a valid ${claim})`);
      }
      throw new AuthError('身份令牌无效 (invalid token)');
    }
    const { exp, iat } = payload as { exp: number; iat: number };
    if (iat > Date.now() / 1000 + CLOCK_SKEW_S) throw new AuthError('身份令牌签发时间在未来 (token issued in the future)');
    if (exp - iat > maxLifetime) {
      throw new AuthError(`身份令牌有效期超过上限 ${maxLifetime} 秒 (token lifetime exceeds JWT_MAX_LIFETIME)`);
    }
    const parsed = claims.safeParse(payload);
    if (!parsed.success) throw new AuthError('身份令牌缺少单位或角色 (token lacks unit or role)');
    const { sub, unit, role, scope } = parsed.data;
    const identity: Identity = Object.freeze({ subject: sub, unitId: unit, role, scopes: Object.freeze(scope ? scope.split(' ') : []) as string[] });
    const trustedUntil = Math.min(Date.now() + VERIFIED_TOKEN_TTL_MS, exp * 1000);
    verified.set(token, { identity, trustedUntil });
    return identity;
  };
}

/** Mints an HS256 token: the development command and tests. */
export async function mintToken(
  identity: Omit<Identity, 'scopes'> & { scopes?: string[] },
  options: { secret?: string; expiresIn?: string; issuer?: string; audience?: string } = {},
): Promise<string> {
  return new SignJWT({ unit: identity.unitId, role: identity.role, scope: identity.scopes?.join(' ') || undefined })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(identity.subject)
    .setIssuer(options.issuer ?? 'huying')
    .setAudience(options.audience ?? 'huying')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h')
    .sign(new TextEncoder().encode(options.secret ?? DEVELOPMENT_JWT_SECRET));
}
