// Sealed personal data: a contact a downstream service needs (the citizen's phone, so the handling unit
// can call back) travels on Kafka encrypted with AES-256-GCM under a key that service holds, never in
// clear. A sealed value names its key (`pd1.<key id>.<hex>`), so keys rotate: the first key of
// PERSONAL_DATA_KEYS seals, every listed key opens. Each value is bound to its context (the source
// record it belongs to: `hotline:GZ12345-…`), so it cannot be pasted into another record.
//
// The text is hexadecimal on purpose: a phone or ID pattern needs a number standing alone (no letter
// or digit beside it), which a run of hex digits never is, so scrubbers and the Kafka scan pass over it.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';

const VERSION = 'pd1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const SEALED = /^pd1\.[A-Za-z][A-Za-z0-9_-]{0,31}\.(?:[0-9a-f]{2}){28,}$/;

export interface PersonalKey {
  id: string;
  key: Buffer;
}

/** `k2:<base64 of 32 bytes>,k1:<base64>`: the first key seals, all of them open. */
export const personalKeyList = z.string().transform((value, ctx) => {
  const keys: PersonalKey[] = [];
  for (const entry of value.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [id, material, ...rest] = entry.split(':');
    const key = Buffer.from(material ?? '', 'base64');
    if (!id || !KEY_ID.test(id) || rest.length > 0 || key.length !== 32) {
      ctx.addIssue({
        code: 'custom',
        message: `"${id ?? ''}:…" is not <key id>:<base64 of 32 bytes> (a key id is a letter then up to 31 letters, digits, "_" or "-"; make a key with: openssl rand -base64 32)`,
      });
      return z.NEVER;
    }
    if (keys.some((k) => k.id === id)) {
      ctx.addIssue({ code: 'custom', message: `key id "${id}" is listed twice` });
      return z.NEVER;
    }
    keys.push({ id, key });
  }
  if (keys.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected one or more <key id>:<base64 key>, separated by commas' });
    return z.NEVER;
  }
  return keys;
});

/** The variable every service that seals or opens personal data reads (connectors, calls, enterprise, redrive). */
export const personalDataConfig = z.object({
  /** AES-256 keys for personal data on Kafka; the first seals. Required in production. */
  PERSONAL_DATA_KEYS: personalKeyList.optional(),
});
export type PersonalDataConfig = z.infer<typeof personalDataConfig>;

/** The development key: used only when PERSONAL_DATA_KEYS is not set outside production. */
export const DEVELOPMENT_PERSONAL_KEY: PersonalKey = {
  id: 'dev',
  key: createHash('sha256').update('huying-development-personal-data-key-not-for-production').digest(),
};

/** A value could not be opened: unknown key id (retired, or not yet configured here), or altered. */
export class SealError extends Error {
  override name = 'SealError';
}

export class Keyring {
  private readonly byId: Map<string, Buffer>;
  readonly currentId: string;

  constructor(keys: readonly PersonalKey[]) {
    const [current] = keys;
    if (!current) throw new Error('a keyring needs at least one key');
    this.currentId = current.id;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The key ids that can open (the current one first). */
  get ids(): string[] {
    return [...this.byId.keys()];
  }

  /** Encrypts `plaintext` with the current key, bound to `context`. */
  seal(plaintext: string | Buffer, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.byId.get(this.currentId) as Buffer, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return `${VERSION}.${this.currentId}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('hex')}`;
  }

  /** Decrypts a sealed value of `context` with whichever listed key sealed it. */
  open(sealed: string, context: string): Buffer {
    if (!isSealed(sealed)) throw new SealError('not a sealed value');
    const [, id, hex] = sealed.split('.') as [string, string, string];
    const key = this.byId.get(id);
    if (!key) throw new SealError(`sealed with key "${id}", which is not among PERSONAL_DATA_KEYS (${this.ids.join(', ')})`);
    const bytes = Buffer.from(hex, 'hex');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealError(`sealed value does not open under key "${id}" for ${context} (altered, or moved from another record)`);
    }
  }

  sealJson(value: unknown, context: string): string {
    return this.seal(JSON.stringify(value), context);
  }

  openJson<T>(sealed: string, context: string): T {
    return JSON.parse(this.open(sealed, context).toString('utf8')) as T;
  }
}

/** True for a value `Keyring.seal` made (its form only: opening it proves the rest). */
export function isSealed(value: string): boolean {
  return value.startsWith(`${VERSION}.`) && SEALED.test(value);
}

/** The keyring a service's configuration names; the development key outside production when none is set. */
export function keyringFrom(config: PersonalDataConfig & { NODE_ENV: string }): Keyring {
  if (config.PERSONAL_DATA_KEYS) return new Keyring(config.PERSONAL_DATA_KEYS);
  if (config.NODE_ENV === 'production') throw new Error('PERSONAL_DATA_KEYS must be set in production');
  return new Keyring([DEVELOPMENT_PERSONAL_KEY]);
}
