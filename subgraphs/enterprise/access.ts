// Who sees and does what in the enterprise zone, decided by the hub's one policy (platform/policy.ts).
// Decisions depend only on role, unit and scopes, and
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
import { allowed, type PolicyObject, type UnitLookup } from '../../platform/policy.ts';
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

/** An enterprise as the policy sees it: where it sits, and who serves it. */
function enterpriseObject(enterprise: Pick<EnterpriseDoc, 'gridId' | 'streetId' | 'officerId'>): PolicyObject {
  return { unitId: placeOf(enterprise), servedBy: [enterprise.officerId] };
}

export function isAdmin(identity: Identity, directory: UnitLookup): boolean {
  return allowed(identity, 'enterprise.admin', {}, directory);
}

/** Where an enterprise sits, for jurisdiction tests: its grid if known, else its street. */
export function placeOf(enterprise: Pick<EnterpriseDoc, 'gridId' | 'streetId'>): string {
  return enterprise.gridId ?? enterprise.streetId;
}

export function serves(identity: Identity, enterprise: Pick<EnterpriseDoc, 'officerId'>): boolean {
  return identity.role === 'enterprise_officer' && enterprise.officerId === identity.subject;
}

/** Contacts (personal data): the enterprise's officer, its street, the district; a department handling a demand's call. */
export function canSeeContacts(identity: Identity, enterprise: EnterpriseDoc, directory: UnitLookup, handlingUnitId?: string): boolean {
  return allowed(identity, 'enterprise.contacts', { ...enterpriseObject(enterprise), handlingUnitIds: [handlingUnitId] }, directory);
}

export function canSeeDemand(identity: Identity, demand: DemandDoc, enterprise: EnterpriseDoc | undefined, directory: UnitLookup): boolean {
  return allowed(
    identity,
    'demand.read',
    {
      unitId: enterprise ? placeOf(enterprise) : undefined,
      // The officer when it was raised, and the one serving the enterprise now.
      servedBy: [demand.officerId, enterprise?.officerId],
      handlingUnitIds: [demand.call?.handlingUnitId],
    },
    directory,
  );
}

/** An officer may act only for the enterprises they serve; the portal for any; nobody else. */
export function requireActsFor(identity: Identity, enterprise: EnterpriseDoc, directory: UnitLookup): void {
  if (allowed(identity, 'demand.act', enterpriseObject(enterprise), directory)) return;
  if (identity.role === 'enterprise_officer') {
    throw userError('FORBIDDEN', `您不是「${enterprise.name}」的首席服务官，不能代其办理 (not this enterprise's service officer)`, {
      enterpriseId: enterprise._id,
    });
  }
  throw userError('FORBIDDEN', '只有企业的首席服务官或企业服务平台可以提交和评价企业诉求 (only the enterprise’s officer or portal)');
}

export function requireAdmin(identity: Identity, what: string, directory: UnitLookup): void {
  if (!isAdmin(identity, directory)) throw userError('FORBIDDEN', `无权${what} (not allowed)`);
}

/** Registering or editing an enterprise: the district command centre, the enterprise's street, its officer. */
export function requireEditor(identity: Identity, enterprise: Pick<EnterpriseDoc, 'gridId' | 'streetId' | 'officerId'>, directory: UnitLookup) {
  if (allowed(identity, 'enterprise.edit', enterpriseObject(enterprise), directory)) return;
  if (identity.role === 'enterprise_officer') {
    throw userError('FORBIDDEN', '您不是该企业的首席服务官 (not this enterprise’s service officer)');
  }
  throw userError('FORBIDDEN', '无权登记或修改该企业：仅区指挥中心、企业所在街道或其首席服务官可以 (not allowed)');
}

export function requireWriter(identity: Identity, scope: typeof SCOPES.apartments | typeof SCOPES.policies, what: string, directory: UnitLookup) {
  if (allowed(identity, scope === SCOPES.apartments ? 'apartment.write' : 'policy.write', {}, directory)) return;
  throw userError('FORBIDDEN', `无权维护${what} (not allowed)`);
}

/** Reading the zone's public facts (enterprises, officers, apartments, policies): staff, officers, agency accounts with a scope. */
export function requireReader(identity: Identity, directory: UnitLookup): void {
  if (!allowed(identity, 'enterprise.read', {}, directory)) throw userError('FORBIDDEN', '无权查看企业服务专区 (not allowed)');
}

/** An officer's phone and the caseload report: the district, and the officer themself. */
export function canSeeOfficer(identity: Identity, officerId: string | undefined, directory: UnitLookup): boolean {
  return allowed(identity, 'enterprise.officers', { servedBy: [officerId] }, directory);
}
