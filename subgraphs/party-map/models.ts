// What the party-map subgraph stores, in its own database (huying_party_map). Written for MongoDB 7 and
// FerretDB 1.24 alike: no arrays nested in arrays, so geometry is kept as GeoJSON text beside its
// bounding box and centre; coordinates are WGS-84 throughout.
import { type Connection, type Model, Schema } from 'mongoose';
import type { UnitKind } from '../../demo/district.ts';
import { type OutboxEvent, outboxSchemaFields } from '../../platform/outbox.ts';

export type { UnitKind } from '../../demo/district.ts';

export const UNIT_KINDS: readonly UnitKind[] = [
  'district',
  'street',
  'community',
  'grid',
  'department',
  'district_command',
  'street_command',
  'leadership',
];

/** 基础网格 (basic, by community) or 重点网格 (key, drawn around a governance problem). */
export type GridType = 'basic' | 'key';

export interface Bbox {
  minLng: number;
  minLat: number;
  maxLng: number;
  maxLat: number;
}

export interface UnitContact {
  /** What the number is for: 值班电话 duty line, 办公电话 office … */
  label: string;
  phone: string;
}

export interface UnitDoc {
  _id: string;
  name: string;
  kind: UnitKind;
  parentId: string | null;
  /** Ancestor ids from the district down, this unit last. */
  path: string[];
  gridType?: GridType | null;
  /** For key grids: the governance problem the grid is drawn around. */
  focus?: string | null;
  contacts: UnitContact[];
  /** GeoJSON Polygon or MultiPolygon, WGS-84, as text (FerretDB keeps no nested arrays). */
  boundary?: string | null;
  bbox?: Bbox | null;
  centre?: { lng: number; lat: number } | null;
  areaSqm?: number | null;
  /** Bumped with every change; the change's hub.units record waits in `outbox` (platform/outbox.ts). */
  version: number;
  outbox: OutboxEvent[];
  outboxPending: boolean;
  publishedSeq: number;
  outboxLease?: number;
  updatedAt: Date;
}

/** What a unit is, without its bookkeeping: the content of its hub.units record. */
export type UnitState = Omit<UnitDoc, 'version' | 'outbox' | 'outboxPending' | 'publishedSeq' | 'outboxLease' | 'updatedAt'>;

/** Roles in a grid's team (网格团队). */
export type TeamRole =
  | 'street_leader' // 街道领导 (包片领导)
  | 'mid_cadre' // 中层干部
  | 'community_head' // 社区书记 / 主任
  | 'grid_worker' // 专职网格员
  | 'community_party_member' // 社区党员
  | 'in_service_party_member' // 在职党员回社区报到
  | 'youth_volunteer'; // 青年志愿者

/** The auxiliary forces (辅助力量): counted for all staff, named only for those who work with the grid. */
export type AuxiliaryRole = Extract<TeamRole, 'community_party_member' | 'in_service_party_member' | 'youth_volunteer'>;

export const DECISION_ROLES: readonly TeamRole[] = ['street_leader', 'mid_cadre', 'community_head'];
export const AUXILIARY_ROLES: readonly AuxiliaryRole[] = ['community_party_member', 'in_service_party_member', 'youth_volunteer'];

/** One person's place in one grid's team. Name, phone and ID number are personal data. */
export interface MemberDoc {
  _id: string;
  gridId: string;
  /** The grid's path, so that counts by community or street need no join. */
  path: string[];
  role: TeamRole;
  title?: string | null;
  name: string;
  phone?: string | null;
  idNumber?: string | null;
  /** For in-service party members: where they work (工作单位). */
  employer?: string | null;
  partyMember: boolean;
}

export type PartyOrgKind = 'committee' | 'working_committee' | 'general_branch' | 'branch' | 'joint_committee';

export interface PartyOrgDoc {
  _id: string;
  name: string;
  kind: PartyOrgKind;
  unitId: string;
  /** The unit's path, for "everything under this street". */
  path: string[];
  parentOrgId?: string | null;
  memberCount: number;
  secretaryName?: string | null;
  secretaryPhone?: string | null;
  /** For joint committees (大党委): the bodies that join it (enterprises, schools, stations). */
  memberBodies: string[];
}

export type ServiceCentreLevel = 'district' | 'street' | 'community' | 'grid';

export interface OpeningHoursDoc {
  /** ISO weekdays as digits, Monday 1 … Sunday 7: "12345" (a string: no arrays in arrays). */
  days: string;
  opens: string;
  closes: string;
}

export interface ServiceCentreDoc {
  _id: string;
  name: string;
  level: ServiceCentreLevel;
  unitId: string;
  address: string;
  lng: number;
  lat: number;
  phone?: string | null;
  openingHours: OpeningHoursDoc[];
  services: string[];
  updatedAt: Date;
}

export type FacilityKind = 'garbage_station' | 'public_toilet' | 'clinic' | 'hospital' | 'bus_stop';
export const FACILITY_KINDS: readonly FacilityKind[] = ['garbage_station', 'public_toilet', 'clinic', 'hospital', 'bus_stop'];

export interface FacilityAttributes {
  motherBabyRoom?: boolean | null; // 母婴室
  accessibleToilet?: boolean | null; // 无障碍厕所
  parking?: boolean | null;
  parkingSpaces?: number | null;
  open24h?: boolean | null;
  sortingCategories?: string[] | null; // 可回收物 厨余垃圾 有害垃圾 其他垃圾
  busLines?: string[] | null;
  hospitalGrade?: string | null; // 三级甲等 …
  emergencyDepartment?: boolean | null; // 急诊
}

export interface FacilityDoc {
  _id: string;
  kind: FacilityKind;
  name: string;
  address?: string | null;
  lng: number;
  lat: number;
  phone?: string | null;
  openingHours: OpeningHoursDoc[];
  attributes: FacilityAttributes;
  source: 'demo' | 'import';
  updatedAt: Date;
}

/**
 * The revisions every copy of the service polls: `revision` moves with units, service centres and
 * facilities (the spatial index), `teamRevision` with team members and party organisations.
 */
export interface MetaDoc {
  _id: string;
  revision?: number;
  teamRevision?: number;
}

export interface Models {
  Unit: Model<UnitDoc>;
  Member: Model<MemberDoc>;
  PartyOrg: Model<PartyOrgDoc>;
  ServiceCentre: Model<ServiceCentreDoc>;
  Facility: Model<FacilityDoc>;
  Meta: Model<MetaDoc>;
}

const options = { versionKey: false, strict: true } as const;
const hours = new Schema<OpeningHoursDoc>({ days: String, opens: String, closes: String }, { _id: false });

export function createModels(conn: Connection): Models {
  const unit = new Schema<UnitDoc>(
    {
      _id: String,
      name: { type: String, required: true },
      kind: { type: String, required: true, enum: UNIT_KINDS },
      parentId: { type: String, default: null },
      path: { type: [String], required: true },
      gridType: { type: String, enum: ['basic', 'key'], default: null },
      focus: { type: String, default: null },
      contacts: { type: [new Schema<UnitContact>({ label: String, phone: String }, { _id: false })], default: [] },
      boundary: { type: String, default: null },
      bbox: { type: new Schema<Bbox>({ minLng: Number, minLat: Number, maxLng: Number, maxLat: Number }, { _id: false }), default: null },
      centre: { type: new Schema({ lng: Number, lat: Number }, { _id: false }), default: null },
      areaSqm: { type: Number, default: null },
      version: { type: Number, required: true, default: 1 },
      ...outboxSchemaFields,
      updatedAt: { type: Date, required: true, default: () => new Date() },
    },
    options,
  );
  unit.index({ parentId: 1 });
  unit.index({ outboxPending: 1 });

  const member = new Schema<MemberDoc>(
    {
      _id: String,
      gridId: { type: String, required: true },
      path: { type: [String], required: true },
      role: { type: String, required: true },
      title: { type: String, default: null },
      name: { type: String, required: true },
      phone: { type: String, default: null },
      idNumber: { type: String, default: null },
      employer: { type: String, default: null },
      partyMember: { type: Boolean, default: false },
    },
    options,
  );
  member.index({ gridId: 1, role: 1 });
  member.index({ path: 1 });

  const partyOrg = new Schema<PartyOrgDoc>(
    {
      _id: String,
      name: { type: String, required: true },
      kind: { type: String, required: true },
      unitId: { type: String, required: true },
      path: { type: [String], required: true },
      parentOrgId: { type: String, default: null },
      memberCount: { type: Number, default: 0 },
      secretaryName: { type: String, default: null },
      secretaryPhone: { type: String, default: null },
      memberBodies: { type: [String], default: [] },
    },
    options,
  );
  partyOrg.index({ unitId: 1 });
  partyOrg.index({ path: 1 });

  const centre = new Schema<ServiceCentreDoc>(
    {
      _id: String,
      name: { type: String, required: true },
      level: { type: String, required: true },
      unitId: { type: String, required: true },
      address: { type: String, default: '' },
      lng: { type: Number, required: true },
      lat: { type: Number, required: true },
      phone: { type: String, default: null },
      openingHours: { type: [hours], default: [] },
      services: { type: [String], default: [] },
      updatedAt: { type: Date, default: () => new Date() },
    },
    options,
  );

  const facility = new Schema<FacilityDoc>(
    {
      _id: String,
      kind: { type: String, required: true },
      name: { type: String, required: true },
      address: { type: String, default: null },
      lng: { type: Number, required: true },
      lat: { type: Number, required: true },
      phone: { type: String, default: null },
      openingHours: { type: [hours], default: [] },
      attributes: { type: Schema.Types.Mixed, default: {} },
      source: { type: String, default: 'import' },
      updatedAt: { type: Date, default: () => new Date() },
    },
    { ...options, minimize: false },
  );
  facility.index({ kind: 1 });

  const meta = new Schema<MetaDoc>({ _id: String, revision: Number, teamRevision: Number }, options);

  return {
    Unit: conn.model<UnitDoc>('Unit', unit, 'units'),
    Member: conn.model<MemberDoc>('Member', member, 'members'),
    PartyOrg: conn.model<PartyOrgDoc>('PartyOrg', partyOrg, 'party_orgs'),
    ServiceCentre: conn.model<ServiceCentreDoc>('ServiceCentre', centre, 'service_centres'),
    Facility: conn.model<FacilityDoc>('Facility', facility, 'facilities'),
    Meta: conn.model<MetaDoc>('Meta', meta, 'meta'),
  };
}

/**
 * Documents by id. A few ids are read one by one: FerretDB on SQLite answers `_id` equality from its
 * primary key but scans the whole collection for `$in`.
 */
export async function findByIds<T>(model: Model<T>, ids: readonly string[], projection: Record<string, 0 | 1> = {}): Promise<T[]> {
  if (ids.length === 0) return [];
  if (ids.length > 50) return model.find({ _id: { $in: ids } }, projection).lean<T[]>();
  const docs = await Promise.all(ids.map((id) => model.findById(id, projection).lean<T>()));
  return docs.filter((d): d is NonNullable<typeof d> => d !== null);
}

export async function syncIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models) as Array<Model<unknown>>) await model.syncIndexes();
}

export interface Revisions {
  revision: number;
  teamRevision: number;
}

/** Tells every copy of the service that the data changed (they poll these revisions). */
export async function bumpRevision(models: Models, which: 'revision' | 'teamRevision' = 'revision'): Promise<Revisions> {
  const doc = await models.Meta.findOneAndUpdate({ _id: 'geo' }, { $inc: { [which]: 1 } }, { upsert: true, returnDocument: 'after' }).lean();
  return { revision: doc?.revision ?? 0, teamRevision: doc?.teamRevision ?? 0 };
}

export async function currentRevisions(models: Models): Promise<Revisions> {
  const doc = await models.Meta.findById('geo').lean();
  return { revision: doc?.revision ?? 0, teamRevision: doc?.teamRevision ?? 0 };
}
