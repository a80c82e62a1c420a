// Who may see what, and who may change what. Counts of team members are open to every staff token;
// names and phone numbers only to those who work with the grid (its own grid worker, community and
// street, the street's command centre, the district command centre and district leaders); resident
// ID numbers only to the community and street that register the members. Everyone else gets them
// masked (platform/personal-data.ts).
import type { Identity } from '../../platform/auth.ts';
import { userError } from '../../platform/errors.ts';
import { maskIdNumber, maskName, maskPhone } from '../../platform/personal-data.ts';
import type { Snapshot } from './directory.ts';

/** A service account with this scope sees names and phones (e.g. the dispatching system). */
export const PERSONAL_SCOPE = 'party-map:personal';
/** A service account with this scope may import and edit. */
export const WRITE_SCOPE = 'party-map:write';

/** The unit whose subtree the identity answers for, if any. */
export function jurisdiction(identity: Identity, snapshot: Snapshot): string | undefined {
  switch (identity.role) {
    case 'district_command':
    case 'leader':
      return snapshot.district?._id;
    case 'street_command':
      // A street's command centre sits beside the street: it answers for the street's subtree.
      return snapshot.units.get(identity.unitId)?.parentId ?? undefined;
    case 'street':
    case 'community':
    case 'grid_worker':
      return identity.unitId;
    default:
      return undefined;
  }
}

export function withinJurisdiction(identity: Identity, snapshot: Snapshot, path: readonly string[]): boolean {
  const root = jurisdiction(identity, snapshot);
  return root !== undefined && path.includes(root);
}

export interface PersonalView {
  names: boolean;
  idNumbers: boolean;
}

/** What of a person attached to the unit at `path` the identity may see unmasked. */
export function personalView(identity: Identity, snapshot: Snapshot, path: readonly string[]): PersonalView {
  if (identity.role === 'service_account') {
    const allowed = identity.scopes.includes(PERSONAL_SCOPE);
    return { names: allowed, idNumbers: false };
  }
  const inside = withinJurisdiction(identity, snapshot, path);
  return { names: inside, idNumbers: inside && (identity.role === 'community' || identity.role === 'street') };
}

export interface PersonFields {
  name: string;
  phone: string | null;
  idNumber: string | null;
  masked: boolean;
}

export function showPerson(
  person: { name: string; phone?: string | null; idNumber?: string | null },
  view: PersonalView,
): PersonFields {
  const phone = person.phone ?? null;
  const idNumber = person.idNumber ?? null;
  return {
    name: view.names ? person.name : maskName(person.name),
    phone: phone && (view.names ? phone : maskPhone(phone)),
    idNumber: idNumber && (view.idNumbers ? idNumber : maskIdNumber(idNumber)),
    masked: !view.names || (idNumber !== null && !view.idNumbers),
  };
}

const WRITERS = new Set(['district_command', 'street', 'community', 'department', 'service_account']);

/**
 * May the identity change data at `path` (a unit's path, or where a facility stands)? The district
 * command centre anywhere; a street or community in its own subtree; a department (区属部门 own
 * the facilities) and a service account with the write scope anywhere for facilities.
 */
export function canWrite(identity: Identity, snapshot: Snapshot, path: readonly string[], what: 'unit' | 'facility'): boolean {
  switch (identity.role) {
    case 'district_command':
      return true;
    case 'street':
    case 'community':
      return withinJurisdiction(identity, snapshot, path);
    case 'department':
      return what === 'facility';
    case 'service_account':
      return identity.scopes.includes(WRITE_SCOPE);
    default:
      return false;
  }
}

/** Refuses identities that may write nothing of this kind at all. */
export function requireWriter(identity: Identity, what: 'unit' | 'facility'): void {
  const allowed =
    WRITERS.has(identity.role) &&
    !(identity.role === 'department' && what === 'unit') &&
    !(identity.role === 'service_account' && !identity.scopes.includes(WRITE_SCOPE));
  if (!allowed) throw userError('FORBIDDEN', '无权修改党建地图数据 (not allowed to change party-map data)');
}
