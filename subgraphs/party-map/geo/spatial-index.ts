// The in-memory spatial index every geo query runs on (DESIGN.md: no $geoNear; the database only keeps
// geometry beside bounding boxes). Immutable once built: the directory builds a new one whenever the
// data change and swaps it in, so a query never sees half an update.
//  - polygons (streets, communities, grids, key grids, the district): Flatbush over their bounding
//    boxes, then an exact point-in-polygon test (turf) on the few candidates;
//  - points (service centres, facilities of each kind): KDBush, with geokdbush for nearest-N by
//    great-circle distance.
import booleanIntersects from '@turf/boolean-intersects';
import booleanPointInPolygon from '@turf/boolean-point-in-polygon';
import Flatbush from 'flatbush';
import { around, distance } from 'geokdbush';
import KDBush from 'kdbush';
import type { Polygon } from 'geojson';
import type { Extent } from './crs.ts';
import type { Polygonal } from './geometry.ts';

export type PolygonLayerName = 'district' | 'street' | 'community' | 'grid' | 'keyGrid';

export interface PolygonItem {
  id: string;
  geometry: Polygonal;
  bbox: Extent;
}

export interface PointItem {
  id: string;
  lng: number;
  lat: number;
}

export interface Neighbour {
  id: string;
  distanceMeters: number;
}

class PolygonLayer {
  private readonly index: Flatbush | undefined;

  constructor(readonly items: PolygonItem[]) {
    if (items.length === 0) return;
    this.index = new Flatbush(items.length);
    for (const { bbox } of items) this.index.add(bbox[0], bbox[1], bbox[2], bbox[3]);
    this.index.finish();
  }

  /** Items whose polygon contains the point, boundary included; `strict` says which have it inside. */
  containing(lng: number, lat: number): Array<{ item: PolygonItem; strict: boolean }> {
    if (!this.index) return [];
    const found: Array<{ item: PolygonItem; strict: boolean }> = [];
    for (const i of this.index.search(lng, lat, lng, lat)) {
      const item = this.items[i] as PolygonItem;
      if (!booleanPointInPolygon([lng, lat], item.geometry)) continue;
      found.push({ item, strict: booleanPointInPolygon([lng, lat], item.geometry, { ignoreBoundary: true }) });
    }
    // Deterministic order whatever the index returns.
    return found.sort((a, b) => (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0));
  }

  /** Items whose polygon meets the box. */
  inBox([minLng, minLat, maxLng, maxLat]: Extent): PolygonItem[] {
    if (!this.index) return [];
    const box: Polygon = {
      type: 'Polygon',
      coordinates: [[[minLng, minLat], [maxLng, minLat], [maxLng, maxLat], [minLng, maxLat], [minLng, minLat]]],
    };
    const out: PolygonItem[] = [];
    for (const i of this.index.search(minLng, minLat, maxLng, maxLat)) {
      const item = this.items[i] as PolygonItem;
      const [a, b, c, d] = item.bbox;
      // A polygon whose box lies inside the query box meets it; only the others need the exact test.
      const inside = a >= minLng && b >= minLat && c <= maxLng && d <= maxLat;
      if (inside || booleanIntersects(box, item.geometry)) out.push(item);
    }
    return out;
  }
}

class PointSet {
  private readonly index: KDBush | undefined;

  constructor(readonly items: PointItem[]) {
    if (items.length === 0) return;
    this.index = new KDBush(items.length);
    for (const { lng, lat } of items) this.index.add(lng, lat);
    this.index.finish();
  }

  /** The `count` nearest items passing `accept`, nearest first, within `maxMeters` if given. */
  nearest(lng: number, lat: number, count: number, maxMeters?: number, accept?: (item: PointItem) => boolean): Neighbour[] {
    if (!this.index || count <= 0) return [];
    const predicate = accept ? (i: number) => accept(this.items[i] as PointItem) : undefined;
    const ids = around(this.index, lng, lat, count, maxMeters === undefined ? undefined : maxMeters / 1000, predicate);
    return ids.map((i) => {
      const item = this.items[i] as PointItem;
      return { id: item.id, distanceMeters: distance(lng, lat, item.lng, item.lat) * 1000 };
    });
  }

  inBox([minLng, minLat, maxLng, maxLat]: Extent): PointItem[] {
    if (!this.index) return [];
    return this.index.range(minLng, minLat, maxLng, maxLat).map((i) => this.items[i] as PointItem);
  }
}

export interface SpatialInput {
  polygons: Partial<Record<PolygonLayerName, PolygonItem[]>>;
  /** Named point sets: `centres`, one per facility kind … */
  points: Record<string, PointItem[]>;
}

export interface Located {
  /** Inside the district's boundary (or, without one, inside some street). */
  inDistrict: boolean;
  /** The basic grid (基础网格) the point belongs to: on a border shared by several, the first by id. */
  grid?: string;
  /** On a border between basic grids: every grid whose boundary holds the point, `grid` first. */
  borderGrids: string[];
  /** Key grids (重点网格) containing the point. */
  keyGrids: string[];
  community?: string;
  street?: string;
}

export class SpatialIndex {
  private readonly layers: Record<PolygonLayerName, PolygonLayer>;
  private readonly points: Map<string, PointSet>;

  constructor(input: SpatialInput) {
    const layer = (name: PolygonLayerName) => new PolygonLayer(input.polygons[name] ?? []);
    this.layers = {
      district: layer('district'),
      street: layer('street'),
      community: layer('community'),
      grid: layer('grid'),
      keyGrid: layer('keyGrid'),
    };
    this.points = new Map(Object.entries(input.points).map(([name, items]) => [name, new PointSet(items)]));
  }

  /** Which grid, community and street a WGS-84 point falls in. */
  locate(lng: number, lat: number): Located {
    const grids = this.layers.grid.containing(lng, lat);
    const strict = grids.find((g) => g.strict);
    // Inside one grid, or on the border of several: then every one of them shares the point.
    const chosen = strict ?? grids[0];
    const borderGrids = strict || grids.length < 2 ? [] : grids.map((g) => g.item.id);
    const first = (name: PolygonLayerName) => {
      const found = this.layers[name].containing(lng, lat);
      return (found.find((f) => f.strict) ?? found[0])?.item.id;
    };
    const street = first('street');
    const districtItems = this.layers.district.items.length;
    const inDistrict = districtItems > 0 ? this.layers.district.containing(lng, lat).length > 0 : street !== undefined;
    return {
      inDistrict,
      ...(chosen && { grid: chosen.item.id }),
      borderGrids,
      keyGrids: this.layers.keyGrid.containing(lng, lat).map((k) => k.item.id),
      ...optional('community', first('community')),
      ...optional('street', street),
    };
  }

  nearest(set: string, lng: number, lat: number, count: number, maxMeters?: number, accept?: (item: PointItem) => boolean): Neighbour[] {
    return this.points.get(set)?.nearest(lng, lat, count, maxMeters, accept) ?? [];
  }

  pointsInBox(set: string, box: Extent): PointItem[] {
    return this.points.get(set)?.inBox(box) ?? [];
  }

  polygonsInBox(layer: PolygonLayerName, box: Extent): PolygonItem[] {
    return this.layers[layer].inBox(box);
  }

  pointCount(set: string): number {
    return this.points.get(set)?.items.length ?? 0;
  }
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/** Great-circle distance in metres (geokdbush, R = 6371 km). */
export function distanceMeters(lng1: number, lat1: number, lng2: number, lat2: number): number {
  return distance(lng1, lat1, lng2, lat2) * 1000;
}
