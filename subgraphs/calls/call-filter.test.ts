// The in-memory matcher agrees with sift (MongoDB's meaning) on every kind of filter the calls
// service builds: visibility, inbox boxes, list filters, history bounds.
import sift from 'sift';
import { describe, expect, it } from 'vitest';
import { earliestTime, matcherOf } from './call-filter.ts';
import type { CallDoc } from './model.ts';

const call = (fields: Record<string, unknown>) => fields as unknown as CallDoc;
const calls = [
  call({ _id: 'a', status: 'DISPATCHED', visibleTo: ['d', 's1', 'g1'], handlingUnitId: 's1', coHandlingUnitIds: [], raisedBy: { subject: 'u1' }, followers: ['o1'], raisedAt: new Date('2026-11-01T00:00:00Z'), overdueSteps: ['SIGN'], title: '施工噪音' }),
  call({ _id: 'b', status: 'COMPLETED', visibleTo: ['d', 's2'], handlingUnitId: 's2', coHandlingUnitIds: ['s1'], callerUnitId: 's1', raisedBy: { subject: 'u2' }, raisedAt: new Date('2026-12-01T00:00:00Z'), overdueSteps: [], title: '路灯不亮' }),
  call({ _id: 'c', status: 'RAISED', visibleTo: ['d'], handlingUnitId: null, raisedBy: { subject: 'u1' }, raisedAt: new Date('2026-12-02T00:00:00Z'), pendingRequest: { kind: 'DISPATCH' }, title: '积水' }),
  call({ _id: 'd', status: 'CLOSED', visibleTo: 's1', handlingUnitId: 's1', raisedAt: new Date('2026-10-01T00:00:00Z') }),
  // Fields of unexpected shapes: an object where an array belongs, a null one.
  call({ _id: 'e', status: 'RAISED', visibleTo: ['d'], overdueSteps: { 0: 'SIGN' }, raisedAt: new Date('2026-12-03T00:00:00Z') }),
  call({ _id: 'f', status: 'RAISED', visibleTo: ['d'], overdueSteps: null, raisedAt: new Date('2026-12-03T00:00:00Z') }),
];

const filters: Record<string, unknown>[] = [
  {},
  { $and: [{}] },
  { $and: [{ visibleTo: 's1' }] },
  { $and: [{ visibleTo: 's1' }, { status: { $in: ['DISPATCHED', 'CLOSED'] } }] },
  { $and: [{ $and: [{ visibleTo: 'd' }] }, { handlingUnitId: 's1' }] },
  { visibleTo: 'd', status: 'RAISED' },
  { $or: [{ visibleTo: 's2' }, { followers: 'o1' }] },
  { 'raisedBy.subject': 'u1' },
  { handlingUnitId: 's1', status: 'DISPATCHED' },
  { $or: [{ handlingUnitId: 's1' }, { coHandlingUnitIds: 's1' }], status: { $in: ['COMPLETED', 'DISPATCHED'] } },
  { callerUnitId: 's1', status: 'COMPLETED' },
  { handlingUnitId: 'nobody' },
  { 'pendingRequest.kind': 'DISPATCH' },
  { 'overdueSteps.0': { $exists: true } },
  { 'overdueSteps.0': { $exists: false } },
  // The district counters' overdue count (resolvers.ts counters).
  { visibleTo: 'd', status: { $in: ['DISPATCHED', 'RAISED'] }, 'overdueSteps.0': { $exists: true } },
  { 'overdueSteps.0': { $exists: 1 } },
  { 'visibleTo.0': { $exists: true } },
  // $or branches matched one by one: plain, nested, and one left to sift.
  { $or: [{ handlingUnitId: 's1' }, { coHandlingUnitIds: 's1' }] },
  { $or: [{ $and: [{ visibleTo: 'd' }, { status: 'RAISED' }] }, { 'raisedBy.subject': 'u2' }] },
  { $or: [{ $or: [{ _id: 'd' }] }, { title: { $regex: '噪音' } }], visibleTo: { $ne: 's2' } },
  { $and: [{ visibleTo: 'd' }, { raisedAt: { $gte: new Date('2026-11-15T00:00:00Z') } }, { $or: [{ title: { $regex: '灯' } }, { description: { $regex: '灯' } }] }] },
  { $and: [{ visibleTo: 'd' }, { $or: [{ raisedAt: { $lt: new Date('2026-12-02T00:00:00Z') } }, { raisedAt: new Date('2026-12-02T00:00:00Z'), _id: { $lt: 'c' } }] }] },
  { _id: { $in: [] } },
  // The duplicate check's candidates (duplicates.ts): another open call of the category in a window.
  { $and: [{}, { _id: { $ne: 'a' }, status: { $in: ['DISPATCHED', 'RAISED'] }, raisedAt: { $gte: new Date('2026-11-01T00:00:00Z'), $lte: new Date('2026-12-02T00:00:00Z') } }] },
  { _id: { $ne: 'c' }, raisedAt: { $gt: new Date('2026-11-01T00:00:00Z'), $lt: new Date('2026-12-02T00:00:00Z') } },
  { visibleTo: { $in: ['s2', 'g1'] } },
  { visibleTo: { $ne: 's1' } },
  { callerUnitId: { $ne: 's1' } },
  { callerUnitId: { $in: ['s1'] } },
  { title: { $gte: new Date('2026-11-01T00:00:00Z') } },
];

describe('matcherOf', () => {
  it.each(filters.map((filter) => [JSON.stringify(filter), filter] as const))('matches as sift does: %s', (_, filter) => {
    const ours = calls.filter(matcherOf(filter)).map((c) => c._id);
    const theirs = calls.filter(sift.default(filter)).map((c) => c._id);
    expect(ours).toEqual(theirs);
  });
});

describe('earliestTime', () => {
  it('is the latest lower bound a filter puts on a date, in any of its $ands', () => {
    const nov = new Date('2026-11-01T00:00:00Z');
    const dec = new Date('2026-12-01T00:00:00Z');
    expect(earliestTime({ raisedAt: { $gte: nov } }, 'raisedAt')).toBe(nov.getTime());
    expect(earliestTime({ $and: [{ raisedAt: { $gt: nov } }, { $and: [{ raisedAt: { $gte: dec, $lte: dec } }] }] }, 'raisedAt')).toBe(dec.getTime());
    // No bound: an upper one only, one on another field, one inside an $or (not every call's), not a date.
    expect(earliestTime({ raisedAt: { $lte: dec } }, 'raisedAt')).toBeUndefined();
    expect(earliestTime({ updatedAt: { $gte: dec } }, 'raisedAt')).toBeUndefined();
    expect(earliestTime({ $or: [{ raisedAt: { $gte: dec } }, { status: 'RAISED' }] }, 'raisedAt')).toBeUndefined();
    expect(earliestTime({ raisedAt: { $gte: '2026-12-01' } }, 'raisedAt')).toBeUndefined();
  });

  it('lets no call older than it match (a scan newest first may stop there)', () => {
    for (const filter of filters) {
      const earliest = earliestTime(filter, 'raisedAt');
      if (earliest === undefined) continue;
      const older = calls.filter((c) => c.raisedAt.getTime() < earliest);
      expect(older.filter(sift.default(filter))).toEqual([]);
    }
  });
});
