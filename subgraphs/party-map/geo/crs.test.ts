// Coordinate conversions against reference pairs published by the map providers themselves.
import { describe, expect, it } from 'vitest';
import { type Crs, type LngLat, convert, coordinateProblem, convertGeometry, parseCrsName } from './crs.ts';
import { distanceMeters } from './spatial-index.ts';

const gap = (a: LngLat, b: LngLat) => distanceMeters(a[0], a[1], b[0], b[1]);

describe('conversions against published reference pairs', () => {
  // AMap (高德) Web Service API, 坐标转换 (coordinate/convert), the documented example:
  // locations=116.481499,39.990475|116.481499,39.990375 with coordsys=gps answers
  // "116.487585177952,39.991754014757;116.487585177952,39.991653917101".
  // Request: https://lbs.amap.com/api/webservice/guide/api/convert/ (服务示例); the response as
  // published in the AMap Web API reference at https://apifox.com/apidoc/docs-site/759159/api-14671355.
  it.each([
    [[116.481499, 39.990475], [116.487585177952, 39.991754014757]],
    [[116.481499, 39.990375], [116.487585177952, 39.991653917101]],
  ] as Array<[LngLat, LngLat]>)('WGS-84 %j → GCJ-02 matches AMap (within 0.1 m)', (wgs, gcj) => {
    expect(gap(convert(wgs, 'WGS84', 'GCJ02'), gcj)).toBeLessThan(0.1);
  });

  // Alibaba Cloud address-purification API, TransferCoord (坐标系转换), the documented example:
  // GCJ02 "120.026268,30.279164" → BD09 "120.032768,30.285238", WGS84 "120.021519,30.281543".
  // https://help.aliyun.com/zh/address-purification/addrpapi/developer-reference/coordinate-system-conversion
  const aliyun = { GCJ02: [120.026268, 30.279164], BD09: [120.032768, 30.285238], WGS84: [120.021519, 30.281543] } as Record<Crs, LngLat>;

  it('GCJ-02 ↔ BD-09 matches Alibaba Cloud both ways (within 0.1 m)', () => {
    expect(gap(convert(aliyun.GCJ02, 'GCJ02', 'BD09'), aliyun.BD09)).toBeLessThan(0.1);
    expect(gap(convert(aliyun.BD09, 'BD09', 'GCJ02'), aliyun.GCJ02)).toBeLessThan(0.1);
  });

  it('GCJ-02 → WGS-84 agrees with Alibaba Cloud within 2 m, and inverts the forward transform exactly', () => {
    const wgs = convert(aliyun.GCJ02, 'GCJ02', 'WGS84');
    // Alibaba's published WGS-84 point does not map forward onto its own GCJ-02 input (it is off by
    // ~1.75 m: a one-step inverse); gcoord inverts iteratively, so it lands within 2 m of it and
    // maps back onto the input within centimetres.
    expect(gap(wgs, aliyun.WGS84)).toBeLessThan(2);
    expect(gap(convert(wgs, 'WGS84', 'GCJ02'), aliyun.GCJ02)).toBeLessThan(0.15);
  });

  it('BD-09 → WGS-84 goes through GCJ-02', () => {
    expect(gap(convert(aliyun.BD09, 'BD09', 'WGS84'), convert(aliyun.GCJ02, 'GCJ02', 'WGS84'))).toBeLessThan(0.15);
  });

  it('round-trips a Huangpu point through every system within 0.2 m', () => {
    const point: LngLat = [113.4598, 23.1064];
    for (const crs of ['GCJ02', 'BD09'] as Crs[]) {
      const there = convert(point, 'WGS84', crs);
      // GCJ-02 in Guangzhou is some 500–600 m from WGS-84: make sure something happened.
      expect(gap(there, point)).toBeGreaterThan(300);
      expect(gap(convert(there, crs, 'WGS84'), point)).toBeLessThan(0.2);
    }
  });

  it('leaves points outside China unshifted (GCJ-02 is defined only there)', () => {
    expect(convert([2.3522, 48.8566], 'WGS84', 'GCJ02')).toEqual([2.3522, 48.8566]);
  });

  it('converts every position of a polygon and leaves the input untouched', () => {
    const square = { type: 'Polygon' as const, coordinates: [[[113.4, 23.1], [113.41, 23.1], [113.41, 23.11], [113.4, 23.1]]] };
    const copy = JSON.parse(JSON.stringify(square));
    const gcj = convertGeometry(square, 'WGS84', 'GCJ02');
    expect(square).toEqual(copy);
    expect(gcj.coordinates[0]?.[1]).toEqual(convert([113.41, 23.1], 'WGS84', 'GCJ02'));
  });
});

describe('coordinate checks', () => {
  const huangpu: [number, number, number, number] = [113.4, 23.06, 113.56, 23.22];

  it.each([
    [Number.NaN, 23.1, 'NOT_A_NUMBER'],
    [113.4, Number.POSITIVE_INFINITY, 'NOT_A_NUMBER'],
    ['113.4', 23.1, 'NOT_A_NUMBER'],
    [23.1, 113.4, 'SWAPPED'],
    [181, 23.1, 'OUT_OF_RANGE'],
    [113.4, -91, 'OUT_OF_RANGE'],
    [200, 100, 'OUT_OF_RANGE'],
  ])('(%s, %s) is %s', (lng, lat, problem) => {
    expect(coordinateProblem(lng, lat, huangpu)).toBe(problem);
  });

  it('calls a pair swapped when only the other order falls in the district', () => {
    const western: [number, number, number, number] = [75.9, 39.4, 76.1, 39.6]; // around Kashgar
    expect(coordinateProblem(39.5, 76, western)).toBe('SWAPPED');
    expect(coordinateProblem(76, 39.5, western)).toBeUndefined();
  });

  it('accepts a far-away point that is simply elsewhere', () => {
    expect(coordinateProblem(116.4, 39.9, huangpu)).toBeUndefined();
  });

  it('knows the systems by their common names and nothing else', () => {
    expect(parseCrsName('EPSG:4326')).toBe('WGS84');
    expect(parseCrsName('urn:ogc:def:crs:OGC:1.3:CRS84')).toBe('WGS84');
    expect(parseCrsName('GCJ-02')).toBe('GCJ02');
    expect(parseCrsName('baidu')).toBe('BD09');
    expect(parseCrsName('EPSG:3857')).toBeUndefined();
    expect(parseCrsName('CGCS2000')).toBeUndefined();
  });
});
