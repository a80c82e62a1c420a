// Matching the calls held in memory against a list's MongoDB-style filter. Every list, inbox and
// counter runs its filter over every live call, and sift's general matcher cost the calls service a
// fifth of its CPU under bench:gateway's varying load (its profile). The commonest conditions are
// plain: the visibility filter of a unit's reader (`visibleTo: <unit>`, platform/policy.ts through
// access.ts) and an empty one for a reader who sees every call. Those are matched in plain
// JavaScript with MongoDB's meaning; everything else still goes to sift.
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

/**
 * A matcher for `filter`: a top-level field equal to a string (or, for an array field, holding it) is
 * checked directly; the remaining conditions, if any, by sift.
 */
export function matcherOf(filter: Filter): (call: CallDoc) => boolean {
  const equalities: Array<[string, string]> = [];
  const rest: Filter[] = [];
  for (const condition of conditionsOf(filter)) {
    const [key, value] = Object.entries(condition)[0] as [string, unknown];
    if (typeof value === 'string' && !key.startsWith('$') && !key.includes('.')) equalities.push([key, value]);
    else rest.push(condition);
  }
  const others = rest.length === 0 ? undefined : siftMatcher(rest.length === 1 ? (rest[0] as Filter) : { $and: rest });
  return (call) => {
    for (const [key, value] of equalities) {
      const field = (call as unknown as Record<string, unknown>)[key];
      if (Array.isArray(field) ? !field.includes(value) : field !== value) return false;
    }
    return others === undefined || others(call);
  };
}
