// An in-memory copy of one collection, the source of every read. Each write takes the next value of
// the collection's write counter (`seq`, one document in `counters` updated by `_id`) and is applied
// to this copy's memory at once; other copies see it within a poll: they read the counter (by `_id`,
// indexed on FerretDB) and, only when it moved, the documents written since. A writer can take its
// `seq` a moment before its document lands, so each poll re-reads from the counter value seen two
// polls back: a write is missed only if it takes longer than a whole poll interval to land.
import type { Model } from 'mongoose';
import type { Logger } from '../../platform/logger.ts';
import type { CounterDoc } from './model.ts';

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

  /** Reserves `count` write counter values; returns the first. */
  async reserve(count = 1): Promise<number> {
    const counter = await this.counters
      .findOneAndUpdate({ _id: this.name }, { $inc: { seq: count } }, { upsert: true, returnDocument: 'after' })
      .lean<CounterDoc>();
    return (counter?.seq ?? count) - count + 1;
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
    const docs = await this.model.find({ seq: { $gt: older } }, this.projection).lean<T[]>();
    let applied = 0;
    for (const doc of docs) if (this.apply(doc)) applied++;
    this.seen = [last, counter];
    return applied;
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
