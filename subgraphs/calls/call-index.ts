// The calls every list, inbox, counter and duplicate check reads, in memory. FerretDB serves a filter
// by an index only when it is exactly `{_id}`: any other query reads and decodes every call (about
// 2 ms a call on SQLite, so a 20-call page of 300 calls took 400–900 ms). Each copy of the service
// therefore keeps the calls (without their timeline and outbox) in memory: loaded at start, updated
// by its own writes at once (a list right after a mutation shows it), and by every other copy's
// through hub.call-events (an event newer than the copy here re-reads that call by `_id`). The
// database stays the record; the index only answers which calls match, in what order.
import sift from 'sift';
import type { CallDoc, CallsModels } from './model.ts';

// sift is CommonJS: imported from an ES module, its default export is the `default` property.
const matcherOf = sift.default;

/** What the index leaves out: only appended to, and read per call by `_id` when asked for. */
export const INDEX_PROJECTION = { timeline: 0, outbox: 0, appliedKeys: 0 } as const;

export interface IndexQuery {
  /** A MongoDB-style filter (the same ones the subgraph would send to the database). */
  filter: Record<string, unknown>;
  /** Newest first (raisedAt, then id, both descending), at most this many. */
  limit?: number;
}

export class CallIndex {
  private readonly calls = new Map<string, CallDoc>();

  constructor(private readonly models: CallsModels) {}

  get size(): number {
    return this.calls.size;
  }

  /** Reads every call once (at start). */
  async load(): Promise<void> {
    const all = await this.models.Call.find({}, INDEX_PROJECTION).lean<CallDoc[]>();
    for (const call of all) this.put(call);
  }

  /** Takes a call as stored now; an older version than the one held changes nothing. */
  put(call: CallDoc): void {
    const known = this.calls.get(call._id);
    if (known && known.version > call.version) return;
    const { timeline: _timeline, outbox: _outbox, appliedKeys: _keys, ...indexed } = call;
    this.calls.set(call._id, indexed as CallDoc);
  }

  /** The version held for a call (0 when unknown). */
  versionOf(id: string): number {
    return this.calls.get(id)?.version ?? 0;
  }

  /** Re-reads calls changed elsewhere (by `_id`, the one lookup FerretDB indexes). */
  async refresh(ids: Iterable<string>): Promise<void> {
    await Promise.all(
      [...new Set(ids)].map(async (id) => {
        const call = await this.models.Call.findById(id, INDEX_PROJECTION).lean<CallDoc>();
        if (call) this.put(call);
      }),
    );
  }

  /** The matching calls, newest first. */
  find({ filter, limit = Number.POSITIVE_INFINITY }: IndexQuery): CallDoc[] {
    const matches = matcherOf(filter);
    const found: CallDoc[] = [];
    for (const call of this.calls.values()) if (matches(call)) found.push(call);
    found.sort((a, b) => b.raisedAt.getTime() - a.raisedAt.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0));
    return found.length > limit ? found.slice(0, limit) : found;
  }

  count(filter: Record<string, unknown>): number {
    const matches = matcherOf(filter);
    let n = 0;
    for (const call of this.calls.values()) if (matches(call)) n++;
    return n;
  }
}
