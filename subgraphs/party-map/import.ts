// Importing a GeoJSON FeatureCollection of grids or facilities, from a mutation or a file. Checked
// feature by feature: a bad one is reported with its index and reason and the good ones still load.
// Only problems with the whole collection (not JSON, not a FeatureCollection, too big, an unknown
// coordinate system) refuse it as a whole.
import { createHash } from 'node:crypto';
import type { Identity } from '../../platform/auth.ts';
import { userError } from '../../platform/errors.ts';
import { canWrite } from './access.ts';
import type { Directory, Snapshot } from './directory.ts';
import { type Crs, parseCrsName } from './geo/crs.ts';
import booleanPointInPolygon from '@turf/boolean-point-in-polygon';
import { type GeometryProblemCode, type GeometryWarning, type Polygonal, areaOf, checkPoint, checkPolygonal, extentOf } from './geo/geometry.ts';
import {
  type FacilityAttributes,
  type FacilityDoc,
  type FacilityKind,
  FACILITY_KINDS,
  type GridType,
  type Models,
  type OpeningHoursDoc,
  type UnitState,
  bumpRevision,
} from './models.ts';
import { writeUnits } from './publisher.ts';
import { inSlices } from '../../platform/mongo.ts';
import { variablesProblem } from '../../platform/input.ts';

export interface ImportLimits {
  maxBytes: number;
  maxFeatures: number;
  /** Positions over all features: bounds the work one import can cause. */
  maxPositions: number;
}

/** Through the API the request body is also capped by the platform (1 MiB). */
export const MUTATION_LIMITS: ImportLimits = { maxBytes: 1_048_576, maxFeatures: 2_000, maxPositions: 200_000 };
export const FILE_LIMITS: ImportLimits = { maxBytes: 64 * 1_048_576, maxFeatures: 50_000, maxPositions: 5_000_000 };
/** One feature's positions: the self-intersection check is quadratic in them. */
export const MAX_POSITIONS_PER_FEATURE = 5_000;

export type ImportProblemCode =
  | 'NOT_A_FEATURE'
  | 'MISSING_PROPERTY'
  | 'INVALID_PROPERTY'
  | 'DUPLICATE_ID'
  | 'UNKNOWN_PARENT'
  | 'NOT_A_GRID'
  | 'PARENT_CHANGE'
  | 'NOT_ALLOWED'
  | 'OUTSIDE_PARENT'
  | GeometryProblemCode
  | GeometryWarning['code'];

export interface ImportProblem {
  /** The feature's index in the collection's `features`, from 0. */
  index: number;
  featureId: string | null;
  code: ImportProblemCode;
  message: string;
}

export interface ImportReport {
  dryRun: boolean;
  crs: Crs;
  received: number;
  accepted: number;
  rejected: number;
  created: number;
  updated: number;
  problems: ImportProblem[];
  warnings: ImportProblem[];
}

export interface ImportOptions {
  crs: Crs;
  dryRun: boolean;
  limits: ImportLimits;
  /** Who imports; absent for the operator's file import, which may change anything. */
  identity?: Identity;
}

export interface ImportDeps {
  models: Models;
  directory: Directory;
  /** Called with the ids of units that changed (to publish them at once). */
  onUnitsChanged?: (ids: string[]) => void;
}

interface Feature {
  type: 'Feature';
  id?: unknown;
  geometry: unknown;
  properties: Record<string, unknown>;
}

const badInput = (message: string) => userError('BAD_USER_INPUT', message);

/** Parses the collection and checks what concerns it as a whole. */
export function parseCollection(text: string, options: Pick<ImportOptions, 'crs' | 'limits'>): { features: unknown[]; crs: Crs } {
  const { limits } = options;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) {
    throw badInput(`导入内容过大：${bytes} 字节，上限 ${limits.maxBytes} 字节 (import too large)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badInput('导入内容不是有效的 JSON (not valid JSON)');
  }
  // Before any recursive walk of the geometry: nesting beyond the limit, control characters, 1e999.
  const problem = variablesProblem(parsed);
  if (problem) throw problem;
  const collection = parsed as { type?: unknown; features?: unknown; crs?: { properties?: { name?: unknown } } | null } | null;
  if (!collection || typeof collection !== 'object' || collection.type !== 'FeatureCollection' || !Array.isArray(collection.features)) {
    throw badInput('导入内容应为 GeoJSON FeatureCollection (expected a GeoJSON FeatureCollection)');
  }
  if (collection.features.length > limits.maxFeatures) {
    throw badInput(`要素过多：${collection.features.length} 个，上限 ${limits.maxFeatures} 个 (too many features)`);
  }
  let crs = options.crs;
  // RFC 7946 dropped `crs`, but files from older tools still name one; honour it, refuse what we do not know.
  if (collection.crs !== undefined) {
    const name = collection.crs?.properties?.name;
    const named = typeof name === 'string' ? parseCrsName(name) : undefined;
    if (!named) throw badInput(`未知坐标系 ${JSON.stringify(name ?? collection.crs)}：支持 WGS84、GCJ02、BD09 (unknown coordinate system)`);
    if (options.crs !== 'WGS84' && named !== options.crs) {
      throw badInput(`文件声明的坐标系 ${named} 与参数 ${options.crs} 不一致 (coordinate systems disagree)`);
    }
    crs = named;
  }
  const positions = collection.features.reduce<number>((sum, f) => sum + countPositions((f as { geometry?: unknown } | null)?.geometry), 0);
  if (positions > limits.maxPositions) {
    throw badInput(`坐标点过多：${positions} 个，上限 ${limits.maxPositions} 个 (too many positions)`);
  }
  return { features: collection.features, crs };
}

function countPositions(geometry: unknown): number {
  const coordinates = (geometry as { coordinates?: unknown } | null)?.coordinates;
  const walk = (v: unknown): number => {
    if (!Array.isArray(v)) return 0;
    if (v.length > 0 && typeof v[0] !== 'object') return 1;
    return v.reduce<number>((sum, x) => sum + walk(x), 0);
  };
  return walk(coordinates);
}

function asFeature(raw: unknown): Feature | undefined {
  const f = raw as Partial<Feature> | null;
  if (!f || typeof f !== 'object' || f.type !== 'Feature') return undefined;
  const properties = f.properties && typeof f.properties === 'object' ? f.properties : {};
  return { type: 'Feature', id: f.id, geometry: f.geometry, properties };
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/;

function featureId(feature: Feature): string | null {
  const id = feature.properties.id ?? feature.id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

function text(value: unknown, max = 120): string | undefined {
  return typeof value === 'string' && value.trim().length > 0 && value.length <= max ? value.trim() : undefined;
}

class Collector {
  readonly problems: ImportProblem[] = [];
  readonly warnings: ImportProblem[] = [];
  reject(index: number, featureId: string | null, code: ImportProblemCode, message: string): undefined {
    this.problems.push({ index, featureId, code, message });
    return undefined;
  }
  warn(index: number, featureId: string | null, warnings: Array<{ code: ImportProblemCode; message: string }>): void {
    for (const w of warnings) this.warnings.push({ index, featureId, ...w });
  }
}

function districtOptions(snapshot: Snapshot, crs: Crs) {
  return {
    crs,
    ...(snapshot.district?.geometry && { district: snapshot.district.geometry }),
    ...(snapshot.extent && { extent: snapshot.extent }),
    maxPositions: MAX_POSITIONS_PER_FEATURE,
  };
}

export interface GridCandidate {
  index: number;
  id: string;
  name: string;
  parentId: string;
  path: string[];
  gridType: GridType;
  focus: string | null;
  geometry: Polygonal;
  existing: boolean;
}

/** Checks grid features: properties id, name, parentId (a community), gridType (basic | key), focus. */
export function checkGrids(features: unknown[], snapshot: Snapshot, options: Pick<ImportOptions, 'crs' | 'identity'>) {
  const out = new Collector();
  const good: GridCandidate[] = [];
  const seen = new Set<string>();
  const geometryOptions = districtOptions(snapshot, options.crs);
  features.forEach((raw, index) => {
    const feature = asFeature(raw);
    if (!feature) return out.reject(index, null, 'NOT_A_FEATURE', '不是 GeoJSON Feature (not a Feature)');
    const id = featureId(feature);
    if (!id) return out.reject(index, null, 'MISSING_PROPERTY', '缺少网格编号 id (missing id)');
    if (!ID.test(id)) return out.reject(index, id, 'INVALID_PROPERTY', '网格编号只能含字母、数字、-、_、. (invalid id)');
    if (seen.has(id)) return out.reject(index, id, 'DUPLICATE_ID', '同一批次中网格编号重复 (id repeated in this import)');
    seen.add(id);
    const existing = snapshot.units.get(id);
    if (existing && existing.kind !== 'grid') return out.reject(index, id, 'NOT_A_GRID', `${id} 不是网格 (not a grid)`);
    const p = feature.properties;
    const parentId = text(p.parentId, 80) ?? existing?.parentId ?? undefined;
    if (!parentId) return out.reject(index, id, 'MISSING_PROPERTY', '缺少所属社区 parentId (missing parentId)');
    if (existing && existing.parentId !== parentId) {
      return out.reject(index, id, 'PARENT_CHANGE', '不支持通过导入变更网格所属社区 (moving a grid to another community is not supported)');
    }
    const parent = snapshot.units.get(parentId);
    if (!parent || parent.kind !== 'community') {
      return out.reject(index, id, 'UNKNOWN_PARENT', `所属社区 ${parentId} 不存在 (parent must be a known community)`);
    }
    const name = text(p.name, 64) ?? existing?.name;
    if (!name) return out.reject(index, id, 'MISSING_PROPERTY', '缺少网格名称 name (missing name)');
    const gridType = p.gridType === undefined ? (existing?.gridType ?? 'basic') : p.gridType;
    if (gridType !== 'basic' && gridType !== 'key') {
      return out.reject(index, id, 'INVALID_PROPERTY', 'gridType 应为 basic（基础网格）或 key（重点网格）(invalid gridType)');
    }
    const focus = text(p.focus, 120) ?? existing?.focus ?? null;
    if (gridType === 'key' && !focus) {
      return out.reject(index, id, 'MISSING_PROPERTY', '重点网格须说明治理问题 focus (a key grid needs its focus)');
    }
    const path = [...parent.path, id];
    if (options.identity && !canWrite(options.identity, snapshot, path, 'unit')) {
      return out.reject(index, id, 'NOT_ALLOWED', '无权修改本辖区以外的网格 (outside your jurisdiction)');
    }
    const checked = checkPolygonal(feature.geometry, geometryOptions);
    if (!checked.ok) return out.reject(index, id, checked.code, checked.message);
    out.warn(index, id, checked.warnings);
    if (parent.geometry) {
      const positions = checked.geometry.type === 'Polygon' ? checked.geometry.coordinates.flat() : checked.geometry.coordinates.flat(2);
      const outside = positions.filter((pos) => !booleanPointInPolygon(pos, parent.geometry as Polygonal)).length;
      if (outside > 0) {
        out.warn(index, id, [{ code: 'OUTSIDE_PARENT', message: `有 ${outside} 个坐标在所属社区边界之外 (${outside} position(s) outside the community)` }]);
      }
    }
    good.push({ index, id, name, parentId, path, gridType, focus: gridType === 'key' ? focus : null, geometry: checked.geometry, existing: !!existing });
    return undefined;
  });
  return { good, problems: out.problems, warnings: out.warnings };
}

export interface FacilityCandidate {
  index: number;
  doc: Omit<FacilityDoc, 'updatedAt'>;
  existing: boolean;
}

const KIND_ALIASES: Record<string, FacilityKind> = {
  垃圾分类投放点: 'garbage_station',
  公厕: 'public_toilet',
  公共厕所: 'public_toilet',
  诊所: 'clinic',
  社区卫生服务站: 'clinic',
  医院: 'hospital',
  公交站: 'bus_stop',
};

function facilityKind(value: unknown): FacilityKind | undefined {
  if (typeof value !== 'string') return undefined;
  const lower = value.trim().toLowerCase();
  return (FACILITY_KINDS as readonly string[]).includes(lower) ? (lower as FacilityKind) : KIND_ALIASES[value.trim()];
}

type AttributeCheck = { ok: true; attributes: FacilityAttributes } | { ok: false; message: string };

function attributesOf(p: Record<string, unknown>): AttributeCheck {
  const attributes: FacilityAttributes = {};
  for (const key of ['motherBabyRoom', 'accessibleToilet', 'parking', 'open24h', 'emergencyDepartment'] as const) {
    if (p[key] === undefined || p[key] === null) continue;
    if (typeof p[key] !== 'boolean') return { ok: false, message: `${key} 应为 true 或 false (expected a boolean)` };
    attributes[key] = p[key];
  }
  if (p.parkingSpaces !== undefined && p.parkingSpaces !== null) {
    if (!Number.isInteger(p.parkingSpaces) || (p.parkingSpaces as number) < 0 || (p.parkingSpaces as number) > 100_000) {
      return { ok: false, message: 'parkingSpaces 应为非负整数 (expected a whole number)' };
    }
    attributes.parkingSpaces = p.parkingSpaces as number;
  }
  for (const key of ['sortingCategories', 'busLines'] as const) {
    const v = p[key];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v) || v.length > 50 || !v.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 40)) {
      return { ok: false, message: `${key} 应为字符串数组 (expected a list of short strings)` };
    }
    attributes[key] = v as string[];
  }
  if (p.hospitalGrade !== undefined && p.hospitalGrade !== null) {
    const grade = text(p.hospitalGrade, 20);
    if (!grade) return { ok: false, message: 'hospitalGrade 应为文字 (expected text)' };
    attributes.hospitalGrade = grade;
  }
  return { ok: true, attributes };
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

function openingHoursOf(value: unknown): OpeningHoursDoc[] | string {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > 14) return 'openingHours 应为数组 (expected a list)';
  const out: OpeningHoursDoc[] = [];
  for (const entry of value as Array<Record<string, unknown> | null>) {
    const days = Array.isArray(entry?.days) ? entry.days.join('') : entry?.days;
    if (typeof days !== 'string' || !/^[1-7]{1,7}$/.test(days)) return 'openingHours.days 应为 1–7 的星期数字 (ISO weekdays)';
    if (typeof entry?.opens !== 'string' || !HHMM.test(entry.opens) || typeof entry.closes !== 'string' || !HHMM.test(entry.closes)) {
      return 'openingHours 的 opens/closes 应为 HH:MM (expected HH:MM)';
    }
    out.push({ days: [...new Set(days)].sort().join(''), opens: entry.opens, closes: entry.closes });
  }
  return out;
}

/** Checks facility features: properties kind, name, id?, address?, phone?, attributes, openingHours?. */
export function checkFacilities(features: unknown[], snapshot: Snapshot, options: Pick<ImportOptions, 'crs' | 'identity'>) {
  const out = new Collector();
  const good: FacilityCandidate[] = [];
  const seen = new Set<string>();
  const geometryOptions = districtOptions(snapshot, options.crs);
  features.forEach((raw, index) => {
    const feature = asFeature(raw);
    if (!feature) return out.reject(index, null, 'NOT_A_FEATURE', '不是 GeoJSON Feature (not a Feature)');
    const p = feature.properties;
    const givenId = featureId(feature);
    const kind = facilityKind(p.kind);
    if (!kind) {
      return out.reject(index, givenId, 'INVALID_PROPERTY', `设施类型 kind 应为 ${FACILITY_KINDS.join('、')} 之一 (unknown kind)`);
    }
    const name = text(p.name, 80);
    if (!name) return out.reject(index, givenId, 'MISSING_PROPERTY', '缺少设施名称 name (missing name)');
    const checked = checkPoint(feature.geometry, geometryOptions);
    if (!checked.ok) return out.reject(index, givenId, checked.code, checked.message);
    const [lng, lat] = checked.geometry;
    // Without an id, the same facility imported twice keeps one id: kind, name and place (to ~1 m).
    const id = givenId ?? `fac-${createHash('sha256').update(`${kind}|${name}|${lng.toFixed(5)}|${lat.toFixed(5)}`).digest('hex').slice(0, 16)}`;
    if (!ID.test(id)) return out.reject(index, givenId, 'INVALID_PROPERTY', '设施编号只能含字母、数字、-、_、. (invalid id)');
    if (seen.has(id)) return out.reject(index, id, 'DUPLICATE_ID', '同一批次中设施编号重复 (id repeated in this import)');
    seen.add(id);
    const attributes = attributesOf(p);
    if (!attributes.ok) return out.reject(index, id, 'INVALID_PROPERTY', attributes.message);
    const openingHours = openingHoursOf(p.openingHours);
    if (typeof openingHours === 'string') return out.reject(index, id, 'INVALID_PROPERTY', openingHours);
    if (options.identity) {
      const located = snapshot.locate(lng, lat);
      const place = (located.grid ?? located.community ?? located.street)?.path ?? [];
      if (!canWrite(options.identity, snapshot, place, 'facility')) {
        return out.reject(index, id, 'NOT_ALLOWED', '无权修改本辖区以外的设施 (outside your jurisdiction)');
      }
    }
    good.push({
      index,
      existing: snapshot.facilities.has(id),
      doc: {
        _id: id,
        kind,
        name,
        address: text(p.address, 200) ?? null,
        lng,
        lat,
        phone: text(p.phone, 40) ?? null,
        openingHours,
        attributes: attributes.attributes,
        source: 'import',
      },
    });
    return undefined;
  });
  return { good, problems: out.problems, warnings: out.warnings };
}

function report(options: ImportOptions, crs: Crs, received: number, checked: { good: unknown[]; problems: ImportProblem[]; warnings: ImportProblem[] }, created: number, updated: number): ImportReport {
  return {
    dryRun: options.dryRun,
    crs,
    received,
    accepted: checked.good.length,
    rejected: checked.problems.length,
    created,
    updated,
    problems: checked.problems,
    warnings: checked.warnings,
  };
}

/** Stores grid candidates as units, each change with its hub.units record, then rebuilds the directory. */
export async function importGrids(deps: ImportDeps, text: string, options: ImportOptions): Promise<ImportReport> {
  const { features, crs } = parseCollection(text, options);
  const checked = checkGrids(features, deps.directory.snapshot, { crs, ...(options.identity && { identity: options.identity }) });
  let created = 0;
  let updated = 0;
  if (!options.dryRun && checked.good.length > 0) {
    const written = await writeUnits(
      deps.models,
      checked.good.map((g) => {
        const [minLng, minLat, maxLng, maxLat] = extentOf(g.geometry);
        const set = {
          name: g.name,
          gridType: g.gridType,
          focus: g.focus,
          boundary: JSON.stringify(g.geometry),
          bbox: { minLng, minLat, maxLng, maxLat },
          centre: { lng: (minLng + maxLng) / 2, lat: (minLat + maxLat) / 2 },
          areaSqm: Math.round(areaOf(g.geometry)),
        };
        const create: UnitState = { _id: g.id, kind: 'grid', parentId: g.parentId, path: g.path, contacts: [], ...set };
        return { id: g.id, set, create };
      }),
    );
    created = written.created.length;
    updated = written.updated.length;
    const changed = [...written.created, ...written.updated];
    await deps.directory.patch({ units: changed }, await bumpRevision(deps.models));
    deps.onUnitsChanged?.(changed);
  }
  return report(options, crs, features.length, checked, created, updated);
}

export async function importFacilities(deps: ImportDeps, text: string, options: ImportOptions): Promise<ImportReport> {
  const { features, crs } = parseCollection(text, options);
  const checked = checkFacilities(features, deps.directory.snapshot, { crs, ...(options.identity && { identity: options.identity }) });
  const created = checked.good.filter((g) => !g.existing).length;
  if (!options.dryRun && checked.good.length > 0) {
    const now = new Date();
    const upserts = checked.good.map(({ doc }) => {
      const { _id, ...fields } = doc;
      return { updateOne: { filter: { _id }, update: { $set: { ...fields, updatedAt: now } }, upsert: true } };
    });
    await inSlices(upserts, (slice) => deps.models.Facility.bulkWrite(slice, { ordered: false }));
    await deps.directory.patch({ facilities: checked.good.map((g) => g.doc._id) }, await bumpRevision(deps.models));
  }
  return report(options, crs, features.length, checked, options.dryRun ? 0 : created, options.dryRun ? 0 : checked.good.length - created);
}
