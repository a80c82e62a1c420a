import { describe, expect, it } from 'vitest';
import type { CallViewDoc, DemandDoc } from '../model.ts';
import { answeredOnTime, demandStatusFor, eligibility, figuresOf, hasRealCall, overdueNow } from './rules.ts';

const day = (d: number) => new Date(Date.UTC(2026, 5, d));

function demand(partial: Partial<DemandDoc>): DemandDoc {
  return { _id: 'D', kind: 'POWER', status: 'IN_PROGRESS', raisedAt: day(1), ...partial } as DemandDoc;
}
const call = (completeBy: Date, completedAt?: Date, overdueSteps: string[] = []): CallViewDoc => ({
  status: completedAt ? 'COMPLETED' : 'SIGNED',
  tier: 'DEPARTMENT',
  handlingUnitId: 'dept-power',
  completeBy,
  ...(completedAt && { completedAt }),
  overdueSteps,
  sequence: 3,
  updatedAt: day(1),
});

describe('a demand follows its call', () => {
  it('maps call statuses to demand statuses', () => {
    expect((['RAISED', 'DISPATCHED', 'SIGNED', 'RESPONDED', 'REOPENED', 'MERGED'] as const).map(demandStatusFor)).toEqual(Array(6).fill('IN_PROGRESS'));
    expect(demandStatusFor('COMPLETED')).toBe('RESOLVED');
    expect(demandStatusFor('CLOSED')).toBe('CLOSED');
    expect(demandStatusFor('WITHDRAWN')).toBe('WITHDRAWN');
  });

  it('knows a call the calls subgraph has (or is making) from a refused one and the demo’s made-up history', () => {
    expect(hasRealCall({ status: 'SUBMITTED', call: undefined })).toBe(true);
    expect(hasRealCall({ status: 'IN_PROGRESS', call: call(day(8)) })).toBe(true);
    expect(hasRealCall({ status: 'IN_PROGRESS', call: { ...call(day(8)), sequence: 0 } })).toBe(false);
    expect(hasRealCall({ status: 'REJECTED', call: undefined })).toBe(false);
  });

  it('counts a demand answered on time when its call was completed by its limit', () => {
    expect(answeredOnTime(call(day(8), day(8)))).toBe(true);
    expect(answeredOnTime(call(day(8), day(9)))).toBe(false);
    expect(answeredOnTime(call(day(8)))).toBeUndefined();
  });

  it('is overdue while open past the limit, or when the calls subgraph says so', () => {
    expect(overdueNow(demand({ call: call(day(8)) }), day(9))).toBe(true);
    expect(overdueNow(demand({ call: call(day(8)) }), day(7))).toBe(false);
    expect(overdueNow(demand({ call: call(day(20), undefined, ['COMPLETE']) }), day(7))).toBe(true);
    expect(overdueNow(demand({ status: 'RESOLVED', call: call(day(8), day(9)) }), day(10))).toBe(false);
  });

  it('reports answered on time and ratings per officer', () => {
    const figures = figuresOf(
      [
        demand({ status: 'CLOSED', call: call(day(8), day(5)), rating: { stars: 5, ratedAt: day(6), ratedBy: { subject: 'x', unitId: 'y', role: 'enterprise_officer' } } }),
        demand({ status: 'CLOSED', call: call(day(8), day(10)), rating: { stars: 3, ratedAt: day(11), ratedBy: { subject: 'x', unitId: 'y', role: 'enterprise_officer' } } }),
        demand({ status: 'RESOLVED', kind: 'HOUSING', call: call(day(8), day(7)) }),
        demand({ status: 'IN_PROGRESS', kind: 'HOUSING', call: call(day(8)) }),
        demand({ status: 'SUBMITTED', kind: 'HOUSING' }),
      ],
      day(12),
    );
    expect(figures).toMatchObject({
      total: 5,
      open: 2,
      answered: 3,
      answeredOnTime: 2,
      onTimeRate: 0.6667,
      overdueNow: 1,
      rated: 2,
      averageStars: 4,
      satisfactionRate: 0.5,
    });
    expect(figures.byKind).toEqual([
      { kind: 'HOUSING', count: 3 },
      { kind: 'POWER', count: 2 },
    ]);
  });
});

describe('policy eligibility', () => {
  const policy = { industries: ['MANUFACTURING' as const], sizes: ['SMALL' as const, 'MEDIUM' as const], streetIds: ['lianhe'], effectiveFrom: day(1), effectiveTo: day(30) };
  it('applies when industry, size, street and dates all fit; says why not otherwise', () => {
    expect(eligibility(policy, { industry: 'MANUFACTURING', size: 'SMALL', streetId: 'lianhe' }, day(10))).toEqual({ applies: true, reasons: [] });
    expect(eligibility(policy, { industry: 'FINANCE', size: 'LARGE', streetId: 'yuzhu' }, day(30))).toEqual({
      applies: false,
      reasons: ['不在有效期内', '行业不符', '企业规模不符', '所在街道不在适用范围'],
    });
    expect(eligibility({ industries: [], sizes: [], streetIds: [], effectiveFrom: day(1) }, { industry: 'FINANCE', size: 'LARGE', streetId: 'yuzhu' }, day(2)).applies).toBe(true);
  });
});
