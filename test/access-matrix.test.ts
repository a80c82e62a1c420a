// The authorization matrix of issue 13, generated from the policy (platform/policy.ts): every role, in
// every relation it can stand in to a fixture object, against every query, mutation and subscription
// field of the supergraph, through the gateway and directly against the subgraph that owns the field;
// plus path spellings of each subgraph's GraphQL route without a token. The expected outcome of each
// case is the policy's own decision; the test prints `N cases, 0 unexpected` and fails listing every
// case whose outcome differs. A root field the policy has no action for fails it too.
//
// Mutations are sent with inputs that fail after the authorization step (an empty text, a call whose
// state allows nothing), so an allowed case shows as any answer but FORBIDDEN / NOT_FOUND /
// UNAUTHENTICATED and nothing changes; denied cases must get one of those codes.
import { readFileSync } from 'node:fs';
import { buildASTSchema, parse } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { startGateway } from '../gateway/app.ts';
import { SUBSCRIPTION_SDL } from '../gateway/subscriptions.ts';
import { type Identity, mintToken, ROLES, type Role } from '../platform/auth.ts';
import { sealIntakeCommand } from '../platform/personal-data.ts';
import {
  type Action,
  allowed,
  decide,
  FIELD_ACTIONS,
  fitsUnit,
  mayEver,
  type PolicyObject,
  RELATIONS,
  relationOf,
  ROLE_UNIT_KINDS,
  SCOPES,
} from '../platform/policy.ts';
import type { CallsApp } from '../subgraphs/calls/app.ts';
import { callObject } from '../subgraphs/calls/access.ts';
import { sourceCallId } from '../subgraphs/calls/intake.ts';
import { orderObject } from '../subgraphs/calls/orders.ts';
import { placeOf } from '../subgraphs/enterprise/access.ts';
import { startTestHub } from './support/gateway.ts';
import { gql, ok, tokenFor } from './support/graphql.ts';
import { testScope } from './support/isolation.ts';
import { waitFor } from './support/wait.ts';

const scope = testScope('matrix');
let calls: CallsApp;
let hub: Awaited<ReturnType<typeof startTestHub>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
const base = {} as Record<Subgraph | 'gateway', string>;

type Subgraph = 'calls' | 'partyMap' | 'evaluation' | 'enterprise';
type TargetKind = 'call' | 'order' | 'unit' | 'enterprise' | 'demand' | 'none';
type Outcome = 'allowed' | 'denied' | `error ${string}`;

interface Target {
  kind: TargetKind;
  label: string;
  id: string;
  object: PolicyObject;
  /** Subjects standing in a person's relation to the object. */
  subjects: Partial<Record<'following' | 'raised_by' | 'serving', string>>;
}

interface Probe {
  field: string;
  subgraph: Subgraph;
  target: TargetKind;
  /** The operation for a target (its id in `$id` where it has one). */
  query: (t: Target) => { query: string; variables?: Record<string, unknown> };
  /** read: the field is null when denied; list: the target is missing when denied; write/gate: a refusal code when denied. */
  observe: 'read' | 'list' | 'write' | 'gate';
  /** The policy's decision when it is not simply the field's action on the target. */
  expected?: (identity: Identity, t: Target) => boolean;
}

const DENIED = new Set(['FORBIDDEN', 'NOT_FOUND', 'UNAUTHENTICATED']);
const EMPTY_COLLECTION = '{"type":"FeatureCollection","features":[]}';

/** The fixtures every case refers to (set in beforeAll). */
const fx = {} as {
  callAtStreet: Target;
  callAtDepartment: Target;
  order: Target;
  unit: Target;
  enterprise: Target;
  demand: Target;
  none: Target;
  enterpriseCode: string;
  enterpriseLocation: { lng: number; lat: number };
  officerId: string;
  apartmentId: string;
};

const staff = (action: Action) => (identity: Identity) => mayEver(identity, action) && fitsUnit(identity, calls.directory);
const on = (action: Action, object: (t: Target) => PolicyObject) => (identity: Identity, t: Target) =>
  allowed(identity, action, object(t), calls.directory);
const enterpriseOf = (t: Target): PolicyObject => ({ unitId: t.object.unitId, servedBy: [fx.enterprise.object.servedBy?.[0]] });

const PROBES: Probe[] = [
  // calls: queries
  { field: 'Query.call', subgraph: 'calls', target: 'call', observe: 'read', query: (t) => ({ query: 'query($id: ID!) { call(id: $id) { id } }', variables: { id: t.id } }) },
  { field: 'Query.calls', subgraph: 'calls', target: 'call', observe: 'list', query: () => ({ query: '{ calls(first: 100) { edges { node { id } } } }' }) },
  { field: 'Query.inbox', subgraph: 'calls', target: 'none', observe: 'gate', expected: staff('call.inbox'), query: () => ({ query: '{ inbox(box: IN_PROGRESS) { __typename } }' }) },
  {
    field: 'Query.callCounters',
    subgraph: 'calls',
    target: 'unit',
    observe: 'gate',
    query: (t) => ({ query: 'query($id: ID!) { callCounters(scopeUnitId: $id, from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z") { raised } }', variables: { id: t.id } }),
  },
  { field: 'Query.callableItems', subgraph: 'calls', target: 'none', observe: 'gate', query: () => ({ query: '{ callableItems { code } }' }) },
  { field: 'Query.callableItemsList', subgraph: 'calls', target: 'none', observe: 'gate', query: () => ({ query: '{ callableItemsList { version } }' }) },
  { field: 'Query.order', subgraph: 'calls', target: 'order', observe: 'read', query: (t) => ({ query: 'query($id: ID!) { order(id: $id) { id } }', variables: { id: t.id } }) },
  { field: 'Query.orders', subgraph: 'calls', target: 'order', observe: 'list', query: () => ({ query: '{ orders(first: 100) { edges { node { id } } } }' }) },
  // calls: mutations on a completed call (nothing but rating, reopening, merging, withdrawing and supervising passes its state)
  ...(
    [
      ['callUp', ''],
      ['dispatchToDepartment', ', itemCode: "CG-03"'],
      ['reviewDispatch', ', approve: false'],
      ['signCall', ''],
      ['respondCall', ', note: ""'],
      ['completeCall', ', result: ""'],
      ['confirmCall', ', stars: 0'],
      ['reopenCall', ', reason: ""'],
      ['mergeCall', ', intoId: $id'],
      ['withdrawCall', ', reason: ""'],
      ['requestAdjudication', ', reason: ""'],
      ['adjudicate', ', note: ""'],
      ['requestExtension', ', workingDays: 0, reason: ""'],
      ['decideExtension', ', grant: false, note: ""'],
      ['escalateCall', ', reason: ""'],
      ['superviseCall', ', note: ""'],
    ] as const
  ).map(
    ([name, args]): Probe => ({
      field: `Mutation.${name}`,
      subgraph: 'calls',
      target: 'call',
      observe: 'write',
      query: (t) => ({ query: `mutation($id: ID!) { ${name}(id: $id${args}) { id } }`, variables: { id: t.id } }),
    }),
  ),
  {
    field: 'Mutation.raiseCall',
    subgraph: 'calls',
    target: 'unit',
    observe: 'write',
    query: (t) => ({ query: 'mutation($id: ID!) { raiseCall(input: { unitId: $id, title: "", description: "" }) { call { id } } }', variables: { id: t.id } }),
  },
  {
    field: 'Mutation.issueOrder',
    subgraph: 'calls',
    target: 'unit',
    observe: 'write',
    query: (t) => ({
      query: 'mutation($id: ID!) { issueOrder(input: { title: "", description: "", kind: KEY_TASK, unitIds: [$id], deadline: "2030-01-01T00:00:00Z" }) { id } }',
      variables: { id: t.id },
    }),
  },
  { field: 'Mutation.signOrder', subgraph: 'calls', target: 'order', observe: 'write', query: (t) => ({ query: 'mutation($id: ID!) { signOrder(id: $id) { id } }', variables: { id: t.id } }) },
  {
    field: 'Mutation.reportOrderProgress',
    subgraph: 'calls',
    target: 'order',
    observe: 'write',
    query: (t) => ({ query: 'mutation($id: ID!) { reportOrderProgress(id: $id, progress: 50, note: "") { id } }', variables: { id: t.id } }),
  },
  {
    field: 'Mutation.completeOrder',
    subgraph: 'calls',
    target: 'order',
    observe: 'write',
    query: (t) => ({ query: 'mutation($id: ID!) { completeOrder(id: $id, note: "") { id } }', variables: { id: t.id } }),
  },
  // evaluation
  { field: 'Query.rankings', subgraph: 'evaluation', target: 'none', observe: 'gate', expected: staff('evaluation.rankings'), query: () => ({ query: '{ rankings(kind: STREET, period: "2026-11") { totalCount } }' }) },
  { field: 'Query.annualRankings', subgraph: 'evaluation', target: 'none', observe: 'gate', expected: staff('evaluation.rankings'), query: () => ({ query: '{ annualRankings(kind: STREET, year: 2026) { year } }' }) },
  { field: 'Query.scoringSchemes', subgraph: 'evaluation', target: 'none', observe: 'gate', expected: staff('evaluation.schemes'), query: () => ({ query: '{ scoringSchemes { __typename } }' }) },
  { field: 'Query.dashboardCounters', subgraph: 'evaluation', target: 'unit', observe: 'gate', query: (t) => ({ query: 'query($id: ID!) { dashboardCounters(scope: $id) { __typename } }', variables: { id: t.id } }) },
  // party map: reads are one decision (directory.read); writes by jurisdiction
  ...(
    [
      ['unit', '(id: "changzhou")'],
      ['units', '(first: 1)'],
      ['locate', '(point: { lng: 113.45, lat: 23.1 })'],
      ['nearestServiceCentres', '(point: { lng: 113.45, lat: 23.1 })'],
      ['nearestFacilities', '(point: { lng: 113.45, lat: 23.1 })'],
      ['inBoundingBox', '(box: { minLng: 113.40, minLat: 23.05, maxLng: 113.41, maxLat: 23.06 })'],
      ['partyOrganization', '(id: "no-such-organisation")'],
      ['partyOrganizations', '(first: 1)'],
      ['serviceCentre', '(id: "no-such-centre")'],
      ['serviceCentres', '(first: 1)'],
      ['facility', '(id: "no-such-facility")'],
      ['facilities', '(first: 1)'],
    ] as const
  ).map(([name, args]): Probe => ({ field: `Query.${name}`, subgraph: 'partyMap', target: 'none', observe: 'gate', query: () => ({ query: `{ ${name}${args} { __typename } }` }) })),
  {
    field: 'Mutation.importGrids',
    subgraph: 'partyMap',
    target: 'none',
    observe: 'write',
    expected: (identity) => mayEver(identity, 'unit.write'),
    query: () => ({ query: 'mutation($fc: String!) { importGrids(featureCollection: $fc, dryRun: true) { __typename } }', variables: { fc: EMPTY_COLLECTION } }),
  },
  {
    field: 'Mutation.importFacilities',
    subgraph: 'partyMap',
    target: 'none',
    observe: 'write',
    expected: (identity) => mayEver(identity, 'facility.write'),
    query: () => ({ query: 'mutation($fc: String!) { importFacilities(featureCollection: $fc, dryRun: true) { __typename } }', variables: { fc: EMPTY_COLLECTION } }),
  },
  {
    field: 'Mutation.updateUnit',
    subgraph: 'partyMap',
    target: 'unit',
    observe: 'write',
    query: (t) => ({ query: 'mutation($id: ID!) { updateUnit(id: $id, input: { name: "" }) { id } }', variables: { id: t.id } }),
  },
  // enterprise zone: public facts are one decision (enterprise.read); demands, contacts, writes by relation
  ...(
    [
      ['enterprise', '(id: $enterprise)'],
      ['enterprises', '(first: 1)'],
      ['checkCreditCode', '(code: $code)'],
      ['serviceOfficer', '(id: $officer)'],
      ['serviceOfficers', '(first: 1)'],
      ['officerReport', '(first: 1)'],
      ['apartment', '(id: $apartment)'],
      ['apartments', '(first: 1)'],
      ['policy', '(id: "no-such-policy")'],
      ['policies', '(first: 1)'],
    ] as const
  ).map(
    ([name, args]): Probe => ({
      field: `Query.${name}`,
      subgraph: 'enterprise',
      target: 'none',
      observe: 'gate',
      query: () => {
        const used = ['code', 'enterprise', 'officer', 'apartment'].filter((v) => args.includes(`$${v}`));
        const declared = used.map((v) => `$${v}: ${v === 'code' ? 'String!' : 'ID!'}`).join(', ');
        const values: Record<string, string> = { code: fx.enterpriseCode, enterprise: fx.enterpriseCode, officer: fx.officerId, apartment: fx.apartmentId };
        return {
          query: `query${declared ? `(${declared})` : ''} { ${name}${args} { __typename } }`,
          variables: Object.fromEntries(used.map((v) => [v, values[v]])),
        };
      },
    }),
  ),
  {
    field: 'Query.demand',
    subgraph: 'enterprise',
    target: 'demand',
    observe: 'read',
    expected: (identity, t) => on('enterprise.read', () => ({}))(identity, t) && on('demand.read', (d) => d.object)(identity, t),
    query: (t) => ({ query: 'query($id: ID!) { demand(id: $id) { id } }', variables: { id: t.id } }),
  },
  {
    field: 'Query.demands',
    subgraph: 'enterprise',
    target: 'demand',
    observe: 'list',
    expected: (identity, t) => on('enterprise.read', () => ({}))(identity, t) && on('demand.read', (d) => d.object)(identity, t),
    query: () => ({ query: 'query($e: ID!) { demands(filter: { enterpriseId: $e }, first: 100) { edges { node { id } } } }', variables: { e: fx.enterpriseCode } }),
  },
  {
    field: 'Mutation.registerEnterprise',
    subgraph: 'enterprise',
    target: 'enterprise',
    observe: 'write',
    // Registering is decided on the place: nobody serves an enterprise not registered yet.
    expected: on('enterprise.edit', (t) => ({ unitId: t.object.unitId })),
    query: () => ({
      query: `mutation($code: String!, $at: GeoPointInput!) { registerEnterprise(input: { creditCode: $code, name: "重复登记", industry: INFORMATION_TECHNOLOGY,
        size: SMALL, address: "黄埔区", location: $at }) { id } }`,
      variables: { code: fx.enterpriseCode, at: fx.enterpriseLocation },
    }),
  },
  {
    field: 'Mutation.updateEnterprise',
    subgraph: 'enterprise',
    target: 'enterprise',
    observe: 'write',
    query: (t) => ({ query: 'mutation($id: ID!) { updateEnterprise(id: $id, input: { name: "" }) { id } }', variables: { id: t.id } }),
  },
  {
    field: 'Mutation.registerServiceOfficer',
    subgraph: 'enterprise',
    target: 'none',
    observe: 'write',
    query: () => ({ query: 'mutation { registerServiceOfficer(input: { id: "", name: "", unitId: "huangpu" }) { id } }' }),
  },
  {
    field: 'Mutation.assignServiceOfficer',
    subgraph: 'enterprise',
    target: 'none',
    observe: 'write',
    query: () => ({
      query: 'mutation($e: ID!, $o: ID!, $r: String) { assignServiceOfficer(enterpriseId: $e, officerId: $o, reason: $r) { id } }',
      variables: { e: fx.enterpriseCode, o: fx.officerId, r: '理由'.repeat(400) },
    }),
  },
  {
    field: 'Mutation.raiseDemand',
    subgraph: 'enterprise',
    target: 'enterprise',
    observe: 'write',
    query: (t) => ({ query: 'mutation($id: ID!) { raiseDemand(input: { enterpriseId: $id, kind: HOUSING, title: "", description: "" }) { id } }', variables: { id: t.id } }),
  },
  {
    field: 'Mutation.rateDemand',
    subgraph: 'enterprise',
    target: 'demand',
    observe: 'write',
    // The demand's enterprise decides: its officer now, or the portal.
    expected: on('demand.act', enterpriseOf),
    query: (t) => ({ query: 'mutation($id: ID!) { rateDemand(id: $id, stars: 0) { id } }', variables: { id: t.id } }),
  },
  {
    field: 'Mutation.withdrawDemand',
    subgraph: 'enterprise',
    target: 'demand',
    observe: 'write',
    expected: on('demand.act', enterpriseOf),
    query: (t) => ({ query: 'mutation($id: ID!) { withdrawDemand(id: $id, reason: "") { id } }', variables: { id: t.id } }),
  },
  {
    field: 'Mutation.putApartment',
    subgraph: 'enterprise',
    target: 'none',
    observe: 'write',
    query: () => ({
      query: `mutation($at: GeoPointInput!) { putApartment(input: { project: "", unitNo: "1", address: "黄埔区", location: $at, rooms: 1, areaSqm: 30,
        monthlyRent: 1000, available: true, provider: "p" }) { id } }`,
      variables: { at: fx.enterpriseLocation },
    }),
  },
  {
    field: 'Mutation.setApartmentAvailability',
    subgraph: 'enterprise',
    target: 'none',
    observe: 'write',
    query: () => ({ query: 'mutation($id: ID!) { setApartmentAvailability(id: $id, available: true) { id } }', variables: { id: fx.apartmentId } }),
  },
  {
    field: 'Mutation.putPolicy',
    subgraph: 'enterprise',
    target: 'none',
    observe: 'write',
    query: () => ({
      query: `mutation { putPolicy(input: { title: "t", issuer: "i", effectiveFrom: "2026-02-01T00:00:00Z", effectiveTo: "2026-01-01T00:00:00Z",
        summary: "s", text: "x" }) { id } }`,
    }),
  },
];

/** Subscriptions (through the gateway only): the decision when they start. */
const SUBSCRIPTIONS: Array<{ field: string; query: (t: Target) => string; expected: (identity: Identity, t: Target) => boolean }> = [
  { field: 'Subscription.callUpdated', query: () => `subscription { callUpdated(id: "${fx.callAtStreet.id}") { id } }`, expected: staff('call.read') },
  { field: 'Subscription.inboxChanged', query: () => 'subscription { inboxChanged { id } }', expected: staff('call.inbox') },
  { field: 'Subscription.dashboardCounters', query: (t) => `subscription { dashboardCounters(scope: "${t.id}") { __typename } }`, expected: on('counters.read', (t) => ({ unitId: t.id })) },
  { field: 'Subscription.floodAlerts', query: (t) => `subscription { floodAlerts(area: "${t.id}") { alertId } }`, expected: on('alerts.read', (t) => ({ unitId: t.id })) },
];

const PATH_VARIANTS = ['/%67raphql', '//graphql', '/graphql/', '/GRAPHQL', '/graphql?x=1', '/%2567raphql'];

interface Member {
  label: string;
  identity: Identity;
}

/** The scopes an agency account is tried with against a subgraph: none, the subgraph's own, and one of another's. */
const SCOPE_SETS: Record<Subgraph | 'gateway', string[][]> = {
  calls: [[], ...SCOPES.filter((s) => /^(calls|orders|intake):/.test(s)).map((s) => [s]), ['enterprise:apartments']],
  evaluation: [[], ['evaluation:read'], ['calls:read']],
  partyMap: [[], ['party-map:personal'], ['party-map:write'], ['calls:read']],
  enterprise: [[], ...SCOPES.filter((s) => s.startsWith('enterprise:')).map((s) => [s]), ['calls:read']],
  gateway: [[], ...SCOPES.map((s) => [s])],
};

/** The identities of a role standing in each relation it can to a target (and one whose token names a unit its role cannot hold). */
function members(t: Target, subgraph: Subgraph | 'gateway' = 'gateway'): Member[] {
  const directory = calls.directory;
  const units = [...directory.ofKind('grid'), ...directory.ofKind('community'), ...directory.ofKind('street'), ...directory.ofKind('street_command'), ...directory.ofKind('department'), ...directory.ofKind('district_command'), ...directory.ofKind('leadership'), ...directory.ofKind('district')].sort((a, b) =>
    a.id.localeCompare(b.id),
  );
  const out: Member[] = [];
  const seen = new Set<string>();
  // One identity per role (and scopes) and set of relations: two with the same get the same decision.
  const add = (label: string, identity: Identity) => {
    const key = `${identity.role}|${identity.scopes.join()}|${relationOf(identity, t.object, directory).sort().join()}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ label, identity });
  };
  const person = new Set(['following', 'raised_by', 'serving']);
  for (const role of ROLES) {
    if (role === 'service_account') continue;
    const kinds = ROLE_UNIT_KINDS[role];
    const own = kinds ? units.filter((u) => kinds.includes(u.kind)) : [{ id: 'dept-business' }, { id: 'changzhou' }];
    const make = (unitId: string, subject = `m-${role}-${unitId}`): Identity => ({ role, unitId, subject, scopes: [] });
    for (const relation of RELATIONS) {
      if (person.has(relation)) {
        const subject = t.subjects[relation as keyof Target['subjects']];
        const quiet = own.find((u) => relationOf(make(u.id), t.object, directory).join() === 'unrelated');
        if (subject && quiet) add(`${role}/${relation}`, make(quiet.id, subject));
        continue;
      }
      const found = own.find((u) => {
        const relations = relationOf(make(u.id), t.object, directory);
        return relation === 'unrelated' ? relations.join() === 'unrelated' : relations.includes(relation);
      });
      if (found) add(`${role}/${relation}@${found.id}`, make(found.id));
    }
    // A token naming a unit its role cannot hold (an officer's token naming a street is the issue's case).
    const foreign = role === 'street' || role === 'street_leader' ? 'changzhou-c1' : 'changzhou';
    out.push({ label: `${role}/names ${foreign}`, identity: make(foreign) });
  }
  for (const scopes of SCOPE_SETS[subgraph]) {
    const make = (subject: string): Identity => ({ role: 'service_account', unitId: 'huangpu', subject, scopes });
    add(`service_account[${scopes.join()}]/unrelated`, make('m-agency'));
    if (t.subjects.raised_by) add(`service_account[${scopes.join()}]/raised_by`, make(t.subjects.raised_by));
  }
  return out;
}

const tokens = new Map<string, Promise<string>>();
function tokenOf(identity: Identity): Promise<string> {
  const key = `${identity.role}|${identity.unitId}|${identity.subject}|${identity.scopes.join(' ')}`;
  let token = tokens.get(key);
  if (!token) {
    token = mintToken(identity);
    tokens.set(key, token);
  }
  return token;
}

async function post(url: string, token: string | undefined, body: { query: string; variables?: Record<string, unknown> }) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: string } }> };
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = {};
  }
  return { status: response.status, ...parsed };
}

function observed(probe: Probe, t: Target, result: Awaited<ReturnType<typeof post>>): Outcome {
  const name = probe.field.split('.')[1] as string;
  const codes = (result.errors ?? []).map((e) => e.extensions?.code ?? 'NO_CODE');
  if (codes.some((c) => DENIED.has(c))) return 'denied';
  const unexpected = codes.find((c) => ['INTERNAL_SERVER_ERROR', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED', 'NO_CODE'].includes(c));
  if (unexpected) return `error ${unexpected}`;
  const value = result.data?.[name];
  switch (probe.observe) {
    case 'read':
      return value == null ? 'denied' : 'allowed';
    case 'list': {
      const ids = ((value as { edges?: Array<{ node: { id: string } }> } | null)?.edges ?? []).map((e) => e.node.id);
      return ids.includes(t.id) ? 'allowed' : 'denied';
    }
    case 'gate':
      return value === undefined ? 'error no data' : 'allowed';
    case 'write':
      return 'allowed';
  }
}

async function pool<T>(items: T[], size: number, run: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await run(items[next++] as T);
    }),
  );
}

beforeAll(async () => {
  const started = Date.now();
  hub = await startTestHub(scope, { enterpriseDemo: true });
  ({ calls, gateway } = hub);
  Object.assign(base, { gateway: gateway.url, ...hub.urls });

  const at = (unitId: string, role: Role, subject?: string) => tokenFor(unitId, role, subject);
  const mutate = async (token: string, query: string, variables: Record<string, unknown>) => ok(await gql(`${calls.url}/graphql`, token, query, variables));
  const now = new Date().toISOString();

  // A 12345 call at a community (with the citizen's contact, followed by an enterprise officer), called
  // up to the street, answered there: COMPLETED, waiting for the community's rating.
  // As a connector sends it: the citizen's contact sealed (platform/personal-data.ts).
  await calls.intake.apply(sealIntakeCommand({
    commandId: 'matrix-1',
    source: 'hotline',
    externalId: 'MATRIX-1',
    kind: 'create_call',
    occurredAt: now,
    call: {
      title: '路口路灯不亮',
      description: '深井社区路口路灯连续三晚不亮',
      category: '城市管理',
      priority: 'NORMAL',
      unitId: 'changzhou-c1',
      citizen: { name: '王小明', phone: '13800138000' },
      followers: ['matrix-follower'],
    },
  }, scope.keys));

  const c1 = sourceCallId('hotline', 'MATRIX-1');
  const community = await at('changzhou-c1', 'community');
  const street = await at('changzhou', 'street');
  await mutate(community, 'mutation($id: ID!) { callUp(id: $id) { id } }', { id: c1 });
  await mutate(street, 'mutation($id: ID!) { signCall(id: $id) { id } }', { id: c1 });
  await mutate(street, 'mutation($id: ID!) { respondCall(id: $id, note: "已安排维修") { id } }', { id: c1 });
  await mutate(street, 'mutation($id: ID!) { completeCall(id: $id, result: "已更换灯具") { id } }', { id: c1 });

  // A street's call to a department (lead dept-urban, co-handlers dept-ecology, dept-housing), answered: COMPLETED.
  const raised = await mutate(street, 'mutation { raiseCall(input: { title: "夜间施工噪音", description: "工地夜间打桩噪音扰民", category: "城市管理" }) { call { id } } }', {});
  const c2 = raised.raiseCall.call.id as string;
  await mutate(street, 'mutation($id: ID!) { dispatchToDepartment(id: $id, itemCode: "CG-03") { id } }', { id: c2 });
  // The street's leadership approves the call to the department (审核).
  await mutate(await at('changzhou', 'street_leader'), 'mutation($id: ID!) { reviewDispatch(id: $id, approve: true) { id } }', { id: c2 });
  const urban = await at('dept-urban', 'department');
  await mutate(urban, 'mutation($id: ID!) { signCall(id: $id) { id } }', { id: c2 });
  await mutate(urban, 'mutation($id: ID!) { respondCall(id: $id, note: "已约谈施工单位") { id } }', { id: c2 });
  await mutate(urban, 'mutation($id: ID!) { completeCall(id: $id, result: "已责令夜间停工") { id } }', { id: c2 });

  // An order of the district to a community and a department, signed by both.
  const command = await at('huangpu-command', 'district_command');
  const order = await mutate(
    command,
    'mutation { issueOrder(input: { title: "汛前排查", description: "排查辖区排水设施", kind: KEY_TASK, unitIds: ["changzhou-c1", "dept-urban"], deadline: "2030-01-01T00:00:00Z" }) { id } }',
    {},
  );
  const orderId = order.issueOrder.id as string;
  await mutate(community, 'mutation($id: ID!) { signOrder(id: $id) { id } }', { id: orderId });
  await mutate(urban, 'mutation($id: ID!) { signOrder(id: $id) { id } }', { id: orderId });

  const callTarget = async (id: string, label: string): Promise<Target> => {
    const doc = await calls.store.get(id);
    if (!doc) throw new Error(`fixture call ${id} missing`);
    return {
      kind: 'call',
      label,
      id,
      object: callObject(doc),
      subjects: { following: doc.followers?.[0], raised_by: doc.raisedBy.subject },
    };
  };
  fx.callAtStreet = await callTarget(c1, 'call@street');
  fx.callAtDepartment = await callTarget(c2, 'call@department');
  const orderDoc = (await calls.orders.find(orderId, { role: 'district_command', unitId: 'huangpu-command', subject: 'm', scopes: [] })) as NonNullable<
    Awaited<ReturnType<typeof calls.orders.find>>
  >;
  fx.order = { kind: 'order', label: 'order', id: orderId, object: orderObject(orderDoc), subjects: {} };
  fx.unit = { kind: 'unit', label: 'unit changzhou-c1', id: 'changzhou-c1', object: { unitId: 'changzhou-c1' }, subjects: {} };
  fx.none = { kind: 'none', label: '-', id: '', object: {}, subjects: {} };

  // The enterprise zone's demo: an enterprise with an officer and a demand.
  const { enterprise } = hub;
  await waitFor('the enterprise demo', () => ([...enterprise.zone.demands.values()].length > 0 ? true : undefined));
  const demand = [...enterprise.zone.demands.values()].find((d) => enterprise.zone.enterprises.get(d.enterpriseId)?.officerId);
  const company = demand && enterprise.zone.enterprises.get(demand.enterpriseId);
  if (!demand || !company?.officerId) throw new Error('the enterprise demo has no demand of an enterprise with an officer');
  fx.enterpriseCode = company._id;
  fx.enterpriseLocation = { lng: company.location.lng, lat: company.location.lat };
  fx.officerId = company.officerId;
  fx.apartmentId = ([...enterprise.zone.apartments.values()][0] as { _id: string })._id;
  fx.enterprise = {
    kind: 'enterprise',
    label: `enterprise ${company._id}`,
    id: company._id,
    object: { unitId: placeOf(company), servedBy: [company.officerId] },
    subjects: { serving: company.officerId },
  };
  fx.demand = {
    kind: 'demand',
    label: `demand ${demand._id}`,
    id: demand._id,
    object: { unitId: placeOf(company), servedBy: [demand.officerId, company.officerId], handlingUnitIds: [demand.call?.handlingUnitId] },
    subjects: { serving: company.officerId },
  };
  console.log(`services and fixtures ready in ${Date.now() - started} ms`);
}, 180_000);

afterAll(async () => {
  await hub?.stop();
  await scope.cleanup();
});

const targetsOf = (kind: TargetKind): Target[] => (kind === 'call' ? [fx.callAtStreet, fx.callAtDepartment] : [fx[kind]]);

describe('the authorization matrix', () => {
  it('names an action for every query, mutation and subscription field of the supergraph and the gateway', () => {
    const schema = buildASTSchema(parse(readFileSync('schemas/supergraph.graphql', 'utf8')), { assumeValidSDL: true });
    const subscriptions = buildASTSchema(parse(`type Query { _: Int } ${SUBSCRIPTION_SDL.replace(/extend schema \{[^}]*\}/, 'schema { query: Query subscription: Subscription }')} type Call { id: ID } type DashboardCounters { id: ID } enum CallStatus { A } enum Tier { A }`), {
      assumeValidSDL: true,
    });
    const fields = [
      ...Object.keys(schema.getQueryType()?.getFields() ?? {}).map((f) => `Query.${f}`),
      ...Object.keys(schema.getMutationType()?.getFields() ?? {}).map((f) => `Mutation.${f}`),
      ...Object.keys(subscriptions.getSubscriptionType()?.getFields() ?? {}).map((f) => `Subscription.${f}`),
    ].filter((f) => !f.startsWith('Query._'));
    expect(fields.filter((f) => !FIELD_ACTIONS[f])).toEqual([]);
    // …and every field is probed below (a field without a probe is not proven).
    const probed = new Set([...PROBES.map((p) => p.field), ...SUBSCRIPTIONS.map((s) => s.field)]);
    expect(fields.filter((f) => !probed.has(f))).toEqual([]);
  });

  it('answers every role in every relation as the policy decides, through the gateway, directly, and over graphql-ws', async () => {
    interface Case {
      channel: 'gateway' | 'subgraph';
      probe: Probe;
      target: Target;
      member: Member;
      expected: Outcome;
    }
    const cases: Case[] = [];
    for (const probe of PROBES) {
      const action = FIELD_ACTIONS[probe.field] as Action;
      for (const target of targetsOf(probe.target)) {
        for (const member of members(target, probe.subgraph)) {
          const verdict = probe.expected
            ? probe.expected(member.identity, target)
            : decide(member.identity, action, relationOf(member.identity, target.object, calls.directory));
          for (const channel of ['gateway', 'subgraph'] as const) {
            cases.push({ channel, probe, target, member, expected: verdict ? 'allowed' : 'denied' });
          }
        }
      }
    }
    const unexpected: string[] = [];
    await pool(cases, 16, async (c) => {
      const url = `${c.channel === 'gateway' ? base.gateway : base[c.probe.subgraph]}/graphql`;
      const result = await post(url, await tokenOf(c.member.identity), c.probe.query(c.target));
      const outcome = observed(c.probe, c.target, result);
      if (outcome !== c.expected) {
        unexpected.push(
          `${c.channel} ${c.probe.field} on ${c.target.label} as ${c.member.label}: expected ${c.expected}, got ${outcome} ${JSON.stringify(result.errors?.[0] ?? '').slice(0, 160)}`,
        );
      }
    });

    // Subscriptions: each identity subscribes to every field on one socket; a refusal arrives as an
    // error with FORBIDDEN, an allowed subscription stays open (it was started: nothing refused it
    // by the time the socket has answered every other subscription of it).
    const subscriptionCases: Array<{ member: Member; target: Target; field: string; expected: Outcome; outcome?: Outcome }> = [];
    const subscribers = [...members(fx.unit), ...members(fx.callAtStreet).filter((m) => m.label.includes('following') || m.label.includes('raised_by'))];
    await pool(subscribers, 8, async (member) => {
      const client = createClient({
        url: base.gateway.replace(/^http/, 'ws') + '/graphql',
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${await tokenOf(member.identity)}` },
        retryAttempts: 0,
        lazy: false,
      });
      const mine = SUBSCRIPTIONS.map((s): (typeof subscriptionCases)[number] => ({
        member,
        target: fx.unit,
        field: s.field,
        expected: s.expected(member.identity, fx.unit) ? 'allowed' : 'denied',
      }));
      subscriptionCases.push(...mine);
      const stops = SUBSCRIPTIONS.map((s, i) => {
        const entry = mine[i] as (typeof mine)[number];
        return client.subscribe(
          { query: s.query(fx.unit) },
          {
            next: (message) => {
              const codes = (message.errors ?? []).map((e) => (e as { extensions?: { code?: string } }).extensions?.code);
              if (codes.length) entry.outcome = codes.includes('FORBIDDEN') ? 'denied' : `error ${codes.join()}`;
            },
            error: (errors) => {
              const list = Array.isArray(errors) ? errors : [errors];
              const codes = list.map((e) => (e as { extensions?: { code?: string } }).extensions?.code);
              entry.outcome = codes.includes('FORBIDDEN') ? 'denied' : `error ${JSON.stringify(errors).slice(0, 120)}`;
            },
            complete: () => undefined,
          },
        );
      });
      // A last subscription the socket refuses for everyone (an unknown field) marks when it has
      // handled the ones before it; refusals arrive before it.
      await new Promise<void>((resolve) =>
        client.subscribe({ query: 'subscription { noSuchField }' }, { next: () => resolve(), error: () => resolve(), complete: () => resolve() }),
      );
      await waitFor('the refusals', () => (mine.every((m) => m.expected === 'allowed' || m.outcome !== undefined) ? true : undefined), 2000).catch(() => undefined);
      for (const entry of mine) entry.outcome ??= 'allowed';
      for (const stop of stops) stop();
      await client.dispose();
    });
    for (const s of subscriptionCases) {
      if (s.outcome !== s.expected) unexpected.push(`graphql-ws ${s.field} on ${s.target.label} as ${s.member.label}: expected ${s.expected}, got ${s.outcome}`);
    }

    // No identity, any spelling of a subgraph's GraphQL path, any query or mutation: never data.
    const pathCases: string[] = [];
    for (const subgraph of ['calls', 'partyMap', 'evaluation', 'enterprise'] as const) {
      for (const probe of PROBES.filter((p) => p.subgraph === subgraph)) {
        for (const path of PATH_VARIANTS) pathCases.push(`${subgraph} ${path} ${probe.field}`);
      }
    }
    await pool(pathCases, 16, async (label) => {
      const [subgraph, path, field] = label.split(' ') as [Subgraph, string, string];
      const probe = PROBES.find((p) => p.field === field) as Probe;
      const target = targetsOf(probe.target)[0] as Target;
      const result = await post(`${base[subgraph]}${path}`, undefined, probe.query(target));
      const data = result.data ? Object.values(result.data).filter((v) => v !== null) : [];
      if (data.length > 0) unexpected.push(`no token ${label}: expected no data, got ${JSON.stringify(result.data).slice(0, 120)} (HTTP ${result.status})`);
    });

    const total = cases.length + subscriptionCases.length + pathCases.length;
    console.log(`${total} cases, ${unexpected.length} unexpected`);
    expect(unexpected.sort()).toEqual([]);
  }, 240_000);
});

describe('the holes of issue 13, closed', () => {
  const ORDER = `mutation { issueOrder(input: { title: "清理僵尸车", description: "限期清理", kind: KEY_TASK, unitIds: ["changzhou-c1"],
    deadline: "2030-01-01T00:00:00Z" }) { id } }`;
  let raisedAtStreet: string;

  beforeAll(async () => {
    // A 12345 call at the street itself, with the citizen's contact: in the street's inbox.
    await calls.intake.apply(sealIntakeCommand({
      commandId: 'matrix-holes',
      source: 'hotline',
      externalId: 'MATRIX-HOLES',
      kind: 'create_call',
      occurredAt: new Date().toISOString(),
      call: { title: '僵尸车', description: '小区门口僵尸车停放十年无人处理', category: '交通管理', priority: 'NORMAL', unitId: 'changzhou', citizen: { name: '李大明', phone: '13900139000' } },
    }, scope.keys));

    raisedAtStreet = sourceCallId('hotline', 'MATRIX-HOLES');
  });

  const statusOf = async (id: string) => (await calls.store.get(id))?.status;
  const orderCount = () => calls.models.Order.countDocuments();

  it('an enterprise officer whose token names a street reads neither its inbox nor its citizens, completes nothing and orders nothing', async () => {
    const url = `${base.gateway}/graphql`;
    const officer = await tokenFor('changzhou', 'enterprise_officer', 'cso-posing-as-street');
    const street = await tokenFor('changzhou', 'street');
    // The street itself sees the call in its inbox, with the citizen's contact (it calls back).
    const own = ok(await gql(url, street, '{ inbox(box: IN_PROGRESS, first: 100) { edges { node { id citizen { name phone masked } } } } }')).inbox;
    expect(own.edges.find((e: { node: { id: string } }) => e.node.id === raisedAtStreet)?.node.citizen).toEqual({ name: '李大明', phone: '13900139000', masked: false });

    expect((await gql(url, officer, '{ inbox(box: IN_PROGRESS) { edges { node { id } } } }')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const read = await gql(url, officer, 'query($id: ID!) { call(id: $id) { id citizen { name phone } } }', { id: raisedAtStreet });
    expect(read.data?.call).toBeNull();
    const completed = await gql(url, officer, 'mutation($id: ID!) { completeCall(id: $id, result: "已处理") { id } }', { id: raisedAtStreet });
    expect(completed.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await statusOf(raisedAtStreet)).toBe('RAISED');
    const before = await orderCount();
    expect((await gql(url, officer, ORDER)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await orderCount()).toBe(before);
  });

  it('an agency account holding only enterprise:apartments lists no call, withdraws none and issues no district order', async () => {
    const url = `${base.gateway}/graphql`;
    const housing = await tokenFor('huangpu', 'service_account', 'housing-system', ['enterprise:apartments']);
    expect(ok(await gql(url, housing, '{ calls(first: 100) { edges { node { id } } } }')).calls.edges).toEqual([]);
    const withdrawn = await gql(url, housing, 'mutation($id: ID!) { withdrawCall(id: $id, reason: "撤回") { id } }', { id: raisedAtStreet });
    expect(withdrawn.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await statusOf(raisedAtStreet)).toBe('RAISED');
    const before = await orderCount();
    expect((await gql(url, housing, ORDER.replace('"changzhou-c1"', '"changzhou", "lianhe"'))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await orderCount()).toBe(before);
  });

  it('call and dashboard counters answer an officer for no street', async () => {
    const url = `${base.gateway}/graphql`;
    const officer = await tokenFor('changzhou', 'enterprise_officer', 'cso-posing-as-street');
    const counters = await gql(url, officer, '{ callCounters(scopeUnitId: "changzhou", from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z") { raised } }');
    expect(counters.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const dashboard = await gql(url, officer, '{ dashboardCounters(scope: "changzhou") { __typename } }');
    expect(dashboard.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
