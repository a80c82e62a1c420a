// `npm run bench:subscribers [-- --subscribers 10000 --events 20 --areas streets|communities --clients 2 --url <gateway> --profile <dir>]`
//
// Many graphql-ws subscribers on one gateway copy: from sending a raiseCall mutation through the
// gateway to each subscriber's message. Every subscriber holds one socket and one subscription
// (`callUpdated(status: [RAISED]) { id status tier title originUnit { id name } }`) under an identity
// of its own (distinct subjects, so the per-identity cap of #13 never bites), spread round-robin over
// access scopes: the district command centre and the eight streets (`--areas streets`, 9 scopes), or
// those and the 32 communities too (`--areas communities`, 41). The calls are raised by grid workers
// of every street in turn, one at a time; for each, every subscriber whose area holds the grid must
// get it (lost otherwise) and no other may (outside its area, must be 0).
//
// The subscribers live in `--clients` processes of their own (bench/subscribers-client.ts), apart from
// the gateway; each stamps a message when it arrives. Without --url the bench starts party-map (demo
// units), calls and the gateway, each as its own process, on throw-away databases and topics; with it,
// it measures a running gateway (tokens signed with JWT_SECRET or the development key). Prints one JSON
// document: mutation-to-message p50/p99, and the same from each event's first message (the fan-out
// alone), with the gateway's CPU time per event when it started the gateway itself.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DISTRICT_COMMAND_ID, DISTRICT_ID, demoUnits } from '../demo/district.ts';
import { freePort, up } from '../infra/local.ts';
import { mintToken } from '../platform/auth.ts';
import { baseConfig, loadConfig } from '../platform/config.ts';
import type { FromClient, SubscriberPlan, ToClient } from './subscribers-client.ts';
import { benchRun, dropRun, graphql, percentiles, say } from './stats.ts';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    subscribers: { type: 'string', default: '10000' },
    events: { type: 'string', default: '20' },
    areas: { type: 'string', default: 'streets' },
    clients: { type: 'string', default: '2' },
    /** A folder for a V8 CPU profile of the gateway this run starts (open it in Chrome DevTools). */
    profile: { type: 'string' },
  },
});
const SUBSCRIBERS = Number(args.subscribers);
const EVENTS = Number(args.events);
const CLIENTS = Number(args.clients);
const EVENT_TIMEOUT_MS = 30_000;
const QUERY = 'subscription { callUpdated(status: [RAISED]) { id status tier title originUnit { id name } } }';
if (!['streets', 'communities'].includes(args.areas)) throw new Error('--areas is streets or communities');

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
});

async function waitReady(url: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} was not ready within 300 s`);
}

async function service(name: string, env: Record<string, string>): Promise<{ child: ChildProcess; base: string }> {
  const port = await freePort();
  const profiling = args.profile && name === 'gateway' ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
  const child = spawn(process.execPath, [...profiling, '--import', 'tsx', 'scripts/service.ts', name], {
    env: { ...process.env, APOLLO_TELEMETRY_DISABLED: '1', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/readyz`, child, name);
  say(`bench:subscribers: ${name} ready`);
  return { child, base };
}

// ---- the stack ---------------------------------------------------------------------------------
let gatewayUrl = args.url;
let gatewayPid: number | undefined;
const databases: string[] = [];
let runEnv: Record<string, string> = {};
if (!gatewayUrl) {
  const infra = await up(say);
  const { run, env } = benchRun(infra);
  runEnv = env;
  databases.push(`bench_${run}_map`, `bench_${run}_calls`);
  const partyMap = await service('party-map', { ...env, DEMO_DATA: '1', PARTY_MAP_DB: databases[0] as string });
  const calls = await service('calls', { ...env, CALLS_DB: databases[1] as string });
  const gateway = await service('gateway', {
    ...env,
    CALLS_URL: `${calls.base}/graphql`,
    PARTY_MAP_URL: `${partyMap.base}/graphql`,
    // Not in the subscription's selection: never asked.
    EVALUATION_URL: 'http://127.0.0.1:9/graphql',
    ENTERPRISE_URL: 'http://127.0.0.1:9/graphql',
  });
  gatewayUrl = `${gateway.base}/graphql`;
  gatewayPid = gateway.child.pid;
}
const secret = process.env.JWT_SECRET;

// ---- the subscribers ---------------------------------------------------------------------------
const units = demoUnits();
const streets = units.filter((u) => u.kind === 'street');
const communities = units.filter((u) => u.kind === 'community');
const grids = units.filter((u) => u.kind === 'grid');
const scopes: Array<Omit<SubscriberPlan, 'subject'>> = [
  { unitId: DISTRICT_COMMAND_ID, role: 'district_command', area: DISTRICT_ID },
  ...streets.map((s) => ({ unitId: s.id, role: 'street' as const, area: s.id })),
  ...(args.areas === 'communities' ? communities.map((c) => ({ unitId: c.id, role: 'community' as const, area: c.id })) : []),
];
const run = randomUUID().slice(0, 6);
const plans: SubscriberPlan[] = Array.from({ length: SUBSCRIBERS }, (_, i) => ({ ...(scopes[i % scopes.length] as (typeof scopes)[number]), subject: `bench-${run}-${i}` }));

let finished = false;
/** A client process and a way to ask it something and await its answer of the given type. */
function client(share: SubscriberPlan[]) {
  const child = fork(new URL('./subscribers-client.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.push(child);
  child.once('exit', (code) => {
    if (!finished) {
      say(`bench:subscribers: a client process exited (${code})`);
      process.exit(1);
    }
  });
  const ask = <T extends FromClient['type']>(message: ToClient, answer: T, match: (m: FromClient) => boolean = () => true) =>
    new Promise<Extract<FromClient, { type: T }>>((resolve) => {
      const onMessage = (m: FromClient) => {
        if (m.type !== answer || !match(m)) return;
        child.off('message', onMessage);
        resolve(m as Extract<FromClient, { type: T }>);
      };
      child.on('message', onMessage);
      child.send(message);
    });
  return { child, share, ask };
}
const clients = Array.from({ length: CLIENTS }, (_, c) => client(plans.filter((_, i) => i % CLIENTS === c)));
const wsUrl = gatewayUrl.replace(/^http/, 'ws');
const connecting = performance.now();
const connected = await Promise.all(clients.map((c) => c.ask({ type: 'start', url: wsUrl, query: QUERY, subscribers: c.share, secret }, 'connected')));
const open = connected.reduce((sum, c) => sum + c.open, 0);
say(`bench:subscribers: ${open} of ${SUBSCRIBERS} sockets open in ${((performance.now() - connecting) / 1000).toFixed(1)} s`);
if (open < SUBSCRIBERS) throw new Error(`only ${open} of ${SUBSCRIBERS} sockets opened: ${connected.flatMap((c) => c.refused).join('; ')}`);

// ---- the calls ---------------------------------------------------------------------------------
const gridTokens = new Map(await Promise.all(grids.map(async (g) => [g.id, await mintToken({ subject: `bench-${g.id}`, unitId: g.id, role: 'grid_worker' }, { secret })] as const)));
/** The i-th call's grid: the streets in turn, each time another of the street's grids. */
const gridFor = (i: number) => {
  const street = streets[i % streets.length]?.id as string;
  const inStreet = grids.filter((g) => g.path.includes(street));
  return inStreet[Math.floor(i / streets.length) % inStreet.length]?.id as string;
};
async function raise(gridId: string): Promise<{ callId: string; sentAt: number; ms: number }> {
  const sentAt = performance.timeOrigin + performance.now();
  const data = await graphql(gatewayUrl as string, gridTokens.get(gridId) as string, 'mutation($input: RaiseCallInput!) { raiseCall(input: $input) { call { id } } }', {
    input: { title: '施工噪音扰民', description: `工地夜间施工噪音（压测 ${randomUUID().slice(0, 8)}）`, category: '城市管理' },
  });
  return { callId: data.raiseCall.call.id as string, sentAt, ms: performance.timeOrigin + performance.now() - sentAt };
}

// Warm-up: a call in every street until every subscriber has had one (each subscription is live).
const warmUpUntil = Date.now() + 180_000;
for (let round = 0; ; round++) {
  const silent = (await Promise.all(clients.map((c) => c.ask({ type: 'waiting' }, 'waiting')))).reduce((sum, w) => sum + w.silent, 0);
  if (silent === 0) break;
  if (Date.now() > warmUpUntil) throw new Error(`${silent} of ${SUBSCRIBERS} subscribers never received a call`);
  say(`bench:subscribers: warm-up round ${round}, ${silent} subscribers still silent`);
  // A raise the loaded machine times out is tried again next round.
  for (let s = 0; s < streets.length; s++) await raise(gridFor(round * streets.length + s)).catch((err: unknown) => say(`warm-up raise failed: ${String(err)}`));
  await new Promise((r) => setTimeout(r, 2000));
}

const cpuMs = () => {
  if (!gatewayPid) return 0;
  const fields = readFileSync(`/proc/${gatewayPid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime, in clock ticks (100 a second).
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
const cpuBefore = cpuMs();
const latencies: number[] = [];
const mutationMs: number[] = [];
const spread: number[] = [];
const mutationFailures: string[] = [];
let expected = 0;
let received = 0;
for (let i = 0; i < EVENTS; i++) {
  const gridId = gridFor(i);
  // A mutation the loaded calls subgraph times out is no message lost: counted, and tried again.
  let raised: Awaited<ReturnType<typeof raise>> | undefined;
  while (!raised) raised = await raise(gridId).catch((err: unknown) => void mutationFailures.push(String(err).slice(0, 200)));
  const { callId, sentAt, ms } = raised;
  mutationMs.push(ms);
  const arrived = await Promise.all(
    clients.map((c) => c.ask({ type: 'expect', callId, gridId, sentAt, timeoutMs: EVENT_TIMEOUT_MS }, 'arrived', (m) => m.type === 'arrived' && m.callId === callId)),
  );
  for (const a of arrived) {
    expected += a.expected;
    received += a.latencies.length;
    latencies.push(...a.latencies);
  }
  // The fan-out alone: each message after the event's first one (the mutation, Kafka and the
  // resolution are behind all of them alike).
  const first = Math.min(...arrived.flatMap((a) => a.latencies));
  for (const a of arrived) spread.push(...a.latencies.map((ms) => ms - first));
}
const gatewayCpuMsPerEvent = gatewayPid ? Math.round((cpuMs() - cpuBefore) / EVENTS) : undefined;
finished = true;
const totals = await Promise.all(clients.map((c) => c.ask({ type: 'totals' }, 'totals')));

console.log(
  JSON.stringify(
    {
      subscribers: SUBSCRIBERS,
      scopes: scopes.length,
      clientProcesses: CLIENTS,
      events: EVENTS,
      selection: QUERY,
      messages: {
        expected,
        received,
        lost: expected - received,
        outsideScope: totals.reduce((sum, t) => sum + t.outsideArea, 0),
        total: totals.reduce((sum, t) => sum + t.messages, 0),
      },
      mutationToMessage_ms: percentiles(latencies),
      firstToEachMessage_ms: percentiles(spread),
      mutation_ms: percentiles(mutationMs),
      mutationFailures: mutationFailures.length,
      ...(gatewayCpuMsPerEvent !== undefined && { gatewayCpuMsPerEvent }),
      socketsClosed: totals.reduce((sum, t) => sum + t.closed, 0),
      errors: totals.flatMap((t) => t.errors).slice(0, 5),
    },
    null,
    2,
  ),
);
await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((resolve) => c.once('exit', resolve).kill('SIGTERM'))));
if (databases.length > 0) await dropRun(loadConfig(baseConfig, runEnv), databases);
process.exit(0);
