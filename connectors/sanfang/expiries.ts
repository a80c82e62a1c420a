// A CAP warning's `expires` lifts it when it comes, also across a restart of the connector. The
// pipeline writes what it waits for on hub.cap-expiries (compacted, keyed by warning id): `waiting`,
// with the warning and its expiry, when a CAP alert issues it; `done` when a Cancel or Update lifts
// it or its expiry has fired. Every copy of the connector follows that topic from the start (a
// consumer group of its own, as followUnits does for hub.units) and keeps one timer per waiting
// warning: a copy started again re-arms them all, and fires at once those that expired while no copy
// ran. A lifting is idempotent (the same command id), so copies that both fire change nothing twice.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { processConsumer, runConsumer } from '../../platform/consumer.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Service } from '../../platform/service.ts';
import type { Output } from '../../platform/source-record.ts';
import type { WarningRecord } from './sanfang.ts';

/** One record of hub.cap-expiries. */
export type ExpiryRecord = { warningId: string; state: 'waiting'; expiresAt: string; warning: WarningRecord } | { warningId: string; state: 'done' };

export function waitingOutput(topic: string, warning: WarningRecord, expiresAt: Date): Output {
  const record: ExpiryRecord = { warningId: warning.warningId, state: 'waiting', expiresAt: expiresAt.toISOString(), warning };
  return { topic, key: warning.warningId, value: JSON.stringify(record) };
}

export function doneOutput(topic: string, warningId: string): Output {
  const record: ExpiryRecord = { warningId, state: 'done' };
  return { topic, key: warningId, value: JSON.stringify(record) };
}

/** A lifting that could not be sent (Kafka away) is tried again after this long, until it goes out. */
export const EXPIRY_RETRY_MS = 5_000;

/** One timer per waiting warning in this copy. */
export class ExpiryClock {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly fire: (warning: WarningRecord, expiredAt: Date) => Promise<void>,
    private readonly onFailure: (warningId: string, err: unknown) => void = () => {},
  ) {}

  at(warning: WarningRecord, when: Date): void {
    // setTimeout holds at most ~24.8 days; a warning lives hours to days (a longer one is looked at again then).
    const delay = Math.max(when.getTime() - Date.now(), 0);
    this.schedule(warning.warningId, Math.min(delay, 2_147_000_000), () => (delay > 2_147_000_000 ? this.at(warning, when) : this.lift(warning, when)));
  }

  private lift(warning: WarningRecord, when: Date): void {
    this.fire(warning, when).catch((err: unknown) => {
      this.onFailure(warning.warningId, err);
      this.schedule(warning.warningId, EXPIRY_RETRY_MS, () => this.lift(warning, when));
    });
  }

  private schedule(warningId: string, delay: number, then: () => void): void {
    this.cancel(warningId);
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(warningId);
      then();
    }, delay);
    timer.unref();
    this.timers.set(warningId, timer);
  }

  cancel(warningId: string): void {
    clearTimeout(this.timers.get(warningId));
    this.timers.delete(warningId);
  }

  /** Warnings with a timer (logged when the expiries are re-armed). */
  get waiting(): string[] {
    return [...this.timers.keys()];
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

function parseExpiry(value: Buffer | null): ExpiryRecord | undefined {
  if (!value) return undefined;
  try {
    const record = JSON.parse(value.toString('utf8')) as ExpiryRecord;
    if (typeof record.warningId !== 'string') return undefined;
    if (record.state === 'done') return record;
    if (record.state === 'waiting' && !Number.isNaN(Date.parse(record.expiresAt)) && record.warning?.warningId === record.warningId) return record;
  } catch {
    // not JSON: ignored below
  }
  return undefined;
}

/** Where each partition of a topic ends now. A topic just created may not have its leaders known yet: asked again. */
async function topicEnds(admin: Admin, topic: string): Promise<Array<{ partition: number; low: number; high: number }>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }));
    } catch (err) {
      if (attempt >= 10) throw err;
      await admin.fetchTopicMetadata({ topics: [topic] });
      await sleep(200 * attempt);
    }
  }
}

/**
 * Follows hub.cap-expiries into the clock. Until it has read up to where the topic ended when it
 * started, it only gathers the latest state of each warning, so a warning that expired and was lifted
 * long ago (its `done` further on) is not fired again; from then on each record arms or cancels at once.
 */
export async function followExpiries(options: { kafka: Kafka; admin: Admin; topic: string; groupId: string; service: Service; logger: Logger; clock: ExpiryClock }): Promise<void> {
  const { kafka, admin, topic, service, logger, clock } = options;
  const unread = new Map((await topicEnds(admin, topic)).filter((p) => p.high > p.low).map((p) => [p.partition, p.high] as const));
  const gathered = new Map<string, ExpiryRecord>();
  const apply = (record: ExpiryRecord) => {
    if (record.state === 'waiting') clock.at(record.warning, new Date(record.expiresAt));
    else clock.cancel(record.warningId);
  };
  const caughtUp = () => {
    for (const record of gathered.values()) apply(record);
    gathered.clear();
    logger.info({ waiting: clock.waiting.length }, 'CAP expiries re-armed');
  };
  if (unread.size === 0) caughtUp();

  const consumer = await processConsumer({
    kafka,
    admin,
    groupPrefix: `${options.groupId}-`,
    name: 'CAP expiries consumer',
    onShutdown: (what, close) => service.onShutdown(what, close),
    logger,
  });
  await runConsumer({
    consumer,
    topics: [topic],
    fromBeginning: true,
    handle: async ({ message, partition }) => {
      const record = parseExpiry(message.value);
      if (!record) logger.warn({ partition, offset: message.offset }, 'hub.cap-expiries record ignored');
      else if (unread.size > 0) gathered.set(record.warningId, record);
      else apply(record);
      const end = unread.get(partition);
      if (end !== undefined && Number(message.offset) + 1 >= end) {
        unread.delete(partition);
        if (unread.size === 0) caughtUp();
      }
    },
  });
}
