// Dashboard counters (大屏): for a scope and a month, the calls raised in that month in the scope (or
// that reached it, for a department) and how they stand now. Read from the ledgers; the district is
// the sum of its streets. Published to `hub.counters` as a compact event when they change, at most
// once a second per scope (schemas/events/counter-event.schema.json), for the gateway to stream.
import type { Producer } from 'kafkajs';
import type { Logger } from '../../platform/logger.ts';
import { TIERS, type Tier, type UnitDirectory } from '../../platform/unit-directory.ts';
import { counterKey, openKey, type Vector } from './domain/ledger.ts';
import { type Period, periodOf, periodStart } from './domain/period.ts';
import type { EvaluationStore } from './store.ts';

export interface Counters {
  scope: string;
  period: Period;
  raised: number;
  raisedAtTier: Array<{ tier: Tier; count: number }>;
  calledUpToDepartments: number;
  completed: number;
  completionRate: number;
  onTimeRate: number;
  satisfactionRate: number;
  overdueNow: number;
  updatedAt: Date;
}

const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0);

/** The units whose ledgers make up a scope's counters: a district's streets, else the unit itself. */
export function counterBases(scope: string, directory: UnitDirectory): string[] {
  const unit = directory.get(scope);
  if (unit?.kind !== 'district') return [scope];
  return directory
    .ofKind('street')
    .filter((s) => directory.isWithin(s.id, scope))
    .map((s) => s.id);
}

export async function readCounters(store: EvaluationStore, directory: UnitDirectory, scope: string, period: Period): Promise<Counters> {
  const bases = counterBases(scope, directory);
  const ids = bases.flatMap((b) => [counterKey(b, period), openKey(b)]);
  const figures = await store.totals(ids);
  const sum: Vector = {};
  let updatedAt = periodStart(period);
  for (const id of ids) {
    const f = figures.get(id);
    if (!f) continue;
    for (const [k, v] of Object.entries(f.totals)) sum[k] = (sum[k] ?? 0) + v;
    if (f.updatedAt && f.updatedAt > updatedAt) updatedAt = new Date(f.updatedAt);
  }
  return { scope, period, ...figuresOf(sum), updatedAt };
}

/** A scope's counters from the sum of its calls' shares (domain/ledger.ts contributions). */
export function figuresOf(sum: Vector): Omit<Counters, 'scope' | 'period' | 'updatedAt'> {
  const n = (k: string) => sum[k] ?? 0;
  return {
    raised: n('raised'),
    raisedAtTier: TIERS.map((tier) => ({ tier, count: n(`tier${tier}`) })),
    calledUpToDepartments: n('calledUp'),
    completed: n('completed'),
    completionRate: rate(n('completed'), n('raised') - n('withdrawn')),
    // 按期结案率 (GB/T 30428.4): completed on time / due (done, or past the completion deadline).
    onTimeRate: rate(n('completedOnTime'), n('completionDue')),
    satisfactionRate: rate(n('satisfied'), n('rated')),
    overdueNow: n('overdue'),
  };
}

/** The published form (hub.counters). */
export function counterEvent(c: Counters) {
  return { ...c, updatedAt: c.updatedAt.toISOString() };
}

export class CounterPublisher {
  private readonly pending = new Map<string, Set<Period>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly lastSentAt = new Map<string, number>();
  private readonly lastSent = new Map<string, string>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  /** Counter events sent since start. */
  sent = 0;

  constructor(
    private readonly store: EvaluationStore,
    private readonly directory: UnitDirectory,
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
  ) {}

  /** The published scopes touched by changed ledgers: the district, its streets, departments. */
  notify(ledgerIds: string[]): void {
    for (const id of ledgerIds) {
      const [ns, unitId, period] = id.split('|') as [string, string, string | undefined];
      if (ns !== 'ctr' && ns !== 'open') continue;
      const when = ns === 'ctr' ? (period as string) : periodOf(new Date());
      const unit = this.directory.get(unitId);
      if (!unit) continue;
      if (unit.kind === 'department' || unit.kind === 'leadership') this.mark(unitId, when);
      if (unit.kind === 'street') {
        this.mark(unitId, when);
        const district = unit.path[0];
        if (district) this.mark(district, when);
      }
    }
  }

  private mark(scope: string, period: Period): void {
    if (this.stopped) return;
    const set = this.pending.get(scope) ?? new Set();
    set.add(period);
    this.pending.set(scope, set);
    if (this.timers.has(scope)) return;
    const wait = Math.max(0, (this.lastSentAt.get(scope) ?? 0) + this.intervalMs - Date.now());
    this.timers.set(
      scope,
      setTimeout(() => {
        const work = this.flush(scope).catch((err: unknown) => this.logger.warn({ err, scope }, 'counter publish failed; will retry'));
        this.inFlight.add(work);
        void work.finally(() => this.inFlight.delete(work));
      }, wait),
    );
  }

  private async flush(scope: string): Promise<void> {
    const periods = [...(this.pending.get(scope) ?? [])];
    this.pending.delete(scope);
    try {
      const messages = [];
      for (const period of periods) {
        const counters = await readCounters(this.store, this.directory, scope, period);
        const { updatedAt: _ignored, ...figures } = counterEvent(counters);
        const fingerprint = JSON.stringify(figures);
        if (this.lastSent.get(`${scope}|${period}`) === fingerprint) continue;
        messages.push({ key: scope, value: JSON.stringify(counterEvent(counters)), fingerprint, period });
      }
      if (messages.length > 0) {
        await this.producer.send({ topic: this.topic, messages: messages.map(({ key, value }) => ({ key, value })) });
        // Counted from when the send finished, so consecutive events are a full interval apart.
        this.lastSentAt.set(scope, Date.now());
        for (const m of messages) this.lastSent.set(`${scope}|${m.period}`, m.fingerprint);
        this.sent += messages.length;
      }
    } catch (err) {
      // Put the periods back and try again after the interval.
      this.lastSentAt.set(scope, Date.now());
      for (const p of periods) this.pending.set(scope, (this.pending.get(scope) ?? new Set()).add(p));
      throw err;
    } finally {
      this.timers.delete(scope);
      if (this.pending.has(scope)) {
        const again = [...(this.pending.get(scope) ?? [])];
        this.pending.delete(scope);
        for (const p of again) this.mark(scope, p);
      }
    }
  }

  /** Stops scheduling and waits for publishes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }
}
