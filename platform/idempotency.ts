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

export class IdempotencyKeys {
  private constructor(private readonly model: Model<KeyDoc>) {}

  static async on(conn: Connection, collection = 'idempotency_keys'): Promise<IdempotencyKeys> {
    const schema = new Schema<KeyDoc>(
      { _id: String, fingerprint: { type: String, required: true }, operation: String, createdAt: Date },
      { versionKey: false, collection },
    );
    const model = conn.models.IdempotencyKey ?? conn.model<KeyDoc>('IdempotencyKey', schema);
    return new IdempotencyKeys(model as Model<KeyDoc>);
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
    let claimed = false;
    try {
      await this.model.create({ _id, fingerprint, operation, createdAt: new Date() });
      claimed = true;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
      const known = await this.model.findById(_id).lean<KeyDoc>();
      if (known && known.fingerprint !== fingerprint) {
        throw userError(
          'IDEMPOTENCY_KEY_REUSED',
          `该 idempotencyKey 已用于另一个请求（${known.operation}），请为新请求使用新的键 (idempotency key reused with different input)`,
          { field: 'idempotencyKey' },
        );
      }
    }
    try {
      return await work();
    } catch (err) {
      if (claimed) await this.model.deleteOne({ _id, fingerprint });
      throw err;
    }
  }
}
