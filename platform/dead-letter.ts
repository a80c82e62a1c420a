// Dead letters (`<source topic>.dlq`, schemas/events/dead-letter.schema.json): the original record
// (key, value and headers), why it was refused, and where it came from, so that `npm run
// connectors:redrive` can put it back after a fix. The connectors and the calls intake
// (hub.intake.dlq) write them the same way.
//
// A dead letter is the hub's own record, so no name, phone or ID number goes in it in clear. A part
// without personal data is kept as its text, unchanged (an intake command: its contact is already
// sealed); a part with some (a 12345 work order's caller) is kept as readable text with them masked,
// plus the original sealed for the re-drive (platform/personal-keys.ts); bytes that are not UTF-8 text
// are sealed whole.
import { TextDecoder } from 'node:util';
import { scrubDeep, scrubText } from './personal-data.ts';
import type { Keyring } from './personal-keys.ts';
import type { Output, RejectionCode, SourceRecord } from './source-record.ts';

/**
 * Bytes as the dead letter keeps them: readable text (`text`), with the original `sealed` when the
 * text had personal data masked; `sealed` alone for bytes that are not text. (`base64`: letters
 * written before personal data was sealed.)
 */
export type Bytes = { text: string; sealed?: string } | { sealed: string } | { base64: string };

export interface DeadLetter {
  /** `<source topic>:<partition>:<offset>`: one dead letter per consumed record, however often sent. */
  deadLetterId: string;
  connector: string;
  sourceTopic: string;
  partition: number;
  offset: string;
  /** When the source record was written (broker time). */
  timestamp: string;
  key: Bytes | null;
  value: Bytes | null;
  headers: Record<string, Bytes>;
  reasonCode: RejectionCode;
  reason: string;
  attempts: number;
  failedAt: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes of a dead letter's part, with personal data masked in the text and the original sealed under `context`. */
export function encodeBytes(bytes: Buffer, keys: Keyring, context: string): Bytes {
  let text: string | undefined;
  try {
    text = utf8.decode(bytes);
  } catch {
    // not UTF-8
  }
  // Text full of control characters would grow several times when escaped into JSON.
  // eslint-disable-next-line no-control-regex
  if (text === undefined || /[\u0000-\u0008\u000e-\u001f]/.test(text)) return { sealed: keys.seal(bytes, context) };
  const scrubbed = scrubbedText(text);
  return scrubbed === text ? { text } : { text: scrubbed, sealed: keys.seal(bytes, context) };
}

/** JSON with its named personal fields and free texts masked (as it was when nothing was personal); other text scrubbed. */
function scrubbedText(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return scrubText(text);
  }
  if (parsed === null || typeof parsed !== 'object') return scrubText(text);
  const scrubbed = JSON.stringify(scrubDeep(parsed));
  return scrubbed === JSON.stringify(parsed) ? text : scrubbed;
}

/**
 * The original bytes: opened with the keys when sealed. Without `open`, the readable text (masked),
 * enough for a reader that wants only the record's ids (the enterprise zone reading hub.intake.dlq).
 */
export function decodeBytes(bytes: Bytes, open?: { keys: Keyring; context: string }): Buffer {
  if ('sealed' in bytes && bytes.sealed && open) return open.keys.open(bytes.sealed, open.context);
  if ('text' in bytes) return Buffer.from(bytes.text, 'utf8');
  if ('base64' in bytes) return Buffer.from(bytes.base64, 'base64');
  throw new Error('sealed bytes need PERSONAL_DATA_KEYS to be read');
}

/** What a part of a dead letter is sealed under: its letter and its place in it. */
export function deadLetterContext(deadLetterId: string, part: 'key' | 'value' | `header:${string}`): string {
  return `dlq:${deadLetterId}:${part}`;
}

/** The dead-letter topic of a source topic (both already carry the topic prefix). */
export function dlqTopicOf(sourceTopic: string): string {
  return `${sourceTopic}.dlq`;
}

export function deadLetterOutput(
  connector: string,
  record: SourceRecord,
  failure: { code: RejectionCode; reason: string; attempts: number },
  keys: Keyring,
  now = new Date(),
): Output {
  const deadLetterId = `${record.topic}:${record.partition}:${record.offset}`;
  const encode = (bytes: Buffer, part: Parameters<typeof deadLetterContext>[1]) => encodeBytes(bytes, keys, deadLetterContext(deadLetterId, part));
  const letter: DeadLetter = {
    deadLetterId,
    connector,
    sourceTopic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: new Date(Number.isFinite(record.timestamp) ? record.timestamp : 0).toISOString(),
    key: record.key ? encode(record.key, 'key') : null,
    value: record.value ? encode(record.value, 'value') : null,
    headers: Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, encode(value, `header:${name}`)])),
    reasonCode: failure.code,
    reason: scrubText(failure.reason.slice(0, 2000)),
    attempts: failure.attempts,
    failedAt: now.toISOString(),
  };
  return {
    topic: dlqTopicOf(record.topic),
    key: record.key,
    value: JSON.stringify(letter),
    headers: { 'dlq-reason-code': failure.code, 'dlq-source-topic': record.topic },
  };
}
