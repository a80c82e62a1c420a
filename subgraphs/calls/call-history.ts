// The index documents through which the calls service reads its history by `_id` alone. FerretDB
// serves a filter from an index only when it is exactly `{_id}`, so every question about calls that
// are no longer in memory (call-index.ts keeps only live ones) is answered from documents the hub
// writes itself, each read by its `_id`:
//
// - `live|<shard>`: the ids of the calls in the live set (open, or closed within the recent window);
//   a call is added when raised (or when a closed call changes again), a batch of them to one shard
//   with one write, and removed (from every shard) once archived.
//   Start-up reads these LIVE_SHARDS documents and then each live call by `_id`: start-up grows with
//   open work, not with history.
// - `day|<key>|<YYYY-MM-DD>`: the archived calls raised that day (China Standard Time) that `key` may
//   list: every unit in the call's `visibleTo` (its origin's ancestors and every unit it was assigned
//   to), and `p:<subject>` for the person who raised it and each follower. Each entry is
//   `id~raisedAtMs~flags~version` (flags: status, origin tier, reached a department, rating), enough
//   for counters without reading the call; lists read each call's copy (below) by `_id`. Entries are
//   appended in chunks (one string per archiving round); a repeated or later archiving of the same
//   call appends again, and readers keep each call's highest version, so archiving is idempotent.
// - `call|<id>`: an archived call as lists read it (without INDEX_PROJECTION's fields), as one BSON
//   value, with its version: written by the archiving round before the day entries that list the call,
//   which then carry a flag (`copied`) so a list reads the copy instead of the call. FerretDB's cost
//   to read a document follows its fields: a call's ~44 took 1.7–2.7 ms a read, 77–102 ms for each
//   of four pages of 20 read at once; the copy, one field, 0.8–1.0 ms and 28–36 ms
//   (docs/performance.md). Days written before copies existed list calls without the flag: those are
//   read from the calls.
// - `first|<key>`: the earliest day with history for a key, so a list knows where to stop, and how
//   many archiving rounds have written into each of its days (`writes`): a copy keeps the day
//   documents it read for as long as that number stands, and reads a day again only once it moved.
//
// On MongoDB the same documents serve the same reads; the Call collection declares real indexes as
// well (model.ts), for anyone querying it directly.
import { LRUCache } from 'lru-cache';
import { eachLimited, groupBy, inSlices } from '../../platform/mongo.ts';
import { type Connection, type Model, mongo, Schema } from 'mongoose';
import { CALL_STATUSES } from '../../platform/call-event.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import { type CallDoc, type CallStatus, INDEX_PROJECTION, TIERS, type Tier } from './model.ts';

/** How many documents hold the live set (each a few hundred ids at a district's open work). */
export const LIVE_SHARDS = 32;
/** The most ids one live-set write adds to one shard. */
const LIVE_WRITE_MAX = 1_000;
/** Calls that reached one of these are final: after the recent window they leave memory. */
export const FINAL_STATUSES: readonly CallStatus[] = ['CLOSED', 'WITHDRAWN'];
const CST_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
/** How long a copy trusts what it read of a key's first day of history. */
export const FIRST_DAY_TTL_MS = 60_000;
/**
 * Entries of day documents a copy keeps decoded after reading them for lists and counters (each day
 * until an archiving round writes into it, or until it is the least recently used): a district's
 * month is about 55,000 at a 2,000,000-call district's rate; an entry takes about 150 bytes.
 */
export const DAY_ENTRIES_KEPT = 400_000;
/** The collection's one bookkeeping document: present once the live set is complete (see CallIndex.load). */
export const META_ID = 'meta';

interface HistoryDoc {
  _id: string;
  ids?: string[];
  chunks?: string[];
  day?: string;
  /** Archiving rounds that wrote into each day of a key (`first|<key>` only; absent: none since the history was written). */
  writes?: Record<string, number>;
  liveSetSince?: Date;
  /** `call|<id>` only: the archived call (BSON) and its version. */
  copy?: mongo.Binary;
  version?: number;
}

const historySchema = new Schema<HistoryDoc>(
  {
    _id: String,
    ids: { type: [String], default: undefined },
    chunks: { type: [String], default: undefined },
    day: String,
    writes: { type: Schema.Types.Mixed, default: undefined },
    liveSetSince: Date,
    copy: Buffer,
    version: Number,
  },
  { versionKey: false, collection: 'call_history' },
);

/** An archived call as a day document lists it. */
export interface HistoryEntry {
  id: string;
  raisedAt: number;
  status: CallStatus;
  originTier?: Tier;
  reachedDepartment: boolean;
  satisfaction?: 'VERY_SATISFIED' | 'SATISFIED' | 'BASIC' | 'UNSATISFIED';
  version: number;
  /** Its copy (`call|<id>`) was written before this entry. */
  copied: boolean;
}

const SATISFACTIONS = ['VERY_SATISFIED', 'SATISFIED', 'BASIC', 'UNSATISFIED'] as const;

/** The calendar day (China Standard Time) of an instant, as YYYY-MM-DD. */
export function dayOf(ms: number): string {
  return new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 10);
}

/** The day before `day`. */
export function previousDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - DAY_MS).toISOString().slice(0, 10);
}

/** A day's entry for an archived call; `copied` once its copy (`archivedCopy`) is written. */
export function encodeEntry(call: CallDoc, directory: UnitDirectory, copied: boolean): string {
  const tier = directory.tierOf(call.originUnitId);
  const satisfaction = call.rating?.satisfaction;
  const flags =
    CALL_STATUSES.indexOf(call.status) |
    ((tier ? TIERS.indexOf(tier) + 1 : 0) << 4) |
    ((call.reachedDepartment ? 1 : 0) << 7) |
    ((satisfaction ? SATISFACTIONS.indexOf(satisfaction) + 1 : 0) << 8) |
    ((copied ? 1 : 0) << 11);
  return `${call._id}~${new Date(call.raisedAt).getTime()}~${flags}~${call.version}`;
}

export function decodeEntry(text: string): HistoryEntry {
  const [id = '', at = '0', flagText = '0', version = '0'] = text.split('~');
  const flags = Number(flagText);
  const tier = (flags >> 4) & 7;
  const satisfaction = (flags >> 8) & 7;
  return {
    id,
    raisedAt: Number(at),
    status: CALL_STATUSES[flags & 15] as CallStatus,
    originTier: tier ? TIERS[tier - 1] : undefined,
    reachedDepartment: ((flags >> 7) & 1) === 1,
    satisfaction: satisfaction ? SATISFACTIONS[satisfaction - 1] : undefined,
    version: Number(version),
    copied: ((flags >> 11) & 1) === 1,
  };
}

/** The `call|<id>` document of an archived call: the call as lists read it, as one BSON value. */
export function archivedCopy(call: CallDoc): { _id: string; version: number; copy: Buffer } {
  const listed = Object.fromEntries(Object.entries(call).filter(([field]) => !(field in INDEX_PROJECTION)));
  // A field left undefined is stored as null, as the driver stores it in the call (its default).
  return { _id: `call|${call._id}`, version: call.version, copy: Buffer.from(mongo.BSON.serialize(listed, { ignoreUndefined: false })) };
}

/** The keys whose lists hold a call: its units and the people it belongs to. */
export function historyKeysOf(call: CallDoc): string[] {
  return [
    ...new Set([
      ...call.visibleTo,
      call.handlingUnitId,
      ...call.coHandlingUnitIds,
      `p:${call.raisedBy.subject}`,
      ...call.followers.map((subject) => `p:${subject}`),
    ]),
  ];
}

/** The history key of a person's own calls (raised or followed). */
export const personKey = (subject: string) => `p:${subject}`;

function shardOf(id: string): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash % LIVE_SHARDS;
}

export class CallHistory {
  private readonly firstDays = new Map<string, { day: string | undefined; readAt: number; writes: Record<string, number> }>();
  /**
   * Day documents read, decoded, with the number of archiving rounds that had written into the day
   * when it was read: every list page and counter that reaches into history reads the same days, and
   * a past day rarely changes. Used while `first|<key>` (read again every FIRST_DAY_TTL_MS) still
   * gives that number; this copy's archiving adds what it writes to a kept day (or drops it, see archive).
   */
  private readonly days = new LRUCache<string, { entries: HistoryEntry[]; writes: number }>({
    maxSize: DAY_ENTRIES_KEPT,
    sizeCalculation: (kept) => Math.max(1, kept.entries.length),
  });
  /** Day documents being read: a burst of requests for the same days (a dashboard's first counters) reads each once. */
  private readonly reading = new Map<string, { writes: number; read: Promise<readonly HistoryEntry[]> }>();
  /** Archiving rounds running and finished: a day read while one ran is not kept (it may predate its write). */
  private readonly archiving = { running: 0, finished: 0 };

  constructor(
    readonly model: Model<HistoryDoc>,
    private readonly directory: UnitDirectory,
  ) {}

  static on(conn: Connection, directory: UnitDirectory): CallHistory {
    return new CallHistory(conn.models.CallHistory ?? conn.model<HistoryDoc>('CallHistory', historySchema), directory);
  }

  /**
   * Adds ids to the live set with one write (up to LIVE_WRITE_MAX): all of them to one shard (the
   * first id's), so a batch of new calls costs one statement, not one for each shard its ids hash
   * to. An id may so be in more than one shard (marked again later); removal takes it out of all.
   */
  async markLive(ids: readonly string[]): Promise<void> {
    // A large set (a generated history, a migration) goes in parts, spread over the shards.
    for (let i = 0; i < ids.length; i += LIVE_WRITE_MAX) {
      const part = ids.slice(i, i + LIVE_WRITE_MAX);
      await this.model.updateOne({ _id: `live|${shardOf(part[0] as string)}` }, { $addToSet: { ids: { $each: part } } }, { upsert: true });
    }
  }

  private async unmarkLive(ids: readonly string[]): Promise<void> {
    await Promise.all(Array.from({ length: LIVE_SHARDS }, (_, shard) => this.model.updateOne({ _id: `live|${shard}` }, { $pullAll: { ids: [...ids] } })));
  }

  /** Every id in the live set. */
  async liveIds(): Promise<string[]> {
    const docs = await Promise.all(Array.from({ length: LIVE_SHARDS }, (_, shard) => this.model.findById(`live|${shard}`).lean<HistoryDoc>()));
    return [...new Set(docs.flatMap((doc) => doc?.ids ?? []))];
  }

  /** When the live set was first made complete (undefined: never, the collection predates it). */
  async liveSetSince(): Promise<Date | undefined> {
    return (await this.model.findById(META_ID).lean<HistoryDoc>())?.liveSetSince ?? undefined;
  }

  async recordLiveSetComplete(): Promise<void> {
    await this.model.updateOne({ _id: META_ID }, { $setOnInsert: { liveSetSince: new Date() } }, { upsert: true });
  }

  /**
   * Writes final calls into the day documents of every key that lists them, then takes them out of
   * the live set. Idempotent: a crash in between leaves them live, and the next round writes them again.
   */
  async archive(calls: readonly CallDoc[]): Promise<void> {
    if (calls.length === 0) return;
    // The copies before the entries that say they are there.
    await inSlices(
      calls.map((call) => {
        const { _id, ...fields } = archivedCopy(call);
        return { updateOne: { filter: { _id }, update: { $set: fields }, upsert: true } };
      }),
      (slice) => this.model.bulkWrite(slice, { ordered: false }),
    );
    const rows = calls.flatMap((call) => {
      const entry = encodeEntry(call, this.directory, true);
      const day = dayOf(new Date(call.raisedAt).getTime());
      return historyKeysOf(call).map((key) => ({ key, day, entry }));
    });
    const byDoc = groupBy(rows, (row) => `day|${row.key}|${row.day}`);
    // The days kept before this round's writes: brought up to date below rather than read again.
    const keptBefore = new Map([...byDoc.keys()].map((docId) => [docId, this.days.get(docId)]));
    // Kept days are brought up to date only by a round that ran alone (one at a time, as the
    // archiver runs them): a count one past the kept one could otherwise be another round's of this copy.
    const finishedBefore = this.archiving.running === 0 ? this.archiving.finished : undefined;
    this.archiving.running++;
    try {
      await eachLimited([...byDoc], 16, ([docId, group]) =>
        this.model.updateOne({ _id: docId }, { $push: { chunks: group.map((row) => row.entry).join(' ') } }, { upsert: true }),
      );
    } finally {
      // A read begun before these writes is neither kept nor joined by a later request.
      for (const docId of byDoc.keys()) {
        this.days.delete(docId);
        this.reading.delete(docId);
      }
      this.archiving.running--;
      this.archiving.finished++;
    }
    // After the day documents: a copy that sees the new count reads those days again.
    const daysOf = new Map([...groupBy(rows, (row) => row.key)].map(([key, group]) => [key, [...new Set(group.map((row) => row.day))].sort()]));
    const counted = await eachLimited([...daysOf], 16, async ([key, days]) => {
      const $inc = Object.fromEntries(days.map((day) => [`writes.${day}`, 1]));
      const first = await this.model
        .findOneAndUpdate({ _id: `first|${key}` }, { $min: { day: days[0] }, $inc }, { upsert: true, returnDocument: 'after' })
        .lean<HistoryDoc>();
      return { key, days, writes: first?.writes ?? {} };
    });
    const alone = finishedBefore !== undefined && this.archiving.running === 0 && this.archiving.finished === finishedBefore + 1;
    for (const { key, days, writes } of counted) {
      const known = this.firstDays.get(key);
      const earliest = days[0] as string;
      if (known && !(known.day !== undefined && known.day <= earliest)) known.day = earliest;
      for (const day of days) {
        // This round's increment made the count `count`. A day kept under `count - 1` held at least
        // the rounds counted before it, so with this round's entries it holds at least `count`: kept
        // under that, and remembered (a count read back, never added to, so it cannot overshoot what
        // the document holds). Another copy's round counted in between: the day is read again.
        const count = writes[day] ?? 0;
        const docId = `day|${key}|${day}`;
        const kept = keptBefore.get(docId);
        if (!alone || kept?.writes !== count - 1) continue;
        const added = (byDoc.get(docId) ?? []).map((row) => decodeEntry(row.entry));
        this.days.set(docId, { entries: latestOf([...kept.entries, ...added]), writes: count });
        if (known && (known.writes[day] ?? 0) < count) known.writes[day] = count;
      }
    }
    await this.unmarkLive(calls.map((call) => call._id));
  }

  /** An archived call from its copy, if the copy holds that version of it. */
  async copyOf(id: string, version: number): Promise<CallDoc | undefined> {
    const doc = await this.model.findById(`call|${id}`).lean<HistoryDoc>();
    return doc?.copy && doc.version === version ? (mongo.BSON.deserialize(doc.copy.buffer) as CallDoc) : undefined;
  }

  /**
   * The earliest day with history among `keys` (undefined: none). Remembered for FIRST_DAY_TTL_MS, so
   * a list over live calls only costs no read: this copy's own archiving updates what it remembers,
   * and another copy archives only calls this copy holds until its own round archives them too.
   */
  async firstDay(keys: readonly string[], now = Date.now()): Promise<string | undefined> {
    const days = await Promise.all(
      keys.map(async (key) => {
        const known = this.firstDays.get(key);
        if (known && now - known.readAt < FIRST_DAY_TTL_MS) return known.day;
        const doc = await this.model.findById(`first|${key}`).lean<HistoryDoc>();
        this.firstDays.set(key, { day: doc?.day ?? undefined, readAt: now, writes: doc?.writes ?? {} });
        return doc?.day ?? undefined;
      }),
    );
    const found = days.filter((day): day is string => day !== undefined);
    return found.length ? found.sort()[0] : undefined;
  }

  /**
   * The archived calls one day lists for any of `keys`: each call once, at its highest version.
   * Asked after `firstDay(keys)`, whose reading says which kept days still stand.
   */
  async day(keys: readonly string[], day: string): Promise<readonly HistoryEntry[]> {
    const lists = await Promise.all(keys.map((key) => this.dayDocument(`day|${key}|${day}`, this.firstDays.get(key)?.writes[day] ?? 0)));
    return lists.length === 1 ? (lists[0] as readonly HistoryEntry[]) : latestOf(lists.flat());
  }

  /** One day document's entries, each call once at its highest version (kept, see `days`). */
  private dayDocument(id: string, writes: number): Promise<readonly HistoryEntry[]> {
    const kept = this.days.get(id);
    if (kept?.writes === writes) return Promise.resolve(kept.entries);
    const inFlight = this.reading.get(id);
    if (inFlight?.writes === writes) return inFlight.read;
    const read = this.readDayDocument(id, writes).finally(() => {
      if (this.reading.get(id)?.read === read) this.reading.delete(id);
    });
    this.reading.set(id, { writes, read });
    return read;
  }

  /**
   * Reads a day document known to have had `writes` archiving rounds write into it (read before, so
   * what is read holds at least those) and keeps it under that number.
   */
  private async readDayDocument(id: string, writes: number): Promise<readonly HistoryEntry[]> {
    const { running, finished } = this.archiving;
    const doc = await this.model.findById(id).lean<HistoryDoc>();
    const entries = latestOf((doc?.chunks ?? []).flatMap((chunk) => chunk.split(' ').map(decodeEntry)));
    if (running === 0 && this.archiving.running === 0 && finished === this.archiving.finished) this.days.set(id, { entries, writes });
    return entries;
  }
}

/** Each call once, at its highest version (a call archived again is appended again). */
function latestOf(entries: readonly HistoryEntry[]): HistoryEntry[] {
  const latest = new Map<string, HistoryEntry>();
  for (const entry of entries) {
    const known = latest.get(entry.id);
    if (!known || known.version < entry.version) latest.set(entry.id, entry);
  }
  return [...latest.values()];
}

export { DAY_MS, CST_OFFSET_MS };
