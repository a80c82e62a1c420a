// Feature geometry checks: each bad geometry is caught with its own reason; good ones come back clean.
import type { Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { convert } from './crs.ts';
import { type CheckOptions, checkPoint, checkPolygonal, extentOf } from './geometry.ts';

const district: Polygon = {
  type: 'Polygon',
  coordinates: [[[113.4, 23.06], [113.56, 23.06], [113.56, 23.22], [113.4, 23.22], [113.4, 23.06]]],
};
const options: CheckOptions = { crs: 'WGS84', district, extent: [113.4, 23.06, 113.56, 23.22], maxPositions: 1000 };

// Rounded as the checker rounds (1e-7°), so that good input comes back unchanged.
const r7 = (n: number) => Math.round(n * 1e7) / 1e7;
const square = (x: number, y: number, size: number) => [
  [x, y],
  [r7(x + size), y],
  [r7(x + size), r7(y + size)],
  [x, r7(y + size)],
  [x, y],
];

describe('checkPolygonal', () => {
  it('accepts a good polygon as it is', () => {
    const result = checkPolygonal({ type: 'Polygon', coordinates: [square(113.45, 23.1, 0.01)] }, options);
    expect(result).toEqual({ ok: true, geometry: { type: 'Polygon', coordinates: [square(113.45, 23.1, 0.01)] }, warnings: [] });
  });

  it('rewinds a clockwise shell and says so (RFC 7946 asks parsers not to reject it)', () => {
    const clockwise = square(113.45, 23.1, 0.01).reverse();
    const result = checkPolygonal({ type: 'Polygon', coordinates: [clockwise] }, options);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings.map((w) => w.code)).toEqual(['REWOUND']);
    expect(result.geometry.coordinates).toEqual([square(113.45, 23.1, 0.01)]);
  });

  it('drops repeated positions with a warning', () => {
    const ring = square(113.45, 23.1, 0.01);
    ring.splice(1, 0, [113.45, 23.1]);
    const result = checkPolygonal({ type: 'Polygon', coordinates: [ring] }, options);
    expect(result.ok && result.warnings.map((w) => w.code)).toEqual(['REPEATED_POSITIONS']);
  });

  it.each([
    ['a point', { type: 'Point', coordinates: [113.45, 23.1] }, 'UNSUPPORTED_GEOMETRY'],
    ['no geometry', null, 'UNSUPPORTED_GEOMETRY'],
    ['an unclosed ring', { type: 'Polygon', coordinates: [square(113.45, 23.1, 0.01).slice(0, 4)] }, 'UNCLOSED_RING'],
    ['three positions', { type: 'Polygon', coordinates: [[[113.45, 23.1], [113.46, 23.1], [113.45, 23.1]]] }, 'TOO_FEW_POSITIONS'],
    [
      'a bow tie',
      { type: 'Polygon', coordinates: [[[113.45, 23.1], [113.46, 23.11], [113.46, 23.1], [113.45, 23.11], [113.45, 23.1]]] },
      'SELF_INTERSECTION',
    ],
    ['[lat, lng] pairs', { type: 'Polygon', coordinates: [square(23.1, 113.45, 0.01)] }, 'SWAPPED_COORDINATES'],
    ['a string coordinate', { type: 'Polygon', coordinates: [[['113.45', 23.1], ...square(113.45, 23.1, 0.01).slice(1)]] }, 'INVALID_COORDINATE'],
    ['NaN', { type: 'Polygon', coordinates: [[[Number.NaN, 23.1], ...square(113.45, 23.1, 0.01).slice(1)]] }, 'INVALID_COORDINATE'],
    ['longitude 200', { type: 'Polygon', coordinates: [square(200, 23.1, 0.01)] }, 'OUT_OF_RANGE'],
    ['a polygon in Beijing', { type: 'Polygon', coordinates: [square(116.4, 39.9, 0.01)] }, 'OUTSIDE_DISTRICT'],
    ['a polygon over the district edge', { type: 'Polygon', coordinates: [square(113.555, 23.1, 0.01)] }, 'OUTSIDE_DISTRICT'],
    [
      'a hole outside its shell',
      { type: 'Polygon', coordinates: [square(113.45, 23.1, 0.01), square(113.47, 23.1, 0.005).reverse()] },
      'HOLE_OUTSIDE_SHELL',
    ],
    [
      'a hole crossing its shell',
      { type: 'Polygon', coordinates: [square(113.45, 23.1, 0.01), square(113.455, 23.105, 0.01).reverse()] },
      'SELF_INTERSECTION',
    ],
    [
      'overlapping parts of a MultiPolygon',
      { type: 'MultiPolygon', coordinates: [[square(113.45, 23.1, 0.01)], [square(113.455, 23.105, 0.01)]] },
      'SELF_INTERSECTION',
    ],
    ['too many positions', { type: 'Polygon', coordinates: [Array.from({ length: 1001 }, (_, i) => [113.45, 23.1 + i * 1e-6])] }, 'TOO_MANY_POSITIONS'],
  ])('rejects %s', (_what, geometry, code) => {
    const result = checkPolygonal(geometry, options);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(code);
      expect(result.message).toMatch(/[\u4e00-\u9fff]/);
    }
  });

  it('accepts a polygon with a hole, and a MultiPolygon of separate parts', () => {
    const holed = { type: 'Polygon', coordinates: [square(113.45, 23.1, 0.01), square(113.453, 23.103, 0.004).reverse()] };
    expect(checkPolygonal(holed, options).ok).toBe(true);
    const multi = { type: 'MultiPolygon', coordinates: [[square(113.45, 23.1, 0.01)], [square(113.47, 23.1, 0.01)]] };
    expect(checkPolygonal(multi, options).ok).toBe(true);
  });

  it('converts GCJ-02 input to WGS-84 before checking it against the district', () => {
    const wgs = square(113.45, 23.1, 0.01);
    const gcj = wgs.map((p) => convert(p as [number, number], 'WGS84', 'GCJ02'));
    const result = checkPolygonal({ type: 'Polygon', coordinates: [gcj] }, { ...options, crs: 'GCJ02' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const back = result.geometry.coordinates[0] as number[][];
    back.forEach((p, i) => {
      expect(p[0]).toBeCloseTo(wgs[i]?.[0] as number, 6);
      expect(p[1]).toBeCloseTo(wgs[i]?.[1] as number, 6);
    });
  });
});

describe('checkPoint', () => {
  it('accepts a point in the district, converting it from BD-09', () => {
    const bd = convert([113.45, 23.1], 'WGS84', 'BD09');
    const result = checkPoint({ type: 'Point', coordinates: bd }, { ...options, crs: 'BD09' });
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.geometry[0]).toBeCloseTo(113.45, 6);
      expect(result.geometry[1]).toBeCloseTo(23.1, 6);
    }
  });

  it.each([
    [{ type: 'Point', coordinates: [23.1, 113.45] }, 'SWAPPED_COORDINATES'],
    [{ type: 'Point', coordinates: [113.45] }, 'INVALID_COORDINATE'],
    [{ type: 'Point', coordinates: [113.7, 23.1] }, 'OUTSIDE_DISTRICT'],
    [{ type: 'LineString', coordinates: [[113.45, 23.1], [113.46, 23.1]] }, 'UNSUPPORTED_GEOMETRY'],
  ])('rejects %j as %s', (geometry, code) => {
    const result = checkPoint(geometry, options);
    expect(result.ok || result.code).toBe(code);
  });
});

it('extentOf gives the bounding box', () => {
  expect(extentOf({ type: 'Polygon', coordinates: [square(113.45, 23.1, 0.01)] })).toEqual([113.45, 23.1, 113.46, 23.11]);
});
