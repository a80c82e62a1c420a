// Open311 POST throughput: GeoReport v2 service requests (form-encoded, as clients send them) POSTed
// to the Open311 service at fixed concurrency, through hub.intake, to calls stored by the calls
// subgraph. Prints one JSON line: POST latency, POSTs/s answered, and requests/s through to stored calls.
// Env: BENCH_OPEN311_REQUESTS (200), BENCH_CONCURRENCY (8). Runs on throw-away databases and topics.
import { request } from 'undici';
import { demoUnits } from '../demo/district.ts';
import { up } from '../infra/local.ts';
import { loadConfig } from '../platform/config.ts';
import { open311Config, startOpen311 } from '../connectors/open311/app.ts';
import { callsConfig, startCalls } from '../subgraphs/calls/app.ts';
import { benchRun, dropRun, percentiles, say, timed } from './stats.ts';

const REQUESTS = Number(process.env.BENCH_OPEN311_REQUESTS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const KEY = 'bench-open311-key-0123456789abcdef';

const infra = await up(say);
const { run, env } = benchRun(infra);
const callsDb = `bench_open311_${run}`;
const calls = await startCalls(loadConfig(callsConfig, { ...env, CALLS_DB: callsDb, PORT: '0', SUPERVISION_INTERVAL_MS: '3600000' }));
const config = loadConfig(open311Config, {
  ...env,
  PORT: '0',
  CALLS_URL: `${calls.url}/graphql`,
  OPEN311_RATE_LIMIT_PER_MINUTE: String(REQUESTS * 2),
  OPEN311_API_KEYS: JSON.stringify([{ key: KEY, account: 'bench', scopes: ['intake:write'] }]),
});
const open311 = await startOpen311(config);
const grids = demoUnits().filter((u) => u.kind === 'grid' && u.bbox);
const codes = ['CG-01', 'CG-02', 'CG-03', 'ZZ-02'];

const before = await calls.models.Call.countDocuments();
const started = performance.now();
let refused = 0;
const posts = await timed(REQUESTS, CONCURRENCY, async (i) => {
  const grid = grids[i % grids.length] as (typeof grids)[number];
  const [minLng, minLat, maxLng, maxLat] = grid.bbox as [number, number, number, number];
  const response = await request(`${open311.url}/open311/v2/requests.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      api_key: KEY,
      service_code: codes[i % codes.length] as string,
      // CG-03 asks which hours (its service definition): answered as a multivaluelist.
      ...(codes[i % codes.length] === 'CG-03' && { 'attribute[noise_hours][]': 'night' }),
      lat: String((minLat + maxLat) / 2),
      long: String((minLng + maxLng) / 2),
      // Distinct texts and places: the duplicate check would merge look-alikes (they are still stored).
      description: `第${i}号上报：${grid.name}路口有问题需要处理，编号${run}-${i}`,
      phone: '13800000000',
    }).toString(),
  });
  await response.body.text();
  if (response.statusCode !== 201) refused++;
});
const postSeconds = (performance.now() - started) / 1000;
// Through to stored calls: wait until every accepted report is a call in the database.
// Stops after BENCH_WAIT_SECONDS (90) and reports what was stored by then.
const accepted = REQUESTS - refused;
const waitMs = Number(process.env.BENCH_WAIT_SECONDS ?? 90) * 1000;
let stored = 0;
while (stored < accepted && performance.now() - started < waitMs) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  stored = (await calls.models.Call.countDocuments()) - before;
}
const storedSeconds = (performance.now() - started) / 1000;

console.log(
  JSON.stringify({
    bench: 'open311',
    requests: REQUESTS,
    refused,
    concurrency: CONCURRENCY,
    post_ms: percentiles(posts),
    posts_per_s: Math.round(REQUESTS / postSeconds),
    stored,
    stored_calls_per_s: Math.round((stored / storedSeconds) * 10) / 10,
    seconds: Math.round(storedSeconds * 10) / 10,
  }),
);
await open311.service.shutdown('bench done');
await calls.service.shutdown('bench done');
await dropRun(config, [callsDb]);
process.exit(0);
