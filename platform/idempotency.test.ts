// Idempotency keys over the real FerretDB: bound to their first request for the retention
// (IDEMPOTENCY_KEY_RETENTION_HOURS), across midnight, and expired by dropping whole days.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testScope } from '../test/support/isolation.ts';
import type { Identity } from './auth.ts';
import { IDEMPOTENCY_KEY_RETENTION_HOURS, IdempotencyKeys } from './idempotency.ts';
import { type Connection, connectMongo } from './mongo.ts';

const scope = testScope('idempotency');
let conn: Connection;
beforeAll(async () => {
  conn = await connectMongo(scope.config, scope.dbName);
});
afterAll(async () => {
  await conn.close();
  await scope.cleanup();
});

const person = { subject: 'grid-worker-1' } as Identity;
const at = (iso: string) => Date.parse(iso);
const codeOf = (err: unknown) => (err as { extensions?: { code?: string } }).extensions?.code;

/** A key store whose clock the test moves. */
async function keysAt(start: string, prefix: string) {
  let now = at(start);
  const keys = await IdempotencyKeys.on(conn, { prefix, now: () => now });
  return { keys, move: (iso: string) => (now = at(iso)) };
}

describe('idempotency keys: IDEMPOTENCY_KEY_RETENTION_HOURS (24 h, as Stripe; draft-ietf-httpapi-idempotency-key-header §2.3)', () => {
  it('is 24 hours by default', () => {
    expect(IDEMPOTENCY_KEY_RETENTION_HOURS).toBe(24);
  });

  it('keeps a key bound to its first input across midnight: reused with other input at 00:01 it is refused, and the work does not run', async () => {
    const { keys, move } = await keysAt('2026-12-04T23:59:00Z', 'keys_midnight');
    expect(await keys.run(person, 'k-1', 'callUp', { id: 'c1', note: 'a' }, async () => 'first')).toBe('first');
    move('2026-12-05T00:01:00Z');
    let ran = false;
    const refused = await keys.run(person, 'k-1', 'callUp', { id: 'c1', note: 'b' }, async () => (ran = true)).catch((err: unknown) => err);
    expect(codeOf(refused)).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(ran).toBe(false);
    // The same input again is a retry: it runs (the change is deduplicated where it is written).
    expect(await keys.run(person, 'k-1', 'callUp', { id: 'c1', note: 'a' }, async () => 'retried')).toBe('retried');
  });

  it('drops a day only once every key in it is older than 24 hours, then the key is free again', async () => {
    const { keys, move } = await keysAt('2026-12-04T23:59:00Z', 'keys_expiry');
    await keys.run(person, 'k-2', 'signCall', { id: 'c2' }, async () => undefined);
    move('2026-12-05T23:58:00Z'); // 23 h 59 min later: still bound, nothing to drop
    expect(await keys.expire()).toEqual([]);
    expect(codeOf(await keys.run(person, 'k-2', 'signCall', { id: 'c3' }, async () => undefined).catch((err: unknown) => err))).toBe('IDEMPOTENCY_KEY_REUSED');
    move('2026-12-06T00:00:00Z'); // 24 h 1 min later: the whole of 4 December is past the retention
    expect(await keys.expire()).toEqual(['keys_expiry_20261204']);
    expect(await keys.run(person, 'k-2', 'signCall', { id: 'c3' }, async () => 'new')).toBe('new');
  });

  it('gives the key back when the work fails, so a corrected retry with other input is not refused', async () => {
    const { keys } = await keysAt('2026-12-04T12:00:00Z', 'keys_failed');
    await expect(keys.run(person, 'k-3', 'completeCall', { id: 'c4' }, async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(await keys.run(person, 'k-3', 'completeCall', { id: 'c4', result: '已办结' }, async () => 'done')).toBe('done');
  });
});
