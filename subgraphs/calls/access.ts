// Who sees and does what with calls, decided by the hub's one policy (platform/policy.ts): the
// identity's role, its relation to the call (raised at its unit, passed through its subtree, handled,
// co-handled or called up by it, followed or raised by the person) and the action.
import type { Identity } from '../../platform/auth.ts';
import { type Action, actingUnitOf, allowed, decide, fitsUnit, mayEver, type PolicyObject, type Relation, relationOf, ROLE_RULES, SCOPE_RULES } from '../../platform/policy.ts';
import { userError } from '../../platform/errors.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import type { CallDoc } from './model.ts';

/** The unit whose subtree an identity sees and acts for (a street command centre: its street). */
export function jurisdictionOf(identity: Pick<Identity, 'role' | 'unitId'>, directory: UnitDirectory): string {
  return actingUnitOf(identity, directory);
}

type CallLike = Partial<Pick<CallDoc, 'originUnitId' | 'visibleTo' | 'handlingUnitId' | 'coHandlingUnitIds' | 'callerUnitId' | 'followers'>> & {
  raisedBy?: { subject: string };
};

/** A call as the policy sees it. */
export function callObject(call: CallLike): PolicyObject {
  return {
    unitId: call.originUnitId,
    visibleTo: call.visibleTo,
    handlingUnitIds: [call.handlingUnitId],
    coHandlingUnitIds: call.coHandlingUnitIds,
    callerUnitId: call.callerUnitId,
    followers: call.followers,
    raisedBy: call.raisedBy?.subject,
  };
}

/** May the identity take `action` on the call? */
export function mayDo(identity: Identity, action: Action, call: CallLike, directory: UnitDirectory): boolean {
  return allowed(identity, action, callObject(call), directory);
}

/** `mayDo`, or FORBIDDEN. */
export function requireMay(identity: Identity, action: Action, call: CallLike, directory: UnitDirectory, what: string): void {
  if (!mayDo(identity, action, call, directory)) throw userError('FORBIDDEN', `本单位无权${what} (not allowed: ${action})`, { action });
}

/** The call actions a unit's own staff take for it (lifecycle's "acts for the unit"). */
const UNIT_ACTIONS: Action[] = ['call.sign', 'call.handle', 'call.dispatch', 'call.confirm', 'call.escalate', 'call.withdraw', 'call.merge', 'call.approve_dispatch'];

/**
 * True when the identity may act for `unitId` at all: the unit is its acting unit and the policy
 * grants its role some call action for the unit's own calls (handling, calling or raised there).
 * Which action exactly is decided before (the resolvers' `requireMay`); this keeps the unit check
 * inside each transition role-aware (an officer or agency account whose token names a street does not
 * act for it).
 */
export function actsFor(identity: Identity, unitId: string | undefined, directory: UnitDirectory): boolean {
  if (!unitId || !fitsUnit(identity, directory) || actingUnitOf(identity, directory) !== unitId) return false;
  const relations: Relation[] = ['own', 'handling', 'calling'];
  return UNIT_ACTIONS.some((action) => decide(identity, action, relations));
}

/** The district command centre's decisions (adjudicate, extensions, merge across streets). */
export function isDistrictCommand(identity: Identity, directory?: UnitDirectory): boolean {
  return identity.role === 'district_command' && (directory === undefined || fitsUnit(identity, directory));
}

/** A filter for the calls index that keeps exactly what `canSee` allows (the policy's `call.read` relations). */
export function visibilityFilter(identity: Identity, directory: UnitDirectory): Record<string, unknown> {
  if (!mayEver(identity, 'call.read')) return { _id: { $in: [] } };
  const relations = readRelations(identity);
  if (relations === '*') return fitsUnit(identity, directory) ? {} : { _id: { $in: [] } };
  if (!fitsUnit(identity, directory)) return { _id: { $in: [] } };
  const or: Record<string, unknown>[] = [];
  const unit = actingUnitOf(identity, directory);
  // Every unit-based relation (own, below, handling, co-handling, calling) puts the unit in visibleTo.
  if (relations.some((r) => ['own', 'below', 'handling', 'co_handling', 'calling'].includes(r))) or.push({ visibleTo: unit });
  if (relations.includes('following')) or.push({ followers: identity.subject });
  if (relations.includes('raised_by')) or.push({ 'raisedBy.subject': identity.subject });
  // One relation (a unit's own calls: the common case) needs no $or, which every call scanned would pay for.
  if (or.length === 1) return or[0] as Record<string, unknown>;
  return or.length ? { $or: or } : { _id: { $in: [] } };
}

/**
 * The history keys (call-history.ts) whose lists hold every call `visibilityFilter` lets the identity
 * read: its acting unit for unit-based relations, `p:<subject>` for calls it follows or raised, the
 * district itself for those who read everything. Empty when it reads nothing.
 */
export function visibleHistoryKeys(identity: Identity, directory: UnitDirectory): string[] {
  if (!mayEver(identity, 'call.read') || !fitsUnit(identity, directory)) return [];
  const relations = readRelations(identity);
  if (relations === '*') {
    // Every call starts at a grid, community or street: its origin's path begins at the district.
    return [...new Set(directory.ofKind('street').map((street) => street.path[0] ?? street.id))];
  }
  const keys: string[] = [];
  if (relations.some((r) => ['own', 'below', 'handling', 'co_handling', 'calling'].includes(r))) keys.push(actingUnitOf(identity, directory));
  if (relations.includes('following') || relations.includes('raised_by')) keys.push(`p:${identity.subject}`);
  return keys;
}

/** The relations under which the identity reads calls ('*' for all), from the policy's own rows. */
function readRelations(identity: Identity): readonly Relation[] | '*' {
  const rows =
    identity.role === 'service_account'
      ? SCOPE_RULES.filter((r) => identity.scopes.includes(r.scope) && r.actions.includes('call.read'))
      : ROLE_RULES.filter((r) => r.role === identity.role && r.actions.includes('call.read'));
  if (rows.some((r) => r.relations === '*')) return '*';
  return rows.flatMap((r) => r.relations as readonly Relation[]);
}

export function canSee(identity: Identity, call: CallLike, directory: UnitDirectory): boolean {
  return mayDo(identity, 'call.read', call, directory);
}

/**
 * Citizens' names and phone numbers: the command centres, and the unit handling the call, need them
 * to call back. A petitioner's identity is kept from every unit but the district command centre.
 */
export function canSeeCitizen(identity: Identity, call: CallLike & Pick<CallDoc, 'identityProtected'>, directory: UnitDirectory): boolean {
  return mayDo(identity, call.identityProtected ? 'call.read_petitioner' : 'call.read_citizen', call, directory);
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

export { relationOf };
