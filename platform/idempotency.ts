// Idempotency keys: a client that retries a mutation sends the same key, and gets the first result
// instead of a second change. The key is bound to the request it first came with (a fingerprint of
// the operation and its input): the same key with other input is a client bug, refused with
// IDEMPOTENCY_KEY_REUSED before anything is written, never answered with an unrelated first result.
// The change itself stays deduplicated where it is written (a call's `appliedKeys`, an id derived from
// the key): this record only binds a key to its input.
import { createHash } from 'node:crypto';
import { type Connection, type Model, Schema } from 'mongoose';
import type { Identity } from './auth.ts';
import { userError } from './errors.ts';

/** At most 128 printable ASCII characters (a UUID, a ULID, a client's own scheme all fit). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 128;
const KEY_PATTERN = /^[\x21-\x7E]+$/;

/** The key, checked: BAD_USER_INPUT for an empty, over-long or non-printable-ASCII key. */
export function checkIdempotencyKey(key: string): string {
  if (key.length > IDEMPOTENCY_KEY_MAX_LENGTH || !KEY_PATTERN.test(key)) {
    throw userError(
      'BAD_USER_INPUT',
      `idempotencyKey 须为 1 至 ${IDEMPOTENCY_KEY_MAX_LENGTH} 个可打印 ASCII 字符 (idempotencyKey must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters)`,
      { field: 'idempotencyKey' },
    );
  }
  return key;
}

interface KeyDoc {
  _id: string;
  fingerprint: string;
  operation: string;
  createdAt: Date;
}

/**
 * How long a key stays bound to its first request: at least 24 hours, as Stripe's API keeps its
 * idempotency keys (draft-ietf-httpapi-idempotency-key-header §2.3: a resource may expire keys and
 * should publish how long they live). Set with IDEMPOTENCY_KEY_RETENTION_HOURS. The change itself
 * stays deduplicated where it was written, for ever: an expired key only loses its input check.
 */
export const IDEMPOTENCY_KEY_RETENTION_HOURS = 24;

const DAY_MS = 86_400_000;
/** The day (UTC) a key is written in names its collection: `<prefix>_20261204`. */
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');

/** Input as compared: null and absent are alike (a client's null variable means "not given"). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null && v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Keys live in one collection per day they were written (`idempotency_keys_20261204`): expiring them
 * drops whole collections, where deleting old documents would scan every key on FerretDB (it
 * indexes nothing but `_id`). A key is looked up in every day that may hold one younger than the
 * retention (today and yesterday, for 24 hours), so it is remembered for at least the retention and
 * at most one day longer.
 */
export class IdempotencyKeys {
  private readonly retentionMs: number;
  private readonly now: () => number;

  private constructor(
    private readonly conn: Connection,
    private readonly prefix: string,
    options: { retentionHours?: number; now?: () => number },
  ) {
    this.retentionMs = (options.retentionHours ?? IDEMPOTENCY_KEY_RETENTION_HOURS) * 3_600_000;
    this.now = options.now ?? Date.now;
  }

  static async on(conn: Connection, options: { prefix?: string; retentionHours?: number; now?: () => number } = {}): Promise<IdempotencyKeys> {
    return new IdempotencyKeys(conn, options.prefix ?? 'idempotency_keys', options);
  }

  private model(day: string): Model<KeyDoc> {
    const name = `${this.prefix}_${day}`;
    const schema = new Schema<KeyDoc>(
      { _id: String, fingerprint: { type: String, required: true }, operation: String, createdAt: Date },
      // autoCreate off: looking a key up in a day must not create that day's collection.
      { versionKey: false, collection: name, autoCreate: false },
    );
    return (this.conn.models[name] ?? this.conn.model<KeyDoc>(name, schema)) as Model<KeyDoc>;
  }

  /** The days that may hold a key younger than the retention, oldest first; the last is today. */
  private liveDays(now: number): string[] {
    const days: string[] = [];
    for (let ms = now - this.retentionMs; dayOf(ms) < dayOf(now); ms += DAY_MS) days.push(dayOf(ms));
    return [...new Set(days), dayOf(now)];
  }

  /**
   * Drops the days whose every key is older than the retention; returns their collections' names.
   * Run it now and then (the calls service: every hour).
   */
  async expire(): Promise<string[]> {
    const oldest = this.liveDays(this.now())[0] as string;
    const pattern = new RegExp(`^${this.prefix}_([0-9]{8})$`);
    const collections = await (this.conn.db as NonNullable<Connection['db']>).listCollections({}, { nameOnly: true }).toArray();
    const expired = collections.map((c) => c.name).filter((name) => (pattern.exec(name)?.[1] ?? '99999999') < oldest);
    for (const name of expired) {
      await this.conn.dropCollection(name);
      if (this.conn.models[name]) this.conn.deleteModel(name);
    }
    return expired;
  }

  /**
   * Runs `work` for a request carrying `key` (none: just runs it). The key is claimed for this
   * person with the request's fingerprint; a claim with another fingerprint is refused. A request
   * that fails gives its claim back, so a failed request leaves nothing behind.
   */
  async run<T>(identity: Identity, key: string | null | undefined, operation: string, input: unknown, work: () => Promise<T>): Promise<T> {
    if (key === null || key === undefined) return work();
    checkIdempotencyKey(key);
    const _id = sha256(JSON.stringify([identity.subject, key]));
    const fingerprint = sha256(JSON.stringify([operation, canonical(input)]));
    const now = this.now();
    const days = this.liveDays(now);
    const today = this.model(days.at(-1) as string);
    let known: KeyDoc | null = null;
    for (const day of days.slice(0, -1)) known ??= await this.model(day).findById(_id).lean<KeyDoc>();
    let claimed = false;
    if (!known) {
      try {
        await today.create({ _id, fingerprint, operation, createdAt: new Date(now) });
        claimed = true;
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
        known = await today.findById(_id).lean<KeyDoc>();
      }
    }
    if (known && known.fingerprint !== fingerprint) {
      throw userError(
        'IDEMPOTENCY_KEY_REUSED',
        `该 idempotencyKey 已用于另一个请求（${known.operation}），请为新请求使用新的键 (idempotency key reused with different input)`,
        { field: 'idempotencyKey' },
      );
    }
    try {
      return await work();
    } catch (err) {
      if (claimed) await today.deleteOne({ _id, fingerprint });
      throw err;
    }
  }
}
