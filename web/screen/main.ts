// The command centre's big screen (指挥大屏), 1920×1080: the scope's streets, communities and grids
// drawn from the party-map subgraph's own polygons (no online tiles), open calls as markers coloured
// by status and overdue state, 三防 warnings shading their streets (those in force when the page opens
// too), counters, the due and overdue lists and this month's rankings. Everything after the first
// load arrives over graphql-ws; after a network drop or a gateway restart the client reconnects,
// resubscribes and refetches what it missed, without reloading the page.
import { GeoComponent, TooltipComponent } from 'echarts/components';
import { getMap, init, registerMap, use, type EChartsType } from 'echarts/core';
import { ScatterChart } from 'echarts/charts';
import { CanvasRenderer } from 'echarts/renderers';
import { currentPeriod, escapeHtml, gql, type LinkState, liveClient, shanghai, subscribe } from '../shared/api.ts';
import { claimsOf } from '../shared/session.ts';
import { ensureSignedIn } from '../shared/sign-in.ts';

use([GeoComponent, TooltipComponent, ScatterChart, CanvasRenderer]);

/** A call counts as due soon when its next deadline falls within this many hours (a display default). */
const DUE_SOON_HOURS = 24;
/** Rows each list shows; the badge gives the full count. */
const LIST_ROWS = 12;
/** Live changes are drawn together at most this often, so a storm of events costs one redraw. */
const REDRAW_MS = 250;
/** The rankings and today's count change slowly: refreshed at most this often after an event. */
const SLOW_REFRESH_MS = 5_000;
const OPEN_STATUSES = ['RAISED', 'DISPATCHED', 'SIGNED', 'RESPONDED', 'COMPLETED', 'REOPENED'];
const AREA_KINDS = new Set(['DISTRICT', 'STREET', 'COMMUNITY', 'GRID']);

const STATUS: Record<string, { text: string; colour: string }> = {
  RAISED: { text: '自办中', colour: '#90a4ae' },
  DISPATCHED: { text: '待签收', colour: '#ffca28' },
  SIGNED: { text: '已签收', colour: '#29b6f6' },
  RESPONDED: { text: '已响应', colour: '#26c6da' },
  COMPLETED: { text: '待评价', colour: '#66bb6a' },
  REOPENED: { text: '返工', colour: '#ab47bc' },
};
const OVERDUE_COLOUR = '#ff1744';
/** Signal colours (Guangdong typhoon and rainstorm warnings), most severe first. */
const SIGNALS: Record<string, { text: string; fill: string; ink: string; rank: number }> = {
  RED: { text: '红色', fill: '#d50000', ink: '#fff', rank: 5 },
  ORANGE: { text: '橙色', fill: '#ff6d00', ink: '#fff', rank: 4 },
  YELLOW: { text: '黄色', fill: '#ffd600', ink: '#222', rank: 3 },
  BLUE: { text: '蓝色', fill: '#2962ff', ink: '#fff', rank: 2 },
  WHITE: { text: '白色', fill: '#eceff1', ink: '#222', rank: 1 },
};
const HAZARDS: Record<string, string> = { RAINSTORM: '暴雨', TYPHOON: '台风', FLOOD: '洪水', DROUGHT: '干旱', STORM_SURGE: '风暴潮' };

interface MapUnit {
  id: string;
  name: string;
  kind: string;
  pathIds: string[];
  boundary: { geometry: { type: string; coordinates: unknown }; centre: { lng: number; lat: number } } | null;
}

interface OpenCall {
  id: string;
  title: string;
  status: string;
  priority: string;
  location: { lng: number; lat: number } | null;
  originUnit: { id: string };
  handlingUnit: { id: string; name: string };
  deadlines: { sign: string | null; respond: string | null; complete: string | null };
  overdueSteps: string[];
}

interface FloodAlert {
  alertId: string;
  kind: string;
  hazard: string | null;
  colour: string | null;
  level: string | null;
  title: string;
  areaUnitIds: string[];
  inspectBy: string | null;
}

interface Counters {
  raised: number;
  calledUpToDepartments: number;
  completed: number;
  completionRate: number;
  onTimeRate: number;
  satisfactionRate: number;
  overdueNow: number;
}

const CALL_FIELDS = `id title status priority location { lng lat } originUnit { id } handlingUnit { id name }
  deadlines { sign respond complete } overdueSteps`;
const COUNTER_FIELDS = 'raised calledUpToDepartments completed completionRate onTimeRate satisfactionRate overdueNow';
const ALERT_FIELDS = 'alertId kind hazard colour level title areaUnitIds inspectBy';

const $ = (id: string) => document.getElementById(id) as HTMLElement;

const units = new Map<string, MapUnit>();
const calls = new Map<string, OpenCall>();
const warnings = new Map<string, FloodAlert>();
let scope: MapUnit;
let chart: EChartsType;
let counters: Counters | undefined;
let raisedToday: number | undefined;

/**
 * For each open call, when the page received it and when it was first drawn on the map; and when the
 * raised counter last changed on screen (epoch ms: the browser tests measure latency from the API).
 */
const callSeen = new Map<string, { received: number; drawn?: number }>();
let raisedShown: { raised: number; received: number } | undefined;

/** When each stage of the first load finished, in ms since navigation (the bench reads them). */
const timings: Record<string, number> = {};
const mark = (stage: string) => (timings[stage] = Math.round(performance.now()));

async function main() {
  const token = await ensureSignedIn('指挥大屏', 'district_command');
  const me = claimsOf(token);
  const { unit } = await gql<{ unit: { id: string; kind: string; parent: { id: string } | null } | null }>(
    'query($id: ID!) { unit(id: $id) { id kind parent { id } } }',
    { id: me.unitId },
  );
  // A command centre, department or leadership watches the area above it; an area unit, itself.
  const scopeId = unit && AREA_KINDS.has(unit.kind) ? unit.id : (unit?.parent?.id ?? me.unitId);
  mark('signedIn');
  chart = init($('map'), undefined, { renderer: 'canvas' });
  await loadMap(scopeId);
  mark('mapLoaded');
  $('title').textContent = `${scope.name}呼应指挥大屏`;
  $('due-window').textContent = `${DUE_SOON_HOURS}小时`;
  drawMap();
  await Promise.all([loadCalls(), loadCounters(), loadRankings(), loadRaisedToday()]);
  mark('dataLoaded');
  redraw();
  // The first full paint: the canvas has drawn the map with every marker.
  chart.on('finished', () => {
    timings.painted ??= Math.round(performance.now());
  });
  goLive();
  setInterval(tick, 1000);
  tick();
  exposeForTests();
}

/** Every street, community and grid of the scope, with its polygon: the kinds side by side, each page by page. */
async function loadMap(scopeId: string) {
  await Promise.all(
    ['DISTRICT', 'STREET', 'COMMUNITY', 'GRID'].map(async (kind) => {
      let after: string | null = null;
      do {
        const page: { units: { edges: Array<{ node: MapUnit }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await gql(
          `query($kind: UnitKind, $after: String) { units(kind: $kind, first: 100, after: $after) {
            edges { node { id name kind pathIds boundary { geometry centre { lng lat } } } } pageInfo { hasNextPage endCursor } } }`,
          { kind, after },
        );
        for (const { node } of page.units.edges) if (node.pathIds.includes(scopeId)) units.set(node.id, node);
        after = page.units.pageInfo.hasNextPage ? page.units.pageInfo.endCursor : null;
      } while (after);
    }),
  );
  scope = units.get(scopeId) as MapUnit;
}

const ofKind = (kind: string) => [...units.values()].filter((u) => u.kind === kind && u.boundary && u.id !== scope.id);

function drawMap() {
  // Grids first, then communities and streets over them, so the coarser borders stay visible.
  const features = ['GRID', 'COMMUNITY', 'STREET'].flatMap((kind) =>
    ofKind(kind).map((u) => ({ type: 'Feature', properties: { name: u.id }, geometry: u.boundary?.geometry })),
  );
  registerMap('scope', { type: 'FeatureCollection', features } as never);
  const streets = ofKind('STREET');
  chart.setOption({
    tooltip: { trigger: 'item', backgroundColor: 'rgba(6,20,43,0.9)', textStyle: { color: '#fff' } },
    geo: {
      map: 'scope',
      roam: true,
      silent: true,
      layoutCenter: ['50%', '50%'],
      layoutSize: '100%',
      itemStyle: { areaColor: 'rgba(20, 80, 160, 0.35)', borderColor: 'rgba(110, 190, 255, 0.35)', borderWidth: 0.5 },
      regions: regionStyles(),
    },
    series: [
      {
        id: 'street-names',
        type: 'scatter',
        coordinateSystem: 'geo',
        silent: true,
        symbolSize: 0,
        label: { show: true, formatter: '{b}', color: '#e3f2fd', fontSize: 18, fontWeight: 'bold', textShadowColor: '#000', textShadowBlur: 6 },
        data: streets.map((s) => ({ name: s.name, value: [s.boundary?.centre.lng, s.boundary?.centre.lat] })),
        z: 3,
      },
      { id: 'calls', type: 'scatter', coordinateSystem: 'geo', data: [], z: 4, tooltip: { formatter: (p: { data: { tip: string } }) => p.data.tip } },
    ],
  });
  $('map-legend').innerHTML =
    `网格 <b id="grid-count">${ofKind('GRID').length}</b> 个 · 社区 ${ofKind('COMMUNITY').length} 个 · 街道 ${streets.length} 个<br>` +
    Object.values(STATUS)
      .map((s) => `<i style="background:${s.colour}"></i>${s.text}`)
      .join('') +
    `<i style="background:${OVERDUE_COLOUR}"></i>逾期`;
}

/** Street and community borders over the grids, and each warned area shaded with its signal colour. */
function regionStyles() {
  const shade = shadedAreas();
  const fill = (id: string) => {
    const colour = shade[id];
    return colour ? hexWithAlpha(SIGNALS[colour]?.fill ?? '#d50000', 0.5) : 'rgba(0,0,0,0)';
  };
  return [
    ...ofKind('COMMUNITY').map((u) => ({ name: u.id, itemStyle: { areaColor: fill(u.id), borderColor: 'rgba(120, 200, 255, 0.7)', borderWidth: 1.2 } })),
    ...ofKind('STREET').map((u) => ({ name: u.id, itemStyle: { areaColor: fill(u.id), borderColor: '#4fc3f7', borderWidth: 2.5 } })),
  ];
}

/**
 * The areas a warning shades: the district's streets, or on a street's screen its communities (the
 * scope's own area is not drawn as a region). Area id → the colour of the most severe warning over it.
 */
function shadedAreas(): Record<string, string> {
  const kind = scope.kind === 'DISTRICT' ? 'STREET' : 'COMMUNITY';
  const shade: Record<string, string> = {};
  for (const warning of warnings.values()) {
    const colour = warning.colour ?? 'RED';
    for (const area of areasOf(kind, warning.areaUnitIds)) {
      const now = shade[area];
      if (!now || (SIGNALS[colour]?.rank ?? 0) > (SIGNALS[now]?.rank ?? 0)) shade[area] = colour;
    }
  }
  return shade;
}

/** The scope's areas of a kind that an alert's area covers or lies in. */
function areasOf(kind: string, areaIds: string[]): string[] {
  return ofKind(kind)
    .filter((s) => areaIds.some((a) => s.pathIds.includes(a) || units.get(a)?.pathIds.includes(s.id)))
    .map((s) => s.id);
}

/** The scope's streets an alert's area covers (the district: every street). */
const streetsOf = (areaIds: string[]) => areasOf('STREET', areaIds);

const hexWithAlpha = (hex: string, alpha: number) => {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
};

async function loadCalls() {
  const fresh = new Map<string, OpenCall>();
  let after: string | null = null;
  do {
    const page: { calls: { edges: Array<{ node: OpenCall }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await gql(
      `query($filter: CallFilter, $after: String) { calls(filter: $filter, first: 100, after: $after) {
        edges { node { ${CALL_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
      { filter: { status: OPEN_STATUSES, unitId: scope.id }, after },
    );
    for (const { node } of page.calls.edges) fresh.set(node.id, node);
    after = page.calls.pageInfo.hasNextPage ? page.calls.pageInfo.endCursor : null;
  } while (after);
  calls.clear();
  const received = Date.now();
  for (const [id, call] of fresh) {
    calls.set(id, call);
    if (!callSeen.has(id)) callSeen.set(id, { received });
  }
}

async function loadCounters() {
  const data = await gql<{ dashboardCounters: Counters }>(`query($scope: ID!) { dashboardCounters(scope: $scope) { ${COUNTER_FIELDS} } }`, { scope: scope.id });
  counters = data.dashboardCounters;
}

async function loadRaisedToday() {
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
  const from = new Date(`${day}T00:00:00+08:00`);
  const to = new Date(from.getTime() + 86_400_000);
  const data = await gql<{ callCounters: { raised: number } }>(
    'query($scope: ID!, $from: DateTime!, $to: DateTime!) { callCounters(scopeUnitId: $scope, from: $from, to: $to) { raised } }',
    { scope: scope.id, from: from.toISOString(), to: to.toISOString() },
  ).catch(() => undefined);
  raisedToday = data?.callCounters.raised;
}

async function loadRankings() {
  const period = currentPeriod();
  for (const [kind, list] of [['DEPARTMENT', 'rank-departments'], ['STREET', 'rank-streets']] as const) {
    const data = await gql<{ rankings: { edges: Array<{ node: { rank: number; score: number; unit: { name: string } } }> } }>(
      'query($kind: RankedKind!, $period: String!) { rankings(kind: $kind, period: $period, first: 5) { edges { node { rank score unit { name } } } } }',
      { kind, period },
    ).catch(() => undefined);
    const rows = data?.rankings.edges ?? [];
    $(list).innerHTML = rows.length
      ? rows.map(({ node }) => `<li>${escapeHtml(node.unit.name)}<span>${node.score.toFixed(1)}</span></li>`).join('')
      : '<li class="empty">本月暂无评分</li>';
  }
}

/** The next step a call waits for, and when it is due. */
function nextDeadline(call: OpenCall): string | null {
  if (call.status === 'DISPATCHED') return call.deadlines.sign;
  if (call.status === 'COMPLETED') return null; // with the caller, to confirm
  if (call.status === 'SIGNED' && call.deadlines.respond) return call.deadlines.respond;
  return call.deadlines.complete;
}

const isOverdue = (call: OpenCall, now: number) => call.overdueSteps.length > 0 || (nextDeadline(call) !== null && Date.parse(nextDeadline(call) as string) < now);

/** Where a call goes on the map: its own point, or inside the unit that raised or handles it. */
function placeOf(call: OpenCall): [number, number] | undefined {
  if (call.location) return [call.location.lng, call.location.lat];
  const unit = units.get(call.originUnit.id) ?? units.get(call.handlingUnit.id);
  const box = unit?.boundary;
  if (!box) return undefined;
  // Spread calls without a point around the unit's centre, the same place every time for one call.
  let hash = 0;
  for (const c of call.id) hash = (hash * 31 + c.charCodeAt(0)) | 0;
  const spread = unit.kind === 'GRID' ? 0.002 : 0.006;
  return [box.centre.lng + (((hash & 0xff) / 255) - 0.5) * spread, box.centre.lat + ((((hash >> 8) & 0xff) / 255) - 0.5) * spread];
}

let redrawTimer: ReturnType<typeof setTimeout> | undefined;
let lastRedraw = 0;
/** A change is drawn at once after a quiet spell, else with the others at most REDRAW_MS after the last redraw. */
function scheduleRedraw() {
  redrawTimer ??= setTimeout(
    () => {
      redrawTimer = undefined;
      redraw();
    },
    Math.max(0, lastRedraw + REDRAW_MS - performance.now()),
  );
}

function redraw() {
  lastRedraw = performance.now();
  const now = Date.now();
  const points = [];
  for (const call of calls.values()) {
    const at = placeOf(call);
    if (!at) continue;
    const overdue = isOverdue(call, now);
    const status = STATUS[call.status];
    points.push({
      name: call.id,
      value: at,
      symbolSize: overdue ? 14 : call.priority === 'URGENT' ? 11 : 8,
      itemStyle: { color: overdue ? OVERDUE_COLOUR : (status?.colour ?? '#fff'), borderColor: overdue ? '#fff' : 'transparent', borderWidth: overdue ? 1.5 : 0 },
      tip: `${escapeHtml(call.title)}<br>${status?.text ?? call.status}${overdue ? ' · 逾期' : ''} · ${escapeHtml(call.handlingUnit.name)}`,
    });
  }
  chart.setOption({ series: [{ id: 'calls', data: points }], geo: { regions: regionStyles() } });
  const drawnAt = Date.now();
  for (const [id, seen] of callSeen) {
    if (!calls.has(id)) callSeen.delete(id);
    else seen.drawn ??= drawnAt;
  }
  drawCounters();
  drawLists(now);
  drawBanner();
}

function drawCounters() {
  const pct = (rate: number | undefined) => (rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`);
  const tiles: Array<[string, string, string, boolean?]> = [
    ['raised-today', '今日呼叫', raisedToday === undefined ? '—' : String(raisedToday)],
    ['raised', '本月呼叫', String(counters?.raised ?? '—')],
    ['called-up', '呼叫部门', String(counters?.calledUpToDepartments ?? '—')],
    ['completed', '本月办结', String(counters?.completed ?? '—')],
    ['completion-rate', '办结率', pct(counters?.completionRate)],
    ['on-time-rate', '按期办结率', pct(counters?.onTimeRate)],
    ['satisfaction', '满意率', pct(counters?.satisfactionRate)],
    ['overdue-now', '当前逾期', String(counters?.overdueNow ?? '—'), (counters?.overdueNow ?? 0) > 0],
    ['open-now', '在办事项', String(calls.size)],
  ];
  $('counters').innerHTML = tiles
    .map(([id, label, value, alarm]) => `<div class="counter${alarm ? ' alarm' : ''}" data-counter="${id}"><div class="label">${label}</div><div class="value">${value}</div></div>`)
    .join('');
}

function drawLists(now: number) {
  const timed = [...calls.values()].map((call) => ({ call, due: nextDeadline(call) })).filter((c) => c.due !== null);
  const overdue = timed.filter((c) => isOverdue(c.call, now)).sort((a, b) => Date.parse(a.due as string) - Date.parse(b.due as string));
  const soon = timed
    .filter((c) => !isOverdue(c.call, now) && Date.parse(c.due as string) - now <= DUE_SOON_HOURS * 3_600_000)
    .sort((a, b) => Date.parse(a.due as string) - Date.parse(b.due as string));
  const rows = (list: typeof timed) =>
    list
      .slice(0, LIST_ROWS)
      .map(
        ({ call, due }) =>
          `<li data-call="${escapeHtml(call.id)}"><span class="what">${escapeHtml(call.title)} · ${escapeHtml(call.handlingUnit.name)}</span><span class="when">${shanghai(due)}</span></li>`,
      )
      .join('');
  $('overdue').innerHTML = rows(overdue);
  $('due-soon').innerHTML = rows(soon);
  $('overdue-count').textContent = String(overdue.length);
  $('due-count').textContent = String(soon.length);
}

function drawBanner() {
  const banner = $('flood-banner');
  const active = [...warnings.values()].sort((a, b) => (SIGNALS[b.colour ?? '']?.rank ?? 0) - (SIGNALS[a.colour ?? '']?.rank ?? 0));
  const top = active[0];
  if (!top) {
    banner.hidden = true;
    return;
  }
  const signal = SIGNALS[top.colour ?? ''] ?? SIGNALS.RED;
  const streets = streetsOf(top.areaUnitIds).map((id) => units.get(id)?.name ?? id);
  banner.hidden = false;
  banner.style.background = signal?.fill ?? '#d50000';
  banner.style.color = signal?.ink ?? '#fff';
  banner.textContent =
    `⚠ 三防预警：${top.title}（${HAZARDS[top.hazard ?? ''] ?? ''}${signal?.text ?? ''}信号${top.level ? ` · ${top.level}级应急响应` : ''}）` +
    ` · 涉及 ${streets.join('、') || scope.name}` +
    (top.inspectBy ? ` · 巡查时限 ${shanghai(top.inspectBy)}` : '') +
    (active.length > 1 ? ` · 另有 ${active.length - 1} 条预警生效` : '');
}

function setLink(state: LinkState) {
  const text = { connecting: '连接中', live: '实时', reconnecting: '重连中', 'signed-out': '登录已失效' }[state];
  const link = $('link');
  link.className = `link ${state}`;
  link.textContent = text;
  link.dataset.state = state;
}

let slowTimer: ReturnType<typeof setTimeout> | undefined;
function refreshSlowly() {
  slowTimer ??= setTimeout(() => {
    slowTimer = undefined;
    void Promise.all([loadRankings(), loadRaisedToday()]).then(scheduleRedraw);
  }, SLOW_REFRESH_MS);
}

function goLive() {
  // After a drop the subscriptions are resubscribed by the client; what changed meanwhile is fetched again.
  const client = liveClient(setLink, () => {
    void Promise.all([loadCalls(), loadCounters(), loadRankings(), loadRaisedToday()]).then(redraw);
  });
  const report = (err: unknown) => console.warn('subscription', err);
  subscribe<{ callUpdated: OpenCall & { status: string } }>(client, `subscription { callUpdated { ${CALL_FIELDS} } }`, {}, ({ callUpdated: call }) => {
    if (OPEN_STATUSES.includes(call.status)) {
      calls.set(call.id, call);
      if (!callSeen.has(call.id)) callSeen.set(call.id, { received: Date.now() });
    } else calls.delete(call.id);
    scheduleRedraw();
    refreshSlowly();
  }, report);
  subscribe<{ dashboardCounters: Counters }>(client, `subscription($scope: ID!) { dashboardCounters(scope: $scope) { ${COUNTER_FIELDS} } }`, { scope: scope.id }, (data) => {
    if (data.dashboardCounters.raised !== counters?.raised) raisedShown = { raised: data.dashboardCounters.raised, received: Date.now() };
    counters = data.dashboardCounters;
    drawCounters(); // a few tiles: drawn at once, not with the map
  }, report);
  // From the start of the gateway's retained window (after: "retained", gateway/replay.ts): the warnings
  // issued and lifted before the page opened come first, in order, so the ones in force show at once;
  // resubscribed after a drop, the same replay brings the lifts it missed.
  subscribe<{ floodAlerts: FloodAlert }>(client, `subscription($area: ID) { floodAlerts(area: $area, after: "retained") { ${ALERT_FIELDS} } }`, { area: scope.id }, ({ floodAlerts: alert }) => {
    if (alert.kind === 'WARNING') warnings.set(alert.alertId, alert);
    else if (alert.kind === 'WARNING_LIFTED') warnings.delete(alert.alertId);
    scheduleRedraw();
  }, report);
}

function tick() {
  $('clock').textContent = new Date().toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
  // Deadlines pass without any event: the lists and markers follow the clock every half minute.
  if (new Date().getSeconds() % 30 === 0) scheduleRedraw();
}

/** Read-only views of what the screen has drawn, for the browser tests and the bench. */
function exposeForTests() {
  (window as unknown as { huyingScreen: unknown }).huyingScreen = {
    gridIds: () => ofKind('GRID').map((u) => u.id),
    drawnRegionNames: () => ((getMap('scope') as { geoJSON?: { features: Array<{ properties: { name: string } }> } } | undefined)?.geoJSON?.features ?? []).map((f) => f.properties.name),
    callIds: () => ((chart.getOption() as { series: Array<{ id: string; data: Array<{ name: string }> }> }).series.find((s) => s.id === 'calls')?.data ?? []).map((d) => d.name),
    shadedAreas,
    openCalls: () => calls.size,
    callSeen: (id: string) => callSeen.get(id),
    raisedShown: () => raisedShown,
    timings: () => ({ ...timings }),
  };
  document.body.dataset.ready = 'true';
}

void main().catch((err: unknown) => {
  document.body.dataset.error = String(err);
  $('flood-banner').hidden = false;
  $('flood-banner').textContent = `大屏加载失败：${(err as Error).message}`;
});
