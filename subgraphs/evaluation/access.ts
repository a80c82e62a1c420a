// Who sees which scores. The district command centre, leadership (and agency systems with the
// `evaluation:read` scope) see everything; a department or a street sees its own scores and their
// explanations (a street command centre works for its street); everyone on staff sees the rankings.
// Dashboard counters: the district's roles for any unit, others for their own unit or its subtree.
import type { Identity } from '../../platform/auth.ts';
import { userError } from '../../platform/errors.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';

export const READ_SCOPE = 'evaluation:read';

export function seesAll(identity: Identity): boolean {
  return (
    identity.role === 'district_command' ||
    identity.role === 'leader' ||
    (identity.role === 'service_account' && identity.scopes.includes(READ_SCOPE))
  );
}

/** The unit whose subtree the identity answers for. */
export function jurisdictionOf(identity: Identity, directory: UnitDirectory): string {
  if (identity.role === 'street_command') return directory.get(identity.unitId)?.parentId ?? identity.unitId;
  return identity.unitId;
}

/** True when the identity may see `unitId`'s own figures (its unit or one in its subtree). */
export function canSee(identity: Identity, unitId: string, directory: UnitDirectory): boolean {
  if (seesAll(identity)) return true;
  if (identity.role === 'enterprise_officer') return false;
  return directory.isWithin(unitId, jurisdictionOf(identity, directory));
}

export function requireSee(identity: Identity, unitId: string, directory: UnitDirectory, what: string): void {
  if (!canSee(identity, unitId, directory)) {
    throw userError('FORBIDDEN', `无权查看${what}：${unitId}（只能查看本单位及下辖单位）(not your unit)`, { unitId });
  }
}

/** Staff see the rankings; an enterprise officer does not. */
export function requireStaff(identity: Identity): void {
  if (identity.role === 'enterprise_officer') throw userError('FORBIDDEN', '无权查看考核排名 (staff only)');
}
