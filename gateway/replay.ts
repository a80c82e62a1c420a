// Resumable live views. Every event a gateway copy serves has a place in its Kafka topic (partition,
// offset), and a subscriber's resume cursor is a position in that topic: for each partition, the
// offset of the next event it has not yet been shown. Offsets are the same in every copy, so a
// cursor from one copy resumes on another, and a copy that restarts reads the topic's recent past
// again from Kafka (not from "latest"): each copy keeps the last events of each topic (the retained
// window, LIVE_REPLAY_EVENTS) and a subscriber coming back with a cursor inside that window is shown
// what it missed, in topic order, then the live stream. A cursor older than the window is refused
// with CURSOR_EXPIRED: the client re-queries (calls with `updatedFrom`) and subscribes afresh.
// The cursor RETAINED asks for the whole window, then the live stream: a page that opens after a
// 三防 warning was issued folds the window's warnings and lifts into the warnings in force (there is
// no other record of them in the hub; one older than the window is not shown).
import { GraphQLError } from 'graphql';
import type { Admin, Kafka } from 'kafkajs';
import { processConsumer, runConsumer } from '../platform/consumer.ts';
import type { Logger } from '../platform/logger.ts';

/** Where an event sits in its topic. */
export interface Place {
  partition: number;
  offset: number;
}

interface Entry<T> extends Place {
  event: T;
}

/** A position in a topic: for each partition (by index), the offset of the next event. */
export type Position = number[];

const CURSOR = /^[0-9]{1,15}(\.[0-9]{1,15}){0,255}$/;

/** The cursor that resumes from the start of what the gateway retains (decoded as an empty position). */
export const RETAINED = 'retained';

export function encodeCursor(position: Position): string {
  return position.join('.');
}

/** A cursor the client sent, as a position; BAD_USER_INPUT when it is not one. */
export function decodeCursor(cursor: string): Position {
  if (cursor === RETAINED) return [];
  if (!CURSOR.test(cursor)) {
    throw new GraphQLError(`续传游标无效：${cursor.slice(0, 40)} (not a resume cursor)`, { extensions: { code: 'BAD_USER_INPUT', argument: 'after' } });
  }
  return cursor.split('.').map(Number);
}

export const cursorExpired = (topic: string) =>
  new GraphQLError(
    `断线时间过长，错过的事件已超出保留范围：请重新查询（calls 的 updatedFrom）后重新订阅 (cursor too old for ${topic}: re-query, then subscribe without a cursor)`,
    { extensions: { code: 'CURSOR_EXPIRED' } },
  );

/**
 * One topic's events as this copy serves them: the live fan-out to its subscriptions, and the last
 * `retain` events with their places, for subscribers that resume.
 */
export class EventHub<T> {
  private readonly listeners = new Set<(entry: Entry<T>) => void>();
  private subscriptions = 0;
  private log: Array<Entry<T>> = [];
  /** Per partition, the lowest offset from which this copy holds every event. */
  private floor: Position = [];
  /** Per partition, the offset of the next event (what this copy has read so far). */
  private head: Position = [];

  constructor(
    readonly topic = 'events',
    private readonly retain = 6000,
  ) {}

  /** Where this copy starts reading each partition (it holds nothing before). */
  startAt(start: Position): void {
    this.floor = [...start];
    this.head = [...start];
  }

  /** Per partition, the next offset this copy will read. */
  get position(): Position {
    return [...this.head];
  }

  /**
   * A new event. With its place: an event read again (a Kafka redelivery) is dropped, and it is kept
   * for resuming subscribers. Without (tests publishing by hand): delivered live only.
   */
  publish(event: T, place?: Place): void {
    if (place) {
      if (!this.pass(place)) return;
      const { partition, offset } = place;
      this.log.push({ event, partition, offset });
      if (this.log.length > this.retain * 1.25) {
        const dropped = this.log.slice(0, this.log.length - this.retain);
        this.log = this.log.slice(dropped.length);
        for (const old of dropped) this.floor[old.partition] = Math.max(this.floor[old.partition] as number, old.offset + 1);
      }
    }
    const entry = { event, partition: place?.partition ?? -1, offset: place?.offset ?? -1 };
    for (const listener of this.listeners) listener(entry);
  }

  /** Moves past a record that is no event (empty, not JSON); false when it was read before. */
  pass({ partition, offset }: Place): boolean {
    while (this.head.length <= partition) {
      this.head.push(0);
      this.floor.push(0);
    }
    if (offset < (this.head[partition] as number)) return false;
    this.head[partition] = offset + 1;
    return true;
  }

  /**
   * What a subscriber resuming from `from` missed, in topic order, and the position it then holds;
   * CURSOR_EXPIRED when part of it has left the window (or the topic's partitions changed).
   */
  since(from: Position): Array<Entry<T>> {
    // RETAINED: everything held, and `from` becomes the window's start, so the cursors that follow
    // name every partition (the caller keeps `from` as the subscriber's position).
    if (from.length === 0) {
      from.push(...this.floor);
      return [...this.log];
    }
    if (from.length !== this.head.length || from.some((offset, p) => offset < (this.floor[p] as number))) throw cursorExpired(this.topic);
    return this.log.filter((e) => e.offset >= (from[e.partition] as number));
  }

  listen(listener: (entry: Entry<T>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Counts a subscription in or out: many share one listener (gateway/subscriptions.ts, fan-out). */
  subscribed(change: 1 | -1): void {
    this.subscriptions += change;
  }

  /** The subscriptions served from this hub. */
  get size(): number {
    return this.subscriptions;
  }
}

/** Retries what a broker refuses for a moment (a topic just created has no leader yet). */
async function retried<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (err) {
      if (attempt >= 20 || (err as { retriable?: boolean }).retriable !== true) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/**
 * Reads each topic into its hub from the start of the retained window (the last `retain` events,
 * spread over the partitions), in a consumer group of this copy's own; resolves once every hub has caught up with the topic's end as it was at the start. The
 * group is deleted when the copy stops (a per-process group left behind shows as lag forever).
 */
export async function followEventTopics(options: {
  kafka: Kafka;
  admin: Admin;
  hubs: Record<string, EventHub<unknown>>;
  groupPrefix: string;
  retain: number;
  logger: Logger;
  onShutdown: (name: string, close: () => Promise<unknown>) => void;
}): Promise<void> {
  const { kafka, admin, hubs, logger } = options;
  const ends = new Map<string, Position>();
  const starts = new Map<string, Position>();
  for (const [topic, hub] of Object.entries(hubs)) {
    const offsets = (await retried(() => admin.fetchTopicOffsets(topic))).sort((a, b) => a.partition - b.partition);
    const perPartition = Math.ceil(options.retain / Math.max(1, offsets.length));
    const start = offsets.map((o) => Math.max(Number(o.low), Number(o.high) - perPartition));
    hub.startAt(start);
    starts.set(topic, start);
    ends.set(topic, offsets.map((o) => Number(o.high)));
  }
  const consumer = await processConsumer({ kafka, admin, groupPrefix: options.groupPrefix, name: 'event consumer', onShutdown: options.onShutdown, logger });
  const caughtUp = () => [...ends].every(([topic, end]) => hubs[topic]?.position.every((offset, p) => offset >= (end[p] as number)));
  let done: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => {
    done = resolve;
  });
  await runConsumer({
    consumer,
    topics: Object.keys(hubs),
    // From the earliest offset, then sought to the window's start: what arrives before the seek is
    // either before the window (dropped by the hub) or read again after it (dropped as well).
    fromBeginning: true,
    handle: async ({ topic, partition, message }) => {
      const place = { partition, offset: Number(message.offset) };
      let event: unknown;
      try {
        event = message.value ? JSON.parse(message.value.toString('utf8')) : undefined;
      } catch (err) {
        logger.warn({ topic, offset: message.offset, err }, 'event ignored: not JSON');
      }
      if (event === undefined) hubs[topic]?.pass(place);
      else hubs[topic]?.publish(event, place);
      if (done && caughtUp()) done();
    },
  });
  for (const [topic, start] of starts) start.forEach((offset, partition) => consumer.seek({ topic, partition, offset: String(offset) }));
  if (caughtUp()) done?.();
  await ready;
  done = undefined;
}
