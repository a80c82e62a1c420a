// Signed records: every record the hub publishes on hub.call-events, the feedback topics to 12345 and
// 信访 and its checkpoint log carries an Ed25519 signature (RFC 8032) and the id of the key that made
// it, so a source system (or an auditor) can tell a record the hub wrote from one written by anybody
// else with access to the broker. Records from the source systems are checked the same way when the
// source signs them.
//
// What is signed: the bytes
//   "huying-record-v1" 0x00 <topic> 0x00 <record key> 0x00 <record value>
// — the value exactly as sent (no re-serialisation on either side), bound to its topic and key, so a
// signed record cannot be replayed onto another topic or under another call's key. The signature
// travels in Kafka headers (`signature`: 128 hex digits; `signature-key`: the key id), not in the
// value: the events keep their JSON Schemas and their consumers unchanged, and a value is never
// rewritten to make room for its own signature.
//
// Keys (README "Signed records"): RECORD_SIGNING_KEY is the hub's one current private key; its public
// half verifies, as does every key listed in RECORD_VERIFY_KEYS (the keys retired by rotation: old
// records stay verifiable). SOURCE_VERIFY_KEYS lists the source systems' public keys.
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const SIGNATURE_HEADER = 'signature';
export const SIGNATURE_KEY_HEADER = 'signature-key';
const DOMAIN = Buffer.from('huying-record-v1\u0000');
const KEY_ID = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const SYSTEM = /^[a-z][a-z0-9-]{0,31}$/;
// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS #8) or public key (SPKI), RFC 8410.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface PublicKeyEntry {
  id: string;
  key: KeyObject;
}

export function privateKeyFromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The raw 32 bytes of an Ed25519 public key, base64: what RECORD_VERIFY_KEYS and SOURCE_VERIFY_KEYS list. */
export function rawPublicKey(key: KeyObject): string {
  return (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length).toString('base64');
}

function keyBytes(material: string | undefined): Buffer {
  return Buffer.from(material ?? '', 'base64');
}

const bad = (ctx: z.RefinementCtx, message: string) => {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
};

/** `<key id>:<base64 of the 32-byte Ed25519 seed>` (make one with `npm run verify -- --new-key <id>`). */
export const signingKey = z.string().transform((value, ctx) => {
  const [id, material, ...rest] = value.trim().split(':');
  const seed = keyBytes(material);
  if (!id || !KEY_ID.test(id) || rest.length > 0 || seed.length !== 32) {
    return bad(ctx, `expected <key id>:<base64 of a 32-byte Ed25519 seed> (a key id is a letter then up to 31 letters, digits, "_" or "-"); make one with: npm run verify -- --new-key <id>`);
  }
  const privateKey = privateKeyFromSeed(seed);
  return { id, privateKey, publicKey: createPublicKey(privateKey) };
});

/** `<key id>:<base64 public key>,…`, optionally each as `<system>/<key id>:…` (SOURCE_VERIFY_KEYS). */
function publicKeyList(withSystem: boolean) {
  return z.string().transform((value, ctx) => {
    const keys: Array<PublicKeyEntry & { system: string }> = [];
    for (const entry of value.split(',').map((e) => e.trim()).filter(Boolean)) {
      const [name, material, ...rest] = entry.split(':');
      const [system, id] = withSystem ? (name ?? '').split('/') : ['hub', name];
      const raw = keyBytes(material);
      if (!system || !SYSTEM.test(system) || !id || !KEY_ID.test(id) || rest.length > 0 || raw.length !== 32) {
        return bad(ctx, `"${name ?? ''}:…" is not ${withSystem ? '<system>/' : ''}<key id>:<base64 of a 32-byte Ed25519 public key>`);
      }
      if (keys.some((k) => k.system === system && k.id === id)) return bad(ctx, `key "${name}" is listed twice`);
      keys.push({ system, id, key: publicKeyFromRaw(raw) });
    }
    return keys;
  });
}

export const signingConfig = z.object({
  /** The hub's current signing key. Required in production; a fixed development key otherwise. */
  RECORD_SIGNING_KEY: signingKey.optional(),
  /** Public keys of the hub's earlier signing keys, still accepted for the records they signed. */
  RECORD_VERIFY_KEYS: publicKeyList(false).optional(),
  /** The source systems' public keys (`hotline/h1:…,petition/p1:…`): their records are checked on arrival. */
  SOURCE_VERIFY_KEYS: publicKeyList(true).optional(),
});
export type SigningConfig = z.infer<typeof signingConfig>;

/** The development signing key: only when RECORD_SIGNING_KEY is not set outside production. */
export const DEVELOPMENT_SIGNING_SEED = createHash('sha256').update('huying-development-record-signing-key-not-for-production').digest();

/** The bytes a record's signature covers. */
export function signedBytes(topic: string, key: Buffer | string | null | undefined, value: Buffer | string): Buffer {
  return Buffer.concat([DOMAIN, Buffer.from(topic), Buffer.of(0), Buffer.from(key ?? ''), Buffer.of(0), Buffer.from(value)]);
}

export class RecordSigner {
  readonly keyId: string;
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;

  constructor(key: { id: string; privateKey: KeyObject }) {
    this.keyId = key.id;
    this.privateKey = key.privateKey;
    this.publicKey = createPublicKey(key.privateKey);
  }

  /** The headers that sign a record of `topic` with this key and value. */
  headers(topic: string, key: Buffer | string | null | undefined, value: Buffer | string): Record<string, string> {
    const signature = sign(null, signedBytes(topic, key, value), this.privateKey);
    return { [SIGNATURE_HEADER]: signature.toString('hex'), [SIGNATURE_KEY_HEADER]: this.keyId };
  }
}

export type SignatureCheck =
  | { status: 'valid'; keyId: string }
  /** No signature on the record. */
  | { status: 'missing' }
  /** Signed with a key this verifier does not hold (retired without being listed, or not ours). */
  | { status: 'unknown_key'; keyId: string }
  /** The signature does not match: the record (value, key or topic) or its signature was altered. */
  | { status: 'invalid'; keyId: string };

type HeaderValue = Buffer | string | Array<Buffer | string> | undefined;
const headerText = (value: HeaderValue): string | undefined => {
  const last = Array.isArray(value) ? value.at(-1) : value;
  return last === undefined ? undefined : Buffer.isBuffer(last) ? last.toString('utf8') : String(last);
};

export class RecordVerifier {
  private readonly keys: Map<string, KeyObject>;

  constructor(keys: readonly PublicKeyEntry[]) {
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  check(
    topic: string,
    key: Buffer | string | null | undefined,
    value: Buffer | string | null | undefined,
    headers: Record<string, HeaderValue> | undefined,
  ): SignatureCheck {
    const signature = headerText(headers?.[SIGNATURE_HEADER]);
    const keyId = headerText(headers?.[SIGNATURE_KEY_HEADER]);
    if (!signature || !keyId) return { status: 'missing' };
    const publicKey = this.keys.get(keyId);
    if (!publicKey) return { status: 'unknown_key', keyId };
    const bytes = /^[0-9a-f]{128}$/.test(signature) ? Buffer.from(signature, 'hex') : undefined;
    const ok = bytes !== undefined && verify(null, signedBytes(topic, key, value ?? Buffer.alloc(0)), publicKey, bytes);
    return ok ? { status: 'valid', keyId } : { status: 'invalid', keyId };
  }
}

/** The hub's signer: RECORD_SIGNING_KEY, or the development key outside production. */
export function signerFrom(config: SigningConfig & { NODE_ENV: string }): RecordSigner {
  if (config.RECORD_SIGNING_KEY) return new RecordSigner(config.RECORD_SIGNING_KEY);
  if (config.NODE_ENV === 'production') throw new Error('RECORD_SIGNING_KEY must be set in production');
  return new RecordSigner({ id: 'dev', privateKey: privateKeyFromSeed(DEVELOPMENT_SIGNING_SEED) });
}

/** Verifies the hub's own records: the current key's public half and every retired key listed. */
export function hubVerifierFrom(config: SigningConfig & { NODE_ENV: string }): RecordVerifier {
  const current = signerFrom(config);
  return new RecordVerifier([{ id: current.keyId, key: current.publicKey }, ...(config.RECORD_VERIFY_KEYS ?? [])]);
}

/** A verifier per source system that has keys listed in SOURCE_VERIFY_KEYS. */
export function sourceVerifiersFrom(config: SigningConfig): Map<string, RecordVerifier> {
  const bySystem = new Map<string, PublicKeyEntry[]>();
  for (const key of config.SOURCE_VERIFY_KEYS ?? []) bySystem.set(key.system, [...(bySystem.get(key.system) ?? []), key]);
  return new Map([...bySystem].map(([system, keys]) => [system, new RecordVerifier(keys)]));
}
