// The one authorization model of the hub (issue 13): who may see and do what, decided from the
// identity's role, its relation to the object (computed from the unit directory) and the action, plus
// the scopes of agency service accounts. Every subgraph and the gateway decide through `allowed` /
// `decide`; deny is the default: an identity that no row names sees nothing and does nothing.
//
// Reading the table: a row grants its role (or an agency account holding its scope) the actions it
// lists on objects it stands in one of the listed relations to ('*' = any relation). Nothing else is
// allowed. `FIELD_ACTIONS` names the action behind every query, mutation and subscription field, so a
// new field cannot slip by without a decision (test/access-matrix.test.ts fails on one that has none).
import type { Identity, Role } from './auth.ts';
import type { UnitKind } from '../demo/district.ts';
import { userError } from './errors.ts';

/**
 * What the policy reads of the unit directory (platform/unit-directory.ts; the party-map subgraph's
 * own snapshot has the same shape): a unit's kind, parent and path from the district down.
 */
export interface UnitLookup {
  get(id: string): { kind: UnitKind; parentId: string | null; path: readonly string[] } | undefined;
}

/**
 * How the actor stands to an object. The actor's unit is its acting unit: its own, or for a street's
 * command centre the street (`actingUnitOf`).
 */
export const RELATIONS = [
  'own', // the object belongs to the actor's unit (a call raised there, a unit itself, an enterprise in it)
  'below', // the object lies in the actor's subtree (a call passed through it, a grid of its street)
  'above', // the object belongs to a unit above the actor (a street's alert for its grid)
  'sibling', // the object belongs to a unit beside the actor (same parent)
  'handling', // a call or order given to the actor's unit (dispatched to it, 承办)
  'co_handling', // a call the actor's unit co-handles (协办)
  'calling', // a call the actor's unit called up, and so confirms and rates
  'following', // a call the actor (a person) follows: an officer of the enterprise that raised it
  'serving', // an enterprise (its demands, their own record) the actor serves as its chief service officer (首席服务官)
  'raised_by', // an object the actor (a person or system) raised
  'unrelated', // none of the above
] as const;
export type Relation = (typeof RELATIONS)[number];

/** Every action the hub decides on. */
export const ACTIONS = [
  // calls subgraph (呼应事项)
  'call.read',
  'call.read_citizen', // a citizen's name and phone unmasked
  'call.read_petitioner', // a protected (信访) petitioner's identity
  'call.raise', // relation: the unit the call is raised at
  'call.inbox', // a unit's inbox (to sign, overdue, to confirm, to review): the roles that work calls for a unit
  'call.sign', // 签收 for the handling unit
  'call.handle', // respond, complete, call up, ask for adjudication or an extension
  'call.dispatch', // a street's call to a department (呼叫部门)
  'call.approve_dispatch', // the street leadership's review of that call (审核)
  'call.confirm', // rate or send back (the calling unit)
  'call.merge',
  'call.withdraw',
  'call.escalate',
  'call.decide', // adjudicate (改派), decide extensions: the district command centre
  'call.supervise', // 督办
  'call.counters', // relation: the scope unit
  'items.read', // the callable-items list
  'order.read',
  'order.issue', // relation: each unit ordered
  'order.act', // sign, report, complete for an assigned unit
  // evaluation subgraph (考核)
  'evaluation.read', // a unit's scores and their explanation; relation: the unit
  'evaluation.rankings',
  'evaluation.schemes',
  'counters.read', // dashboard counters; relation: the scope unit
  // party-map subgraph (党建地图)
  'directory.read', // units, grids, organisations, centres, facilities (personal fields masked)
  'person.read_name', // names and phones of grid teams, secretaries; relation: the unit they serve
  'person.read_id', // resident ID numbers of grid team members
  'unit.write',
  'facility.write',
  // enterprise subgraph (企业服务专区)
  'enterprise.read', // enterprises' public facts, apartments, policies, officers
  'enterprise.contacts', // an enterprise's contacts unmasked
  'enterprise.edit', // register or change an enterprise
  'enterprise.admin', // register and assign service officers
  'enterprise.officers', // officers' phones and the report of every officer's caseload
  'demand.read',
  'demand.act', // raise, rate, withdraw a demand for an enterprise
  'apartment.write',
  'policy.write',
  // gateway subscriptions
  'alerts.read', // 三防 alerts; relation: the area asked for
] as const;
export type Action = (typeof ACTIONS)[number];

type Grant = { actions: readonly Action[]; relations: readonly Relation[] | '*' };
type RoleRow = Grant & { role: Role };
type ScopeRow = Grant & { scope: string };

/** Roles that answer for a territory (and what lies in it). */
const TERRITORY: readonly Relation[] = ['own', 'below'];

/**
 * What each role may do. District-wide roles use '*'; territorial roles their own unit and what lies
 * below it; calls add the relations of handling them.
 */
export const ROLE_RULES: readonly RoleRow[] = [
  // Every staff role reads the shared reference data: the party map, the enterprise zone's public
  // facts, the callable-items list, the rankings and schemes.
  ...(['grid_worker', 'community', 'street', 'street_leader', 'street_command', 'department', 'district_command', 'leader'] as const).map(
    (role): RoleRow => ({
      role,
      actions: ['directory.read', 'enterprise.read', 'items.read', 'evaluation.rankings', 'evaluation.schemes'],
      relations: '*',
    }),
  ),

  // Units' staff have an inbox for their own unit (a street leader's holds the calls awaiting review).
  ...(['grid_worker', 'community', 'street', 'street_leader', 'street_command', 'department', 'leader'] as const).map(
    (role): RoleRow => ({ role, actions: ['call.inbox'], relations: ['own'] }),
  ),

  // 网格员, 社区, 街道: act for their own unit; see what passed through their subtree.
  ...(['grid_worker', 'community', 'street'] as const).flatMap((role): RoleRow[] => [
    { role, actions: ['call.read', 'order.read', 'call.counters', 'counters.read', 'evaluation.read', 'demand.read', 'alerts.read', 'person.read_name'], relations: TERRITORY },
    { role, actions: ['call.raise'], relations: TERRITORY },
    { role, actions: ['call.sign', 'call.handle', 'call.read_citizen'], relations: ['handling'] },
    { role, actions: ['call.confirm'], relations: ['calling'] },
    { role, actions: ['call.withdraw'], relations: ['own'] },
    // 提级呼叫: every tier may escalate what it holds (the reports' 四个入口); a street also what it called up.
    { role, actions: ['call.escalate'], relations: ['handling', 'calling'] },
    { role, actions: ['order.act'], relations: ['handling'] },
  ]),
  { role: 'community', actions: ['person.read_id', 'unit.write', 'facility.write'], relations: TERRITORY },
  { role: 'street', actions: ['person.read_id', 'unit.write', 'facility.write', 'enterprise.contacts', 'enterprise.edit'], relations: TERRITORY },
  { role: 'street', actions: ['call.dispatch'], relations: ['handling'] },
  { role: 'street', actions: ['order.issue'], relations: ['below'] },

  // 街道领导: reads what its street reads; approves the street's calls to departments.
  {
    role: 'street_leader',
    actions: ['call.read', 'order.read', 'call.counters', 'counters.read', 'evaluation.read', 'demand.read', 'alerts.read', 'person.read_name'],
    relations: TERRITORY,
  },
  { role: 'street_leader', actions: ['call.approve_dispatch'], relations: ['handling', 'calling'] },

  // 街镇指挥中心: works for its street (its acting unit is the street): sees the street's calls with the
  // citizens' contacts, signs calls in for the street, dispatches, supervises and merges; it does not
  // answer, rate or issue orders in the street's name.
  {
    role: 'street_command',
    actions: ['call.read', 'call.read_citizen', 'order.read', 'call.counters', 'counters.read', 'evaluation.read', 'demand.read', 'alerts.read'],
    relations: TERRITORY,
  },
  { role: 'street_command', actions: ['person.read_name', 'enterprise.contacts', 'enterprise.edit', 'call.supervise', 'call.merge'], relations: TERRITORY },
  { role: 'street_command', actions: ['call.sign', 'call.dispatch'], relations: ['handling'] },

  // 区属职能部门: handles what it was dispatched (and co-handles); sees the calls that reached it, its
  // own scores, and the facilities it owns anywhere.
  { role: 'department', actions: ['call.read', 'order.read', 'evaluation.read', 'counters.read', 'call.counters'], relations: TERRITORY },
  { role: 'department', actions: ['call.sign', 'call.handle', 'call.read_citizen', 'demand.read', 'order.act'], relations: ['handling'] },
  { role: 'department', actions: ['call.read_citizen'], relations: ['co_handling'] },
  { role: 'department', actions: ['enterprise.contacts'], relations: ['handling'] }, // a demand's call it handles
  { role: 'department', actions: ['facility.write'], relations: '*' },
  // 三防: the district's departments (water, emergency …) answer alerts anywhere in it.
  { role: 'department', actions: ['alerts.read'], relations: '*' },

  // 区指挥中心: sees and decides everything.
  {
    role: 'district_command',
    // Not: the handling unit's own work, the caller's rating, the street's judgment to call a
    // department and its leadership's review, withdrawing (the raiser's or the source's alone),
    // an enterprise's own demands, resident ID numbers.
    actions: ACTIONS.filter(
      (a) =>
        ![
          'call.inbox',
          'call.sign',
          'call.handle',
          'call.confirm',
          'call.dispatch',
          'call.approve_dispatch',
          'call.withdraw',
          'order.act',
          'demand.act',
          'person.read_id',
        ].includes(a),
    ),
    relations: '*',
  },

  // 区领导: sees everything, answers escalations (提级呼叫, handled by the leadership unit), issues orders.
  {
    role: 'leader',
    actions: ['call.read', 'order.read', 'call.counters', 'counters.read', 'evaluation.read', 'demand.read', 'alerts.read', 'person.read_name', 'enterprise.officers', 'call.supervise', 'order.issue'],
    relations: '*',
  },
  { role: 'leader', actions: ['call.sign', 'call.handle', 'call.read_citizen'], relations: ['handling'] },

  // 首席服务官: the enterprises they serve and their demands; reads the calls they raised or follow.
  { role: 'enterprise_officer', actions: ['directory.read', 'enterprise.read'], relations: '*' },
  // 'serving' also holds for an officer's own record (their phone) and a demand raised while they served.
  { role: 'enterprise_officer', actions: ['enterprise.contacts', 'enterprise.edit', 'demand.read', 'demand.act', 'enterprise.officers'], relations: ['serving'] },
  { role: 'enterprise_officer', actions: ['call.read'], relations: ['following', 'raised_by'] },
];

/**
 * Agency service accounts act only by scope (a token's `scope` claim). The connectors need none: they
 * reach the hub through their own Kafka topics and `hub.intake`, never through GraphQL.
 */
export const SCOPE_RULES: readonly ScopeRow[] = [
  { scope: 'calls:read', actions: ['call.read', 'order.read', 'call.counters', 'items.read'], relations: '*' },
  { scope: 'calls:write', actions: ['call.raise'], relations: '*' },
  // A source system withdraws only the calls it raised itself (its own revoke record).
  { scope: 'calls:write', actions: ['call.read', 'call.withdraw'], relations: ['raised_by'] },
  { scope: 'orders:issue', actions: ['order.issue', 'order.read'], relations: '*' },
  { scope: 'intake:write', actions: ['call.raise'], relations: '*' },
  { scope: 'evaluation:read', actions: ['evaluation.read', 'evaluation.rankings', 'evaluation.schemes', 'counters.read'], relations: '*' },
  { scope: 'alerts:read', actions: ['alerts.read'], relations: '*' },
  { scope: 'party-map:personal', actions: ['person.read_name'], relations: '*' },
  { scope: 'party-map:write', actions: ['unit.write', 'facility.write'], relations: '*' },
  { scope: 'enterprise:admin', actions: ['enterprise.admin', 'enterprise.edit', 'demand.read', 'apartment.write', 'policy.write'], relations: '*' },
  { scope: 'enterprise:read', actions: ['demand.read'], relations: '*' },
  { scope: 'enterprise:personal', actions: ['enterprise.contacts'], relations: '*' },
  { scope: 'enterprise:portal', actions: ['demand.read', 'demand.act'], relations: '*' },
  { scope: 'enterprise:apartments', actions: ['apartment.write'], relations: '*' },
  { scope: 'enterprise:policies', actions: ['policy.write'], relations: '*' },
];

/** The scopes an agency account may hold. Every one also reads the shared reference data. */
export const SCOPES = [...new Set(SCOPE_RULES.map((r) => r.scope))];
const REFERENCE: readonly Action[] = ['directory.read', 'enterprise.read', 'items.read'];

/**
 * The kinds of unit a role's token may name. A token naming another kind (an officer's role on a
 * street, a grid worker's on a department) relates to nothing, so no row applies to it. Officers and
 * agency accounts may name any unit: their rows do not depend on it.
 */
export const ROLE_UNIT_KINDS: Partial<Record<Role, readonly UnitKind[]>> = {
  grid_worker: ['grid'],
  community: ['community'],
  street: ['street'],
  street_leader: ['street'],
  street_command: ['street_command'],
  department: ['department'],
  district_command: ['district_command'],
  leader: ['leadership'],
};

const grants = (row: Grant, action: Action, relations: readonly Relation[]) =>
  row.actions.includes(action) && (row.relations === '*' || relations.some((r) => (row.relations as readonly Relation[]).includes(r)));

/**
 * The decision: may an identity with this role (and scopes) take `action` on an object it stands in
 * `relations` to? No relation at all (an identity whose unit does not fit its role) allows nothing.
 */
export function decide(identity: Pick<Identity, 'role' | 'scopes'> | undefined, action: Action, relations: readonly Relation[]): boolean {
  // No identity (a request that slipped past authentication) and no relation: nothing.
  if (!identity || relations.length === 0) return false;
  if (identity.role === 'service_account') {
    const scopes = identity.scopes.filter((s) => SCOPES.includes(s));
    if (scopes.length > 0 && REFERENCE.includes(action)) return true;
    return SCOPE_RULES.some((row) => scopes.includes(row.scope) && grants(row, action, relations));
  }
  return ROLE_RULES.some((row) => row.role === identity.role && grants(row, action, relations));
}

/** True when some object in some relation could allow the action: a cheap refusal before any lookup. */
export function mayEver(identity: Pick<Identity, 'role' | 'scopes'> | undefined, action: Action): boolean {
  return decide(identity, action, RELATIONS);
}

/** True when the token's unit is one its role may name (and, for staff, is a known unit). */
export function fitsUnit(identity: Pick<Identity, 'role' | 'unitId'>, directory: UnitLookup): boolean {
  const kinds = ROLE_UNIT_KINDS[identity.role];
  if (!kinds) return true;
  const unit = directory.get(identity.unitId);
  return unit !== undefined && kinds.includes(unit.kind);
}

/** The unit an identity acts and sees for: a street's command centre works for its street. */
export function actingUnitOf(identity: Pick<Identity, 'role' | 'unitId'>, directory: UnitLookup): string {
  if (identity.role === 'street_command') return directory.get(identity.unitId)?.parentId ?? identity.unitId;
  return identity.unitId;
}

/** What an object is, as far as relations go. Each field is optional; give what the object has. */
export interface PolicyObject {
  /** The unit the object belongs to: a call's origin, an enterprise's grid or street, a unit itself. */
  unitId?: string | null;
  /** Units the object passed through (a call's or order's `visibleTo`): the actor's unit in it is `below`. */
  visibleTo?: readonly string[];
  handlingUnitIds?: readonly (string | null | undefined)[];
  coHandlingUnitIds?: readonly string[];
  callerUnitId?: string | null;
  followers?: readonly string[];
  /** Subjects serving the object (an enterprise's officer). */
  servedBy?: readonly (string | null | undefined)[];
  raisedBy?: string | null;
}

/** The identity's relations to an object; none when its token names a unit its role cannot hold. */
export function relationOf(identity: Pick<Identity, 'role' | 'unitId' | 'subject'> | undefined, object: PolicyObject, directory: UnitLookup): Relation[] {
  if (!identity || !fitsUnit(identity, directory)) return [];
  const acting = actingUnitOf(identity, directory);
  const found = new Set<Relation>();
  const unit = object.unitId ? directory.get(object.unitId) : undefined;
  const actor = directory.get(acting);
  if (object.unitId === acting) found.add('own');
  else if (unit && actor) {
    if (unit.path.includes(acting)) found.add('below');
    else if (actor.path.includes(object.unitId as string)) found.add('above');
    else if (unit.parentId && unit.parentId === actor.parentId) found.add('sibling');
  }
  if (object.visibleTo?.includes(acting) && !found.has('own')) found.add('below');
  if (object.handlingUnitIds?.includes(acting)) found.add('handling');
  if (object.coHandlingUnitIds?.includes(acting)) found.add('co_handling');
  if (object.callerUnitId && object.callerUnitId === acting) found.add('calling');
  if (object.followers?.includes(identity.subject)) found.add('following');
  if (object.servedBy?.includes(identity.subject) && identity.role === 'enterprise_officer') found.add('serving');
  if (object.raisedBy && object.raisedBy === identity.subject) found.add('raised_by');
  if (found.size === 0) found.add('unrelated');
  return [...found];
}

/** May the identity take the action on the object? The one question every service asks. */
export function allowed(identity: Identity | undefined, action: Action, object: PolicyObject, directory: UnitLookup): boolean {
  return decide(identity, action, relationOf(identity, object, directory));
}

/** `allowed`, or FORBIDDEN with the action named. */
export function requireAllowed(identity: Identity, action: Action, object: PolicyObject, directory: UnitLookup, what: string): void {
  if (!allowed(identity, action, object, directory)) {
    throw userError('FORBIDDEN', `无权${what} (not allowed: ${action})`, { action });
  }
}

/**
 * The action behind every root field of the supergraph and the gateway's subscriptions. A field not
 * named here has no decision, and test/access-matrix.test.ts fails on it.
 */
export const FIELD_ACTIONS: Record<string, Action> = {
  // calls
  'Query.call': 'call.read',
  // A field of Call decided on its own (#18): whether the call's record verifies.
  'Call.integrity': 'call.read',
  'Query.calls': 'call.read',
  'Query.inbox': 'call.inbox',
  'Query.callCounters': 'call.counters',
  'Query.callableItems': 'items.read',
  'Query.callableItemsList': 'items.read',
  'Query.order': 'order.read',
  'Query.orders': 'order.read',
  'Mutation.raiseCall': 'call.raise',
  'Mutation.callUp': 'call.handle',
  'Mutation.dispatchToDepartment': 'call.dispatch',
  'Mutation.signCall': 'call.sign',
  'Mutation.respondCall': 'call.handle',
  'Mutation.completeCall': 'call.handle',
  'Mutation.confirmCall': 'call.confirm',
  'Mutation.reopenCall': 'call.confirm',
  'Mutation.mergeCall': 'call.merge',
  'Mutation.withdrawCall': 'call.withdraw',
  'Mutation.requestAdjudication': 'call.handle',
  'Mutation.adjudicate': 'call.decide',
  'Mutation.requestExtension': 'call.handle',
  'Mutation.decideExtension': 'call.decide',
  'Mutation.escalateCall': 'call.escalate',
  'Mutation.superviseCall': 'call.supervise',
  'Mutation.reviewDispatch': 'call.approve_dispatch',
  'Mutation.issueOrder': 'order.issue',
  'Mutation.signOrder': 'order.act',
  'Mutation.reportOrderProgress': 'order.act',
  'Mutation.completeOrder': 'order.act',
  // enterprise
  'Query.enterprise': 'enterprise.read',
  'Query.enterprises': 'enterprise.read',
  'Query.checkCreditCode': 'enterprise.read',
  'Query.serviceOfficer': 'enterprise.read',
  'Query.serviceOfficers': 'enterprise.read',
  'Query.officerReport': 'enterprise.officers',
  'Query.demand': 'demand.read',
  'Query.demands': 'demand.read',
  'Query.apartment': 'enterprise.read',
  'Query.apartments': 'enterprise.read',
  'Query.policy': 'enterprise.read',
  'Query.policies': 'enterprise.read',
  'Mutation.registerEnterprise': 'enterprise.edit',
  'Mutation.updateEnterprise': 'enterprise.edit',
  'Mutation.registerServiceOfficer': 'enterprise.admin',
  'Mutation.assignServiceOfficer': 'enterprise.admin',
  'Mutation.raiseDemand': 'demand.act',
  'Mutation.rateDemand': 'demand.act',
  'Mutation.withdrawDemand': 'demand.act',
  'Mutation.putApartment': 'apartment.write',
  'Mutation.setApartmentAvailability': 'apartment.write',
  'Mutation.putPolicy': 'policy.write',
  // evaluation
  'Query.rankings': 'evaluation.rankings',
  'Query.annualRankings': 'evaluation.rankings',
  'Query.dashboardCounters': 'counters.read',
  'Query.scoringSchemes': 'evaluation.schemes',
  // party-map
  'Query.unit': 'directory.read',
  'Query.units': 'directory.read',
  'Query.locate': 'directory.read',
  'Query.nearestServiceCentres': 'directory.read',
  'Query.nearestFacilities': 'directory.read',
  'Query.inBoundingBox': 'directory.read',
  'Query.partyOrganization': 'directory.read',
  'Query.partyOrganizations': 'directory.read',
  'Query.serviceCentre': 'directory.read',
  'Query.serviceCentres': 'directory.read',
  'Query.facility': 'directory.read',
  'Query.facilities': 'directory.read',
  'Mutation.importGrids': 'unit.write',
  'Mutation.importFacilities': 'facility.write',
  'Mutation.updateUnit': 'unit.write',
  // gateway subscriptions
  'Subscription.callUpdated': 'call.read',
  'Subscription.inboxChanged': 'call.inbox',
  'Subscription.dashboardCounters': 'counters.read',
  'Subscription.floodAlerts': 'alerts.read',
};

/** The action of a root field, or FORBIDDEN for a field the policy does not know (deny by default). */
export function actionOfField(type: string, field: string): Action {
  const action = FIELD_ACTIONS[`${type}.${field}`];
  if (!action) throw userError('FORBIDDEN', `未授权的操作：${type}.${field} (no policy for this field)`);
  return action;
}

/**
 * A subgraph's resolvers with `check` run first in every query field and entity lookup
 * (`__resolveReference`): for subgraphs whose reads all need one action (the party map, the
 * enterprise zone's public facts), so that an identity the policy does not name reads nothing.
 */
export function guardReads<R extends object>(resolvers: R, decision: (identity: Identity) => void): R {
  type Context = { identity: Identity };
  // Fail closed: a request that reached the resolvers without an identity gets nothing.
  const check = (identity: Identity | undefined) => {
    if (!identity) throw userError('UNAUTHENTICATED', '缺少身份令牌 (missing identity)');
    decision(identity);
  };
  type Resolve = (parent: unknown, args: unknown, ctx: Context, info: unknown) => unknown;
  type Reference = (ref: unknown, ctx: Context, info: unknown) => unknown;
  const guarded: Record<string, unknown> = { ...(resolvers as Record<string, unknown>) };
  for (const [type, fields] of Object.entries(resolvers as Record<string, unknown>)) {
    if (typeof fields !== 'object' || fields === null) continue;
    if (type === 'Query') {
      guarded.Query = Object.fromEntries(
        Object.entries(fields).map(([field, resolve]) => [
          field,
          (parent: unknown, args: unknown, ctx: Context, info: unknown) => {
            check(ctx.identity);
            return (resolve as Resolve)(parent, args, ctx, info);
          },
        ]),
      );
      continue;
    }
    const reference = (fields as { __resolveReference?: Reference }).__resolveReference;
    if (!reference) continue;
    guarded[type] = {
      ...fields,
      __resolveReference: (ref: unknown, ctx: Context, info: unknown) => {
        check(ctx.identity);
        return reference(ref, ctx, info);
      },
    };
  }
  return guarded as R;
}
