// The spatial index on its own: locate on borders and in holes, nearest-N against brute force.
import type { Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import type { Extent } from './crs.ts';
import { extentOf } from './geometry.ts';
import { type PointItem, type PolygonItem, SpatialIndex, distanceMeters } from './spatial-index.ts';
import { seededRandom } from '../../../demo/random.ts';

const rect = (id: string, [minLng, minLat, maxLng, maxLat]: Extent, holes: Extent[] = []): PolygonItem => {
  const ring = ([a, b, c, d]: Extent) => [[a, b], [c, b], [c, d], [a, d], [a, b]];
  const geometry: Polygon = { type: 'Polygon', coordinates: [ring([minLng, minLat, maxLng, maxLat]), ...holes.map((h) => ring(h).reverse())] };
  return { id, geometry, bbox: extentOf(geometry) };
};

// Four grids in a 2×2 block; grid g4 has a hole (a lake) and the lake is grid g5's only when `lake`.
function block(lake: boolean): SpatialIndex {
  const grids = [
    rect('g1', [113.4, 23.1, 113.41, 23.11]),
    rect('g2', [113.41, 23.1, 113.42, 23.11]),
    rect('g3', [113.4, 23.11, 113.41, 23.12]),
    rect('g4', [113.41, 23.11, 113.42, 23.12], [[113.413, 23.113, 113.417, 23.117]]),
    ...(lake ? [rect('g5', [113.413, 23.113, 113.417, 23.117])] : []),
  ];
  return new SpatialIndex({
    polygons: {
      district: [rect('d', [113.4, 23.1, 113.42, 23.12])],
      street: [rect('s', [113.4, 23.1, 113.42, 23.12])],
      community: [rect('c1', [113.4, 23.1, 113.41, 23.12]), rect('c2', [113.41, 23.1, 113.42, 23.12])],
      grid: grids,
      keyGrid: [rect('k1', [113.405, 23.105, 113.415, 23.115])],
    },
    points: {},
  });
}

describe('locate', () => {
  const index = block(false);

  it('finds the grid, community and street of a point inside a grid', () => {
    expect(index.locate(113.405, 23.102)).toEqual({
      inDistrict: true,
      grid: 'g1',
      borderGrids: [],
      keyGrids: [],
      community: 'c1',
      street: 's',
    });
  });

  it('on the border between two grids: one grid, the first by id, and both as border grids', () => {
    const located = index.locate(113.41, 23.105);
    expect(located.grid).toBe('g1');
    expect(located.borderGrids).toEqual(['g1', 'g2']);
    // The same answer every time, whatever order the index returns candidates in.
    expect(index.locate(113.41, 23.105)).toEqual(located);
  });

  it('on the corner where four grids meet: all four', () => {
    const located = index.locate(113.41, 23.11);
    expect(located.grid).toBe('g1');
    expect(located.borderGrids).toEqual(['g1', 'g2', 'g3', 'g4']);
  });

  it('on the district edge: the one grid there, not a border case', () => {
    expect(index.locate(113.4, 23.105)).toMatchObject({ inDistrict: true, grid: 'g1', borderGrids: [] });
  });

  it('in a hole: no grid, but still in the district, community and street', () => {
    const located = index.locate(113.416, 23.116);
    expect(located).toMatchObject({ inDistrict: true, borderGrids: [], keyGrids: [], community: 'c2', street: 's' });
    expect(located.grid).toBeUndefined();
  });

  it('in a hole that another grid fills: that grid; on the hole edge: both', () => {
    const withLake = block(true);
    expect(withLake.locate(113.416, 23.116).grid).toBe('g5');
    expect(withLake.locate(113.413, 23.115)).toMatchObject({ grid: 'g4', borderGrids: ['g4', 'g5'] });
  });

  it('reports key grids over basic grids', () => {
    expect(index.locate(113.407, 23.107)).toMatchObject({ grid: 'g1', keyGrids: ['k1'] });
  });

  it('outside the district: nothing, and says so', () => {
    const located = index.locate(113.5, 23.3);
    expect(located).toEqual({ inDistrict: false, borderGrids: [], keyGrids: [] });
  });
});


describe('nearest-N', () => {
  const rand = seededRandom(20240604);
  const extent: Extent = [113.4, 23.06, 113.56, 23.22];
  const at = () => [extent[0] + rand() * (extent[2] - extent[0]), extent[1] + rand() * (extent[3] - extent[1])] as const;
  const points: Array<PointItem & { kind: string }> = Array.from({ length: 5000 }, (_, i) => {
    const [lng, lat] = at();
    return { id: `p${i}`, lng, lat, kind: i % 3 === 0 ? 'toilet' : 'bus' };
  });
  const index = new SpatialIndex({ polygons: {}, points: { all: points } });

  const bruteForce = (lng: number, lat: number, k: number, maxMeters = Infinity, accept = (_p: (typeof points)[number]) => true) =>
    points
      .filter(accept)
      .map((p) => ({ id: p.id, distanceMeters: distanceMeters(lng, lat, p.lng, p.lat) }))
      .filter((p) => p.distanceMeters <= maxMeters)
      .sort((a, b) => a.distanceMeters - b.distanceMeters)
      .slice(0, k);

  it('matches brute force on 300 random query points, nearest first, with the distances', () => {
    for (let q = 0; q < 300; q++) {
      const [lng, lat] = at();
      const expected = bruteForce(lng, lat, 10);
      const got = index.nearest('all', lng, lat, 10);
      expect(got.map((g) => g.id)).toEqual(expected.map((e) => e.id));
      got.forEach((g, i) => expect(g.distanceMeters).toBeCloseTo(expected[i]?.distanceMeters as number, 6));
    }
  });

  it('matches brute force with a distance limit and a filter, and from outside the points’ extent', () => {
    for (let q = 0; q < 100; q++) {
      const [lng, lat] = q % 10 === 0 ? [113.7, 23.3] : at();
      const accept = (p: PointItem) => (p as (typeof points)[number]).kind === 'toilet';
      const expected = bruteForce(lng, lat, 25, 1500, accept);
      expect(index.nearest('all', lng, lat, 25, 1500, accept).map((g) => g.id)).toEqual(expected.map((e) => e.id));
    }
  });

  it('answers an unknown or empty set with nothing', () => {
    expect(index.nearest('none', 113.45, 23.1, 10)).toEqual([]);
    expect(new SpatialIndex({ polygons: {}, points: { empty: [] } }).nearest('empty', 113.45, 23.1, 10)).toEqual([]);
  });

  it('finds every point in a box, as brute force does', () => {
    const box: Extent = [113.45, 23.1, 113.47, 23.13];
    const expected = points.filter((p) => p.lng >= box[0] && p.lng <= box[2] && p.lat >= box[1] && p.lat <= box[3]).map((p) => p.id);
    expect(index.pointsInBox('all', box).map((p) => p.id).sort()).toEqual(expected.sort());
  });
});

describe('polygons in a box', () => {
  it('keeps polygons that meet the box, not those whose bounding box only does', () => {
    const triangle: Polygon = { type: 'Polygon', coordinates: [[[113.4, 23.1], [113.42, 23.1], [113.4, 23.12], [113.4, 23.1]]] };
    const index = new SpatialIndex({
      polygons: { grid: [{ id: 't', geometry: triangle, bbox: extentOf(triangle) }, rect('r', [113.43, 23.1, 113.44, 23.11])] },
      points: {},
    });
    // The box sits in the triangle's bounding box, beyond its hypotenuse.
    expect(index.polygonsInBox('grid', [113.415, 23.115, 113.419, 23.119])).toEqual([]);
    expect(index.polygonsInBox('grid', [113.401, 23.101, 113.435, 23.105]).map((p) => p.id).sort()).toEqual(['r', 't']);
  });
});
