// Who sees and does what. A grid, community or street sees its own subtree; a department sees the
// calls it was given; the district command centre and leadership see everything; an enterprise
// service officer the calls they raised and those they follow for an enterprise they serve. Each
// action checks that the actor's unit may take it.
import type { Identity } from '../../platform/auth.ts';
import { jurisdictionOf, type UnitDirectory } from '../../platform/unit-directory.ts';
import type { CallDoc } from './model.ts';

const SEE_ALL_ROLES = new Set(['district_command', 'leader']);

function seesAll(identity: Identity): boolean {
  return SEE_ALL_ROLES.has(identity.role) || (identity.role === 'service_account' && identity.scopes.includes('calls:read'));
}

export { jurisdictionOf };

/** True when the identity may act for `unitId` (its own unit; a street's command centre for the street). */
export function actsFor(identity: Identity, unitId: string | undefined, directory: UnitDirectory): boolean {
  if (!unitId) return false;
  return identity.unitId === unitId || jurisdictionOf(identity, directory) === unitId;
}

export function isDistrictCommand(identity: Identity): boolean {
  return identity.role === 'district_command';
}

/** A MongoDB filter that keeps what the identity may see. */
export function visibilityFilter(identity: Identity, directory: UnitDirectory): Record<string, unknown> {
  if (seesAll(identity)) return {};
  if (identity.role === 'enterprise_officer') return { $or: [{ 'raisedBy.subject': identity.subject }, { followers: identity.subject }] };
  return { visibleTo: jurisdictionOf(identity, directory) };
}

export function canSee(identity: Identity, call: Pick<CallDoc, 'visibleTo' | 'raisedBy' | 'followers'>, directory: UnitDirectory) {
  if (seesAll(identity)) return true;
  // An officer reads the calls they raised and those of the enterprises they serve (followers).
  if (identity.role === 'enterprise_officer') return call.raisedBy.subject === identity.subject || (call.followers ?? []).includes(identity.subject);
  return call.visibleTo.includes(jurisdictionOf(identity, directory));
}

/**
 * Citizens' names and phone numbers: the command centres, and the unit handling the call, need them
 * to call back. A petitioner's identity is kept from every unit but the district command centre.
 */
export function canSeeCitizen(
  identity: Identity,
  call: Pick<CallDoc, 'handlingUnitId' | 'identityProtected'>,
  directory: UnitDirectory,
): boolean {
  if (identity.role === 'district_command') return true;
  if (call.identityProtected) return false;
  if (identity.role === 'street_command') return true;
  return actsFor(identity, call.handlingUnitId, directory);
}

/**
 * True for a command centre whose scope holds every unit given: the district's holds them all, a
 * street's only units of its own street (并单 of calls in one street).
 */
export function commandScopeHolds(identity: Identity, unitIds: string[], directory: UnitDirectory): boolean {
  if (isDistrictCommand(identity)) return true;
  if (identity.role !== 'street_command') return false;
  const street = jurisdictionOf(identity, directory);
  return unitIds.every((id) => directory.streetOf(id)?.id === street);
}
