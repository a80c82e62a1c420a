// Who sees which scores, decided by the hub's one policy (platform/policy.ts): the district command
// centre, leadership (and agency systems with `evaluation:read`) see everything; a department, street,
// community or grid its own unit's scores and those below it (a street command centre works for its
// street); staff see the rankings and schemes; dashboard counters follow the same relations.
import type { Identity } from '../../platform/auth.ts';
import { userError } from '../../platform/errors.ts';
import { type Action, actingUnitOf, allowed, decide, fitsUnit, mayEver } from '../../platform/policy.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';

export const READ_SCOPE = 'evaluation:read';

/** True when the identity sees every unit's figures (allowed even for a unit it is unrelated to). */
export function seesAll(identity: Identity, directory: UnitDirectory, action: Action = 'evaluation.read'): boolean {
  return fitsUnit(identity, directory) && decide(identity, action, ['unrelated']);
}

/** The unit whose subtree the identity answers for. */
export function jurisdictionOf(identity: Identity, directory: UnitDirectory): string {
  return actingUnitOf(identity, directory);
}

/** True when the identity may see `unitId`'s own figures. */
export function canSee(identity: Identity, unitId: string, directory: UnitDirectory, action: Action = 'evaluation.read'): boolean {
  return allowed(identity, action, { unitId }, directory);
}

export function requireSee(identity: Identity, unitId: string, directory: UnitDirectory, what: string, action: Action = 'evaluation.read'): void {
  if (!canSee(identity, unitId, directory, action)) {
    throw userError('FORBIDDEN', `无权查看${what}：${unitId}（只能查看本单位及下辖单位）(not your unit)`, { unitId });
  }
}

/** Staff see the rankings and the schemes; an enterprise officer and an agency account without the scope do not. */
export function requireStaff(identity: Identity, directory: UnitDirectory, action: Action = 'evaluation.rankings'): void {
  if (!mayEver(identity, action) || !fitsUnit(identity, directory)) throw userError('FORBIDDEN', '无权查看考核排名 (staff only)');
}
