// `npm run bench:gateway [-- --url <gateway> --concurrency 50 --seconds 10 --subscribers 1000 --profile <dir>]`
//
// Side by side in one run, on the same subgraphs and the same load: a nested query across the
// subgraphs (calls → party-map, three levels of units) at fixed concurrency through
//   - the gateway under test (ours, or any gateway given with --url),
//   - a stock @apollo/gateway (bench/default-gateway.ts),
//   - the subgraphs' own chain: the same data fetched from the subgraphs directly, as the query plan
//     does (the gateway's overhead is its latency over this);
// each for one access scope (a dashboard's identical operations) and for nine scopes (the district
// and every street: nothing may be shared across them). Then event-to-client latency with many
// graphql-ws subscribers: from sending a raiseCall mutation to each subscriber's message.
//
// Without --url it starts everything itself (subgraphs with demo data in throw-away databases and
// topics, our gateway) on the local Kafka and FerretDB. With --url it measures a running stack
// (`npm start`): the subgraphs at CALLS_URL / PARTY_MAP_URL (default ports) and the tokens signed
// with JWT_SECRET (or the development key). Prints one JSON document.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { DISTRICT_ID, demoUnits } from '../demo/district.ts';
import { up } from '../infra/local.ts';
import { mintToken, type Role } from '../platform/auth.ts';
import { SERVICES } from '../scripts/services.ts';
import { benchRun, dropRun, graphql as post, percentiles, say, sustained } from './stats.ts';
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
  },
});
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
// The same data from the subgraphs themselves, as the query plan fetches it: the calls, then their
// units (party-map), the calls' score entries (evaluation) and demands (enterprise), then the scored units.
const CHAIN_CALLS = /* GraphQL */ `
  { calls(first: 20) { edges { node { id title status tier priority originUnit { id } handlingUnit { id } } } } }
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
const stopAll = () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
};
process.on('exit', stopAll);

async function waitReady(url: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    if (await fetch(url).then((r) => r.status < 500, () => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} was not ready within 120 s`);
}

function launch(name: string, command: string[], env: Record<string, string>): ChildProcess {
  const profiling = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}/${name.replace(/\W+/g, '-')}`] : [];
  const child = spawn(process.execPath, [...profiling, '--import', 'tsx', ...command], {
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
  // Every subgraph the supergraph names, each on port 5000 + its usual port's last digits.
  const ports: Record<string, number> = {};
  for (const [name, entry] of Object.entries(SERVICES)) {
    if (!SUBGRAPHS.includes(name)) continue;
    const port = entry.port + 1000;
    ports[name] = port;
    const dbVariable = `${name.replace('-', '_').toUpperCase()}_DB`;
    const database = `bench_${run}_${name.replace('-', '_')}`;
    databases.push(database);
    const child = launch(name, ['scripts/service.ts', name], { ...benchEnv, PORT: String(port), [dbVariable]: database });
    await waitReady(`http://127.0.0.1:${port}/readyz`, child, name);
  }
  callsUrl = `http://127.0.0.1:${ports.calls}/graphql`;
  partyMapUrl = `http://127.0.0.1:${ports['party-map']}/graphql`;
  evaluationUrl = `http://127.0.0.1:${ports.evaluation}/graphql`;
  enterpriseUrl = `http://127.0.0.1:${ports.enterprise}/graphql`;
  for (const [name, port] of Object.entries(ports)) benchEnv[`${name.replace('-', '_').toUpperCase()}_URL`] = `http://127.0.0.1:${port}/graphql`;
  const gateway = launch('gateway', ['scripts/service.ts', 'gateway'], { ...benchEnv, PORT: '5000' });
  await waitReady('http://127.0.0.1:5000/readyz', gateway, 'gateway');
  gatewayUrl = 'http://127.0.0.1:5000/graphql';
} else {
  Object.assign(benchEnv, { CALLS_URL: callsUrl, PARTY_MAP_URL: partyMapUrl, EVALUATION_URL: evaluationUrl, ENTERPRISE_URL: enterpriseUrl });
}
const stock = launch('default @apollo/gateway', ['bench/default-gateway.ts'], { ...benchEnv, PORT: '5100' });
await waitReady('http://127.0.0.1:5100/', stock, 'default gateway');
const stockUrl = 'http://127.0.0.1:5100/';

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


async function chain(authorization: string) {
  const calls = (await post(callsUrl, authorization, CHAIN_CALLS)).calls.edges.map((e: any) => e.node);
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

async function measure(name: string, run: (authorization: string) => Promise<unknown>) {
  const result: Record<string, unknown> = {};
  for (const [scopes, tokens] of [
    ['oneScope', oneScopeClients],
    ['nineScopes', nineScopeClients],
  ] as const) {
    // Warm-up (compiled code paths, kept-alive connections), not counted.
    await sustained(3000, CONCURRENCY, (client) => run(tokens[client % tokens.length] as string).then(() => undefined));
    result[scopes] = await sustained(DURATION_MS, CONCURRENCY, (client) =>
      run(tokens[client % tokens.length] as string).then(() => undefined),
    );
    say(`${name} ${scopes}: ${JSON.stringify(result[scopes])}`);
  }
  return result;
}

const throughput = {
  gateway: await measure('gateway', (t) => post(gatewayUrl, t, NESTED)),
  defaultApolloGateway: await measure('default @apollo/gateway', (t) => post(stockUrl, t, NESTED)),
  subgraphChain: await measure('subgraph chain', (t) => chain(t)),
};
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
for (let i = 0; i < EVENTS; i++) {
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
const one = (r: Record<string, unknown>) => r.oneScope as Awaited<ReturnType<typeof sustained>>;
const nine = (r: Record<string, unknown>) => r.nineScopes as Awaited<ReturnType<typeof sustained>>;
console.log(
  JSON.stringify(
    {
      query: 'Nested, four subgraphs: 20 calls (calls) × origin unit with two parents and handling unit path (party-map), each call\'s score entries with their units (evaluation → party-map), the call\'s demand and enterprise (enterprise)',
      concurrency: CONCURRENCY,
      seconds: DURATION_MS / 1000,
      throughput,
      gatewayVsDefault_rps: { oneScope: ratio(one(throughput.gateway).requestsPerSecond, one(throughput.defaultApolloGateway).requestsPerSecond), nineScopes: ratio(nine(throughput.gateway).requestsPerSecond, nine(throughput.defaultApolloGateway).requestsPerSecond) },
      gatewayOverVsChain_p50: { oneScope: ratio(one(throughput.gateway).latency_ms.p50, one(throughput.subgraphChain).latency_ms.p50), nineScopes: ratio(nine(throughput.gateway).latency_ms.p50, nine(throughput.subgraphChain).latency_ms.p50) },
      subscriptions: {
        subscribers: SUBSCRIBERS,
        scopes: scopeTokens.length,
        events: EVENTS,
        messagesDelivered: delivered,
        mutationToClient_ms: percentiles(latencies),
      },
    },
    null,
    2,
  ),
);
// The services go first (they hold the databases), then what this run made.
await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((resolve) => c.once('exit', resolve).kill('SIGTERM'))));
if (databases.length > 0) await dropRun(loadConfig(baseConfig, benchEnv), databases);
process.exit(0);
