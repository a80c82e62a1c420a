// The operator's rule files, read once at start by every service that counts deadlines (calls,
// evaluation, the connectors): HOLIDAY_OVERRIDES_PATH (the holiday table, see calendar.ts) and
// DEADLINE_POLICY_PATH (the versioned tier table and source limits, see deadlines.ts). A bad file
// stops the service with every problem named.
import { readFileSync } from 'node:fs';
import { calendarWith, validateHolidayTable, type WorkCalendar } from './calendar.ts';
import { loadRules, RulesBook } from './deadlines.ts';

export function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${what} from ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The working-day calendar with the operator's holiday table, if one is configured. */
export function loadCalendar(holidayOverridesPath?: string): WorkCalendar {
  return calendarWith(holidayOverridesPath ? validateHolidayTable(readJson(holidayOverridesPath, 'the holiday overrides')) : undefined);
}

/** The rules' versions from the operator's file, or the built-in version alone. */
export function loadRulesFile(deadlinePolicyPath?: string): RulesBook {
  return deadlinePolicyPath ? loadRules(readJson(deadlinePolicyPath, 'the deadline policy')) : new RulesBook();
}
