// Who sees and does what in the enterprise zone. Decisions depend only on role, unit and scopes, and
// for an officer (首席服务官) on who they are: the gateway shares answers between identities with the
// same access scope (platform/auth.ts accessScope).
//
// - Enterprises' public facts (name, code, industry, place) are open to every staff token; contacts
//   (personal data) only to the enterprise's own officer, its street (and the street's command
//   centre), the district command centre and agency systems with `enterprise:personal`.
// - An officer acts only for the enterprises they serve now: anything else is FORBIDDEN.
// - Demands: the district command centre and leaders see all; an officer the demands of enterprises
//   they serve or served when the demand was raised; a street, community or grid those of enterprises
//   within it; a department those its call is handled by.
import type { Identity } from '../../platform/auth.ts';
import { userError } from '../../platform/errors.ts';
import { jurisdictionOf, type UnitDirectory } from '../../platform/unit-directory.ts';
import type { DemandDoc, EnterpriseDoc } from './model.ts';

export const SCOPES = {
  /** Register enterprises and officers, assign officers. */
  admin: 'enterprise:admin',
  /** Read every demand. */
  read: 'enterprise:read',
  /** See contacts unmasked. */
  personal: 'enterprise:personal',
  /** The enterprise-facing portal: raises and rates demands for any enterprise. */
  portal: 'enterprise:portal',
  /** The talent-housing provider's system: writes apartment listings. */
  apartments: 'enterprise:apartments',
  /** The policy system: writes policies. */
  policies: 'enterprise:policies',
} as const;

const has = (identity: Identity, scope: string) => identity.role === 'service_account' && identity.scopes.includes(scope);

export function isAdmin(identity: Identity): boolean {
  return identity.role === 'district_command' || has(identity, SCOPES.admin);
}

/** Roles that answer for a territory (and the enterprises in it); departments and officers do not. */
const TERRITORIAL_ROLES = new Set<Identity['role']>(['street_command', 'street', 'community', 'grid_worker']);

/** The unit whose territory the identity answers for (platform's jurisdiction), for territorial roles only. */
function territoryOf(identity: Identity, directory: UnitDirectory): string | undefined {
  return TERRITORIAL_ROLES.has(identity.role) ? jurisdictionOf(identity, directory) : undefined;
}

/** Where an enterprise sits, for jurisdiction tests: its grid if known, else its street. */
export function placeOf(enterprise: Pick<EnterpriseDoc, 'gridId' | 'streetId'>): string {
  return enterprise.gridId ?? enterprise.streetId;
}

function withinJurisdiction(identity: Identity, enterprise: Pick<EnterpriseDoc, 'gridId' | 'streetId'>, directory: UnitDirectory) {
  const root = territoryOf(identity, directory);
  return root !== undefined && directory.isWithin(placeOf(enterprise), root);
}

export function serves(identity: Identity, enterprise: Pick<EnterpriseDoc, 'officerId'>): boolean {
  return identity.role === 'enterprise_officer' && enterprise.officerId === identity.subject;
}

export function canSeeContacts(identity: Identity, enterprise: EnterpriseDoc, directory: UnitDirectory): boolean {
  if (identity.role === 'district_command' || has(identity, SCOPES.personal)) return true;
  if (serves(identity, enterprise)) return true;
  return (identity.role === 'street' || identity.role === 'street_command') && withinJurisdiction(identity, enterprise, directory);
}

export function canSeeDemand(identity: Identity, demand: DemandDoc, enterprise: EnterpriseDoc | undefined, directory: UnitDirectory): boolean {
  if (identity.role === 'district_command' || identity.role === 'leader') return true;
  if (has(identity, SCOPES.read) || has(identity, SCOPES.portal) || has(identity, SCOPES.admin)) return true;
  if (identity.role === 'enterprise_officer') {
    return demand.officerId === identity.subject || (enterprise !== undefined && serves(identity, enterprise));
  }
  if (identity.role === 'department') return demand.call?.handlingUnitId === identity.unitId;
  return enterprise !== undefined && withinJurisdiction(identity, enterprise, directory);
}

/** An officer may act only for the enterprises they serve; the portal for any; nobody else. */
export function requireActsFor(identity: Identity, enterprise: EnterpriseDoc): void {
  if (serves(identity, enterprise) || has(identity, SCOPES.portal)) return;
  if (identity.role === 'enterprise_officer') {
    throw userError('FORBIDDEN', `您不是「${enterprise.name}」的首席服务官，不能代其办理 (not this enterprise's service officer)`, {
      enterpriseId: enterprise._id,
    });
  }
  throw userError('FORBIDDEN', '只有企业的首席服务官或企业服务平台可以提交和评价企业诉求 (only the enterprise’s officer or portal)');
}

export function requireAdmin(identity: Identity, what: string): void {
  if (!isAdmin(identity)) throw userError('FORBIDDEN', `无权${what} (not allowed)`);
}

/** Registering or editing an enterprise: the district command centre, the enterprise's street, its officer. */
export function requireEditor(identity: Identity, enterprise: Pick<EnterpriseDoc, 'gridId' | 'streetId' | 'officerId'>, directory: UnitDirectory) {
  if (isAdmin(identity) || serves(identity, enterprise)) return;
  if ((identity.role === 'street' || identity.role === 'street_command') && withinJurisdiction(identity, enterprise, directory)) return;
  if (identity.role === 'enterprise_officer') {
    throw userError('FORBIDDEN', '您不是该企业的首席服务官 (not this enterprise’s service officer)');
  }
  throw userError('FORBIDDEN', '无权登记或修改该企业：仅区指挥中心、企业所在街道或其首席服务官可以 (not allowed)');
}

export function requireWriter(identity: Identity, scope: typeof SCOPES.apartments | typeof SCOPES.policies, what: string) {
  if (isAdmin(identity) || has(identity, scope)) return;
  throw userError('FORBIDDEN', `无权维护${what} (not allowed)`);
}
