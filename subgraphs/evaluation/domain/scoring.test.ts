// The projection's rules and both schemes on a month worked out by hand (domain/month.fixture.ts),
// plus the month rules: late facts, closed months, and order independence.
import { describe, expect, it } from 'vitest';
import { WorkCalendar } from '../../../rules/calendar.ts';
import { CallScript } from '../scripted-calls.ts';
import { figuresOf } from '../counters.ts';
import { contributions, counterKey, ledgerOf, mergeObservations, observe, perfKey, type Vector } from './ledger.ts';
import { DEPT, ignoredAndLate, marchCalls, OTHER_DEPT, septemberCalls, STREET } from './month.fixture.ts';
import { MonthClosing, requirePeriod } from './period.ts';
import { DEFAULT_SCHEMES, effectsOf, Schemes, scoreOf, sumVectors, validateSchemes } from './schemes.ts';

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
      // Beijing: the streets' ratings stand in for call-backs (no call here is from the hotline).
      callbacks: 4,
      contacted: 4,
      resolved: 3,
      satisfied: 2,
      basic: 1,
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
    expect(may).toEqual({ ratings: 1, stars5: 1, callbacks: 1, contacted: 1, resolved: 1, satisfied: 1, lateEntries: 1, entries: 1 });
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
    // April keeps the overdue completion, the missed completion and its unrated item.
    expect(out.get(perfKey(DEPT, '2026-04'))).toMatchObject({ overdueComplete: 1, completed: 1, unrated: 1, ratings: 1, callbacks: 1 });
    expect(out.get(perfKey(DEPT, '2026-04'))?.completedOnTime).toBeUndefined();
    // June undoes the three entries the extension lifted.
    expect(out.get(perfKey(DEPT, '2026-06'))).toEqual({
      overdueComplete: -1,
      completed: -1,
      unrated: -1,
      ratings: -1,
      callbacks: -1,
      lateEntries: 3,
      entries: 3,
    });
  });
});

describe('A step not taken is missed when its deadline passes (DOMAIN.md "Rules the hub must not bend")', () => {
  const { ignored, late } = ignoredAndLate();
  const sheet = (call: CallScript) => totals([call]).get(perfKey(DEPT, '2026-09')) as Vector;

  it('doing nothing never beats doing the work late: the ignored call scores 0, the late sign-off 69 (Huangpu)', () => {
    // Ignored: sign, respond, complete all missed (0/1, 0/2), its satisfaction unrated (0/1);
    // deductions 3 overdue steps × 1: 0 + 0 + 0 − 3 → 0 (never below 0). It scored 97 when empty
    // dimensions read as full marks.
    const nothing = scoreOf(huangpu, sheet(ignored));
    expect(nothing.dimensions.map((d) => [d.key, d.items, d.points])).toEqual([
      ['SIGN_OFF', 1, 0],
      ['HANDLING', 2, 0],
      ['SATISFACTION', 1, 0],
    ]);
    expect(nothing.score).toBe(0);
    // Late by a minute: 按时签收 0/1 → 0; 及时响应办理 2/2 → 40; 5★ → 30; sign overdue −1 → 69.
    expect(scoreOf(huangpu, sheet(late)).score).toBe(69);
  });

  it('the ignored call also counts in the Beijing rates, as a call-back answering no, no, unsatisfied', () => {
    // Ignored: 1 valid call-back, nothing contacted, resolved or satisfied → 0. Late: the street's
    // 5★ stands in: responded, completed and ≥ 3★, satisfied → 10 + 50 + 40 = 100.
    expect(scoreOf(beijing, sheet(ignored)).score).toBe(0);
    expect(scoreOf(beijing, sheet(late)).score).toBe(100);
  });

  it('a missed completion stands in for a call-back only until the citizen\'s own call-back comes', () => {
    // A 12345 order the department ignores; the 12345 centre calls the citizen back anyway (the unit
    // did contact them, nothing resolved, 不满意). Beijing counts that one call-back, not a stand-in:
    // 响应率 1/1 × 10 = 10, 解决率 0, 满意率 0 → 10. Huangpu still books the unrated item.
    const call = new CallScript('MC', STREET, '2026-09-01T08:00:00+08:00', 'STREET', { source: 'HOTLINE' })
      .assign('2026-09-01T09:00:00+08:00', DEPT, 'DEPARTMENT', {
        sign: '2026-09-02T09:00:00+08:00',
        respond: '2026-09-03T09:00:00+08:00',
        complete: '2026-09-08T18:00:00+08:00',
      })
      .urge('2026-09-08T18:00:00+08:00', ['SIGN', 'RESPOND', 'COMPLETE']);
    expect(sheet(call)).toMatchObject({ unrated: 1, ratings: 1, callbacks: 1, entries: 9 });
    call.callback('2026-09-10T10:00:00+08:00', { contacted: true, resolved: false, satisfaction: 'UNSATISFIED' }, 'recorded');
    expect(sheet(call)).toMatchObject({ unrated: 1, ratings: 1, callbacks: 1, contacted: 1 });
    expect(scoreOf(beijing, sheet(call)).score).toBe(10);
  });

  it('an empty dimension scores nothing and does not count: the dimensions with items share the 100', () => {
    // A unit whose only fact is one on-time completion: 及时响应办理 1/1 over the weight 40, scaled to
    // 100/40 → 100; 按时签收 and 满意度 have no items and no points.
    const v = { completed: 1, completedOnTime: 1 };
    const score = scoreOf(huangpu, v);
    expect(score.dimensions.map((d) => [d.key, d.rate, d.points])).toEqual([
      ['SIGN_OFF', null, 0],
      ['HANDLING', 1, 100],
      ['SATISFACTION', null, 0],
    ]);
    expect(score.score).toBe(100);
  });
});

describe('the hand-calculated month with an ignored call, a late sign-off, a grid-resolved call, a late rating and a 不满意 call-back (September 2026)', () => {
  const figures = totals(septemberCalls());
  const dept = figures.get(perfKey(DEPT, '2026-09')) as Vector;

  it('September closes at the end of 13 October (1–7 October off, 10 October worked)', () => {
    // October 2026 working days: 8, 9, 10 (调休 Saturday), 12, 13 → the 5th is 13 October.
    expect(closing.closesAt('2026-09').toISOString()).toBe('2026-10-13T16:00:00.000Z');
  });

  it('counts what happened to the department', () => {
    // S1 ignored: sign, respond, complete missed (each an item not on time), 3 overdue, unrated.
    // S2: sign late (overdue), respond and complete on time, 5★. S3: all on time (its 4★ came in
    // October). S4: on time, completed, 不满意 → rework (the first completion withdrawn), completed
    // again on time; its closing call-back's 基本满意 is its rating (3★).
    // Signs 4 (on time S3, S4); responds 4 (on time S2–S4); completions 4 (on time S2–S4);
    // ratings 3: unrated S1, 5★ S2, 3★ S4. Beijing call-backs 4: S1 unrated (no, no, unsatisfied),
    // S2's 5★ standing in (contacted, resolved, satisfied), S4's two 12345 call-backs (contacted,
    // not resolved, 不满意) and (contacted, resolved, 基本满意).
    expect(dept).toEqual({
      dispatched: 4,
      signed: 4,
      signedOnTime: 2,
      responded: 4,
      respondedOnTime: 3,
      completed: 4,
      completedOnTime: 3,
      overdueSign: 2,
      overdueRespond: 1,
      overdueComplete: 1,
      urged: 4,
      reopened: 1,
      ratings: 3,
      unrated: 1,
      stars5: 1,
      stars3: 1,
      callbacks: 4,
      contacted: 3,
      resolved: 2,
      satisfied: 1,
      basic: 1,
      // S1 11 (dispatched, 3 overdue, 3 urges, 3 missed steps, unrated), S2 7, S3 4, S4 8 (dispatched,
      // sign, respond, complete, rework, 2 call-backs, rating).
      entries: 30,
    });
  });

  it('scores the department 56 under the Huangpu scheme', () => {
    // 按时签收 30 × 2/4 = 15; 及时响应办理 40 × (3 + 3)/(4 + 4) = 30;
    // 满意度 30 × (0 + 1 + 0.6)/3 = 16; deductions: overdue sign 2, respond 1, complete 1, rework 1 = 5.
    // 15 + 30 + 16 − 5 = 56.
    const score = scoreOf(huangpu, dept);
    expect(score.dimensions.map((d) => [d.key, d.points])).toEqual([
      ['SIGN_OFF', 15],
      ['HANDLING', 30],
      ['SATISFACTION', 16],
    ]);
    expect(score.deductions.map((d) => [d.key, d.count, d.points])).toEqual([
      ['overdueSign', 2, 2],
      ['overdueRespond', 1, 1],
      ['overdueComplete', 1, 1],
      ['reopened', 1, 1],
    ]);
    expect(score.score).toBe(56);
  });

  it('scores the department 51.5 under the Beijing scheme, from the call-backs\' own answers', () => {
    // 4 valid call-backs. 响应率 3/4 × 10 = 7.5; 解决率 2/4 × 50 = 25;
    // 满意率 (1 + 0.9 × 1)/4 × 40 = 19. 7.5 + 25 + 19 = 51.5.
    const score = scoreOf(beijing, dept);
    expect(score.dimensions.map((d) => [d.key, d.items, d.points])).toEqual([
      ['RESPONSE', 4, 7.5],
      ['RESOLUTION', 4, 25],
      ['SATISFACTION', 4, 19],
    ]);
    expect(score.score).toBe(51.5);
  });

  it('books the grid-resolved calls for their street: 49 under Huangpu, no Beijing score without call-backs', () => {
    // S5 (grid, on time) and S6 (another grid, completed late, urged): 及时响应办理 1/2 is the only
    // dimension with items, so it carries the 100: 50; overdue completion −1 → 49. Neither call has
    // a rating or call-back: nothing for the Beijing rates.
    const street = figures.get(perfKey(STREET, '2026-09')) as Vector;
    expect(street).toEqual({ completed: 2, completedOnTime: 1, overdueComplete: 1, urged: 1, entries: 4 });
    expect(scoreOf(huangpu, street).score).toBe(49);
    expect(scoreOf(beijing, street).score).toBeNull();
    // Nothing is booked for the grids themselves.
    expect([...figures.keys()].filter((k) => k.startsWith('perf|changzhou-c'))).toEqual([]);
  });

  it('books the rating that came after September closed in October, marked as belonging to September', () => {
    // S3's 4★ (20 October): Huangpu 满意度 0.8 is October's only dimension → 80; Beijing: it stands in
    // as contacted, resolved, satisfied → 100.
    const october = figures.get(perfKey(DEPT, '2026-10')) as Vector;
    expect(october).toEqual({ ratings: 1, stars4: 1, callbacks: 1, contacted: 1, resolved: 1, satisfied: 1, lateEntries: 1, entries: 1 });
    expect(scoreOf(huangpu, october).score).toBe(80);
    expect(scoreOf(beijing, october).score).toBe(100);
    const s3 = septemberCalls().find((c) => c.callId === 'S3') as CallScript;
    expect(ledgerOf(s3.events.map(observe), closing).find((e) => e.fact === 'rating')).toMatchObject({ period: '2026-10', belongsTo: '2026-09' });
  });

  it('books a call-back that arrives after its month closed in the month it arrives in', () => {
    // A 12345 call-back on 15 October judging a September completion: September is closed (13 October).
    const call = new CallScript('LCB', STREET, '2026-09-28T08:00:00+08:00', 'STREET', { source: 'HOTLINE' })
      .assign('2026-09-28T09:00:00+08:00', DEPT, 'DEPARTMENT', {
        sign: '2026-09-29T09:00:00+08:00',
        respond: '2026-09-30T09:00:00+08:00',
        complete: '2026-10-15T18:00:00+08:00',
      })
      .sign('2026-09-28T10:00:00+08:00')
      .respond('2026-09-28T11:00:00+08:00')
      .complete('2026-09-30T10:00:00+08:00')
      .callback('2026-10-15T10:00:00+08:00', { contacted: true, resolved: true, satisfaction: 'VERY_SATISFIED' }, 'closed');
    const entries = ledgerOf(call.events.map(observe), closing).filter((e) => e.fact === 'callback' || e.fact === 'rating');
    expect(entries.map((e) => [e.fact, e.period, e.belongsTo])).toEqual([
      ['rating', '2026-10', '2026-09'],
      ['callback', '2026-10', '2026-09'],
    ]);
  });

  it('explains each point: the entries of a month add up to its score under either scheme', () => {
    const entries = septemberCalls()
      .flatMap((c) => ledgerOf(c.events.map(observe), closing, STREET))
      .filter((e) => e.unit === DEPT && e.period === '2026-09');
    for (const [version, expected] of [[huangpu, 56], [beijing, 51.5]] as const) {
      const effects = entries.flatMap((e) => effectsOf(version, e, dept));
      const earned = effects.reduce((sum, e) => sum + e.earned, 0);
      const deductions = effects.filter((e) => e.dimension.startsWith('DEDUCTION_')).reduce((sum, e) => sum + e.lost, 0);
      expect(Math.round((earned - deductions) * 100) / 100).toBe(expected);
    }
  });
});

describe('scheme versions (DOMAIN.md "a scheme change applies only from its effective date")', () => {
  it('scores each month under the version in force then: a change from October leaves September as it was', () => {
    const v1 = DEFAULT_SCHEMES[0] as Extract<(typeof DEFAULT_SCHEMES)[number], { scheme: 'HUANGPU' }>;
    const v2 = { ...v1, version: 2, effectiveFrom: '2026-10', params: { ...v1.params, weights: { signOff: 20, handling: 40, satisfaction: 40 } } };
    const table = new Schemes(validateSchemes([...DEFAULT_SCHEMES, v2]));
    expect(table.select('huangpu', '2026-09')?.version).toBe(1);
    expect(table.select('huangpu', '2026-10')?.version).toBe(2);
    // September's department sheet: 56 under v1 (hand calculation above), whatever v2 says.
    const dept = totals(septemberCalls()).get(perfKey(DEPT, '2026-09')) as Vector;
    expect(scoreOf(table.select('huangpu', '2026-09')!, dept).score).toBe(56);
    // Under v2 it would be 20 × 2/4 + 40 × 6/8 + 40 × 1.6/3 − 5 = 10 + 30 + 21.3333 − 5 = 56.33.
    expect(scoreOf(table.select('huangpu', '2026-10')!, dept).score).toBe(56.33);
  });

  it('refuses a table that names a version twice', () => {
    expect(() => validateSchemes([...DEFAULT_SCHEMES, DEFAULT_SCHEMES[0]])).toThrow(/HUANGPU@1 appears twice/);
  });
});

describe('the dashboard counters\' on-time rate (按期结案率, GB/T 30428.4 via DOMAIN.md "数字城管 indicators")', () => {
  const street = (calls: CallScript[], period: string) => figuresOf(totals(calls).get(counterKey(STREET, period)) ?? {});

  it('on-time rate: completed by the completion deadline / due, September worked by hand (4 of 6 = 0.6667)', () => {
    // Due (done, or open past the completion deadline): all six.
    //   S1 ignored, completion missed 09-08 18:00 (open)            → due, not on time
    //   S2 completed 09-10 10:00, due 09-14 18:00                     → on time
    //   S3 completed 09-25 10:00, due 09-28 18:00                     → on time
    //   S4 reworked, completed again 09-22 10:00, rework due 09-23    → on time
    //   S5 closed at the grid 09-10 10:00, due 09-16 18:00            → on time
    //   S6 closed at the grid 09-28 10:00, due 09-25 18:00            → late
    const september = street(septemberCalls('OT'), '2026-09');
    expect({ completed: september.completed, onTimeRate: september.onTimeRate }).toEqual({ completed: 5, onTimeRate: 0.6667 });
  });

  it('on-time rate: an open call before its completion deadline is not yet due; an extension moves the deadline it is judged by', () => {
    // March: C1, C2, C3, C5, C7, C8 completed, each by its deadline; C4 and C6 open, none past it: 6 of 6.
    expect(street(marchCalls('OTM'), '2026-03').onTimeRate).toBe(1);
    const at = (day: string) => `2026-${day}+08:00`;
    const open = new CallScript('OT-X', STREET, at('05-04T08:00:00')).assign(at('05-04T09:00:00'), DEPT, 'DEPARTMENT', {
      sign: at('05-05T09:00:00'),
      respond: at('05-06T09:00:00'),
      complete: at('05-08T18:00:00'),
    });
    expect(street([open], '2026-05')).toMatchObject({ raised: 1, onTimeRate: 0 });
    // Extended (缓办) to 05-15 before the old deadline, completed 05-12: on time.
    const extended = open.sign(at('05-04T10:00:00')).extend(at('05-07T10:00:00'), at('05-15T18:00:00')).complete(at('05-12T10:00:00'));
    expect(street([extended], '2026-05').onTimeRate).toBe(1);
  });
});
