// Coordinate systems. Everything is stored in WGS-84 (GPS, and what GeoJSON means); clients may send
// and ask for GCJ-02 (国测局坐标 "火星坐标": AMap 高德, Tencent 腾讯) or BD-09 (百度坐标: Baidu).
// Conversions go through gcoord, never through formulas typed in here.
import gcoordModule, { type CRSTypes } from 'gcoord';
import type { Geometry, MultiPolygon, Polygon, Position } from 'geojson';

// gcoord is CommonJS whose typings declare an ES default export: Node hands the object itself to a
// default import, TypeScript expects it under `.default`. Accept either.
type Gcoord = (typeof gcoordModule)['default'];
const gcoord: Gcoord = (gcoordModule as unknown as { default?: Gcoord }).default ?? (gcoordModule as unknown as Gcoord);

export type Crs = 'WGS84' | 'GCJ02' | 'BD09';
export const CRS_VALUES: readonly Crs[] = ['WGS84', 'GCJ02', 'BD09'];

/** The system every stored coordinate is in. */
export const STORED_CRS: Crs = 'WGS84';

const GCOORD: Record<Crs, CRSTypes> = {
  WGS84: gcoord.WGS84,
  GCJ02: gcoord.GCJ02,
  BD09: gcoord.BD09,
};

export type LngLat = [number, number];

/** Converts one position between systems; positions outside China are left as they are (gcoord). */
export function convert(position: LngLat, from: Crs, to: Crs): LngLat {
  if (from === to) return [position[0], position[1]];
  return gcoord.transform<LngLat>([position[0], position[1]], GCOORD[from], GCOORD[to]);
}

export const toStored = (position: LngLat, from: Crs): LngLat => convert(position, from, STORED_CRS);
export const fromStored = (position: LngLat, to: Crs): LngLat => convert(position, STORED_CRS, to);

function mapRing(ring: Position[], fn: (p: LngLat) => LngLat): Position[] {
  return ring.map((p) => fn([p[0] as number, p[1] as number]));
}

/** A copy of a (Multi)Polygon with every position converted. */
export function convertGeometry<G extends Polygon | MultiPolygon>(geometry: G, from: Crs, to: Crs): G {
  if (from === to) return geometry;
  const fn = (p: LngLat) => convert(p, from, to);
  if (geometry.type === 'Polygon') {
    return { type: 'Polygon', coordinates: geometry.coordinates.map((r) => mapRing(r, fn)) } as G;
  }
  return {
    type: 'MultiPolygon',
    coordinates: geometry.coordinates.map((poly) => poly.map((r) => mapRing(r, fn))),
  } as G;
}

/** Converts a point geometry or a (Multi)Polygon; used for GeoJSON answers in the client's system. */
export function convertAnyGeometry(geometry: Geometry, from: Crs, to: Crs): Geometry {
  if (geometry.type === 'Point') {
    return { type: 'Point', coordinates: convert([geometry.coordinates[0] as number, geometry.coordinates[1] as number], from, to) };
  }
  if (geometry.type === 'Polygon' || geometry.type === 'MultiPolygon') return convertGeometry(geometry, from, to);
  return geometry;
}

// Names a coordinate system goes by in files and other systems' APIs, lower-cased.
const ALIASES: Record<string, Crs> = {
  wgs84: 'WGS84',
  'wgs-84': 'WGS84',
  wgs1984: 'WGS84',
  gps: 'WGS84',
  'epsg:4326': 'WGS84',
  'urn:ogc:def:crs:epsg::4326': 'WGS84',
  'urn:ogc:def:crs:ogc:1.3:crs84': 'WGS84',
  crs84: 'WGS84',
  gcj02: 'GCJ02',
  'gcj-02': 'GCJ02',
  amap: 'GCJ02',
  gaode: 'GCJ02',
  tencent: 'GCJ02',
  qq: 'GCJ02',
  bd09: 'BD09',
  'bd-09': 'BD09',
  bd09ll: 'BD09',
  baidu: 'BD09',
};

/** The system a name stands for, or undefined when it names none the hub knows. */
export function parseCrsName(name: string): Crs | undefined {
  return ALIASES[name.trim().toLowerCase()];
}

export type CoordinateProblem = 'NOT_A_NUMBER' | 'OUT_OF_RANGE' | 'SWAPPED';

export type Extent = [number, number, number, number];

const inExtent = ([minLng, minLat, maxLng, maxLat]: Extent, lng: number, lat: number) =>
  lng >= minLng && lng <= maxLng && lat >= minLat && lat <= maxLat;

/**
 * Why a position cannot be a [lng, lat] pair, or undefined when it can. `extent` (the district's,
 * with a margin) lets a pair that only makes sense the other way round be called swapped.
 */
export function coordinateProblem(lng: unknown, lat: unknown, extent?: Extent): CoordinateProblem | undefined {
  if (typeof lng !== 'number' || typeof lat !== 'number' || !Number.isFinite(lng) || !Number.isFinite(lat)) {
    return 'NOT_A_NUMBER';
  }
  const lngOk = lng >= -180 && lng <= 180;
  const latOk = lat >= -90 && lat <= 90;
  if (!latOk && lngOk && Math.abs(lng) <= 90 && Math.abs(lat) <= 180) return 'SWAPPED';
  if (!lngOk || !latOk) return 'OUT_OF_RANGE';
  if (extent && !inExtent(extent, lng, lat) && inExtent(extent, lat, lng)) return 'SWAPPED';
  return undefined;
}

export const COORDINATE_MESSAGES: Record<CoordinateProblem, string> = {
  NOT_A_NUMBER: '坐标不是有效数字 (coordinate is not a finite number)',
  OUT_OF_RANGE: '坐标超出范围：经度应在 -180～180，纬度应在 -90～90 (coordinate out of range)',
  SWAPPED: '经纬度顺序颠倒：应为 [经度, 纬度] (latitude and longitude look swapped; expected [lng, lat])',
};

/** Grows an extent by `margin` degrees on every side. */
export function grow([minLng, minLat, maxLng, maxLat]: Extent, margin: number): Extent {
  return [minLng - margin, minLat - margin, maxLng + margin, maxLat + margin];
}
