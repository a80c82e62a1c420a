import { afterEach, describe, expect, it, vi } from 'vitest';
import { createVerifier, mintToken } from './auth.ts';

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
