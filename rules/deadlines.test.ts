import { describe, expect, it } from 'vitest';
import { formatShanghai, shanghaiTime, WorkCalendar } from './calendar.ts';
import {
  applyDuration,
  computeDeadlines,
  DEFAULT_POLICY,
  dueSoon,
  floodInspectionDeadline,
  hotlineDeadline,
  hotlineEmergencyDeadline,
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
    expect(DEFAULT_POLICY.department.urgent.sign).toEqual({ amount: 2, unit: 'working_hours' });
  });
});

describe('computeDeadlines', () => {
  it('gives a department call from a street its three deadlines across National Day 2026', () => {
    // Dispatched Mon 9/28 15:00, signed Tue 9/29 10:00.
    // sign: 1 working day after the dispatch day → the end of Tue 9/29, 18:00.
    // respond: 2 plain days from signing → Thu 10/1 10:00, inside the holiday (the reported limit is
    //   in calendar days).
    // complete: 5 working days from signing, the signing day not counted: 9/30 (1), 10/8 (2), 10/9 (3),
    //   Sat 10/10 adjusted working day (4), Mon 10/12 (5) → 10/12 18:00.
    const d = computeDeadlines(
      DEFAULT_POLICY,
      'department',
      'normal',
      at('2026-09-28', '15:00'),
      calendar,
      at('2026-09-29', '10:00'),
    );
    expect(formatShanghai(d.sign)).toBe('2026-09-29 18:00');
    expect(formatShanghai(d.respond)).toBe('2026-10-01 10:00');
    expect(formatShanghai(d.complete)).toBe('2026-10-12 18:00');
    expect(d.notes).toEqual([]);
  });

  it('counts an urgent department call in working hours over the holiday, provisionally from dispatch', () => {
    // Dispatched Wed 9/30 17:00, not yet signed.
    // sign: 2 working hours → 17:00–18:00 (1), 10/8 09:00–10:00 (2) → 10/8 10:00.
    // respond: 4 working hours → 17:00–18:00 (1), 10/8 09:00–12:00 (3) → 10/8 12:00.
    // complete: 2 working days, the dispatch day not counted → 10/8 (1), 10/9 (2) → 10/9 18:00.
    const d = computeDeadlines(DEFAULT_POLICY, 'department', 'urgent', at('2026-09-30', '17:00'), calendar);
    expect(formatShanghai(d.sign)).toBe('2026-10-08 10:00');
    expect(formatShanghai(d.respond)).toBe('2026-10-08 12:00');
    expect(formatShanghai(d.complete)).toBe('2026-10-09 18:00');
  });

  it('notes a year without official data, once', () => {
    // Dispatched and signed Wed 2026-12-30 10:00.
    // sign: Thu 12/31 18:00 (2026 is covered). respond: 2 plain days → 2027-01-01 10:00 (no calendar
    // used, no note). complete: 12/31 (1), Fri 2027-01-01 (2, no data so counted as working),
    // 1/4 (3), 1/5 (4), 1/6 (5) → 2027-01-06 18:00, with the 2027 note.
    const d = computeDeadlines(DEFAULT_POLICY, 'department', 'normal', at('2026-12-30', '10:00'), calendar);
    expect(formatShanghai(d.sign)).toBe('2026-12-31 18:00');
    expect(formatShanghai(d.respond)).toBe('2027-01-01 10:00');
    expect(formatShanghai(d.complete)).toBe('2027-01-06 18:00');
    expect(d.notes).toEqual([NOTE_2027]);
  });

  it('uses the grid row for a grid', () => {
    // Grid, normal, dispatched Tue 9/29 11:00: sign 2 working hours → 11–12, 13:30–14:30;
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
});

describe('信访 petitions', () => {
  it('routes within 15 days of receipt', () => {
    // The receipt day is not counted: 9/30 is day 1, 10/14 day 15 → the end of 10/14.
    expect(formatShanghai(petitionDeadline('route', at('2026-09-29', '10:00'), calendar))).toBe('2026-10-15 00:00');
  });

  it('handles within 60 days of acceptance, extendable by at most 30', () => {
    // Accepted Sat 10/10: day 1 is 10/11; 10/31 is day 21, 11/30 day 51, 12/9 day 60 → the end of 12/9.
    const accepted = at('2026-10-10', '16:00');
    expect(formatShanghai(petitionDeadline('handle', accepted, calendar))).toBe('2026-12-10 00:00');
    // 90 days: 12/31 is day 82, 2027-01-08 day 90 → the end of 1/8.
    expect(formatShanghai(petitionDeadline('handle', accepted, calendar, { extensionDays: 30 }))).toBe(
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
    // Answer received 12/1: day 1 is 12/2, day 30 is 12/31 → the end of 12/31.
    expect(formatShanghai(petitionDeadline('request_review', at('2026-12-01', '09:00'), calendar))).toBe(
      '2027-01-01 00:00',
    );
    expect(formatShanghai(petitionDeadline('answer_rereview', at('2026-12-01', '09:00'), calendar))).toBe(
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
    expect(formatShanghai(floodInspectionDeadline('red', issued))).toBe('2026-06-01 04:20');
    expect(formatShanghai(floodInspectionDeadline('orange', issued))).toBe('2026-06-01 05:20');
    expect(formatShanghai(floodInspectionDeadline('yellow', issued))).toBe('2026-06-01 07:20');
    expect(formatShanghai(floodInspectionDeadline('blue', issued))).toBe('2026-06-01 15:20');
    expect(formatShanghai(floodInspectionDeadline('white', issued))).toBe('2026-06-01 15:20');
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
