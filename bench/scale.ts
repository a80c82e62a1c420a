// `npm run bench:scale`: the calls service at a district's size, on the local Kafka and FerretDB (or
// KAFKA_BROKERS / MONGODB_URI). Writes BENCH_SCALE_CALLS calls of history (default 60,000; the issue's
// figure is 2,000,000) with the history generator (scripts/history.ts): the last 40 days at the daily
// rate of a 2,000,000-call district (BENCH_SCALE_DAILY, 1,826 a day: 2,000,000 over 3 years), so the
// open work, the live set and a past month's density are those of the full history, and the rest
// spread thinly over the years before. It starts the calls service on
// it as its own process, and prints one JSON document: start-up time and resident memory, inbox,
// a unit's past month and the district's month counters (p50/p99), intake from hub.intake to
// stored and published calls, and the raw bulk-insert rate of the same run beside them. What the
// figures at this size say about 2,000,000 calls: start-up and memory grow with the live set, which is
// that of the full history here; a past month's lists and counters read the day documents of that
// month, which hold here what they would hold at 2,000,000 (the month queried lies inside the 40 days
// at the full rate); only the number of older day documents differs, and no query reads them.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { demoUnits } from '../demo/district.ts';
import { freePort, up } from '../infra/local.ts';
import { mintToken } from '../platform/auth.ts';
import { baseConfig, loadConfig } from '../platform/config.ts';
import { createKafka, topicName } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { connectMongo, eachLimited } from '../platform/mongo.ts';
import { TOPICS } from '../platform/topics.ts';
import { generateHistory, type HistoryResult } from '../scripts/history.ts';
import { FIRST_DAY_TTL_MS } from '../subgraphs/calls/call-history.ts';
import { sourceCallId } from '../subgraphs/calls/intake.ts';
import { benchRun, dropRun, graphql, percentiles, say, sendHotlineCalls, timed } from './stats.ts';

const CALLS = Number(process.env.BENCH_SCALE_CALLS ?? 60_000);
const DAILY = Number(process.env.BENCH_SCALE_DAILY ?? 1826);
const YEARS = Number(process.env.BENCH_SCALE_YEARS ?? 3);
const QUERIES = Number(process.env.BENCH_SCALE_QUERIES ?? 100);
const INTAKE_RECORDS = Number(process.env.BENCH_SCALE_INTAKE ?? 3000);
/** How long the intake figure waits for the last call to be published before it gives up (and says how many were). */
const INTAKE_TIMEOUT_MS = Number(process.env.BENCH_SCALE_INTAKE_TIMEOUT_MS ?? 300_000);
const CONCURRENCY = 4;
const MONTH = 30 * 86_400_000;

const infra = await up(say);
const { run, env: runEnv } = benchRun(infra);
const config = loadConfig(baseConfig, runEnv);
// BENCH_SCALE_DB=<name>: a database kept between runs. The first run writes the history into it and
// records what it wrote there; later runs measure on it at once (a 2,000,000-call history takes
// over half an hour to write). Each run's intake adds its records to that database's live set.
const keptDb = process.env.BENCH_SCALE_DB;
if (keptDb !== undefined && !/^[A-Za-z0-9_-]+$/.test(keptDb)) throw new Error('BENCH_SCALE_DB must be a database name of letters, digits, _ and -');
const db = keptDb ?? `bench_scale_${run}`;
const generated = await historyOf(db);

// The calls service as its own process, as it runs in production: ready when /readyz answers.
const port = await freePort();
// Its log goes to a file, so a stalled figure can be explained afterwards.
mkdirSync('.data/logs', { recursive: true });
const serviceLog = `.data/logs/bench-scale-${run}-calls.log`;
const started = performance.now();
// BENCH_SCALE_PROFILE=<dir>: the service writes a V8 CPU profile there when it stops.
const profile = process.env.BENCH_SCALE_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SCALE_PROFILE}`] : [];
const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'scripts/service.ts', 'calls'], {
  env: { ...process.env, ...runEnv, LOG_LEVEL: process.env.LOG_LEVEL ?? runEnv.LOG_LEVEL, CALLS_DB: db, PORT: String(port), SUPERVISION_INTERVAL_MS: '3600000' },
  stdio: ['ignore', openSync(serviceLog, 'w'), 'inherit'],
});
say(`bench:scale: the calls service logs to ${serviceLog}`);
const base = `http://127.0.0.1:${port}`;
await waitReady(child, base);
const readySeconds = (performance.now() - started) / 1000;
const residentMb = Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
say(`bench:scale: calls service ready in ${readySeconds.toFixed(1)} s, ${residentMb} MB resident`);

const url = `${base}/graphql`;
const grids = demoUnits().filter((u) => u.kind === 'grid');
const communityToken = await mintToken({ subject: 'bench-community', unitId: 'changzhou-c1', role: 'community' });
const commandToken = await mintToken({ subject: 'bench-command', unitId: 'huangpu-command', role: 'district_command' });
const gridTokens = await Promise.all(grids.map((g) => mintToken({ subject: `bench-${g.id}`, unitId: g.id, role: 'grid_worker' })));
const now = Date.now();
// A past month at the full daily rate, closed and archived (ending 8 or 9 days ago), different for each request.
const pastMonth = (i: number) => {
  const to = new Date(now - (8 + (i % 2)) * 86_400_000);
  return { from: new Date(to.getTime() - MONTH).toISOString(), to: to.toISOString() };
};

say('bench:scale: queries (inbox, a unit\'s past month, district counters)');
const inbox = await timed(QUERIES, CONCURRENCY, () =>
  graphql(url, communityToken, '{ inbox(box: IN_PROGRESS, first: 20) { edges { node { id title status deadlines { complete } } } } }'),
);
let monthRows = 0;
const unitMonth = await timed(QUERIES, CONCURRENCY, async (i) => {
  const { from, to } = pastMonth(i);
  const data = await graphql(
    url,
    gridTokens[i % gridTokens.length] as string,
    'query($f: DateTime, $t: DateTime) { calls(filter: { raisedFrom: $f, raisedTo: $t }, first: 20) { edges { node { id title status } } pageInfo { hasNextPage endCursor } } }',
    { f: from, t: to },
  );
  monthRows += data.calls.edges.length;
});
const districtCounters = (i: number) => {
  const { from, to } = pastMonth(i);
  return graphql(url, commandToken, 'query($f: DateTime!, $t: DateTime!) { callCounters(scopeUnitId: "huangpu", from: $f, to: $t) { raised completed } }', { f: from, t: to });
};
let counted = 0;
const counters = await timed(Math.max(10, Math.floor(QUERIES / 2)), CONCURRENCY, async (i) => {
  counted += (await districtCounters(i)).callCounters.raised;
});

// The same counters once a minute has passed (FIRST_DAY_TTL_MS: every key's first day, and the
// count of archiving rounds written into each of its days, is read again): what a dashboard polling
// all day sees, with the days it read kept for as long as nothing is archived into them.
await new Promise((resolve) => setTimeout(resolve, FIRST_DAY_TTL_MS + 1000));
const countersLater = await timed(Math.max(10, Math.floor(QUERIES / 2)), CONCURRENCY, async (i) => {
  await districtCounters(i);
});

// Intake, the batched path (subgraphs/calls/intake.ts handleBatch): records produced as fast as
// kafkajs sends them; the clock runs from the first send until every call's call.raised event is on
// hub.call-events (published from the outbox, which is written with the call, so published means
// stored); afterwards every call is read back by `_id` to show it is stored, once.
say(`bench:scale: intake of ${INTAKE_RECORDS} records from hub.intake`);
const kafka = createKafka(config, 'bench-scale', createLogger('bench', 'error'));
const producer = kafka.producer();
await producer.connect();
const intakePrefix = `S${run}`;
const raisedFromIntake = new Set<string>();
let raisedRepeats = 0;
const counter = kafka.consumer({ groupId: `bench.${run}.counter` });
await counter.connect();
await counter.subscribe({ topics: [topicName(config, TOPICS.callEvents)], fromBeginning: true });
await counter.run({
  eachMessage: async ({ message }) => {
    const event = JSON.parse(String(message.value)) as { type: string; callId: string; call: { sourceRef: { externalId: string } | null } };
    if (event.type !== 'call.raised' || !event.call.sourceRef?.externalId.startsWith(`${intakePrefix}-`)) return;
    if (raisedFromIntake.has(event.callId)) raisedRepeats++;
    raisedFromIntake.add(event.callId);
  },
});
const intakeStart = performance.now();
await sendHotlineCalls(producer, topicName(config, TOPICS.intake), INTAKE_RECORDS, intakePrefix, (i) => {
  const grid = grids[i % grids.length] as (typeof grids)[number];
  return { title: '施工噪音投诉', description: `市民来电反映夜间施工噪音扰民（第${i}件）。`, category: '城市管理', priority: 'NORMAL', unitId: grid.id };
});
const intakeDeadline = performance.now() + INTAKE_TIMEOUT_MS;
let nextProgress = performance.now() + 10_000;
while (raisedFromIntake.size < INTAKE_RECORDS && performance.now() < intakeDeadline) {
  await new Promise((r) => setTimeout(r, 50));
  if (performance.now() > nextProgress) {
    say(`bench:scale: intake ${raisedFromIntake.size}/${INTAKE_RECORDS} published`);
    nextProgress += 10_000;
  }
}
const intakeSeconds = (performance.now() - intakeStart) / 1000;
await Promise.all([producer.disconnect(), counter.disconnect()]);

// The same database's raw bulk-insert rate, for documents of a stored call's size, in this run.
const conn = await connectMongo(config, db);
const intakeIds = Array.from({ length: INTAKE_RECORDS }, (_, i) => sourceCallId('hotline', `${intakePrefix}-${i}`));
const intakeStored = (await eachLimited(intakeIds, 16, (_id) => conn.db!.collection<{ _id: string }>('calls').findOne({ _id }, { projection: { _id: 1 } }))).filter(Boolean).length;
const sample = (await conn.db!.collection('calls').findOne({})) as Record<string, unknown>;
const docs = Array.from({ length: 2000 }, (_, i) => ({ ...sample, _id: `raw-${i}` }));
// A collection of this run's own (a kept database holds earlier runs').
const raw = conn.db!.collection<{ _id: string }>(`raw_insert_${run}`);
const rawStart = performance.now();
for (let i = 0; i < docs.length; i += 1000) await raw.insertMany(docs.slice(i, i + 1000));
const rawPerSecond = Math.round(docs.length / ((performance.now() - rawStart) / 1000));
await raw.drop();
await conn.close();

const intakePerSecond = INTAKE_RECORDS > 0 ? Math.round(raisedFromIntake.size / intakeSeconds) : null;
const result = {
  bench: 'scale',
  store: process.env.MONGODB_URI ? infra.mongodbUri : 'ferretdb-1.24-sqlite',
  history: { ...generated, years: YEARS, daily_at_newest: DAILY, database: keptDb === undefined ? 'written by this run' : `kept: ${db}` },
  raw_bulk_insert_docs_per_s: rawPerSecond,
  calls_service: { ready_s: Number(readySeconds.toFixed(1)), resident_mb: residentMb, live_calls: generated.live },
  inbox_ms: percentiles(inbox),
  unit_past_month_ms: { ...percentiles(unitMonth), rows: monthRows },
  district_month_counters_ms: { ...percentiles(counters), raised_counted: counted },
  district_month_counters_a_minute_later_ms: percentiles(countersLater),
  intake: {
    path: 'batched: runs of INSERT_SLICE records, 3 partitions at once; a run is one live-set write, one insert, one send and one insert of sent marks; the calls are recorded as published after the burst',
    records: INTAKE_RECORDS,
    stored: intakeStored,
    published: raisedFromIntake.size,
    published_again: raisedRepeats,
    seconds: Number(intakeSeconds.toFixed(1)),
    records_per_s: intakePerSecond,
    share_of_raw_bulk_insert: intakePerSecond === null ? null : Number((intakePerSecond / rawPerSecond).toFixed(3)),
  },
  targets: {
    ready_s: 30,
    resident_mb: 1024,
    inbox_p99_ms: 50,
    unit_past_month_p99_ms: 200,
    district_month_counters_p99_ms: 200,
    intake_records_per_s: 1000,
    intake_share_of_raw: 0.5,
  },
  elsewhere: {
    evaluation_replay: 'npm run bench:replay',
    subscribers_10000: 'npm run bench:subscribers',
    gateway_varying_variables: 'npm run bench:gateway -- --mix varying',
  },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
// BENCH_SCALE_SAMPLES=1: every request's milliseconds in the order they finished, to stderr (where the tails are).
if (process.env.BENCH_SCALE_SAMPLES === '1') {
  process.stderr.write(
    `${JSON.stringify({ inbox: inbox.map(Math.round), unitMonth: unitMonth.map(Math.round), counters: counters.map(Math.round), countersLater: countersLater.map(Math.round) })}\n`,
  );
}

child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
await dropRun(config, keptDb === undefined ? [db] : []);
process.exit(0);

async function historyOf(name: string): Promise<HistoryResult> {
  const conn = await connectMongo(config, name);
  const written = conn.db!.collection<{ _id: string; history: HistoryResult }>('bench_scale');
  try {
    const kept = await written.findOne({ _id: 'history' });
    if (kept) {
      say(`bench:scale: measuring on the history already in ${name} (${kept.history.calls} calls)`);
      return kept.history;
    }
    say(`bench:scale: writing ${CALLS} calls of history into ${name}`);
    const history = await generateHistory(
      { calls: CALLS, years: YEARS, daily: DAILY, db: name, events: false, seed: 7, recentDays: 7, mongodbUri: infra.mongodbUri, topicPrefix: runEnv.TOPIC_PREFIX },
      say,
    );
    if (keptDb !== undefined) await written.insertOne({ _id: 'history', history });
    return history;
  } finally {
    await conn.close();
  }
}

async function waitReady(process_: ChildProcess, baseUrl: string): Promise<void> {
  const deadline = performance.now() + 600_000;
  while (performance.now() < deadline) {
    if (process_.exitCode !== null) throw new Error(`calls service exited with ${process_.exitCode}`);
    try {
      const response = await fetch(`${baseUrl}/readyz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('calls service not ready within 10 minutes');
}
