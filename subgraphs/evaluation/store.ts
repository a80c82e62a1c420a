// Evaluation's own database. Two collections, both addressed by deterministic `_id`s (FerretDB uses
// an index only for a filter of exactly {_id}):
// - `calls`: per call, its observations (unit ids, instants, counts, stars — no call details; one
//   JSON text, `StoredCall`) and the scopes its counters go to;
// - `ledgers`: per (unit, month) of scores `perf|unit|month`, of counters `ctr|unit|month`, and per
//   unit its open overdue calls `open|unit`: each call's contribution by its call key (appended as
//   text, below). A figure is the sum of the contributions; appending one again changes nothing.
//   `closed|month`: a closed month frozen (every scored unit's totals and the scheme table as it
//   stood), written once when the month has closed and the projection has caught up; from then on the
//   month is read from it, so no later replay, rule change or scheme change rewrites it.
//
// A batch of events is applied by recomputing each touched call's contributions from all its
// observations and appending the ones that changed (bulk writes), then storing the observations (more
// bulk writes; see BULK_SLICE for why they are sliced). Crash between the two and the batch comes again: the same contributions are appended again.
//
// Contributions are appended to a ledger document as text (`chunks`, one string a batch: calls grouped
// by contribution, `|name:n,…=key key`, `|=key` for none, `encodeChunk`; a later entry of a call
// replaces an earlier one), not set as fields:
// FerretDB rewrites a whole document on every update, and its cost grows with the document's fields.
// A month's ledger of 16,000 calls as fields took 1.2 s for any update and 0.6 s to read; as text,
// 40–60 ms and 30 ms (docs/performance.md). A document read with more than COMPACT_AFTER_CHUNKS
// chunks is written back as one. Documents written before hold `calls.<key>` fields: read as the first chunk.
import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';
import { BULK_SLICE, duplicatesOf, eachLimited, inSlices } from '../../platform/mongo.ts';
import { addInto, contributions, mergeObservations, negated, type Observation, rankKey, sameVector, unitField, unitOfField, type Vector } from './domain/ledger.ts';
import type { MonthClosing, Period } from './domain/period.ts';
import { type SchemeVersion, sumVectors } from './domain/schemes.ts';

export interface CallDoc {
  _id: string;
  obs: Observation[];
  /** Units below the district on the origin's path (grid, community, street): counter scopes. */
  scopes: string[];
}

/**
 * A call as stored: its observations as one JSON text. FerretDB's cost to write a document grows with
 * its fields; a call's ~150 (six observations of ~25) made its insert 4–5 times slower than the same
 * content as one string (docs/performance.md), and inserting them bounded a replay. Documents written
 * before hold the array: read as it is.
 */
export interface StoredCall {
  _id: string;
  obs: string | Observation[];
  scopes: string[];
}

export const storedCall = (doc: CallDoc): StoredCall => ({ _id: doc._id, obs: JSON.stringify(doc.obs), scopes: doc.scopes });

export const callOf = (doc: StoredCall): CallDoc => ({
  _id: doc._id,
  obs: typeof doc.obs === 'string' ? (JSON.parse(doc.obs) as Observation[]) : doc.obs,
  scopes: doc.scopes,
});

export interface LedgerDoc {
  _id: string;
  /** Each call's contribution (as read: `chunks` applied over the fields of an older document). */
  calls: Record<string, Vector>;
  /** Contributions appended as text, one string a batch (see the top of this file). */
  chunks?: string[];
  /** Chunks appended so far: a compaction writes only over the chunks it read. */
  appended?: number;
  updatedAt: Date;
  /** Only on `meta|projection`: the projection version the database is at. */
  version?: number;
  /** Only on `closed|month`: every scored unit's totals, the scheme table in force, when it was frozen. */
  units?: Record<string, Vector>;
  schemes?: SchemeVersion[];
  frozenAt?: Date;
}

/** A closed month as frozen: every scored unit's totals and the scheme versions it was scored under. */
export interface FrozenMonth {
  period: Period;
  units: Map<string, Vector>;
  schemes: SchemeVersion[];
  frozenAt: Date;
}

export const frozenKey = (period: Period) => `closed|${period}`;

/** A scheme version this database has been scored with (guards closed months against new versions). */
export interface SchemeSeenDoc {
  _id: string;
  fingerprint: string;
  seenAt: Date;
}

export interface EvaluationModels {
  Call: Model<StoredCall>;
  Ledger: Model<LedgerDoc>;
  SchemeSeen: Model<SchemeSeenDoc>;
}

export function evaluationModels(conn: Connection): EvaluationModels {
  const call = new Schema<StoredCall>(
    // Observations are written as they are (no casting): text, or the array of older documents.
    { _id: String, obs: { type: Schema.Types.Mixed }, scopes: { type: [String], default: [] } },
    { versionKey: false, minimize: false },
  );
  const ledger = new Schema<LedgerDoc>(
    {
      _id: String,
      calls: { type: Schema.Types.Mixed, default: undefined },
      chunks: { type: [String], default: undefined },
      appended: Number,
      updatedAt: Date,
      version: Number,
      units: { type: Schema.Types.Mixed, default: undefined },
      schemes: { type: Schema.Types.Mixed, default: undefined },
      frozenAt: Date,
    },
    { versionKey: false, minimize: false },
  );
  return {
    Call: conn.model<StoredCall>('EvaluationCall', call, 'calls'),
    Ledger: conn.model<LedgerDoc>('Ledger', ledger, 'ledgers'),
    SchemeSeen: conn.model<SchemeSeenDoc>(
      'SchemeSeen',
      new Schema<SchemeSeenDoc>({ _id: String, fingerprint: String, seenAt: Date }, { versionKey: false }),
      'schemes_seen',
    ),
  };
}

/**
 * The projection's version, kept in the `meta|projection` document: 2 added the `rank|month`
 * documents; 3 stores a call's observations as text and groups ledger lines by contribution (read by
 * this version alongside what 2 wrote; not by 2). A copy refuses a database of a later version.
 */
export const PROJECTION_VERSION = 3;
const PROJECTION_META = 'meta|projection';

/** Chunks a ledger document may hold before a read writes it back as one. */
export const COMPACT_AFTER_CHUNKS = 32;

/**
 * Contributions as one chunk, calls grouped by their contribution: `|name:n,name:n=key key|=key`, a
 * group `|=keys` for calls that no longer contribute. Most calls of a ledger contribute the same few
 * vectors, so a month's ledger is mostly call keys: about a fifth of the size of one entry per call,
 * which FerretDB reads and rewrites whole (docs/performance.md). A call given twice counts as its last.
 */
export function encodeChunk(contributions: Iterable<[string, Vector | null]>): string {
  const last = new Map<string, Vector | null>();
  for (const [key, v] of contributions) {
    last.delete(key);
    last.set(key, v);
  }
  const groups = new Map<string, string[]>();
  for (const [key, v] of last) {
    const vector = v ? Object.entries(v).map(([name, n]) => `${name}:${n}`).join(',') : '';
    const keys = groups.get(vector);
    if (keys) keys.push(key);
    else groups.set(vector, [key]);
  }
  return [...groups].map(([vector, keys]) => `|${vector}=${keys.join(' ')}`).join('');
}

/**
 * Every call's contribution in a stored ledger document: its fields, then its chunks in order. A chunk
 * is grouped (`encodeChunk`, starting with `|`: no call key does) or, as written before, one entry per
 * call: `key=name:n,…`, `key=` for none.
 */
export function contributionsIn(doc: Pick<LedgerDoc, 'calls' | 'chunks'>): Record<string, Vector> {
  // Without a prototype: a call whose id is `__proto__` is an entry like any other.
  const calls: Record<string, Vector> = Object.assign(Object.create(null) as Record<string, Vector>, doc.calls);
  const vectorOf = (text: string): Vector => {
    const v: Vector = {};
    for (const pair of text.split(',')) {
      const colon = pair.indexOf(':');
      v[pair.slice(0, colon)] = Number(pair.slice(colon + 1));
    }
    return v;
  };
  for (const chunk of doc.chunks ?? []) {
    if (chunk === '') continue;
    if (chunk.startsWith('|')) {
      for (const group of chunk.slice(1).split('|')) {
        const at = group.indexOf('=');
        const text = group.slice(0, at);
        const v = text === '' ? null : vectorOf(text);
        for (const key of group.slice(at + 1).split(' ')) {
          if (v) calls[key] = { ...v };
          else delete calls[key];
        }
      }
      continue;
    }
    for (const entry of chunk.split(' ')) {
      const at = entry.indexOf('=');
      const key = entry.slice(0, at);
      const text = entry.slice(at + 1);
      if (text === '') delete calls[key];
      else calls[key] = vectorOf(text);
    }
  }
  return calls;
}

/** A call id as a field name: ids that are not plain letters, digits, '-' or '_' are base64url-encoded. */
export function callKey(callId: string): string {
  return /^[A-Za-z0-9_-]+$/.test(callId) ? callId : `~${Buffer.from(callId).toString('base64url')}`;
}

export function callIdOf(key: string): string {
  return key.startsWith('~') ? Buffer.from(key.slice(1), 'base64url').toString('utf8') : key;
}


export interface BatchResult {
  /** Events that added an observation (not seen before). */
  applied: number;
  /** Ledger documents whose figures changed. */
  changed: string[];
}

/**
 * How long the totals read from a ledger document serve before it is read again (`totals`); this
 * copy's own changes are added to them meanwhile. Reading a ledger decodes every call of its unit and
 * month: the live counters (every second a scope changes) and the rankings (every batch) read them
 * over and over, and that was most of a replay's store time (bench:replay).
 */
const LEDGER_TOTALS_KEPT_MS = 5_000;
/**
 * The same while this copy projects every partition of hub.call-events (`projectsEverything`): no
 * other copy writes ledgers then, so the totals with this copy's changes added stay exact, and a
 * replay reads each ledger once instead of every few seconds.
 */
const SOLE_PROJECTOR_TOTALS_KEPT_MS = 60_000;
/** Ledger documents whose totals are kept (a unit and month each; a few hundred bytes). */
const LEDGER_TOTALS_KEPT = 10_000;

type Totals = { totals: Vector; updatedAt?: Date; calls: number };

/** Calls the projector remembers as it stored them (`owned`): about 2 KB each. */
const OWNED_CALLS = 100_000;
/** New call documents per insert command (FerretDB's statement limit is on updates and deletes only). */
const INSERT_SLICE = 1000;

/** How long a read for the federated graph is fresh (ms); after that the next request reads again. */
const READ_CACHE_MS = 1000;
/** The same while this copy projects every partition of hub.call-events (see `projectsEverything`). */
const SOLE_PROJECTOR_READ_CACHE_MS = 60_000;
/**
 * How long past its freshness a read may still answer while it is read again in the background (ms):
 * requests arriving as the cache lapses must not queue behind FerretDB. Older reads are read at once.
 */
const READ_STALE_MS = 4000;

export class EvaluationStore {
  constructor(
    readonly models: EvaluationModels,
    private readonly closing: MonthClosing,
    /** The counter scopes of a call raised at `originUnitId` (its path below the district). */
    private readonly scopesOf: (originUnitId: string) => string[],
    /** Chunks a ledger document may hold before it is written back as one. */
    private readonly compactAfterChunks = COMPACT_AFTER_CHUNKS,
  ) {}

  /**
   * What the federated `Call.evaluation` reads, kept in memory: dashboards ask for the same calls many
   * times a second, and every FerretDB read costs milliseconds. A read is fresh for READ_CACHE_MS;
   * after that it still answers while one background read replaces it, up to READ_STALE_MS more.
   * Reads in flight are shared. This copy's own writes drop what they change at once; another copy's
   * show after about READ_CACHE_MS and one read. While this copy projects every partition, nothing
   * else writes, and reads stay fresh for SOLE_PROJECTOR_READ_CACHE_MS.
   */
  private readonly recent = new Map<string, { at: number; value: Promise<unknown>; refreshing?: boolean }>();
  private soleProjector = false;

  /** Whether this copy's projector holds every partition of hub.call-events (set on each group change). */
  get projectsAlone(): boolean {
    return this.soleProjector;
  }

  /** A consumer-group change: what was read may since have been written by another copy. */
  projectsEverything(sole: boolean): void {
    this.soleProjector = sole;
    this.recent.clear();
    this.owned.clear();
    this.forgetTotals();
  }

  private async cached<T>(kind: string, ids: string[], load: (missing: string[]) => Promise<Map<string, T>>): Promise<Map<string, T>> {
    const now = Date.now();
    const fresh = this.soleProjector ? SOLE_PROJECTOR_READ_CACHE_MS : READ_CACHE_MS;
    const reads: Array<[string, Promise<unknown>]> = [];
    const missing: string[] = [];
    const lapsed: string[] = [];
    for (const id of ids) {
      const hit = this.recent.get(`${kind}|${id}`);
      if (!hit || now - hit.at >= fresh + READ_STALE_MS) {
        missing.push(id);
        continue;
      }
      reads.push([id, hit.value]);
      if (now - hit.at >= fresh && !hit.refreshing) {
        hit.refreshing = true;
        lapsed.push(id);
      }
    }
    if (this.recent.size > 20_000) this.recent.clear();
    if (missing.length > 0) {
      for (const [id, value] of this.remember(kind, missing, load, now)) reads.push([id, value]);
    }
    if (lapsed.length > 0) {
      // In the background: the stale values answer meanwhile; a failed read leaves them for the next try.
      const stale = new Map(lapsed.map((id) => [id, this.recent.get(`${kind}|${id}`)]));
      load(lapsed).then(
        (loaded) => {
          for (const [id, entry] of stale) {
            // Unless this copy wrote (and dropped the entry) since the read began.
            if (this.recent.get(`${kind}|${id}`) === entry) this.recent.set(`${kind}|${id}`, { at: now, value: Promise.resolve(loaded.get(id)) });
          }
        },
        () => {
          for (const entry of stale.values()) if (entry) entry.refreshing = false;
        },
      );
    }
    const values = await Promise.all(reads.map(([, value]) => value));
    const found = new Map<string, T>();
    reads.forEach(([id], i) => {
      if (values[i] !== undefined) found.set(id, values[i] as T);
    });
    return found;
  }

  /** Reads `ids` once, remembering the read in flight so that requests arriving meanwhile share it. */
  private remember<T>(kind: string, ids: string[], load: (ids: string[]) => Promise<Map<string, T>>, now: number): Array<[string, Promise<unknown>]> {
    const loading = load(ids);
    return ids.map((id) => {
      const entry = { at: now, value: loading.then((loaded) => loaded.get(id)) };
      this.recent.set(`${kind}|${id}`, entry);
      // A failed read is not remembered: the next request reads again.
      entry.value.catch(() => this.recent.get(`${kind}|${id}`) === entry && this.recent.delete(`${kind}|${id}`));
      return [id, entry.value];
    });
  }

  /** loadCalls for reading (see `recent`). */
  readCalls(ids: string[]): Promise<Map<string, CallDoc>> {
    return this.cached('call', ids, (missing) => this.loadCalls(missing));
  }

  /** totals for reading (see `recent`). */
  readTotals(ids: string[]): Promise<Map<string, { totals: Vector; updatedAt?: Date; calls: number }>> {
    return this.cached('totals', ids, (missing) => this.totals(missing));
  }

  async loadCalls(ids: string[]): Promise<Map<string, CallDoc>> {
    const docs = await eachLimited(ids, 16, (id) => this.models.Call.findById(id).lean<StoredCall>());
    return new Map(docs.filter((d): d is StoredCall => d !== null).map((d) => [d._id, callOf(d)]));
  }

  /** Ledger documents by id, each with its contributions read (`calls`); long ones compacted. */
  async loadLedgers(ids: string[]): Promise<Map<string, LedgerDoc>> {
    const docs = await eachLimited(ids, 16, async (id): Promise<LedgerDoc | null> => {
      const doc = await this.models.Ledger.findById(id).lean<LedgerDoc>();
      if (!doc) return null;
      const calls = contributionsIn(doc);
      if ((doc.chunks?.length ?? 0) > this.compactAfterChunks) await this.compact(doc, calls);
      const { chunks: _read, ...rest } = doc;
      return { ...rest, calls };
    });
    return new Map(docs.filter((d): d is LedgerDoc => d !== null).map((d) => [d._id, d]));
  }

  /** Counts a chunk appended to each of `ids`; reads (and so compacts) those this copy appended to past `compactAfterChunks`. */
  private async compactLong(ids: string[]): Promise<void> {
    const long: string[] = [];
    for (const id of ids) {
      const appended = (this.appendsUnread.get(id) ?? 0) + 1;
      if (appended > this.compactAfterChunks) long.push(id);
      else this.appendsUnread.set(id, appended);
    }
    if (this.appendsUnread.size > LEDGER_TOTALS_KEPT) this.appendsUnread.clear();
    for (const id of long) this.appendsUnread.delete(id);
    if (long.length > 0) await this.loadLedgers(long);
  }

  /** Writes a ledger document's contributions back as one chunk, unless a chunk was appended since the read. */
  private async compact(doc: LedgerDoc, calls: Record<string, Vector>): Promise<void> {
    this.appendsUnread.delete(doc._id);
    await this.models.Ledger.updateOne(
      { _id: doc._id, appended: doc.appended },
      { $set: { chunks: [encodeChunk(Object.entries(calls))] }, $unset: { calls: 1 } },
    );
  }

  /**
   * The figures of ledger documents (sums of their calls' contributions), by id; missing ones empty.
   * Kept LEDGER_TOTALS_KEPT_MS after a read (SOLE_PROJECTOR_TOTALS_KEPT_MS while projecting alone),
   * with this copy's own changes added (`adjustTotals`), so this copy's changes show at once and
   * another copy's within that time.
   */
  async totals(ids: string[]): Promise<Map<string, Totals>> {
    const freshSince = Date.now() - (this.soleProjector ? SOLE_PROJECTOR_TOTALS_KEPT_MS : LEDGER_TOTALS_KEPT_MS);
    const out = new Map<string, Totals>();
    const reread: string[] = [];
    for (const id of ids) {
      const kept = this.ledgerTotals.get(id);
      if (kept && kept.at >= freshSince) out.set(id, { totals: { ...kept.totals }, updatedAt: kept.updatedAt, calls: kept.calls });
      else reread.push(id);
    }
    if (reread.length === 0) return out;
    // A change written while the read is out may or may not be in what it returns: then it is not kept.
    const changes = new Map(reread.map((id) => [id, this.ledgerWriting.has(id) ? undefined : (this.ledgerChanges.get(id) ?? 0)]));
    const epoch = this.totalsEpoch;
    const docs = await this.loadLedgers(reread);
    for (const id of reread) {
      const doc = docs.get(id);
      const calls = Object.values(doc?.calls ?? {});
      const figures = { totals: sumVectors(calls), updatedAt: doc?.updatedAt, calls: calls.length };
      out.set(id, { ...figures, totals: { ...figures.totals } });
      if (epoch !== this.totalsEpoch || (this.ledgerChanges.get(id) ?? 0) !== changes.get(id)) continue;
      this.ledgerTotals.delete(id);
      this.ledgerTotals.set(id, { ...figures, at: Date.now() });
    }
    for (const id of this.ledgerTotals.keys()) {
      if (this.ledgerTotals.size <= LEDGER_TOTALS_KEPT) break;
      this.ledgerTotals.delete(id);
    }
    return out;
  }

  /** Adds what this copy just wrote to ledgers to the totals kept (null: rewritten whole, read again). */
  private adjustTotals(written: Map<string, { delta: Vector; calls: number } | null>, now: Date): void {
    for (const [id, change] of written) {
      const kept = this.ledgerTotals.get(id);
      if (!kept) continue;
      if (!change) {
        this.ledgerTotals.delete(id);
        continue;
      }
      addInto(kept.totals, change.delta);
      kept.calls += change.calls;
      kept.updatedAt = now;
    }
    // Only reads in flight compare these counts: a new epoch stops them being kept instead.
    if (this.ledgerChanges.size > LEDGER_TOTALS_KEPT) {
      this.ledgerChanges.clear();
      this.totalsEpoch++;
    }
  }

  /**
   * Copies the totals of changed `perf|unit|month` documents (`totals`: read back after writing, or
   * kept with this copy's changes added) into their month's `rank|month` document. Idempotent; with
   * several copies projecting at once, the last to write a unit's row wins, and a row may lag another
   * copy's changes by LEDGER_TOTALS_KEPT_MS, or until that unit's next change (a single copy is exact).
   */
  private async refreshRanks(perfIds: string[], now: Date): Promise<void> {
    if (perfIds.length === 0) return;
    const figures = await this.totals(perfIds);
    const byPeriod = new Map<string, { $set: Record<string, unknown>; $unset: Record<string, 1> }>();
    for (const id of perfIds) {
      const [, unit, period] = id.split('|') as [string, string, string];
      const update = byPeriod.get(period) ?? { $set: { updatedAt: now }, $unset: {} };
      const totals = figures.get(id)?.totals ?? {};
      if (Object.keys(totals).length > 0) update.$set[`calls.${unitField(unit)}`] = totals;
      else update.$unset[`calls.${unitField(unit)}`] = 1;
      byPeriod.set(period, update);
    }
    const ops = [...byPeriod].map(([period, { $set, $unset }]) => ({
      updateOne: {
        filter: { _id: rankKey(period) },
        update: Object.keys($unset).length > 0 ? { $set, $unset } : { $set },
        upsert: true,
      },
    }));
    await inSlices(ops, (slice) => this.models.Ledger.bulkWrite(slice, { ordered: false }));
  }

  /**
   * Brings documents derived by an older projection up to date once: the rank documents (added in
   * projection 2) are rebuilt from the `perf` documents with one scan. Idempotent; a fresh database
   * is just marked.
   */
  async upgrade(): Promise<{ from: number; to: number }> {
    const meta = await this.models.Ledger.findById(PROJECTION_META).lean<LedgerDoc>();
    if ((meta?.version ?? 0) > PROJECTION_VERSION) {
      // What a later version wrote may not read here as it was meant (a rollback needs a replay).
      throw new Error(
        `the evaluation database is at projection version ${meta?.version}, later than this copy's ${PROJECTION_VERSION}: run the later version, or replay hub.call-events into an empty database`,
      );
    }
    const from = meta?.version ?? ((await this.models.Ledger.estimatedDocumentCount()) > 0 ? 1 : PROJECTION_VERSION);
    if (from < 2) {
      const perf = await this.models.Ledger.find({ _id: { $regex: '^perf\\|' } }, { _id: 1 }).lean<Array<{ _id: string }>>();
      for (let i = 0; i < perf.length; i += BULK_SLICE) await this.refreshRanks(perf.slice(i, i + BULK_SLICE).map((d) => d._id), new Date());
    }
    if (meta?.version !== PROJECTION_VERSION) {
      await this.models.Ledger.updateOne({ _id: PROJECTION_META }, { $set: { version: PROJECTION_VERSION, updatedAt: new Date() } }, { upsert: true });
    }
    return { from, to: PROJECTION_VERSION };
  }

  /** Frozen months read so far (they never change). */
  private readonly frozen = new Map<Period, FrozenMonth>();

  /** A closed month as frozen, or undefined while it is not (yet) frozen. */
  async frozenMonth(period: Period): Promise<FrozenMonth | undefined> {
    const known = this.frozen.get(period);
    if (known) return known;
    const doc = (await this.cached('frozen', [period], (ids) => this.loadLedgers(ids.map(frozenKey)).then((m) => new Map(ids.map((id) => [id, m.get(frozenKey(id))]))))).get(period);
    if (!doc?.frozenAt) return undefined;
    const month: FrozenMonth = {
      period,
      units: new Map(Object.entries(doc.units ?? {}).map(([field, v]) => [unitOfField(field), v])),
      schemes: doc.schemes ?? [],
      frozenAt: doc.frozenAt,
    };
    this.frozen.set(period, month);
    return month;
  }

  /**
   * Freezes every month that closed at least `afterMs` before `now` and is not frozen yet: its units'
   * totals (from `rank|month`) and the scheme versions in force. Call it only when the projection has
   * caught up with hub.call-events (the facts of a month all happened before it closed). Written once:
   * another copy freezing the same month at once leaves the first. Returns the months frozen.
   */
  async freezeClosed(closing: MonthClosing, versions: SchemeVersion[], now: Date, afterMs: number): Promise<Period[]> {
    const ids = await this.models.Ledger.find({ _id: { $regex: '^(rank|closed)\\|' } }, { _id: 1 }).lean<Array<{ _id: string }>>();
    const frozen = new Set(ids.filter((d) => d._id.startsWith('closed|')).map((d) => d._id.slice('closed|'.length)));
    const due = ids
      .filter((d) => d._id.startsWith('rank|'))
      .map((d) => d._id.slice('rank|'.length))
      .filter((period) => !frozen.has(period) && closing.closesAt(period).getTime() + afterMs <= now.getTime())
      .sort();
    for (const period of due) {
      const units = (await this.loadLedgers([rankKey(period)])).get(rankKey(period))?.calls ?? {};
      const schemes = versions.filter((v) => v.effectiveFrom <= period);
      try {
        await this.models.Ledger.updateOne(
          { _id: frozenKey(period) },
          { $setOnInsert: { units, schemes, frozenAt: now, updatedAt: now } },
          { upsert: true },
        );
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
      }
      this.recent.delete(`frozen|${period}`);
    }
    return due;
  }

  /** Every scored unit's figures for a month (from its `rank|month` document). */
  async monthByUnit(period: string): Promise<Map<string, Vector>> {
    const doc = (await this.loadLedgers([rankKey(period)])).get(rankKey(period));
    return new Map(Object.entries(doc?.calls ?? {}).map(([field, v]) => [unitOfField(field), v]));
  }

  /**
   * Calls as this copy's projector last stored them, since it last joined the consumer group: a call's
   * events all come on one partition (keyed by call id) and a partition has one consumer in the group,
   * so while the group stands nobody else writes these documents and they need not be read again.
   * Forgotten on every group change (`projectsEverything`); at most OWNED_CALLS, the most recent.
   */
  private readonly owned = new Map<string, CallDoc>();
  /**
   * Chunks this copy appended to each ledger document since it last compacted it: a document nobody
   * reads (a grid's counters, its open calls) is read and compacted after COMPACT_AFTER_CHUNKS of them.
   */
  private readonly appendsUnread = new Map<string, number>();
  /** Ledger totals as last read, with this copy's changes since added (`totals`). */
  private readonly ledgerTotals = new Map<string, Totals & { at: number }>();
  /** Writes this copy began on each ledger, counted: a read during which one began is not kept. */
  private readonly ledgerChanges = new Map<string, number>();
  /**
   * Ledgers this copy is writing now (appended, totals not yet adjusted): a read begun meanwhile may
   * hold the append already, and the adjustment would add it a second time, so it is not kept.
   */
  private readonly ledgerWriting = new Map<string, number>();
  /**
   * Increased whenever the totals kept are forgotten (a group change: another copy may have written;
   * a failed batch) or the counts of changes are reset: a read begun before is then not kept.
   */
  private totalsEpoch = 0;

  private forgetTotals(): void {
    this.ledgerTotals.clear();
    this.ledgerChanges.clear();
    this.totalsEpoch++;
  }

  /** Events stored since start, counted once, when their call document is written (not repeats). */
  storedEvents = 0;

  private own(doc: CallDoc): void {
    this.owned.delete(doc._id);
    this.owned.set(doc._id, doc);
    if (this.owned.size > OWNED_CALLS) this.owned.delete(this.owned.keys().next().value as string);
  }

  /** Inserts new call documents; returns the ids that were already stored (left as they were). */
  private async insertCalls(docs: CallDoc[], between: () => Promise<void>): Promise<string[]> {
    const existing: string[] = [];
    for (let i = 0; i < docs.length; i += INSERT_SLICE) {
      const slice = docs.slice(i, i + INSERT_SLICE);
      try {
        await this.models.Call.db.collection<StoredCall>(this.models.Call.collection.collectionName).insertMany(slice.map(storedCall), { ordered: false });
      } catch (err) {
        for (const index of duplicatesOf(err)) existing.push((slice[index] as CallDoc)._id);
      }
      await between();
    }
    return existing;
  }

  /**
   * Applies observations grouped by call (already validated), a whole Kafka batch at once: each
   * touched call's contributions are recomputed in memory from all its observations, and the ledger
   * documents are written once per batch, `between` (a heartbeat) running after every slice.
   *
   * Reads: none for a call this copy stored since it joined the group (`owned`), none for a call
   * whose first event (sequence 1) is in the batch — it is inserted whole before its ledger entries
   * are written, and an insert never overwrites; a call that turns out to be stored already (the
   * batch redelivered after a crash, a republished first event) is read and its entries written
   * whole, which repairs whatever an interrupted attempt left. Other calls are read by `_id`.
   * Order, for known calls: ledgers first, then the call; a crash between leaves the call as it was,
   * and the redelivered batch sets the same contributions again.
   */
  async apply(byCall: Map<string, Observation[]>, between: () => Promise<void> = async () => undefined): Promise<BatchResult> {
    try {
      return await this.applyBatch(byCall, between);
    } catch (err) {
      // What was written is not known: read these calls, and the totals, again next time.
      for (const callId of byCall.keys()) this.owned.delete(callId);
      this.forgetTotals();
      throw err;
    }
  }

  private async applyBatch(byCall: Map<string, Observation[]>, between: () => Promise<void>): Promise<BatchResult> {
    const before = new Map<string, CallDoc>();
    const starting = new Set<string>();
    const unknown: string[] = [];
    for (const [callId, incoming] of byCall) {
      const own = this.owned.get(callId);
      if (own) before.set(callId, own);
      else if (incoming.some((o) => o.seq === 1)) starting.add(callId);
      else unknown.push(callId);
    }
    for (const [callId, doc] of await this.loadCalls(unknown)) before.set(callId, doc);
    if (unknown.length > 0) await between();

    const inserts = [...starting].map((callId): CallDoc => {
      const obs = mergeObservations([], byCall.get(callId) ?? []);
      return { _id: callId, obs, scopes: this.scopesOf((obs[0] as Observation).origin) };
    });
    const rewrite = new Set(await this.insertCalls(inserts, between));
    for (const doc of inserts) if (!rewrite.has(doc._id)) this.storedEvents += doc.obs.length;
    for (const [callId, doc] of await this.loadCalls([...rewrite])) before.set(callId, doc);
    if (rewrite.size > 0) await between();

    const changes = new Map<string, Map<string, Vector | null>>();
    // Per changed ledger, what its totals and number of calls move by (null: rewritten whole, read again).
    const written = new Map<string, { delta: Vector; calls: number } | null>();
    const callWrites: Array<{ updateOne: { filter: { _id: string }; update: Record<string, unknown>; upsert: true } }> = [];
    const stored: CallDoc[] = [];
    let applied = 0;
    let updated = 0;
    for (const [callId, incoming] of byCall) {
      const doc = before.get(callId);
      const prior = doc?.obs ?? [];
      const merged = mergeObservations(prior, incoming);
      const whole = rewrite.has(callId);
      applied += merged.length - prior.length;
      if (merged.length === prior.length && !whole) continue;
      const scopes = doc?.scopes ?? this.scopesOf((merged[0] as Observation).origin);
      const old = contributions(prior, scopes, this.closing);
      const now = contributions(merged, scopes, this.closing);
      const key = callKey(callId);
      for (const ledgerId of new Set([...old.keys(), ...now.keys()])) {
        const next = now.get(ledgerId);
        if (!whole && sameVector(old.get(ledgerId), next)) continue;
        let perDoc = changes.get(ledgerId);
        if (!perDoc) changes.set(ledgerId, (perDoc = new Map<string, Vector | null>()));
        perDoc.set(key, next ?? null);
        if (written.get(ledgerId) !== null) {
          const change = whole ? null : (written.get(ledgerId) ?? { delta: {}, calls: 0 });
          if (change) {
            const before = old.get(ledgerId);
            addInto(addInto(change.delta, next ?? {}), negated(before ?? {}));
            change.calls += (next ? 1 : 0) - (before ? 1 : 0);
          }
          written.set(ledgerId, change);
        }
      }
      // A call inserted above is stored already; a known one is written after its ledger entries.
      if (doc && merged.length > prior.length) updated += merged.length - prior.length;
      if (doc && merged.length > prior.length) callWrites.push({ updateOne: { filter: { _id: callId }, update: { $set: { obs: JSON.stringify(merged), scopes } }, upsert: true } });
      stored.push({ _id: callId, obs: merged, scopes });
    }
    if (changes.size > 0) {
      const now = new Date();
      const ops = [...changes].map(([ledgerId, perDoc]) => ({
        updateOne: {
          filter: { _id: ledgerId },
          update: { $push: { chunks: encodeChunk(perDoc) }, $inc: { appended: 1 }, $set: { updatedAt: now } },
          upsert: true,
        },
      }));
      // Counted, and marked until the totals are adjusted: a read of these ledgers overlapping the writes is not kept.
      for (const id of changes.keys()) {
        this.ledgerChanges.set(id, (this.ledgerChanges.get(id) ?? 0) + 1);
        this.ledgerWriting.set(id, (this.ledgerWriting.get(id) ?? 0) + 1);
      }
      try {
        await inSlices(ops, async (slice) => {
          await this.models.Ledger.bulkWrite(slice, { ordered: false });
          await between();
        });
        this.adjustTotals(written, now);
      } finally {
        for (const id of changes.keys()) {
          const writing = (this.ledgerWriting.get(id) ?? 1) - 1;
          if (writing > 0) this.ledgerWriting.set(id, writing);
          else this.ledgerWriting.delete(id);
        }
      }
      await this.compactLong([...changes.keys()]);
      await this.refreshRanks([...changes.keys()].filter((id) => id.startsWith('perf|')), now);
      await between();
    }
    await inSlices(callWrites, async (slice) => {
      await this.models.Call.bulkWrite(slice, { ordered: false });
      await between();
    });
    this.storedEvents += updated;
    for (const doc of stored) {
      this.own(doc);
      this.recent.delete(`call|${doc._id}`);
    }
    for (const ledgerId of changes.keys()) this.recent.delete(`totals|${ledgerId}`);
    return { applied, changed: [...changes.keys()] };
  }
}
