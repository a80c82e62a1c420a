// An in-memory copy of one collection, the source of every read. Each write takes the next value of
// the collection's write counter (`seq`, one document in `counters` updated by `_id`), records the id
// it writes under that value in the collection's change log, and is applied to this copy's memory at
// once; other copies see it within a poll: they read the counter and, only when it moved, the change
// log's documents covering the values since and then each changed document. Every read is by `_id`,
// the one lookup FerretDB indexes: a poll costs what changed, not the collection (a filter on `seq`
// would read and decode every document). A writer can take its `seq` a moment before its document
// lands, so each poll re-reads from the counter value seen two polls back: a write is missed only if
// it takes longer than a whole poll interval to land.
import type { Model } from 'mongoose';
import type { Logger } from '../../platform/logger.ts';
import { eachLimited, groupBy } from '../../platform/mongo.ts';
import type { ChangeLogDoc, CounterDoc } from './model.ts';

/** Write counter values per change-log document (`<collection>|<n>`): a document stays a few KB. */
export const CHANGES_PER_DOCUMENT = 200;
/**
 * Counter values a poll follows through the change log; a copy further behind (stopped in a debugger,
 * cut off for a while) reads the whole collection again, as at start.
 */
export const CHANGES_FOLLOWED_MAX = 20_000;
/** Concurrent reads by `_id` of one poll. */
const READ_CONCURRENCY = 16;

export interface LiveDoc {
  _id: string;
  seq: number;
}

export class LiveCollection<T extends LiveDoc> {
  readonly docs = new Map<string, T>();
  /** Counter values seen at the last two polls (older first). */
  private seen: [number, number] = [0, 0];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private running = false;
  private readonly listeners: Array<(doc: T, previous: T | undefined) => void> = [];

  constructor(
    readonly name: string,
    private readonly model: Model<T>,
    private readonly counters: Model<CounterDoc>,
    private readonly changes: Model<ChangeLogDoc>,
    /** Fields never needed in memory (a demand's outbox). */
    private readonly projection: Record<string, 0> = {},
  ) {}

  /** Called for every document this copy learns of (its own writes and others'). */
  onChange(listener: (doc: T, previous: T | undefined) => void): void {
    this.listeners.push(listener);
  }

  get(id: string): T | undefined {
    return this.docs.get(id);
  }

  values(): IterableIterator<T> {
    return this.docs.values();
  }

  get size(): number {
    return this.docs.size;
  }

  async load(): Promise<void> {
    const counter = await this.counter();
    const docs = await this.model.find({}, this.projection).lean<T[]>();
    for (const doc of docs) this.apply(doc);
    this.seen = [counter, counter];
  }

  /**
   * Reserves one write counter value for each of `ids` (in order; returns the first) and records them
   * in the change log, before the documents are written: a poll that finds an id whose document has
   * not landed yet finds it again on the next one.
   */
  async reserve(ids: readonly string[]): Promise<number> {
    const counter = await this.counters
      .findOneAndUpdate({ _id: this.name }, { $inc: { seq: ids.length } }, { upsert: true, returnDocument: 'after' })
      .lean<CounterDoc>();
    const first = (counter?.seq ?? ids.length) - ids.length + 1;
    const entries = ids.map((id, i) => ({ seq: first + i, id }));
    const byDocument = groupBy(entries, (entry) => Math.floor(entry.seq / CHANGES_PER_DOCUMENT));
    await Promise.all(
      [...byDocument].map(async ([n, entries]) => {
        const write = () => this.changes.updateOne({ _id: `${this.name}|${n}` }, { $push: { entries: { $each: entries } } }, { upsert: true });
        // Two writers opening the same new document at once: one upsert inserts, the other finds a
        // duplicate key (the store need not retry it as MongoDB does); pushing again finds the document.
        try {
          await write();
        } catch (err) {
          if ((err as { code?: number }).code !== 11000) throw err;
          await write();
        }
      }),
    );
    return first;
  }

  /** Takes a document into memory unless this copy already has it at the same or a later write. */
  apply(doc: T): boolean {
    const previous = this.docs.get(doc._id);
    if (previous && previous.seq >= doc.seq) return false;
    this.docs.set(doc._id, doc);
    for (const listener of this.listeners) listener(doc, previous);
    return true;
  }

  /** Reads what other copies wrote since the last polls. */
  async refresh(): Promise<number> {
    const counter = await this.counter();
    const [older, last] = this.seen;
    if (counter === last && last === older) return 0;
    let docs: T[];
    if (counter - older > CHANGES_FOLLOWED_MAX) {
      docs = await this.model.find({}, this.projection).lean<T[]>();
    } else {
      const ids = await this.changedSince(older, counter);
      docs = (await eachLimited(ids, READ_CONCURRENCY, (id) => this.model.findById(id, this.projection).lean<T>())).filter((doc): doc is T => doc !== null);
    }
    let applied = 0;
    for (const doc of docs) if (this.apply(doc)) applied++;
    this.seen = [last, counter];
    return applied;
  }

  /** The ids written under counter values in (after, upTo], from the change log. */
  private async changedSince(after: number, upTo: number): Promise<string[]> {
    const from = Math.floor((after + 1) / CHANGES_PER_DOCUMENT);
    const to = Math.floor(upTo / CHANGES_PER_DOCUMENT);
    const logIds = Array.from({ length: to - from + 1 }, (_, i) => `${this.name}|${from + i}`);
    const logs = await eachLimited(logIds, READ_CONCURRENCY, (_id) => this.changes.findById(_id).lean<ChangeLogDoc>());
    const ids = new Set<string>();
    for (const log of logs) for (const { seq, id } of log?.entries ?? []) if (seq > after) ids.add(id);
    return [...ids];
  }

  startPolling(intervalMs: number, logger: Logger): void {
    if (intervalMs <= 0) return;
    this.running = true;
    const loop = () => {
      this.polling = this.refresh()
        .then(
          () => undefined,
          (err: unknown) => logger.warn({ err, collection: this.name }, 'refresh failed; will retry'),
        )
        .finally(() => {
          if (this.running) this.timer = setTimeout(loop, intervalMs);
        });
    };
    this.timer = setTimeout(loop, intervalMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.polling;
    clearTimeout(this.timer);
  }

  private async counter(): Promise<number> {
    return (await this.counters.findById(this.name).lean<CounterDoc>())?.seq ?? 0;
  }
}
