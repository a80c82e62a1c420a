// `npm run bench:enterprise`: talent-apartment search at 20,000 listings (BENCH_APARTMENTS), on the
// local Kafka and FerretDB (or KAFKA_BROKERS / MONGODB_URI). Prints one JSON line: search by distance
// (nearest 20 around a point; within 3 km with filters) and by filters (sorted by rent, with the total)
// — p50/p99 on the in-memory index, through the subgraph's HTTP endpoint and through the gateway
// (loopback, one request at a time) — what a write costs before the next search sees it, how long
// the service takes to load the listings, and, for comparison, the same filter as a FerretDB query.
// Data go into a throw-away database and topic prefix, both removed after.
import { cpus } from 'node:os';
import { distance } from 'geokdbush';
import { down, up } from '../infra/local.ts';
import { type DemoEnterprise, demoApartments, demoEnterprises } from '../demo/enterprise.ts';
import { seededRandom } from '../demo/random.ts';
import { gatewayConfig, startGateway } from '../gateway/app.ts';
import { type Identity, mintToken } from '../platform/auth.ts';
import { loadConfig } from '../platform/config.ts';
import { connectMongo } from '../platform/mongo.ts';
import { enterpriseConfig, startEnterprise } from '../subgraphs/enterprise/app.ts';
import { LiveCollection } from '../subgraphs/enterprise/live.ts';
import type { ApartmentFilter, SearchRequest } from '../subgraphs/enterprise/domain/apartment-index.ts';
import { type ApartmentDoc, type EnterpriseDoc, enterpriseModels } from '../subgraphs/enterprise/model.ts';
import { benchRun, dropRun, graphql, percentiles, say } from './stats.ts';

const APARTMENTS = Number(process.env.BENCH_APARTMENTS ?? 20_000);
const IN_PROCESS_QUERIES = Number(process.env.BENCH_INDEX_QUERIES ?? 5_000);
const HTTP_QUERIES = Number(process.env.BENCH_HTTP_QUERIES ?? 1_000);
const WARM_UP = 100;
const EXTENT = { minLng: 113.4, minLat: 23.06, maxLng: 113.56, maxLat: 23.22 };

const infra = await up(say);
const { run, env: runEnv } = benchRun(infra);
const dbName = `bench_enterprise_${run}`;
const env = { ...runEnv, PORT: '0' };
const config = loadConfig(enterpriseConfig, { ...env, ENTERPRISE_DB: dbName, LIVE_REFRESH_MS: '0' });

const rand = seededRandom('bench-enterprise');
const points = Array.from({ length: Math.max(IN_PROCESS_QUERIES, HTTP_QUERIES + WARM_UP) }, () => ({
  lng: EXTENT.minLng + rand() * (EXTENT.maxLng - EXTENT.minLng),
  lat: EXTENT.minLat + rand() * (EXTENT.maxLat - EXTENT.minLat),
}));
const STREETS = ['lianhe', 'yuzhu', 'luogang', 'nangang', 'dasha', 'xiagang', 'changzhou', 'huangpujie'];
const filterAt = (i: number): ApartmentFilter => ({
  streetIds: [STREETS[i % STREETS.length] as string, STREETS[(i + 3) % STREETS.length] as string],
  minRooms: 1 + (i % 2),
  maxRent: 2500 + (i % 5) * 500,
  availableOnly: true,
});

try {
  say(`loading ${APARTMENTS} apartments into ${dbName}`);
  const loadConn = await connectMongo(config, dbName);
  const models = await enterpriseModels(loadConn);
  const now = new Date();
  const apartments: ApartmentDoc[] = demoApartments(APARTMENTS, `bench-${APARTMENTS}`).map((a, i) => ({
    _id: a.id,
    project: a.project,
    unitNo: a.unitNo,
    districtId: 'huangpu',
    streetId: a.streetId,
    address: a.address,
    location: a.location,
    rooms: a.rooms,
    areaSqm: a.areaSqm,
    monthlyRent: a.monthlyRent,
    available: a.available,
    ...(a.availableInDays && { availableFrom: new Date(now.getTime() + a.availableInDays * 86_400_000) }),
    provider: a.provider,
    version: 1,
    seq: i + 1,
    updatedAt: now,
  }));
  const insertStart = performance.now();
  for (let i = 0; i < apartments.length; i += 1000) await models.Apartment.insertMany(apartments.slice(i, i + 1000), { lean: true });
  const insertMs = Math.round(performance.now() - insertStart);
  await models.Counter.create({ _id: 'apartments', seq: apartments.length });
  const firm = demoEnterprises()[1] as DemoEnterprise;
  const enterprise: EnterpriseDoc = {
    _id: firm.creditCode,
    name: firm.name,
    industry: firm.industry,
    size: firm.size,
    address: firm.address,
    location: firm.location,
    streetId: firm.streetId,
    contacts: [],
    servicePeriods: [],
    registeredAt: now,
    version: 1,
    seq: 1,
    updatedAt: now,
  };
  await models.Enterprise.create(enterprise);
  await models.Counter.create({ _id: 'enterprises', seq: 1 });

  // For comparison: the same filter asked of the database (FerretDB scans for anything but {_id}).
  const dbQuery: number[] = [];
  for (let i = 0; i < 20; i++) {
    const f = filterAt(i);
    const start = performance.now();
    await models.Apartment.find({
      streetId: { $in: f.streetIds },
      rooms: { $gte: f.minRooms },
      monthlyRent: { $lte: f.maxRent },
      available: true,
    })
      .sort({ monthlyRent: 1, _id: 1 })
      .limit(21)
      .lean();
    dbQuery.push(performance.now() - start);
  }
  await loadConn.close();

  const loadStart = performance.now();
  const app = await startEnterprise(config);
  const startMs = Math.round(performance.now() - loadStart);
  const index = app.zone.apartmentIndex;
  say(`enterprise subgraph up with ${index.size} listings in ${startMs} ms`);

  // In-process: the index alone, microseconds per search.
  const time = (make: (i: number) => SearchRequest, count = IN_PROCESS_QUERIES) => {
    const samples: number[] = [];
    for (let i = 0; i < count + WARM_UP; i++) {
      const request = make(i);
      const start = process.hrtime.bigint();
      index.search(request);
      if (i >= WARM_UP) samples.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    return samples;
  };
  const nearest20 = time((i) => ({ near: points[i % points.length], sort: 'DISTANCE', first: 20, now }));
  const within3kmFiltered = time((i) => ({ near: { ...(points[i % points.length] as { lng: number; lat: number }), withinMeters: 3000 }, filter: filterAt(i), sort: 'DISTANCE', first: 20, now }));
  const byFilters = time((i) => ({ filter: filterAt(i), sort: 'RENT_ASC', first: 20, now }));
  const countSamples: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const start = process.hrtime.bigint();
    index.count(filterAt(i), undefined, now);
    countSamples.push(Number(process.hrtime.bigint() - start) / 1000);
  }

  // Sanity: nearest-20 and rent-ordered pages agree with brute force on a sample.
  let wrong = 0;
  for (let i = 0; i < 30; i++) {
    const p = points[i] as { lng: number; lat: number };
    const got = index.search({ near: p, sort: 'DISTANCE', first: 20, now }).hits.map((h) => h.listing._id);
    const expected = apartments
      .map((a) => ({ id: a._id, d: distance(p.lng, p.lat, a.location.lng, a.location.lat) }))
      .sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1))
      .slice(0, 20)
      .map((a) => a.id);
    if (got.join() !== expected.join()) wrong++;
    const f = filterAt(i);
    const byRent = index.search({ filter: f, sort: 'RENT_ASC', first: 20, now }).hits.map((h) => h.listing._id);
    const scan = apartments
      .filter((a) => f.streetIds?.includes(a.streetId) && a.rooms >= (f.minRooms ?? 0) && a.monthlyRent <= (f.maxRent ?? Infinity) && a.available && (a.availableFrom?.getTime() ?? 0) <= now.getTime())
      .sort((a, b) => a.monthlyRent - b.monthlyRent || (a._id < b._id ? -1 : 1))
      .slice(0, 20)
      .map((a) => a._id);
    if (byRent.join() !== scan.join()) wrong++;
  }

  // Over HTTP: the subgraph, then the gateway.
  const token = await mintToken({ subject: 'bench', unitId: 'huangpu-command', role: 'district_command' });
  const post = (url: string, query: string, variables: Record<string, unknown>) => graphql(url, token, query, variables);

  const NEAREST = 'query($p: GeoPointInput!) { apartments(near: { point: $p }, first: 20) { edges { distanceMeters node { id project monthlyRent rooms } } } }';
  const NEAR_FIRM = `query { apartments(near: { enterpriseId: "${enterprise._id}", withinMeters: 3000 }, filter: { minRooms: 1, availableOnly: true }, first: 20) { totalCount edges { distanceMeters node { id } } } }`;
  const FILTERS = 'query($f: ApartmentFilter) { apartments(filter: $f, sort: RENT_ASC, first: 20) { totalCount edges { node { id project monthlyRent rooms areaSqm } } } }';
  const overHttp = async (url: string, query: string, vars: (i: number) => Record<string, unknown>) => {
    const samples: number[] = [];
    for (let i = 0; i < WARM_UP + HTTP_QUERIES; i++) {
      const start = performance.now();
      await post(url, query, vars(i));
      if (i >= WARM_UP) samples.push(performance.now() - start);
    }
    return samples;
  };
  const filterVars = (i: number) => ({ f: filterAt(i) });
  const subgraph = `${app.url}/graphql`;
  const httpNearest = await overHttp(subgraph, NEAREST, (i) => ({ p: points[i] }));
  const httpNearFirm = await overHttp(subgraph, NEAR_FIRM, () => ({}));
  const httpFilters = await overHttp(subgraph, FILTERS, filterVars);

  // Its one client sends thousands of queries a minute: latency is measured here, not the rate limit.
  const gateway = await startGateway(loadConfig(gatewayConfig, { ...env, PORT: '0', ENTERPRISE_URL: subgraph, RATE_LIMIT_PER_MINUTE: '1000000' }));
  const gw = `${gateway.url}/graphql`;
  const gatewayNearest = await overHttp(gw, NEAREST, (i) => ({ p: points[i] }));
  const gatewayFilters = await overHttp(gw, FILTERS, filterVars);
  await gateway.service.shutdown('bench done');

  // A write (availability flip, one conditional update on FerretDB) and the next sorted search, which
  // rebuilds the rent order it made stale.
  const writes: number[] = [];
  const searchAfterWrite: number[] = [];
  const writer = await mintToken({ subject: 'bench-housing', unitId: 'huangpu', role: 'service_account', scopes: ['enterprise:apartments'] });
  for (let i = 0; i < 100; i++) {
    const id = apartments[i * 37]?._id as string;
    const start = performance.now();
    const response = await fetch(subgraph, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${writer}` },
      body: JSON.stringify({ query: 'mutation($id: ID!, $a: Boolean!) { setApartmentAvailability(id: $id, available: $a) { id } }', variables: { id, a: i % 2 === 0 } }),
    });
    if (!response.ok) throw new Error(`write failed: ${await response.text()}`);
    writes.push(performance.now() - start);
    const s = process.hrtime.bigint();
    index.search({ filter: filterAt(i), sort: 'RENT_ASC', first: 20, now });
    searchAfterWrite.push(Number(process.hrtime.bigint() - s) / 1e6);
  }

  // Another copy's poll after each of 20 writes (the service polls every LIVE_REFRESH_MS): the
  // counter, the change log and the written listing, each by `_id`. Beside it, the filter on `seq`
  // that polls sent before the change log, which FerretDB answers by reading every listing.
  const housing: Identity = { subject: 'bench-housing', unitId: 'huangpu', role: 'service_account', scopes: ['enterprise:apartments'] };
  const otherCopy = new LiveCollection<ApartmentDoc>('apartments', app.models.Apartment, app.models.Counter, app.models.ChangeLog);
  await otherCopy.load();
  const otherCopyPoll: number[] = [];
  const pollBySeq: number[] = [];
  let missedByOtherCopy = 0;
  for (let i = 0; i < 20; i++) {
    const id = apartments[i * 53]?._id as string;
    const written = await app.zone.setAvailability(id, i % 2 === 0, undefined, housing);
    const start = performance.now();
    await otherCopy.refresh();
    otherCopyPoll.push(performance.now() - start);
    if (otherCopy.get(id)?.seq !== written.seq) missedByOtherCopy++;
    const scanStart = performance.now();
    await app.models.Apartment.find({ seq: { $gt: written.seq - 2 } }).lean();
    pollBySeq.push(performance.now() - scanStart);
  }

  console.log(
    JSON.stringify({
      bench: 'enterprise',
      apartments: index.size,
      inProcess_us: {
        nearest20: percentiles(nearest20, 1),
        within3kmFiltered20: percentiles(within3kmFiltered, 1),
        byFiltersRentAsc20: percentiles(byFilters, 1),
        countMatching: percentiles(countSamples, 1),
      },
      subgraphHttp_ms: {
        nearest20: percentiles(httpNearest, 2),
        nearEnterprise3kmFilteredWithTotal: percentiles(httpNearFirm, 2),
        byFiltersWithTotal: percentiles(httpFilters, 2),
      },
      gatewayHttp_ms: { nearest20: percentiles(gatewayNearest, 2), byFiltersWithTotal: percentiles(gatewayFilters, 2) },
      write_ms: { setAvailability: percentiles(writes, 2), nextSortedSearchRebuildingOrder: percentiles(searchAfterWrite, 2) },
      load_ms: { bulkInsert: insertMs, serviceStartWithListings: startMs },
      ferretdbSameFilterQuery_ms: percentiles(dbQuery, 1),
      otherCopyPollAfterAWrite_ms: { ...percentiles(otherCopyPoll, 2), missed: missedByOtherCopy, ferretdbFilterOnSeqAsBefore: percentiles(pollBySeq, 1) },
      checks: { pagesDisagreeingWithBruteForce: wrong },
      machine: { cpus: cpus().length, node: process.version },
    }),
  );
  await app.service.shutdown('bench done');
} finally {
  await dropRun(config, [dbName]);
  if (infra.started.length > 0) await down(say, infra.started);
}
