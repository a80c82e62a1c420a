// Supervision (督办): warns before a step falls due (将到期预警, at configurable shares of its limit),
// finds steps past their deadline and records them (逾期), and urges automatically (催办) — each exactly
// once. Every copy of the service runs the scheduler; the versioned update in CallStore lets only one
// copy record a given warning or urge, and the other sees it done and writes nothing.
import type { Logger } from '../../platform/logger.ts';
import { DEFAULT_WARNING_SHARES, dueSoon } from '../../rules/deadlines.ts';
import { openSteps, type Transition } from './lifecycle.ts';
import type { CallDoc, CallsModels, Step } from './model.ts';
import type { CallStore } from './store.ts';
import type { CallIndex } from './call-index.ts';

const STEP_FIELD = { SIGN: 'sign', RESPOND: 'respond', COMPLETE: 'complete' } as const;
const STEP_NAMES: Record<Step, string> = { SIGN: '签收', RESPOND: '响应', COMPLETE: '办结' };

function stepsWithDeadlines(call: CallDoc): Array<{ step: Step; due: Date; start: Date }> {
  return openSteps(call).flatMap((step) => {
    const due = call.deadlines[STEP_FIELD[step]];
    return due ? [{ step, due: new Date(due), start: new Date(call.assignedAt) }] : [];
  });
}

/** When supervision must next look at the call: its earliest unwarned share or unrecorded deadline. */
export function nextCheckAt(call: CallDoc, shares: readonly number[] = DEFAULT_WARNING_SHARES): Date | undefined {
  let next: number | undefined;
  for (const { step, due, start } of stepsWithDeadlines(call)) {
    const span = due.getTime() - start.getTime();
    const moments = shares
      .filter((share) => !call.warnings.includes(`${step}@${share}`))
      .map((share) => start.getTime() + share * Math.max(span, 0));
    if (!call.overdueSteps.includes(step)) moments.push(due.getTime());
    for (const at of moments) if (next === undefined || at < next) next = at;
  }
  return next === undefined ? undefined : new Date(next);
}

/** What supervision must record on `call` at `now`: new overdue steps (and an urge), else new warnings. */
export function supervise(call: CallDoc, now: Date, shares: readonly number[] = DEFAULT_WARNING_SHARES): Transition | undefined {
  const steps = stepsWithDeadlines(call);
  const overdue = steps.filter(({ step, due }) => due <= now && !call.overdueSteps.includes(step)).map((s) => s.step);
  if (overdue.length > 0) {
    const names = overdue.map((s) => STEP_NAMES[s]).join('、');
    return {
      set: {
        overdueSteps: [...call.overdueSteps, ...overdue],
        urgeCount: call.urgeCount + 1,
        // An overdue step needs no more due-soon warnings.
        warnings: [...new Set([...call.warnings, ...overdue.flatMap((s) => shares.map((share) => `${s}@${share}`))])],
      },
      entry: { action: 'urge', note: `逾期自动催办：${names}`, attachments: [], toUnitId: call.handlingUnitId },
      event: { type: 'call.urged', data: { overdueSteps: overdue, automatic: true } },
    };
  }
  const warnings: string[] = [];
  let highest: { step: Step; share: number } | undefined;
  for (const { step, due, start } of steps) {
    const reached = dueSoon(now, start, due, shares);
    if (reached === undefined) continue;
    for (const share of shares) {
      const tag = `${step}@${share}`;
      if (share <= reached && !call.warnings.includes(tag)) {
        warnings.push(tag);
        if (!highest || share > highest.share) highest = { step, share };
      }
    }
  }
  if (!highest) return undefined;
  return {
    set: { warnings: [...call.warnings, ...warnings] },
    entry: {
      action: 'due_soon',
      note: `将到期预警：${STEP_NAMES[highest.step]}时限已过 ${Math.round(highest.share * 100)}%`,
      attachments: [],
      toUnitId: call.handlingUnitId,
    },
    event: { type: 'call.due_soon', data: { step: highest.step, share: highest.share } },
  };
}

export class SupervisionScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly models: CallsModels,
    private readonly store: CallStore,
    private readonly index: CallIndex,
    private readonly logger: Logger,
    private readonly options: { intervalMs: number; shares?: readonly number[] },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .catch((err: unknown) => this.logger.warn({ err }, 'supervision tick failed; will retry'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Looks at every call due for a check at `now` (up to `batch`); returns how many changes this copy recorded. */
  async tick(now = new Date(), batch = 500): Promise<number> {
    // Open calls are all in memory (call-index.ts): asking the database would scan the history on FerretDB.
    const due = this.index.dueForCheck(now, batch);
    let recorded = 0;
    for (const _id of due) {
      let changed = false;
      const after = await this.store.system(_id, (call) => {
        const transition = supervise(call, now, this.options.shares);
        changed = transition !== undefined;
        return transition;
      });
      if (changed) recorded++;
      // Nothing left to record but the check time is stale (rules changed): move it on, quietly.
      else if (after && after.nextCheckAt && after.nextCheckAt <= now) {
        const next = nextCheckAt(after, this.options.shares);
        const moved = await this.models.Call.updateOne(
          { _id, version: after.version },
          next && next > now ? { $set: { nextCheckAt: next } } : { $unset: { nextCheckAt: 1 } },
        );
        if (moved.modifiedCount === 1) this.index.put({ ...after, nextCheckAt: next && next > now ? next : undefined });
      } else if (after) this.index.put(after);
    }
    return recorded;
  }
}
