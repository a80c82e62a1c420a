// The projection's rules, pure: a call's events become compact observations, and the set of a call's
// observations becomes its ledger — the facts it books against units and months — and its share of
// the dashboard counters.
//
// Replay-safe by construction: everything is a function of the SET of a call's observations (one per
// sequence number), folded in sequence order. A duplicated event adds nothing; events arriving out of
// order give the same ledger once all have arrived; replaying the topic into an empty database gives
// the same figures. Facts about an assignment (签收, 响应, 办结, 逾期) are read from the latest snapshot of
// that assignment, so the latest state wins (an extension that lifts an overdue step lifts its
// deduction). Counts that only grow (返工, 催办, 督办) and events that decide something (协调) are
// booked once, against the assignment current when they happened.
//
// Missed steps (DOMAIN.md "A step not taken is missed when its deadline passes"): supervision records
// a step past its deadline (call.urged, overdueSteps); from that snapshot on, a step not taken books
// as a missed sign / respond / complete (onTime false) in the month of its deadline, and a missed
// completion books an unrated satisfaction item (worth nothing): no dimension reads as perfect
// because nothing happened in it. Taking the step late later replaces the miss by the late step,
// which belongs to its deadline's month too and scores the same (after that month closed, the
// replacement nets to nothing in the current month); a missed completion's unrated item gives way
// once the call is completed, to the rating or call-back that follows.
//
// Grid and community (DOMAIN.md 琐事不出网格, 小事不出社区): what a grid or community handles is booked
// for the street that holds it — the street's score covers its subtree's calls, as the reports' street
// ranking does.
//
// 12345 call-backs (回访): each valid call-back is one item of the Beijing rates, with its own
// contacted / resolved / satisfied answers, against the unit handling the call when it arrives. A call
// that is not from the hotline has no call-back: its caller's verification (核查评价) stands in, with
// contacted = the handler responded and resolved = completed and rated ≥ 3 stars (default).
//
// Months (DOMAIN.md): a fact belongs to the month it happened in. It is booked there while that month
// is open at the time the event occurred; once the month has closed it is booked in the month the
// event occurred in, marked with the month it belongs to. A closed month is never rewritten: a fact
// that changes after its month closed stays there, and a correcting entry goes to the current month.
import type { Tier } from '../../../platform/unit-directory.ts';
import { type MonthClosing, type Period, periodOf } from './period.ts';
import type { CallEvent, CallStep } from '../../../platform/call-event.ts';

export type Step = CallStep;

/** What evaluation keeps of one event: unit ids, instants, counts and stars — no call details. */
export interface Observation {
  seq: number;
  type: string;
  at: string;
  status: string;
  tier: Tier;
  unit: string;
  caller: string | null;
  origin: string;
  raisedAt: string;
  assignedAt: string;
  due: { sign: string | null; respond: string | null; complete: string | null };
  signedAt: string | null;
  respondedAt: string | null;
  completedAt: string | null;
  overdue: Step[];
  stars: number | null;
  reopens: number;
  urges: number;
  supervisions: number;
  reached: boolean;
  /** The call's source (UNIT, HOTLINE, …): a hotline call's Beijing answers come from its call-backs. */
  source: string;
  /** 12345 call-backs recorded so far, and the latest one's answers. */
  callbacks: number;
  callback: CallbackAnswers | null;
  /** Only on call.adjudicated: the command centre's decision and the department that asked. */
  adjudication?: { decision: 'reassigned' | 'kept'; from: string };
}

export interface CallbackAnswers {
  contacted: boolean;
  resolved: boolean;
  satisfaction: 'VERY_SATISFIED' | 'SATISFIED' | 'BASIC' | 'UNSATISFIED';
}

const iso = (value: string | null | undefined): string | null => (value ? new Date(value).toISOString() : null);

export function observe(event: CallEvent): Observation {
  const c = event.call;
  const obs: Observation = {
    seq: event.sequence,
    type: event.type,
    at: new Date(event.occurredAt).toISOString(),
    status: c.status,
    tier: c.tier,
    unit: c.handlingUnitId,
    caller: c.callerUnitId ?? null,
    origin: c.originUnitId,
    raisedAt: new Date(c.raisedAt).toISOString(),
    assignedAt: iso(c.assignedAt) ?? new Date(c.raisedAt).toISOString(),
    due: { sign: iso(c.deadlines.sign), respond: iso(c.deadlines.respond), complete: iso(c.deadlines.complete) },
    signedAt: iso(c.signedAt),
    respondedAt: iso(c.respondedAt),
    completedAt: iso(c.completedAt),
    overdue: [...(c.overdueSteps ?? [])].sort(),
    stars: c.rating?.stars ?? null,
    reopens: c.reopenCount ?? 0,
    urges: c.urgeCount ?? 0,
    supervisions: c.supervisionCount ?? 0,
    reached: c.reachedDepartment ?? false,
    source: c.source,
    callbacks: c.callbackCount ?? 0,
    callback: c.callback ? { contacted: c.callback.contacted, resolved: c.callback.resolved, satisfaction: c.callback.satisfaction } : null,
  };
  if (event.type === 'call.adjudicated') {
    const decision = event.data.decision === 'reassigned' ? 'reassigned' : 'kept';
    const from = typeof event.data.from === 'string' ? event.data.from : c.handlingUnitId;
    obs.adjudication = { decision, from };
  }
  return obs;
}

/** A call's observations with `more` added: one per sequence number (the first copy wins), in order. */
export function mergeObservations(known: Observation[], more: Observation[]): Observation[] {
  const bySeq = new Map(known.map((o) => [o.seq, o]));
  for (const o of more) if (!bySeq.has(o.seq)) bySeq.set(o.seq, o);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

// ---- the ledger ----------------------------------------------------------------------------------

/** What a ledger entry records. */
export type Fact =
  | 'dispatched' // 派单: an assignment received (called up, dispatched, reassigned, escalated)
  | 'sign' // 签收, on time or not
  | 'respond' // 响应, on time or not
  | 'complete' // 办结, on time or not
  | 'overdue' // 逾期: a step past its deadline (recorded by supervision)
  | 'urge' // 催办
  | 'supervise' // 督办
  | 'reopen' // 返工
  | 'rating' // 评价: stars from the caller or the source's call-back
  | 'unrated' // a missed completion: no rating can come, and none counts as satisfied
  | 'callback' // 12345 回访: the call-back's own contacted / resolved / satisfied answers
  | 'adjudication_won' // 协调: the command centre reassigned the call away from this department
  | 'adjudication_lost' // 协调: the command centre kept the call with this department
  | 'call_up_overturned'; // the street's call to a department was reassigned (the department won)

export interface Entry {
  unit: string;
  /** The month it is booked in. */
  period: Period;
  /** The month the fact belongs to (differs when it became known after that month closed). */
  belongsTo: Period;
  fact: Fact;
  step?: Step;
  onTime?: boolean;
  stars?: number;
  /** A step not taken by its deadline (booked when supervision found it overdue). */
  missed?: boolean;
  /**
   * Beijing answers: of a call-back, its own; of a rating standing in for a call-back (calls not
   * from the hotline), contacted = the handler responded, resolved = completed and rated ≥ 3 stars.
   */
  contacted?: boolean;
  resolved?: boolean;
  satisfaction?: CallbackAnswers['satisfaction'];
  /** The event that established the entry. */
  seq: number;
  type: string;
  at: string;
  /** A correction: undoes an entry frozen in a closed month. */
  reversal?: boolean;
}

type FactValue = Omit<Entry, 'period' | 'seq' | 'type' | 'at' | 'reversal'>;

function sameValue(a: FactValue, b: FactValue): boolean {
  return (
    a.unit === b.unit &&
    a.belongsTo === b.belongsTo &&
    a.fact === b.fact &&
    a.step === b.step &&
    a.onTime === b.onTime &&
    a.missed === b.missed &&
    a.stars === b.stars &&
    a.contacted === b.contacted &&
    a.resolved === b.resolved &&
    a.satisfaction === b.satisfaction
  );
}

const onTime = (at: string, due: string | null) => due === null || at <= due;

/**
 * The unit a fact of an assignment is booked for: departments and streets themselves; a grid's or
 * community's for the street that holds it (`street`); leadership is not scored.
 */
function scoredUnit(o: Observation, street: string | undefined): string | undefined {
  if (o.tier === 'STREET' || o.tier === 'DEPARTMENT') return o.unit;
  if (o.tier === 'GRID' || o.tier === 'COMMUNITY') return street;
  return undefined;
}

/** The facts a snapshot states about its current assignment, by key. */
function assignmentFacts(o: Observation, street: string | undefined): Map<string, FactValue> {
  const facts = new Map<string, FactValue>();
  const unit = scoredUnit(o, street);
  if (!unit) return facts;
  // A call handled at grid or community level raised there: its own tier's steps, no dispatch.
  if (o.caller && (o.tier === 'STREET' || o.tier === 'DEPARTMENT')) facts.set('dispatched', { unit, fact: 'dispatched', belongsTo: periodOf(o.assignedAt) });
  const steps = [
    ['SIGN', 'sign', o.signedAt, o.due.sign],
    ['RESPOND', 'respond', o.respondedAt, o.due.respond],
    ['COMPLETE', 'complete', o.completedAt, o.due.complete],
  ] as const;
  for (const [step, fact, at, due] of steps) {
    if (at) {
      const timely = onTime(at, due);
      // A late step belongs to the month its deadline passed in, as its miss did.
      facts.set(fact, { unit, fact, belongsTo: periodOf(timely || !due ? at : due), onTime: timely });
    } else if (o.overdue.includes(step)) {
      facts.set(fact, { unit, fact, belongsTo: periodOf(due ?? o.at), onTime: false, missed: true });
    }
  }
  if (!o.completedAt && o.overdue.includes('COMPLETE')) {
    // For Beijing it stands in for a call-back (no, no, unsatisfied) unless the citizen's own came.
    // (Observations stored before call-backs were carried have no count.)
    const standIn = !o.callbacks ? { contacted: false, resolved: false } : {};
    facts.set('unrated', { unit, fact: 'unrated', belongsTo: periodOf(o.due.complete ?? o.at), ...standIn });
  }
  const dueOf = { SIGN: o.due.sign, RESPOND: o.due.respond, COMPLETE: o.due.complete } as const;
  for (const step of o.overdue) {
    facts.set(`overdue:${step}`, { unit, fact: 'overdue', step, belongsTo: periodOf(dueOf[step] ?? o.at) });
  }
  return facts;
}

/**
 * A call's ledger: every entry its observations book, in sequence order. `closing` says when months
 * close; `street` is the street that holds the call's origin (grid and community facts are its).
 * Deterministic for a given set of observations, whatever order they arrived in.
 */
export function ledgerOf(observations: Observation[], closing: MonthClosing, street?: string): Entry[] {
  const entries: Array<Entry | undefined> = [];
  // The entry currently standing for each assignment fact, by `assignment|key`.
  const standing = new Map<string, number>();
  let reopens = 0;
  let urges = 0;
  let supervisions = 0;
  let callbacks = 0;
  let rated = false;
  // The latest completion seen: a call-back judges it even when it sends the call back (completedAt cleared).
  let lastCompleted: string | null = null;

  const book = (value: FactValue, o: Observation): number => {
    const period = closing.isClosed(value.belongsTo, o.at) ? periodOf(o.at) : value.belongsTo;
    entries.push({ ...value, period, seq: o.seq, type: o.type, at: o.at });
    return entries.length - 1;
  };
  const withdraw = (index: number, o: Observation): void => {
    const old = entries[index] as Entry;
    if (!closing.isClosed(old.period, o.at)) {
      entries[index] = undefined;
      return;
    }
    entries.push({ ...old, period: periodOf(o.at), reversal: true, seq: o.seq, type: o.type, at: o.at });
  };
  const once = (fact: Fact, o: Observation, extra: Partial<FactValue> = {}, unit = scoredUnit(o, street)) => {
    if (unit) book({ unit, fact, belongsTo: periodOf(o.at), ...extra }, o);
  };

  for (const o of [...observations].sort((a, b) => a.seq - b.seq)) {
    const assignment = `${o.unit}@${o.assignedAt}`;
    const facts = assignmentFacts(o, street);
    for (const [key, value] of facts) {
      const id = `${assignment}|${key}`;
      const index = standing.get(id);
      if (index !== undefined && sameValue(entries[index] as Entry, value)) continue;
      if (index !== undefined) withdraw(index, o);
      standing.set(id, book(value, o));
    }
    for (const [id, index] of standing) {
      if (!id.startsWith(`${assignment}|`) || facts.has(id.slice(assignment.length + 1))) continue;
      withdraw(index, o);
      standing.delete(id);
    }
    // Counts that only grow: each increment once, against the assignment of the snapshot showing it.
    for (; reopens < o.reopens; reopens++) once('reopen', o);
    for (; urges < o.urges; urges++) once('urge', o);
    for (; supervisions < o.supervisions; supervisions++) once('supervise', o);
    if (o.completedAt) lastCompleted = o.completedAt;
    if (!rated && o.stars !== null) {
      rated = true;
      const unit = scoredUnit(o, street);
      if (unit) {
        // A rating judges the completion before it: it belongs to that completion's month.
        const standIn = o.source !== 'HOTLINE';
        book(
          {
            unit,
            fact: 'rating',
            belongsTo: periodOf(o.completedAt ?? o.at),
            stars: o.stars,
            ...(standIn && { contacted: o.respondedAt !== null, resolved: o.completedAt !== null && o.stars >= 3 }),
          },
          o,
        );
      }
    }
    // Each valid 12345 call-back once, with its own answers, judging the latest completion.
    for (; callbacks < o.callbacks; callbacks++) {
      if (o.callback) {
        once('callback', o, { belongsTo: periodOf(lastCompleted ?? o.at), ...o.callback });
      }
    }
    if (o.adjudication?.decision === 'kept') once('adjudication_lost', o);
    if (o.adjudication?.decision === 'reassigned') {
      book({ unit: o.adjudication.from, fact: 'adjudication_won', belongsTo: periodOf(o.at) }, o);
      if (o.caller) once('call_up_overturned', o, {}, o.caller);
    }
  }
  return entries.filter((e): e is Entry => e !== undefined);
}

// ---- figures ------------------------------------------------------------------------------------

/** Counts by name; zeros are left out. */
export type Vector = Record<string, number>;

/** The counts one entry adds to its unit's month (negated for a correction). */
export function countsOf(entry: Entry): Vector {
  const v: Vector = {};
  const add = (name: string) => {
    v[name] = (v[name] ?? 0) + 1;
  };
  switch (entry.fact) {
    case 'dispatched':
      add('dispatched');
      break;
    case 'sign':
      add('signed');
      if (entry.onTime) add('signedOnTime');
      break;
    case 'respond':
      add('responded');
      if (entry.onTime) add('respondedOnTime');
      break;
    case 'complete':
      add('completed');
      if (entry.onTime) add('completedOnTime');
      break;
    case 'overdue':
      add(`overdue${entry.step?.[0]}${entry.step?.slice(1).toLowerCase()}`);
      break;
    case 'urge':
      add('urged');
      break;
    case 'supervise':
      add('supervised');
      break;
    case 'reopen':
      add('reopened');
      break;
    case 'rating':
      add(`stars${entry.stars}`);
      add('ratings');
      // A caller's rating stands in for a call-back on calls not from the hotline.
      if (entry.contacted !== undefined) {
        add('callbacks');
        if (entry.contacted) add('contacted');
        if (entry.resolved) add('resolved');
        if ((entry.stars ?? 0) >= 4) add('satisfied');
        else if (entry.stars === 3) add('basic');
      }
      break;
    case 'unrated':
      // Huangpu: a satisfaction item worth nothing; Beijing: a call-back answering no, no, unsatisfied.
      add('ratings');
      add('unrated');
      if (entry.contacted !== undefined) add('callbacks');
      break;
    case 'callback':
      add('callbacks');
      if (entry.contacted) add('contacted');
      if (entry.resolved) add('resolved');
      if (entry.satisfaction === 'VERY_SATISFIED' || entry.satisfaction === 'SATISFIED') add('satisfied');
      else if (entry.satisfaction === 'BASIC') add('basic');
      break;
    case 'adjudication_won':
      add('adjudicationsWon');
      break;
    case 'adjudication_lost':
      add('adjudicationsLost');
      break;
    case 'call_up_overturned':
      add('callUpsOverturned');
      break;
  }
  if (entry.reversal) for (const k of Object.keys(v)) v[k] = -(v[k] as number);
  // Booked outside the month it belongs to: a late fact, or a correction of a closed month.
  if (entry.period !== entry.belongsTo) add('lateEntries');
  add('entries');
  return v;
}

export function addInto(target: Vector, more: Vector): Vector {
  for (const [k, n] of Object.entries(more)) {
    const sum = (target[k] ?? 0) + n;
    if (sum === 0) delete target[k];
    else target[k] = sum;
  }
  return target;
}

/** Every count of a vector with its sign turned. */
export function negated(v: Vector): Vector {
  const out: Vector = {};
  for (const [k, n] of Object.entries(v)) out[k] = -n;
  return out;
}

export function sameVector(a: Vector | undefined, b: Vector | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  return ka.length === kb.length && ka.every((k) => a?.[k] === b?.[k]);
}

/** The street among a call's counter scopes (its origin's path below the district, street first). */
export function streetOf(originScopes: string[]): string | undefined {
  return originScopes[0];
}

/** Ledger document keys: a unit's month of scores, its counters, its open-and-overdue calls. */
export const perfKey = (unit: string, period: Period) => `perf|${unit}|${period}`;
export const counterKey = (unit: string, period: Period) => `ctr|${unit}|${period}`;
export const openKey = (unit: string) => `open|${unit}`;
/**
 * Every scored unit's figures for a month in one document (`calls.<unit>` holds the unit's totals
 * rather than a call's share), kept by the store from the `perf` documents: a ranking reads one
 * document, since FerretDB answers one read per `_id` at a time.
 */
export const rankKey = (period: Period) => `rank|${period}`;

/** A unit id as a field name (ids with '.', '$' or '~' are base64url-encoded). */
export function unitField(unit: string): string {
  return /^[A-Za-z0-9_-]+$/.test(unit) ? unit : `~${Buffer.from(unit).toString('base64url')}`;
}

export function unitOfField(field: string): string {
  return field.startsWith('~') ? Buffer.from(field.slice(1), 'base64url').toString('utf8') : field;
}

const OPEN = new Set(['RAISED', 'DISPATCHED', 'SIGNED', 'RESPONDED', 'COMPLETED', 'REOPENED']);
const DONE = new Set(['COMPLETED', 'CLOSED']);

/**
 * Everything one call contributes, by ledger document: its entries' counts per (unit, month), and
 * from its latest snapshot its share of the counters of `originScopes` (the units on its origin's
 * path below the district: grid, community, street; the district is the sum of its streets) and of
 * every department or leadership it reached, in the month it was raised.
 */
export function contributions(observations: Observation[], originScopes: string[], closing: MonthClosing): Map<string, Vector> {
  const out = new Map<string, Vector>();
  if (observations.length === 0) return out;
  for (const entry of ledgerOf(observations, closing, streetOf(originScopes))) {
    const key = perfKey(entry.unit, entry.period);
    out.set(key, addInto(out.get(key) ?? {}, countsOf(entry)));
  }
  for (const [key, v] of out) if (Object.keys(v).length === 0) out.delete(key);

  const latest = observations.reduce((a, b) => (b.seq > a.seq ? b : a));
  const counters: Vector = { raised: 1, [`tier${latest.tier}`]: 1 };
  if (latest.reached) counters.calledUp = 1;
  if (DONE.has(latest.status)) counters.completed = 1;
  // 按期结案率 (DOMAIN.md "数字城管 indicators", GB/T 30428.4: closed on time / (due − deferred)): a
  // call is due once it is done or supervision found its completion deadline passed (a step not
  // taken is missed when its deadline passes); on time when completed by its completion deadline as
  // it stands now, so a granted extension (缓办) moves the deadline instead of counting as a miss.
  if (DONE.has(latest.status) || (OPEN.has(latest.status) && latest.overdue.includes('COMPLETE'))) counters.completionDue = 1;
  if (DONE.has(latest.status) && latest.completedAt !== null && onTime(latest.completedAt, latest.due.complete)) counters.completedOnTime = 1;
  if (latest.status === 'WITHDRAWN') counters.withdrawn = 1;
  if (latest.stars !== null) {
    counters.rated = 1;
    if (latest.stars >= 4) counters.satisfied = 1;
  }
  const overdueNow = OPEN.has(latest.status) && latest.overdue.length > 0;
  const scopes = new Set(originScopes);
  for (const o of observations) if (o.tier === 'DEPARTMENT' || o.tier === 'LEADERSHIP') scopes.add(o.unit);
  const raisedIn = periodOf(latest.raisedAt);
  for (const scope of scopes) {
    out.set(counterKey(scope, raisedIn), counters);
    if (overdueNow) out.set(openKey(scope), { overdue: 1 });
  }
  return out;
}
