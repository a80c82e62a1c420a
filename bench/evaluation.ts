// `npm run bench:evaluation`: the evaluation subgraph on the local Kafka and FerretDB (or
// KAFKA_BROKERS / MONGODB_URI). Publishes a month of scripted call histories for 200 departments
// (the demo's 14 and 186 more announced on hub.units), then prints one JSON line: events projected
// per second from hub.call-events into FerretDB, and the latency (p50/p99) of the `rankings` query
// over the 200 departments, of a department's performance with the first page of its explanation,
// and of the district's dashboard counters.
import { randomUUID } from 'node:crypto';
import { DEPARTMENTS, demoUnits } from '../demo/district.ts';
import { up } from '../infra/local.ts';
import { mintToken } from '../platform/auth.ts';
import { loadConfig } from '../platform/config.ts';
import { createKafka, ensureTopics, topicName } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { TOPICS } from '../platform/topics.ts';
import { evaluationConfig, startEvaluation } from '../subgraphs/evaluation/app.ts';
import { scriptedMonth } from '../subgraphs/evaluation/scripted-calls.ts';
import { benchRun, percentiles, say } from './stats.ts';

const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const UNITS = 200;
const QUERIES = Number(process.env.BENCH_QUERIES ?? 100);

const infra = await up(say);
const { run, env } = benchRun(infra);
const config = loadConfig(evaluationConfig, {
  ...env,
  EVALUATION_DB: `bench_evaluation_${run}`,
  PORT: '0',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
});
const kafka = createKafka(config, 'bench-evaluation', createLogger('bench', 'error'));
const admin = kafka.admin();
await admin.connect();
const producer = kafka.producer();
await producer.connect();

// 186 more departments on hub.units, so that 200 are ranked.
const extra = Array.from({ length: UNITS - DEPARTMENTS.length }, (_, i) => `dept-bench-${String(i + 1).padStart(3, '0')}`);
const unitsTopic = topicName(config, TOPICS.units);
await ensureTopics(admin, [{ topic: unitsTopic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]);
await producer.send({
  topic: unitsTopic,
  messages: extra.map((id, i) => ({
    key: id,
    value: JSON.stringify({
      schema: 'hub.units/v1',
      eventId: randomUUID(),
      unitId: id,
      version: 1,
      changedAt: new Date().toISOString(),
      unit: { id, name: `基准测试部门${i + 1}`, kind: 'department', parentId: 'huangpu', path: ['huangpu', id], gridType: null, focus: null, crs: 'WGS84', bbox: null, centre: null, boundary: null },
    }),
  })),
});

const app = await startEvaluation(config);
const url = `${app.url}/graphql`;
say('evaluation started; waiting for the 200 departments');
while (app.directory.ofKind('department').length < UNITS) await new Promise((r) => setTimeout(r, 50));
say(`directory: ${app.directory.ofKind('department').length} departments`);

// Last month, in Shanghai time: every call raised, dispatched, signed, answered, completed and rated.
const now = new Date(Date.now() + 8 * 3600_000);
const month = now.getUTCMonth() === 0 ? `${now.getUTCFullYear() - 1}-12` : `${now.getUTCFullYear()}-${String(now.getUTCMonth()).padStart(2, '0')}`;
const departments = [...DEPARTMENTS.map((d) => d.id), ...extra];
const streets = demoUnits().filter((u) => u.kind === 'street').map((u) => u.id);
const events = scriptedMonth(`B${run}`, CALLS, month, departments, streets);

const start = performance.now();
for (let i = 0; i < events.length; i += 1000) {
  await producer.send({
    topic: app.topics.callEvents,
    messages: events.slice(i, i + 1000).map((e) => ({ key: e.callId, value: JSON.stringify(e) })),
  });
}
say(`published ${events.length} events`);
while (app.projector.projected < events.length) await new Promise((r) => setTimeout(r, 20));
const seconds = (performance.now() - start) / 1000;

const token = await mintToken({ subject: 'bench', unitId: 'huangpu-command', role: 'district_command' });
async function timed(query: string): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const t = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    const body = (await response.json()) as { errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    samples.push(performance.now() - t);
  }
  return samples;
}
const ranking = await timed(`{ rankings(kind: DEPARTMENT, period: "${month}", first: 100) { totalCount edges { node { rank score unit { id } } } } }`);
const ranked = (await (
  await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: `{ rankings(kind: DEPARTMENT, period: "${month}", first: 1) { totalCount } }` }),
  })
).json()) as { data: { rankings: { totalCount: number } } };
const explain = await timed(
  `{ _entities(representations: [{ __typename: "Unit", id: "dept-urban" }]) { ... on Unit { performance(period: "${month}") { score explanation(first: 20) { edges { node { fact lost } } } } } } }`,
);
const counters = await timed(`{ dashboardCounters(scope: "huangpu", period: "${month}") { raised completed satisfactionRate } }`);

console.log(
  JSON.stringify({
    bench: 'evaluation',
    store: process.env.MONGODB_URI ? infra.mongodbUri : 'ferretdb-1.24-sqlite',
    projection: { calls: CALLS, events: events.length, seconds: Math.round(seconds * 10) / 10, events_per_s: Math.round(events.length / seconds) },
    ranking_200_units_ms: { ...percentiles(ranking), ranked: ranked.data.rankings.totalCount },
    performance_with_explanation_ms: percentiles(explain),
    district_counters_ms: percentiles(counters),
  }),
);

await app.models.Ledger.db.dropDatabase();
await app.service.shutdown('bench done');
const topics = (await admin.listTopics()).filter((t) => t.startsWith(config.TOPIC_PREFIX));
await admin.deleteTopics({ topics });
await Promise.all([producer.disconnect(), admin.disconnect()]);
process.exit(0);
