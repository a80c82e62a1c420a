// Applies decisions to stored calls. Every change is one atomic update of the call's own document,
// conditional on the version the decision was made from: the new fields, a timeline entry and the
// event (outbox) land together or not at all. A lost race is decided again on the fresh document, and
// becomes CONFLICT when the call has moved on. Idempotency keys make retried requests harmless.
import { createHash, randomUUID } from 'node:crypto';
import type { Identity } from '../../platform/auth.ts';
import { errorCode, userError } from '../../platform/errors.ts';
import { duplicatesOf } from '../../platform/mongo.ts';
import type { OutboxPublisher } from '../../platform/outbox.ts';
import { scrubText } from '../../platform/personal-data.ts';
import { currentTraceparent } from '../../platform/trace.ts';
import { canSee } from './access.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import type { CallableItems } from './items.ts';
import type { CallIndex } from './call-index.ts';
import { FINAL_STATUSES } from './call-history.ts';
import {
  actorOf,
  type CallAction,
  type DecisionContext,
  decide,
  followMergeTarget,
  LIMITS,
  requireAttachments,
  requireText,
  type Transition,
} from './lifecycle.ts';
import type { ActorRef, CallDoc, CallSource, CallsModels, OutboxEvent, Priority } from './model.ts';
import { firstEntry, nextEntry } from './timeline-chain.ts';

export interface CallRules {
  directory: UnitDirectory;
  items: CallableItems;
  deadlinesFor: DecisionContext['deadlinesFor'];
  addWorkingDays: DecisionContext['addWorkingDays'];
  workingDaysBetween: DecisionContext['workingDaysBetween'];
  /** When supervision must next look at a call (earliest warning share or deadline of an open step). */
  nextCheckAt: (call: CallDoc) => Date | undefined;
  now?: () => Date;
}

export interface NewCall {
  title: string;
  description: string;
  itemCode?: string;
  category?: string;
  priority: Priority;
  source: CallSource;
  sourceRef?: { system: string; externalId: string };
  originUnitId: string;
  location?: { lng: number; lat: number };
  address?: string;
  citizen?: { name?: string; phone?: string };
  /** Personal data sealed by the source's connector (intake command `call.personal`), kept as it came. */
  personal?: string;
  identityProtected?: boolean;
  attachments?: string[];
  raisedBy: ActorRef;
  /** Enterprise service officers who follow the call (an enterprise demand's officer). */
  followers?: string[];
  /** When the source received it (12345 receipt time); defaults to now. */
  raisedAt?: Date;
  /**
   * A completion deadline set by the source (a 12345 work order's or a 信访 step's statutory limit):
   * the call's completion deadline and its outer bound through every hand-off.
   */
  completeBy?: Date;
  /** Notes the source's count carried (a year counted without official holiday data, a missing type). */
  deadlineNotes?: string[];
  /**
   * The unit that decides it, when not the origin (a 信访 复查 / 复核 goes one level above the unit
   * complained about): the call starts dispatched there.
   */
  assignTo?: string;
}

const RETRIES = 5;

/** A call id that the same idempotency key (or source record) always maps to. */
export function stableCallId(seed: string): string {
  return `C${createHash('sha256').update(seed).digest('hex').slice(0, 20).toUpperCase()}`;
}

/**
 * The published form of a call event (schemas/events/call-event.schema.json). The snapshot of the call
 * after the change was taken when the event was written, so late publishing never shows a newer state.
 */
export function callEventEnvelope(callId: string, event: OutboxEvent) {
  const { call, actor, ...data } = event.data;
  return {
    eventId: event.eventId,
    type: event.type,
    callId,
    sequence: event.sequence,
    occurredAt: new Date(event.occurredAt).toISOString(),
    actor: actor ?? null,
    call,
    data,
  };
}

/** The 12345 call-backs in a call event: how many, and the latest one's answers (no comment: it may name people). */
function callbackSnapshot(call: CallDoc) {
  const last = call.callbacks?.at(-1);
  if (!last) return {};
  return {
    callbackCount: call.callbacks?.length ?? 0,
    callback: { at: new Date(last.at).toISOString(), contacted: last.contacted, resolved: last.resolved, satisfaction: last.satisfaction },
  };
}

export function callSnapshot(call: CallDoc) {
  const iso = (d?: Date) => (d ? new Date(d).toISOString() : null);
  return {
    title: scrubText(call.title),
    status: call.status,
    tier: call.tier,
    category: call.category,
    itemCode: call.itemCode ?? null,
    priority: call.priority,
    source: call.source,
    sourceRef: call.sourceRef ?? null,
    originUnitId: call.originUnitId,
    handlingUnitId: call.handlingUnitId,
    callerUnitId: call.callerUnitId ?? null,
    coHandlingUnitIds: call.coHandlingUnitIds,
    raisedAt: iso(call.raisedAt),
    assignedAt: iso(call.assignedAt),
    deadlines: {
      sign: iso(call.deadlines.sign),
      respond: iso(call.deadlines.respond),
      complete: iso(call.deadlines.complete),
      limit: iso(call.deadlines.limit),
      policyVersion: call.deadlines.policyVersion ?? null,
    },
    signedAt: iso(call.signedAt),
    respondedAt: iso(call.respondedAt),
    completedAt: iso(call.completedAt),
    closedAt: iso(call.closedAt),
    overdueSteps: call.overdueSteps,
    result: call.result ? scrubText(call.result) : null,
    rating: call.rating ? { stars: call.rating.stars, satisfaction: call.rating.satisfaction } : null,
    ...callbackSnapshot(call),
    reopenCount: call.reopenCount,
    urgeCount: call.urgeCount,
    supervisionCount: call.supervisionCount,
    escalated: call.escalated,
    reachedDepartment: call.reachedDepartment,
    mergedInto: call.mergedInto ?? null,
    location: call.location ?? null,
  };
}

/**
 * New calls one insert takes (createMany). Inserts are outside FerretDB's statement limit (updates
 * and deletes, platform/mongo.ts BULK_SLICE), and a larger insert costs less a document: on this
 * machine 0.84 ms a call in inserts of 50, 0.45 ms in inserts of 1,000 (bench:scale's FerretDB log).
 * Intake's runs are this long.
 */
export const INSERT_SLICE = 250;

/** What batch writes need of the calls' outbox publisher (platform/outbox.ts). */
export type BatchOutbox = Pick<OutboxPublisher<CallDoc>, 'newLease' | 'publishInserted'>;

export class CallStore {
  constructor(
    private readonly models: CallsModels,
    private readonly rules: CallRules,
    /** Told about every call that changed (the outbox publisher publishes at once). */
    private readonly onChanged: (id: string) => void = () => undefined,
    /** The in-memory copy lists read: kept current by every write here, before it returns. */
    private readonly index?: CallIndex,
    /** Publishes what `createMany` stored, in one send; without it each new call is told to `onChanged`. */
    private readonly outbox?: BatchOutbox,
  ) {}

  /**
   * The same store on another clock (demo data with a history); changes are left to the outbox sweep,
   * which finds them in the index (it asks memory, not the database).
   */
  withClock(now: () => Date): CallStore {
    return new CallStore(this.models, { ...this.rules, now }, () => undefined, this.index);
  }

  private now(): Date {
    return this.rules.now?.() ?? new Date();
  }

  private context(identity: Identity): DecisionContext {
    return {
      now: this.now(),
      identity,
      directory: this.rules.directory,
      items: this.rules.items,
      deadlinesFor: this.rules.deadlinesFor,
      addWorkingDays: this.rules.addWorkingDays,
      workingDaysBetween: this.rules.workingDaysBetween,
    };
  }

  async get(id: string): Promise<CallDoc | null> {
    return this.models.Call.findById(id).lean<CallDoc>();
  }

  /** The call if it exists and the identity may see it; NOT_FOUND otherwise (never reveal others' calls). */
  async visible(id: string, identity: Identity): Promise<CallDoc> {
    const call = await this.get(id);
    if (!call || !canSee(identity, call, this.rules.directory)) {
      throw userError('NOT_FOUND', `事项不存在或无权查看：${id} (no such call)`, { callId: id });
    }
    return call;
  }

  /** Creates a call. With `id` given (idempotency key, source record), a repeat returns the first. */
  async create(draft: NewCall, id?: string): Promise<{ call: CallDoc; created: boolean }> {
    const call = this.draft(draft, id);
    try {
      // Live before stored: a crash in between leaves an id the next start skips, never a lost call.
      await this.index?.markLive([call._id]);
      await this.models.Call.create(call);
    } catch (err) {
      if ((err as { code?: number }).code === 11000) {
        const existing = await this.get(call._id);
        if (existing) return { call: existing, created: false };
      }
      throw err;
    }
    this.index?.put(call);
    this.onChanged(call._id);
    return { call, created: true };
  }

  /**
   * Stores new calls (documents from `draft`, distinct ids, at most INSERT_SLICE) with one insert,
   * and publishes their events with one send (OutboxPublisher.publishInserted). A call
   * whose id is already stored (a repeat of its source record, a batch replayed after a crash) is
   * left as it is and returned as stored, with `created: false`, as `create` does. A call the schema
   * refuses (a fault in the draft, which intake dead-letters) is neither stored nor published: it is
   * returned in `refused` with the reason, and the rest are stored.
   */
  async createMany(calls: CallDoc[]): Promise<{ stored: Map<string, { call: CallDoc; created: boolean }>; refused: Map<string, Error> }> {
    if (calls.length > INSERT_SLICE) throw new Error(`createMany takes at most ${INSERT_SLICE} calls, got ${calls.length}`);
    // Leased to this copy's publisher from the start: the sweep leaves them to publishInserted below.
    const lease = this.outbox?.newLease();
    if (lease !== undefined) for (const call of calls) call.outboxLease = lease;
    const checks = await Promise.allSettled(calls.map((call) => this.validated(call)));
    const refused = new Map<string, Error>();
    const accepted: CallDoc[] = [];
    const docs: CallDoc[] = [];
    checks.forEach((check, i) => {
      if (check.status === 'fulfilled') {
        accepted.push(calls[i]!);
        docs.push(check.value);
      } else refused.set(calls[i]!._id, check.reason as Error);
    });
    const stored = new Map<string, { call: CallDoc; created: boolean }>();
    if (accepted.length === 0) return { stored, refused };
    // Live before stored: a crash in between leaves ids the next start skips, never a lost call.
    await this.index?.markLive(accepted.map((call) => call._id));
    const existing = new Set<string>();
    try {
      await this.models.Call.insertMany(docs, { ordered: false, lean: true });
    } catch (err) {
      for (const index of duplicatesOf(err)) existing.add(accepted[index]!._id);
    }
    for (const id of existing) {
      const call = await this.get(id);
      if (!call) throw new Error(`call ${id} reported as a duplicate but not found`);
      stored.set(id, { call, created: false });
      this.index?.put(call);
      // Published already, or left by a crash before publishing: the outbox finds out.
      this.onChanged(id);
    }
    const created = accepted.filter((call) => !existing.has(call._id));
    for (const call of created) {
      stored.set(call._id, { call, created: true });
      this.index?.put(call);
    }
    if (this.outbox) await this.outbox.publishInserted(created);
    else for (const call of created) this.onChanged(call._id);
    return { stored, refused };
  }

  /** A new call's document, checked against the rules, not yet stored. */
  draft(draft: NewCall, id?: string): CallDoc {
    const { directory, items } = this.rules;
    const title = requireText(draft.title, 'title', LIMITS.titleLength);
    const description = requireText(draft.description, 'description', LIMITS.textLength);
    const attachments = requireAttachments(draft.attachments);
    const origin = directory.require(draft.originUnitId);
    const tier = directory.tierOf(origin.id);
    if (tier !== 'GRID' && tier !== 'COMMUNITY' && tier !== 'STREET') {
      throw userError('BAD_USER_INPUT', `呼叫须由网格、社区或街道发起：${origin.name} (a call starts at a grid, community or street)`, {
        field: 'unitId',
      });
    }
    const item = draft.itemCode ? items.require(draft.itemCode) : undefined;
    const category = item?.category ?? draft.category;
    if (!category || !items.isCategory(category)) {
      throw userError('BAD_USER_INPUT', `类别无效：${category ?? '（空）'} (unknown category)`, { field: 'category' });
    }
    if (draft.location) validatePoint(draft.location);
    const now = this.now();
    // Clocks start at receipt (the source's receipt time, else now), never at the recording.
    const raisedAt = draft.raisedAt ?? now;
    const handler = draft.assignTo ? directory.require(draft.assignTo) : origin;
    const handlerTier = directory.tierOf(handler.id) ?? tier;
    const deadlines = this.rules.deadlinesFor(handlerTier, draft.priority, raisedAt, {
      notes: draft.deadlineNotes ?? [],
      limit: draft.completeBy,
    });
    // The source's own limit is the call's completion deadline (the tier's steps clamp inside it).
    if (draft.completeBy) deadlines.complete = draft.completeBy;
    const callId = id ?? stableCallId(randomUUID());
    const call: CallDoc = {
      _id: callId,
      title,
      description,
      itemCode: item?.code,
      category,
      priority: draft.priority,
      source: draft.source,
      sourceRef: draft.sourceRef,
      status: handler === origin ? 'RAISED' : 'DISPATCHED',
      tier: handlerTier,
      originUnitId: origin.id,
      handlingUnitId: handler.id,
      coHandlingUnitIds: [],
      visibleTo: [...new Set([...origin.path, ...handler.path])],
      location: draft.location,
      address: draft.address,
      citizen: draft.citizen,
      personal: draft.personal,
      identityProtected: draft.identityProtected ?? false,
      attachments,
      raisedBy: draft.raisedBy,
      followers: draft.followers ?? [],
      raisedAt,
      updatedAt: now,
      assignedAt: raisedAt,
      deadlines,
      overdueSteps: [],
      warnings: [],
      resultAttachments: [],
      reopenCount: 0,
      urgeCount: 0,
      supervisionCount: 0,
      escalated: false,
      mergedCallIds: [],
      reachedDepartment: false,
      timeline: [],
      outbox: [],
      outboxPending: true,
      publishedSeq: 0,
      appliedKeys: [],
      version: 1,
    };
    // Audit (#18): the timeline is a hash chain from the call's genesis (timeline-chain.ts).
    const first = firstEntry(callId, {
      at: now, action: 'raise', actor: draft.raisedBy, note: undefined, attachments, toUnitId: handler.id, status: call.status,
    });
    call.timeline = [first.entry];
    Object.assign(call, first.head);
    call.nextCheckAt = this.rules.nextCheckAt(call);
    call.outbox = [
      {
        eventId: randomUUID(),
        ...traced(),
        type: 'call.raised',
        sequence: 1,
        occurredAt: now,
        data: { actor: draft.raisedBy, call: callSnapshot(call), timelineEntry: first.ref },
      },
    ];
    return call;
  }

  /**
   * An action applied in memory only, by the same rules and with the same record and event as `act`
   * would write: demo data is built this way and stored in bulk, since one update at a time is slow
   * on FerretDB. Not for calls others may be changing.
   */
  simulate(call: CallDoc, action: CallAction, identity: Identity): CallDoc {
    return this.updateFor(call, decide(call, action, this.context(identity)), actorOf(identity)).next;
  }

  /** Stores new calls in one bulk write (demo data). */
  async insertMany(calls: CallDoc[]): Promise<void> {
    await this.index?.markLive(calls.map((call) => call._id));
    await this.models.Call.insertMany(await Promise.all(calls.map((call) => this.validated(call))), { ordered: false, lean: true });
    for (const call of calls) this.index?.put(call);
  }

  /**
   * A new call as the schema stores it (defaults applied, values cast), checked against it; an insert
   * of such skips mongoose's documents (`lean`). Stored exactly as a document would be (tested), at
   * about two thirds of the service's CPU an insert. Refused with the schema's reason, naming the call
   * (mongoose's unordered insert would skip a refused document silently and report the rest).
   */
  private async validated(call: CallDoc): Promise<CallDoc> {
    const { Call } = this.models;
    return Call.validate(Call.applyDefaults({ ...call })).catch((err: Error & { errors?: Record<string, { kind?: string }> }) => {
      // The paths and kinds only: a refused value may be personal, and the reason goes on a dead letter.
      const where = Object.entries(err.errors ?? {}).map(([path, e]) => `${path} (${e.kind ?? 'invalid'})`);
      throw new Error(`call ${call._id} does not fit the calls schema: ${where.join(', ') || err.name}`);
    });
  }

  /**
   * Takes an action on a call for a person. `key` (idempotency) makes a retried request return the
   * call as the first one left it; `expectedVersion` refuses to act on a call that has changed since.
   */
  async act(
    id: string,
    action: CallAction,
    identity: Identity,
    options: { key?: string; expectedVersion?: number } = {},
  ): Promise<CallDoc> {
    const appliedKey = options.key ? `${identity.subject}:${options.key}` : undefined;
    if (action.kind === 'merge') action = { ...action, target: await this.mergeTarget(id, action.intoId, identity) };
    const changed = await this.transact(
      id,
      (call) => {
        if (!canSee(identity, call, this.rules.directory)) {
          throw userError('NOT_FOUND', `事项不存在或无权查看：${id} (no such call)`, { callId: id });
        }
        if (options.expectedVersion !== undefined && call.version !== options.expectedVersion) {
          throw userError('CONFLICT', `事项已被更新（当前版本 ${call.version}），请刷新后重试 (the call changed)`, {
            version: call.version,
          });
        }
        // After a lost race the rules see the fresh call: an action it no longer allows is a CONFLICT.
        return decide(call, action, this.context(identity));
      },
      { actor: actorOf(identity), appliedKey },
    );
    if (action.kind === 'merge' && changed.mergedInto) await this.linkMerged(changed.mergedInto, id);
    await this.followThrough(changed);
    return changed;
  }

  /**
   * A change made by the hub itself (supervision, intake updates). `build` returns undefined when
   * there is nothing to do any more (another copy did it first): then nothing is written.
   */
  async system(
    id: string,
    build: (call: CallDoc) => Transition | undefined,
    options: { appliedKey?: string } = {},
  ): Promise<CallDoc | null> {
    try {
      const changed = await this.transact(id, build, { actor: SYSTEM, appliedKey: options.appliedKey });
      await this.followThrough(changed);
      return changed;
    } catch (err) {
      if (errorCode(err) === 'NOT_FOUND') return null;
      throw err;
    }
  }

  private async transact(
    id: string,
    decideOn: (call: CallDoc) => Transition | undefined,
    { actor, appliedKey }: { actor: ActorRef; appliedKey?: string },
  ): Promise<CallDoc> {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      // The timeline and the outbox are only appended to: no decision needs them.
      const call = await this.models.Call.findById(id, { timeline: 0, outbox: 0 }).lean<CallDoc>();
      if (!call) throw userError('NOT_FOUND', `事项不存在：${id} (no such call)`, { callId: id });
      if (appliedKey && call.appliedKeys.includes(appliedKey)) return call;
      const transition = decideOn(call);
      if (!transition) return call;
      const { update, next } = this.updateFor(call, transition, actor, appliedKey);
      // A final call may have left memory for history: it changes again (reopened, followed, rated),
      // so it is live again, and the next archiving round lists it again as it now is. Marked first,
      // so that a crash after the update still finds it at the next start, and again after, in case
      // an archiving round took it out of the live set in between (CallIndex.archiveDue).
      const wasFinal = FINAL_STATUSES.includes(call.status);
      if (wasFinal) await this.index?.markLive([id]);
      const result = await this.models.Call.updateOne({ _id: id, version: call.version }, update);
      if (result.modifiedCount === 1) {
        if (wasFinal) await this.index?.markLive([id]);
        this.index?.put(next);
        this.onChanged(id);
        return next;
      }
    }
    throw userError('CONFLICT', '事项正被他人同时处理，请刷新后重试 (the call is being changed by someone else)', {
      callId: id,
    });
  }

  private updateFor(call: CallDoc, transition: Transition, actor: ActorRef, appliedKey?: string) {
    const now = this.now();
    const version = call.version + 1;
    const next: CallDoc = { ...call, ...transition.set, version, updatedAt: now };
    for (const field of transition.unset ?? []) delete next[field];
    // Audit (#18): the entry links to the call's timeline head; its event names its position and hash.
    const chained = nextEntry(call, { ...transition.entry, at: now, status: next.status });
    const entry = chained?.entry ?? { ...transition.entry, at: now, status: next.status };
    if (chained) Object.assign(next, chained.head);
    next.nextCheckAt = this.rules.nextCheckAt(next);
    const event: OutboxEvent = {
      eventId: randomUUID(),
      ...traced(),
      type: transition.event.type,
      sequence: version,
      occurredAt: now,
      data: { ...(transition.event.data ?? {}), actor: entry.actor ?? actor, call: callSnapshot(next), ...(chained && { timelineEntry: chained.ref }) },
    };
    // Appended in memory only when the caller had them (simulate); a stored call's are loaded on demand.
    if (call.timeline) next.timeline = [...call.timeline, entry];
    if (call.outbox) next.outbox = [...call.outbox, event];
    next.outboxPending = true;
    if (appliedKey) next.appliedKeys = [...call.appliedKeys, appliedKey];

    const $set: Record<string, unknown> = { ...transition.set, ...chained?.head, version, updatedAt: now, outboxPending: true };
    const $unset: Record<string, 1> = {};
    for (const field of transition.unset ?? []) $unset[field] = 1;
    if (next.nextCheckAt) $set.nextCheckAt = next.nextCheckAt;
    else $unset.nextCheckAt = 1;
    const $push: Record<string, unknown> = { timeline: entry, outbox: event };
    if (appliedKey) $push.appliedKeys = appliedKey;
    const update: Record<string, unknown> = { $set, $push };
    if (Object.keys($unset).length > 0) update.$unset = $unset;
    return { update, next };
  }

  /**
   * The call a merge into `intoId` joins: the end of the chain it starts (a call merged into a merged
   * call joins what that one joined). NOT_FOUND for a target the identity may not see.
   */
  private async mergeTarget(id: string, intoId: string, identity: Identity): Promise<CallDoc> {
    let target = await this.visible(intoId, identity);
    for (let hops = 0; target.status === 'MERGED' && target.mergedInto; hops++) {
      if (target._id === id || hops >= MAX_MERGE_CHAIN) break;
      const next = await this.get(target.mergedInto);
      if (!next) break;
      target = next;
    }
    if (target._id === id) throw userError('BAD_USER_INPUT', '不能并入自身或相互并单 (circular merge)');
    if (target.status === 'MERGED' || target.status === 'WITHDRAWN' || target.status === 'CLOSED') {
      throw userError('CONFLICT', `目标事项 ${target._id} 已${target.status === 'WITHDRAWN' ? '撤回' : '办结'}，不能并入 (target is not open)`);
    }
    return target;
  }

  private async linkMerged(intoId: string, mergedId: string): Promise<void> {
    await this.system(intoId, (target) =>
      target.mergedCallIds.includes(mergedId)
        ? undefined
        : {
            set: { mergedCallIds: [...target.mergedCallIds, mergedId] },
            entry: { action: 'merge_received', note: mergedId, attachments: [] },
            event: { type: 'call.merge_received', data: { mergedId } },
          },
    );
  }

  /**
   * Calls merged into a call follow it to its end: closed with it, or back to life when it is
   * withdrawn. Each change goes through `system`, so a chain X→Y→Z follows Z all the way to X.
   */
  private async followThrough(target: CallDoc): Promise<void> {
    if (target.status !== 'CLOSED' && target.status !== 'WITHDRAWN') return;
    for (const mergedId of target.mergedCallIds) {
      await this.system(mergedId, (merged) => followMergeTarget(merged, target, this.now()));
    }
  }
}

/** How many merges deep a chain is followed (a guard: chains are resolved at merge time, so they stay short). */
const MAX_MERGE_CHAIN = 20;

/** The trace of the work in progress, for an event's Kafka headers. */
function traced(): { traceparent?: string } {
  const traceparent = currentTraceparent();
  return traceparent ? { traceparent } : {};
}

export const SYSTEM: ActorRef = { subject: 'huying', unitId: 'huying', role: 'system' };

export function validatePoint(point: { lng: number; lat: number }): void {
  const { lng, lat } = point;
  if (!Number.isFinite(lng) || !Number.isFinite(lat) || lng < -180 || lng > 180 || lat < -90 || lat > 90) {
    throw userError('BAD_USER_INPUT', `坐标无效：${lng}, ${lat} (invalid coordinates)`, { field: 'location' });
  }
  // Guangzhou lies near 113°E, 23°N: a point the other way round is almost surely swapped.
  if (lng < 60 && lat > 60) {
    throw userError('BAD_USER_INPUT', `坐标的经纬度可能颠倒：${lng}, ${lat} (longitude and latitude swapped?)`, {
      field: 'location',
    });
  }
}
