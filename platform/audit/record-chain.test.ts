import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical.ts';
import { chainGenesis, linkHash, verifyChain } from './record-chain.ts';
import { hubVerifierFrom, rawPublicKey, RecordSigner, RecordVerifier, signerFrom, signingConfig } from './signing.ts';

interface Entry {
  at: string;
  action: string;
  note?: string;
  prevHash?: string;
  hash?: string;
}
const content = ({ prevHash: _p, hash: _h, ...rest }: Entry) => rest;

function chain(id: string, actions: string[]): { entries: Entry[]; head: string } {
  let prev = chainGenesis('test', id);
  const entries = actions.map((action, i) => {
    const entry: Entry = { at: `2026-06-0${i + 1}T00:00:00.000Z`, action };
    const hash = linkHash(prev, entry);
    const chained = { ...entry, prevHash: prev, hash };
    prev = hash;
    return chained;
  });
  return { entries, head: prev };
}

describe('canonical JSON (RFC 8785)', () => {
  it('sorts members, drops undefined, writes dates as ISO text and numbers as ECMAScript does', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, d: new Date(Date.UTC(2026, 5, 1)) })).toBe(
      '{"a":[true,null,"x"],"b":1,"d":"2026-06-01T00:00:00.000Z"}',
    );
    // RFC 8785 §3.2.2.3 number forms, and code-unit order of member names (§3.2.3).
    expect(canonicalJson({ n: [1e21, 1e-7, -0, 0.1 + 0.2], '\u20ac': 1, '\r': 2, '1': 3 })).toBe(
      '{"\\r":2,"1":3,"n":[1e+21,1e-7,0,0.30000000000000004],"€":1}',
    );
  });
});

describe('a hash chain', () => {
  const { entries, head } = chain('C1', ['raise', 'sign', 'respond', 'complete', 'confirm']);

  it('verifies as written', () => {
    expect(verifyChain(chainGenesis('test', 'C1'), entries, head, content)).toEqual({ status: 'INTACT', entries: 5, head });
  });

  it('finds a changed, removed, reordered, inserted or unchained entry, and a cut end, at its position', () => {
    const genesis = chainGenesis('test', 'C1');
    const at = (list: Entry[], h = head) => verifyChain(genesis, list, h, content);
    const changed = entries.map((e, i) => (i === 2 ? { ...e, note: '已办结' } : e));
    expect(at(changed)).toMatchObject({ status: 'BROKEN', break: { position: 2, reason: 'content_changed' } });
    expect(at([...entries.slice(0, 1), ...entries.slice(2)])).toMatchObject({ status: 'BROKEN', break: { position: 1, reason: 'link_broken' } });
    const swapped = [entries[0], entries[2], entries[1], entries[3], entries[4]] as Entry[];
    expect(at(swapped)).toMatchObject({ status: 'BROKEN', break: { position: 1, reason: 'link_broken' } });
    const stripped = entries.map((e, i) => (i === 3 ? content(e) : e));
    expect(at(stripped)).toMatchObject({ status: 'BROKEN', break: { position: 3, reason: 'unchained_entry' } });
    expect(at(entries.slice(0, 4))).toMatchObject({ status: 'BROKEN', break: { position: 4, reason: 'truncated' } });
    // Another call's timeline pasted in does not start from this call's genesis.
    const other = chain('C2', ['raise', 'sign', 'respond', 'complete', 'confirm']);
    expect(at(other.entries, other.head)).toMatchObject({ status: 'BROKEN', break: { position: 0, reason: 'link_broken' } });
    // A list written before chaining says so rather than passing or failing.
    expect(verifyChain(genesis, entries.map(content), undefined, content)).toEqual({ status: 'UNCHAINED', entries: 5 });
  });
});

describe('signed records', () => {
  const config = (env: Record<string, string>) => signingConfig.parse(env);
  const newKey = (id: string) => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32).toString('base64');
    return { id, env: `${id}:${seed}`, pub: `${id}:${rawPublicKey(privateKey)}` };
  };

  it('verifies its own records, refuses altered, moved, unsigned and foreign ones, and keeps old keys after rotation', () => {
    const k1 = newKey('k1');
    const k2 = newKey('k2');
    const before = signerFrom({ NODE_ENV: 'production', ...config({ RECORD_SIGNING_KEY: k1.env }) });
    const value = '{"callId":"C1","type":"call.completed"}';
    const old = before.headers('hub.call-events', 'C1', value);
    // Rotation: k2 signs from now on; k1's public key is kept for what it signed.
    const after = config({ RECORD_SIGNING_KEY: k2.env, RECORD_VERIFY_KEYS: k1.pub });
    const verifier = hubVerifierFrom({ NODE_ENV: 'production', ...after });
    const fresh = signerFrom({ NODE_ENV: 'production', ...after }).headers('hub.call-events', 'C1', value);
    expect(verifier.check('hub.call-events', 'C1', value, old)).toEqual({ status: 'valid', keyId: 'k1' });
    expect(verifier.check('hub.call-events', 'C1', value, fresh)).toEqual({ status: 'valid', keyId: 'k2' });
    expect(verifier.check('hub.call-events', 'C1', value.replace('completed', 'closed'), fresh)).toEqual({ status: 'invalid', keyId: 'k2' });
    expect(verifier.check('src.12345.feedback', 'C1', value, fresh).status).toBe('invalid');
    expect(verifier.check('hub.call-events', 'C2', value, fresh).status).toBe('invalid');
    expect(verifier.check('hub.call-events', 'C1', value, {})).toEqual({ status: 'missing' });
    expect(verifier.check('hub.call-events', 'C1', value, { ...fresh, signature: 'zz' }).status).toBe('invalid');
    // Without k1 listed, its records no longer verify: rotation must keep the old public key.
    const forgetful = hubVerifierFrom({ NODE_ENV: 'production', ...config({ RECORD_SIGNING_KEY: k2.env }) });
    expect(forgetful.check('hub.call-events', 'C1', value, old)).toEqual({ status: 'unknown_key', keyId: 'k1' });
    // A forger's key with a known id does not pass.
    const forger = new RecordSigner({ id: 'k2', privateKey: generateKeyPairSync('ed25519').privateKey });
    expect(new RecordVerifier([{ id: 'k2', key: signerFrom({ NODE_ENV: 'production', ...after }).publicKey }]).check('t', 'C1', value, forger.headers('t', 'C1', value)).status).toBe('invalid');
  });

  it('refuses bad key configuration with a message, and a production hub without a key', () => {
    expect(() => config({ RECORD_SIGNING_KEY: 'k1:short' })).toThrow(/32-byte Ed25519 seed/);
    expect(() => config({ SOURCE_VERIFY_KEYS: 'k1:AAAA' })).toThrow(/<system>\/<key id>/);
    expect(() => signerFrom({ NODE_ENV: 'production' })).toThrow(/RECORD_SIGNING_KEY must be set in production/);
    expect(signerFrom({ NODE_ENV: 'development' }).keyId).toBe('dev');
  });
});
