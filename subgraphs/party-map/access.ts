// Who may see what, and who may change what, decided by the hub's one policy (platform/policy.ts).
// Counts of team members are open to every staff token;
// names and phone numbers only to those who work with the grid (its own grid worker, community and
// street, the street's command centre, the district command centre and district leaders); resident
// ID numbers only to the community and street that register the members. Everyone else gets them
// masked (platform/personal-data.ts).
import type { Identity } from '../../platform/auth.ts';
import { userError } from '../../platform/errors.ts';
import { maskIdNumber, maskName, maskPhone } from '../../platform/personal-data.ts';
import { type Action, allowed, mayEver } from '../../platform/policy.ts';
import type { Snapshot } from './directory.ts';

/** A service account with this scope sees names and phones (e.g. the dispatching system). */
export const PERSONAL_SCOPE = 'party-map:personal';
/** A service account with this scope may import and edit. */
export const WRITE_SCOPE = 'party-map:write';

/**
 * The unit a path names, for the policy: its deepest unit the snapshot knows (a grid being imported is
 * not known yet; its community is).
 */
function placeOf(snapshot: Snapshot, path: readonly string[]): string | undefined {
  return [...path].reverse().find((id) => snapshot.units.has(id));
}

const allowedAt = (identity: Identity, action: Action, snapshot: Snapshot, path: readonly string[]) =>
  allowed(identity, action, { unitId: placeOf(snapshot, path) }, snapshot.units);

export interface PersonalView {
  names: boolean;
  idNumbers: boolean;
}

/** What of a person attached to the unit at `path` the identity may see unmasked. */
export function personalView(identity: Identity, snapshot: Snapshot, path: readonly string[]): PersonalView {
  return {
    names: allowedAt(identity, 'person.read_name', snapshot, path),
    idNumbers: allowedAt(identity, 'person.read_id', snapshot, path),
  };
}

/** Refuses an identity the policy lets read nothing of the map. */
export function requireReader(identity: Identity, snapshot: Snapshot): void {
  if (!allowed(identity, 'directory.read', {}, snapshot.units)) {
    throw userError('FORBIDDEN', '无权查看党建地图 (not allowed to read the party map)');
  }
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

/**
 * May the identity change data at `path` (a unit's path, or where a facility stands)? The district
 * command centre anywhere; a street or community in its own subtree; a department (区属部门 own
 * the facilities) and a service account with the write scope anywhere for facilities.
 */
export function canWrite(identity: Identity, snapshot: Snapshot, path: readonly string[], what: 'unit' | 'facility'): boolean {
  return allowedAt(identity, what === 'unit' ? 'unit.write' : 'facility.write', snapshot, path);
}

/** Refuses identities that may write nothing of this kind at all. */
export function requireWriter(identity: Identity, what: 'unit' | 'facility'): void {
  if (!mayEver(identity, what === 'unit' ? 'unit.write' : 'facility.write')) {
    throw userError('FORBIDDEN', '无权修改党建地图数据 (not allowed to change party-map data)');
  }
}
