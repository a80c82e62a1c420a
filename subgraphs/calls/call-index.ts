// The calls every list, inbox, counter and duplicate check reads, in memory — only the live ones.
// FerretDB serves a filter by an index only when it is exactly `{_id}`: any other query reads and
// decodes every call (about 2 ms a call on SQLite). Each copy of the service therefore keeps in memory
// (without timeline and outbox) the calls still being worked on and those closed within the recent
// window (CALL_INDEX_RECENT_DAYS, default RECENT_WINDOW_DAYS): loaded at start from the live set
// (call-history.ts), updated by its own writes at once (a list right after a mutation shows it), and
// by every other copy's through hub.call-events (an event newer than the copy here re-reads that call
// by `_id`). A call closed longer ago than the window is archived: written into the history's day
// documents and dropped from memory. Lists reach back into history through those documents, reading
// each call by `_id`; memory and start-up grow with open work, not with history. The database stays
// the record; the index only answers which calls match, in what order.
import { LRUCache } from 'lru-cache';
import { eachLimited } from '../../platform/mongo.ts';
import { CST_OFFSET_MS, type CallHistory, DAY_MS, dayOf, FINAL_STATUSES, FIRST_DAY_TTL_MS, type HistoryEntry, previousDay } from './call-history.ts';
import { earliestTime, matcherOf, requiredUnit, requiredValue, UNIT_FIELDS } from './call-filter.ts';
import { type CallDoc, type CallsModels, INDEX_PROJECTION, type Tier } from './model.ts';

/**
 * Days a closed or withdrawn call stays in memory after it closed: the caller's confirmation, the
 * 12345 call-back (回访) and a week's lists all happen inside it. A named default (DESIGN.md: every
 * limit is a named configurable default), set with CALL_INDEX_RECENT_DAYS.
 */
export const RECENT_WINDOW_DAYS = 7;
/**
 * Database reads one list page may spend on history (day documents and calls by `_id`). A filter that
 * matches little history (a text search over years) returns a shorter page with `hasNextPage` and a
 * cursor where the scan stopped, instead of reading without bound.
 */
export const HISTORY_READ_BUDGET = 600;
/**
 * Archived calls a copy keeps after reading them for a list (each for FIRST_DAY_TTL_MS at most): a
 * few streets' pages of history, a few MB.
 */
export const ARCHIVED_CALLS_KEPT = 5000;
/** Calls archived per round (each is re-read by `_id` first). */
export const ARCHIVE_BATCH = 500;
/**
 * Days of the district's history a copy reads before it is ready (CALL_HISTORY_WARM_DAYS; 0: none):
 * 62 covers this month and last month, and any 30-day window ending inside them, the ranges a
 * command centre's counters ask for first. A named default, about 0.5 s and 30 MB at a
 * 2,000,000-call district (docs/performance.md).
 */
export const HISTORY_WARM_DAYS = 62;
/** Concurrent reads by `_id` (FerretDB's pool is shared with every other request). */
const READ_CONCURRENCY = 16;
/**
 * Day documents a history scan reads in its first round; each later round reads twice as many, up
 * to DAYS_PER_ROUND. A grid holds about 14 calls a day at a 2,000,000-call district's rate, so its
 * page of 20 comes from its first two days; a sparse key (a person's calls) reaches a month in four rounds.
 */
const FIRST_ROUND_DAYS = 2;
/** The most day documents a history scan reads in one round. */
const DAYS_PER_ROUND = 16;

export interface IndexQuery {
  /** A MongoDB-style filter (the same ones the subgraph would send to the database). */
  filter: Record<string, unknown>;
  /** Newest first (raisedAt, then id, both descending), at most this many. */
  limit?: number;
}

/** A position in the newest-first order: (raisedAt, id). */
export interface Position {
  at: number;
  id: string;
}

export interface HistoryQuery extends IndexQuery {
  limit: number;
  /** History keys whose lists hold every call the filter can match (units, `p:<subject>`). */
  keys: readonly string[];
  /** Bounds already inside `filter`, repeated here so the scan skips days outside them. */
  from?: Date;
  to?: Date;
  after?: Position;
}

export interface HistoryPage {
  /** Newest first; `limit` of them when there are that many. */
  calls: CallDoc[];
  /** Set when the read budget ran out: nothing at or after this position was looked at. */
  resumeAt?: Position;
}

export interface RangeCounts {
  raised: number;
  completed: number;
  calledUp: number;
  rated: number;
  satisfied: number;
  byTier: Map<Tier, number>;
}

const newer = (a: Position, b: Position) => a.at > b.at || (a.at === b.at && a.id > b.id);
const positionOf = (call: CallDoc): Position => ({ at: new Date(call.raisedAt).getTime(), id: call._id });
const byNewest = (a: CallDoc, b: CallDoc) => {
  const pa = positionOf(a);
  const pb = positionOf(b);
  return newer(pa, pb) ? -1 : newer(pb, pa) ? 1 : 0;
};

export class CallIndex {
  private readonly calls = new Map<string, CallDoc>();
  /** For each counters request reading days now: the calls this copy's archiving took out of memory meanwhile. */
  private readonly countsReading = new Set<Map<string, CallDoc>>();
  /**
   * The held calls of each category, oldest first (by raisedAt, then _id): the duplicate check lists
   * the newest of one category for every new call, and reads them from the end until it has enough.
   */
  private readonly byCategory = new Map<string, Array<{ at: number; id: string }>>();
  /**
   * The held calls each unit appears on (UNIT_FIELDS: visible to, handling, co-handling), and the
   * units each held call was listed under: a unit's inbox, lists and counters look at its own calls,
   * not at every live call.
   */
  private readonly byUnit = new Map<string, Set<string>>();
  private readonly unitsListed = new Map<string, readonly string[]>();
  private readonly archived = new LRUCache<string, CallDoc>({ max: ARCHIVED_CALLS_KEPT, ttl: FIRST_DAY_TTL_MS });
  private readonly windowMs: number;
  private readonly readBudget: number;
  private liveQueue: string[] = [];
  private liveWrite: Promise<void> = Promise.resolve();
  private nextLiveWrite: Promise<void> | undefined;

  constructor(
    private readonly models: CallsModels,
    private readonly history: CallHistory,
    options: { recentDays?: number; historyReadBudget?: number } = {},
  ) {
    this.windowMs = (options.recentDays ?? RECENT_WINDOW_DAYS) * DAY_MS;
    this.readBudget = options.historyReadBudget ?? HISTORY_READ_BUDGET;
  }

  get size(): number {
    return this.calls.size;
  }

  /** True while the call is held in memory (open, or closed within the window). */
  holds(id: string): boolean {
    return this.calls.has(id);
  }

  /**
   * Reads the live set (at start). A database that predates the live set (no history metadata) is
   * read whole once, every call marked live, and the archiving rounds then move the old ones out.
   */
  async load(): Promise<void> {
    if (!(await this.history.liveSetSince())) {
      if ((await this.models.Call.estimatedDocumentCount()) > 0) {
        const all = await this.models.Call.find({}, INDEX_PROJECTION).lean<CallDoc[]>();
        for (const call of all) this.put(call);
        await this.history.markLive(all.map((call) => call._id));
      }
      await this.history.recordLiveSetComplete();
      return;
    }
    const ids = await this.history.liveIds();
    await eachLimited(ids, READ_CONCURRENCY, async (id) => {
      const call = await this.models.Call.findById(id, INDEX_PROJECTION).lean<CallDoc>();
      if (call) this.put(call);
    });
  }

  /**
   * Adds calls to the live set kept in the database (before they are stored, or changed after
   * closing). Writes are grouped: the ids asked for while one write is in flight go together in the
   * next one, so concurrent raises and intake partitions share a write per shard.
   */
  markLive(ids: readonly string[]): Promise<void> {
    this.liveQueue.push(...ids);
    this.nextLiveWrite ??= this.liveWrite
      .catch(() => undefined)
      .then(() => {
        const batch = this.liveQueue;
        this.liveQueue = [];
        this.nextLiveWrite = undefined;
        this.liveWrite = this.history.markLive(batch);
        return this.liveWrite;
      });
    return this.nextLiveWrite;
  }

  private unlistCategory(call: CallDoc): void {
    const list = this.byCategory.get(call.category);
    if (!list) return;
    const at = positionIn(list, { at: new Date(call.raisedAt).getTime(), id: call._id });
    if (list[at]?.id === call._id) list.splice(at, 1);
  }

  /** Lists a held call under exactly `units` (none: it leaves memory). */
  private listUnits(id: string, units: readonly string[]): void {
    const listed = this.unitsListed.get(id) ?? [];
    if (listed.length === units.length && listed.every((unit, i) => unit === units[i])) return;
    for (const unit of listed) {
      if (units.includes(unit)) continue;
      const ids = this.byUnit.get(unit);
      ids?.delete(id);
      if (ids?.size === 0) this.byUnit.delete(unit);
    }
    for (const unit of units) {
      if (listed.includes(unit)) continue;
      let ids = this.byUnit.get(unit);
      if (!ids) this.byUnit.set(unit, (ids = new Set()));
      ids.add(id);
    }
    if (units.length) this.unitsListed.set(id, units);
    else this.unitsListed.delete(id);
  }

  /** The held calls `filter` can match: a unit's own when it requires one (requiredUnit), else every one. */
  private candidatesOf(filter: Record<string, unknown>): Iterable<CallDoc> {
    const unit = requiredUnit(filter);
    if (unit === undefined) return this.calls.values();
    const ids = this.byUnit.get(unit) ?? [];
    return (function* (calls) {
      for (const id of ids) yield calls.get(id) as CallDoc;
    })(this.calls);
  }

  /** Takes a call as stored now; an older version than the one held changes nothing. */
  put(call: CallDoc): void {
    const known = this.calls.get(call._id);
    if (known && known.version > call.version) return;
    const { timeline: _timeline, outbox: _outbox, appliedKeys: _keys, ...indexed } = call;
    const at = new Date(call.raisedAt).getTime();
    if (known?.category !== call.category || new Date(known.raisedAt).getTime() !== at) {
      if (known) this.unlistCategory(known);
      const entry = { at, id: call._id };
      let list = this.byCategory.get(call.category);
      if (!list) this.byCategory.set(call.category, (list = []));
      list.splice(positionIn(list, entry), 0, entry);
    }
    this.calls.set(call._id, indexed as CallDoc);
    this.listUnits(call._id, unitsOf(call));
  }

  /** The version held for a call (0 when not held). */
  versionOf(id: string): number {
    return this.calls.get(id)?.version ?? 0;
  }

  /** Re-reads calls changed elsewhere (by `_id`, the one lookup FerretDB indexes). */
  async refresh(ids: Iterable<string>): Promise<void> {
    await eachLimited([...new Set(ids)], READ_CONCURRENCY, async (id) => {
      const call = await this.models.Call.findById(id, INDEX_PROJECTION).lean<CallDoc>();
      if (call) this.put(call);
    });
  }

  /** Held calls due for a supervision check at `now`, earliest first (only open calls have one). */
  dueForCheck(now: Date, limit: number): string[] {
    const due = [...this.calls.values()].filter((call) => call.nextCheckAt && new Date(call.nextCheckAt) <= now);
    due.sort((a, b) => new Date(a.nextCheckAt!).getTime() - new Date(b.nextCheckAt!).getTime());
    return due.slice(0, limit).map((call) => call._id);
  }

  /** Held calls whose stored copy last had events waiting (the outbox sweep's candidates). */
  pendingOutbox(): string[] {
    const ids: string[] = [];
    for (const call of this.calls.values()) if (call.outboxPending) ids.push(call._id);
    return ids;
  }

  /** The outbox found nothing left to publish for a call at `version`. */
  outboxSettled(id: string, version: number): void {
    const call = this.calls.get(id);
    if (call?.version === version) call.outboxPending = false;
  }

  /**
   * An archived call as its day entry lists it, by `_id`. Kept a while at that version: a list page
   * that reaches into history (a street's calls beyond its live ones) would otherwise read the same
   * calls again for every reader. A call changed since is live again, and lists take it from memory.
   */
  private async archivedCall({ id, version, copied }: { id: string; version: number; copied: boolean }): Promise<CallDoc | null> {
    const key = `${id}@${version}`;
    const kept = this.archived.get(key);
    if (kept) return kept;
    // Its archived copy when the day lists one (a third of the read's cost on FerretDB), else the call.
    const doc = (copied ? await this.history.copyOf(id, version) : undefined) ?? (await this.models.Call.findById(id, INDEX_PROJECTION).lean<CallDoc>());
    if (doc?.version === version) this.archived.set(key, doc);
    return doc;
  }

  /** The matching live calls, newest first. */
  find({ filter, limit = Number.POSITIVE_INFINITY }: IndexQuery): CallDoc[] {
    const matches = matcherOf(filter);
    const category = requiredValue(filter, 'category');
    if (category !== undefined) {
      // Newest first already: read from the end of the category's list until `limit` match, or
      // until the calls are older than the filter lets them be.
      const list = this.byCategory.get(category) ?? [];
      const earliest = earliestTime(filter, 'raisedAt') ?? Number.NEGATIVE_INFINITY;
      const newest: CallDoc[] = [];
      for (let i = list.length - 1; i >= 0 && newest.length < limit; i--) {
        const entry = list[i] as { at: number; id: string };
        if (entry.at < earliest) break;
        const call = this.calls.get(entry.id) as CallDoc;
        if (matches(call)) newest.push(call);
      }
      return newest;
    }
    // Each call's time read once, not in every comparison of the sort.
    const found: Array<{ at: number; call: CallDoc }> = [];
    for (const call of this.candidatesOf(filter)) if (matches(call)) found.push({ at: new Date(call.raisedAt).getTime(), call });
    found.sort((a, b) => b.at - a.at || (a.call._id < b.call._id ? 1 : a.call._id > b.call._id ? -1 : 0));
    return (found.length > limit ? found.slice(0, limit) : found).map((f) => f.call);
  }

  count(filter: Record<string, unknown>): number {
    const matches = matcherOf(filter);
    let n = 0;
    for (const call of this.candidatesOf(filter)) if (matches(call)) n++;
    return n;
  }

  /**
   * The matching calls, live and archived, newest first. History is walked day by day backwards
   * through the day documents of `keys`, each candidate read by `_id` and matched with the same
   * filter, until `limit` are found, the range ends or the read budget is spent (`resumeAt`).
   */
  async findWithHistory(query: HistoryQuery, now = Date.now()): Promise<HistoryPage> {
    const live = this.find(query);
    const { keys, limit, from, to, after } = query;
    if (keys.length === 0 || limit === 0) return { calls: live };
    // An archived call was closed before the recent window began, so it was raised before it too: a
    // page the live calls fill with calls raised inside the window (the newest page of any list)
    // needs no history, and days inside the window hold no archived call.
    const historyEnds = now - this.windowMs;
    const oldestShown = live.length >= limit ? live[limit - 1] : undefined;
    if (oldestShown && oldestShown.raisedAt.getTime() >= historyEnds) return { calls: live };
    const first = await this.history.firstDay(keys);
    if (!first) return { calls: live };
    const lowest = from ? [first, dayOf(from.getTime())].sort()[1]! : first;
    const upper = Math.min(historyEnds, to ? to.getTime() - 1 : now, after ? after.at : now);
    const matches = matcherOf(query.filter);
    const shown = new Set(live.map((call) => call._id));
    const found: CallDoc[] = [];
    let reads = 1;
    let examined = 0;
    let resumeAt: Position | undefined;
    let day = dayOf(upper);
    let roundDays = FIRST_ROUND_DAYS;
    scan: while (day >= lowest) {
      // A round's day documents are read side by side (fewer when the budget is nearly spent; at
      // least one, so every page moves on).
      const room = Math.max(1, Math.min(roundDays, Math.floor((this.readBudget - reads) / keys.length)));
      roundDays = Math.min(DAYS_PER_ROUND, roundDays * 2);
      const days: string[] = [];
      for (let d = day; d >= lowest && days.length < room; d = previousDay(d)) days.push(d);
      const lists = await Promise.all(days.map((d) => this.history.day(keys, d)));
      reads += days.length * keys.length;
      for (const list of lists) {
        const candidates = list
          .filter((e) => !shown.has(e.id))
          .filter((e) => (!from || e.raisedAt >= from.getTime()) && (!to || e.raisedAt < to.getTime()))
          .map((e) => ({ at: e.raisedAt, id: e.id, version: e.version, copied: e.copied }))
          .filter((p) => !after || newer(after, p))
          .sort((a, b) => (newer(a, b) ? -1 : newer(b, a) ? 1 : 0));
        for (let i = 0; i < candidates.length; ) {
          // Out of budget, once this page has looked at something (so every page moves on).
          if (reads >= this.readBudget && examined > 0) {
            resumeAt = candidates[i];
            break scan;
          }
          const slice = candidates.slice(i, i + Math.max(4, limit - found.length));
          i += slice.length;
          reads += slice.length;
          examined += slice.length;
          // A call held now (it changed again since it was archived, perhaps during this page) as
          // held; one shown from memory when the page began (archived since) is there already.
          const docs = await eachLimited(slice, READ_CONCURRENCY, (p) => Promise.resolve(this.calls.get(p.id) ?? this.archivedCall(p)));
          for (const doc of docs) if (doc && !shown.has(doc._id) && matches(doc)) found.push(doc);
          if (found.length >= limit) break scan;
        }
      }
      day = previousDay(days.at(-1)!);
      // Out of budget after whole days: the next page starts with the day before them.
      if (reads >= this.readBudget && day >= lowest) {
        resumeAt = { at: Date.parse(`${day}T16:00:00Z`) - 1, id: '\uffff' };
        break;
      }
    }
    const merged = [...live, ...found].sort(byNewest);
    const calls = resumeAt ? merged.filter((call) => newer(positionOf(call), resumeAt)) : merged;
    // With fewer than `limit`, the page is partial: the caller resumes at `resumeAt`.
    if (calls.length >= limit) return { calls: calls.slice(0, limit) };
    return { calls, resumeAt };
  }

  /** The days, newest first, whose documents may list archived calls of `key` raised in [from, to). */
  private async historyDays(key: string, from: Date, to: Date, now: number): Promise<string[]> {
    const first = await this.history.firstDay([key]);
    const days: string[] = [];
    if (first) {
      const lowest = [first, dayOf(from.getTime())].sort()[1]!;
      // Days inside the recent window hold no archived call (see findWithHistory).
      for (let d = dayOf(Math.min(to.getTime() - 1, now - this.windowMs)); d >= lowest; d = previousDay(d)) days.push(d);
    }
    return days;
  }

  /** The archived calls each of `days` lists for `key` (kept days from memory, the rest read side by side). */
  private readDays(key: string, days: readonly string[]): Promise<Array<readonly HistoryEntry[]>> {
    return eachLimited(days, READ_CONCURRENCY, (d) => this.history.day([key], d));
  }

  /**
   * Reads the day documents of `keys` for the last `days` days, so they are kept (call-history.ts)
   * before the first request: at a district's size a month of its days is read in a few hundred ms,
   * and every dashboard's first counters would wait for it. Returns the number of entries read.
   */
  async warmHistory(keys: readonly string[], days: number, now = Date.now()): Promise<number> {
    let entries = 0;
    for (const key of days > 0 ? keys : []) {
      for (const list of await this.readDays(key, await this.historyDays(key, new Date(now - days * DAY_MS), new Date(now), now))) entries += list.length;
    }
    return entries;
  }

  /**
   * Counters over the calls of `key` raised in [from, to): the live ones from memory, the archived
   * ones from the day documents without reading a call. A day wholly inside the range counts by its
   * totals (kept with the day), less the entries of calls held in memory (counted as live).
   */
  async countRange(key: string, from: Date, to: Date, tierOf: (unitId: string) => Tier | undefined, now = Date.now()): Promise<RangeCounts> {
    // A call this copy's archiving takes out of memory while the days are read would be neither held
    // nor, in a day fetched before its write, listed: such calls are noted here and counted below.
    const removed = new Map<string, CallDoc>();
    this.countsReading.add(removed);
    let days: string[];
    let lists: Array<readonly HistoryEntry[]>;
    try {
      days = await this.historyDays(key, from, to, now);
      lists = await this.readDays(key, days);
    } finally {
      this.countsReading.delete(removed);
    }
    // From here on nothing waits: the calls held are the same for the live count and for the days'.
    const counts = noCounts();
    // Counted, not listed: no order needed.
    const liveFilter = { visibleTo: key, raisedAt: { $gte: from, $lt: to } };
    const live = matcherOf(liveFilter);
    const countCall = (call: CallDoc) => tally(counts, call.status, tierOf(call.originUnitId), call.reachedDepartment, call.rating?.satisfaction);
    for (const call of this.candidatesOf(liveFilter)) if (live(call)) countCall(call);
    const whole = new Map<string, readonly HistoryEntry[]>();
    days.forEach((day, i) => {
      const list = lists[i] as readonly HistoryEntry[];
      const start = Date.parse(`${day}T00:00:00Z`) - CST_OFFSET_MS;
      if (start >= from.getTime() && start + DAY_MS <= to.getTime()) {
        addCounts(counts, totalsOf(list));
        whole.set(day, list);
        return;
      }
      for (const e of list) {
        if (this.calls.has(e.id) || e.raisedAt < from.getTime() || e.raisedAt >= to.getTime()) continue;
        tally(counts, e.status, e.originTier, e.reachedDepartment, e.satisfaction);
      }
    });
    const listed = new Map(days.map((day, i) => [day, lists[i] as readonly HistoryEntry[]]));
    for (const call of removed.values()) {
      if (this.calls.has(call._id) || !live(call)) continue;
      const list = listed.get(dayOf(new Date(call.raisedAt).getTime()));
      if (!list || !entryOf(list, call._id)) countCall(call);
    }
    if (whole.size > 0) {
      for (const call of this.calls.values()) {
        const at = new Date(call.raisedAt).getTime();
        if (at < from.getTime() || at >= to.getTime()) continue;
        const list = whole.get(dayOf(at));
        const e = list && entryOf(list, call._id);
        if (e) tally(counts, e.status, e.originTier, e.reachedDepartment, e.satisfaction, -1);
      }
      for (const [tier, n] of counts.byTier) if (n === 0) counts.byTier.delete(tier);
    }
    return counts;
  }

  /**
   * Moves calls closed longer ago than the window out of memory into history. Each is re-read first:
   * one with events still to publish, or changed since, stays for a later round.
   */
  async archiveDue(now = Date.now(), max = ARCHIVE_BATCH): Promise<number> {
    const cutoff = now - this.windowMs;
    const due = [...this.calls.values()].filter((call) => isPastWindow(call, cutoff)).slice(0, max);
    if (due.length === 0) return 0;
    const fresh = await eachLimited(due, READ_CONCURRENCY, (call) => this.models.Call.findById(call._id, INDEX_PROJECTION).lean<CallDoc>());
    const archivable: CallDoc[] = [];
    for (const call of fresh) {
      if (!call) continue;
      if (isPastWindow(call, cutoff) && !call.outboxPending) archivable.push(call);
      else this.put(call);
    }
    await this.history.archive(archivable);
    // A call changed while the round archived it was taken out of the live set perhaps after its
    // change put it back (CallStore marks a changed final call live before and after its update):
    // read again once out, a call that moved on is live again, and held as it now is.
    const after = await eachLimited(archivable, READ_CONCURRENCY, (call) => this.models.Call.findById(call._id, INDEX_PROJECTION).lean<CallDoc>());
    const movedOn = after.filter((call, i): call is CallDoc => call !== null && call.version !== archivable[i]!.version);
    if (movedOn.length > 0) {
      await this.markLive(movedOn.map((call) => call._id));
      for (const call of movedOn) this.put(call);
    }
    for (const call of archivable) {
      const held = this.calls.get(call._id);
      if (held?.version !== call.version) continue;
      this.calls.delete(call._id);
      for (const reading of this.countsReading) reading.set(call._id, held);
      this.unlistCategory(held);
      this.listUnits(call._id, []);
    }
    return archivable.length;
  }
}

/** Where `entry` is, or goes, in a list ordered by (at, id): binary search. */
function positionIn(list: ReadonlyArray<{ at: number; id: string }>, entry: { at: number; id: string }): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const other = list[mid] as { at: number; id: string };
    if (other.at < entry.at || (other.at === entry.at && other.id < entry.id)) low = mid + 1;
    else high = mid;
  }
  return low;
}

const noCounts = (): RangeCounts => ({ raised: 0, completed: 0, calledUp: 0, rated: 0, satisfied: 0, byTier: new Map() });

/** Counts one call (sign -1: takes it out again). */
function tally(counts: RangeCounts, status: string, tier: Tier | undefined, reachedDepartment: boolean, satisfaction: string | undefined, sign = 1): void {
  counts.raised += sign;
  if (status === 'CLOSED' || status === 'COMPLETED') counts.completed += sign;
  if (reachedDepartment) counts.calledUp += sign;
  if (satisfaction) counts.rated += sign;
  if (satisfaction === 'VERY_SATISFIED' || satisfaction === 'SATISFIED') counts.satisfied += sign;
  if (tier) counts.byTier.set(tier, (counts.byTier.get(tier) ?? 0) + sign);
}

function addCounts(counts: RangeCounts, more: RangeCounts): void {
  counts.raised += more.raised;
  counts.completed += more.completed;
  counts.calledUp += more.calledUp;
  counts.rated += more.rated;
  counts.satisfied += more.satisfied;
  for (const [tier, n] of more.byTier) counts.byTier.set(tier, (counts.byTier.get(tier) ?? 0) + n);
}

// A day's entries are kept as one array while its document is kept (call-history.ts): its totals and
// its entries by id are worked out once for that array.
const dayTotals = new WeakMap<readonly HistoryEntry[], RangeCounts>();
const dayEntries = new WeakMap<readonly HistoryEntry[], Map<string, HistoryEntry>>();

function totalsOf(list: readonly HistoryEntry[]): RangeCounts {
  let totals = dayTotals.get(list);
  if (!totals) {
    totals = noCounts();
    for (const e of list) tally(totals, e.status, e.originTier, e.reachedDepartment, e.satisfaction);
    dayTotals.set(list, totals);
  }
  return totals;
}

function entryOf(list: readonly HistoryEntry[], id: string): HistoryEntry | undefined {
  let byId = dayEntries.get(list);
  if (!byId) dayEntries.set(list, (byId = new Map(list.map((e) => [e.id, e]))));
  return byId.get(id);
}

/** The units a call appears on, each once (UNIT_FIELDS). */
function unitsOf(call: CallDoc): string[] {
  const units = new Set<string>();
  for (const field of UNIT_FIELDS) {
    const value = (call as unknown as Record<string, unknown>)[field];
    for (const unit of Array.isArray(value) ? value : [value]) if (typeof unit === 'string') units.add(unit);
  }
  return [...units];
}

/** Final, and closed before `cutoff`. */
function isPastWindow(call: CallDoc, cutoff: number): boolean {
  if (!FINAL_STATUSES.includes(call.status)) return false;
  return new Date(call.closedAt ?? call.updatedAt).getTime() < cutoff;
}
