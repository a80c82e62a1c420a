// `npm run bench:replay`: the evaluation projection replaying an existing hub.call-events topic into
// an empty database, on the local Kafka and FerretDB (or KAFKA_BROKERS / MONGODB_URI). First writes
// BENCH_EVENTS events (default 100,000: a month of department calls of the demo district, each
// raised, dispatched, signed, answered, completed and rated, in the order they happened; more events
// span more months, BENCH_EVENTS_PER_MONTH each) to the
// topic in bulk; then starts the evaluation subgraph on an empty database and times it until every
// event is projected. Beside it, the raw bulk-insert rate of the same FerretDB in the same run
// (copies of a stored call, 1,000 per command; and of the same call with its observations as fields,
// as stored before). Prints one JSON line.
import { DEPARTMENTS, demoUnits } from '../demo/district.ts';
import { up } from '../infra/local.ts';
import { loadConfig } from '../platform/config.ts';
import { createKafka, ensureTopics, topicName } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { connectMongo } from '../platform/mongo.ts';
import { TOPICS } from '../platform/topics.ts';
import { evaluationConfig, startEvaluation } from '../subgraphs/evaluation/app.ts';
import { inLogOrder, scriptedMonth } from '../subgraphs/evaluation/scripted-calls.ts';
import { callOf, type StoredCall } from '../subgraphs/evaluation/store.ts';
import { benchRun, dropRun, say } from './stats.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
/**
 * Events of one month (BENCH_EVENTS_PER_MONTH): 100,000 is about 16,000 department calls, the demo
 * district's month at 黄埔's rate (over 2 million appeals over the years). More events span more
 * months, as a real history does; all of them in one month makes each month's ledgers that much longer.
 */
const EVENTS_PER_MONTH = Number(process.env.BENCH_EVENTS_PER_MONTH ?? 100_000);
/** The target: 12 million events in 20 minutes. */
const TARGET_EVENTS_PER_S = 10_000;
const RAW_DOCS = 4000;

const infra = await up(say);
const { run, env } = benchRun(infra);
const database = `bench_replay_${run}`;
// EVALUATION_BATCH_BYTES passes through, to measure other batch sizes.
const config = loadConfig(evaluationConfig, { ...env, EVALUATION_DB: database, PORT: '0', EVALUATION_BATCH_BYTES: process.env.EVALUATION_BATCH_BYTES });
const kafka = createKafka(config, 'bench-replay', createLogger('bench', 'error'));
const admin = kafka.admin();
await admin.connect();
const producer = kafka.producer();
await producer.connect();

// The history, written to the topic before the projection starts (6 partitions, as the hub makes it).
const callEvents = topicName(config, TOPICS.callEvents);
await ensureTopics(admin, [{ topic: callEvents, numPartitions: 6 }]);
const streets = demoUnits().filter((u) => u.kind === 'street').map((u) => u.id);
const departments = DEPARTMENTS.map((d) => d.id);
// The months, oldest first, ending with last month (UTC+8): as many as EVENTS_PER_MONTH asks for.
const months = Array.from({ length: Math.ceil(EVENTS / EVENTS_PER_MONTH) }, (_, back) => {
  const now = new Date(Date.now() + 8 * 3600_000);
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1 - back, 1));
  return `${first.getUTCFullYear()}-${String(first.getUTCMonth() + 1).padStart(2, '0')}`;
}).reverse();
const lastMonth = months.at(-1) as string;
const perCall = scriptedMonth('probe', 7, lastMonth, departments, streets).length / 7;
const callsPerMonth = Math.ceil(Math.min(EVENTS, EVENTS_PER_MONTH) / perCall);
// A month at a time (a month's events all fall within it, so this is the order they happened in),
// each let go once written: the projection runs in this process, and millions of events held would
// make its garbage collection the bench's.
let written = 0;
let calls = 0;
for (const month of months) {
  const events = inLogOrder(scriptedMonth(`R${run}-${month}`, callsPerMonth, month, departments, streets)).slice(0, EVENTS - written);
  for (let i = 0; i < events.length; i += 2000) {
    await producer.send({ topic: callEvents, messages: events.slice(i, i + 2000).map((e) => ({ key: e.callId, value: JSON.stringify(e) })) });
  }
  written += events.length;
  calls += new Set(events.map((e) => e.callId)).size;
}
say(`wrote ${written} events of ${calls} calls to ${callEvents}`);

// The replay: an empty database, a new consumer group, from the beginning of the topic.
const start = performance.now();
const app = await startEvaluation(config);
// Caught up: the group has committed every partition to its end (offsets are committed only once a
// batch is stored).
const groupId = topicName(config, config.EVALUATION_GROUP);
const high = new Map((await admin.fetchTopicOffsets(callEvents)).map((p) => [p.partition, p.high]));
const caughtUp = async () => {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [callEvents] });
  return (committed?.partitions ?? []).filter((p) => p.offset === high.get(p.partition)).length === high.size;
};
const deadline = start + 30 * 60_000;
let reported = start;
// This process's resident memory (the events written above included) before and at its peak during the replay.
const residentMb = () => Math.round(process.memoryUsage().rss / 1_048_576);
const residentBefore = residentMb();
let residentPeak = residentBefore;
// When the first batch was stored (to within the 200 ms poll): the start-up (connections, the group
// join, the first fetch) before it does not grow with the events.
let firstStored: number | undefined;
while (!(await caughtUp()) && performance.now() < deadline) {
  await new Promise((r) => setTimeout(r, 200));
  residentPeak = Math.max(residentPeak, residentMb());
  if (firstStored === undefined && app.projector.projected > 0) firstStored = performance.now();
  if (performance.now() - reported > 10_000) {
    reported = performance.now();
    say(`projected ${app.projector.projected} of ${written}`);
  }
}
const seconds = (performance.now() - start) / 1000;
const projected = app.projector.projected;

// The same FerretDB's raw bulk-insert rate in this run, for documents of a stored call's size.
const conn = await connectMongo(config, database);
const sample = (await conn.db!.collection('calls').findOne({})) as unknown as StoredCall;
const rawRate = async (doc: object, collection: string) => {
  const docs = Array.from({ length: RAW_DOCS }, (_, i) => ({ ...doc, _id: `raw-${i}` }));
  const rawStart = performance.now();
  for (let i = 0; i < docs.length; i += 1000) await conn.db!.collection<{ _id: string }>(collection).insertMany(docs.slice(i, i + 1000));
  return Math.round(docs.length / ((performance.now() - rawStart) / 1000));
};
const rawPerSecond = await rawRate(sample, 'raw_insert');
// The same call with its observations as fields (as stored before): what the text saves.
const rawFieldsPerSecond = await rawRate(callOf(sample), 'raw_insert_fields');
const ledgers = await app.models.Ledger.estimatedDocumentCount();
await conn.close();

const eventsPerSecond = Math.round(written / seconds);
console.log(
  JSON.stringify({
    bench: 'replay',
    store: process.env.MONGODB_URI ? infra.mongodbUri : 'ferretdb-1.24-sqlite',
    batch_bytes: config.EVALUATION_BATCH_BYTES,
    replay: {
      events: written,
      months: months.length,
      calls,
      projected,
      ledger_documents: ledgers,
      seconds: Number(seconds.toFixed(1)),
      seconds_to_first_batch_stored: firstStored === undefined ? null : Number(((firstStored - start) / 1000).toFixed(1)),
      events_per_s: eventsPerSecond,
      share_of_raw_bulk_insert: Number((eventsPerSecond / rawPerSecond).toFixed(2)),
      resident_mb: { before: residentBefore, peak: residentPeak },
      // Every call is stored as one document: at the raw bulk-insert rate that alone takes
      // calls / raw seconds, so no replay of these events beats this many events a second.
      ceiling_events_per_s_from_call_documents: Math.round(written / (calls / rawPerSecond)),
    },
    raw_bulk_insert_docs_per_s: rawPerSecond,
    raw_bulk_insert_docs_per_s_observations_as_fields: rawFieldsPerSecond,
    target_events_per_s: TARGET_EVENTS_PER_S,
  }),
);

await app.service.shutdown('bench done');
await Promise.all([producer.disconnect(), admin.disconnect()]);
await dropRun(config, [database]);
process.exit(projected === written ? 0 : 1);
