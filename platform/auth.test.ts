import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createVerifier, lifetimeSeconds, mintToken } from './auth.ts';

const config = { JWT_SECRET: 'a-test-key-of-sufficient-length', JWT_ISSUER: 'huying', JWT_AUDIENCE: 'huying', NODE_ENV: 'test' };
const street = { subject: 'wang', unitId: 'street-lianhua', role: 'street' as const };

describe('createVerifier', () => {
  afterEach(() => vi.useRealTimers());

  it('names the identity a token carries, the same on every request', async () => {
    const verify = createVerifier(config);
    const token = await mintToken(street, { secret: config.JWT_SECRET });
    const first = await verify(`Bearer ${token}`);
    expect(first).toEqual({ ...street, scopes: [] });
    expect(await verify(`Bearer ${token}`)).toEqual(first);
  });

  it('refuses a token it accepted before, once that token has expired', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const verify = createVerifier(config);
    const token = await mintToken(street, { secret: config.JWT_SECRET, expiresIn: '30s' });
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ subject: 'wang' });
    vi.advanceTimersByTime(31_000);
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({
      message: '身份令牌已过期 (token expired)',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('refuses a forged token, also right after the genuine one was accepted', async () => {
    const verify = createVerifier(config);
    const genuine = await mintToken(street, { secret: config.JWT_SECRET });
    await verify(`Bearer ${genuine}`);
    const forged = await mintToken({ ...street, role: 'leader' }, { secret: 'somebody-elses-key-of-length' });
    await expect(verify(`Bearer ${forged}`)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    const [header, , signature] = genuine.split('.');
    const alteredClaims = forged.split('.')[1];
    await expect(verify(`Bearer ${header}.${alteredClaims}.${signature}`)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });
});

describe('token lifetime (exp required, JWT_MAX_LIFETIME)', () => {
  const key = new TextEncoder().encode(config.JWT_SECRET);
  const unsigned = () =>
    new SignJWT({ unit: street.unitId, role: street.role }).setProtectedHeader({ alg: 'HS256' }).setSubject(street.subject).setIssuer('huying').setAudience('huying');
  const refusal = (message: RegExp) => ({ message: expect.stringMatching(message), extensions: { code: 'UNAUTHENTICATED' } });

  it('refuses a token without exp, which would be valid forever', async () => {
    const verify = createVerifier(config);
    await expect(verify(`Bearer ${await unsigned().setIssuedAt().sign(key)}`)).rejects.toMatchObject(refusal(/lacks a valid exp/));
  });

  it('refuses a token without iat, whose lifetime cannot be known', async () => {
    const verify = createVerifier(config);
    await expect(verify(`Bearer ${await unsigned().setExpirationTime('1h').sign(key)}`)).rejects.toMatchObject(refusal(/lacks a valid iat/));
  });

  it('refuses a token living longer than JWT_MAX_LIFETIME (default 30d), and one issued in the future', async () => {
    const verify = createVerifier(config);
    await expect(verify(`Bearer ${await mintToken(street, { secret: config.JWT_SECRET, expiresIn: '30d' })}`)).resolves.toMatchObject({ subject: 'wang' });
    const tooLong = await mintToken(street, { secret: config.JWT_SECRET, expiresIn: '31d' });
    await expect(verify(`Bearer ${tooLong}`)).rejects.toMatchObject(refusal(/exceeds JWT_MAX_LIFETIME/));
    const now = Math.floor(Date.now() / 1000);
    const future = await unsigned().setIssuedAt(now + 3600).setExpirationTime(now + 7200).sign(key);
    await expect(verify(`Bearer ${future}`)).rejects.toMatchObject(refusal(/issued in the future/));
    // A longer maximum, configured, lets the same 31-day token through; a shorter one refuses a day.
    await expect(createVerifier({ ...config, JWT_MAX_LIFETIME: '60d' })(`Bearer ${tooLong}`)).resolves.toMatchObject({ subject: 'wang' });
    const day = await mintToken(street, { secret: config.JWT_SECRET, expiresIn: '1d' });
    await expect(createVerifier({ ...config, JWT_MAX_LIFETIME: '12h' })(`Bearer ${day}`)).rejects.toMatchObject(refusal(/exceeds/));
  });

  it('reads JWT_MAX_LIFETIME as seconds, minutes, hours or days', () => {
    expect([lifetimeSeconds('30d'), lifetimeSeconds('12h'), lifetimeSeconds('90m'), lifetimeSeconds('3600s')]).toEqual([2_592_000, 43_200, 5400, 3600]);
    expect([lifetimeSeconds('30'), lifetimeSeconds('1w'), lifetimeSeconds('-1d')]).toEqual([undefined, undefined, undefined]);
  });
});
