// Matching the calls held in memory against a list's MongoDB-style filter. Every list, inbox and
// counter runs its filter over the held calls it can match (a unit's own when the filter requires one,
// `requiredUnit`; else every live call), and sift's general matcher cost the calls service a fifth of
// its CPU under bench:gateway's varying load (its profile). The commonest conditions are plain: the
// visibility filter of a unit's reader (`visibleTo: <unit>`, platform/policy.ts through access.ts), an
// empty one for a reader who sees every call, statuses, an inbox's `$or` of handling units, the
// overdue box's `overdueSteps.0`, and time windows (the duplicate check on every new call). Those are
// matched in plain JavaScript with MongoDB's meaning; everything else still goes to sift.
import sift from 'sift';
import type { CallDoc } from './model.ts';

// sift is CommonJS: imported from an ES module, its default export is the `default` property.
const siftMatcher = sift.default;

type Filter = Record<string, unknown>;

/** The filter as conditions that must all hold: nested `$and`s flattened, one condition a key. */
function conditionsOf(filter: Filter): Filter[] {
  const conditions: Filter[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) conditions.push(...value.flatMap((part) => conditionsOf(part as Filter)));
    else conditions.push({ [key]: value });
  }
  return conditions;
}

/** The string a filter requires a top-level field to equal (in any of its `$and`s), if any. */
export function requiredValue(filter: Filter, key: string): string | undefined {
  for (const condition of conditionsOf(filter)) {
    const value = condition[key];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/**
 * The earliest time (ms) a filter lets a date field be (a `$gte` or `$gt` date in any of its
 * `$and`s), if it bounds it: a scan of calls in time order, newest first, stops below it.
 */
export function earliestTime(filter: Filter, key: string): number | undefined {
  let earliest: number | undefined;
  for (const condition of conditionsOf(filter)) {
    const range = condition[key];
    if (typeof range !== 'object' || range === null) continue;
    for (const op of ['$gte', '$gt'] as const) {
      const bound = (range as Record<string, unknown>)[op];
      if (bound instanceof Date && (earliest === undefined || bound.getTime() > earliest)) earliest = bound.getTime();
    }
  }
  return earliest;
}

/** The fields that name the units a call appears on: CallIndex keeps each unit's held calls. */
export const UNIT_FIELDS: ReadonlySet<string> = new Set(['visibleTo', 'handlingUnitId', 'coHandlingUnitIds']);

/**
 * A unit that every call `filter` matches names in one of UNIT_FIELDS, if the filter requires one:
 * directly (a unit reader's `visibleTo`, a box's `handlingUnitId`) or the same unit in every branch
 * of an `$or` (an inbox's handling or co-handling unit).
 */
export function requiredUnit(filter: Filter): string | undefined {
  for (const condition of conditionsOf(filter)) {
    const [key, value] = Object.entries(condition)[0] as [string, unknown];
    if (UNIT_FIELDS.has(key) && typeof value === 'string') return value;
    if (key === '$or' && Array.isArray(value) && value.length > 0) {
      const units = value.map((branch) => requiredUnit(branch as Filter));
      if (units[0] !== undefined && units.every((unit) => unit === units[0])) return units[0];
    }
  }
  return undefined;
}

type Test = (call: CallDoc) => boolean;
const RANGE: Record<string, (field: number, bound: number) => boolean> = {
  $gt: (f, b) => f > b,
  $gte: (f, b) => f >= b,
  $lt: (f, b) => f < b,
  $lte: (f, b) => f <= b,
};

/**
 * A condition on a top-level field checked in plain JavaScript, with MongoDB's meaning; undefined for
 * any other kind. Kinds: equal to a string (an array field: holding it), `$in` strings, `$ne` a
 * string, whether an array has a first element (firstElementTest), and a range of dates (a field
 * that is not a date is left to sift, as MongoDB compares by type).
 */
function plainTest(key: string, value: unknown): Test | undefined {
  if (key.startsWith('$')) return undefined;
  const element = /^([^.]+)\.0$/.exec(key);
  if (element) return firstElementTest(element[1] as string, key, value);
  if (key.includes('.')) return undefined;
  const field = (call: CallDoc) => (call as unknown as Record<string, unknown>)[key];
  if (typeof value === 'string') {
    return (call) => {
      const v = field(call);
      return Array.isArray(v) ? v.includes(value) : v === value;
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) return undefined;
  const operators = Object.entries(value as Record<string, unknown>);
  const only = operators.length === 1 ? operators[0] : undefined;
  if (only?.[0] === '$in' && Array.isArray(only[1]) && only[1].every((v) => typeof v === 'string')) {
    const wanted = new Set<unknown>(only[1]);
    return (call) => {
      const v = field(call);
      return Array.isArray(v) ? v.some((item) => wanted.has(item)) : typeof v === 'string' && wanted.has(v);
    };
  }
  if (only?.[0] === '$ne' && typeof only[1] === 'string') {
    const unwanted = only[1];
    return (call) => {
      const v = field(call);
      return Array.isArray(v) ? !v.includes(unwanted) : v !== unwanted;
    };
  }
  if (operators.length > 0 && operators.every(([op, bound]) => Object.hasOwn(RANGE, op) && bound instanceof Date)) {
    const bounds = operators.map(([op, bound]) => [RANGE[op]!, (bound as Date).getTime()] as const);
    const slow = siftMatcher({ [key]: value });
    return (call) => {
      const v = field(call);
      if (!(v instanceof Date)) return slow(call);
      const at = v.getTime();
      return bounds.every(([holds, bound]) => holds(at, bound));
    };
  }
  return undefined;
}

/**
 * `<array>.0: {$exists: <boolean>}`: whether an array field has an element (the overdue box and
 * counters ask it of every open call). A field that is neither an array nor absent is left to sift.
 */
function firstElementTest(field: string, key: string, value: unknown): Test | undefined {
  const operators = value !== null && typeof value === 'object' ? Object.entries(value) : [];
  const only = operators.length === 1 ? operators[0] : undefined;
  if (only?.[0] !== '$exists' || typeof only[1] !== 'boolean') return undefined;
  const wanted = only[1];
  const slow = siftMatcher({ [key]: value });
  return (call) => {
    const v = (call as unknown as Record<string, unknown>)[field];
    if (Array.isArray(v)) return v.length > 0 === wanted;
    if (v === undefined || v === null) return !wanted;
    return slow(call);
  };
}

/** `$or`: any branch's matcher (an inbox's handling or co-handling unit, a reader's relations). */
function anyOf(branches: unknown): Test | undefined {
  if (!Array.isArray(branches) || branches.length === 0 || !branches.every((b) => b !== null && typeof b === 'object' && !Array.isArray(b))) return undefined;
  const matchers = branches.map((branch) => matcherOf(branch as Filter));
  return (call) => matchers.some((matches) => matches(call));
}

/** A matcher for `filter`: the conditions plainTest knows and `$or`s of them are checked directly; the rest, if any, by sift. */
export function matcherOf(filter: Filter): (call: CallDoc) => boolean {
  const tests: Test[] = [];
  const rest: Filter[] = [];
  for (const condition of conditionsOf(filter)) {
    const [key, value] = Object.entries(condition)[0] as [string, unknown];
    const test = key === '$or' ? anyOf(value) : plainTest(key, value);
    if (test) tests.push(test);
    else rest.push(condition);
  }
  const others = rest.length === 0 ? undefined : siftMatcher(rest.length === 1 ? (rest[0] as Filter) : { $and: rest });
  return (call) => {
    for (const test of tests) if (!test(call)) return false;
    return others === undefined || others(call);
  };
}
