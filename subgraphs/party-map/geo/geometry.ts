// Checking one feature's geometry before it is stored: structure, coordinates (finite, in range, not
// swapped), closed rings with enough positions, no self-intersection, holes inside their shell, inside
// the district. A good geometry comes back converted to WGS-84, rounded to 1e-7° (about 1 cm), with
// repeated positions dropped and rings wound the RFC 7946 way (shell counter-clockwise).
import area from '@turf/area';
import booleanPointInPolygon from '@turf/boolean-point-in-polygon';
import kinks from '@turf/kinks';
import rewind from '@turf/rewind';
import type { MultiPolygon, Point, Polygon, Position } from 'geojson';
import { COORDINATE_MESSAGES, type Crs, type Extent, type LngLat, coordinateProblem, convert, grow } from './crs.ts';

export type Polygonal = Polygon | MultiPolygon;

export type GeometryProblemCode =
  | 'UNSUPPORTED_GEOMETRY'
  | 'INVALID_COORDINATE'
  | 'OUT_OF_RANGE'
  | 'SWAPPED_COORDINATES'
  | 'UNCLOSED_RING'
  | 'TOO_FEW_POSITIONS'
  | 'TOO_MANY_POSITIONS'
  | 'SELF_INTERSECTION'
  | 'HOLE_OUTSIDE_SHELL'
  | 'OUTSIDE_DISTRICT';

export type GeometryWarningCode = 'REWOUND' | 'REPEATED_POSITIONS';

export interface GeometryProblem {
  code: GeometryProblemCode;
  message: string;
}
export interface GeometryWarning {
  code: GeometryWarningCode;
  message: string;
}

export type Checked<G> = { ok: true; geometry: G; warnings: GeometryWarning[] } | ({ ok: false } & GeometryProblem);

export interface CheckOptions {
  /** The system the feature's positions are in. */
  crs: Crs;
  /** The district's boundary (WGS-84): features must lie inside it. Skipped when absent. */
  district?: Polygonal;
  /** The district's bounding box (WGS-84): tells swapped pairs from far-away ones. */
  extent?: Extent;
  /** Most positions one feature may have. */
  maxPositions?: number;
}

const PRECISION = 1e7;
const round = (n: number) => Math.round(n * PRECISION) / PRECISION;

const fail = (code: GeometryProblemCode, message: string): Checked<never> => ({ ok: false, code, message });

const COORDINATE_CODES = {
  NOT_A_NUMBER: 'INVALID_COORDINATE',
  OUT_OF_RANGE: 'OUT_OF_RANGE',
  SWAPPED: 'SWAPPED_COORDINATES',
} as const;

const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

/** Checks one position; `where` says where it is for the message. */
function checkPosition(raw: unknown, where: string, extent: Extent | undefined): Checked<LngLat> {
  if (!isArray(raw) || raw.length < 2 || raw.length > 3) {
    return fail('INVALID_COORDINATE', `${where}：坐标应为 [经度, 纬度] (a position must be [lng, lat])`);
  }
  const [lng, lat] = raw;
  const problem = coordinateProblem(lng, lat, extent);
  if (problem) return fail(COORDINATE_CODES[problem], `${where}：${COORDINATE_MESSAGES[problem]}`);
  return { ok: true, geometry: [lng as number, lat as number], warnings: [] };
}

type Ring = LngLat[];

/** Structure, coordinates, closing and length of one ring, in the input system. */
function checkRing(raw: unknown, where: string, extent: Extent | undefined): Checked<Ring> {
  if (!isArray(raw)) return fail('UNSUPPORTED_GEOMETRY', `${where}：环应为坐标数组 (a ring must be an array of positions)`);
  const ring: Ring = [];
  for (let i = 0; i < raw.length; i++) {
    const position = checkPosition(raw[i], `${where}第 ${i} 个坐标 (position ${i})`, extent);
    if (!position.ok) return position;
    ring.push(position.geometry);
  }
  if (ring.length < 4) {
    return fail('TOO_FEW_POSITIONS', `${where}：环至少需要 4 个坐标（首尾相同）(a ring needs at least 4 positions, got ${ring.length})`);
  }
  const first = ring[0] as LngLat;
  const last = ring[ring.length - 1] as LngLat;
  if (first[0] !== last[0] || first[1] !== last[1]) {
    return fail('UNCLOSED_RING', `${where}：环未闭合，首尾坐标不同 (ring is not closed: first and last positions differ)`);
  }
  return { ok: true, geometry: ring, warnings: [] };
}

/** Converts, rounds and drops consecutive repeated positions; says how many were dropped. */
function normaliseRing(ring: Ring, crs: Crs): { ring: Ring; dropped: number } {
  const out: Ring = [];
  for (const position of ring) {
    const [lng, lat] = convert(position, crs, 'WGS84');
    const p: LngLat = [round(lng), round(lat)];
    const prev = out[out.length - 1];
    if (prev && prev[0] === p[0] && prev[1] === p[1]) continue;
    out.push(p);
  }
  return { ring: out, dropped: ring.length - out.length };
}

function positionsOf(geometry: Polygonal): Position[] {
  return geometry.type === 'Polygon' ? geometry.coordinates.flat() : geometry.coordinates.flat(2);
}

/** Checks a Polygon or MultiPolygon; see the top of this file. */
export function checkPolygonal(raw: unknown, options: CheckOptions): Checked<Polygonal> {
  const geometry = raw as { type?: unknown; coordinates?: unknown } | null;
  if (!geometry || typeof geometry !== 'object' || (geometry.type !== 'Polygon' && geometry.type !== 'MultiPolygon')) {
    const type = geometry && typeof geometry === 'object' ? String(geometry.type) : String(geometry);
    return fail('UNSUPPORTED_GEOMETRY', `几何类型应为 Polygon 或 MultiPolygon，收到 ${type} (expected Polygon or MultiPolygon)`);
  }
  if (!isArray(geometry.coordinates)) return fail('UNSUPPORTED_GEOMETRY', '缺少坐标 (coordinates missing)');
  const rawPolygons: unknown[] = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  if (rawPolygons.length === 0) return fail('UNSUPPORTED_GEOMETRY', '几何为空 (empty geometry)');
  const extent = options.extent && grow(options.extent, 0.5);
  const warnings: GeometryWarning[] = [];
  let positions = 0;
  let dropped = 0;
  const polygons: Ring[][] = [];
  for (let p = 0; p < rawPolygons.length; p++) {
    const rawRings = rawPolygons[p];
    const prefix = geometry.type === 'MultiPolygon' ? `第 ${p} 个多边形 (polygon ${p}) ` : '';
    if (!isArray(rawRings) || rawRings.length === 0) {
      return fail('UNSUPPORTED_GEOMETRY', `${prefix}多边形应为环的数组 (a polygon must be an array of rings)`);
    }
    const rings: Ring[] = [];
    for (let r = 0; r < rawRings.length; r++) {
      const where = `${prefix}${r === 0 ? '外环 (shell)' : `第 ${r} 个内环 (hole ${r})`}`;
      const rawRing = rawRings[r];
      // Counted before anything else: the checks below cost more than linear time.
      positions += isArray(rawRing) ? rawRing.length : 0;
      if (options.maxPositions && positions > options.maxPositions) {
        return fail('TOO_MANY_POSITIONS', `坐标点过多，单个要素最多 ${options.maxPositions} 个 (too many positions)`);
      }
      const checked = checkRing(rawRing, where, extent);
      if (!checked.ok) return checked;
      const normalised = normaliseRing(checked.geometry, options.crs);
      dropped += normalised.dropped;
      if (normalised.ring.length < 4) {
        return fail('TOO_FEW_POSITIONS', `${where}：去除重复坐标后不足 4 个 (fewer than 4 distinct positions)`);
      }
      rings.push(normalised.ring);
    }
    polygons.push(rings);
  }
  if (dropped > 0) {
    warnings.push({ code: 'REPEATED_POSITIONS', message: `已去除 ${dropped} 个连续重复坐标 (dropped repeated positions)` });
  }
  const candidate: Polygonal =
    geometry.type === 'Polygon' ? { type: 'Polygon', coordinates: polygons[0] as Ring[] } : { type: 'MultiPolygon', coordinates: polygons };

  const crossings = kinks(candidate).features;
  if (crossings.length > 0) {
    const at = crossings[0]?.geometry.coordinates ?? [];
    return fail(
      'SELF_INTERSECTION',
      `边界自相交，交点约在 [${at.map((n) => n.toFixed(6)).join(', ')}] (self-intersecting boundary; ${crossings.length} crossing(s))`,
    );
  }
  for (const rings of polygons) {
    const shell: Polygon = { type: 'Polygon', coordinates: [rings[0] as Ring] };
    for (let h = 1; h < rings.length; h++) {
      // Rings do not cross (checked above), so one position tells whether the hole is inside.
      const probe = (rings[h] as Ring)[0] as LngLat;
      if (!booleanPointInPolygon(probe, shell, { ignoreBoundary: true })) {
        return fail('HOLE_OUTSIDE_SHELL', `第 ${h} 个内环不在外环之内 (hole ${h} lies outside its shell)`);
      }
    }
  }

  const wound = rewind(candidate) as Polygonal;
  if (JSON.stringify(wound.coordinates) !== JSON.stringify(candidate.coordinates)) {
    warnings.push({
      code: 'REWOUND',
      message: '环的方向已按 RFC 7946 调整：外环逆时针、内环顺时针 (rings rewound to the right-hand rule)',
    });
  }
  if (options.district) {
    const outside = positionsOf(wound).filter((p) => !booleanPointInPolygon(p, options.district as Polygonal));
    if (outside.length > 0) {
      const p = outside[0] as Position;
      return fail(
        'OUTSIDE_DISTRICT',
        `有 ${outside.length} 个坐标在本区范围之外，如 [${p.join(', ')}] (${outside.length} position(s) outside the district)`,
      );
    }
  }
  return { ok: true, geometry: wound, warnings };
}

/** Checks a Point; a good one comes back in WGS-84, rounded. */
export function checkPoint(raw: unknown, options: CheckOptions): Checked<LngLat> {
  const geometry = raw as { type?: unknown; coordinates?: unknown } | null;
  if (!geometry || typeof geometry !== 'object' || geometry.type !== 'Point') {
    const type = geometry && typeof geometry === 'object' ? String(geometry.type) : String(geometry);
    return fail('UNSUPPORTED_GEOMETRY', `几何类型应为 Point，收到 ${type} (expected Point)`);
  }
  const extent = options.extent && grow(options.extent, 0.5);
  const checked = checkPosition(geometry.coordinates, '坐标 (position)', extent);
  if (!checked.ok) return checked;
  const [lng, lat] = convert(checked.geometry, options.crs, 'WGS84');
  const position: LngLat = [round(lng), round(lat)];
  if (options.district && !booleanPointInPolygon(position, options.district)) {
    return fail('OUTSIDE_DISTRICT', `坐标 [${position.join(', ')}] 在本区范围之外 (position outside the district)`);
  }
  return { ok: true, geometry: position, warnings: [] };
}

/** [minLng, minLat, maxLng, maxLat] of a geometry. */
export function extentOf(geometry: Polygonal | Point): Extent {
  const positions = geometry.type === 'Point' ? [geometry.coordinates] : positionsOf(geometry);
  let minLng = Infinity;
  let minLat = Infinity;
  let maxLng = -Infinity;
  let maxLat = -Infinity;
  for (const [lng, lat] of positions as LngLat[]) {
    if (lng < minLng) minLng = lng;
    if (lat < minLat) minLat = lat;
    if (lng > maxLng) maxLng = lng;
    if (lat > maxLat) maxLat = lat;
  }
  return [minLng, minLat, maxLng, maxLat];
}

/** Geodesic area in square metres (turf). */
export function areaOf(geometry: Polygonal): number {
  return area(geometry);
}
