// What a consumer of outside records works with (the connectors, the calls intake): a record as
// consumed, the messages it turns into, and the deliberate refusal (Rejected) that sends a record to
// its dead-letter topic without retrying.
import { createHash } from 'node:crypto';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { contract } from './contracts.ts';

/** Why a record was refused, as a short code (a metric label) and a reason for people. */
export type RejectionCode =
  | 'invalid_json'
  /** XML that is not well-formed (a CAP document). */
  | 'invalid_xml'
  /** XML that declares a DTD or entities: refused, never expanded (XXE, billion laughs). */
  | 'xml_entity'
  | 'schema'
  | 'too_large'
  | 'unknown_category'
  | 'impossible_date'
  | 'outside_district'
  | 'unknown_unit'
  | 'no_route'
  | 'unknown_call'
  | 'rule'
  /** Sealed personal data that no configured key opens (PERSONAL_DATA_KEYS lacks its key, or it was altered). */
  | 'unknown_key'
  /** Audit (#18): a record whose signature is missing, forged or made with a key not listed for its source. */
  | 'bad_signature'
  | 'failed_after_retries';

/** A refusal that retrying cannot fix: the record goes to `<source topic>.dlq` at once. */
export class Rejected extends Error {
  override name = 'Rejected';
  constructor(
    readonly code: RejectionCode,
    message: string,
  ) {
    super(message);
  }
}

export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  /** Broker timestamp (ms since the epoch). */
  timestamp: number;
}

/** A message to publish: to hub.intake, hub.alerts, a feedback topic or a dead-letter topic. */
export interface Output {
  topic: string;
  key: string | Buffer | null;
  value: string;
  headers?: Record<string, string | Buffer>;
}

export function sourceRecord(topic: string, partition: number, message: KafkaMessage): SourceRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: flatHeaders(message.headers),
    timestamp: Number(message.timestamp),
  };
}

function flatHeaders(headers: IHeaders | undefined): Record<string, Buffer> {
  const flat: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    // A header repeated on the record keeps its last value.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) flat[name] = Buffer.isBuffer(last) ? last : Buffer.from(String(last));
  }
  return flat;
}

/** Parses the record's JSON and checks it against `schemas/events/<schema>.schema.json`. */
export function parseRecord<T>(record: SourceRecord, validate: ReturnType<typeof contract<T>>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.value?.toString('utf8') ?? '');
  } catch {
    throw new Rejected('invalid_json', 'invalid JSON');
  }
  const checked = validate(parsed);
  if (!checked.ok) {
    // A date the calendar does not have (2026-02-30) fails the schema's date-time format.
    const code = checked.reason.includes('must match format "date-time"') ? 'impossible_date' : 'schema';
    throw new Rejected(code, `fails its schema: ${checked.reason}`);
  }
  return checked.value;
}

/** A stable id for a record's content: the same record delivered twice gives the same command id. */
export function contentId(record: SourceRecord): string {
  return createHash('sha256')
    .update(record.value ?? Buffer.alloc(0))
    .digest('hex')
    .slice(0, 32);
}

/** A date the source wrote, refused when it is not a real instant or lies impossibly far in the future. */
export function sourceDate(value: string, field: string, now = new Date()): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Rejected('impossible_date', `${field} is not a date: ${value}`);
  // Clocks differ a little between systems; a record from the future beyond that is wrong.
  if (date.getTime() > now.getTime() + 10 * 60_000) {
    throw new Rejected('impossible_date', `${field} lies in the future: ${value}`);
  }
  if (date.getUTCFullYear() < 2000) throw new Rejected('impossible_date', `${field} is before 2000: ${value}`);
  return date;
}
