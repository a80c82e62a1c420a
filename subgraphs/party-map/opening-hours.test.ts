// "Open now" reads the weekly hours in Asia/Shanghai time, whatever the server's own time zone.
import { describe, expect, it } from 'vitest';
import { openAt } from './resolvers.ts';

const office = [
  { days: '12345', opens: '09:00', closes: '12:00' },
  { days: '12345', opens: '14:00', closes: '18:00' },
  { days: '6', opens: '09:00', closes: '12:00' },
];

describe('openAt', () => {
  it.each([
    ['2026-06-19T01:30:00Z', true], // Friday 09:30 in Shanghai
    ['2026-06-19T04:30:00Z', false], // Friday 12:30: lunch break
    ['2026-06-19T10:00:00Z', false], // Friday 18:00: closing time is closed
    ['2026-06-20T02:00:00Z', true], // Saturday 10:00
    ['2026-06-20T16:30:00Z', false], // Sunday 00:30 (Saturday in UTC)
  ])('%s → %s', (at, open) => {
    expect(openAt(office, new Date(at))).toBe(open);
  });
});
