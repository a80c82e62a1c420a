// Reads every record on a set of topics and reports each phone or ID number standing in clear, with
// where it stands (topic, partition, offset, field). The patterns are platform/personal-data.ts
// findPersonalNumbers: a mainland mobile number (1[3-9] and 9 more digits; +86/0086 allowed; grouped
// 3-4-4 by spaces or dashes; full-width digits too), a landline with its area code (010, 02x, 0xxx and
// 7-8 digits, the first 2-9), a local landline after 电话/座机/tel, and an 18-character resident ID
// number with a real birth date (1800-2099) and a check digit or X. Each must stand alone: no digit
// or Latin letter right before or after it, so call ids (C + hex), UUIDs, sealed values (hex), order
// numbers (GZ12345-20260601-0001), timestamps and epoch milliseconds never count.
import type { Kafka } from 'kafkajs';
import { findPersonalNumbers, maskIdNumber, maskName, maskPhone } from '../../platform/personal-data.ts';
import { TOPICS } from '../../platform/topics.ts';

export interface Finding {
  topic: string;
  partition: number;
  offset: string;
  /** `key`, `header:<name>`, or `value` and the JSON path inside it (`value.call.description`). */
  field: string;
  kind: 'phone' | 'id' | 'name';
  /** What was found, masked (the report itself goes to test logs). */
  masked: string;
}

export interface ScanResult {
  topics: number;
  records: number;
  /** Records read, by topic. */
  perTopic: Record<string, number>;
  findings: Finding[];
}

/** The source systems' own topics (without the prefix): their records are theirs, as they sent them. */
export const SOURCE_TOPICS: readonly string[] = [TOPICS.hotlineOrders, TOPICS.floodWarnings, TOPICS.floodIncidents, TOPICS.petitions];

/** A record a test wrote in clear on purpose (playing a misbehaving producer), by topic and key. */
export interface Allowed {
  topic: string;
  key: string;
  why: string;
}

/** Every phone and ID number in clear in a record's key, headers and value (and any of `names`, when given). */
export function findingsIn(
  where: { topic: string; partition: number; offset: string },
  record: { key: Buffer | null; value: Buffer | null; headers?: Record<string, Buffer | string | Array<Buffer | string> | undefined> },
  names: readonly string[] = [],
): Finding[] {
  const found: Finding[] = [];
  const look = (field: string, text: string) => {
    for (const n of findPersonalNumbers(text)) {
      found.push({ ...where, field, kind: n.kind, masked: n.kind === 'id' ? maskIdNumber(n.text) : maskPhone(n.text) });
    }
    for (const name of names) if (text.includes(name)) found.push({ ...where, field, kind: 'name', masked: maskName(name) });
  };
  const walk = (field: string, value: unknown) => {
    if (typeof value === 'string') look(field, value);
    else if (typeof value === 'number') look(field, String(value));
    else if (Array.isArray(value)) value.forEach((v, i) => walk(`${field}[${i}]`, v));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(`${field}.${k}`, v);
  };
  if (record.key) look('key', record.key.toString('utf8'));
  for (const [name, header] of Object.entries(record.headers ?? {})) {
    for (const part of [header ?? []].flat()) look(`header:${name}`, part.toString());
  }
  if (record.value) {
    const text = record.value.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      look('value', text);
      return found;
    }
    walk('value', parsed);
  }
  return found;
}

/** Reads every record now on `topics` (from the start of each partition to its end) and scans it. */
export async function scanTopics(
  kafka: Kafka,
  topics: string[],
  options: { allowed?: Allowed[]; groupId: string; timeoutMs?: number; names?: readonly string[] },
): Promise<ScanResult> {
  const result: ScanResult = { topics: topics.length, records: 0, perTopic: Object.fromEntries(topics.map((t) => [t, 0])), findings: [] };
  if (topics.length === 0) return result;
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<string, bigint>();
  try {
    for (const topic of topics) {
      for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(high) > BigInt(low)) remaining.set(`${topic}:${partition}`, BigInt(high));
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (remaining.size === 0) return result;
  const allowed = new Set((options.allowed ?? []).map((a) => `${a.topic}\u0000${a.key}`));
  const consumer = kafka.consumer({ groupId: options.groupId });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`personal-data scan: timed out with ${remaining.size} partitions unread (${[...remaining.keys()].join(', ')})`)),
        options.timeoutMs ?? 60_000,
      );
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch, heartbeat }) => {
            const at = `${batch.topic}:${batch.partition}`;
            const end = remaining.get(at);
            if (end === undefined) return;
            for (const message of batch.messages) {
              if (BigInt(message.offset) >= end) break;
              result.records++;
              result.perTopic[batch.topic] = (result.perTopic[batch.topic] ?? 0) + 1;
              const key = message.key?.toString('utf8') ?? '';
              if (allowed.has(`${batch.topic}\u0000${key}`)) continue;
              result.findings.push(
                ...findingsIn(
                  { topic: batch.topic, partition: batch.partition, offset: message.offset },
                  { key: message.key, value: message.value, headers: message.headers },
                  options.names,
                ),
              );
            }
            await heartbeat();
            if (BigInt(batch.lastOffset()) + 1n >= end) {
              remaining.delete(at);
              if (remaining.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return result;
}

/** The findings as lines a failing test prints. */
export function describeFindings(findings: Finding[]): string {
  return findings.map((f) => `${f.topic} partition ${f.partition} offset ${f.offset} ${f.field}: ${f.kind} ${f.masked} in clear`).join('\n');
}
