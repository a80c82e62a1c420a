// Assessment periods (考核月份): a month written 'YYYY-MM', in Asia/Shanghai time. A month closes on
// the N-th working day of the next month (DOMAIN.md: by default the 5th), at the end of that day;
// from then on it is frozen, and a fact that becomes known later is booked in the month it arrives in.
import { userError } from '../../../platform/errors.ts';
import { shanghaiDay, shanghaiTime, shiftDay, type WorkCalendar } from '../../../rules/calendar.ts';

export type Period = string;

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The Shanghai month an instant falls in. */
export function periodOf(instant: Date | string): Period {
  return shanghaiDay(new Date(instant)).slice(0, 7);
}

export function isPeriod(value: string): boolean {
  return PERIOD.test(value);
}

/** The month after `period`. */
export function nextPeriod(period: Period): Period {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** Months from `from` to `to`, both included. */
export function periodsBetween(from: Period, to: Period): Period[] {
  const out: Period[] = [];
  for (let p = from; p <= to; p = nextPeriod(p)) out.push(p);
  return out;
}

/** The first instant of a month (00:00 Shanghai on the 1st). */
export function periodStart(period: Period): Date {
  return shanghaiTime(`${period}-01`);
}

/**
 * A period argument from a client: 'YYYY-MM', not before 2000 and not after the current month.
 * Anything else is BAD_USER_INPUT naming the value.
 */
export function requirePeriod(value: string | null | undefined, now: Date, field = 'period'): Period {
  const text = (value ?? '').trim();
  if (!PERIOD.test(text) || text < '2000-01') {
    throw userError('BAD_USER_INPUT', `考核月份无效：${text || '（空）'}，应为 YYYY-MM，如 2026-11 (invalid period)`, { field });
  }
  if (text > periodOf(now)) {
    throw userError('BAD_USER_INPUT', `考核月份 ${text} 尚未开始 (period in the future)`, { field });
  }
  return text;
}

/** When months close: the end of the `workingDay`-th working day of the following month. */
export class MonthClosing {
  private readonly cache = new Map<Period, Date>();

  constructor(
    private readonly calendar: WorkCalendar,
    private readonly workingDay = 5,
  ) {}

  closesAt(period: Period): Date {
    let at = this.cache.get(period);
    if (!at) {
      let day = `${nextPeriod(period)}-01`;
      let counted = 0;
      for (;;) {
        if (this.calendar.isWorkingDay(day) && ++counted === this.workingDay) break;
        day = shiftDay(day, 1);
      }
      at = shanghaiTime(shiftDay(day, 1));
      this.cache.set(period, at);
    }
    return at;
  }

  /** True when `period` is closed (frozen) at `instant`. */
  isClosed(period: Period, instant: Date | string): boolean {
    return new Date(instant).getTime() >= this.closesAt(period).getTime();
  }
}
