import { describe, expect, it } from 'vitest';
import {
  CalendarError,
  endOfCalendarDays,
  formatShanghai,
  shanghaiDay,
  shanghaiTime,
  WorkCalendar,
  yearsTouched,
  type CalendarOverride,
  calendarWith,
  validateHolidayTable,
} from './calendar.ts';

const at = (day: string, time: string) => shanghaiTime(day, time);
const calendar = new WorkCalendar();
const NOTE_2027 = '2027年无官方节假日数据，按周末规则推算 (no official holiday data for 2027; weekends only)';

// TEST DATA, made up for these tests (not the State Council's 2027 notice, which does not exist yet):
// Spring Festival off Fri 2027-02-05 to Fri 2027-02-12, adjusted working days Sun 2027-01-31 and
// Sat 2027-02-20.
const SPRING_2027: CalendarOverride[] = [
  ...['05', '06', '07', '08', '09', '10', '11', '12'].map(
    (d): CalendarOverride => ({ date: `2027-02-${d}`, kind: 'holiday', name: '春节' }),
  ),
  { date: '2027-01-31', kind: 'workday', name: '春节调休' },
  { date: '2027-02-20', kind: 'workday', name: '春节调休' },
];

describe('Shanghai time', () => {
  it('is UTC+8 all year', () => {
    expect(at('2026-09-29', '10:00').toISOString()).toBe('2026-09-29T02:00:00.000Z');
    expect(at('2026-01-15', '10:00').toISOString()).toBe('2026-01-15T02:00:00.000Z');
    // 16:30 UTC on 9/30 is 00:30 on 10/1 in Shanghai.
    expect(shanghaiDay(new Date('2026-09-30T16:30:00Z'))).toBe('2026-10-01');
    expect(formatShanghai(new Date('2026-09-30T16:30:00Z'))).toBe('2026-10-01 00:30');
  });

  it('lists every year a span touches', () => {
    expect(yearsTouched(at('2026-12-30', '10:00'), at('2027-01-04', '18:00'))).toEqual([2026, 2027]);
    expect(yearsTouched(at('2027-01-04', '18:00'), at('2026-12-30', '10:00'))).toEqual([2026, 2027]);
    // 2026-12-31 17:00 UTC is already 2027-01-01 01:00 in Shanghai.
    expect(yearsTouched(new Date('2026-12-31T15:00:00Z'), new Date('2026-12-31T17:00:00Z'))).toEqual([2026, 2027]);
  });
});

describe('the official 2026 calendar from chinese-days', () => {
  it('knows National Day 10/1–10/7 and the adjusted working Sunday 9/20 and Saturday 10/10', () => {
    expect(calendar.isWorkingDay('2026-09-20')).toBe(true); // Sunday, worked (调休)
    for (const d of ['01', '02', '03', '04', '05', '06', '07']) {
      expect(calendar.isWorkingDay(`2026-10-${d}`)).toBe(false);
    }
    expect(calendar.isWorkingDay('2026-10-08')).toBe(true); // Thursday
    expect(calendar.isWorkingDay('2026-10-09')).toBe(true); // Friday
    expect(calendar.isWorkingDay('2026-10-10')).toBe(true); // Saturday, worked (调休)
    expect(calendar.isWorkingDay('2026-10-11')).toBe(false); // ordinary Sunday
    expect(calendar.isWorkingDay('2026-09-25')).toBe(false); // Friday, Mid-Autumn Festival
    expect(calendar.dayInfo('2026-10-10')).toEqual({
      date: '2026-10-10',
      working: true,
      name: '国庆节',
      source: 'official',
    });
    expect(calendar.dayInfo('2026-10-01')).toEqual({
      date: '2026-10-01',
      working: false,
      name: '国庆节',
      source: 'official',
    });
  });

  it('has no 2027 data: weekdays work, weekends rest, and it says so', () => {
    expect(calendar.hasOfficialData(2026)).toBe(true);
    expect(calendar.hasOfficialData(2027)).toBe(false);
    expect(calendar.coverageNote(2026)).toBeUndefined();
    expect(calendar.coverageNote(2027)).toBe(NOTE_2027);
    // 2027-01-01 is a Friday: certainly New Year's Day, but without data it counts as working.
    expect(calendar.dayInfo('2027-01-01')).toEqual({ date: '2027-01-01', working: true, source: 'weekday_rule' });
    expect(calendar.isWorkingDay('2027-02-06')).toBe(false); // Saturday
  });

  it('does not depend on the process time zone', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(new Date(2026, 8, 30, 12).getTimezoneOffset()).toBe(240); // the zone really changed
      const fresh = new WorkCalendar();
      expect(fresh.isWorkingDay('2026-09-30')).toBe(true);
      expect(fresh.isWorkingDay('2026-09-20')).toBe(true);
      expect(formatShanghai(fresh.addWorkingDays(at('2026-09-29', '10:00'), 5, 'next_day'))).toBe(
        '2026-10-12 18:00',
      );
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('rejects a day that is not a real date', () => {
    expect(() => calendar.isWorkingDay('2026-02-30')).toThrowError('"2026-02-30" is not a date written YYYY-MM-DD');
    expect(() => calendar.isWorkingDay('2026/10/01')).toThrowError(CalendarError);
  });
});

describe('addWorkingDays', () => {
  it('counts a department call across National Day 2026 (next_day)', () => {
    // Signed Tue 2026-09-29 10:00, 5 working days, the signing day not counted:
    // 9/30 Wed (1); 10/1–10/7 holiday; 10/8 Thu (2); 10/9 Fri (3); 10/10 Sat, adjusted working day (4);
    // 10/11 Sun off; 10/12 Mon (5) → the end of 10/12, 18:00 Shanghai = 10:00 UTC.
    const due = calendar.addWorkingDays(at('2026-09-29', '10:00'), 5, 'next_day');
    expect(formatShanghai(due)).toBe('2026-10-12 18:00');
    expect(due.toISOString()).toBe('2026-10-12T10:00:00.000Z');
  });

  it('includes the start day under the Guangzhou hotline rule', () => {
    // Received Tue 2026-09-29: 9/29 (1), 9/30 (2), 10/8 (3), 10/9 (4), 10/10 Sat worked (5).
    expect(formatShanghai(calendar.addWorkingDays(at('2026-09-29', '10:00'), 5, 'include_start_day'))).toBe(
      '2026-10-10 18:00',
    );
    // Received 20:00 on Wed 9/30, after working hours: the day still counts as day 1 → 10/8 is day 2.
    expect(formatShanghai(calendar.addWorkingDays(at('2026-09-30', '20:00'), 2, 'include_start_day'))).toBe(
      '2026-10-08 18:00',
    );
    // Received on a holiday (10/3): the count starts at the next working day, 10/8 (1), 10/9 (2).
    expect(formatShanghai(calendar.addWorkingDays(at('2026-10-03', '10:00'), 2, 'include_start_day'))).toBe(
      '2026-10-09 18:00',
    );
  });

  it('counts from a Saturday that is an adjusted working day', () => {
    const saturday = at('2026-10-10', '09:30');
    // include_start_day: Sat 10/10 is itself day 1.
    expect(formatShanghai(calendar.addWorkingDays(saturday, 1, 'include_start_day'))).toBe('2026-10-10 18:00');
    // 10/10 (1), Sun 10/11 off, Mon 10/12 (2).
    expect(formatShanghai(calendar.addWorkingDays(saturday, 2, 'include_start_day'))).toBe('2026-10-12 18:00');
    // next_day: Sun 10/11 off, so the first working day after is Mon 10/12.
    expect(formatShanghai(calendar.addWorkingDays(saturday, 1, 'next_day'))).toBe('2026-10-12 18:00');
    // From an ordinary Saturday 9/19 the next working day is the adjusted Sunday 9/20.
    expect(formatShanghai(calendar.addWorkingDays(at('2026-09-19', '11:00'), 1, 'next_day'))).toBe(
      '2026-09-20 18:00',
    );
  });

  it('counts 2027 by weekends only, with a note, until an override table is loaded', () => {
    const from = at('2027-02-03', '10:00'); // Wednesday
    // No data: 2/4 Thu (1), 2/5 Fri (2), weekend, 2/8 Mon (3), 2/9 (4), 2/10 (5).
    const guessed = calendar.addWorkingDays(from, 5, 'next_day');
    expect(formatShanghai(guessed)).toBe('2027-02-10 18:00');
    expect(calendar.coverageNotes(from, guessed)).toEqual([NOTE_2027]);

    // With the test table: 2/4 Thu (1); 2/5–2/12 holiday; 2/13–2/14 weekend; 2/15 Mon (2), 2/16 (3),
    // 2/17 (4), 2/18 (5).
    const loaded = new WorkCalendar({ overrides: SPRING_2027, completeYears: [2027] });
    expect(loaded.hasOfficialData(2027)).toBe(true);
    const due = loaded.addWorkingDays(from, 5, 'next_day');
    expect(formatShanghai(due)).toBe('2027-02-18 18:00');
    expect(loaded.coverageNotes(from, due)).toEqual([]);
    // From Wed 2/17: 2/18 Thu (1), 2/19 Fri (2), 2/20 Sat, an adjusted working day in the table (3);
    // without the table the third day would be Mon 2/22.
    expect(formatShanghai(loaded.addWorkingDays(at('2027-02-17', '10:00'), 3, 'next_day'))).toBe('2027-02-20 18:00');
    expect(formatShanghai(calendar.addWorkingDays(at('2027-02-17', '10:00'), 3, 'next_day'))).toBe(
      '2027-02-22 18:00',
    );
    expect(loaded.dayInfo('2027-01-31')).toEqual({
      date: '2027-01-31',
      working: true,
      name: '春节调休',
      source: 'override',
    });
  });

  it('notes only the uncovered years of a count that crosses into 2027', () => {
    // From Wed 2026-12-30: 12/31 Thu (1), 2027-01-01 Fri (2, no data, so counted as working), 1/4 Mon (3).
    const from = at('2026-12-30', '10:00');
    const due = calendar.addWorkingDays(from, 3, 'next_day');
    expect(formatShanghai(due)).toBe('2027-01-04 18:00');
    expect(calendar.coverageNotes(from, due)).toEqual([NOTE_2027]);
  });

  it('holiday table: one 2027 row does not make the year official, a declared year does', () => {
    // A bare list (the old format) or rows without a declared year: the rows apply, the note stays.
    const oneRow = calendarWith(validateHolidayTable([{ date: '2027-01-01', kind: 'holiday', name: '元旦' }]));
    expect(oneRow.isWorkingDay('2027-01-01')).toBe(false);
    expect(oneRow.hasOfficialData(2027)).toBe(false);
    expect(oneRow.coverageNote(2027)).toBe(
      '2027年节假日数据不完整（仅部分调整），其余按周末规则推算 (holiday data for 2027 is partial; other days weekends only)',
    );
    const declared = calendarWith(
      validateHolidayTable({ years: [{ year: 2027, notice: '测试用通知（非官方）' }], days: SPRING_2027 }),
    );
    expect(declared.hasOfficialData(2027)).toBe(true);
    expect(declared.coverageNote(2027)).toBeUndefined();
    expect(declared.dayInfo('2027-03-01')).toEqual({ date: '2027-03-01', working: true, source: 'official' });
  });

  it('holiday table: refuses a declared year without rows or notice, and unknown fields', () => {
    expect(() => validateHolidayTable({ years: [{ year: 2028, notice: '通知' }], days: SPRING_2027 })).toThrowError(
      'holiday table year 1 (2028): declared complete but has no day rows',
    );
    expect(() => validateHolidayTable({ years: [{ year: 2027 }], days: SPRING_2027 })).toThrowError(
      'holiday table year 1 (2027): notice must name the State Council notice',
    );
    expect(() => validateHolidayTable({ complete: true, days: [] })).toThrowError('holiday table: unknown field "complete"');
    expect(() => validateHolidayTable('2027')).toThrowError(CalendarError);
  });

  it('民法典 第二百零三条: a limit whose last day is a holiday or rest day ends on the next working day', () => {
    // 10/1–10/7 2026 are off; a period ending 10/1 24:00 ends 10/8 24:00 instead.
    expect(formatShanghai(calendar.rollToWorkingDay(at('2026-10-02', '00:00')))).toBe('2026-10-09 00:00');
    // Sat 10/10 is an adjusted working day: a period ending that day stays.
    expect(formatShanghai(calendar.rollToWorkingDay(at('2026-10-11', '00:00')))).toBe('2026-10-11 00:00');
    // Spring Festival 2026: 2/15–2/23 off; a period ending 2/16 ends on Tue 2/24.
    expect(formatShanghai(calendar.rollToWorkingDay(at('2026-02-17', '00:00')))).toBe('2026-02-25 00:00');
  });

  it('lets an override win over the package', () => {
    const local = new WorkCalendar({ overrides: [{ date: '2026-10-08', kind: 'holiday', name: '台风停工' }] });
    expect(local.isWorkingDay('2026-10-08')).toBe(false);
    // 9/30 (1), 10/9 (2), 10/10 (3).
    expect(formatShanghai(local.addWorkingDays(at('2026-09-29', '10:00'), 3, 'next_day'))).toBe('2026-10-10 18:00');
  });

  it('ends at the configured end of work', () => {
    const hours = [
      { start: '08:30', end: '12:00' },
      { start: '14:00', end: '17:30' },
    ];
    const summer = new WorkCalendar({ workingHours: hours });
    expect(formatShanghai(summer.addWorkingDays(at('2026-09-29', '10:00'), 1, 'next_day'))).toBe('2026-09-30 17:30');
  });

  it('takes whole numbers of days only', () => {
    expect(() => calendar.addWorkingDays(at('2026-09-29', '10:00'), 0, 'next_day')).toThrowError(
      'days must be a whole number of at least 1, got 0',
    );
    expect(() => calendar.addWorkingDays(at('2026-09-29', '10:00'), 1.5, 'next_day')).toThrowError(CalendarError);
  });
});

describe('addWorkingHours', () => {
  it('skips the lunch break', () => {
    // 11:00–12:00 (1 h), lunch 12:00–13:30, 13:30–14:30 (1 h).
    expect(formatShanghai(calendar.addWorkingHours(at('2026-09-29', '11:00'), 2))).toBe('2026-09-29 14:30');
    // Exactly the morning's remaining two hours: ends at 12:00, not at 13:30.
    expect(formatShanghai(calendar.addWorkingHours(at('2026-09-29', '10:00'), 2))).toBe('2026-09-29 12:00');
    // Started during lunch: the clock runs from 13:30.
    expect(formatShanghai(calendar.addWorkingHours(at('2026-09-29', '12:30'), 1))).toBe('2026-09-29 14:30');
    expect(formatShanghai(calendar.addWorkingHours(at('2026-09-29', '09:00'), 0.5))).toBe('2026-09-29 09:30');
  });

  it('skips the night', () => {
    // 17:00–18:00 (1 h), night, 9/30 09:00–11:00 (2 h).
    expect(formatShanghai(calendar.addWorkingHours(at('2026-09-29', '17:00'), 3))).toBe('2026-09-30 11:00');
    // From 08:00 on a Sunday: nothing until Monday 10/12 09:00, then one hour.
    expect(formatShanghai(calendar.addWorkingHours(at('2026-10-11', '08:00'), 1))).toBe('2026-10-12 10:00');
  });

  it('skips the National Day holiday', () => {
    // 9/30 17:30–18:00 (0.5 h); 10/1–10/7 off; 10/8 09:00–12:00 (3 h, total 3.5); 13:30–14:00 (0.5 h).
    expect(formatShanghai(calendar.addWorkingHours(at('2026-09-30', '17:30'), 4))).toBe('2026-10-08 14:00');
  });

  it('rejects a non-positive amount', () => {
    expect(() => calendar.addWorkingHours(at('2026-09-29', '10:00'), 0)).toThrowError(
      'working hours must be a positive number, got 0',
    );
  });
});

describe('plain arithmetic and spans', () => {
  it('adds plain hours and days through holidays', () => {
    expect(formatShanghai(calendar.addHours(at('2026-09-30', '23:00'), 2))).toBe('2026-10-01 01:00');
    expect(formatShanghai(calendar.addCalendarDays(at('2026-09-29', '10:00'), 2))).toBe('2026-10-01 10:00');
  });

  it('ends a count of calendar days at 24:00 of the last day', () => {
    // next_day: 9/30 is day 1, 10/14 day 15; the end of 10/14 is 10/15 00:00 Shanghai.
    const due = endOfCalendarDays(at('2026-09-29', '10:00'), 15, 'next_day');
    expect(formatShanghai(due)).toBe('2026-10-15 00:00');
    expect(due.toISOString()).toBe('2026-10-14T16:00:00.000Z');
    // include_start_day: 9/29 is day 1, 10/13 day 15.
    expect(formatShanghai(endOfCalendarDays(at('2026-09-29', '10:00'), 15, 'include_start_day'))).toBe(
      '2026-10-14 00:00',
    );
  });

  it('counts whole working days between two instants', () => {
    // After 9/29 up to and including 10/12: 9/30, 10/8, 10/9, 10/10, 10/12.
    expect(calendar.workingDaysBetween(at('2026-09-29', '10:00'), at('2026-10-12', '09:00'))).toBe(5);
    expect(calendar.workingDaysBetween(at('2026-10-12', '09:00'), at('2026-09-29', '10:00'))).toBe(-5);
    expect(calendar.workingDaysBetween(at('2026-09-29', '09:00'), at('2026-09-29', '17:00'))).toBe(0);
    // 10/1–10/7 are all holidays.
    expect(calendar.workingDaysBetween(at('2026-09-30', '10:00'), at('2026-10-07', '10:00'))).toBe(0);
  });
});

describe('operator tables', () => {
  it('names every bad override row', () => {
    let error: unknown;
    try {
      new WorkCalendar({
        overrides: [
          { date: '2027-02-30', kind: 'holiday' },
          { date: '2027-02-05', kind: 'off' as 'holiday' },
          { date: '2027-02-06', kind: 'holiday' },
          { date: '2027-02-06', kind: 'workday' },
        ],
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CalendarError);
    const message = (error as Error).message;
    expect(message).toContain('holiday override row 1 (2027-02-30): date must be a real date written YYYY-MM-DD');
    expect(message).toContain('holiday override row 2 (2027-02-05): kind must be "holiday" or "workday", got "off"');
    expect(message).toContain('holiday override row 4 (2027-02-06): the date is already given in row 3');
  });

  it('rejects working hours that overlap or run backwards', () => {
    expect(
      () =>
        new WorkCalendar({
          workingHours: [
            { start: '09:00', end: '12:30' },
            { start: '12:00', end: '18:00' },
          ],
        }),
    ).toThrowError('working period 2 must start after period 1 ends (ascending, no overlap)');
    expect(() => new WorkCalendar({ workingHours: [{ start: '18:00', end: '09:00' }] })).toThrowError(
      'working period 1 (18:00–09:00) must end after it starts',
    );
    expect(() => new WorkCalendar({ workingHours: [{ start: '9:00', end: '12:00' }] })).toThrowError(
      '"9:00" is not a time written HH:MM',
    );
  });
});
