// Dead letters (`<source topic>.dlq`, schemas/events/dead-letter.schema.json): the original record
// exactly as it was (key, value and headers; text when it is UTF-8, base64 otherwise), why it was
// refused, and where it came from, so that `npm run connectors:redrive` can put it back after a fix.
// The connectors and the calls intake (hub.intake.dlq) write them the same way.
import { TextDecoder } from 'node:util';
import type { Output, RejectionCode, SourceRecord } from './source-record.ts';

/** Bytes as the dead letter keeps them: readable text when they are UTF-8, base64 otherwise. */
export type Bytes = { text: string } | { base64: string };

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

export function encodeBytes(bytes: Buffer): Bytes {
  try {
    const text = utf8.decode(bytes);
    // Text full of control characters would grow several times when escaped into JSON.
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000e-\u001f]/.test(text)) return { text };
  } catch {
    // not UTF-8
  }
  return { base64: bytes.toString('base64') };
}

export function decodeBytes(bytes: Bytes): Buffer {
  return 'text' in bytes ? Buffer.from(bytes.text, 'utf8') : Buffer.from(bytes.base64, 'base64');
}

/** The dead-letter topic of a source topic (both already carry the topic prefix). */
export function dlqTopicOf(sourceTopic: string): string {
  return `${sourceTopic}.dlq`;
}

export function deadLetterOutput(
  connector: string,
  record: SourceRecord,
  failure: { code: RejectionCode; reason: string; attempts: number },
  now = new Date(),
): Output {
  const letter: DeadLetter = {
    deadLetterId: `${record.topic}:${record.partition}:${record.offset}`,
    connector,
    sourceTopic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: new Date(Number.isFinite(record.timestamp) ? record.timestamp : 0).toISOString(),
    key: record.key ? encodeBytes(record.key) : null,
    value: record.value ? encodeBytes(record.value) : null,
    headers: Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, encodeBytes(value)])),
    reasonCode: failure.code,
    reason: failure.reason.slice(0, 2000),
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
