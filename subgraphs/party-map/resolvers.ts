// Resolvers for schemas/party-map.graphql. Everything is read from the directory's in-memory snapshot
// (directory.ts), so entity references and nested lists cost map look-ups, not queries: there is
// nothing left for DataLoader to batch. Personal data goes through access.ts before it leaves.
import { GraphQLScalarType } from 'graphql';
import { userError } from '../../platform/errors.ts';
import type { SubgraphContext } from '../../platform/subgraph.ts';
import { guardReads } from '../../platform/policy.ts';
import { personalView, requireReader, requireWriter, showPerson, canWrite } from './access.ts';
import { pageSize } from '../../platform/pagination.ts';
import { afterOffset, pageByKey, pageByOffset } from './connections.ts';
import { ALL_FACILITIES, CENTRES, type Directory, NO_COUNTS, type Placed, type Snapshot, type UnitRecord } from './directory.ts';
import type { AuxiliaryForceKind, FacilityRequirements, PointInput, Resolvers, Weekday } from './generated/graphql.ts';
import { COORDINATE_MESSAGES, type Crs, type Extent, type LngLat, convertGeometry, coordinateProblem, fromStored, grow, toStored } from './geo/crs.ts';
import { MUTATION_LIMITS, importFacilities, importGrids } from './import.ts';
import {
  AUXILIARY_ROLES,
  DECISION_ROLES,
  type FacilityAttributes,
  type FacilityDoc,
  type FacilityKind,
  type MemberDoc,
  type Models,
  type OpeningHoursDoc,
  type ServiceCentreDoc,
  type ServiceCentreLevel,
  type TeamRole,
  type UnitDoc,
  type UnitKind,
  bumpRevision,
} from './models.ts';
import { writeUnits } from './publisher.ts';
import type { OutboxPublisher } from '../../platform/outbox.ts';
import { extentOf } from './geo/geometry.ts';

export interface ResolverDeps {
  models: Models;
  directory: Directory;
  publisher?: OutboxPublisher<UnitDoc>;
}

/** Few enough changed units to publish each at once; more are left to the publisher's sweep. */
const KICK_AT_MOST = 20;

interface Page {
  first?: number | null;
  after?: string | null;
}

// What the resolvers pass around for GraphQL types that are not stored documents: the `mappers` of
// codegen.json, so the generated types check each field resolver against them.

/** A grid's auxiliary force: its members are counted and listed from the grid's team. */
export interface AuxiliaryForceSource {
  kind: AuxiliaryForceKind;
  grid: UnitRecord;
}

/** A facility as the snapshot holds it: with where it stands, for `grid`. */
export type FacilitySource = Placed<FacilityDoc>;

/** A bounding box, checked and in WGS-84, with the snapshot its contents are read from. */
export interface MapAreaSource {
  extent: Extent;
  snapshot: Snapshot;
}

const NEAREST_MAX_FIRST = 50;
const NEAREST_MAX_DEPTH = 200;
const MAX_SEARCH_METERS = 50_000;
const MAX_BOX_DEGREES = 0.5;
const MAX_GRID_WORKERS = 50;

// ---- input checks ---------------------------------------------------------------------------------

/** A client's point, checked and converted to WGS-84. Bad coordinates are BAD_USER_INPUT. */
function storedPoint(input: PointInput, snapshot: Snapshot, argument: string): LngLat {
  const problem = coordinateProblem(input.lng, input.lat, snapshot.extent && grow(snapshot.extent, 0.5));
  if (problem) throw userError('BAD_USER_INPUT', COORDINATE_MESSAGES[problem], { argument, problem });
  return toStored([input.lng, input.lat], input.crs);
}

function searchRadius(maxDistanceMeters: number | null | undefined): number | undefined {
  if (maxDistanceMeters === null || maxDistanceMeters === undefined) return undefined;
  if (!Number.isFinite(maxDistanceMeters) || maxDistanceMeters <= 0 || maxDistanceMeters > MAX_SEARCH_METERS) {
    throw userError('BAD_USER_INPUT', `maxDistanceMeters 应在 0～${MAX_SEARCH_METERS} 米之间 (out of range)`, { argument: 'maxDistanceMeters' });
  }
  return maxDistanceMeters;
}

function rankedPage(args: Page) {
  const first = pageSize(args.first, { max: NEAREST_MAX_FIRST, fallback: 10 });
  const offset = afterOffset(args.after);
  if (offset + first > NEAREST_MAX_DEPTH) {
    throw userError('BAD_USER_INPUT', `最近结果最多翻到第 ${NEAREST_MAX_DEPTH} 个 (at most ${NEAREST_MAX_DEPTH} nearest results)`, { argument: 'after' });
  }
  return { first, offset };
}

const roundMeters = (m: number) => Math.round(m * 10) / 10;

/**
 * What the snapshot must hold: the spatial index and every reference are built from it. A miss is an
 * internal error, as the null it replaces was for a non-null field, but one that says what is missing.
 */
function held<T>(found: T | null | undefined, what: string): T {
  if (found === null || found === undefined) throw new Error(`${what} is missing from the directory snapshot`);
  return found;
}

// ---- shaping ---------------------------------------------------------------------------------------

function geoPoint([lng, lat]: LngLat, crs: Crs) {
  const [x, y] = fromStored([lng, lat], crs);
  return { lng: x, lat: y, crs };
}

function boxOf([minLng, minLat, maxLng, maxLat]: Extent, crs: Crs) {
  const [a, b] = fromStored([minLng, minLat], crs);
  const [c, d] = fromStored([maxLng, maxLat], crs);
  return { minLng: a, minLat: b, maxLng: c, maxLat: d, crs };
}

const ROLE_ORDER: TeamRole[] = [...DECISION_ROLES, 'grid_worker', ...AUXILIARY_ROLES];

function showMember(doc: MemberDoc, view: { names: boolean; idNumbers: boolean }) {
  const person = showPerson(doc, view);
  return {
    id: doc._id,
    role: doc.role,
    title: doc.title ?? null,
    ...person,
    // Where someone works narrows down who a masked name is: shown only with the name.
    employer: view.names ? (doc.employer ?? null) : null,
    partyMember: doc.partyMember,
  };
}

const SHANGHAI = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Shanghai',
  weekday: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
const WEEKDAYS: Record<string, string> = { Mon: '1', Tue: '2', Wed: '3', Thu: '4', Fri: '5', Sat: '6', Sun: '7' };

export function openAt(hours: OpeningHoursDoc[], at: Date): boolean {
  const parts = Object.fromEntries(SHANGHAI.formatToParts(at).map((p) => [p.type, p.value]));
  const day = WEEKDAYS[parts.weekday ?? ''] ?? '';
  const time = `${parts.hour}:${parts.minute}`;
  return hours.some((h) => h.days.includes(day) && h.opens <= time && time < h.closes);
}

// Days are stored as ISO weekday digits, checked on import: the filter drops none, it only tells the
// compiler they are Weekday values (1 to 7, codegen.json's enumValues).
const isWeekday = (day: number): day is Weekday => Number.isInteger(day) && day >= 1 && day <= 7;

const openingHours = (hours: OpeningHoursDoc[]) =>
  hours.map((h) => ({ days: [...h.days].map(Number).filter(isWeekday), opens: h.opens, closes: h.closes }));

function requirementsMet(attributes: FacilityAttributes, require: FacilityRequirements | null | undefined): boolean {
  if (!require) return true;
  // Object.entries forgets the keys' type; every requirement is named after an attribute.
  return (Object.entries(require) as Array<[keyof FacilityRequirements, boolean | null | undefined]>).every(
    ([key, wanted]) => wanted !== true || attributes[key] === true,
  );
}

// ---- resolvers ------------------------------------------------------------------------------------

export function createResolvers(deps: ResolverDeps): Resolvers {
  // Every query and entity lookup of the map first asks the policy (`directory.read`).
  return guardReads(buildResolvers(deps), (identity) => requireReader(identity, deps.directory.snapshot));
}

function buildResolvers(deps: ResolverDeps): Resolvers {
  const { models, directory } = deps;
  const snap = () => directory.snapshot;
  const publishSoon = (ids: string[]) => {
    if (ids.length <= KICK_AT_MOST) for (const id of ids) void deps.publisher?.kick(id);
  };
  const unitById = (id: string | null | undefined) => (id ? (snap().units.get(id) ?? null) : null);
  const byKey = (x: { _id: string }) => x._id;

  /** Members of one grid with one role, a page at a time. */
  function memberPage(grid: UnitRecord, role: TeamRole, args: Page, ctx: SubgraphContext) {
    const view = personalView(ctx.identity, snap(), grid.path);
    const page = pageByKey(snap().team.members(grid._id, [role]), byKey, args);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: showMember(e.node, view) })) };
  }

  const partyOrgById = (id: string | null | undefined) => (id ? (snap().team.partyOrgs.get(id) ?? null) : null);
  const countsOf = (unitId: string) => snap().team.counts.get(unitId) ?? NO_COUNTS;

  const centresUnder = (unitId: string | null | undefined, level?: ServiceCentreLevel | null) =>
    snap().centreList.filter((c) => {
      if (level && c.level !== level) return false;
      if (!unitId) return true;
      return unitById(c.unitId)?.path.includes(unitId) ?? false;
    });

  const facilitiesUnder = (unitId: string | null | undefined, kind?: FacilityKind | null) =>
    snap()
      .facilitiesOfKind(kind ?? undefined)
      .filter((f) => !unitId || f.placePath.includes(unitId));

  function unitNotFound(id: string): never {
    throw userError('NOT_FOUND', `单位 ${id} 不存在 (unit not found)`, { id });
  }

  const geoJson = new GraphQLScalarType({
    name: 'GeoJSON',
    description: 'A GeoJSON geometry object',
    serialize: (value) => value,
    parseValue: (value) => value,
  });

  return {
    GeoJSON: geoJson,
    // Internal enum values: the generated types require exactly the `enumValues` of codegen.json.
    UnitKind: {
      DISTRICT: 'district',
      STREET: 'street',
      COMMUNITY: 'community',
      GRID: 'grid',
      DEPARTMENT: 'department',
      DISTRICT_COMMAND: 'district_command',
      STREET_COMMAND: 'street_command',
      LEADERSHIP: 'leadership',
    },
    GridType: { BASIC: 'basic', KEY: 'key' },
    TeamRole: {
      STREET_LEADER: 'street_leader',
      MID_CADRE: 'mid_cadre',
      COMMUNITY_HEAD: 'community_head',
      GRID_WORKER: 'grid_worker',
      COMMUNITY_PARTY_MEMBER: 'community_party_member',
      IN_SERVICE_PARTY_MEMBER: 'in_service_party_member',
      YOUTH_VOLUNTEER: 'youth_volunteer',
    },
    AuxiliaryForceKind: {
      COMMUNITY_PARTY_MEMBER: 'community_party_member',
      IN_SERVICE_PARTY_MEMBER: 'in_service_party_member',
      YOUTH_VOLUNTEER: 'youth_volunteer',
    },
    PartyOrganizationKind: {
      COMMITTEE: 'committee',
      WORKING_COMMITTEE: 'working_committee',
      GENERAL_BRANCH: 'general_branch',
      BRANCH: 'branch',
      JOINT_COMMITTEE: 'joint_committee',
    },
    ServiceCentreLevel: { DISTRICT: 'district', STREET: 'street', COMMUNITY: 'community', GRID: 'grid' },
    FacilityKind: {
      GARBAGE_STATION: 'garbage_station',
      PUBLIC_TOILET: 'public_toilet',
      CLINIC: 'clinic',
      HOSPITAL: 'hospital',
      BUS_STOP: 'bus_stop',
    },
    Weekday: { MONDAY: 1, TUESDAY: 2, WEDNESDAY: 3, THURSDAY: 4, FRIDAY: 5, SATURDAY: 6, SUNDAY: 7 },

    Query: {
      unit: (_, { id }) => unitById(id),
      units: (_, args) => {
        const source = args.parentId ? (snap().children.get(args.parentId) ?? []) : snap().unitList;
        const list = args.kind ? source.filter((u) => u.kind === args.kind) : source;
        return pageByKey(list, byKey, args);
      },
      locate: (_, { point }) => {
        const snapshot = snap();
        const [lng, lat] = storedPoint(point, snapshot, 'point');
        const located = snapshot.locate(lng, lat);
        const note = !located.inDistrict
          ? '该位置不在本区范围内，没有对应网格 (outside the district: no grid here)'
          : located.grid
            ? null
            : '该位置不在任何基础网格内 (no grid here)';
        return {
          point: { lng, lat, crs: 'WGS84' },
          inDistrict: located.inDistrict,
          grid: located.grid ?? null,
          onGridBorder: located.borderGrids.length > 0,
          borderGrids: located.borderGrids,
          keyGrids: located.keyGrids,
          community: located.community ?? null,
          street: located.street ?? null,
          note,
        };
      },
      nearestServiceCentres: (_, args) => {
        const snapshot = snap();
        const [lng, lat] = storedPoint(args.point, snapshot, 'point');
        const { first, offset } = rankedPage(args);
        const level = args.level;
        const accept = level ? (item: { id: string }) => snapshot.centres.get(item.id)?.level === level : undefined;
        const ranked = snapshot.index.nearest(CENTRES, lng, lat, offset + first + 1, searchRadius(args.maxDistanceMeters), accept);
        return pageByOffset(ranked, offset, first, (n, cursor) => ({
          cursor,
          node: held(snapshot.centres.get(n.id), `service centre ${n.id}`),
          distanceMeters: roundMeters(n.distanceMeters),
        }));
      },
      nearestFacilities: (_, args) => {
        const snapshot = snap();
        const [lng, lat] = storedPoint(args.point, snapshot, 'point');
        const { first, offset } = rankedPage(args);
        const require = args.require && Object.values(args.require).some((v) => v === true) ? args.require : undefined;
        const accept = require
          ? (item: { id: string }) => requirementsMet(snapshot.facilities.get(item.id)?.attributes ?? {}, require)
          : undefined;
        const ranked = snapshot.index.nearest(args.kind ?? ALL_FACILITIES, lng, lat, offset + first + 1, searchRadius(args.maxDistanceMeters), accept);
        return pageByOffset(ranked, offset, first, (n, cursor) => ({
          cursor,
          node: held(snapshot.facilities.get(n.id), `facility ${n.id}`),
          distanceMeters: roundMeters(n.distanceMeters),
        }));
      },
      inBoundingBox: (_, { box }) => {
        const snapshot = snap();
        const a = storedPoint({ lng: box.minLng, lat: box.minLat, crs: box.crs }, snapshot, 'box');
        const b = storedPoint({ lng: box.maxLng, lat: box.maxLat, crs: box.crs }, snapshot, 'box');
        const extent: Extent = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
        if (extent[2] - extent[0] > MAX_BOX_DEGREES || extent[3] - extent[1] > MAX_BOX_DEGREES) {
          throw userError('BAD_USER_INPUT', `范围过大：每边最多 ${MAX_BOX_DEGREES}° (box too large)`, { argument: 'box' });
        }
        return { extent, snapshot };
      },
      partyOrganization: (_, { id }) => partyOrgById(id),
      partyOrganizations: (_, args) =>
        pageByKey(
          snap().team.partyOrgList.filter((o) => (!args.unitId || o.path.includes(args.unitId)) && (!args.kind || o.kind === args.kind)),
          byKey,
          args,
        ),
      serviceCentre: (_, { id }) => snap().centres.get(id) ?? null,
      serviceCentres: (_, args) => pageByKey(centresUnder(args.unitId, args.level), byKey, args),
      facility: (_, { id }) => snap().facilities.get(id) ?? null,
      facilities: (_, args) => pageByKey(facilitiesUnder(args.unitId, args.kind), byKey, args),
    },

    Mutation: {
      importGrids: async (_, args, ctx) => {
        requireWriter(ctx.identity, 'unit');
        const result = await importGrids(
          { models, directory, onUnitsChanged: publishSoon },
          args.featureCollection,
          { crs: args.crs, dryRun: args.dryRun, limits: MUTATION_LIMITS, identity: ctx.identity },
        );
        ctx.logger.info({ what: 'grids', received: result.received, accepted: result.accepted, rejected: result.rejected, dryRun: result.dryRun }, 'party-map import');
        return result;
      },
      importFacilities: async (_, args, ctx) => {
        requireWriter(ctx.identity, 'facility');
        const result = await importFacilities({ models, directory }, args.featureCollection, {
          crs: args.crs,
          dryRun: args.dryRun,
          limits: MUTATION_LIMITS,
          identity: ctx.identity,
        });
        ctx.logger.info({ what: 'facilities', received: result.received, accepted: result.accepted, rejected: result.rejected, dryRun: result.dryRun }, 'party-map import');
        return result;
      },
      updateUnit: async (_, { id, input }, ctx) => {
        requireWriter(ctx.identity, 'unit');
        const unit = unitById(id) ?? unitNotFound(id);
        if (!canWrite(ctx.identity, snap(), unit.path, 'unit')) {
          throw userError('FORBIDDEN', '无权修改本辖区以外的单位 (outside your jurisdiction)', { id });
        }
        const set: Record<string, unknown> = {};
        if (input.name !== undefined && input.name !== null) {
          const name = input.name.trim();
          if (name.length === 0 || name.length > 64) throw userError('BAD_USER_INPUT', '名称应为 1～64 个字 (name must be 1–64 characters)', { argument: 'input.name' });
          set.name = name;
        }
        if (input.contacts !== undefined && input.contacts !== null) {
          if (input.contacts.length > 10) throw userError('BAD_USER_INPUT', '联系方式最多 10 条 (at most 10 contacts)', { argument: 'input.contacts' });
          for (const c of input.contacts) {
            if (!c.label.trim() || c.label.length > 20 || !/^[0-9+\-() ]{3,30}$/.test(c.phone)) {
              throw userError('BAD_USER_INPUT', '联系方式格式不正确 (a contact needs a short label and a phone number)', { argument: 'input.contacts' });
            }
          }
          set.contacts = input.contacts.map((c) => ({ label: c.label.trim(), phone: c.phone.trim() }));
        }
        if (Object.keys(set).length > 0) {
          await writeUnits(models, [{ id, set }]);
          await directory.patch({ units: [id] }, await bumpRevision(models));
          publishSoon([id]);
        }
        return unitById(id) ?? unitNotFound(id);
      },
    },

    Unit: {
      __resolveReference: (ref) => unitById(ref.id),
      id: (u) => u._id,
      parent: (u) => unitById(u.parentId),
      path: (u) => u.path.map((id) => unitById(id)).filter((x): x is UnitRecord => x !== null),
      pathIds: (u) => u.path,
      children: (u, args) => {
        const children = snap().children.get(u._id) ?? [];
        return pageByKey(args.kind ? children.filter((c) => c.kind === args.kind) : children, byKey, args);
      },
      contacts: (u) => u.contacts ?? [],
      boundary: (u, { crs }) => {
        if (!u.geometry) return null;
        const extent = extentOf(u.geometry);
        return {
          crs,
          geometry: convertGeometry(u.geometry, 'WGS84', crs),
          bbox: boxOf(extent, crs),
          centre: geoPoint([(extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2], crs),
          areaSquareMeters: u.areaSqm ?? 0,
        };
      },
      grid: (u) => (u.kind === 'grid' ? u : null),
      teamCounts: (u) => countsOf(u._id),
      partyOrganizations: (u, args) => pageByKey(snap().team.partyOrgList.filter((o) => o.unitId === u._id), byKey, args),
      serviceCentres: (u, args) => pageByKey(centresUnder(u._id), byKey, args),
      facilities: (u, args) => pageByKey(facilitiesUnder(u._id, args.kind), byKey, args),
    },

    GridDetails: {
      type: (u) => u.gridType ?? 'basic',
      focus: (u) => u.focus ?? null,
      team: (u) => u,
    },

    GridTeam: {
      decisionTeam: (u, _, ctx) => {
        const view = personalView(ctx.identity, snap(), u.path);
        return snap()
          .team.members(u._id, DECISION_ROLES)
          .sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role))
          .map((d) => showMember(d, view));
      },
      gridWorkers: (u, _, ctx) => {
        const view = personalView(ctx.identity, snap(), u.path);
        return snap().team.members(u._id, ['grid_worker']).slice(0, MAX_GRID_WORKERS).map((d) => showMember(d, view));
      },
      auxiliaryForces: (u) => AUXILIARY_ROLES.map((kind) => ({ kind, grid: u })),
      counts: (u) => countsOf(u._id),
    },

    AuxiliaryForce: {
      count: (force) => snap().team.members(force.grid._id, [force.kind]).length,
      members: (force, args, ctx) => memberPage(force.grid, force.kind, args, ctx),
    },

    PartyOrganization: {
      __resolveReference: (ref) => partyOrgById(ref.id),
      id: (o) => o._id,
      unit: (o) => held(unitById(o.unitId), `unit ${o.unitId} of party organisation ${o._id}`),
      parent: (o) => partyOrgById(o.parentOrgId),
      secretary: (o, _, ctx) => {
        if (!o.secretaryName) return null;
        const shown = showPerson({ name: o.secretaryName, phone: o.secretaryPhone ?? null }, personalView(ctx.identity, snap(), o.path));
        return { name: shown.name, phone: shown.phone, masked: shown.masked };
      },
      memberBodies: (o) => (o.memberBodies ?? []).slice(0, 100),
    },

    ServiceCentre: {
      __resolveReference: (ref) => snap().centres.get(ref.id) ?? null,
      id: (c) => c._id,
      unit: (c) => held(unitById(c.unitId), `unit ${c.unitId} of service centre ${c._id}`),
      location: (c, { crs }) => geoPoint([c.lng, c.lat], crs),
      openingHours: (c) => openingHours(c.openingHours),
      openNow: (c) => openAt(c.openingHours, new Date()),
    },

    Facility: {
      __resolveReference: (ref) => snap().facilities.get(ref.id) ?? null,
      id: (f) => f._id,
      location: (f, { crs }) => geoPoint([f.lng, f.lat], crs),
      openingHours: (f) => openingHours(f.openingHours ?? []),
      attributes: (f) => f.attributes ?? {},
      grid: (f) => {
        const unit = unitById(f.placePath?.[f.placePath.length - 1]);
        return unit?.kind === 'grid' ? unit : null;
      },
    },

    MapArea: {
      box: (area) => boxOf(area.extent, 'WGS84'),
      units: (area, args) => {
        const kinds: readonly UnitKind[] = args.kinds?.length ? args.kinds : ['district', 'street', 'community', 'grid'];
        const layers = new Set(kinds.flatMap((k) => (k === 'grid' ? ['grid', 'keyGrid'] : [k])));
        const found = (['district', 'street', 'community', 'grid', 'keyGrid'] as const)
          .filter((l) => layers.has(l))
          .flatMap((l) => area.snapshot.index.polygonsInBox(l, area.extent))
          .map((p) => area.snapshot.units.get(p.id))
          .filter((u): u is UnitRecord => u !== undefined)
          .sort((a, b) => (a._id < b._id ? -1 : 1));
        return pageByKey(found, byKey, args);
      },
      serviceCentres: (area, args) => {
        const found = area.snapshot.index
          .pointsInBox(CENTRES, area.extent)
          .map((p) => area.snapshot.centres.get(p.id))
          .filter((c): c is Placed<ServiceCentreDoc> => c !== undefined)
          .sort((a, b) => (a._id < b._id ? -1 : 1));
        return pageByKey(found, byKey, args);
      },
      facilities: (area, args) => {
        const found = area.snapshot.index
          .pointsInBox(args.kind ?? ALL_FACILITIES, area.extent)
          .map((p) => area.snapshot.facilities.get(p.id))
          .filter((f): f is Placed<FacilityDoc> => f !== undefined)
          .sort((a, b) => (a._id < b._id ? -1 : 1));
        return pageByKey(found, byKey, args);
      },
    },
  };
}
