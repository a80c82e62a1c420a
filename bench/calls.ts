// `npm run bench:calls`: the calls subgraph on the local Kafka and FerretDB (or KAFKA_BROKERS /
// MONGODB_URI). Prints one JSON line: raise-call and inbox-query latency (p50/p99) through the
// subgraph's GraphQL endpoint, and intake throughput (hub.intake records/s to stored calls) beside the
// raw bulk-write rate of the same database (the ceiling the intake is compared against).
import { demoUnits } from '../demo/district.ts';
import { up } from '../infra/local.ts';
import { mintToken } from '../platform/auth.ts';
import { loadConfig } from '../platform/config.ts';
import { createKafka } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { connectMongo } from '../platform/mongo.ts';
import { callsConfig, startCalls } from '../subgraphs/calls/app.ts';
import { benchRun, graphql, percentiles, say, sendHotlineCalls, timed } from './stats.ts';

const RAISES = Number(process.env.BENCH_RAISES ?? 300);
const INBOX_QUERIES = Number(process.env.BENCH_INBOX ?? 300);
const INTAKE_RECORDS = Number(process.env.BENCH_INTAKE ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);

const infra = await up(say);
const { run, env: runEnv } = benchRun(infra);
const env = { ...runEnv, CALLS_DB: `bench_calls_${run}`, PORT: '0', SUPERVISION_INTERVAL_MS: '3600000' };
const config = loadConfig(callsConfig, env);
const app = await startCalls(config);
const url = `${app.url}/graphql`;
const grids = demoUnits().filter((u) => u.kind === 'grid');
const post = (token: string, query: string, variables: Record<string, unknown>) => graphql(url, token, query, variables);


const gridTokens = await Promise.all(grids.map((g) => mintToken({ subject: `bench-${g.id}`, unitId: g.id, role: 'grid_worker' })));
const raise = await timed(RAISES, CONCURRENCY, (i) => {
  const grid = grids[i % grids.length] as (typeof grids)[number];
  const [minLng, minLat] = grid.bbox ?? [113.4, 23.06];
  return post(gridTokens[i % grids.length] as string, `mutation($input: RaiseCallInput!) { raiseCall(input: $input) { call { id } } }`, {
    input: {
      title: `占道经营 ${i}`,
      description: `地铁站出口流动摊贩占道经营，第${i}次上报，行人通行困难。`,
      category: '城市管理',
      location: { lng: minLng + 0.001, lat: minLat + 0.001 },
    },
  });
});

const communityToken = await mintToken({ subject: 'bench-community', unitId: 'changzhou-c1', role: 'community' });
const inbox = await timed(INBOX_QUERIES, CONCURRENCY, () =>
  post(communityToken, '{ inbox(box: IN_PROGRESS, first: 20) { edges { node { id title status deadlines { complete } } } } }', {}),
);

// Intake: records produced as fast as kafkajs sends them; the clock runs until every call is stored
// and its call.raised event published (counted from hub.call-events, so the count costs the database nothing).
const kafka = createKafka(config, 'bench', createLogger('bench', 'error'));
const producer = kafka.producer();
await producer.connect();
let raisedFromIntake = 0;
const counter = kafka.consumer({ groupId: `bench.${run}.counter` });
await counter.connect();
await counter.subscribe({ topics: [app.topics.callEvents], fromBeginning: true });
await counter.run({
  eachMessage: async ({ message }) => {
    const event = JSON.parse(String(message.value)) as { type: string; call: { source: string } };
    if (event.type === 'call.raised' && event.call.source === 'HOTLINE') raisedFromIntake++;
  },
});
const intakeStart = performance.now();
await sendHotlineCalls(producer, app.topics.intake, INTAKE_RECORDS, `B${run}`, (i) => {
  const grid = grids[i % grids.length] as (typeof grids)[number];
  return { title: '施工噪音投诉', description: `市民来电反映夜间施工噪音扰民（第${i}件）。`, category: '城市管理', priority: 'NORMAL', unitId: grid.id };
});
while (raisedFromIntake < INTAKE_RECORDS) await new Promise((r) => setTimeout(r, 50));
const intakeSeconds = (performance.now() - intakeStart) / 1000;
await Promise.all([producer.disconnect(), counter.disconnect()]);

// The same database's raw bulk-write rate, for documents of the size a new call has.
const sample = (await app.models.Call.findOne({ source: 'HOTLINE' }).lean()) as unknown as Record<string, unknown>;
const raw = await connectMongo(config, `bench_raw_${run}`);
const docs = Array.from({ length: INTAKE_RECORDS }, (_, i) => ({ ...sample, _id: `raw-${i}` }));
const rawStart = performance.now();
for (let i = 0; i < docs.length; i += 500) await raw.db?.collection<{ _id: string }>('calls').insertMany(docs.slice(i, i + 500));
const rawSeconds = (performance.now() - rawStart) / 1000;
await raw.dropDatabase();
await raw.close();

console.log(
  JSON.stringify({
    bench: 'calls',
    store: infra.mongodbUri.includes('27017') && !process.env.MONGODB_URI ? 'ferretdb-1.24-sqlite' : infra.mongodbUri,
    concurrency: CONCURRENCY,
    raise_call_ms: percentiles(raise),
    inbox_query_ms: percentiles(inbox),
    intake: { records: INTAKE_RECORDS, seconds: Math.round(intakeSeconds * 10) / 10, records_per_s: Math.round(INTAKE_RECORDS / intakeSeconds) },
    raw_bulk_insert: { docs: INTAKE_RECORDS, docs_per_s: Math.round(INTAKE_RECORDS / rawSeconds) },
    intake_vs_raw: Math.round((INTAKE_RECORDS / intakeSeconds / (INTAKE_RECORDS / rawSeconds)) * 1000) / 1000,
  }),
);
await app.service.shutdown('bench done');
const db = await connectMongo(config, config.CALLS_DB);
await db.dropDatabase();
await db.close();
process.exit(0);
