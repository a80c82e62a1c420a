// An in-memory copy of one collection, the source of every read. Each write takes the next value of
// the collection's write counter (`seq`, one document in `counters` updated by `_id`), records the id
// it writes under that value in the collection's change log, and is applied to this copy's memory at
// once; other copies see it within a poll: they read the counter and, only when it moved, the change
// log's documents covering the values since and then each changed document. Every read is by `_id`,
// the one lookup FerretDB indexes: a poll costs what changed, not the collection (a filter on `seq`
// would read and decode every document). A writer takes its `seq` a moment before its change-log
// entry and its document land (under load, seconds before): a value whose entry or document has not
// landed is looked at again on every poll until it has, or for UNLANDED_POLLS_MAX polls (a writer
// that died in between).
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
/**
 * Polls a counter value is looked at again while its change-log entry or its document has not landed;
 * then it is given up (its writer died after reserving it). With the default poll, a minute.
 */
export const UNLANDED_POLLS_MAX = 30;
/** Concurrent reads by `_id` of one poll. */
const READ_CONCURRENCY = 16;

export interface LiveDoc {
  _id: string;
  seq: number;
}

export class LiveCollection<T extends LiveDoc> {
  readonly docs = new Map<string, T>();
  /** The counter value of the last poll: every value up to it has landed here, or is in `unlanded`. */
  private seen = 0;
  /** Counter values whose write had not landed at a poll, with the number of polls they were looked at. */
  private readonly unlanded = new Map<number, number>();
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
    await this.readWhole(await this.counter());
  }

  /**
   * Reads the whole collection, as of counter value `counter` (read before): the writes of the last
   * values may still land after the read, so those are looked at on the next polls (most are found
   * in memory at once).
   */
  private async readWhole(counter: number): Promise<number> {
    const docs = await this.model.find({}, this.projection).lean<T[]>();
    let applied = 0;
    for (const doc of docs) if (this.apply(doc)) applied++;
    this.seen = counter;
    this.unlanded.clear();
    for (let value = Math.max(1, counter - CHANGES_PER_DOCUMENT + 1); value <= counter; value++) this.unlanded.set(value, 0);
    return applied;
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

  /** Reads what other copies wrote since the last poll, and what had not landed then. Returns the documents taken. */
  async refresh(): Promise<number> {
    const counter = await this.counter();
    if (counter === this.seen && this.unlanded.size === 0) return 0;
    if (counter - this.seen > CHANGES_FOLLOWED_MAX) return this.readWhole(counter);
    const values = [...this.unlanded.keys()];
    for (let value = this.seen + 1; value <= counter; value++) values.push(value);
    const written = await this.changeLog(values);
    // Only what this copy does not hold at that write or a later one is read.
    const ids = [
      ...new Set(
        values.flatMap((value) => {
          const id = written.get(value);
          return id !== undefined && !this.holds(id, value) ? [id] : [];
        }),
      ),
    ];
    const docs = await eachLimited(ids, READ_CONCURRENCY, (id) => this.model.findById(id, this.projection).lean<T>());
    let applied = 0;
    for (const doc of docs) if (doc && this.apply(doc)) applied++;
    for (const value of values) {
      const id = written.get(value);
      const polls = (this.unlanded.get(value) ?? 0) + 1;
      if ((id !== undefined && this.holds(id, value)) || polls > UNLANDED_POLLS_MAX) this.unlanded.delete(value);
      else this.unlanded.set(value, polls);
    }
    this.seen = counter;
    return applied;
  }

  /** Whether this copy holds document `id` as written under counter value `value`, or later. */
  private holds(id: string, value: number): boolean {
    return (this.docs.get(id)?.seq ?? 0) >= value;
  }

  /** The id written under each of `values` whose change-log entry has landed. */
  private async changeLog(values: readonly number[]): Promise<Map<number, string>> {
    const wanted = new Set(values);
    const logIds = [...new Set(values.map((value) => `${this.name}|${Math.floor(value / CHANGES_PER_DOCUMENT)}`))];
    const logs = await eachLimited(logIds, READ_CONCURRENCY, (_id) => this.changes.findById(_id).lean<ChangeLogDoc>());
    const written = new Map<number, string>();
    for (const log of logs) for (const { seq, id } of log?.entries ?? []) if (wanted.has(seq)) written.set(seq, id);
    return written;
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
