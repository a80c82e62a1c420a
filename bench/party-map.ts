// `npm run bench:party-map`: the party-map subgraph's geo queries at 10,000 facilities and 2,000
// grids, on the local Kafka and FerretDB (or KAFKA_BROKERS / MONGODB_URI). Prints one JSON line:
// locate and nearest-10 latency (p50/p99) on the in-memory index, through the subgraph's HTTP
// endpoint and through the gateway (loopback, sequential, bounded), and how long a rebuild of the
// directory takes.
// Data go straight into a throw-away database (no imports, nothing to publish); both are removed after.
import { cpus } from 'node:os';
import { down, up } from '../infra/local.ts';
import { mintToken } from '../platform/auth.ts';
import { loadConfig } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { connectMongo } from '../platform/mongo.ts';
import { gatewayConfig, startGateway } from '../gateway/app.ts';
import { buildPartyMap, partyMapConfig } from '../subgraphs/party-map/app.ts';
import { ALL_FACILITIES } from '../subgraphs/party-map/directory.ts';
import { distanceMeters } from '../subgraphs/party-map/geo/spatial-index.ts';
import { FACILITY_KINDS, type FacilityDoc, type ServiceCentreDoc, type UnitDoc, bumpRevision, createModels } from '../subgraphs/party-map/models.ts';
import { seededRandom } from '../demo/random.ts';
import { benchRun, dropRun, graphql, percentiles, say } from './stats.ts';

const GRID_COLUMNS = 50;
const GRID_ROWS = 40; // 2,000 grids
const FACILITIES = Number(process.env.BENCH_FACILITIES ?? 10_000);
const IN_PROCESS_QUERIES = Number(process.env.BENCH_INDEX_QUERIES ?? 20_000);
const HTTP_QUERIES = Number(process.env.BENCH_HTTP_QUERIES ?? 2_000);
const WARM_UP = 200;
const EXTENT = { minLng: 113.4, minLat: 23.06, maxLng: 113.56, maxLat: 23.22 };
/** Positions per grid edge: real grid boundaries have tens of vertices, not four. */
const EDGE_STEPS = 8;

const rand = seededRandom(4003);
const r7 = (n: number) => Math.round(n * 1e7) / 1e7;

/** A rectangle as a ring with EDGE_STEPS positions per edge; neighbours share their edges exactly. */
function ring(minLng: number, minLat: number, maxLng: number, maxLat: number): number[][] {
  const out: number[][] = [];
  const edge = (x0: number, y0: number, x1: number, y1: number) => {
    for (let i = 0; i < EDGE_STEPS; i++) out.push([r7(x0 + ((x1 - x0) * i) / EDGE_STEPS), r7(y0 + ((y1 - y0) * i) / EDGE_STEPS)]);
  };
  edge(minLng, minLat, maxLng, minLat);
  edge(maxLng, minLat, maxLng, maxLat);
  edge(maxLng, maxLat, minLng, maxLat);
  edge(minLng, maxLat, minLng, minLat);
  out.push([...(out[0] as number[])]);
  return out;
}

function area(id: string, name: string, kind: UnitDoc['kind'], parent: UnitDoc | null, box: [number, number, number, number], now: Date): UnitDoc {
  const [minLng, minLat, maxLng, maxLat] = box.map(r7) as [number, number, number, number];
  return {
    _id: id,
    name,
    kind,
    parentId: parent?._id ?? null,
    path: [...(parent?.path ?? []), id],
    gridType: kind === 'grid' ? 'basic' : null,
    focus: null,
    contacts: [],
    boundary: JSON.stringify({ type: 'Polygon', coordinates: [ring(minLng, minLat, maxLng, maxLat)] }),
    bbox: { minLng, minLat, maxLng, maxLat },
    centre: { lng: (minLng + maxLng) / 2, lat: (minLat + maxLat) / 2 },
    areaSqm: 0,
    version: 1,
    outbox: [],
    outboxPending: false,
    publishedSeq: 1,
    updatedAt: now,
  };
}

/** District → 10 streets → 100 communities → 2,000 grids, tiling the extent. */
function units(now: Date): UnitDoc[] {
  const width = (EXTENT.maxLng - EXTENT.minLng) / GRID_COLUMNS;
  const height = (EXTENT.maxLat - EXTENT.minLat) / GRID_ROWS;
  const cell = (c0: number, r0: number, c1: number, r1: number): [number, number, number, number] => [
    EXTENT.minLng + c0 * width,
    EXTENT.minLat + r0 * height,
    EXTENT.minLng + c1 * width,
    EXTENT.minLat + r1 * height,
  ];
  const district = area('bench', '基准区', 'district', null, cell(0, 0, GRID_COLUMNS, GRID_ROWS), now);
  const out = [district];
  // Streets: 5 columns × 2 rows of 10 × 20 cells; communities: 5 × 4 cells, 10 per street.
  for (let s = 0; s < 10; s++) {
    const [sc, sr] = [(s % 5) * 10, Math.floor(s / 5) * 20];
    const street = area(`bench-s${s}`, `街道${s}`, 'street', district, cell(sc, sr, sc + 10, sr + 20), now);
    out.push(street);
    for (let c = 0; c < 10; c++) {
      const [cc, cr] = [sc + (c % 2) * 5, sr + Math.floor(c / 2) * 4];
      const community = area(`${street._id}-c${c}`, `社区${s}-${c}`, 'community', street, cell(cc, cr, cc + 5, cr + 4), now);
      out.push(community);
      for (let g = 0; g < 20; g++) {
        const [gc, gr] = [cc + (g % 5), cr + Math.floor(g / 5)];
        out.push(area(`${community._id}-g${g}`, `网格${s}-${c}-${g}`, 'grid', community, cell(gc, gr, gc + 1, gr + 1), now));
      }
    }
  }
  return out;
}

const at = (): [number, number] => [
  EXTENT.minLng + rand() * (EXTENT.maxLng - EXTENT.minLng),
  EXTENT.minLat + rand() * (EXTENT.maxLat - EXTENT.minLat),
];

function facilities(now: Date): FacilityDoc[] {
  return Array.from({ length: FACILITIES }, (_, i) => {
    const [lng, lat] = at();
    return {
      _id: `f${i}`,
      kind: FACILITY_KINDS[i % FACILITY_KINDS.length] as FacilityDoc['kind'],
      name: `设施${i}`,
      address: null,
      lng: r7(lng),
      lat: r7(lat),
      phone: null,
      openingHours: [],
      attributes: { accessibleToilet: rand() < 0.5, motherBabyRoom: rand() < 0.2 },
      source: 'import',
      updatedAt: now,
    };
  });
}

function centres(now: Date): ServiceCentreDoc[] {
  return Array.from({ length: 100 }, (_, i) => {
    const [lng, lat] = at();
    return { _id: `c${i}`, name: `党群服务中心${i}`, level: 'community', unitId: 'bench', address: '', lng, lat, phone: null, openingHours: [], services: [], updatedAt: now };
  });
}

const infra = await up(say);
const { run, env: runEnv } = benchRun(infra);
const dbName = `bench_party_map_${run}`;
const env = { ...runEnv, PORT: '0' };
const config = loadConfig(partyMapConfig, { ...env, GEO_REFRESH_MS: '0' });

try {
  say(`loading ${GRID_COLUMNS * GRID_ROWS} grids and ${FACILITIES} facilities into ${dbName}`);
  const loadConn = await connectMongo(config, dbName);
  const models = createModels(loadConn);
  const now = new Date();
  const unitDocs = units(now);
  const facilityDocs = facilities(now);
  for (let i = 0; i < unitDocs.length; i += 500) await models.Unit.insertMany(unitDocs.slice(i, i + 500), { lean: true });
  for (let i = 0; i < facilityDocs.length; i += 1000) await models.Facility.insertMany(facilityDocs.slice(i, i + 1000), { lean: true });
  await models.ServiceCentre.insertMany(centres(now), { lean: true });
  await bumpRevision(models);
  await loadConn.close();

  const app = await buildPartyMap(config, { dbName, logger: createLogger('party-map', 'error') });
  const base = await app.service.listen();
  const snapshot = app.directory.snapshot;
  const grids = snapshot.unitList.filter((u) => u.kind === 'grid').length;
  say(`directory: ${grids} grids, ${snapshot.facilityList.length} facilities; reload ${Math.round(app.directory.lastReloadMs)} ms, build ${Math.round(app.directory.lastBuildMs)} ms`);

  // In-process: the index alone, microseconds per call.
  const points = Array.from({ length: IN_PROCESS_QUERIES }, at);
  const time = (fn: (p: [number, number]) => unknown) =>
    points.map((p) => {
      const start = process.hrtime.bigint();
      fn(p);
      return Number(process.hrtime.bigint() - start) / 1000;
    });
  time(([lng, lat]) => snapshot.locate(lng, lat)); // warm-up
  const located = time(([lng, lat]) => snapshot.locate(lng, lat));
  time(([lng, lat]) => snapshot.index.nearest(ALL_FACILITIES, lng, lat, 10));
  const nearest = time(([lng, lat]) => snapshot.index.nearest(ALL_FACILITIES, lng, lat, 10));
  // A sanity check: every point lands in a grid, and nearest-10 agrees with brute force on a sample.
  const misses = points.filter(([lng, lat]) => !snapshot.locate(lng, lat).grid).length;
  const wrong = points.slice(0, 50).filter(([lng, lat]) => {
    const got = snapshot.index.nearest(ALL_FACILITIES, lng, lat, 10).map((n) => n.id);
    const expected = facilityDocs
      .map((f) => ({ id: f._id, d: distanceMeters(lng, lat, f.lng, f.lat) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, 10)
      .map((f) => f.id);
    return got.join() !== expected.join();
  }).length;

  // Through the subgraph: GraphQL over loopback HTTP, one request at a time.
  const token = await mintToken({ subject: 'bench', unitId: 'huangpu-command', role: 'district_command' });
  const post = (url: string, query: string, variables: Record<string, unknown>) => graphql(url, token, query, variables);

  const LOCATE = 'query($p: PointInput!) { locate(point: $p) { grid { id name } community { id } street { id } } }';
  const NEAREST = 'query($p: PointInput!) { nearestFacilities(point: $p, first: 10) { edges { distanceMeters node { id name kind } } } }';
  const overHttp = async (url: string, query: string) => {
    const samples: number[] = [];
    for (let i = 0; i < WARM_UP + HTTP_QUERIES; i++) {
      const [lng, lat] = points[i % points.length] as [number, number];
      const start = performance.now();
      await post(url, query, { p: { lng, lat } });
      if (i >= WARM_UP) samples.push(performance.now() - start);
    }
    return samples;
  };
  const httpLocate = await overHttp(`${base}/graphql`, LOCATE);
  const httpNearest = await overHttp(`${base}/graphql`, NEAREST);

  // Through the gateway (the composed supergraph), which sends these root fields to party-map alone.
  // Its one client sends thousands of queries a minute: latency is measured here, not the rate limit.
  const gateway = await startGateway(
    loadConfig(gatewayConfig, { ...env, PORT: '0', PARTY_MAP_URL: `${base}/graphql`, RATE_LIMIT_PER_MINUTE: '1000000' }),
  );
  const gatewayLocate = await overHttp(`${gateway.url}/graphql`, LOCATE);
  const gatewayNearest = await overHttp(`${gateway.url}/graphql`, NEAREST);
  await gateway.service.shutdown('bench done');

  // A rebuild from memory (what a local change costs) and a full reload from the database.
  await app.directory.refresh();
  const reloadMs = Math.round(app.directory.lastReloadMs);
  const buildMs = Math.round(app.directory.lastBuildMs);

  console.log(
    JSON.stringify({
      bench: 'party-map',
      grids,
      facilities: snapshot.facilityList.length,
      positionsPerGrid: EDGE_STEPS * 4 + 1,
      inProcess_us: { locate: percentiles(located, 1), nearest10: percentiles(nearest, 1) },
      subgraphHttp_ms: { locate: percentiles(httpLocate, 2), nearest10: percentiles(httpNearest, 2) },
      gatewayHttp_ms: { locate: percentiles(gatewayLocate, 2), nearest10: percentiles(gatewayNearest, 2) },
      directory_ms: { reloadFromDatabase: reloadMs, buildInMemory: buildMs },
      checks: { pointsWithoutGrid: misses, nearest10DisagreeingWithBruteForce: wrong },
      machine: { cpus: cpus().length, node: process.version },
    }),
  );

  await app.service.shutdown('bench done');
} finally {
  await dropRun(config, [dbName]);
  if (infra.started.length > 0) await down(say, infra.started);
}
