// The operator's rule files as the services read them at start (DEADLINE_POLICY_PATH, HOLIDAY_OVERRIDES_PATH).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatShanghai, shanghaiTime } from './calendar.ts';
import { DEFAULT_POLICY } from './deadlines.ts';
import { loadCalendar, loadRulesFile } from './files.ts';

function file(content: unknown): string {
  const path = join(tmpdir(), `rules-${randomUUID()}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('rule files', () => {
  it('versioned policy: DEADLINE_POLICY_PATH loads dated versions, or a bare tier table as before', () => {
    const slower = JSON.parse(JSON.stringify(DEFAULT_POLICY));
    slower.street.normal.complete = { amount: 7, unit: 'working_days', rule: 'next_day' };
    const book = loadRulesFile(file({ versions: [{ id: 'hp-2027-01', effectiveFrom: '2027-01-01', deadlines: slower }] }));
    expect(book.at(shanghaiTime('2026-12-31', '12:00')).deadlines.street.normal.complete.amount).toBe(5);
    expect(book.at(shanghaiTime('2027-01-01', '12:00')).id).toBe('hp-2027-01');
    expect(loadRulesFile(file(slower)).at(new Date()).deadlines.street.normal.complete.amount).toBe(7);
    expect(loadRulesFile().versions.map((v) => v.id)).toEqual(['default-2026']);
  });

  it('holiday table: HOLIDAY_OVERRIDES_PATH loads the declared years, and a bad file names its path and problem', () => {
    const calendar = loadCalendar(file({ years: [{ year: 2027, notice: '测试用通知（非官方）' }], days: [{ date: '2027-01-01', kind: 'holiday' }] }));
    // 12/31 (1), 1/1 off, weekend, 1/4 (2) → 2027-01-04 18:00.
    expect(formatShanghai(calendar.addWorkingDays(shanghaiTime('2026-12-30', '10:00'), 2, 'next_day'))).toBe('2027-01-04 18:00');
    expect(calendar.hasOfficialData(2027)).toBe(true);
    const broken = file('{"years": [');
    expect(() => loadCalendar(broken)).toThrowError(`cannot read the holiday overrides from ${broken}`);
    expect(() => loadRulesFile(file({ versions: [] }))).toThrowError('expected a tier table or { "versions"');
  });
});
