// Pure rules of the enterprise zone: how a demand follows its call, the figures reported per officer
// and per unit, and whether a policy applies to an enterprise.
import type { CallStatus } from '../../../platform/call-event.ts';
import type { CallViewDoc, DemandDoc, DemandKind, DemandStatus, EnterpriseDoc, PolicyDoc } from '../model.ts';

/**
 * Whether the calls subgraph has the demand's call, or is making it: not when it refused it
 * (REJECTED), nor for the demo's made-up history (a call view of sequence 0).
 */
export function hasRealCall(demand: Pick<DemandDoc, 'call' | 'status'>): boolean {
  return demand.status !== 'REJECTED' && (demand.call === undefined || demand.call.sequence > 0);
}

/** The demand's status for its call's status (schemas/events/call-event.schema.json). */
export function demandStatusFor(callStatus: CallStatus): DemandStatus {
  switch (callStatus) {
    case 'COMPLETED':
      return 'RESOLVED'; // 已办结，待企业评价
    case 'CLOSED':
      return 'CLOSED';
    case 'WITHDRAWN':
      return 'WITHDRAWN';
    default:
      // RAISED, DISPATCHED, SIGNED, RESPONDED, REOPENED; MERGED follows the call it joined.
      return 'IN_PROGRESS';
  }
}

/** Open demands are still being worked on. */
export const OPEN_DEMAND: ReadonlySet<DemandStatus> = new Set(['SUBMITTED', 'IN_PROGRESS']);

/** Answered (办结) within the call's completion limit; undefined while not answered. */
export function answeredOnTime(call: CallViewDoc | undefined): boolean | undefined {
  if (!call?.completedAt) return undefined;
  if (!call.completeBy) return true;
  return new Date(call.completedAt).getTime() <= new Date(call.completeBy).getTime();
}

/** Open and past the completion limit (逾期). */
export function overdueNow(demand: Pick<DemandDoc, 'status' | 'call'>, now: Date): boolean {
  if (!OPEN_DEMAND.has(demand.status) || !demand.call) return false;
  if (demand.call.overdueSteps.includes('COMPLETE')) return true;
  return demand.call.completeBy !== undefined && new Date(demand.call.completeBy).getTime() < now.getTime();
}

/** The call's intake category and, where the callable-items list has one, its item (呼应事项清单). */
export const CALL_ROUTE: Record<DemandKind, { category: string; itemCode?: string }> = {
  HOUSING: { category: '企业服务', itemCode: 'QY-02' }, // 人才住房保障
  POWER: { category: '企业服务', itemCode: 'QY-01' }, // 用电报装扩容
  LAND: { category: '企业服务', itemCode: 'QY-03' }, // 企业用地规划
  PERMIT: { category: '企业服务' },
  FINANCING: { category: '企业服务' },
  HIRING: { category: '企业服务' },
  DISPUTE: { category: '综治维稳', itemCode: 'ZZ-01' }, // 矛盾纠纷调处
  OTHER: { category: '企业服务' },
};

/** Stars (1–5) as the satisfaction of the intake contract's rating. */
export function satisfactionOf(stars: number): 'VERY_SATISFIED' | 'SATISFIED' | 'BASIC' | 'UNSATISFIED' {
  if (stars >= 5) return 'VERY_SATISFIED';
  if (stars === 4) return 'SATISFIED';
  if (stars === 3) return 'BASIC';
  return 'UNSATISFIED';
}

export interface DemandFigures {
  total: number;
  open: number;
  /** Answered: the call was completed (办结). */
  answered: number;
  answeredOnTime: number;
  /** answeredOnTime / answered. */
  onTimeRate: number | null;
  overdueNow: number;
  rated: number;
  averageStars: number | null;
  /** Rated 4 or 5 stars / rated. */
  satisfactionRate: number | null;
  byKind: Array<{ kind: DemandKind; count: number }>;
  byStatus: Array<{ status: DemandStatus; count: number }>;
}

const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 10_000) / 10_000);

export function figuresOf(demands: Iterable<DemandDoc>, now: Date): DemandFigures {
  let total = 0;
  let open = 0;
  let answered = 0;
  let onTime = 0;
  let overdue = 0;
  let rated = 0;
  let stars = 0;
  let satisfied = 0;
  const kinds = new Map<DemandKind, number>();
  const statuses = new Map<DemandStatus, number>();
  for (const demand of demands) {
    total++;
    kinds.set(demand.kind, (kinds.get(demand.kind) ?? 0) + 1);
    statuses.set(demand.status, (statuses.get(demand.status) ?? 0) + 1);
    if (OPEN_DEMAND.has(demand.status)) open++;
    const timely = answeredOnTime(demand.call);
    if (timely !== undefined) {
      answered++;
      if (timely) onTime++;
    }
    if (overdueNow(demand, now)) overdue++;
    if (demand.rating) {
      rated++;
      stars += demand.rating.stars;
      if (demand.rating.stars >= 4) satisfied++;
    }
  }
  return {
    total,
    open,
    answered,
    answeredOnTime: onTime,
    onTimeRate: ratio(onTime, answered),
    overdueNow: overdue,
    rated,
    averageStars: rated === 0 ? null : Math.round((stars / rated) * 100) / 100,
    satisfactionRate: ratio(satisfied, rated),
    byKind: [...kinds].map(([kind, count]) => ({ kind, count })).sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : 1)),
    byStatus: [...statuses].map(([status, count]) => ({ status, count })).sort((a, b) => (a.status < b.status ? -1 : 1)),
  };
}

/** In force on `on`: from its first day, up to (not including) its end. */
export function inForce(policy: Pick<PolicyDoc, 'effectiveFrom' | 'effectiveTo'>, on: Date): boolean {
  const t = on.getTime();
  return new Date(policy.effectiveFrom).getTime() <= t && (!policy.effectiveTo || t < new Date(policy.effectiveTo).getTime());
}

/** Why a policy applies to an enterprise, or why not (empty eligibility lists mean "any"). */
export function eligibility(
  policy: Pick<PolicyDoc, 'industries' | 'sizes' | 'streetIds' | 'effectiveFrom' | 'effectiveTo'>,
  enterprise: Pick<EnterpriseDoc, 'industry' | 'size' | 'streetId'>,
  on: Date,
): { applies: boolean; reasons: string[] } {
  const reasons: string[] = [];
  if (!inForce(policy, on)) reasons.push('不在有效期内');
  if (policy.industries.length > 0 && !policy.industries.includes(enterprise.industry)) reasons.push('行业不符');
  if (policy.sizes.length > 0 && !policy.sizes.includes(enterprise.size)) reasons.push('企业规模不符');
  if (policy.streetIds.length > 0 && !policy.streetIds.includes(enterprise.streetId)) reasons.push('所在街道不在适用范围');
  return { applies: reasons.length === 0, reasons };
}
