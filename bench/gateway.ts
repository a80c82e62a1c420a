// `npm run bench:gateway [-- --url <gateway> --concurrency 50 --seconds 10 --subscribers 1000 --profile <dir>
//                          --mix nested,varying --targets gateway,default,chain --checkout <dir>]`
//
// Side by side in one run, on the same subgraphs and the same load: a nested query across the
// subgraphs (calls → party-map, three levels of units) at fixed concurrency through
//   - the gateway under test (ours, or any gateway given with --url),
//   - a stock @apollo/gateway (bench/default-gateway.ts),
//   - the subgraphs' own chain: the same data fetched from the subgraphs directly, as the query plan
//     does (the gateway's overhead is its latency over this);
// each for one access scope (a dashboard's identical operations) and for nine scopes (the district
// and every street: nothing may be shared across them); then (`varying`) the same query with
// `calls(first: $n)`, n different from one request to the next, where no sharing can help. Then
// event-to-client latency with many graphql-ws subscribers: from sending a raiseCall mutation to each
// subscriber's message.
//
// Beside each figure, what a request costs: the CPU milliseconds each service's process spent per
// request (utime + stime from /proc, the process and its children). Unlike requests per second on a
// machine shared with other work, it does not depend on what else runs, so two builds compare by it:
// `--checkout <dir>` starts the services from another checkout of the hub (its own node_modules),
// measured with this bench's load (see docs/performance.md).
//
// Without --url it starts everything itself (subgraphs with demo data in throw-away databases and
// topics, our gateway) on the local Kafka and FerretDB. With --url it measures a running stack
// (`npm start`): the subgraphs at CALLS_URL / PARTY_MAP_URL (default ports) and the tokens signed
// with JWT_SECRET (or the development key). Prints one JSON document.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { DISTRICT_ID, demoUnits } from '../demo/district.ts';
import { freePort, up } from '../infra/local.ts';
import { mintToken, type Role } from '../platform/auth.ts';
import { SERVICES } from '../scripts/services.ts';
import { benchRun, cpuMillis, dropRun, graphql as post, percentiles, say, sustained } from './stats.ts';
import { baseConfig, loadConfig } from '../platform/config.ts';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    concurrency: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    subscribers: { type: 'string', default: '1000' },
    events: { type: 'string', default: '20' },
    /** A folder for V8 CPU profiles of the services this run starts (open them in Chrome DevTools). */
    profile: { type: 'string' },
    /** Which loads: `nested` (n = 20, one scope and nine), `varying` (n different for every request). */
    mix: { type: 'string', default: 'nested,varying' },
    /** Through what: `gateway` (ours), `default` (a stock @apollo/gateway), `chain` (the subgraphs directly). */
    targets: { type: 'string', default: 'gateway,default,chain' },
    /** Another checkout of the hub whose services (and stock gateway) to start instead of this one's. */
    checkout: { type: 'string' },
  },
});
const MIX = new Set(args.mix.split(','));
const TARGETS = new Set(args.targets.split(','));
const CHECKOUT = args.checkout ? resolve(args.checkout) : process.cwd();
const CONCURRENCY = Number(args.concurrency);
const DURATION_MS = Number(args.seconds) * 1000;
const SUBSCRIBERS = Number(args.subscribers);
const EVENTS = Number(args.events);

const NESTED = /* GraphQL */ `
  query Nested {
    calls(first: 20) {
      edges {
        node {
          id title status tier priority
          originUnit { id name kind parent { name kind parent { name kind } } }
          handlingUnit { name path { name } }
          evaluation { entries { fact period onTime unit { name } } }
          enterprise { name }
          demand { title status }
        }
      }
    }
  }
`;
/** NESTED with `calls(first: $n)`: the load where every request differs. */
const NESTED_VARYING = NESTED.replace('query Nested {', 'query NestedVarying($n: Int!) {').replace('calls(first: 20)', 'calls(first: $n)');
/** n of the varying load: 1 … 40 in turn (20.5 calls on average, as NESTED's 20), so requests in flight differ. */
let varyingRequests = 0;
const nextN = () => 1 + (varyingRequests++ % 40);
// The same data from the subgraphs themselves, as the query plan fetches it: the calls, then their
// units (party-map), the calls' score entries (evaluation) and demands (enterprise), then the scored units.
const CHAIN_CALLS = /* GraphQL */ `
  query($n: Int!) { calls(first: $n) { edges { node { id title status tier priority originUnit { id } handlingUnit { id } } } } }
`;
const CHAIN_UNITS = /* GraphQL */ `
  query($representations: [_Any!]!) { _entities(representations: $representations) {
    ... on Unit { id name kind parent { name kind parent { name kind } } path { name } } } }
`;
const CHAIN_EVALUATIONS = /* GraphQL */ `
  query($representations: [_Any!]!) { _entities(representations: $representations) {
    ... on Call { evaluation { entries { fact period onTime unit { id } } } } } }
`;
const CHAIN_DEMANDS = /* GraphQL */ `
  query($representations: [_Any!]!) { _entities(representations: $representations) {
    ... on Call { enterprise { name } demand { title status } } } }
`;

/** The services the supergraph composes (the gateway's subgraphs). */
const SUBGRAPHS = ['party-map', 'calls', 'evaluation', 'enterprise'];
const children: ChildProcess[] = [];
/** The processes whose CPU time a request costs, by service. */
const costed = new Map<string, ChildProcess>();
const stopAll = () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
};
process.on('exit', stopAll);

async function waitReady(url: string, child: ChildProcess, name: string): Promise<void> {
  // Generous: on a machine shared with other work a service can take minutes to join its groups.
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    if (await fetch(url).then((r) => r.status < 500, () => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} was not ready within 300 s`);
}

function launch(name: string, command: string[], env: Record<string, string>): ChildProcess {
  const profiling = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}/${name.replace(/\W+/g, '-')}`] : [];
  const child = spawn(process.execPath, [...profiling, '--import', 'tsx', ...command], {
    cwd: CHECKOUT,
    env: { ...process.env, LOG_LEVEL: 'error', APOLLO_TELEMETRY_DISABLED: '1', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  say(`started ${name}`);
  return child;
}

// ---- the stack ---------------------------------------------------------------------------------
let gatewayUrl = args.url;
let callsUrl = process.env.CALLS_URL ?? 'http://127.0.0.1:4001/graphql';
let partyMapUrl = process.env.PARTY_MAP_URL ?? 'http://127.0.0.1:4003/graphql';
let evaluationUrl = process.env.EVALUATION_URL ?? 'http://127.0.0.1:4002/graphql';
let enterpriseUrl = process.env.ENTERPRISE_URL ?? 'http://127.0.0.1:4004/graphql';
const benchEnv: Record<string, string> = {};
/** The databases this run creates (none when it measures a running stack). */
const databases: string[] = [];
if (!gatewayUrl) {
  const infra = await up(say);
  const { run, env } = benchRun(infra);
  Object.assign(benchEnv, { ...env, DEMO_DATA: '1' });
  // Every subgraph the supergraph names, each on a free port (other benches may run beside this one).
  const ports: Record<string, number> = {};
  for (const name of Object.keys(SERVICES)) {
    if (!SUBGRAPHS.includes(name)) continue;
    const port = await freePort();
    ports[name] = port;
    const dbVariable = `${name.replace('-', '_').toUpperCase()}_DB`;
    const database = `bench_${run}_${name.replace('-', '_')}`;
    databases.push(database);
    const child = launch(name, ['scripts/service.ts', name], { ...benchEnv, PORT: String(port), [dbVariable]: database });
    costed.set(name, child);
    await waitReady(`http://127.0.0.1:${port}/readyz`, child, name);
  }
  callsUrl = `http://127.0.0.1:${ports.calls}/graphql`;
  partyMapUrl = `http://127.0.0.1:${ports['party-map']}/graphql`;
  evaluationUrl = `http://127.0.0.1:${ports.evaluation}/graphql`;
  enterpriseUrl = `http://127.0.0.1:${ports.enterprise}/graphql`;
  for (const [name, port] of Object.entries(ports)) benchEnv[`${name.replace('-', '_').toUpperCase()}_URL`] = `http://127.0.0.1:${port}/graphql`;
  const gatewayPort = await freePort();
  const gateway = launch('gateway', ['scripts/service.ts', 'gateway'], { ...benchEnv, PORT: String(gatewayPort) });
  costed.set('gateway', gateway);
  await waitReady(`http://127.0.0.1:${gatewayPort}/readyz`, gateway, 'gateway');
  gatewayUrl = `http://127.0.0.1:${gatewayPort}/graphql`;
} else {
  Object.assign(benchEnv, { CALLS_URL: callsUrl, PARTY_MAP_URL: partyMapUrl, EVALUATION_URL: evaluationUrl, ENTERPRISE_URL: enterpriseUrl });
}
const stockPort = await freePort();
const stock = launch('default @apollo/gateway', ['bench/default-gateway.ts'], { ...benchEnv, PORT: String(stockPort) });
costed.set('defaultApolloGateway', stock);
await waitReady(`http://127.0.0.1:${stockPort}/`, stock, 'default gateway');
const stockUrl = `http://127.0.0.1:${stockPort}/`;

// ---- identities --------------------------------------------------------------------------------
const secret = process.env.JWT_SECRET;
const token = (unitId: string, role: Role, subject = `bench-${role}-${unitId}`) => mintToken({ subject, unitId, role }, { secret });
const units = demoUnits();
const streets = units.filter((u) => u.kind === 'street');
const districtToken = await token(`${DISTRICT_ID}-command`, 'district_command');
const scopeTokens = [districtToken, ...(await Promise.all(streets.map((s) => token(s.id, 'street'))))];
// One person per load client (each has a rate limit of its own): all in the district command centre,
// or spread over the district and the eight streets.
const clients = Array.from({ length: CONCURRENCY }, (_, i) => i);
const oneScopeClients = await Promise.all(clients.map((i) => token(`${DISTRICT_ID}-command`, 'district_command', `bench-client-${i}`)));
const nineScopeClients = await Promise.all(
  clients.map((i) => (i % 9 === 0 ? token(`${DISTRICT_ID}-command`, 'district_command', `bench-client-${i}`) : token(streets[(i % 9) - 1]?.id as string, 'street', `bench-client-${i}`))),
);


async function chain(authorization: string, n = 20) {
  const calls = (await post(callsUrl, authorization, CHAIN_CALLS, { n })).calls.edges.map((e: any) => e.node);
  const units = [...new Set(calls.flatMap((c: any) => [c.originUnit.id, c.handlingUnit.id]))];
  const representations = (typename: string, ids: unknown[]) => ({ representations: ids.map((id) => ({ __typename: typename, id })) });
  const callIds = calls.map((c: any) => c.id);
  const [, evaluations] = await Promise.all([
    post(partyMapUrl, authorization, CHAIN_UNITS, representations('Unit', units)),
    post(evaluationUrl, authorization, CHAIN_EVALUATIONS, representations('Call', callIds)),
    post(enterpriseUrl, authorization, CHAIN_DEMANDS, representations('Call', callIds)),
  ]);
  // The scored units' names, from party-map again (the plan's last fetch).
  const scored = [...new Set(evaluations._entities.flatMap((c: any) => c?.evaluation?.entries.map((e: any) => e.unit.id) ?? []))];
  if (scored.length > 0) await post(partyMapUrl, authorization, CHAIN_UNITS, representations('Unit', scored));
}

// Both gateways must give the same answer before their speed means anything, and a fresh stack is
// still projecting its demo events for a while (FerretDB busy with their writes): ask until the
// answers agree and have not changed for SETTLED_MS.
const SETTLED_MS = 5000;
let ours = await post(gatewayUrl, districtToken, NESTED);
let theirs = await post(stockUrl, districtToken, NESTED);
for (let settleBy = Date.now() + 120_000, sameSince = Date.now(); ; ) {
  if (JSON.stringify(ours) === JSON.stringify(theirs) && Date.now() - sameSince >= SETTLED_MS) break;
  if (Date.now() > settleBy) throw new Error('the gateways\' answers to the nested query did not settle within 120 s');
  await new Promise((r) => setTimeout(r, 250));
  const previous = JSON.stringify(ours);
  ours = await post(gatewayUrl, districtToken, NESTED);
  theirs = await post(stockUrl, districtToken, NESTED);
  if (JSON.stringify(ours) !== previous || JSON.stringify(ours) !== JSON.stringify(theirs)) sameSince = Date.now();
}
if (ours.calls.edges.length === 0) throw new Error('no calls to query: is the demo data loaded?');

// What each service spends with no request at all (timers, Kafka heartbeats, sweeps), over a quiet
// moment before the loads: taken off what the loads cost, so a slow load is not charged for it.
const IDLE_MS = 3000;
const idleBefore = new Map([...costed].map(([service, child]) => [service, cpuMillis(child.pid as number)]));
await new Promise((r) => setTimeout(r, IDLE_MS));
const idleCpuMsPerSecond = Object.fromEntries(
  [...costed].map(([service, child]) => [service, Number((((cpuMillis(child.pid as number) - (idleBefore.get(service) ?? 0)) * 1000) / IDLE_MS).toFixed(1))]),
);

/**
 * CPU milliseconds per request of each service this run started (and their total) over `requests`
 * requests in `seconds`, less what the service spends idle; a gateway counts only when it served them.
 */
function costPerRequest(before: Map<string, number>, requests: number, seconds: number, through: string) {
  const cost: Record<string, number> = {};
  let total = 0;
  for (const [name, child] of costed) {
    const gateway = name === 'gateway' || name === 'defaultApolloGateway';
    if (gateway && name !== through) continue;
    const spent = cpuMillis(child.pid as number) - (before.get(name) ?? 0) - (idleCpuMsPerSecond[name] ?? 0) * seconds;
    cost[name] = Number((spent / requests).toFixed(2));
    total += spent;
  }
  return { ...cost, total: Number((total / requests).toFixed(2)) };
}

type Load = { scopes: 'oneScope' | 'nineScopes'; varying: boolean };
const LOADS: Record<string, Load> = {
  oneScope: { scopes: 'oneScope', varying: false },
  nineScopes: { scopes: 'nineScopes', varying: false },
  varyingNineScopes: { scopes: 'nineScopes', varying: true },
};
const loads = Object.entries(LOADS).filter(([, load]) => MIX.has(load.varying ? 'varying' : 'nested'));

async function measure(name: string, through: string, run: (authorization: string, n?: number) => Promise<unknown>) {
  const result: Record<string, unknown> = {};
  for (const [label, load] of loads) {
    const tokens = load.scopes === 'oneScope' ? oneScopeClients : nineScopeClients;
    const task = (client: number) => (load.varying ? run(tokens[client % tokens.length] as string, nextN()) : run(tokens[client % tokens.length] as string)).then(() => undefined);
    // Warm-up (compiled code paths, kept-alive connections), not counted.
    await sustained(3000, CONCURRENCY, task);
    const before = new Map([...costed].map(([service, child]) => [service, cpuMillis(child.pid as number)]));
    const began = performance.now();
    const figures = await sustained(DURATION_MS, CONCURRENCY, task);
    const cpuMsPerRequest = costed.size > 0 ? costPerRequest(before, figures.requests, (performance.now() - began) / 1000, through) : undefined;
    result[label] = { ...figures, cpuMsPerRequest, loadAverage1m: Number(loadavg()[0]?.toFixed(2)) };
    say(`${name} ${label}: ${JSON.stringify(result[label])}`);
  }
  return result;
}

const throughput: Record<string, Record<string, unknown>> = {};
if (TARGETS.has('gateway')) throughput.gateway = await measure('gateway', 'gateway', (t, n) => (n === undefined ? post(gatewayUrl, t, NESTED) : post(gatewayUrl, t, NESTED_VARYING, { n })));
if (TARGETS.has('default')) {
  throughput.defaultApolloGateway = await measure('default @apollo/gateway', 'defaultApolloGateway', (t, n) =>
    n === undefined ? post(stockUrl, t, NESTED) : post(stockUrl, t, NESTED_VARYING, { n }),
  );
}
if (TARGETS.has('chain')) throughput.subgraphChain = await measure('subgraph chain', 'chain', (t, n) => chain(t, n));
stock.kill('SIGTERM');

// ---- subscribers -------------------------------------------------------------------------------
type Tracker = { received: Map<string, number> };
const wsUrl = gatewayUrl.replace(/^http/, 'ws');
const subscribers: Array<Tracker & { scope: string; dispose: () => void }> = [];
for (let i = 0; i < SUBSCRIBERS; i++) {
  const scope = i % scopeTokens.length === 0 ? DISTRICT_ID : (streets[(i % scopeTokens.length) - 1]?.id as string);
  const authorization = `Bearer ${scopeTokens[i % scopeTokens.length]}`;
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization }, lazy: false, retryAttempts: 0 });
  const tracker = { scope, received: new Map<string, number>(), dispose: () => void client.dispose() };
  client.subscribe<{ callUpdated: { id: string } }>(
    { query: 'subscription { callUpdated(status: [RAISED]) { id status tier originUnit { name } } }' },
    {
      next: (message) => {
        const id = message.data?.callUpdated.id;
        if (id && !tracker.received.has(id)) tracker.received.set(id, performance.now());
      },
      error: (err) => say(`subscriber ${i}: ${String((err as Error).message ?? err)}`),
      complete: () => undefined,
    },
  );
  subscribers.push(tracker);
}

const gridOf = (streetId: string) => units.find((u) => u.kind === 'grid' && u.path.includes(streetId))?.id as string;
const gridTokens = new Map(await Promise.all(streets.map(async (s) => [s.id, await token(gridOf(s.id), 'grid_worker')] as const)));

async function raise(streetId: string): Promise<{ id: string; sentAt: number }> {
  const sentAt = performance.now();
  const data = await post(gatewayUrl as string, gridTokens.get(streetId) as string, `mutation($input: RaiseCallInput!) { raiseCall(input: $input) { call { id } } }`, {
    input: { title: '施工噪音扰民', description: `bench ${randomUUID()}：工地夜间施工噪音`, category: '城市管理' },
  });
  return { id: data.raiseCall.call.id, sentAt };
}

async function until(what: string, condition: () => boolean, progress: () => string = () => '', ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${progress()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const receivers = (streetId: string) => subscribers.filter((s) => s.scope === DISTRICT_ID || s.scope === streetId);
// Warm-up: calls in every street until each subscriber has had one (every subscription is live;
// 1,000 sockets take a while to connect and subscribe).
const warmUpUntil = Date.now() + 120_000;
while (subscribers.some((s) => s.received.size === 0)) {
  if (Date.now() > warmUpUntil) {
    throw new Error(`${subscribers.filter((s) => s.received.size === 0).length} of ${subscribers.length} subscribers never received a call`);
  }
  for (const street of streets) await raise(street.id);
  // Up to a second for those calls to arrive; then another round for the subscribers still waiting.
  const round = Date.now() + 1000;
  while (Date.now() < round && subscribers.some((s) => s.received.size === 0)) await new Promise((r) => setTimeout(r, 20));
}
const latencies: number[] = [];
let delivered = 0;
for (let i = 0; SUBSCRIBERS > 0 && i < EVENTS; i++) {
  const street = streets[i % streets.length]?.id as string;
  const { id, sentAt } = await raise(street);
  const expected = receivers(street);
  await until(`call ${id} at ${expected.length} subscribers`, () => expected.every((s) => s.received.has(id)));
  for (const s of expected) latencies.push((s.received.get(id) as number) - sentAt);
  delivered += expected.length;
  const leaked = subscribers.filter((s) => s.scope !== DISTRICT_ID && s.scope !== street && s.received.has(id));
  if (leaked.length > 0) throw new Error(`call ${id} reached ${leaked.length} subscribers outside its street`);
}
for (const s of subscribers) s.dispose();

const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
type Figures = Awaited<ReturnType<typeof sustained>>;
/** A figure of ours over the same figure of another target, for each load both ran. */
const versus = (target: string, figure: (f: Figures) => number) =>
  throughput.gateway && throughput[target]
    ? Object.fromEntries(loads.map(([label]) => [label, ratio(figure(throughput.gateway?.[label] as Figures), figure(throughput[target]?.[label] as Figures))]))
    : undefined;
console.log(
  JSON.stringify(
    {
      query: 'Nested, four subgraphs: 20 calls (calls) × origin unit with two parents and handling unit path (party-map), each call\'s score entries with their units (evaluation → party-map), the call\'s demand and enterprise (enterprise); varying: the same with calls(first: $n), n = 1 … 40 in turn',
      checkout: CHECKOUT,
      concurrency: CONCURRENCY,
      seconds: DURATION_MS / 1000,
      idleCpuMsPerSecond,
      throughput,
      gatewayVsDefault_rps: versus('defaultApolloGateway', (f) => f.requestsPerSecond),
      gatewayOverVsChain_p50: versus('subgraphChain', (f) => f.latency_ms.p50),
      subscriptions:
        SUBSCRIBERS > 0
          ? {
              subscribers: SUBSCRIBERS,
              scopes: scopeTokens.length,
              events: EVENTS,
              messagesDelivered: delivered,
              mutationToClient_ms: percentiles(latencies),
            }
          : undefined,
    },
    null,
    2,
  ),
);
// The services go first (they hold the databases), then what this run made.
await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((resolve) => c.once('exit', resolve).kill('SIGTERM'))));
if (databases.length > 0) await dropRun(loadConfig(baseConfig, benchEnv), databases);
process.exit(0);
