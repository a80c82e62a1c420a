// `npm run bench:screen [-- --grids 2000 --calls 5000 --minutes 10]`: the big screen (/screen) in
// Debian's Chromium against the whole hub on the local Kafka and a FerretDB of its own, with `--grids`
// grids on its map and `--calls` open calls raised through the gateway. Prints one JSON line: the time from navigation to the first full paint
// (the map with every grid and every marker drawn, counters and lists filled), by stage; then the
// page's memory sampled while the hub sends it 10 call events a second for `--minutes` (real
// superviseCall mutations, each a call event on hub.call-events, served over graphql-ws): the JS heap
// in use after a forced garbage collection (CDP Performance.getMetrics JSHeapUsedSize), with the DOM
// nodes and event listeners, first / last / max and the least-squares slope in MB a minute.
// Everything runs on throw-away databases and topics, removed afterwards.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { demoPartyMap } from '../demo/party-map.ts';
import { gatewayConfig, startGateway } from '../gateway/app.ts';
import { freePort, launch, stopPid, up } from '../infra/local.ts';
import { mintToken } from '../platform/auth.ts';
import { loadConfig } from '../platform/config.ts';
import { connectMongo } from '../platform/mongo.ts';
import { callsConfig, startCalls } from '../subgraphs/calls/app.ts';
import { evaluationConfig, startEvaluation } from '../subgraphs/evaluation/app.ts';
import { bumpRevision, createModels, type UnitDoc } from '../subgraphs/party-map/models.ts';
import { buildPartyMap, partyMapConfig } from '../subgraphs/party-map/app.ts';
import { launchBrowser } from '../test/support/browser.ts';
import { benchRun, dropRun, graphql, say } from './stats.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '10' }, grids: { type: 'string', default: '2000' }, calls: { type: 'string', default: '5000' } },
});
const MINUTES = Number(values.minutes);
const GRIDS = Number(values.grids);
const OPEN_CALLS = Number(values.calls);
for (const [name, value] of Object.entries({ minutes: MINUTES, grids: GRIDS, calls: OPEN_CALLS })) {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
}
const EVENTS_PER_SECOND = 10;
const SAMPLE_EVERY_MS = 15_000;

const infra = await up(say);
// A FerretDB of the bench's own (free port, data under .data/bench-screen/, removed after): the shared
// one serves every test and bench running beside it, and a write there can wait tens of seconds.
const storePlace = { dataDir: join('.data', 'bench-screen', randomUUID().slice(0, 8)), kafkaPort: 0, controllerPort: 0, mongoPort: await freePort() };
const storePid = await launch('ferretdb', storePlace, say);
const { run, env: runEnv } = benchRun({ ...infra, mongodbUri: `mongodb://127.0.0.1:${storePlace.mongoPort}` });
const databases = { calls: `bench_screen_calls_${run}`, map: `bench_screen_map_${run}`, eval: `bench_screen_eval_${run}` };
const env = { ...runEnv, PORT: '0' };
const baseConfig = loadConfig(callsConfig, { ...env, CALLS_DB: databases.calls });
const r7 = (n: number) => Math.round(n * 1e7) / 1e7;

/** The demo district's grids, each cut into 4 × 4 sub-grids, until the map holds GRIDS grids. */
function extraGrids(have: number, now: Date): UnitDoc[] {
  const basic = demoPartyMap().units.filter((u) => u.kind === 'grid' && u.bbox && !u.id.endsWith('-k1'));
  const out: UnitDoc[] = [];
  for (const grid of basic) {
    const [minLng, minLat, maxLng, maxLat] = grid.bbox as [number, number, number, number];
    const w = (maxLng - minLng) / 4;
    const h = (maxLat - minLat) / 4;
    for (let k = 0; k < 16 && have + out.length < GRIDS; k++) {
      const box = [minLng + (k % 4) * w, minLat + Math.floor(k / 4) * h, minLng + ((k % 4) + 1) * w, minLat + (Math.floor(k / 4) + 1) * h].map(r7) as [number, number, number, number];
      const id = `${grid.id}-s${k}`;
      const ring = [[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]], [box[0], box[1]]];
      out.push({
        _id: id,
        name: `${grid.name}${k + 1}号子网格`,
        kind: 'grid',
        parentId: grid.parentId,
        path: [...grid.path.slice(0, -1), id],
        gridType: 'basic',
        focus: null,
        contacts: [],
        boundary: JSON.stringify({ type: 'Polygon', coordinates: [ring] }),
        bbox: { minLng: box[0], minLat: box[1], maxLng: box[2], maxLat: box[3] },
        centre: { lng: (box[0] + box[2]) / 2, lat: (box[1] + box[3]) / 2 },
        areaSqm: 0,
        version: 1,
        outbox: [],
        outboxPending: false,
        publishedSeq: 1,
        updatedAt: now,
      } as unknown as UnitDoc);
    }
  }
  return out;
}

/** The least-squares slope of (seconds, MB) points, in MB a minute (3 decimals): flat is about 0. */
function slopePerMinute(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const sxy = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  const sxx = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  return sxx > 0 ? Math.round((sxy / sxx) * 60 * 1000) / 1000 : 0;
}

const stops: Array<() => Promise<unknown>> = [];
const cleanUp = async () => {
  for (const stop of stops.splice(0)) await stop().catch(() => undefined);
  await dropRun(baseConfig, Object.values(databases)).catch((err: unknown) => say(`cleanup: ${String(err)}`));
  await stopPid(storePid);
  rmSync(storePlace.dataDir, { recursive: true, force: true });
};
// Stopped early (Ctrl-C), the run still removes its databases and topics.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
try {
  say('starting the hub (calls, party-map with the demo district, evaluation, gateway)');
  const calls = await startCalls(loadConfig(callsConfig, { ...env, CALLS_DB: databases.calls, SUPERVISION_INTERVAL_MS: '3600000' }));
  stops.push(() => calls.service.shutdown('bench'));
  const partyMap = await buildPartyMap(loadConfig(partyMapConfig, { ...env, DEMO_DATA: '1', PARTY_MAP_DB: databases.map, GEO_REFRESH_MS: '1000' }));
  const partyMapUrl = await partyMap.service.listen();
  stops.push(() => partyMap.service.shutdown('bench'));
  const evaluation = await startEvaluation(loadConfig(evaluationConfig, { ...env, EVALUATION_DB: databases.eval }));
  stops.push(() => evaluation.service.shutdown('bench'));
  const gateway = await startGateway(
    loadConfig(gatewayConfig, { ...env, CALLS_URL: `${calls.url}/graphql`, PARTY_MAP_URL: `${partyMapUrl}/graphql`, EVALUATION_URL: `${evaluation.url}/graphql`, RATE_LIMIT_PER_MINUTE: '1000000' }),
  );
  stops.push(() => gateway.service.shutdown('bench'));
  const graph = `${gateway.url}/graphql`;

  // 2,000 grids on the map: the demo's, and sub-grids of them written straight into party-map's database.
  const gridCount = () => partyMap.directory.snapshot.unitList.filter((u) => u.kind === 'grid').length;
  const conn = await connectMongo(baseConfig, databases.map);
  const models = createModels(conn);
  const extra = extraGrids(gridCount(), new Date());
  if (gridCount() + extra.length < GRIDS) throw new Error(`--grids ${GRIDS}: the demo district's grids cut 4 × 4 make at most ${gridCount() + extra.length}`);
  for (let i = 0; i < extra.length; i += 500) await models.Unit.insertMany(extra.slice(i, i + 500), { lean: true });
  await bumpRevision(models);
  await conn.close();
  while (gridCount() < GRIDS) await new Promise((r) => setTimeout(r, 200));
  say(`party-map: ${gridCount()} grids`);

  // 5,000 open calls, raised through the gateway by the grid workers of the demo district's grids
  // (the intake topic stalled for minutes on the shared FerretDB; the API is the same rules, and
  // throttled only by the hub's own answers).
  // Basic grids: a special grid (-k1) is no unit a grid worker raises for.
  const grids = demoPartyMap().units.filter((u) => u.kind === 'grid' && u.bbox && !u.id.endsWith('-k1'));
  const gridTokens = new Map(await Promise.all(grids.map(async (g) => [g.id, await mintToken({ subject: `bench-${g.id}`, unitId: g.id, role: 'grid_worker' })] as const)));
  const RAISE_CONCURRENCY = 10;
  let raised = 0;
  let refused = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: RAISE_CONCURRENCY }, async () => {
      for (let i = next++; i < OPEN_CALLS; i = next++) {
        const grid = grids[i % grids.length] as (typeof grids)[number];
        const [minLng, minLat, maxLng, maxLat] = grid.bbox as [number, number, number, number];
        const location = { lng: r7(minLng + (((i * 7919) % 1000) / 1000) * (maxLng - minLng)), lat: r7(minLat + (((i * 104729) % 1000) / 1000) * (maxLat - minLat)) };
        const input = { title: `占道经营 ${i}`, description: `路口流动摊贩占道经营（第${i}件）。`, category: '城市管理', priority: i % 10 === 0 ? 'URGENT' : 'NORMAL', location };
        await graphql(graph, gridTokens.get(grid.id) as string, 'mutation($input: RaiseCallInput!) { raiseCall(input: $input) { call { id } } }', { input })
          .then(() => raised++)
          .catch((err: unknown) => {
            if (refused++ === 0) say(`first refused call: ${(err as Error).message}`);
          });
        if ((raised + refused) % 500 === 0) say(`calls raised: ${raised}/${OPEN_CALLS} (${refused} refused)`);
      }
    }),
  );
  say(`calls raised: ${raised}/${OPEN_CALLS} (${refused} refused)`);

  // The page, signed in as the district command centre (the token put in the tab before it loads).
  const token = await mintToken({ subject: 'bench-screen', unitId: 'huangpu-command', role: 'district_command' });
  const browser = await launchBrowser();
  stops.unshift(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  await context.addInitScript((t) => sessionStorage.setItem('huying.token', t), token);
  const page = await context.newPage();
  await page.goto(`${gateway.url}/screen`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  await page.waitForFunction(() => (window as any).huyingScreen.timings().painted !== undefined, undefined, { timeout: 60_000 });
  const timings = await page.evaluate(() => (window as any).huyingScreen.timings());
  const drawn = await page.evaluate(() => ({ grids: (window as any).huyingScreen.gridIds().length, markers: (window as any).huyingScreen.callIds().length }));
  say(`first full paint after ${timings.painted} ms: ${JSON.stringify(drawn)}`);

  // Memory under 10 events a second: supervision notes on the open calls, round robin.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const memory = async (atSeconds: number) => {
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? NaN;
    return { atSeconds, heapMb: Math.round((metric('JSHeapUsedSize') / 1_048_576) * 10) / 10, domNodes: metric('Nodes'), listeners: metric('JSEventListeners') };
  };
  const ids: string[] = (await page.evaluate(() => (window as any).huyingScreen.callIds())) as string[];
  const samples = [await memory(0)];
  const started = Date.now();
  const until = started + MINUTES * 60_000;
  let sent = 0;
  let failed = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let nextSample = started + SAMPLE_EVERY_MS;
  // Open loop: one event every 100 ms whatever the hub's answer time, so the page gets 10 a second
  // even when a mutation takes longer than a second on a loaded machine.
  const sender = setInterval(() => {
    const id = ids[sent++ % ids.length];
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    void graphql(graph, token, 'mutation($id: ID!, $key: String) { superviseCall(id: $id, note: "大屏压测督办", idempotencyKey: $key) { id } }', { id, key: randomUUID() })
      .catch((err: unknown) => {
        if (failed++ === 0) say(`first refused event: ${(err as Error).message}`);
      })
      .finally(() => inFlight--);
  }, 1000 / EVENTS_PER_SECOND);
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(nextSample, until) - Date.now())));
    if (Date.now() >= until) break;
    samples.push(await memory(Math.round((Date.now() - started) / 1000)));
    say(`heap ${samples.at(-1)?.heapMb} MB, ${samples.at(-1)?.domNodes} DOM nodes after ${samples.at(-1)?.atSeconds} s, ${sent} events sent, ${inFlight} in flight`);
    nextSample += SAMPLE_EVERY_MS;
  }
  clearInterval(sender);
  const sendSeconds = (Date.now() - started) / 1000;
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 100));
  samples.push(await memory(Math.round((Date.now() - started) / 1000)));
  const heaps = samples.map((s) => s.heapMb);
  console.log(
    JSON.stringify({
      bench: 'screen',
      grids: drawn.grids,
      callsAsked: OPEN_CALLS,
      callsRaised: raised,
      openCalls: await page.evaluate(() => (window as any).huyingScreen.openCalls()),
      markersDrawn: drawn.markers,
      firstFullPaintMs: timings.painted,
      stagesMs: timings,
      memory: {
        minutes: MINUTES,
        eventsSent: sent,
        eventsFailed: failed,
        eventsPerSecond: Math.round((sent / sendSeconds) * 10) / 10,
        maxInFlight,
        heapMbFirst: heaps[0],
        heapMbLast: heaps.at(-1),
        heapMbMax: Math.max(...heaps),
        heapMbPerMinute: slopePerMinute(samples.map((s) => [s.atSeconds, s.heapMb])),
        domNodesFirst: samples[0]?.domNodes,
        domNodesLast: samples.at(-1)?.domNodes,
        samples,
      },
    }),
  );
} finally {
  await cleanUp();
}
