// Working days on China's official holiday calendar (法定节假日 and 调休 adjusted working weekends),
// in Asia/Shanghai time. Pure: no I/O, no clock; every function takes the instants it needs.
//
// Time zone: Asia/Shanghai has had a fixed offset of UTC+8 with no daylight saving time since 1991,
// so fixed-offset arithmetic is exact and the simplest correct approach: an instant's Shanghai wall
// time is its UTC time plus 8 hours, read with the UTC getters. Nothing here reads the process's own
// time zone (no local getters), so results do not depend on the machine's TZ.
//
// Holiday data: the `chinese-days` package's published data file (dist/chinese-days.json), built from
// the State Council's notices (2004 through 2026 in version 1.5.7). The package's functions
// (isWorkday, getDayDetail …) are not used because they read the process's local time zone: under
// TZ=America/New_York, `getDayDetail(new Date(2026, 8, 30, 12))` reports 2026-09-30 as a National Day
// holiday. The data file is plain YYYY-MM-DD keys and has no such dependency.
//
// A year the package does not cover (2027 in 1.5.7) is counted with the weekday rule (Monday–Friday
// work) and carries `coverageNote(year)` until an operator loads that year's notice as an override
// table AND declares the year complete (HolidayTable.years): a few override rows alone (one 2027 row)
// do not make a year official, they only correct the days they name.
import chineseDays from 'chinese-days/dist/chinese-days.json' with { type: 'json' };

/** A calendar day in Shanghai, written 'YYYY-MM-DD'. */
export type IsoDay = string;

/** How a count of days starts (see WorkCalendar.addWorkingDays). */
export type DayCountRule = 'next_day' | 'include_start_day';

/** One row of an operator-loaded holiday table; it wins over the package's data for that day. */
export interface CalendarOverride {
  date: IsoDay;
  kind: 'holiday' | 'workday';
  name?: string;
}

/** A span of working time within a day, Shanghai wall clock 'HH:MM' (end may be '24:00'). */
export interface WorkingPeriod {
  start: string;
  end: string;
}

/** A year whose override rows are the whole of the State Council's notice for it. */
export interface CompleteYear {
  year: number;
  /** The notice the rows were copied from, e.g. 国务院办公厅关于2027年部分节假日安排的通知. */
  notice: string;
}

/**
 * The operator's holiday table (HOLIDAY_OVERRIDES_PATH): day rows, and the years those rows cover
 * completely. The file is either this object or, as before, a bare list of day rows (then no year is
 * declared complete: the rows apply, the coverage note stays).
 */
export interface HolidayTable {
  years: CompleteYear[];
  days: CalendarOverride[];
}

export interface WorkCalendarOptions {
  overrides?: readonly CalendarOverride[];
  /** Years declared complete (see HolidayTable); a year only gets official status this way. */
  completeYears?: readonly number[];
  /** Ascending, non-overlapping. Default: 09:00–12:00 and 13:30–18:00. */
  workingHours?: readonly WorkingPeriod[];
}

export interface DayInfo {
  date: IsoDay;
  working: boolean;
  /** The holiday's or adjusted working day's name, when the day has one. */
  name?: string;
  /** Where the answer came from: an override row, the package's official data, or Monday–Friday. */
  source: 'override' | 'official' | 'weekday_rule';
}

export const DEFAULT_WORKING_HOURS: readonly WorkingPeriod[] = [
  { start: '09:00', end: '12:00' },
  { start: '13:30', end: '18:00' },
];

/** Asia/Shanghai is UTC+8 all year (no DST). */
export const SHANGHAI_OFFSET_MS = 8 * 60 * 60 * 1000;

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Searching for a working day gives up after this many consecutive non-working days. */
const MAX_NON_WORKING_RUN = 366;

/** A bad argument or a bad override / working-hours table. */
export class CalendarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CalendarError';
  }
}

// --- the package's data -----------------------------------------------------------------------

interface PackageData {
  holidays: Record<string, string>;
  workdays: Record<string, string>;
}

function loadPackageData(raw: unknown): PackageData {
  const table = (value: unknown, key: string): Record<string, string> => {
    if (typeof value !== 'object' || value === null) {
      throw new CalendarError(`chinese-days data: "${key}" is missing; the package layout has changed`);
    }
    for (const [day, name] of Object.entries(value)) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || typeof name !== 'string') {
        throw new CalendarError(`chinese-days data: unexpected entry ${key}["${day}"]; the package layout has changed`);
      }
    }
    return value as Record<string, string>;
  };
  const record = (raw ?? {}) as Record<string, unknown>;
  return { holidays: table(record.holidays, 'holidays'), workdays: table(record.workdays, 'workdays') };
}

const PACKAGE = loadPackageData(chineseDays);

/** Years the package has official data for (every year with at least one holiday or adjusted workday). */
export const PACKAGE_YEARS: ReadonlySet<number> = new Set(
  [...Object.keys(PACKAGE.holidays), ...Object.keys(PACKAGE.workdays)].map((day) => Number(day.slice(0, 4))),
);

/** The package writes names as "English,中文,n"; keep the Chinese name. */
function packageName(raw: string): string {
  const parts = raw.split(',');
  return parts[1] ?? raw;
}

// --- days and instants in Shanghai --------------------------------------------------------------

/** Parse 'YYYY-MM-DD' (a real calendar date) to its UTC-midnight epoch milliseconds. */
function dayMs(day: IsoDay): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (match) {
    const [, y, m, d] = match.map(Number) as [number, number, number, number];
    const ms = Date.UTC(y, m - 1, d);
    const back = new Date(ms);
    if (back.getUTCFullYear() === y && back.getUTCMonth() === m - 1 && back.getUTCDate() === d) return ms;
  }
  throw new CalendarError(`"${day}" is not a date written YYYY-MM-DD`);
}

function dayFromMs(ms: number): IsoDay {
  return new Date(ms).toISOString().slice(0, 10);
}

function checkInstant(instant: Date, what: string): number {
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new CalendarError(`${what} is not a valid date`);
  return ms;
}

/** The Shanghai calendar day an instant falls on. */
export function shanghaiDay(instant: Date): IsoDay {
  return dayFromMs(checkInstant(instant, 'instant') + SHANGHAI_OFFSET_MS);
}

/** The instant of a Shanghai wall-clock time on a day ('HH:MM', '24:00' meaning the next midnight). */
export function shanghaiTime(day: IsoDay, time = '00:00'): Date {
  return new Date(dayMs(day) - SHANGHAI_OFFSET_MS + parseClock(time) * 60_000);
}

/** 'YYYY-MM-DD HH:mm' in Shanghai, for messages and tests. */
export function formatShanghai(instant: Date): string {
  const iso = new Date(checkInstant(instant, 'instant') + SHANGHAI_OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** The day `n` calendar days after (or before, when negative) `day`. */
export function shiftDay(day: IsoDay, n: number): IsoDay {
  return dayFromMs(dayMs(day) + n * DAY_MS);
}

/** Every Shanghai calendar year from the earlier instant's day to the later one's, ascending. */
export function yearsTouched(from: Date, to: Date): number[] {
  const a = Number(shanghaiDay(from).slice(0, 4));
  const b = Number(shanghaiDay(to).slice(0, 4));
  const years: number[] = [];
  for (let y = Math.min(a, b); y <= Math.max(a, b); y++) years.push(y);
  return years;
}

/** Plain elapsed time: `hours` hours after `from` (may be fractional or negative). */
export function addHours(from: Date, hours: number): Date {
  if (!Number.isFinite(hours)) throw new CalendarError(`hours must be a finite number, got ${hours}`);
  return new Date(checkInstant(from, 'from') + Math.round(hours * HOUR_MS));
}

/** Plain elapsed time: `days` × 24 hours after `from` (exact in Shanghai, which has no DST). */
export function addCalendarDays(from: Date, days: number): Date {
  if (!Number.isFinite(days)) throw new CalendarError(`days must be a finite number, got ${days}`);
  return new Date(checkInstant(from, 'from') + Math.round(days * DAY_MS));
}

/**
 * The end (24:00 Shanghai, i.e. 00:00 of the following day) of the last of `days` calendar days.
 * 'next_day': the count starts the day after `from`'s day (民法典 第二百零一条: 开始的当日不计入), so
 * 15 days from 2026-09-29 end at 2026-10-14 24:00. 'include_start_day': `from`'s day is day 1.
 * Holidays do not stop or extend the count.
 */
export function endOfCalendarDays(from: Date, days: number, rule: DayCountRule): Date {
  checkWholeDays(days);
  const first = rule === 'next_day' ? shiftDay(shanghaiDay(from), 1) : shanghaiDay(from);
  return shanghaiTime(shiftDay(first, days), '00:00');
}

function checkWholeDays(days: number): void {
  if (!Number.isInteger(days) || days < 1) {
    throw new CalendarError(`days must be a whole number of at least 1, got ${days}`);
  }
}

/** Minutes after midnight for 'HH:MM' (00:00–24:00). */
function parseClock(time: string): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time);
  if (match) return Number(match[1]) * 60 + Number(match[2]);
  if (time === '24:00') return 24 * 60;
  throw new CalendarError(`"${time}" is not a time written HH:MM`);
}

// --- validation of operator-loaded tables --------------------------------------------------------

/** Check an operator-loaded override table; throws CalendarError naming every bad row. */
export function validateOverrides(input: unknown): CalendarOverride[] {
  if (!Array.isArray(input)) throw new CalendarError('holiday overrides must be a list of rows');
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const rows: CalendarOverride[] = [];
  input.forEach((raw: unknown, index) => {
    const where = `holiday override row ${index + 1}`;
    if (typeof raw !== 'object' || raw === null) {
      problems.push(`${where}: expected { date, kind, name? }`);
      return;
    }
    const { date, kind, name, ...rest } = raw as Record<string, unknown>;
    const label = typeof date === 'string' ? `${where} (${date})` : where;
    let ok = true;
    if (typeof date !== 'string' || !isDay(date)) {
      problems.push(`${label}: date must be a real date written YYYY-MM-DD`);
      ok = false;
    }
    if (kind !== 'holiday' && kind !== 'workday') {
      problems.push(`${label}: kind must be "holiday" or "workday", got ${JSON.stringify(kind)}`);
      ok = false;
    }
    if (name !== undefined && typeof name !== 'string') {
      problems.push(`${label}: name must be text`);
      ok = false;
    }
    for (const key of Object.keys(rest)) {
      problems.push(`${label}: unknown field "${key}"`);
      ok = false;
    }
    if (typeof date === 'string') {
      const earlier = seen.get(date);
      if (earlier !== undefined) {
        problems.push(`${label}: the date is already given in row ${earlier}`);
        ok = false;
      } else {
        seen.set(date, index + 1);
      }
    }
    if (ok) {
      const row: CalendarOverride = { date: date as string, kind: kind as CalendarOverride['kind'] };
      if (typeof name === 'string') row.name = name;
      rows.push(row);
    }
  });
  if (problems.length > 0) throw new CalendarError(problems.join('; '));
  return rows;
}

/**
 * Check an operator-loaded holiday table (a bare list of rows, or { years, days }); throws
 * CalendarError naming every problem. A declared year must have at least one row in it and name
 * its notice.
 */
export function validateHolidayTable(input: unknown): HolidayTable {
  if (Array.isArray(input)) return { years: [], days: validateOverrides(input) };
  if (typeof input !== 'object' || input === null) {
    throw new CalendarError('the holiday table must be a list of rows or { "years": [...], "days": [...] }');
  }
  const { years, days, ...rest } = input as Record<string, unknown>;
  const problems = Object.keys(rest).map((key) => `holiday table: unknown field "${key}"`);
  let rows: CalendarOverride[] = [];
  try {
    rows = validateOverrides(days ?? []);
  } catch (err) {
    problems.push((err as Error).message);
  }
  const complete: CompleteYear[] = [];
  if (!Array.isArray(years ?? [])) problems.push('holiday table: "years" must be a list of { year, notice }');
  else {
    ((years ?? []) as unknown[]).forEach((raw, index) => {
      const where = `holiday table year ${index + 1}`;
      const { year, notice, ...extra } = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
      for (const key of Object.keys(extra)) problems.push(`${where}: unknown field "${key}"`);
      if (typeof year !== 'number' || !Number.isInteger(year) || year < 2000 || year > 2100) {
        problems.push(`${where}: year must be a whole year such as 2027, got ${JSON.stringify(year)}`);
        return;
      }
      if (typeof notice !== 'string' || notice.trim() === '') problems.push(`${where} (${year}): notice must name the State Council notice`);
      else if (complete.some((y) => y.year === year)) problems.push(`${where} (${year}): the year is already declared`);
      else if (!rows.some((row) => row.date.startsWith(`${year}-`))) problems.push(`${where} (${year}): declared complete but has no day rows`);
      else complete.push({ year, notice });
    });
  }
  if (problems.length > 0) throw new CalendarError(problems.join('; '));
  return { years: complete, days: rows };
}

/** A calendar with an operator's holiday table (validated); the package's data alone without one. */
export function calendarWith(table?: HolidayTable, workingHours?: readonly WorkingPeriod[]): WorkCalendar {
  return new WorkCalendar({
    overrides: table?.days ?? [],
    completeYears: table?.years.map((y) => y.year) ?? [],
    ...(workingHours && { workingHours }),
  });
}

function isDay(value: string): boolean {
  try {
    dayMs(value);
    return true;
  } catch {
    return false;
  }
}

function validateWorkingHours(periods: readonly WorkingPeriod[]): Array<[number, number]> {
  if (periods.length === 0) throw new CalendarError('working hours must have at least one period');
  const minutes = periods.map(({ start, end }, index): [number, number] => {
    const from = parseClock(start);
    const to = parseClock(end);
    if (from >= to) throw new CalendarError(`working period ${index + 1} (${start}–${end}) must end after it starts`);
    return [from, to];
  });
  for (let i = 1; i < minutes.length; i++) {
    if (minutes[i]![0] < minutes[i - 1]![1]) {
      throw new CalendarError(`working period ${i + 1} must start after period ${i} ends (ascending, no overlap)`);
    }
  }
  return minutes;
}

// --- the calendar ------------------------------------------------------------------------------

export class WorkCalendar {
  private readonly overrides: ReadonlyMap<IsoDay, CalendarOverride>;
  private readonly completeYears: ReadonlySet<number>;
  /** Working periods as [start, end) minutes after Shanghai midnight. */
  private readonly periods: ReadonlyArray<[number, number]>;

  constructor(options: WorkCalendarOptions = {}) {
    const rows = validateOverrides(options.overrides ?? []);
    this.overrides = new Map(rows.map((row) => [row.date, row]));
    this.completeYears = new Set(options.completeYears ?? []);
    this.periods = validateWorkingHours(options.workingHours ?? DEFAULT_WORKING_HOURS);
  }

  /** Whether a Shanghai day is a working day, and why. An override wins over the package. */
  dayInfo(day: IsoDay): DayInfo {
    const ms = dayMs(day);
    const override = this.overrides.get(day);
    if (override) {
      const info: DayInfo = { date: day, working: override.kind === 'workday', source: 'override' };
      if (override.name !== undefined) info.name = override.name;
      return info;
    }
    const workday = PACKAGE.workdays[day];
    if (workday !== undefined) return { date: day, working: true, name: packageName(workday), source: 'official' };
    const holiday = PACKAGE.holidays[day];
    if (holiday !== undefined) return { date: day, working: false, name: packageName(holiday), source: 'official' };
    const weekday = new Date(ms).getUTCDay();
    const working = weekday >= 1 && weekday <= 5;
    return { date: day, working, source: this.hasOfficialData(Number(day.slice(0, 4))) ? 'official' : 'weekday_rule' };
  }

  isWorkingDay(day: IsoDay): boolean {
    return this.dayInfo(day).working;
  }

  /** True when the package covers the year or the operator's table declares it complete. */
  hasOfficialData(year: number): boolean {
    return PACKAGE_YEARS.has(year) || this.completeYears.has(year);
  }

  /** A plain statement (Chinese, then English) when counting in `year` uses weekends only. */
  coverageNote(year: number): string | undefined {
    if (this.hasOfficialData(year)) return undefined;
    const partial = [...this.overrides.keys()].some((day) => day.startsWith(`${year}-`));
    return partial
      ? `${year}年节假日数据不完整（仅部分调整），其余按周末规则推算 (holiday data for ${year} is partial; other days weekends only)`
      : `${year}年无官方节假日数据，按周末规则推算 (no official holiday data for ${year}; weekends only)`;
  }

  /** The coverage notes for every year between two instants (both ends included). */
  coverageNotes(from: Date, to: Date): string[] {
    return yearsTouched(from, to).flatMap((year) => this.coverageNote(year) ?? []);
  }

  /** The working periods of a day as instants; empty on a non-working day. */
  workingPeriods(day: IsoDay): Array<{ start: Date; end: Date }> {
    if (!this.isWorkingDay(day)) return [];
    const midnight = dayMs(day) - SHANGHAI_OFFSET_MS;
    return this.periods.map(([start, end]) => ({
      start: new Date(midnight + start * 60_000),
      end: new Date(midnight + end * 60_000),
    }));
  }

  /** The end of a day's last working period (18:00 Shanghai by default), working day or not. */
  workingDayEnd(day: IsoDay): Date {
    const last = this.periods[this.periods.length - 1]!;
    return new Date(dayMs(day) - SHANGHAI_OFFSET_MS + last[1] * 60_000);
  }

  /**
   * The end of the `days`-th working day (18:00 Shanghai, or the configured end of work), counting:
   * - 'next_day': from the first working day after `from`'s day; `from`'s own day never counts.
   *   Signed Tue 2026-09-29 + 5 → 9/30, (10/1–10/7 off), 10/8, 10/9, 10/10 (adjusted Saturday),
   *   (10/11 Sunday), 10/12 → 2026-10-12 18:00.
   * - 'include_start_day' (Guangzhou hotline rule: days are working days and include the day
   *   itself): `from`'s day is day 1 if it is a working day, whatever the time of day (a work order
   *   received at 20:00 still uses that day); otherwise the count starts at the next working day.
   * `days` is a whole number ≥ 1.
   */
  addWorkingDays(from: Date, days: number, rule: DayCountRule): Date {
    checkWholeDays(days);
    let day = shanghaiDay(from);
    if (rule === 'next_day') day = shiftDay(day, 1);
    let counted = 0;
    let idle = 0;
    for (;;) {
      if (this.isWorkingDay(day)) {
        idle = 0;
        counted += 1;
        if (counted === days) return this.workingDayEnd(day);
      } else if (++idle > MAX_NON_WORKING_RUN) {
        throw new CalendarError(`no working day for more than ${MAX_NON_WORKING_RUN} days after ${day}`);
      }
      day = shiftDay(day, 1);
    }
  }

  /**
   * `hours` (> 0, may be fractional) of working time after `from`, counting only time inside the
   * working periods of working days. From 11:00 on a working day, 2 working hours end at 14:30
   * (11:00–12:00, lunch, 13:30–14:30). A count that ends exactly at the end of a period returns that
   * end (12:00, not 13:30).
   */
  addWorkingHours(from: Date, hours: number): Date {
    if (!Number.isFinite(hours) || hours <= 0) {
      throw new CalendarError(`working hours must be a positive number, got ${hours}`);
    }
    let remaining = Math.round(hours * HOUR_MS);
    const start = checkInstant(from, 'from');
    let day = shanghaiDay(from);
    let idle = 0;
    for (;;) {
      const periods = this.workingPeriods(day);
      if (periods.length === 0 && ++idle > MAX_NON_WORKING_RUN) {
        throw new CalendarError(`no working day for more than ${MAX_NON_WORKING_RUN} days after ${day}`);
      }
      if (periods.length > 0) idle = 0;
      for (const period of periods) {
        const begin = Math.max(period.start.getTime(), start);
        const end = period.end.getTime();
        if (begin >= end) continue;
        if (remaining <= end - begin) return new Date(begin + remaining);
        remaining -= end - begin;
      }
      day = shiftDay(day, 1);
    }
  }

  addCalendarDays(from: Date, days: number): Date {
    return addCalendarDays(from, days);
  }

  /**
   * A calendar-day limit whose last day is not a working day (a statutory holiday or a rest day)
   * ends at the end of the first working day after it (民法典 第二百零三条: 期间的最后一日是法定休假日的，
   * 以法定休假日结束的次日为期间的最后一日). `end` is such a limit's end (24:00 of its last day).
   */
  rollToWorkingDay(end: Date): Date {
    let last = shiftDay(shanghaiDay(end), -1);
    if (this.isWorkingDay(last)) return end;
    let idle = 0;
    while (!this.isWorkingDay(last)) {
      if (++idle > MAX_NON_WORKING_RUN) throw new CalendarError(`no working day for more than ${MAX_NON_WORKING_RUN} days after ${last}`);
      last = shiftDay(last, 1);
    }
    return shanghaiTime(shiftDay(last, 1), '00:00');
  }

  addHours(from: Date, hours: number): Date {
    return addHours(from, hours);
  }

  /**
   * Whole working days from `a` to `b`: the working days after `a`'s Shanghai day up to and including
   * `b`'s day, so that `addWorkingDays(a, n, 'next_day')` falls on `b`'s day exactly when
   * `workingDaysBetween(a, b) === n` and `b`'s day is a working day. Negative when `b` is before `a`;
   * 0 on the same day. Times of day are ignored.
   */
  workingDaysBetween(a: Date, b: Date): number {
    const from = shanghaiDay(a);
    const to = shanghaiDay(b);
    if (to < from) return -this.workingDaysBetween(b, a);
    let count = 0;
    for (let day = shiftDay(from, 1); day <= to; day = shiftDay(day, 1)) {
      if (this.isWorkingDay(day)) count += 1;
    }
    return count;
  }
}
