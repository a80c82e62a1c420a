// `npm run drill [-- --fast] [--subscribers 50] [--rate 10]`: fault drills under a steady stream of
// 12345 records. The hub runs as real processes (party-map, calls, the hotline connector, the
// gateway), supervised as `npm start` does (scripts/supervisor.ts), with dashboards subscribed to
// `callUpdated` over graphql-ws that resume from their last cursor whenever their socket drops.
// Each drill injects one fault, and its row says how long until a record sent after the fault reached
// every dashboard (recovery), and for the records of its window: calls lost, calls doubled, calls
// whose events are not one contiguous sequence, and events a dashboard missed after resuming.
//
// The full run starts its own Kafka and FerretDB (other ports and data: .data/drill/) so it may kill
// them; `--fast` runs only the service drills (gateway, calls, connector) on the running Kafka and
// FerretDB, under a topic prefix and databases of its own (what CI and test/drill.test.ts run).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import { Kafka, logLevel } from 'kafkajs';
import { WebSocket } from 'ws';
import { hotlineRecords } from '../connectors/simulate.ts';
import { DEFAULT_KAFKA_BROKERS, DEFAULT_MONGODB_URI, freePort, launch, type LocalPlace, stopPid } from '../infra/local.ts';
import { mintToken } from '../platform/auth.ts';
import { TOPICS } from '../platform/topics.ts';
import { sourceCallId } from '../subgraphs/calls/intake.ts';
import { childProcess, detachedProcess, Supervisor } from './supervisor.ts';

export interface DrillRow {
  fault: string;
  /** Until what was killed (for the broker and the store: the calls subgraph) answers /readyz again. */
  answersSeconds: number;
  /** Until a record sent after the fault is a call every dashboard has been shown (backlog included). */
  recoverySeconds: number;
  lost: number;
  doubled: number;
  /** Calls whose events are not 1, 2, … n (a gap or a sequence seen under two event ids). */
  broken: number;
  /** Events a dashboard was never shown, summed over the dashboards. */
  missedAfterResume: number;
}

export interface DrillOptions {
  fast: boolean;
  subscribers: number;
  /** Records a second. */
  rate: number;
  /** Only these drills (gateway, calls, connector, broker, store, burst); all by default. */
  only?: string[];
  say: (line: string) => void;
  /** The running Kafka and FerretDB (fast drills). */
  kafkaBrokers?: string;
  mongodbUri?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`drill: timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

export async function runDrills(options: DrillOptions): Promise<DrillRow[]> {
  const { say } = options;
  const id = randomBytes(3).toString('hex');
  const supervisor = new Supervisor((line) => say(`supervisor: ${line}`), { baseMs: 200, maxMs: 5000 });
  let stopped = false;
  try {
    // Beside this script (the hub it runs is the working directory's: run from another checkout, it
    // drills that checkout's services, e.g. for a before-and-after table).
    const repo = fileURLToPath(new URL('..', import.meta.url));
    const logDir = join(repo, '.data', 'drill-logs', id);
    mkdirSync(logDir, { recursive: true });
    let place: LocalPlace | undefined;
    let kafkaBrokers = options.kafkaBrokers ?? DEFAULT_KAFKA_BROKERS;
    let mongodbUri = options.mongodbUri ?? DEFAULT_MONGODB_URI;
    const local: Record<string, ReturnType<typeof detachedProcess>> = {};
    if (!options.fast) {
      place = { dataDir: join(repo, '.data', 'drill'), kafkaPort: await freePort(), controllerPort: await freePort(), mongoPort: await freePort() };
      rmSync(place.dataDir, { recursive: true, force: true });
      kafkaBrokers = `127.0.0.1:${place.kafkaPort}`;
      mongodbUri = `mongodb://127.0.0.1:${place.mongoPort}`;
      for (const name of ['kafka', 'ferretdb'] as const) {
        const at = place;
        local[name] = detachedProcess({ name, start: () => launch(name, at, say), stop: stopPid, pollMs: 250 });
        await supervisor.add(local[name]);
      }
      say(`own Kafka at ${kafkaBrokers}, FerretDB at ${mongodbUri} (data in ${place.dataDir})`);
    }

    const prefix = `drill.${id}.`;
    const topic = (name: string) => `${prefix}${name}`;
    const ports = { 'party-map': await freePort(), calls: await freePort(), connectors: await freePort(), gateway: await freePort() };
    const env = {
      ...process.env,
      KAFKA_BROKERS: kafkaBrokers,
      MONGODB_URI: mongodbUri,
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'info',
      NODE_ENV: 'development',
      APOLLO_TELEMETRY_DISABLED: '1',
      DEMO_DATA: '0',
      CALLS_DB: `drill_${id}_calls`,
      PARTY_MAP_DB: `drill_${id}_map`,
      CONNECTORS: 'hotline',
      CALLS_URL: `http://127.0.0.1:${ports.calls}/graphql`,
      PARTY_MAP_URL: `http://127.0.0.1:${ports['party-map']}/graphql`,
    };
    const services: Record<string, ReturnType<typeof childProcess>> = {};
    const readyz = (port: number) =>
      fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.ok,
        () => false,
      );
    for (const [name, port] of Object.entries(ports)) {
      const service = childProcess({
        name,
        spawnIt: () => {
          const log = openSync(join(logDir, `${name}.log`), 'a');
          return spawn(process.execPath, ['--import', 'tsx', 'scripts/service.ts', name], { env: { ...env, PORT: String(port), METRICS_PORT: '0' }, stdio: ['ignore', log, log] });
        },
        ready: (child: ChildProcess) =>
          until(`${name} ready`, async () => {
            if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited; see ${logDir}/${name}.log`);
            return (await readyz(port)) ? true : undefined;
          }, 120_000).then(() => undefined),
      });
      services[name] = service;
    }
    // Side by side: each waits only for itself to be ready (the gateway for calls as well).
    await Promise.all(
      Object.entries(services).map(async ([name, service]) => {
        await supervisor.add(service);
        say(`${name} up on port ${ports[name as keyof typeof ports]}`);
      }),
    );

    // Every hub.call-events record, read by a group of the drill's own from the start.
    const kafka = new Kafka({ clientId: 'drill', brokers: kafkaBrokers.split(','), logLevel: logLevel.NOTHING });
    const records = new Map<string, Array<{ sequence: number; eventId: string }>>();
    const collector = kafka.consumer({ groupId: topic('drill-collector'), sessionTimeout: 10_000, heartbeatInterval: 1000 });
    await collector.connect();
    await collector.subscribe({ topics: [topic(TOPICS.callEvents)], fromBeginning: true });
    await collector.run({
      eachMessage: async ({ message }) => {
        const event = JSON.parse(message.value?.toString('utf8') ?? '{}') as { callId?: string; sequence?: number; eventId?: string };
        if (!event.callId || typeof event.sequence !== 'number') return;
        const list = records.get(event.callId) ?? [];
        list.push({ sequence: event.sequence, eventId: event.eventId ?? '' });
        records.set(event.callId, list);
      },
    });

    // Dashboards: every call as it changes, resumed from the last cursor whenever the socket drops.
    const token = await mintToken({ subject: 'drill-dashboard', unitId: 'huangpu-command', role: 'district_command', scopes: [] });
    const dashboards = Array.from({ length: options.subscribers }, () => ({
      received: new Map<string, number>(),
      cursor: undefined as string | undefined,
      connected: false,
      expired: 0,
    }));
    let closing = false;
    const disposers: Array<() => Promise<void>> = [];
    const connect = (dashboard: (typeof dashboards)[number]) => {
      if (closing) return;
      const client = createClient({
        url: `ws://127.0.0.1:${ports.gateway}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        on: { connected: () => (dashboard.connected = true), closed: () => (dashboard.connected = false) },
      });
      disposers.push(() => client.dispose() as Promise<void>);
      let again = false;
      const reconnect = () => {
        if (again) return;
        again = true;
        dashboard.connected = false;
        void client.dispose();
        setTimeout(() => connect(dashboard), 300);
      };
      client.subscribe<{ callUpdated: { id: string } }, { cursor?: string }>(
        dashboard.cursor
          ? { query: 'subscription($after: String) { callUpdated(after: $after) { id } }', variables: { after: dashboard.cursor } }
          : { query: 'subscription { callUpdated { id } }' },
        {
          next: (message) => {
            if (message.errors?.some((e) => (e.extensions as { code?: string } | undefined)?.code === 'CURSOR_EXPIRED')) dashboard.expired++;
            const callId = message.data?.callUpdated.id;
            if (callId) dashboard.received.set(callId, (dashboard.received.get(callId) ?? 0) + 1);
            if (message.extensions?.cursor) dashboard.cursor = message.extensions.cursor;
          },
          error: reconnect,
          complete: reconnect,
        },
      );
    };
    for (const dashboard of dashboards) connect(dashboard);
    await until('every dashboard connected', () => (dashboards.every((d) => d.connected) ? true : undefined), 30_000);

    // The steady stream: 12345 work orders, a quarter of records updates of earlier ones. A send that
    // fails (the broker is down) is tried again until it goes: the hotline does the same.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const stream = hotlineRecords({ seed: `drill-${id}`, topic: topic(TOPICS.hotlineOrders), updates: 0.25, prefix: `GZ12345-DRILL-${id}` });
    /** Each work order's call id, with the drill window it was sent in. */
    const orders: Array<{ callId: string; window: number }> = [];
    let window = 0;
    let streaming = true;
    let burst = 0;
    let bursting = false;
    const send = async () => {
      const record = stream.next().value as { key: string; value: string; topic: string };
      for (;;) {
        try {
          await producer.send({ topic: record.topic, messages: [{ key: record.key, value: record.value }] });
          break;
        } catch {
          await sleep(500);
        }
      }
      const parsed = JSON.parse(record.value) as { record_type?: string; order_no?: string };
      if (parsed.record_type === 'NEW' && parsed.order_no) orders.push({ callId: sourceCallId('hotline', parsed.order_no), window });
    };
    const pacing = (async () => {
      const began = Date.now();
      let sent = 0;
      while (streaming) {
        if (burst > 0) {
          bursting = true;
          const n = burst;
          burst = 0;
          for (let i = 0; i < n; i++) await send();
          bursting = false;
        }
        await send();
        sent++;
        const wait = began + (sent * 1000) / options.rate - Date.now();
        if (wait > 0) await sleep(wait);
      }
    })();

    /** Seconds from now until `port` answers /readyz, and until a work order sent after now is a call every dashboard has seen. */
    const recovery = async (fault: () => Promise<void>, port: number): Promise<[number, number]> => {
      const began = Date.now();
      await fault();
      const answering = until('readiness again', async () => ((await readyz(port)) ? Date.now() : undefined), 180_000);
      const from = orders.length;
      await until('a record sent after the fault', () => (orders.length > from ? true : undefined), 60_000);
      const probe = (orders[from] as { callId: string }).callId;
      await until('the probe on every dashboard', () => (dashboards.every((d) => d.received.has(probe)) ? true : undefined), 300_000);
      return [((await answering) - began) / 1000, (Date.now() - began) / 1000];
    };
    const kill = (name: string) => async () => {
      const target = services[name]?.current();
      target?.kill('SIGKILL');
      if (target) await new Promise((resolve) => (target.exitCode !== null || target.signalCode !== null ? resolve(undefined) : target.once('exit', resolve)));
    };
    const killLocal = (name: string) => async () => {
      const pid = local[name]?.pid();
      if (pid) process.kill(pid, 'SIGKILL');
    };

    const drills = [
      { key: 'gateway', fault: `gateway SIGKILL under ${options.subscribers} subscribers`, run: kill('gateway'), port: ports.gateway },
      { key: 'calls', fault: 'calls SIGKILL mid-drain', run: kill('calls'), port: ports.calls },
      { key: 'calls', fault: 'calls SIGKILL again', run: kill('calls'), port: ports.calls },
      { key: 'connector', fault: 'connector SIGKILL mid-batch', run: kill('connectors'), port: ports.connectors },
      ...(options.fast
        ? []
        : [
            { key: 'broker', fault: 'Kafka broker SIGKILL', run: killLocal('kafka'), port: ports.calls },
            { key: 'store', fault: 'FerretDB SIGKILL', run: killLocal('ferretdb'), port: ports.calls },
            {
              key: 'burst',
              port: ports.calls,
              fault: 'burst of 500 records',
              // Recovery: until a record sent after the whole burst is shown (the burst drained).
              run: async () => {
                burst = 500;
                await until('the burst sent', () => (burst === 0 && !bursting ? true : undefined), 120_000);
              },
            },
          ]),
    ].filter((drill) => !options.only || options.only.includes(drill.key));
    const recoveries: Array<[number, number]> = [];
    await sleep(2000); // the stream under way before the first fault
    for (const drill of drills) {
      window++;
      say(`drill: ${drill.fault}`);
      try {
        const [answers, seconds] = await recovery(drill.run, drill.port);
        recoveries.push([answers, seconds]);
        say(`drill: ${drill.fault}: answering after ${answers.toFixed(1)} s, recovered in ${seconds.toFixed(1)} s`);
      } catch (err) {
        // Not recovered in time: its row says so (NaN), and the next drill goes on.
        recoveries.push([Number.NaN, Number.NaN]);
        say(`drill: ${drill.fault}: ${err instanceof Error ? err.message : String(err)}`);
      }
      await sleep(1000);
    }
    streaming = false;
    await pacing;

    // Settle: every work order a call, every dashboard shown every record.
    const settled = () => orders.every((o) => records.has(o.callId));
    await until('every work order as a call', () => (settled() ? true : undefined), 300_000).catch((err: unknown) => say(String(err)));
    const total = () => [...records.values()].reduce((sum, list) => sum + list.length, 0);
    let last = -1;
    // Quiet for 2 s: no more events arriving (updates, call-backs, the outbox's sweeps).
    await until('the event stream quiet', async () => {
      const now = total();
      if (now === last) return true;
      last = now;
      await sleep(2000);
      return undefined;
    }, 300_000);
    await until('dashboards caught up', () => (dashboards.every((d) => [...records].every(([callId, list]) => (d.received.get(callId) ?? 0) >= list.length)) ? true : undefined), 30_000).catch(
      () => undefined,
    );

    const rows = drills.map((drill, i) => {
      const mine = orders.filter((o) => o.window === i + 1);
      let lost = 0;
      let doubled = 0;
      let broken = 0;
      let missed = 0;
      for (const { callId } of mine) {
        const list = records.get(callId);
        if (!list) {
          lost++;
          continue;
        }
        const bySequence = new Map<number, Set<string>>();
        for (const r of list) bySequence.set(r.sequence, (bySequence.get(r.sequence) ?? new Set()).add(r.eventId));
        if ([...bySequence.values()].some((ids) => ids.size > 1)) doubled++;
        const max = Math.max(...bySequence.keys());
        if (bySequence.size !== max) broken++;
        for (const d of dashboards) missed += Math.max(0, list.length - (d.received.get(callId) ?? 0));
      }
      const [answers, seconds] = recoveries[i] ?? [0, 0];
      return { fault: drill.fault, answersSeconds: Number(answers.toFixed(1)), recoverySeconds: Number(seconds.toFixed(1)), lost, doubled, broken, missedAfterResume: missed };
    });
    const expired = dashboards.reduce((sum, d) => sum + d.expired, 0);
    if (expired > 0) say(`dashboards told to re-query (CURSOR_EXPIRED): ${expired}`);
    say(`work orders: ${orders.length}; calls: ${orders.filter((o) => records.has(o.callId)).length}; restarts: ${JSON.stringify(Object.fromEntries(supervisor.restarts))}`);

    closing = true;
    await Promise.all(disposers.map((dispose) => dispose().catch(() => undefined)));
    await producer.disconnect().catch(() => undefined);
    await collector.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect().catch(() => undefined);
    stopped = true;
    await supervisor.stopAll();
    if (options.fast) {
      // Shared infrastructure: leave nothing behind.
      const topics = (await admin.listTopics().catch(() => [])).filter((t) => t.startsWith(prefix));
      await admin.deleteTopics({ topics }).catch(() => undefined);
      const groups = (await admin.listGroups().catch(() => ({ groups: [] }))).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
      await admin.deleteGroups(groups).catch(() => undefined);
      const { default: mongoose } = await import('mongoose');
      for (const db of [env.CALLS_DB, env.PARTY_MAP_DB]) {
        const conn = await mongoose.createConnection(mongodbUri, { dbName: db }).asPromise();
        await conn.dropDatabase();
        await conn.close();
      }
    }
    await admin.disconnect().catch(() => undefined);
    return rows;
  } finally {
    // Also when a drill failed: nothing it started may outlive it.
    if (!stopped) await supervisor.stopAll();
  }
}

/** The drill table, as printed. */
export function drillTable(rows: DrillRow[]): string {
  const head = ['fault', 'answers s', 'recovery s', 'lost', 'doubled', 'broken sequences', 'missed after resume'];
  const lines = [head, ...rows.map((r) => [r.fault, r.answersSeconds.toFixed(1), r.recoverySeconds.toFixed(1), r.lost, r.doubled, r.broken, r.missedAfterResume].map(String))];
  const widths = head.map((_, i) => Math.max(...lines.map((l) => (l[i] as string).length)));
  return lines.map((l) => `| ${l.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ')} |`).join('\n');
}

if (process.argv[1]?.endsWith('drill.ts')) {
  const { values } = parseArgs({
    options: {
      fast: { type: 'boolean', default: false },
      subscribers: { type: 'string', default: '50' },
      rate: { type: 'string', default: '10' },
      only: { type: 'string' },
    },
  });
  const say = (line: string) => console.log(`[drill] ${line}`);
  const only = values.only?.split(',');
  const rows = await runDrills({ fast: values.fast, subscribers: Number(values.subscribers), rate: Number(values.rate), only, say });
  console.log(drillTable(rows));
  const failed = rows.some((r) => r.lost + r.doubled + r.broken + r.missedAfterResume > 0 || Number.isNaN(r.recoverySeconds));
  console.log(JSON.stringify({ drills: rows, ok: !failed }));
  process.exit(failed ? 1 : 0);
}
