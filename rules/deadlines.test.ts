import { describe, expect, it } from 'vitest';
import { type CalendarOverride, calendarWith, formatShanghai, shanghaiTime, WorkCalendar } from './calendar.ts';
import {
  applyDuration,
  computeDeadlines,
  DEFAULT_POLICY,
  DEFAULT_RULES,
  dueSoon,
  floodInspection,
  hotlineDeadline,
  hotlineEmergencyDeadline,
  hotlineLimit,
  isUtilityMatter,
  loadRules,
  nextPetitionAppeal,
  parseAppealType,
  petitionDeadline,
  PolicyError,
  validateDuration,
  validatePolicy,
} from './deadlines.ts';

const at = (day: string, time: string) => shanghaiTime(day, time);
const calendar = new WorkCalendar();
const NOTE_2027 = '2027年无官方节假日数据，按周末规则推算 (no official holiday data for 2027; weekends only)';
// TEST DATA, made up (the State Council's 2027 notice does not exist yet): New Year's Day Fri 2027-01-01
// off, declared complete, as an operator would load the real notice.
const NEW_YEAR_2027: CalendarOverride[] = [{ date: '2027-01-01', kind: 'holiday', name: '元旦' }];
const with2027 = calendarWith({ years: [{ year: 2027, notice: '测试用通知（非官方）' }], days: NEW_YEAR_2027 });

function policyErrorOf(input: unknown): PolicyError {
  try {
    validatePolicy(input);
  } catch (err) {
    if (err instanceof PolicyError) return err;
    throw err;
  }
  throw new Error('validatePolicy accepted the table');
}

describe('the default policy', () => {
  it('is a valid table, also after a JSON round trip', () => {
    expect(validatePolicy(DEFAULT_POLICY)).toBe(DEFAULT_POLICY);
    expect(validatePolicy(JSON.parse(JSON.stringify(DEFAULT_POLICY)))).toEqual(DEFAULT_POLICY);
  });

  it('holds the reported department limits', () => {
    expect(DEFAULT_POLICY.department.normal).toEqual({
      sign: { amount: 1, unit: 'working_days', rule: 'next_day' },
      respond: { amount: 2, unit: 'days' },
      complete: { amount: 5, unit: 'working_days', rule: 'next_day' },
    });
    expect(DEFAULT_POLICY.department.urgent.sign).toEqual({ amount: 2, unit: 'hours' });
  });
});

describe('computeDeadlines', () => {
  it('clocks start on receipt: a department call from a street across National Day 2026', () => {
    // Received (dispatched to the department) Mon 9/28 15:00; when it signs changes nothing.
    // sign: 1 working day, the day of receipt not counted → the end of Tue 9/29, 18:00.
    // respond: 2 plain days (reports) → Wed 9/30 15:00.
    // complete: 5 working days, the day of receipt not counted: 9/29 (1), 9/30 (2), 10/1–10/7 off,
    //   10/8 (3), 10/9 (4), Sat 10/10 adjusted working day (5) → 10/10 18:00.
    const d = computeDeadlines(DEFAULT_POLICY, 'department', 'normal', at('2026-09-28', '15:00'), calendar);
    expect(formatShanghai(d.sign)).toBe('2026-09-29 18:00');
    expect(formatShanghai(d.respond)).toBe('2026-09-30 15:00');
    expect(formatShanghai(d.complete)).toBe('2026-10-10 18:00');
    expect(d.notes).toEqual([]);
  });

  it('emergencies run around the clock: an urgent call counts calendar hours over National Day', () => {
    // A 水浸点 (三防 incident, urgent) at a street on 10/1 10:00: sign 2 h → 12:00, respond 4 h → 14:00,
    // complete 48 h → 10/3 10:00 (on working hours it was due 10/9).
    const street = computeDeadlines(DEFAULT_POLICY, 'street', 'urgent', at('2026-10-01', '10:00'), calendar);
    expect([street.sign, street.respond, street.complete].map(formatShanghai)).toEqual([
      '2026-10-01 12:00',
      '2026-10-01 14:00',
      '2026-10-03 10:00',
    ]);
    // A department, received Wed 9/30 17:00: 19:00, 21:00, Fri 10/2 17:00.
    const dept = computeDeadlines(DEFAULT_POLICY, 'department', 'urgent', at('2026-09-30', '17:00'), calendar);
    expect([dept.sign, dept.respond, dept.complete].map(formatShanghai)).toEqual([
      '2026-09-30 19:00',
      '2026-09-30 21:00',
      '2026-10-02 17:00',
    ]);
    expect(dept.notes).toEqual([]);
  });

  it('source limit is an outer bound: a 12345 咨询 due 9/30 18:00 stays due then after a call-up', () => {
    // Called up to the community Tue 9/29 10:00; community normal: sign 4 working hours → 9/29 15:30,
    // respond 1 working day → 9/30 18:00, complete 3 working days → 9/30, 10/8, 10/9 → 10/9 18:00,
    // capped at the source limit 9/30 18:00.
    const limit = at('2026-09-30', '18:00');
    const d = computeDeadlines(DEFAULT_POLICY, 'community', 'normal', at('2026-09-29', '10:00'), calendar, { limit });
    expect([d.sign, d.respond, d.complete].map(formatShanghai)).toEqual(['2026-09-29 15:30', '2026-09-30 18:00', '2026-09-30 18:00']);
  });

  it('steps in order: no step is due after the step it precedes (sign ≤ respond ≤ complete)', () => {
    // A street call received Fri 10/16 21:00 whose source limit is Sat 10/17 21:00.
    // Street normal: sign 4 working hours → Mon 10/19 09:00–12:00, 13:30–14:30 → 14:30; respond 1
    // working day → Mon 18:00; complete 5 working days → Fri 10/23 18:00. All three clamp to Sat 21:00.
    const limit = at('2026-10-17', '21:00');
    const d = computeDeadlines(DEFAULT_POLICY, 'street', 'normal', at('2026-10-16', '21:00'), calendar, { limit });
    expect([d.sign, d.respond, d.complete].map(formatShanghai)).toEqual(['2026-10-17 21:00', '2026-10-17 21:00', '2026-10-17 21:00']);
    // The department's 48-hour respond is earlier than its working-day sign: received Fri 10/16 17:00,
    // sign 1 working day → Mon 10/19 18:00, respond → Sun 10/18 17:00: sign clamps to Sun 17:00.
    const dept = computeDeadlines(DEFAULT_POLICY, 'department', 'normal', at('2026-10-16', '17:00'), calendar);
    expect(formatShanghai(dept.sign)).toBe('2026-10-18 17:00');
    expect(formatShanghai(dept.respond)).toBe('2026-10-18 17:00');
  });

  it('tier calls across Spring Festival 2026', () => {
    // Street normal received Fri 2/13 16:00: sign 4 working hours → 16–18 (2), Sat 2/14 (adjusted
    // working day) 09–11 → 2/14 11:00; respond 1 working day → 2/14 18:00; complete 5 working days →
    // 2/14 (1), 2/15–2/23 off, 2/24 (2), 2/25 (3), 2/26 (4), 2/27 (5) → 2/27 18:00.
    const d = computeDeadlines(DEFAULT_POLICY, 'street', 'normal', at('2026-02-13', '16:00'), calendar);
    expect([d.sign, d.respond, d.complete].map(formatShanghai)).toEqual(['2026-02-14 11:00', '2026-02-14 18:00', '2026-02-27 18:00']);
  });

  it('tier calls across New Year 2027, with and without an override table', () => {
    // Department normal received Wed 2026-12-30 10:00. sign: Thu 12/31 18:00; respond: 48 h →
    // 2027-01-01 10:00. complete without a table: 12/31 (1), Fri 1/1 (2, no data: counted as working),
    // 1/4 (3), 1/5 (4), 1/6 (5) → 1/6 18:00, with the 2027 note.
    const d = computeDeadlines(DEFAULT_POLICY, 'department', 'normal', at('2026-12-30', '10:00'), calendar);
    expect(formatShanghai(d.sign)).toBe('2026-12-31 18:00');
    expect(formatShanghai(d.respond)).toBe('2027-01-01 10:00');
    expect(formatShanghai(d.complete)).toBe('2027-01-06 18:00');
    expect(d.notes).toEqual([NOTE_2027]);
    // With the table (1/1 off, 2027 declared complete): 12/31 (1), 1/4 (2) … 1/7 (5) → 1/7 18:00, no note.
    const t = computeDeadlines(DEFAULT_POLICY, 'department', 'normal', at('2026-12-30', '10:00'), with2027);
    expect(formatShanghai(t.complete)).toBe('2027-01-07 18:00');
    expect(t.notes).toEqual([]);
  });

  it('tier table (default): leadership normal, and the urgent rows of grid, community and leadership', () => {
    // Leadership normal, received Tue 9/29 10:00: sign 1 working day → 9/30 18:00; respond 2 working
    // days → 9/30, 10/8 → 10/8 18:00; complete 10 working days → 9/30 (1), 10/8 (2), 10/9 (3), Sat 10/10
    // (4), 10/12–10/16 (5–9), 10/19 (10) → 10/19 18:00.
    const lead = computeDeadlines(DEFAULT_POLICY, 'leadership', 'normal', at('2026-09-29', '10:00'), calendar);
    expect([lead.sign, lead.respond, lead.complete].map(formatShanghai)).toEqual(['2026-09-30 18:00', '2026-10-08 18:00', '2026-10-19 18:00']);
    // Urgent, received Thu 10/1 10:00 (a holiday): grid 1 h / 2 h / 4 h; community 1 h / 2 h / 24 h;
    // leadership 2 h / 4 h / 72 h.
    const urgent = (tier: 'grid' | 'community' | 'leadership') => {
      const d = computeDeadlines(DEFAULT_POLICY, tier, 'urgent', at('2026-10-01', '10:00'), calendar);
      return [d.sign, d.respond, d.complete].map(formatShanghai);
    };
    expect(urgent('grid')).toEqual(['2026-10-01 11:00', '2026-10-01 12:00', '2026-10-01 14:00']);
    expect(urgent('community')).toEqual(['2026-10-01 11:00', '2026-10-01 12:00', '2026-10-02 10:00']);
    expect(urgent('leadership')).toEqual(['2026-10-01 12:00', '2026-10-01 14:00', '2026-10-04 10:00']);
  });

  it('uses the grid row for a grid', () => {
    // Grid, normal, received Tue 9/29 11:00: sign 2 working hours → 11–12, 13:30–14:30;
    // respond 4 working hours → 11–12 (1), 13:30–16:30 (3); complete 1 working day → Wed 9/30 18:00.
    const d = computeDeadlines(DEFAULT_POLICY, 'grid', 'normal', at('2026-09-29', '11:00'), calendar);
    expect(formatShanghai(d.sign)).toBe('2026-09-29 14:30');
    expect(formatShanghai(d.respond)).toBe('2026-09-29 16:30');
    expect(formatShanghai(d.complete)).toBe('2026-09-30 18:00');
  });
});

describe('applyDuration', () => {
  it('applies each unit', () => {
    const from = at('2026-09-30', '17:00');
    expect(formatShanghai(applyDuration(from, { amount: 3, unit: 'hours' }, calendar).due)).toBe('2026-09-30 20:00');
    expect(formatShanghai(applyDuration(from, { amount: 1.5, unit: 'days' }, calendar).due)).toBe('2026-10-02 05:00');
    // next_day: 10/1 (1), 10/2 (2) → the end of 10/2.
    expect(formatShanghai(applyDuration(from, { amount: 2, unit: 'days', rule: 'next_day' }, calendar).due)).toBe(
      '2026-10-03 00:00',
    );
    expect(formatShanghai(applyDuration(from, { amount: 1, unit: 'working_hours' }, calendar).due)).toBe(
      '2026-09-30 18:00',
    );
    expect(
      formatShanghai(applyDuration(from, { amount: 1, unit: 'working_days', rule: 'next_day' }, calendar).due),
    ).toBe('2026-10-08 18:00');
  });

  it('refuses a working-day duration without a rule', () => {
    expect(() => applyDuration(at('2026-09-30', '17:00'), { amount: 1, unit: 'working_days' }, calendar)).toThrowError(
      'duration: working_days needs a rule (next_day or include_start_day)',
    );
  });
});

describe('12345 hotline', () => {
  it('counts 投诉 15 working days from receipt, including the day itself', () => {
    // 9/29 (1), 9/30 (2), 10/8 (3), 10/9 (4), Sat 10/10 (5), 10/12–10/16 (6–10), 10/19–10/23 (11–15).
    const d = hotlineDeadline('complaint', at('2026-09-29', '15:00'), calendar);
    expect(formatShanghai(d.due)).toBe('2026-10-23 18:00');
    expect(d.notes).toEqual([]);
  });

  it('counts 咨询 2 working days into an adjusted working Sunday', () => {
    // Received Fri 9/18 15:00: 9/18 (1), Sat 9/19 off, Sun 9/20 adjusted working day (2).
    expect(formatShanghai(hotlineDeadline('consultation', at('2026-09-18', '15:00'), calendar).due)).toBe(
      '2026-09-20 18:00',
    );
  });

  it('counts 求助 10 working days over Mid-Autumn and National Day', () => {
    // 9/18 (1), 9/20 Sun worked (2), 9/21–9/24 (3–6), Fri 9/25 Mid-Autumn off, weekend,
    // 9/28 (7), 9/29 (8), 9/30 (9), 10/1–10/7 off, 10/8 (10).
    expect(formatShanghai(hotlineDeadline('help', at('2026-09-18', '15:00'), calendar).due)).toBe('2026-10-08 18:00');
  });

  it('reads appeal types by code or Chinese name', () => {
    expect(parseAppealType('投诉')).toBe('complaint');
    expect(parseAppealType(' 举报 ')).toBe('report');
    expect(parseAppealType('咨询')).toBe('consultation');
    expect(parseAppealType('suggestion')).toBe('suggestion');
    expect(parseAppealType('表扬')).toBeUndefined();
  });

  it('gives emergencies plain hours', () => {
    expect(formatShanghai(hotlineEmergencyDeadline('urgent', at('2026-10-01', '23:30')))).toBe('2026-10-02 01:30');
    expect(formatShanghai(hotlineEmergencyDeadline('utilities', at('2026-10-01', '23:30')))).toBe('2026-10-02 23:30');
  });

  it('12345 紧急 and 特急: both 2 hours, around the clock', () => {
    // Received Fri 10/16 21:00 as a 投诉: 2 hours → 23:00, not 15 working days.
    for (const urgency of ['紧急', '特急'] as const) {
      const d = hotlineLimit({ appealType: 'complaint', urgency }, at('2026-10-16', '21:00'), calendar);
      expect(formatShanghai(d.due)).toBe('2026-10-16 23:00');
      expect(d.basis).toBe('emergency');
    }
  });

  it('12345 水电气热: water, power, gas or heating is due in 24 hours, found in category or content', () => {
    expect(isUtilityMatter(['城乡建设', '供水'], '')).toBe(true);
    expect(isUtilityMatter([], '小区停电一整天，冰箱里的东西都坏了')).toBe(true);
    expect(isUtilityMatter(['城市管理'], '占道经营')).toBe(false);
    // A 求助 about no water received on National Day 10/1 08:00: 24 hours → 10/2 08:00.
    const d = hotlineLimit({ appealType: 'help', content: '整栋楼停水两天' }, at('2026-10-01', '08:00'), calendar);
    expect(formatShanghai(d.due)).toBe('2026-10-02 08:00');
    expect(d.basis).toBe('utilities');
  });

  it('12345 appeal type missing: the strictest limit (咨询, 2 working days), stated in a note', () => {
    // Received Tue 9/29 15:00: 9/29 (1), 9/30 (2) → 9/30 18:00, not the 投诉 limit of 10/23.
    const d = hotlineLimit({}, at('2026-09-29', '15:00'), calendar);
    expect(formatShanghai(d.due)).toBe('2026-09-30 18:00');
    expect(d.basis).toBe('strictest');
    expect(d.notes).toEqual(['诉求类型缺失，按最严时限计 (appeal type missing: the strictest limit applies)']);
  });

  it('12345 across National Day 2026, Spring Festival 2026 and New Year 2027 (with and without a table)', () => {
    // 咨询 received Wed 9/30 10:00: 9/30 (1), 10/1–10/7 off, 10/8 (2) → 10/8 18:00.
    expect(formatShanghai(hotlineLimit({ appealType: 'consultation' }, at('2026-09-30', '10:00'), calendar).due)).toBe('2026-10-08 18:00');
    // 咨询 received Fri 2/13 10:00: 2/13 (1), Sat 2/14 adjusted working day (2) → 2/14 18:00.
    expect(formatShanghai(hotlineLimit({ appealType: 'consultation' }, at('2026-02-13', '10:00'), calendar).due)).toBe('2026-02-14 18:00');
    // 咨询 received Thu 12/31 10:00: 12/31 (1), Fri 1/1 (2, no data) → 1/1 18:00 with the note;
    // with the table 1/1 is off: 12/31 (1), Mon 1/4 (2) → 1/4 18:00, no note.
    const guessed = hotlineLimit({ appealType: 'consultation' }, at('2026-12-31', '10:00'), calendar);
    expect([formatShanghai(guessed.due), guessed.notes]).toEqual(['2027-01-01 18:00', [NOTE_2027]]);
    const loaded = hotlineLimit({ appealType: 'consultation' }, at('2026-12-31', '10:00'), with2027);
    expect([formatShanghai(loaded.due), loaded.notes]).toEqual(['2027-01-04 18:00', []]);
  });
});

describe('信访 petitions', () => {
  it('routes within 15 days of receipt', () => {
    // The receipt day is not counted: 9/30 is day 1, 10/14 day 15 → the end of 10/14.
    expect(formatShanghai(petitionDeadline('route', at('2026-09-29', '10:00'), calendar).due)).toBe('2026-10-15 00:00');
  });

  it('民法典 第二百零三条: a last day on a holiday ends on the next working day (National Day, Spring Festival, New Year 2027)', () => {
    // Received 9/16: day 1 is 9/17, day 15 is 10/1, a holiday → the first working day after, 10/8 → 10/9 00:00.
    expect(formatShanghai(petitionDeadline('route', at('2026-09-16', '10:00'), calendar).due)).toBe('2026-10-09 00:00');
    // Received 2/1: day 15 is 2/16 (Spring Festival 2/15–2/23) → Tue 2/24 → 2/25 00:00.
    expect(formatShanghai(petitionDeadline('route', at('2026-02-01', '10:00'), calendar).due)).toBe('2026-02-25 00:00');
    // Received 12/17: day 15 is Fri 2027-01-01. Without data a working day → 1/2 00:00, with the note;
    // with the table a holiday, then the weekend → Mon 1/4 → 1/5 00:00, no note.
    const guessed = petitionDeadline('route', at('2026-12-17', '10:00'), calendar);
    expect([formatShanghai(guessed.due), guessed.notes]).toEqual(['2027-01-02 00:00', [NOTE_2027]]);
    const loaded = petitionDeadline('route', at('2026-12-17', '10:00'), with2027);
    expect([formatShanghai(loaded.due), loaded.notes]).toEqual(['2027-01-05 00:00', []]);
  });

  it('handles within 60 days of acceptance, extendable by at most 30', () => {
    // Accepted Sat 10/10: day 1 is 10/11; 10/31 is day 21, 11/30 day 51, 12/9 (Wed) day 60 → the end of 12/9.
    const accepted = at('2026-10-10', '16:00');
    expect(formatShanghai(petitionDeadline('handle', accepted, calendar).due)).toBe('2026-12-10 00:00');
    // 90 days: 12/31 is day 82, Fri 2027-01-08 day 90 → the end of 1/8.
    expect(formatShanghai(petitionDeadline('handle', accepted, calendar, { extensionDays: 30 }).due)).toBe(
      '2027-01-09 00:00',
    );
    expect(() => petitionDeadline('handle', accepted, calendar, { extensionDays: 31 })).toThrowError(
      'a petition extension is a whole number of days from 0 to 30, got 31',
    );
    expect(() => petitionDeadline('route', accepted, calendar, { extensionDays: 5 })).toThrowError(
      'only the handling limit can be extended, not route',
    );
  });

  it('gives 30 days to ask for 复查 and 30 to answer, then 复核, then nothing', () => {
    // Answer received 12/1: day 1 is 12/2, day 30 is Thu 12/31 → the end of 12/31; no 2027 day counted.
    const ask = petitionDeadline('request_review', at('2026-12-01', '09:00'), calendar);
    expect([formatShanghai(ask.due), ask.notes]).toEqual(['2027-01-01 00:00', []]);
    expect(formatShanghai(petitionDeadline('answer_rereview', at('2026-12-01', '09:00'), calendar).due)).toBe(
      '2027-01-01 00:00',
    );
    expect(nextPetitionAppeal('handle')).toBe('review');
    expect(nextPetitionAppeal('review')).toBe('rereview');
    expect(nextPetitionAppeal('rereview')).toBeUndefined();
  });
});

describe('三防 inspections', () => {
  it('gives each warning colour its hours, day or night', () => {
    const issued = at('2026-06-01', '03:20');
    const due = (colour: 'red' | 'orange' | 'yellow' | 'blue' | 'white') => formatShanghai(floodInspection({ colour }, issued, issued).due);
    expect(due('red')).toBe('2026-06-01 04:20');
    expect(due('orange')).toBe('2026-06-01 05:20');
    expect(due('yellow')).toBe('2026-06-01 07:20');
    expect(due('blue')).toBe('2026-06-01 15:20');
    expect(due('white')).toBe('2026-06-01 15:20');
    // By response level alone: IV → 12 hours.
    expect(formatShanghai(floodInspection({ level: 'IV' }, issued, issued).due)).toBe('2026-06-01 15:20');
  });

  it('三防 inspections across National Day, Spring Festival and New Year 2027: plain hours, no calendar', () => {
    // Red issued 10/1 08:00 → 09:00; the stricter of colour and level (yellow 4 h, level I 1 h) → 1 h.
    expect(formatShanghai(floodInspection({ colour: 'red' }, at('2026-10-01', '08:00'), at('2026-10-01', '08:05')).due)).toBe('2026-10-01 09:00');
    expect(floodInspection({ colour: 'yellow', level: 'I' }, at('2026-10-01', '08:00'), at('2026-10-01', '08:05')).hours).toBe(1);
    // Orange issued 2/17 23:00 (Spring Festival) → 2/18 01:00; yellow issued 12/31 22:00 → 2027-01-01 02:00.
    expect(formatShanghai(floodInspection({ colour: 'orange' }, at('2026-02-17', '23:00'), at('2026-02-17', '23:00')).due)).toBe('2026-02-18 01:00');
    expect(formatShanghai(floodInspection({ colour: 'yellow' }, at('2026-12-31', '22:00'), at('2026-12-31', '22:00')).due)).toBe('2027-01-01 02:00');
  });

  it('late 三防 orders are still orders: received after the limit, the inspection is marked late', () => {
    // Red issued 10/1 08:00, due 09:00; received by the hub at 09:00 → late (and still issued).
    expect(floodInspection({ colour: 'red' }, at('2026-10-01', '08:00'), at('2026-10-01', '09:00'))).toEqual({
      hours: 1,
      due: at('2026-10-01', '09:00'),
      late: true,
    });
    expect(floodInspection({ colour: 'red' }, at('2026-10-01', '08:00'), at('2026-10-01', '08:59')).late).toBe(false);
  });
});

describe('versioned rules', () => {
  it('versioned policy: a version takes effect on its day, keeps the earlier one before it, inherits what it leaves out', () => {
    const book = loadRules({
      versions: [
        { id: 'hp-2027', effectiveFrom: '2027-01-01', sources: { hotline: { consultation: { amount: 1, unit: 'working_days', rule: 'include_start_day' } } } },
      ],
    });
    expect(book.at(at('2026-12-31', '23:59')).id).toBe(DEFAULT_RULES.id);
    const v2027 = book.at(at('2027-01-01', '00:00'));
    expect(v2027.id).toBe('hp-2027');
    expect(v2027.sources.hotline.consultation.amount).toBe(1);
    expect(v2027.sources.hotline.complaint).toEqual(DEFAULT_RULES.sources.hotline.complaint);
    expect(v2027.deadlines).toBe(DEFAULT_POLICY);
    expect(book.byId('default-2026')).toBe(DEFAULT_RULES);
  });

  it('versioned policy: an old-style bare tier table (DEADLINE_POLICY_PATH) still loads, as one version', () => {
    const book = loadRules(JSON.parse(JSON.stringify(DEFAULT_POLICY)));
    expect(book.versions.map((v) => v.id)).toEqual(['operator-table']);
    expect(book.at(at('2026-10-01', '10:00')).deadlines).toEqual(DEFAULT_POLICY);
  });

  it('versioned policy: refuses working-hour urgent rows, duplicate ids and days, and unknown tables', () => {
    const urgent = JSON.parse(JSON.stringify(DEFAULT_POLICY));
    urgent.street.urgent.complete = { amount: 2, unit: 'working_days', rule: 'next_day' };
    expect(() => validatePolicy(urgent)).toThrowError('street.urgent.complete: urgent calls run around the clock; use hours or days, not working_days');
    expect(() =>
      loadRules({
        versions: [
          { id: 'a', effectiveFrom: '2027-01-01' },
          { id: 'a', effectiveFrom: '2027-01-01', sources: { weather: {} } },
        ],
      }),
    ).toThrowError('versions[1]: id "a" is used twice; versions[1]: two versions take effect on 2027-01-01; versions[1].sources: unknown table "weather"');
    expect(() => loadRules({ versions: [{ id: 'b', effectiveFrom: '2027-01-01', sources: { flood: { red: { amount: 1, unit: 'working_hours' } } } }] })).toThrowError(
      'versions[0].sources.flood.red: emergencies run around the clock; use hours',
    );
  });
});

describe('validatePolicy', () => {
  type LooseTable = Record<string, Record<string, Record<string, unknown>>>;
  const withRow = (mutate: (policy: LooseTable) => void): unknown => {
    const policy = JSON.parse(JSON.stringify(DEFAULT_POLICY)) as LooseTable;
    mutate(policy);
    return policy;
  };

  it('names the bad row and what is wrong with it', () => {
    expect(() =>
      validatePolicy(
        withRow((p) => {
          p.department!.urgent!.complete = { amount: -1, unit: 'working_days', rule: 'next_day' };
        }),
      ),
    ).toThrowError('deadline policy: department.urgent.complete: amount must be a positive number, got -1');
    expect(() =>
      validatePolicy(
        withRow((p) => {
          p.grid!.normal!.sign = { amount: 2, unit: 'weeks' };
        }),
      ),
    ).toThrowError(
      'deadline policy: grid.normal.sign: unit must be one of hours, working_hours, days, working_days, got "weeks"',
    );
    expect(() =>
      validatePolicy(
        withRow((p) => {
          p.street!.normal!.complete = { amount: 5, unit: 'working_days' };
        }),
      ),
    ).toThrowError('deadline policy: street.normal.complete: working_days needs a rule (next_day or include_start_day)');
  });

  it('reports every bad row at once', () => {
    const error = policyErrorOf(
      withRow((p) => {
        p.depatment = p.department!;
        delete p.leadership;
        delete p.street!.urgent;
        p.community!.normal!.respond = { amount: 1.5, unit: 'working_days', rule: 'next_day' };
        p.grid!.urgent!.sign = { amount: 1, unit: 'working_hours', rule: 'next_day' };
        p.grid!.urgent!.escalate = { amount: 1, unit: 'hours' };
        delete p.department!.normal!.respond;
      }),
    );
    expect(error.problems).toEqual([
      'unknown tier "depatment" (tiers: grid, community, street, department, leadership)',
      'grid.urgent: unknown step "escalate"',
      'grid.urgent.sign: a rule applies only to days and working_days, not working_hours',
      'grid.urgent.sign: urgent calls run around the clock; use hours or days, not working_hours',
      'community.normal.respond: working_days counted by a rule must be a whole number, got 1.5',
      'street.urgent: missing (expected sign, respond and complete)',
      'department.normal.respond: missing',
      'leadership: missing (expected normal and urgent rows)',
    ]);
  });

  it('rejects what is not a table', () => {
    expect(() => validatePolicy([])).toThrowError('deadline policy: expected an object keyed by tier');
    expect(() => validateDuration({ amount: 2, unit: 'hours', rule: 'sometimes' }, 'hotline.help')).toThrowError(
      'deadline policy: hotline.help: rule must be next_day or include_start_day, got "sometimes"',
    );
  });
});

describe('dueSoon', () => {
  // A 10-hour limit: 10:00 → 20:00; half is reached at 15:00, four fifths at 18:00.
  const start = at('2026-09-29', '10:00');
  const due = at('2026-09-29', '20:00');

  it('returns the highest share reached', () => {
    expect(dueSoon(at('2026-09-29', '14:59'), start, due)).toBeUndefined();
    expect(dueSoon(at('2026-09-29', '15:00'), start, due)).toBe(0.5);
    expect(dueSoon(at('2026-09-29', '17:59'), start, due)).toBe(0.5);
    expect(dueSoon(at('2026-09-29', '18:00'), start, due)).toBe(0.8);
    expect(dueSoon(at('2026-09-29', '21:00'), start, due)).toBe(0.8);
    expect(dueSoon(at('2026-09-29', '20:00'), start, due, [0.25, 1, 0.75])).toBe(1);
    expect(dueSoon(at('2026-09-29', '12:30'), start, due, [0.25, 1, 0.75])).toBe(0.25);
  });

  it('rejects a share outside (0, 1]', () => {
    expect(() => dueSoon(start, start, due, [0.5, 1.5])).toThrowError('a warning share must be in (0, 1], got 1.5');
  });
});
