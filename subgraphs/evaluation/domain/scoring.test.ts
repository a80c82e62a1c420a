// The projection's rules and both schemes on a month worked out by hand (domain/month.fixture.ts),
// plus the month rules: late facts, closed months, and order independence.
import { describe, expect, it } from 'vitest';
import { WorkCalendar } from '../../../rules/calendar.ts';
import { CallScript } from '../scripted-calls.ts';
import { contributions, ledgerOf, mergeObservations, observe, perfKey, type Vector } from './ledger.ts';
import { DEPT, marchCalls, OTHER_DEPT, STREET } from './month.fixture.ts';
import { MonthClosing, requirePeriod } from './period.ts';
import { DEFAULT_SCHEMES, effectsOf, Schemes, scoreOf, sumVectors } from './schemes.ts';

const closing = new MonthClosing(new WorkCalendar(), 5);
const schemes = new Schemes(DEFAULT_SCHEMES);
const huangpu = schemes.select('huangpu', '2026-03')!;
const beijing = schemes.select('huangpu', '2026-03', 'BEIJING')!;

function totals(calls: CallScript[]): Map<string, Vector> {
  const byDoc = new Map<string, Vector[]>();
  for (const call of calls) {
    for (const [key, v] of contributions(call.events.map(observe), [STREET], closing)) byDoc.set(key, [...(byDoc.get(key) ?? []), v]);
  }
  return new Map([...byDoc].map(([k, vs]) => [k, sumVectors(vs)]));
}

describe('months', () => {
  it('close at the end of the 5th working day of the next month (清明 2026: 4–6 April off)', () => {
    // April 2026: 1, 2, 3 worked; 4–6 清明 off; 7, 8 → the 5th working day is 8 April.
    expect(closing.closesAt('2026-03').toISOString()).toBe('2026-04-08T16:00:00.000Z');
    expect(closing.isClosed('2026-03', '2026-04-08T15:59:59Z')).toBe(false);
    expect(closing.isClosed('2026-03', '2026-04-08T16:00:00Z')).toBe(true);
  });

  it('are written YYYY-MM and may not lie in the future', () => {
    const now = new Date('2026-11-22T10:00:00Z');
    expect(requirePeriod('2026-11', now)).toBe('2026-11');
    for (const bad of ['2026-13', '2026-1', '26-01', '', '1999-12']) {
      expect(() => requirePeriod(bad, now)).toThrow(/考核月份无效/);
    }
    expect(() => requirePeriod('2026-12', now)).toThrow(/尚未开始/);
  });
});

describe('the hand-calculated month (March 2026)', () => {
  const figures = totals(marchCalls());
  const dept = figures.get(perfKey(DEPT, '2026-03')) as Vector;

  it('counts what happened to the department', () => {
    // Dispatched C1–C6, C8; signed all 7, C2 late; responded 6 (C6 reassigned first), C3 late;
    // completed C1, C2, C3 (the completion sent back does not count), C5, C8, all on time;
    // overdue: sign (C2), respond (C3); one rework; ratings 5, 3, 4, 2 (C8's came in May);
    // adjudications: won C6, lost C4.
    expect(dept).toEqual({
      dispatched: 7,
      signed: 7,
      signedOnTime: 6,
      responded: 6,
      respondedOnTime: 5,
      completed: 5,
      completedOnTime: 5,
      overdueSign: 1,
      overdueRespond: 1,
      urged: 2,
      reopened: 1,
      ratings: 4,
      stars5: 1,
      stars4: 1,
      stars3: 1,
      stars2: 1,
      contacted: 4,
      resolved: 3,
      adjudicationsWon: 1,
      adjudicationsLost: 1,
      entries: 36,
    });
  });

  it('scores the department 78.58 under the Huangpu scheme', () => {
    // 按时签收 30 × 6/7 = 25.7143; 及时响应办理 40 × (5 + 5)/(6 + 5) = 36.3636;
    // 满意度 30 × (1 + 0.6 + 0.8 + 0.2)/4 = 19.5; deductions: sign overdue 1, respond overdue 1,
    // rework 1 = 3. 25.7143 + 36.3636 + 19.5 − 3 = 78.5779 → 78.58.
    const score = scoreOf(huangpu, dept);
    expect(score.dimensions.map((d) => [d.key, d.points])).toEqual([
      ['SIGN_OFF', 25.7143],
      ['HANDLING', 36.3636],
      ['SATISFACTION', 19.5],
    ]);
    expect(score.deductions.map((d) => [d.key, d.points])).toEqual([
      ['overdueSign', 1],
      ['overdueRespond', 1],
      ['reopened', 1],
    ]);
    expect(score.score).toBe(78.58);
  });

  it('scores the department 76.5 under the Beijing scheme', () => {
    // 4 valid call-backs. 响应率 4/4 × 10 = 10; 解决率 3/4 × 50 = 37.5 (the 2-star call is not
    // resolved); 满意率 (5★ + 4★ + 0.9 × 3★)/4 × 40 = 2.9/4 × 40 = 29. Total 76.5.
    const score = scoreOf(beijing, dept);
    expect(score.dimensions.map((d) => [d.key, d.points])).toEqual([
      ['RESPONSE', 10],
      ['RESOLUTION', 37.5],
      ['SATISFACTION', 29],
    ]);
    expect(score.score).toBe(76.5);
  });

  it('scores the street two ways: its own answer to the community, and the call-up a department had overturned', () => {
    // C7: signed, responded and completed on time, 5 stars: 30 + 40 + 30; C6 overturned: −1.
    const street = figures.get(perfKey(STREET, '2026-03')) as Vector;
    expect(street).toMatchObject({ dispatched: 1, signed: 1, signedOnTime: 1, ratings: 1, stars5: 1, callUpsOverturned: 1 });
    expect(scoreOf(huangpu, street).score).toBe(99);
    // The department the call was reassigned to received it, and has nothing scored yet.
    const market = figures.get(perfKey(OTHER_DEPT, '2026-03')) as Vector;
    expect(market).toEqual({ dispatched: 1, entries: 1 });
    expect(scoreOf(huangpu, market).score).toBeNull();
  });

  it('books the rating given after March closed in May, marked as belonging to March', () => {
    const may = figures.get(perfKey(DEPT, '2026-05')) as Vector;
    expect(may).toEqual({ ratings: 1, stars5: 1, contacted: 1, resolved: 1, lateEntries: 1, entries: 1 });
    const c8 = marchCalls().find((c) => c.callId === 'M8') as CallScript;
    const rating = ledgerOf(c8.events.map(observe), closing).find((e) => e.fact === 'rating');
    expect(rating).toMatchObject({ period: '2026-05', belongsTo: '2026-03', stars: 5 });
  });

  it('explains each point: the entries of a month add up to its score', () => {
    const entries = marchCalls()
      .flatMap((c) => ledgerOf(c.events.map(observe), closing))
      .filter((e) => e.unit === DEPT && e.period === '2026-03');
    const effects = entries.flatMap((e) => effectsOf(huangpu, e, dept));
    const earned = effects.reduce((s, e) => s + e.earned, 0);
    const lost = effects.reduce((s, e) => s + e.lost, 0);
    // Earned points minus deductions is the score; earned plus lost in the dimensions is 100.
    const deductions = effects.filter((e) => e.dimension.startsWith('DEDUCTION_')).reduce((s, e) => s + e.lost, 0);
    expect(Math.round((earned - deductions) * 100) / 100).toBe(78.58);
    expect(Math.round((earned + lost - deductions) * 100) / 100).toBe(100);
    // The late sign-off of C2 cost 30/7 points of 按时签收.
    const lateSign = entries.find((e) => e.fact === 'sign' && !e.onTime) as (typeof entries)[number];
    expect(effectsOf(huangpu, lateSign, dept)).toEqual([{ dimension: 'SIGN_OFF', earned: 0, lost: 4.2857 }]);
  });
});

describe('order and repetition', () => {
  it('gives the same ledger for any order of a call\'s events, with duplicates', () => {
    for (const call of marchCalls()) {
      const observations = call.events.map(observe);
      const expected = ledgerOf(observations, closing);
      for (let round = 0; round < 20; round++) {
        const shuffled = [...observations, ...observations.slice(0, 2)].sort(() => Math.random() - 0.5);
        let merged: ReturnType<typeof observe>[] = [];
        for (const o of shuffled) merged = mergeObservations(merged, [o]);
        expect(ledgerOf(merged, closing)).toEqual(expected);
      }
    }
  });
});

describe('a closed month is never rewritten', () => {
  const at = (day: string) => `2026-${day}+08:00`;
  const history = () =>
    new CallScript('X1', STREET, at('04-20T08:00:00'))
      .assign(at('04-20T09:00:00'), DEPT, 'DEPARTMENT', { sign: at('04-21T09:00:00'), respond: at('04-22T09:00:00'), complete: at('04-24T18:00:00') })
      .sign(at('04-20T10:00:00'))
      .respond(at('04-20T11:00:00'))
      .urge(at('04-25T09:00:00'), ['COMPLETE']);

  it('an extension while April is open lifts the deduction from April', () => {
    const call = history().extend(at('05-06T10:00:00'), at('05-15T18:00:00'));
    const out = contributions(call.events.map(observe), [STREET], closing);
    expect(out.get(perfKey(DEPT, '2026-04'))?.overdueComplete).toBeUndefined();
  });

  it('an extension after April closed leaves April as it was and books the correction in June', () => {
    const call = history().extend(at('06-10T10:00:00'), at('06-20T18:00:00'));
    const out = contributions(call.events.map(observe), [STREET], closing);
    expect(out.get(perfKey(DEPT, '2026-04'))?.overdueComplete).toBe(1);
    expect(out.get(perfKey(DEPT, '2026-06'))).toEqual({ overdueComplete: -1, lateEntries: 1, entries: 1 });
  });
});
