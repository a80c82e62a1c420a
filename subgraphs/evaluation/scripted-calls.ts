// Scripted call histories: the `hub.call-events` records a call's life produces (full snapshot and a
// per-call sequence on each, as subgraphs/calls/store.ts publishes them), written step by step at
// chosen instants. Tests use them for months whose figures are worked out by hand; the bench for load.
import { randomUUID } from 'node:crypto';
import type { CallEvent } from '../../platform/call-event.ts';
import type { Step } from './domain/ledger.ts';

type Snapshot = Omit<CallEvent['call'], 'rating'> & { rating?: { stars: number; satisfaction: string } | null } & Record<string, unknown>;

const SATISFACTION: Record<number, string> = { 5: 'VERY_SATISFIED', 4: 'SATISFIED', 3: 'BASIC', 2: 'UNSATISFIED', 1: 'UNSATISFIED' };

export class CallScript {
  readonly events: CallEvent[] = [];
  private call: Snapshot;

  /**
   * A call raised at `origin` (a grid, community or street) at `at`; `source` HOTLINE for a 12345 work
   * order, `due` the deadlines it is raised with (a call its own tier must answer).
   */
  constructor(
    readonly callId: string,
    origin: string,
    at: string,
    tier: 'GRID' | 'COMMUNITY' | 'STREET' = 'STREET',
    options: { source?: 'UNIT' | 'HOTLINE'; due?: { sign: string | null; respond: string | null; complete: string } } = {},
  ) {
    this.call = {
      title: '测试事项',
      status: 'RAISED',
      tier,
      category: '城市管理',
      itemCode: null,
      priority: 'NORMAL',
      source: options.source ?? 'UNIT',
      sourceRef: options.source === 'HOTLINE' ? { system: 'hotline', externalId: callId } : null,
      originUnitId: origin,
      handlingUnitId: origin,
      callerUnitId: null,
      coHandlingUnitIds: [],
      raisedAt: at,
      assignedAt: at,
      deadlines: options.due ?? { sign: null, respond: null, complete: null },
      signedAt: null,
      respondedAt: null,
      completedAt: null,
      closedAt: null,
      overdueSteps: [],
      result: null,
      rating: null,
      reopenCount: 0,
      urgeCount: 0,
      supervisionCount: 0,
      escalated: false,
      reachedDepartment: false,
      mergedInto: null,
      location: null,
    };
    this.emit('call.raised', at, {});
  }

  private emit(type: string, at: string, change: Partial<Snapshot>, data: Record<string, unknown> = {}): this {
    this.call = { ...this.call, ...change };
    this.events.push({
      eventId: randomUUID(),
      type,
      callId: this.callId,
      sequence: this.events.length + 1,
      occurredAt: at,
      call: structuredClone(this.call),
      data,
      actor: null,
    });
    return this;
  }

  /** Called up or dispatched to `unit` at `tier`, with its deadlines (签收, 响应, 办结). */
  assign(at: string, unit: string, tier: 'COMMUNITY' | 'STREET' | 'DEPARTMENT', due: { sign: string; respond: string; complete: string }) {
    const caller = this.call.handlingUnitId;
    return this.emit(tier === 'DEPARTMENT' ? 'call.dispatched' : 'call.called_up', at, {
      status: 'DISPATCHED',
      tier,
      handlingUnitId: unit,
      callerUnitId: caller,
      assignedAt: at,
      deadlines: due,
      overdueSteps: [],
      signedAt: null,
      respondedAt: null,
      completedAt: null,
      ...(tier === 'DEPARTMENT' && { reachedDepartment: true }),
    });
  }

  sign(at: string) {
    return this.emit('call.signed', at, { status: 'SIGNED', signedAt: at });
  }

  respond(at: string) {
    return this.emit('call.responded', at, { status: 'RESPONDED', respondedAt: at });
  }

  complete(at: string) {
    return this.emit('call.completed', at, { status: 'COMPLETED', completedAt: at, result: '已办结' });
  }

  /** Handled at its own tier: closes at once. */
  closeSelf(at: string) {
    return this.emit('call.closed', at, { status: 'CLOSED', completedAt: at, closedAt: at, result: '已办结' });
  }

  rate(at: string, stars: number) {
    return this.emit('call.closed', at, { status: 'CLOSED', closedAt: at, rating: { stars, satisfaction: SATISFACTION[stars] ?? 'UNSATISFIED' } }, { stars });
  }

  /**
   * A 12345 call-back (回访) with its own answers, as the calls subgraph applies it: satisfied or basic
   * closes the call (rated by the answer if unrated); 不满意 sends it back for rework (`rework`, new
   * completion deadline `complete`) or, after a rework, to the command centre (a supervision); on a
   * call not yet answered it is only recorded.
   */
  callback(
    at: string,
    answers: { contacted: boolean; resolved: boolean; satisfaction: 'VERY_SATISFIED' | 'SATISFIED' | 'BASIC' | 'UNSATISFIED' },
    outcome: { rework: string } | 'closed' | 'to_command_centre' | 'recorded',
  ) {
    const callback = { at, ...answers };
    const count = { callbackCount: ((this.call.callbackCount) ?? 0) + 1, callback };
    const data = { ...answers, outcome: typeof outcome === 'object' ? 'rework' : outcome };
    if (typeof outcome === 'object') {
      return this.emit('call.callback', at, {
        ...count,
        status: 'REOPENED',
        completedAt: null,
        closedAt: null,
        reopenCount: (this.call.reopenCount ?? 0) + 1,
        deadlines: { ...this.call.deadlines, complete: outcome.rework },
        overdueSteps: (this.call.overdueSteps ?? []).filter((s) => s !== 'COMPLETE'),
      }, data);
    }
    if (outcome === 'recorded') return this.emit('call.callback', at, count, data);
    if (outcome === 'to_command_centre') {
      return this.emit('call.callback', at, { ...count, status: 'COMPLETED', closedAt: null, supervisionCount: (this.call.supervisionCount ?? 0) + 1 }, data);
    }
    const stars = { VERY_SATISFIED: 5, SATISFIED: 4, BASIC: 3, UNSATISFIED: 1 }[answers.satisfaction];
    return this.emit('call.callback', at, { ...count, status: 'CLOSED', closedAt: at, rating: this.call.rating ?? { stars, satisfaction: answers.satisfaction } }, data);
  }

  reopen(at: string, complete: string) {
    return this.emit(
      'call.reopened',
      at,
      {
        status: 'REOPENED',
        completedAt: null,
        reopenCount: (this.call.reopenCount ?? 0) + 1,
        deadlines: { ...this.call.deadlines, complete },
        overdueSteps: (this.call.overdueSteps ?? []).filter((s) => s !== 'COMPLETE'),
      },
      { reason: '未解决' },
    );
  }

  /** Supervision found steps overdue and urged (逾期自动催办). */
  urge(at: string, steps: Step[]) {
    return this.emit(
      'call.urged',
      at,
      { overdueSteps: [...(this.call.overdueSteps ?? []), ...steps], urgeCount: (this.call.urgeCount ?? 0) + 1 },
      { overdueSteps: steps, automatic: true },
    );
  }

  supervise(at: string) {
    return this.emit('call.supervised', at, { supervisionCount: (this.call.supervisionCount ?? 0) + 1 }, { note: '督办' });
  }

  /** The command centre grants an extension to `complete`, lifting an overdue completion. */
  extend(at: string, complete: string) {
    return this.emit(
      'call.extension_decided',
      at,
      { deadlines: { ...this.call.deadlines, complete }, overdueSteps: (this.call.overdueSteps ?? []).filter((s) => s !== 'COMPLETE') },
      { granted: true },
    );
  }

  adjudicationRequested(at: string) {
    return this.emit('call.adjudication_requested', at, {}, { reason: '不属于本部门职责' });
  }

  /** The command centre keeps the call where it is. */
  adjudicateKeep(at: string) {
    return this.emit('call.adjudicated', at, {}, { decision: 'kept', unitId: this.call.handlingUnitId });
  }

  /** The command centre reassigns the call (改派) to another department. */
  adjudicateReassign(at: string, to: string, due: { sign: string; respond: string; complete: string }) {
    const from = this.call.handlingUnitId;
    return this.emit(
      'call.adjudicated',
      at,
      { status: 'DISPATCHED', handlingUnitId: to, assignedAt: at, deadlines: due, overdueSteps: [], signedAt: null, respondedAt: null, completedAt: null },
      { decision: 'reassigned', from, to },
    );
  }

  withdraw(at: string) {
    return this.emit('call.withdrawn', at, { status: 'WITHDRAWN', closedAt: at }, { reason: '撤回' });
  }
}

/**
 * A month (`YYYY-MM`) of `count` department calls, ids `<prefix>-<i>`, raised at `streets` in turn
 * and assigned to `departments` in turn: each dispatched, signed (every 7th late, after an urge),
 * answered, completed and rated 1–5 stars. In call order; `inLogOrder` puts them in time order, as
 * the calls subgraph publishes them.
 */
export function scriptedMonth(prefix: string, count: number, month: string, departments: string[], streets: string[]): CallEvent[] {
  const at = (day: number, hour: number) => `${month}-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00+08:00`;
  return Array.from({ length: count }, (_, i) => {
    const day = 1 + (i % 20);
    const script = new CallScript(`${prefix}-${i}`, streets[i % streets.length] as string, at(day, 8)).assign(
      at(day, 9),
      departments[i % departments.length] as string,
      'DEPARTMENT',
      { sign: at(day, 17), respond: at(day + 1, 17), complete: at(day + 5, 17) },
    );
    if (i % 7 === 0) script.urge(at(day, 18), ['SIGN']);
    script.sign(at(day, i % 7 === 0 ? 19 : 10)).respond(at(day, 20)).complete(at(day + 2, 10));
    return script.rate(at(day + 3, 10), 1 + (i % 5)).events;
  }).flat();
}

/** Events in the order they happened (a call's own events keep their order). */
export function inLogOrder(events: CallEvent[]): CallEvent[] {
  return events
    .map((event, i) => ({ event, i, at: Date.parse(event.occurredAt) }))
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map(({ event }) => event);
}
