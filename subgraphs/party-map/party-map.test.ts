// The party-map subgraph end to end, in-process over the real local Kafka and FerretDB, with the demo
// district loaded: locate, nearest, bounding box, imports with good and bad features, personal data,
// hub.units records and federation entities.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPartyMap } from '../../demo/party-map.ts';
import { type Role, mintToken } from '../../platform/auth.ts';
import { loadConfig } from '../../platform/config.ts';
import { createKafka } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { testScope } from '../../test/support/isolation.ts';
import { type PartyMap, buildPartyMap, partyMapConfig } from './app.ts';
import { convert } from './geo/crs.ts';
import { distanceMeters } from './geo/spatial-index.ts';
import { importFile } from './import-file.ts';
import { waitFor } from '../../test/support/wait.ts';

const scope = testScope('partymap');
const demo = demoPartyMap();
const unit = (id: string) => demo.units.find((u) => u.id === id) as (typeof demo.units)[number];

// Everything the service logs, to check that no personal data reaches it.
let logged = '';
const logger = createLogger(
  'party-map',
  'info',
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString();
      done();
    },
  }),
);

let app: PartyMap;
let base: string;
let consumer: Consumer;
const records: Array<{ key: string; value: any }> = [];

const tokens = new Map<string, string>();
async function token(role: Role, unitId: string, scopes: string[] = []): Promise<string> {
  const key = `${role}|${unitId}|${scopes.join(',')}`;
  if (!tokens.has(key)) tokens.set(key, await mintToken({ subject: `test-${role}`, unitId, role, scopes }));
  return tokens.get(key) as string;
}

async function gql(query: string, variables: Record<string, unknown> = {}, bearer?: string): Promise<{ status: number; data: any; errors: any[] | undefined }> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer !== undefined && { authorization: `Bearer ${bearer}` }) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: any[] };
  return { status: response.status, data: body.data, errors: body.errors };
}

const staff = () => token('district_command', 'huangpu-command');

beforeAll(async () => {
  const config = loadConfig(partyMapConfig, { ...scope.env, PORT: '0', DEMO_DATA: '1', GEO_REFRESH_MS: '200', UNITS_SWEEP_MS: '200' });
  app = await buildPartyMap(config, { dbName: scope.dbName, logger });
  base = await app.service.listen();
  consumer = createKafka(scope.config, 'party-map-test', createLogger('test', 'warn')).consumer({ groupId: `${scope.env.TOPIC_PREFIX}reader` });
  await consumer.connect();
  await consumer.subscribe({ topic: app.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      records.push({ key: String(message.key), value: JSON.parse(String(message.value)) });
    },
  });
});

afterAll(async () => {
  await consumer?.disconnect();
  await app?.service.shutdown('test');
  await scope.cleanup();
});

const LOCATE = `query($point: PointInput!) { locate(point: $point) {
  point { lng lat crs } inDistrict onGridBorder note
  grid { id } borderGrids { id } keyGrids { id } community { id } street { id } } }`;

describe('locate', () => {
  const g1 = unit('changzhou-c1-g1').bbox as [number, number, number, number];

  it('finds the grid, community and street of a point inside a grid', async () => {
    const { data, errors } = await gql(LOCATE, { point: { lng: (g1[0] + g1[2]) / 2, lat: (g1[1] + g1[3]) / 2 } }, await staff());
    expect(errors).toBeUndefined();
    expect(data.locate).toMatchObject({
      inDistrict: true,
      onGridBorder: false,
      note: null,
      grid: { id: 'changzhou-c1-g1' },
      community: { id: 'changzhou-c1' },
      street: { id: 'changzhou' },
    });
  });

  it('on the border between two grids: the first by id, with both listed', async () => {
    // g1's east edge is g2's west edge.
    const { data } = await gql(LOCATE, { point: { lng: g1[2], lat: (g1[1] + g1[3]) / 2 } }, await staff());
    expect(data.locate).toMatchObject({ onGridBorder: true, grid: { id: 'changzhou-c1-g1' } });
    expect(data.locate.borderGrids.map((g: { id: string }) => g.id)).toEqual(['changzhou-c1-g1', 'changzhou-c1-g2']);
  });

  it('in the hole of a key grid: not in it; in its ring: in it', async () => {
    // 香雪公园环湖重点网格 is a ring around the lake at its community's centre.
    const c = unit('luogang-c1').bbox as [number, number, number, number];
    const [lng, lat] = [(c[0] + c[2]) / 2 + 0.0001, (c[1] + c[3]) / 2];
    const inLake = await gql(LOCATE, { point: { lng, lat: lat + 0.0001 } }, await staff());
    expect(inLake.data.locate.keyGrids).toEqual([]);
    expect(inLake.data.locate.grid).not.toBeNull();
    const onShore = await gql(LOCATE, { point: { lng, lat: lat + 0.0035 } }, await staff());
    expect(onShore.data.locate.keyGrids).toEqual([{ id: 'luogang-c1-k1' }]);
  });

  it('takes GCJ-02 and BD-09 points and converts them', async () => {
    const wgs: [number, number] = [(g1[0] + g1[2]) / 2, (g1[1] + g1[3]) / 2];
    for (const crs of ['GCJ02', 'BD09'] as const) {
      const [lng, lat] = convert(wgs, 'WGS84', crs);
      const { data } = await gql(LOCATE, { point: { lng, lat, crs } }, await staff());
      expect(data.locate.grid).toEqual({ id: 'changzhou-c1-g1' });
      expect(distanceMeters(data.locate.point.lng, data.locate.point.lat, wgs[0], wgs[1])).toBeLessThan(0.2);
    }
  });

  it('outside the district: a clear "no grid here", not an error', async () => {
    const { data, errors } = await gql(LOCATE, { point: { lng: 113.27, lat: 23.13 } }, await staff());
    expect(errors).toBeUndefined();
    expect(data.locate).toMatchObject({ inDistrict: false, grid: null, community: null, street: null, borderGrids: [] });
    expect(data.locate.note).toMatch(/不在本区/);
  });

  it.each([
    ['swapped', { lng: 23.07, lat: 113.405 }, 'SWAPPED'],
    ['out of range', { lng: 190, lat: 23.07 }, 'OUT_OF_RANGE'],
  ])('refuses %s coordinates with BAD_USER_INPUT', async (_what, point, problem) => {
    const { data, errors } = await gql(LOCATE, { point }, await staff());
    expect(data).toBeNull();
    expect(errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', problem });
    expect(errors?.[0].message).toMatch(/[\u4e00-\u9fff]/);
  });

  it('refuses an unknown coordinate system and NaN before any resolver runs', async () => {
    const unknown = await gql(LOCATE, { point: { lng: 113.405, lat: 23.07, crs: 'UTM50N' } }, await staff());
    expect(unknown.status).toBe(400);
    expect(unknown.errors?.[0].message).toMatch(/CoordinateSystem/);
    // Variable coercion errors carry the platform formatter's code for errors raised before resolvers.
    expect(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED']).toContain(unknown.errors?.[0].extensions.code);
    // JSON has no NaN: a client's NaN arrives as null (or a string), which a Float! refuses.
    const nan = await gql(LOCATE, { point: { lng: 'NaN', lat: 23.07 } }, await staff());
    expect(nan.status).toBe(400);
    expect(nan.errors?.[0].message).toMatch(/Float/);
  });

  it('asks for a token', async () => {
    const { status, errors } = await gql(LOCATE, { point: { lng: 113.405, lat: 23.07 } });
    expect(status).toBe(401);
    expect(errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('nearest and bounding box', () => {
  const here = { lng: 113.463, lat: 23.121 };

  it('gives the nearest accessible toilets in order, with distances, as brute force does, page after page', async () => {
    const query = `query($p: PointInput!, $after: String) { nearestFacilities(point: $p, kind: PUBLIC_TOILET, require: { accessibleToilet: true }, first: 4, after: $after) {
      edges { distanceMeters node { id attributes { accessibleToilet } } } pageInfo { hasNextPage endCursor } } }`;
    const first = await gql(query, { p: here }, await staff());
    const second = await gql(query, { p: here, after: first.data.nearestFacilities.pageInfo.endCursor }, await staff());
    const got = [...first.data.nearestFacilities.edges, ...second.data.nearestFacilities.edges];
    const expected = demo.facilities
      .filter((f) => f.kind === 'public_toilet' && f.attributes.accessibleToilet)
      .map((f) => ({ id: f.id, d: distanceMeters(here.lng, here.lat, f.lng, f.lat) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, 8);
    expect(got.map((e: { node: { id: string } }) => e.node.id)).toEqual(expected.map((e) => e.id));
    got.forEach((e: { distanceMeters: number }, i: number) => expect(e.distanceMeters).toBeCloseTo(expected[i]?.d as number, 0));
    expect(first.data.nearestFacilities.pageInfo.hasNextPage).toBe(true);
  });

  it('finds service centres nearest first, with opening hours', async () => {
    const { data } = await gql(
      `query($p: PointInput!) { nearestServiceCentres(point: $p, level: COMMUNITY, first: 3) { edges { distanceMeters node { id level openNow openingHours { days opens closes } unit { kind } } } } }`,
      { p: here },
      await staff(),
    );
    const edges = data.nearestServiceCentres.edges;
    expect(edges).toHaveLength(3);
    expect(edges.map((e: { distanceMeters: number }) => e.distanceMeters)).toEqual([...edges.map((e: { distanceMeters: number }) => e.distanceMeters)].sort((a, b) => a - b));
    expect(edges[0].node).toMatchObject({ level: 'COMMUNITY', unit: { kind: 'COMMUNITY' } });
    expect(edges[0].node.openingHours[0]).toEqual({ days: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'], opens: '08:30', closes: '12:00' });
  });

  it('caps first and rejects a bad search radius', async () => {
    const tooMany = await gql(`{ nearestFacilities(point: {lng: 113.46, lat: 23.12}, first: 51) { edges { cursor } } }`, {}, await staff());
    expect(tooMany.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    const radius = await gql(`{ nearestFacilities(point: {lng: 113.46, lat: 23.12}, maxDistanceMeters: -5) { edges { cursor } } }`, {}, await staff());
    expect(radius.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('lists everything in a bounding box, as brute force does', async () => {
    const box = { minLng: 113.44, minLat: 23.1, maxLng: 113.46, maxLat: 23.12 };
    const { data } = await gql(
      `query($box: BoundingBoxInput!) { inBoundingBox(box: $box) {
        units(kinds: [GRID], first: 100) { totalCount edges { node { id } } }
        facilities(kind: BUS_STOP, first: 100) { totalCount }
        serviceCentres { totalCount } } }`,
      { box },
      await staff(),
    );
    const inside = (f: { lng: number; lat: number }) => f.lng >= box.minLng && f.lng <= box.maxLng && f.lat >= box.minLat && f.lat <= box.maxLat;
    expect(data.inBoundingBox.facilities.totalCount).toBe(demo.facilities.filter((f) => f.kind === 'bus_stop' && inside(f)).length);
    expect(data.inBoundingBox.serviceCentres.totalCount).toBe(demo.serviceCentres.filter(inside).length);
    // Grids touching the box count too (they share its edges): every grid whose box meets it.
    const meets = (b: [number, number, number, number]) => b[0] <= box.maxLng && b[2] >= box.minLng && b[1] <= box.maxLat && b[3] >= box.minLat;
    const expected = demo.units.filter((u) => u.kind === 'grid' && u.gridType === 'basic' && meets(u.bbox as [number, number, number, number]));
    expect(data.inBoundingBox.units.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(expect.arrayContaining(expected.map((u) => u.id)));
  });
});

describe('personal data', () => {
  const TEAM = `query($id: ID!) { unit(id: $id) { teamCounts { communityPartyMembers inServicePartyMembers youthVolunteers }
    grid { team { decisionTeam { name phone masked } auxiliaryForces { kind count members(first: 50) { edges { node { name phone idNumber employer masked } } } } } } } }`;
  const inService = (data: any) => data.unit.grid.team.auxiliaryForces.find((f: { kind: string }) => f.kind === 'IN_SERVICE_PARTY_MEMBER');
  const real = demo.members.filter((m) => m.gridId === 'changzhou-c1-g1' && m.role === 'in_service_party_member');

  it.each([
    ['its own grid worker', 'grid_worker', 'changzhou-c1-g1', [], true, false],
    ['its community', 'community', 'changzhou-c1', [], true, true],
    ['its street', 'street', 'changzhou', [], true, true],
    ["its street's command centre", 'street_command', 'changzhou-command', [], true, false],
    ['the district command centre', 'district_command', 'huangpu-command', [], true, false],
    ['another grid’s worker', 'grid_worker', 'changzhou-c1-g2', [], false, false],
    ['another street', 'street', 'lianhe', [], false, false],
    ['a department', 'department', 'dept-urban', [], false, false],
    ['a service account with a scope of the map', 'service_account', 'huangpu', ['party-map:write'], false, false],
    ['a service account with the personal scope', 'service_account', 'huangpu', ['party-map:personal'], true, false],
  ] as Array<[string, Role, string, string[], boolean, boolean]>)('%s: names %s, ID numbers %s', async (_who, role, unitId, scopes, names, ids) => {
    const { data, errors } = await gql(TEAM, { id: 'changzhou-c1-g1' }, await token(role, unitId, scopes));
    expect(errors).toBeUndefined();
    const force = inService(data);
    // Counts are for every member of staff.
    expect(force.count).toBe(real.length);
    expect(data.unit.teamCounts.inServicePartyMembers).toBe(real.length);
    const shown = force.members.edges.map((e: { node: any }) => e.node);
    expect(shown.map((m: { name: string }) => m.name).sort()).toEqual(
      real.map((m) => (names ? m.name : `${[...m.name][0]}${'*'.repeat([...m.name].length - 1)}`)).sort(),
    );
    for (const m of shown) {
      expect(m.phone).toMatch(names ? /^1\d{10}$/ : /^\d{3}\*{4}\d{4}$/);
      expect(m.idNumber).toMatch(ids ? /^440112\d{11}[\dX]$/ : /^4401\*{10}[\dX]{4}$/);
      expect(m.employer === null).toBe(!names);
      expect(m.masked).toBe(!(names && ids));
    }
  });

  it('refuses an agency account that holds no scope at all (deny by default)', async () => {
    const { data, errors } = await gql(TEAM, { id: 'changzhou-c1-g1' }, await token('service_account', 'huangpu', []));
    expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(data?.unit ?? null).toBeNull();
  });

  it('never writes names or phone numbers to the log', () => {
    for (const m of demo.members.filter((x) => x.gridId === 'changzhou-c1-g1')) {
      expect(logged).not.toContain(m.name);
      expect(logged).not.toContain(m.phone);
    }
  });
});

describe('federation', () => {
  it('resolves Unit, Facility, ServiceCentre and PartyOrganization entities', async () => {
    const { data, errors } = await gql(
      `query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Unit { id name unitKind: kind parent { id } }
        ... on Facility { id name facilityKind: kind }
        ... on ServiceCentre { id name }
        ... on PartyOrganization { id name orgKind: kind unit { id } } } }`,
      {
        r: [
          { __typename: 'Unit', id: 'changzhou-c1' },
          { __typename: 'Facility', id: 'hospital-1' },
          { __typename: 'ServiceCentre', id: 'huangpu-centre' },
          { __typename: 'PartyOrganization', id: 'lianhe-joint' },
          { __typename: 'Unit', id: 'no-such-unit' },
        ],
      },
      await staff(),
    );
    expect(errors).toBeUndefined();
    expect(data._entities).toEqual([
      { id: 'changzhou-c1', name: '深井社区', unitKind: 'COMMUNITY', parent: { id: 'changzhou' } },
      { id: 'hospital-1', name: '黄埔区人民医院', facilityKind: 'HOSPITAL' },
      { id: 'huangpu-centre', name: '黄埔区党群服务中心' },
      { id: 'lianhe-joint', name: '科学城片区联合大党委', orgKind: 'JOINT_COMMITTEE', unit: { id: 'lianhe' } },
      null,
    ]);
  });

  it('pages units and their children', async () => {
    const { data } = await gql(`{ unit(id: "changzhou") { children(kind: COMMUNITY, first: 3) { totalCount edges { node { id } } pageInfo { hasNextPage } } } }`, {}, await staff());
    expect(data.unit.children.totalCount).toBe(4);
    expect(data.unit.children.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(['changzhou-c1', 'changzhou-c2', 'changzhou-c3']);
    expect(data.unit.children.pageInfo.hasNextPage).toBe(true);
  });
});

// ---- imports and hub.units -------------------------------------------------------------------------

const ajv = (addFormatsModule as unknown as (a: Ajv2020) => Ajv2020)(new Ajv2020({ allErrors: true, strict: true }));
const validateRecord = ajv.compile(JSON.parse(readFileSync('schemas/events/unit.schema.json', 'utf8')));

const IMPORT_GRIDS = `mutation($fc: String!, $crs: CoordinateSystem!) { importGrids(featureCollection: $fc, crs: $crs) {
  received accepted rejected created updated problems { index featureId code message } warnings { index code } } }`;

const ring = (box: [number, number, number, number]) => [
  [box[0], box[1]],
  [box[2], box[1]],
  [box[2], box[3]],
  [box[0], box[3]],
  [box[0], box[1]],
];
const feature = (geometry: unknown, properties: Record<string, unknown>) => ({ type: 'Feature', geometry, properties });
const collection = (features: unknown[]) => JSON.stringify({ type: 'FeatureCollection', features });

describe('importing grids', () => {
  const g1 = unit('changzhou-c1-g1').bbox as [number, number, number, number];
  const c1 = unit('changzhou-c1').bbox as [number, number, number, number];
  const market: [number, number, number, number] = [c1[0] + 0.002, c1[1] + 0.002, c1[0] + 0.006, c1[1] + 0.005];

  it('loads the good features and reports each bad one with its index and reason', async () => {
    const fc = collection([
      // 0: an existing grid, clockwise: rewound and updated.
      feature({ type: 'Polygon', coordinates: [ring(g1).reverse()] }, { id: 'changzhou-c1-g1', name: '深井社区第一网格' }),
      // 1: a new key grid around a market.
      feature({ type: 'Polygon', coordinates: [ring(market)] }, { id: 'changzhou-c1-k9', name: '临时集市重点网格', parentId: 'changzhou-c1', gridType: 'key', focus: '占道经营' }),
      // 2: a bow tie.
      feature({ type: 'Polygon', coordinates: [[[113.401, 23.061], [113.409, 23.069], [113.409, 23.061], [113.401, 23.069], [113.401, 23.061]]] }, { id: 'bad-kinked', parentId: 'changzhou-c1', name: 'x' }),
      // 3: not closed.
      feature({ type: 'Polygon', coordinates: [ring(market).slice(0, 4)] }, { id: 'bad-open', parentId: 'changzhou-c1', name: 'x' }),
      // 4: [lat, lng].
      feature({ type: 'Polygon', coordinates: [ring(market).map(([a, b]) => [b, a])] }, { id: 'bad-swapped', parentId: 'changzhou-c1', name: 'x' }),
      // 5: in Tianhe, outside the district.
      feature({ type: 'Polygon', coordinates: [ring([113.32, 23.12, 113.33, 23.13])] }, { id: 'bad-outside', parentId: 'changzhou-c1', name: 'x' }),
      // 6: no such community.
      feature({ type: 'Polygon', coordinates: [ring(market)] }, { id: 'bad-parent', parentId: 'nowhere', name: 'x' }),
      // 7: not a feature at all.
      'hello',
      // 8: a point is no grid.
      feature({ type: 'Point', coordinates: [113.405, 23.07] }, { id: 'bad-point', parentId: 'changzhou-c1', name: 'x' }),
    ]);
    const { data, errors } = await gql(IMPORT_GRIDS, { fc, crs: 'WGS84' }, await staff());
    expect(errors).toBeUndefined();
    const report = data.importGrids;
    expect(report).toMatchObject({ received: 9, accepted: 2, rejected: 7, created: 1, updated: 1 });
    expect(report.problems.map((p: { index: number; code: string }) => [p.index, p.code])).toEqual([
      [2, 'SELF_INTERSECTION'],
      [3, 'UNCLOSED_RING'],
      [4, 'SWAPPED_COORDINATES'],
      [5, 'OUTSIDE_DISTRICT'],
      [6, 'UNKNOWN_PARENT'],
      [7, 'NOT_A_FEATURE'],
      [8, 'UNSUPPORTED_GEOMETRY'],
    ]);
    expect(report.warnings).toEqual([{ index: 0, code: 'REWOUND' }]);

    // The index was rebuilt: the new key grid is found at once, the renamed grid answers to its new name.
    const located = await gql(`{ locate(point: {lng: ${market[0] + 0.001}, lat: ${market[1] + 0.001}}) { grid { id name } keyGrids { id name grid { type focus } } } }`, {}, await staff());
    expect(located.data.locate).toEqual({
      grid: { id: 'changzhou-c1-g1', name: '深井社区第一网格' },
      keyGrids: [{ id: 'changzhou-c1-k9', name: '临时集市重点网格', grid: { type: 'KEY', focus: '占道经营' } }],
    });
  });

  it('publishes both changes on hub.units, keyed by unit id, valid against the JSON Schema', async () => {
    const latest = (id: string, version: number) => records.find((r) => r.key === id && r.value.version === version);
    const created = await waitFor('the new key grid on hub.units', () => latest('changzhou-c1-k9', 1));
    const updated = await waitFor('the updated grid on hub.units', () => latest('changzhou-c1-g1', 2));
    for (const record of [created, updated]) expect(validateRecord(record.value), JSON.stringify(validateRecord.errors)).toBe(true);
    expect(created.value.unit).toMatchObject({ kind: 'grid', parentId: 'changzhou-c1', path: ['huangpu', 'changzhou', 'changzhou-c1', 'changzhou-c1-k9'], gridType: 'key', crs: 'WGS84' });
    expect(created.value.unit.boundary.type).toBe('Polygon');
    expect(updated.value.unit.name).toBe('深井社区第一网格');
    // The demo directory goes out too, from the district down (a sweep publishes ~10 units a second
    // on the local FerretDB, so the test does not wait for all of it).
    const district = await waitFor('the district on hub.units', () => records.find((r) => r.key === 'huangpu'));
    expect(district.value.unit).toMatchObject({ kind: 'district', parentId: null, path: ['huangpu'], boundary: { type: 'Polygon' } });
    for (const record of records) expect(validateRecord(record.value), JSON.stringify(validateRecord.errors)).toBe(true);
    expect(records.every((r) => r.key === r.value.unitId && r.value.unit.id === r.key)).toBe(true);
  });

  it('reads GCJ-02 files, and honours a legacy crs member', async () => {
    const gcj = ring(market).map((p) => convert(p as [number, number], 'WGS84', 'GCJ02'));
    const fc = JSON.stringify({
      type: 'FeatureCollection',
      crs: { type: 'name', properties: { name: 'GCJ-02' } },
      features: [feature({ type: 'Polygon', coordinates: [gcj] }, { id: 'changzhou-c1-k9' })],
    });
    const { data } = await gql(IMPORT_GRIDS, { fc, crs: 'WGS84' }, await staff());
    expect(data.importGrids).toMatchObject({ accepted: 1, updated: 1, rejected: 0 });
    const { data: after } = await gql(`{ unit(id: "changzhou-c1-k9") { boundary { bbox { minLng minLat } } } }`, {}, await staff());
    expect(after.unit.boundary.bbox.minLng).toBeCloseTo(market[0], 6);
    expect(after.unit.boundary.bbox.minLat).toBeCloseTo(market[1], 6);
  });

  it('refuses a whole collection that is too big, not a collection, or in an unknown system', async () => {
    const many = collection(Array.from({ length: 2001 }, () => feature({ type: 'Point', coordinates: [113.45, 23.1] }, {})));
    for (const fc of [many, '{"type":"Feature"}', 'not json', JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'EPSG:2436' } }, features: [] })]) {
      const { errors } = await gql(IMPORT_GRIDS, { fc, crs: 'WGS84' }, await staff());
      expect(errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    }
    // Past the platform's 1 MiB request limit it is refused before GraphQL, plainly.
    const huge = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await staff()}` },
      body: JSON.stringify({ query: IMPORT_GRIDS, variables: { fc: 'x'.repeat(1_100_000), crs: 'WGS84' } }),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('lets a street import only its own grids, and a department none', async () => {
    const fc = collection([
      feature({ type: 'Polygon', coordinates: [ring(market)] }, { id: 'changzhou-c1-k9' }),
      feature({ type: 'Polygon', coordinates: [ring(unit('lianhe-c1-g1').bbox as [number, number, number, number])] }, { id: 'lianhe-c1-g1' }),
    ]);
    const { data } = await gql(`${IMPORT_GRIDS.replace('importGrids(featureCollection: $fc, crs: $crs)', 'importGrids(featureCollection: $fc, crs: $crs, dryRun: true)')}`, { fc, crs: 'WGS84' }, await token('street', 'lianhe'));
    expect(data.importGrids).toMatchObject({ accepted: 1, rejected: 1, created: 0, updated: 0 });
    expect(data.importGrids.problems).toMatchObject([{ index: 0, code: 'NOT_ALLOWED' }]);
    const denied = await gql(IMPORT_GRIDS, { fc, crs: 'WGS84' }, await token('department', 'dept-urban'));
    expect(denied.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });
});

describe('importing facilities', () => {
  const IMPORT = `mutation($fc: String!) { importFacilities(featureCollection: $fc) { accepted rejected created problems { index code } } }`;
  const spot = { lng: 113.4213, lat: 23.0871 };

  it('loads the good ones, rejects the bad ones, and nearest finds the new toilet first', async () => {
    const fc = collection([
      feature({ type: 'Point', coordinates: [spot.lng, spot.lat] }, { id: 'wc-new', kind: 'public_toilet', name: '新建公厕', motherBabyRoom: true, accessibleToilet: true, open24h: true }),
      feature({ type: 'Point', coordinates: [spot.lng, spot.lat] }, { kind: 'fountain', name: '喷泉' }),
      feature({ type: 'Point', coordinates: [spot.lng, spot.lat] }, { kind: 'bus_stop' }),
      feature({ type: 'Point', coordinates: ['abc', spot.lat] }, { kind: 'bus_stop', name: '某站' }),
      feature({ type: 'Point', coordinates: [200, spot.lat] }, { kind: 'bus_stop', name: '某站' }),
      feature({ type: 'Point', coordinates: [116.4, 39.9] }, { kind: 'bus_stop', name: '天安门站' }),
      feature({ type: 'Point', coordinates: [spot.lng, spot.lat] }, { kind: 'clinic', name: '某诊所', parking: 'yes' }),
    ]);
    const { data, errors } = await gql(IMPORT, { fc }, await token('department', 'dept-urban'));
    expect(errors).toBeUndefined();
    expect(data.importFacilities).toMatchObject({ accepted: 1, rejected: 6, created: 1 });
    expect(data.importFacilities.problems.map((p: { code: string }) => p.code)).toEqual([
      'INVALID_PROPERTY',
      'MISSING_PROPERTY',
      'INVALID_COORDINATE',
      'OUT_OF_RANGE',
      'OUTSIDE_DISTRICT',
      'INVALID_PROPERTY',
    ]);
    const nearest = await gql(
      `{ nearestFacilities(point: {lng: ${spot.lng}, lat: ${spot.lat}}, kind: PUBLIC_TOILET, require: {motherBabyRoom: true}, first: 1) { edges { distanceMeters node { id grid { id } } } } }`,
      {},
      await staff(),
    );
    expect(nearest.data.nearestFacilities.edges).toEqual([{ distanceMeters: 0, node: { id: 'wc-new', grid: { id: 'changzhou-c2-g3' } } }]);
  });

  it('imports a file straight into the database; the running service picks it up by itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'party-map-'));
    try {
      const path = join(dir, 'stops.geojson');
      const [lng, lat] = convert([113.4321, 23.0987], 'WGS84', 'BD09');
      await writeFile(path, collection([feature({ type: 'Point', coordinates: [lng, lat] }, { id: 'stop-file', kind: 'bus_stop', name: '文件导入站', busLines: ['B20'] })]));
      const report = await importFile(scope.config, { kind: 'facilities', path, crs: 'BD09', dryRun: false, dbName: scope.dbName });
      expect(report).toMatchObject({ accepted: 1, rejected: 0, crs: 'BD09' });
      const seen = await waitFor('the service to see the imported stop', async () => {
        const { data } = await gql(`{ facility(id: "stop-file") { name location { lng lat } attributes { busLines } } }`, {}, await staff());
        return data.facility ?? undefined;
      });
      expect(seen).toMatchObject({ name: '文件导入站', attributes: { busLines: ['B20'] } });
      expect(distanceMeters(seen.location.lng, seen.location.lat, 113.4321, 23.0987)).toBeLessThan(0.2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('updating a unit', () => {
  const UPDATE = `mutation($id: ID!, $input: UpdateUnitInput!) { updateUnit(id: $id, input: $input) { id name contacts { label phone } } }`;

  it('lets a community rename its grid, and publishes the change', async () => {
    const { data, errors } = await gql(UPDATE, { id: 'changzhou-c1-g2', input: { name: '深井社区第二网格', contacts: [{ label: '网格工作站', phone: '020-82220000' }] } }, await token('community', 'changzhou-c1'));
    expect(errors).toBeUndefined();
    expect(data.updateUnit).toEqual({ id: 'changzhou-c1-g2', name: '深井社区第二网格', contacts: [{ label: '网格工作站', phone: '020-82220000' }] });
    const record = await waitFor('the renamed grid on hub.units', () => records.find((r) => r.key === 'changzhou-c1-g2' && r.value.version === 2));
    expect(record.value.unit.name).toBe('深井社区第二网格');
  });

  it('refuses other jurisdictions, other roles and unknown units', async () => {
    const input = { name: '改名' };
    expect((await gql(UPDATE, { id: 'changzhou-c1-g2', input }, await token('community', 'lianhe-c1'))).errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect((await gql(UPDATE, { id: 'changzhou-c1-g2', input }, await token('grid_worker', 'changzhou-c1-g2'))).errors?.[0].extensions.code).toBe('FORBIDDEN');
    expect((await gql(UPDATE, { id: 'nowhere', input }, await staff())).errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect((await gql(UPDATE, { id: 'changzhou-c1-g2', input: { name: ' ' } }, await staff())).errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('the service', () => {
  it('is ready while Kafka and the database answer', async () => {
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ checks: { kafka: 'ok', mongodb: 'ok' } });
  });
});
