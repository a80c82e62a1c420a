// Re-drives dead letters after a fix (a category added to the map, a unit that now exists …): every
// dead letter of a `<source topic>.dlq` written up to now goes back to its source topic as the
// original record (same key, value and headers, plus `x-redriven-from`), where the connector (or, for
// hub.intake.dlq, the calls intake) tries it again; one that still fails comes back as a new dead letter. Progress is kept in the consumer group
// `connectors-redrive`, so running it twice does not re-drive the same letter twice. A part sealed
// because it held personal data is opened with PERSONAL_DATA_KEYS, so the source topic gets the record
// exactly as it was.
//
//   npm run connectors:redrive -- [--topic src.12345.orders.dlq …] [--reason unknown_category] [--dry-run]
//
// Without --topic it goes over every source's dead-letter topic and hub.intake.dlq. --dry-run lists what would go back
// (by reason) and publishes and commits nothing.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Kafka } from 'kafkajs';
import { baseConfig, loadConfig } from '../platform/config.ts';
import { contract } from '../platform/contracts.ts';
import { createKafka, topicName } from '../platform/kafka.ts';
import { createLogger, type Logger } from '../platform/logger.ts';
import { TOPICS } from '../platform/topics.ts';
import { type DeadLetter, deadLetterContext, decodeBytes, dlqTopicOf } from '../platform/dead-letter.ts';
import { type Keyring, keyringFrom, personalDataConfig, SealError } from '../platform/personal-keys.ts';

export interface RedriveOptions {
  kafka: Kafka;
  /** The dead-letter topic, with the prefix. */
  topic: string;
  /** The consumer group that remembers what was re-driven, with the prefix. */
  groupId: string;
  /** Re-drive only dead letters with this reason code; the others are passed over. */
  reason?: string;
  /** List what would be re-driven, publish and commit nothing. */
  dryRun?: boolean;
  logger: Logger;
  /** Opens the parts of a letter sealed because they held personal data. */
  keys: Keyring;
}

export interface RedriveResult {
  redriven: number;
  passedOver: number;
  unreadable: number;
  /** Each letter read; `selected` when it matches --reason (re-driven, or in a dry run would be). */
  letters: Array<{ deadLetterId: string; sourceTopic: string; reasonCode: string; selected: boolean }>;
}

const validateLetter = contract<DeadLetter>('dead-letter');

export async function redrive(options: RedriveOptions): Promise<RedriveResult> {
  const { kafka, topic, groupId, logger } = options;
  const admin = kafka.admin();
  await admin.connect();
  const result: RedriveResult = { redriven: 0, passedOver: 0, unreadable: 0, letters: [] };
  // Everything up to the end of each partition as it is now; later dead letters wait for the next run.
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]).finally(() => admin.disconnect());
  const start = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
  const remaining = new Map<number, bigint>();
  for (const { partition, high, low } of ends) {
    const from = (start.get(partition) ?? -1n) >= 0n ? (start.get(partition) as bigint) : BigInt(low);
    if (from < BigInt(high)) remaining.set(partition, BigInt(high));
  }
  if (remaining.size === 0) return result;

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId });
  await Promise.all([producer.connect(), consumer.connect()]);
  try {
    await new Promise<void>((resolve, reject) => {
      consumer.subscribe({ topics: [topic], fromBeginning: true }).then(
        () =>
          consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch, heartbeat }) => {
              const end = remaining.get(batch.partition);
              if (end === undefined) return;
              const messages = batch.messages.filter((m) => BigInt(m.offset) < end);
              if (messages.length === 0) return;
              for (const message of messages) {
                const checked = validateLetter(safeJson(message.value));
                if (!checked.ok) {
                  result.unreadable++;
                  logger.warn({ topic, partition: batch.partition, offset: message.offset, reason: checked.reason }, 'not a dead letter; passed over');
                  continue;
                }
                const letter = checked.value;
                const chosen = !options.reason || letter.reasonCode === options.reason;
                result.letters.push({ deadLetterId: letter.deadLetterId, sourceTopic: letter.sourceTopic, reasonCode: letter.reasonCode, selected: chosen });
                if (!chosen) {
                  result.passedOver++;
                  continue;
                }
                if (!options.dryRun) {
                  const open = (part: Parameters<typeof deadLetterContext>[1]) => ({ keys: options.keys, context: deadLetterContext(letter.deadLetterId, part) });
                  let original: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | string> };
                  try {
                    const headers: Record<string, Buffer | string> = {};
                    for (const [name, value] of Object.entries(letter.headers)) headers[name] = decodeBytes(value, open(`header:${name}`));
                    headers['x-redriven-from'] = `${topic}:${batch.partition}:${message.offset}`;
                    original = {
                      key: letter.key ? decodeBytes(letter.key, open('key')) : null,
                      value: letter.value ? decodeBytes(letter.value, open('value')) : null,
                      headers,
                    };
                  } catch (err) {
                    // A key missing from PERSONAL_DATA_KEYS: stop before committing, so nothing is lost.
                    if (!(err instanceof SealError)) throw err;
                    reject(new Error(`dead letter ${letter.deadLetterId} cannot be opened: ${err.message}`));
                    return;
                  }
                  await producer.send({ topic: letter.sourceTopic, messages: [original] });
                }
                result.redriven++;
                await heartbeat();
              }
              const last = BigInt((messages[messages.length - 1] as { offset: string }).offset);
              if (!options.dryRun) {
                await consumer.commitOffsets([{ topic, partition: batch.partition, offset: (last + 1n).toString() }]);
              }
              if (last + 1n >= end) {
                remaining.delete(batch.partition);
                if (remaining.size === 0) resolve();
              }
            },
          }),
        reject,
      ).catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
  return result;
}

function safeJson(value: Buffer | null): unknown {
  try {
    return JSON.parse(value?.toString('utf8') ?? '');
  } catch {
    return undefined;
  }
}

/**
 * The dead-letter topics re-driven by default (without the prefix): the connectors' source topics',
 * and hub.intake's, where the calls intake puts commands it refused (an unknown unit, a call not found).
 */
export const DEAD_LETTER_TOPICS = [TOPICS.hotlineOrders, TOPICS.floodWarnings, TOPICS.floodIncidents, TOPICS.petitions, TOPICS.intake].map(dlqTopicOf);

const USAGE = 'usage: npm run connectors:redrive -- [--topic <source topic>.dlq …] [--reason <reason code>] [--dry-run]';

async function cli(): Promise<void> {
  let values: { topic?: string[]; reason?: string; 'dry-run': boolean; help: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        topic: { type: 'string', multiple: true },
        reason: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    console.error(`redrive: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(`${USAGE}\nWithout --topic: every dead-letter topic (${DEAD_LETTER_TOPICS.join(', ')}).`);
    return;
  }
  const wrong = (values.topic ?? []).filter((t) => !t.endsWith('.dlq'));
  if (wrong.length > 0) {
    console.error(`redrive: not a dead-letter topic: ${wrong.join(', ')}\n${USAGE}`);
    process.exit(2);
  }
  const config = loadConfig(baseConfig.extend(personalDataConfig.shape));
  const keys = keyringFrom(config);
  const logger = createLogger('connectors-redrive', config.LOG_LEVEL);
  const kafka = createKafka(config, 'connectors-redrive', logger);
  const admin = kafka.admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics().finally(() => admin.disconnect()));
  const named = values.topic ?? DEAD_LETTER_TOPICS;
  const missing = named.filter((t) => !existing.has(topicName(config, t)));
  if (values.topic && missing.length > 0) {
    console.error(`redrive: no such topic: ${missing.map((t) => topicName(config, t)).join(', ')}`);
    process.exit(2);
  }
  const dryRun = values['dry-run'];
  const topics = [];
  for (const topic of named.filter((t) => !missing.includes(t))) {
    const result = await redrive({
      kafka,
      topic: topicName(config, topic),
      groupId: topicName(config, 'connectors-redrive'),
      reason: values.reason,
      dryRun,
      logger,
      keys,
    });
    const byReason: Record<string, number> = {};
    for (const letter of result.letters) byReason[letter.reasonCode] = (byReason[letter.reasonCode] ?? 0) + 1;
    topics.push({
      topic,
      [dryRun ? 'wouldRedrive' : 'redriven']: result.redriven,
      passedOver: result.passedOver,
      unreadable: result.unreadable,
      byReason,
      letters: result.letters,
    });
  }
  console.log(JSON.stringify({ dryRun, ...(values.reason && { reason: values.reason }), topics }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli().catch((err: unknown) => {
    console.error(`redrive: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
