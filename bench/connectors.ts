// `npm run bench:connectors`: the 12345 connector on the local Kafka and FerretDB (or KAFKA_BROKERS /
// MONGODB_URI), with the calls subgraph in-process on throw-away topics and database. For one and for
// two connector copies (each its own process, as deployed) it prints one JSON line:
// - the connector alone: BENCH_CONNECTOR_RECORDS work orders (simulate.ts) put on src.12345.orders at
//   once, records/s to hub.intake (no calls subgraph running, so it has the machine to itself);
// - the whole path: BENCH_RECORDS work orders at once, records/s to persisted calls (each call's
//   call.raised on hub.call-events, published after the call is stored), calls subgraph included;
// - latency: BENCH_RATE orders/s for BENCH_STEADY_SECONDS, each timed from its send to its intake
//   command and to its call.raised event (p50/p99).
// Everything it creates (topics with its prefix, the calls database) is removed at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { up } from '../infra/local.ts';
import { loadConfig } from '../platform/config.ts';
import { type Admin, createKafka, topicName } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { connectMongo } from '../platform/mongo.ts';
import { TOPICS } from '../platform/topics.ts';
import { callsConfig, startCalls } from '../subgraphs/calls/app.ts';
import { sourceCallId } from '../subgraphs/calls/intake.ts';
import { hotlineRecords } from '../connectors/simulate.ts';
import { benchRun, percentiles, say } from './stats.ts';

const CONNECTOR_RECORDS = Number(process.env.BENCH_CONNECTOR_RECORDS ?? 5000);
const RECORDS = Number(process.env.BENCH_RECORDS ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 10);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 20);
const COPIES = (process.env.BENCH_COPIES ?? '1,2').split(',').map(Number);
const DRAIN_TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 300_000);

const infra = await up(say);
const main = fileURLToPath(new URL('../connectors/main.ts', import.meta.url));
const round = (n: number) => Math.round(n * 10) / 10;

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = DRAIN_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts `copies` connector processes for the 12345 source (into `children`); resolves once the group has them all. */
async function startCopies(admin: Admin, env: Record<string, string>, copies: number, children: ChildProcess[]): Promise<void> {
  for (let i = 0; i < copies; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, ...env, PORT: '0', CONNECTORS: 'hotline' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    child.once('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGTERM') say(`bench: a connector copy exited (${code ?? signal})`);
    });
  }
  const group = `${env.TOPIC_PREFIX}connector-hotline-orders`;
  await until(`${copies} copies in the consumer group`, async () => {
    const [described] = (await admin.describeGroups([group])).groups;
    return described?.state === 'Stable' && described.members.length === copies;
  }, 120_000);
}

/** Stops connector processes as an operator would (SIGTERM: batches in flight finish first). */
async function stopCopies(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** The connector alone: records/s from the source topic to hub.intake, nothing else running. */
async function connectorAlone(copies: number) {
  const { run, env } = benchRun(infra);
  const config = loadConfig(callsConfig, { ...env, CALLS_DB: `bench_connectors_${run}` });
  const kafka = createKafka(config, 'bench-connectors', createLogger('bench', 'error'));
  const admin = kafka.admin();
  await admin.connect();
  const children: ChildProcess[] = [];
  try {
    say(`bench: the connector alone, ${copies} cop${copies === 1 ? 'y' : 'ies'} (prefix ${env.TOPIC_PREFIX})`);
    await startCopies(admin, env, copies, children);
    const ordersTopic = topicName(config, TOPICS.hotlineOrders);
    const intakeTopic = topicName(config, TOPICS.intake);
    const stream = hotlineRecords({ seed: run, topic: ordersTopic, prefix: `GZ12345-A${run}` });
    const records = Array.from({ length: CONNECTOR_RECORDS }, () => stream.next().value as { key: string; value: string });
    const producer = kafka.producer();
    await producer.connect();
    const began = performance.now();
    for (let i = 0; i < records.length; i += 500) await producer.send({ topic: ordersTopic, messages: records.slice(i, i + 500) });
    await producer.disconnect();
    const produced = (performance.now() - began) / 1000;
    await until('every intake command', async () => {
      const offsets = await admin.fetchTopicOffsets(intakeTopic);
      return offsets.reduce((sum, p) => sum + Number(p.high), 0) >= CONNECTOR_RECORDS;
    });
    const seconds = (performance.now() - began) / 1000;
    return { records: CONNECTOR_RECORDS, produced_in_s: round(produced), seconds: round(seconds), records_per_s: Math.round(CONNECTOR_RECORDS / seconds) };
  } finally {
    await stopCopies(children);
    await dropAll(admin, env.TOPIC_PREFIX, config);
    await admin.disconnect();
  }
}

/** One scenario on its own topics and database: `copies` connector processes, the calls subgraph in-process. */
async function scenario(copies: number) {
  const { run, env } = benchRun(infra);
  const config = loadConfig(callsConfig, { ...env, CALLS_DB: `bench_connectors_${run}`, PORT: '0', SUPERVISION_INTERVAL_MS: '3600000' });
  const kafka = createKafka(config, 'bench-connectors', createLogger('bench', 'error'));
  const admin = kafka.admin();
  await admin.connect();
  const children: ChildProcess[] = [];
  const calls = await startCalls(config);
  const consumers = [kafka.consumer({ groupId: `bench.${run}.intake` }), kafka.consumer({ groupId: `bench.${run}.events` })];
  try {
    say(`bench: the whole path, ${copies} connector cop${copies === 1 ? 'y' : 'ies'} (prefix ${env.TOPIC_PREFIX})`);
    await startCopies(admin, env, copies, children);

    // What arrives where, and when: intake commands and call.raised events, by order number.
    const sentAt = new Map<string, number>();
    const intakeAt = new Map<string, number>();
    const raisedAt = new Map<string, number>();
    const orderOfCall = new Map<string, string>();
    const [intakeConsumer, eventsConsumer] = consumers as [(typeof consumers)[0], (typeof consumers)[0]];
    await Promise.all(consumers.map((c) => c.connect()));
    await intakeConsumer.subscribe({ topics: [calls.topics.intake], fromBeginning: true });
    await eventsConsumer.subscribe({ topics: [calls.topics.callEvents], fromBeginning: true });
    await intakeConsumer.run({
      eachMessage: async ({ message }) => {
        const command = JSON.parse(String(message.value)) as { externalId: string };
        if (!intakeAt.has(command.externalId)) intakeAt.set(command.externalId, performance.now());
      },
    });
    await eventsConsumer.run({
      eachMessage: async ({ message }) => {
        const event = JSON.parse(String(message.value)) as { type: string; callId: string };
        const orderNo = orderOfCall.get(event.callId);
        if (event.type === 'call.raised' && orderNo && !raisedAt.has(orderNo)) raisedAt.set(orderNo, performance.now());
      },
    });

    const ordersTopic = topicName(config, TOPICS.hotlineOrders);
    const stream = hotlineRecords({ seed: run, topic: ordersTopic, prefix: `GZ12345-B${run}` });
    const next = () => {
      const record = stream.next().value as { key: string; value: string };
      orderOfCall.set(sourceCallId('hotline', record.key), record.key);
      return record;
    };
    const producer = kafka.producer();
    await producer.connect();

    // Throughput: everything at once.
    const batch = Array.from({ length: RECORDS }, next);
    const began = performance.now();
    for (let i = 0; i < batch.length; i += 500) {
      await producer.send({ topic: ordersTopic, messages: batch.slice(i, i + 500).map(({ key, value }) => ({ key, value })) });
    }
    await until('every intake command', () => batch.every((r) => intakeAt.has(r.key)));
    const intakeSeconds = (performance.now() - began) / 1000;
    await until('every call stored', () => batch.every((r) => raisedAt.has(r.key)));
    const callsSeconds = (performance.now() - began) / 1000;

    // Latency at a steady rate, paced against the start so the rate holds however long a send takes.
    const steady: string[] = [];
    const steadyBegan = performance.now();
    for (let i = 0; i < RATE * STEADY_SECONDS; i++) {
      const wait = steadyBegan + (i * 1000) / RATE - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const record = next();
      steady.push(record.key);
      sentAt.set(record.key, performance.now());
      await producer.send({ topic: ordersTopic, messages: [{ key: record.key, value: record.value }] });
    }
    const steadySeconds = (performance.now() - steadyBegan) / 1000;
    await until('every steady call stored', () => steady.every((k) => raisedAt.has(k)));
    await producer.disconnect();
    const latency = (arrived: Map<string, number>) => percentiles(steady.map((k) => (arrived.get(k) as number) - (sentAt.get(k) as number)));

    return {
      throughput: {
        records: RECORDS,
        to_intake: { seconds: round(intakeSeconds), records_per_s: Math.round(RECORDS / intakeSeconds) },
        to_persisted_calls: { seconds: round(callsSeconds), records_per_s: Math.round(RECORDS / callsSeconds) },
      },
      steady: {
        rate_per_s: RATE,
        records: steady.length,
        achieved_per_s: round(steady.length / steadySeconds),
        to_intake_ms: latency(intakeAt),
        to_persisted_call_ms: latency(raisedAt),
      },
    };
  } finally {
    await stopCopies(children);
    await Promise.all(consumers.map((c) => c.disconnect()));
    await calls.service.shutdown('bench done');
    await dropAll(admin, env.TOPIC_PREFIX, config);
    await admin.disconnect();
  }
}

/** Removes a scenario's topics and its calls database. */
async function dropAll(admin: Admin, prefix: string, config: ReturnType<typeof loadConfig<typeof callsConfig>>) {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  const db = await connectMongo(config, config.CALLS_DB);
  await db.dropDatabase();
  await db.close();
}

const load = loadavg().map((n) => round(n));
const results = [];
for (const copies of COPIES) {
  results.push({ copies, connector_alone_to_intake: await connectorAlone(copies), whole_path: await scenario(copies) });
}
console.log(
  JSON.stringify({
    bench: 'connectors',
    source: 'hotline (12345) work orders from connectors/simulate.ts',
    store: infra.mongodbUri.includes('27017') && !process.env.MONGODB_URI ? 'ferretdb-1.24-sqlite' : infra.mongodbUri,
    load_average_at_start: load,
    scenarios: results,
  }),
);
process.exit(0);
