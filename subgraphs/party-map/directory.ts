// The directory: an immutable in-memory snapshot of units, service centres, facilities, grid teams
// and party organisations, with the spatial index over them. Every read is served from it (FerretDB
// on SQLite scans a whole collection for most filters; memory answers in microseconds). After a
// change made here the changed documents are read back and the snapshot rebuilt in memory; when the
// revisions in the database move otherwise (another copy of the service, the file import), which
// each copy polls, everything is read again.
import type { Logger } from '../../platform/logger.ts';
import type { Extent } from './geo/crs.ts';
import type { Polygonal } from './geo/geometry.ts';
import { type Located, type PointItem, type PolygonItem, type PolygonLayerName, SpatialIndex } from './geo/spatial-index.ts';
import {
  type FacilityDoc,
  type FacilityKind,
  FACILITY_KINDS,
  type MemberDoc,
  type Models,
  type PartyOrgDoc,
  type Revisions,
  type ServiceCentreDoc,
  type TeamRole,
  type UnitDoc,
  currentRevisions,
  findByIds,
} from './models.ts';

export interface UnitRecord extends UnitDoc {
  geometry?: Polygonal;
}

/** A point of interest with where it lies in the unit tree (its basic grid's path, if any). */
export type Placed<T> = T & { placePath: string[] };

export const CENTRES = 'centres';
export const ALL_FACILITIES = 'facilities';

export interface LocatedUnits {
  inDistrict: boolean;
  grid?: UnitRecord;
  borderGrids: UnitRecord[];
  keyGrids: UnitRecord[];
  community?: UnitRecord;
  street?: UnitRecord;
}

const byId = <T extends { _id: string }>(a: T, b: T) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);

export interface TeamCounts {
  decisionTeam: number;
  gridWorkers: number;
  communityPartyMembers: number;
  inServicePartyMembers: number;
  youthVolunteers: number;
}

const COUNT_FIELD: Record<TeamRole, keyof TeamCounts> = {
  street_leader: 'decisionTeam',
  mid_cadre: 'decisionTeam',
  community_head: 'decisionTeam',
  grid_worker: 'gridWorkers',
  community_party_member: 'communityPartyMembers',
  in_service_party_member: 'inServicePartyMembers',
  youth_volunteer: 'youthVolunteers',
};

export const NO_COUNTS: TeamCounts = { decisionTeam: 0, gridWorkers: 0, communityPartyMembers: 0, inServicePartyMembers: 0, youthVolunteers: 0 };

/** Grid teams and party organisations: rebuilt only when the team revision moves. */
export class TeamData {
  /** Each grid's members, by id. */
  readonly byGrid = new Map<string, MemberDoc[]>();
  /** Counts for every unit, over its whole subtree. */
  readonly counts = new Map<string, TeamCounts>();
  readonly partyOrgs = new Map<string, PartyOrgDoc>();
  readonly partyOrgList: PartyOrgDoc[];

  constructor(members: MemberDoc[], partyOrgs: PartyOrgDoc[]) {
    for (const member of [...members].sort(byId)) {
      const list = this.byGrid.get(member.gridId) ?? [];
      list.push(member);
      this.byGrid.set(member.gridId, list);
      const field = COUNT_FIELD[member.role];
      if (!field) continue;
      for (const unitId of member.path) {
        const counts = this.counts.get(unitId) ?? { ...NO_COUNTS };
        counts[field] += 1;
        this.counts.set(unitId, counts);
      }
    }
    this.partyOrgList = [...partyOrgs].sort(byId);
    for (const org of this.partyOrgList) this.partyOrgs.set(org._id, org);
  }

  members(gridId: string, roles: readonly TeamRole[]): MemberDoc[] {
    return (this.byGrid.get(gridId) ?? []).filter((m) => roles.includes(m.role));
  }
}

export interface GeoData {
  units: UnitDoc[];
  centres: ServiceCentreDoc[];
  facilities: FacilityDoc[];
}

export class Snapshot {
  readonly units = new Map<string, UnitRecord>();
  /** Every unit, by id. */
  readonly unitList: UnitRecord[];
  readonly children = new Map<string, UnitRecord[]>();
  readonly district: UnitRecord | undefined;
  /** The district's bounding box, or that of every unit when it has none. */
  readonly extent: Extent | undefined;
  readonly centres = new Map<string, Placed<ServiceCentreDoc>>();
  readonly centreList: Array<Placed<ServiceCentreDoc>>;
  readonly facilities = new Map<string, Placed<FacilityDoc>>();
  readonly facilityList: Array<Placed<FacilityDoc>>;
  readonly index: SpatialIndex;

  constructor(
    readonly revisions: Revisions,
    { units, centres, facilities }: GeoData,
    readonly team: TeamData,
  ) {
    this.unitList = units.map((u) => this.parseUnit(u)).sort(byId);
    for (const unit of this.unitList) {
      this.units.set(unit._id, unit);
      if (unit.parentId) {
        const siblings = this.children.get(unit.parentId) ?? [];
        siblings.push(unit);
        this.children.set(unit.parentId, siblings);
      }
    }
    this.district = this.unitList.find((u) => u.kind === 'district' && u.parentId === null);
    this.extent = this.computeExtent();

    const polygons: Record<PolygonLayerName, PolygonItem[]> = { district: [], street: [], community: [], grid: [], keyGrid: [] };
    for (const unit of this.unitList) {
      if (!unit.geometry || !unit.bbox) continue;
      const layer = layerOf(unit);
      if (!layer) continue;
      const { minLng, minLat, maxLng, maxLat } = unit.bbox;
      polygons[layer].push({ id: unit._id, geometry: unit.geometry, bbox: [minLng, minLat, maxLng, maxLat] });
    }
    const polygonIndex = new SpatialIndex({ polygons, points: {} });
    const place = <T extends { lng: number; lat: number }>(doc: T): Placed<T> => {
      const located = polygonIndex.locate(doc.lng, doc.lat);
      const unit = this.units.get(located.grid ?? located.community ?? located.street ?? '');
      return { ...doc, placePath: unit?.path ?? [] };
    };
    this.centreList = centres.map(place).sort(byId);
    for (const c of this.centreList) this.centres.set(c._id, c);
    this.facilityList = facilities.map(place).sort(byId);
    for (const f of this.facilityList) this.facilities.set(f._id, f);

    const toPoint = (d: { _id: string; lng: number; lat: number }): PointItem => ({ id: d._id, lng: d.lng, lat: d.lat });
    const points: Record<string, PointItem[]> = {
      [CENTRES]: this.centreList.map(toPoint),
      [ALL_FACILITIES]: this.facilityList.map(toPoint),
    };
    for (const kind of FACILITY_KINDS) points[kind] = this.facilityList.filter((f) => f.kind === kind).map(toPoint);
    this.index = new SpatialIndex({ polygons, points });
  }

  private parseUnit(doc: UnitDoc): UnitRecord {
    if (!doc.boundary) return doc;
    return { ...doc, geometry: JSON.parse(doc.boundary) as Polygonal };
  }

  private computeExtent(): Extent | undefined {
    const boxes = this.district?.bbox ? [this.district.bbox] : this.unitList.flatMap((u) => (u.bbox ? [u.bbox] : []));
    if (boxes.length === 0) return undefined;
    return [
      Math.min(...boxes.map((b) => b.minLng)),
      Math.min(...boxes.map((b) => b.minLat)),
      Math.max(...boxes.map((b) => b.maxLng)),
      Math.max(...boxes.map((b) => b.maxLat)),
    ];
  }

  /**
   * Where a WGS-84 point falls. With a basic grid found, community and street are the grid's own
   * ancestors (the chain a call climbs); without one they come from their own boundaries.
   */
  locate(lng: number, lat: number): LocatedUnits {
    const found: Located = this.index.locate(lng, lat);
    const unit = (id: string | undefined) => (id === undefined ? undefined : this.units.get(id));
    const grid = unit(found.grid);
    const ancestor = (kind: UnitDoc['kind']) =>
      grid?.path.map((id) => this.units.get(id)).find((u): u is UnitRecord => u?.kind === kind);
    const community = ancestor('community') ?? unit(found.community);
    const street = ancestor('street') ?? unit(found.street);
    return {
      inDistrict: found.inDistrict,
      ...(grid && { grid }),
      borderGrids: found.borderGrids.map(unit).filter((u): u is UnitRecord => u !== undefined),
      keyGrids: found.keyGrids.map(unit).filter((u): u is UnitRecord => u !== undefined),
      ...(community && { community }),
      ...(street && { street }),
    };
  }

  facilitiesOfKind(kind: FacilityKind | undefined): Array<Placed<FacilityDoc>> {
    return kind ? this.facilityList.filter((f) => f.kind === kind) : this.facilityList;
  }
}

function layerOf(unit: UnitDoc): PolygonLayerName | undefined {
  switch (unit.kind) {
    case 'district':
      return 'district';
    case 'street':
      return 'street';
    case 'community':
      return 'community';
    case 'grid':
      return unit.gridType === 'key' ? 'keyGrid' : 'grid';
    default:
      return undefined;
  }
}

export interface DirectoryOptions {
  models: Models;
  logger: Logger;
  /** How often to look for changes made elsewhere; 0 turns polling off. */
  pollMs: number;
}

export interface Changed {
  units?: string[];
  centres?: string[];
  facilities?: string[];
}

const EMPTY_REVISIONS: Revisions = { revision: -1, teamRevision: -1 };

function merge<T extends { _id: string }>(current: T[], changed: T[]): T[] {
  if (changed.length === 0) return current;
  const byKey = new Map(current.map((d) => [d._id, d]));
  for (const doc of changed) byKey.set(doc._id, doc);
  return [...byKey.values()];
}

export class Directory {
  private geo: GeoData = { units: [], centres: [], facilities: [] };
  private current: Snapshot = new Snapshot(EMPTY_REVISIONS, this.geo, new TeamData([], []));
  private chain: Promise<void> = Promise.resolve();
  private queuedRefresh: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  /** How long the last in-memory build took, and the last full reload: for the logs and the bench. */
  lastBuildMs = 0;
  lastReloadMs = 0;

  constructor(private readonly options: DirectoryOptions) {}

  get snapshot(): Snapshot {
    return this.current;
  }

  /** Runs directory updates one at a time, in the order asked for. */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Reads everything again. Resolves once a reload that started after this call has finished;
   * calls made while one is waiting to start share it.
   */
  refresh(): Promise<void> {
    this.queuedRefresh ??= this.enqueue(async () => {
      this.queuedRefresh = undefined;
      await this.reload();
    });
    return this.queuedRefresh;
  }

  /**
   * After a change made here: reads back the changed documents and rebuilds in memory. `after` are
   * the revisions the change's bump returned; if anything else moved them meanwhile, reloads all.
   */
  patch(changed: Changed, after: Revisions): Promise<void> {
    return this.enqueue(async () => {
      const held = this.current.revisions;
      if (after.revision !== held.revision + 1 || after.teamRevision !== held.teamRevision) return this.reload();
      const { Unit, ServiceCentre, Facility } = this.options.models;
      const [units, centres, facilities] = await Promise.all([
        findByIds<UnitDoc>(Unit, changed.units ?? [], { outbox: 0 }),
        findByIds<ServiceCentreDoc>(ServiceCentre, changed.centres ?? []),
        findByIds<FacilityDoc>(Facility, changed.facilities ?? []),
      ]);
      this.build(after, {
        units: merge(this.geo.units, units),
        centres: merge(this.geo.centres, centres),
        facilities: merge(this.geo.facilities, facilities),
      }, this.current.team);
    });
  }

  private async reload(): Promise<void> {
    const started = performance.now();
    const { Unit, ServiceCentre, Facility, Member, PartyOrg } = this.options.models;
    // The revisions are read first: a change landing during the reads moves them again and is picked up.
    const revisions = await currentRevisions(this.options.models);
    const teamChanged = revisions.teamRevision !== this.current.revisions.teamRevision;
    const [units, centres, facilities, team] = await Promise.all([
      Unit.find({}, { outbox: 0 }).lean<UnitDoc[]>(),
      ServiceCentre.find({}).lean<ServiceCentreDoc[]>(),
      Facility.find({}).lean<FacilityDoc[]>(),
      teamChanged
        ? Promise.all([Member.find({}).lean<MemberDoc[]>(), PartyOrg.find({}).lean<PartyOrgDoc[]>()]).then(([m, o]) => new TeamData(m, o))
        : this.current.team,
    ]);
    this.lastReloadMs = performance.now() - started;
    this.build(revisions, { units, centres, facilities }, team);
  }

  private build(revisions: Revisions, geo: GeoData, team: TeamData): void {
    const started = performance.now();
    this.current = new Snapshot(revisions, geo, team);
    this.geo = geo;
    this.lastBuildMs = performance.now() - started;
    this.options.logger.info(
      {
        ...revisions,
        units: geo.units.length,
        centres: geo.centres.length,
        facilities: geo.facilities.length,
        buildMs: Math.round(this.lastBuildMs),
      },
      'party-map directory rebuilt',
    );
  }

  /** Starts polling the revisions; changes made by other copies show up within `pollMs`. */
  startPolling(): void {
    if (this.options.pollMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      if (this.polling) return;
      this.polling = this.pollOnce()
        .catch((err: unknown) => this.options.logger.warn({ err }, 'party-map revision poll failed'))
        .finally(() => {
          this.polling = undefined;
        });
    }, this.options.pollMs);
    this.timer.unref();
  }

  async pollOnce(): Promise<void> {
    const latest = await currentRevisions(this.options.models);
    const behind = (held: Revisions) => held.revision < latest.revision || held.teamRevision < latest.teamRevision;
    if (!behind(this.current.revisions)) return;
    // Checked again when its turn comes: a patch queued before it may have caught up already.
    await this.enqueue(async () => {
      if (behind(this.current.revisions)) await this.reload();
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
    await this.chain;
  }
}
