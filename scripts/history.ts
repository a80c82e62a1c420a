// `npm run history -- --calls 2000000 [--years 3] [--daily 1826] [--db huying_calls] [--events] [--seed 1]`: writes a
// realistic multi-year history of the demo district straight into the calls database at bulk rate —
// for the scale bench and for anyone trying the hub at real size. Every call is walked through the
// real rules (CallStore.simulate: the same decisions, timeline and events as live actions) on a clock
// in its own past: raised at a grid, handled there, called up to the community, the street or a
// department through the leadership's review, confirmed and rated, withdrawn; the last days' calls
// are still open at every step. With `--daily N` the last RECENT_DAYS days carry N calls a day (a
// district's real rate: the open work a 2,000,000-call history has, 2,000,000 / 3 years ≈ 1,826 a
// day) and the rest is spread over the years before; without it, all calls are spread evenly. Calls closed before the recent window are archived on the way into
// the day documents (call-history.ts), the others form the live set, exactly as the service would
// have left them. With `--events` each call's events also go to hub.call-events (keyed by call id, in
// order), for the evaluation subgraph to replay.
//
// The database must hold no calls yet. Writes are insertMany of INSERT_SLICE documents (inserts are
// not subject to FerretDB's statement limit for updates, platform/mongo.ts BULK_SLICE). Prints one
// JSON document: what was written, and the rates.
import { parseArgs } from 'node:util';
import { demoUnits } from '../demo/district.ts';
import { seededRandom } from '../demo/random.ts';
import type { Identity, Role } from '../platform/auth.ts';
import { baseConfig, loadConfig } from '../platform/config.ts';
import { createKafka, topicName } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { connectMongo } from '../platform/mongo.ts';
import { scrubDeep } from '../platform/personal-data.ts';
import { TOPICS } from '../platform/topics.ts';
import { UnitDirectory } from '../platform/unit-directory.ts';
import { loadCalendar, loadRulesFile } from '../rules/files.ts';
import { callRules } from '../subgraphs/calls/app.ts';
import { archivedCopy, CallHistory, dayOf, encodeEntry, FINAL_STATUSES, historyKeysOf } from '../subgraphs/calls/call-history.ts';
import { RECENT_WINDOW_DAYS } from '../subgraphs/calls/call-index.ts';
import { CallableItems } from '../subgraphs/calls/items.ts';
import type { CallAction } from '../subgraphs/calls/lifecycle.ts';
import { type CallDoc, callsModels } from '../subgraphs/calls/model.ts';
import { callEventEnvelope, CallStore } from '../subgraphs/calls/store.ts';

/** Documents per insertMany. */
export const INSERT_SLICE = 1000;
const DAY = 86_400_000;
/** Days at the newest end that `--daily` fills at its rate. */
export const RECENT_DAYS = 40;

const STORIES: Array<{ itemCode: string; title: string; description: string }> = [
  { itemCode: 'CG-02', title: '地铁站口占道经营', description: '地铁站出口早晚高峰有流动摊贩占道经营，行人通行困难。' },
  { itemCode: 'CG-03', title: '工地夜间施工噪音扰民', description: '工地夜间施工，凌晨还在打桩，噪音影响周边居民休息。' },
  { itemCode: 'CG-01', title: '楼顶违法搭建铁皮房', description: '居民楼天台新搭建铁皮房，存在安全隐患，疑似违法建设。' },
  { itemCode: 'JT-01', title: '小区门口僵尸车长期停放', description: '无牌旧车在小区门口长期停放，占用车位，车主联系不上，请求拖移清理。' },
  { itemCode: 'JT-02', title: '路口信号灯损坏', description: '路口信号灯不亮，早晚高峰交通混乱。' },
  { itemCode: 'ST-01', title: '餐饮店油烟直排', description: '临街餐饮店油烟未经净化直排，附近住户反映气味大。' },
  { itemCode: 'ST-02', title: '河涌出现黑臭', description: '社区旁河涌近日水体发黑发臭，疑似有污水直排。' },
  { itemCode: 'SW-01', title: '暴雨后路段水浸', description: '强降雨后路段积水，车辆涉水通行困难。' },
  { itemCode: 'AQ-01', title: '消防通道被杂物堵塞', description: '小区消防通道长期堆放杂物和电动车，影响消防车通行。' },
  { itemCode: 'ZZ-01', title: '邻里漏水纠纷调解', description: '楼上住户卫生间漏水至楼下，双方协商未果，需要调解。' },
  { itemCode: 'MS-01', title: '独居老人需要上门关怀', description: '社区独居老人行动不便，需要定期上门探访。' },
  { itemCode: 'SJ-01', title: '节日聚餐食品安全保障', description: '社区节日大型围餐，需要市场监管部门派员巡查保障食品安全。' },
];

export interface HistoryOptions {
  calls: number;
  years: number;
  /** Calls a day over the last RECENT_DAYS days (undefined: spread evenly). */
  daily?: number;
  db: string;
  events: boolean;
  seed: number;
  recentDays: number;
  mongodbUri: string;
  kafkaBrokers?: string[];
  topicPrefix?: string;
}

export interface HistoryResult {
  calls: number;
  archived: number;
  live: number;
  historyDocs: number;
  events: number;
  seconds: number;
  /** Calls (simulated and stored) per second, history documents included in the time. */
  callsPerSecond: number;
  /** Documents per second of the insertMany writes alone (the raw bulk-insert rate). */
  insertDocsPerSecond: number;
}

function parse(): HistoryOptions {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '200000' },
      years: { type: 'string', default: '3' },
      daily: { type: 'string' },
      db: { type: 'string', default: 'huying_calls' },
      events: { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' },
    },
  });
  const config = loadConfig(baseConfig, process.env);
  const options = {
    calls: Number(values.calls),
    years: Number(values.years),
    daily: values.daily === undefined ? undefined : Number(values.daily),
    db: values.db,
    events: values.events,
    seed: Number(values.seed),
    recentDays: Number(process.env.CALL_INDEX_RECENT_DAYS ?? RECENT_WINDOW_DAYS),
    mongodbUri: config.MONGODB_URI,
    kafkaBrokers: config.KAFKA_BROKERS,
    topicPrefix: config.TOPIC_PREFIX,
  };
  if (!(Number.isInteger(options.calls) && options.calls > 0)) throw new Error('--calls must be a positive whole number');
  if (!(options.years > 0 && options.years <= 20)) throw new Error('--years must be in (0, 20]');
  if (options.daily !== undefined && !(Number.isInteger(options.daily) && options.daily > 0)) throw new Error('--daily must be a positive whole number');
  if (!/^[A-Za-z0-9_-]+$/.test(options.db)) throw new Error('--db must be a database name of letters, digits, _ and -');
  return options;
}

function person(unitId: string, role: Role): Identity {
  return { subject: `hist-${role}-${unitId}`, unitId, role, scopes: [] };
}

export async function generateHistory(options: HistoryOptions, say: (line: string) => void = () => undefined): Promise<HistoryResult> {
  const started = Date.now();
  const conn = await connectMongo({ MONGODB_URI: options.mongodbUri }, options.db);
  const models = await callsModels(conn);
  if ((await models.Call.estimatedDocumentCount()) > 0) {
    await conn.close();
    throw new Error(`database ${options.db} already holds calls: give an empty one with --db`);
  }
  const directory = new UnitDirectory(demoUnits());
  const history = CallHistory.on(conn, directory);
  const items = new CallableItems();
  const rules = callRules({ WARNING_SHARES: [0.5, 0.8] }, directory, items, loadRulesFile(undefined), loadCalendar(undefined));
  let clock = 0;
  const store = new CallStore(models, { ...rules, now: () => new Date(clock) });
  const next = seededRandom(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const grids = directory.ofKind('grid');
  const roleOf = (unitId: string): Role => {
    const kind = directory.get(unitId)?.kind;
    return kind === 'grid' ? 'grid_worker' : kind === 'department' ? 'department' : (kind as Role);
  };

  const producer = options.events ? createKafka({ KAFKA_BROKERS: options.kafkaBrokers ?? ['127.0.0.1:9092'] }, 'history', createLogger('history', 'error')).producer() : undefined;
  await producer?.connect();
  const eventsTopic = topicName({ TOPIC_PREFIX: options.topicPrefix ?? '' }, TOPICS.callEvents);

  const now = Date.now();
  const span = options.years * 365 * DAY;
  const cutoff = now - options.recentDays * DAY;
  // In time order, the newest an hour ago: the last RECENT_DAYS at the daily rate, the older evenly before.
  const recentCount = options.daily ? Math.min(options.calls, options.daily * RECENT_DAYS) : 0;
  const olderCount = options.calls - recentCount;
  const raisedAtOf = (i: number): number => {
    if (!options.daily) return now - 3_600_000 - Math.floor(((options.calls - i) / options.calls) * span);
    if (i >= olderCount) return now - 3_600_000 - Math.floor(((options.calls - i) / recentCount) * RECENT_DAYS * DAY);
    return now - RECENT_DAYS * DAY - Math.floor(((olderCount - i) / olderCount) * (span - RECENT_DAYS * DAY));
  };
  let insertMs = 0;
  let insertedDocs = 0;
  let archived = 0;
  let historyDocs = 0;
  let events = 0;
  const liveIds: string[] = [];
  const firstDays = new Map<string, string>();
  // Day documents of the day being written (calls come in time order, so a day is complete when the next starts).
  let currentDay = '';
  let dayEntries = new Map<string, string[]>();
  let batch: CallDoc[] = [];
  const archivedIds = new Set<string>();

  const insert = async (collection: { insertMany: (docs: object[], options: { ordered: boolean }) => Promise<unknown> }, docs: object[]) => {
    const t = Date.now();
    for (let i = 0; i < docs.length; i += INSERT_SLICE) await collection.insertMany(docs.slice(i, i + INSERT_SLICE), { ordered: false });
    insertMs += Date.now() - t;
    insertedDocs += docs.length;
  };
  // Day documents wait until a slice is full: a day of a small history holds few.
  let dayDocs: object[] = [];
  const flushDay = async (force = false) => {
    for (const [key, entries] of dayEntries) dayDocs.push({ _id: `day|${key}|${currentDay}`, chunks: [entries.join(' ')] });
    historyDocs += dayEntries.size;
    dayEntries = new Map();
    if (dayDocs.length >= INSERT_SLICE || (force && dayDocs.length)) {
      await insert(history.model.collection, dayDocs);
      dayDocs = [];
    }
  };
  const flushCalls = async () => {
    if (producer && batch.length) {
      const messages = batch.flatMap((call) =>
        call.outbox.map((event) => ({
          key: call._id,
          value: JSON.stringify(scrubDeep(callEventEnvelope(call._id, event))),
          headers: { 'event-id': event.eventId, 'event-type': event.type },
        })),
      );
      await producer.send({ topic: eventsTopic, messages });
      events += messages.length;
    }
    // As the outbox publisher leaves a call once its events are out.
    const docs = batch.map((call) => ({ ...call, outbox: [], outboxPending: false, publishedSeq: call.version }));
    await insert(models.Call.collection, docs);
    // The archived ones' copies, which their day entries say are there (call-history.ts).
    const copies = docs.filter((call) => archivedIds.has(call._id)).map((call) => archivedCopy(call as CallDoc));
    if (copies.length) await insert(history.model.collection, copies);
    archivedIds.clear();
    batch = [];
  };

  for (let i = 0; i < options.calls; i++) {
    const raisedAt = raisedAtOf(i);
    clock = raisedAt;
    const story = pick(STORIES);
    const item = items.require(story.itemCode);
    const grid = pick(grids);
    const [minLng, minLat, maxLng, maxLat] = grid.bbox ?? [113.4, 23.06, 113.41, 23.07];
    let call = store.draft({
      title: story.title,
      description: story.description,
      itemCode: item.code,
      category: item.category,
      priority: next() < 0.1 ? 'URGENT' : 'NORMAL',
      source: next() < 0.25 ? 'HOTLINE' : 'UNIT',
      originUnitId: grid.id,
      location: { lng: minLng + next() * (maxLng - minLng), lat: minLat + next() * (maxLat - minLat) },
      raisedBy: { subject: `hist-grid_worker-${grid.id}`, unitId: grid.id, role: 'grid_worker' },
    });
    const community = grid.parentId as string;
    const street = directory.require(community).parentId as string;
    // How far the call got by now: old calls are done, the last days' are at every step.
    const ageDays = (now - raisedAt) / DAY;
    const stopAt = ageDays < 10 && next() < 1 - ageDays / 10 ? Math.floor(next() * 6) : 99;
    let steps = 0;
    const act = (action: CallAction, unitId: string, role?: Role): boolean => {
      if (steps++ >= stopAt) return false;
      clock += Math.floor(next() * 8 * 3_600_000) + 600_000;
      call = store.simulate(call, action, person(unitId, role ?? roleOf(unitId)));
      return true;
    };
    const stars = () => (next() < 0.8 ? 5 : next() < 0.6 ? 4 : next() < 0.5 ? 3 : 2);
    const roll = next();
    if (roll < 0.03) act({ kind: 'withdraw', reason: '已自行解决，撤回。' }, grid.id);
    else if (roll < 0.5) act({ kind: 'complete', result: '网格员现场处置完毕。' }, grid.id);
    else if (act({ kind: 'call_up', note: '呼叫社区。' }, grid.id) && act({ kind: 'sign' }, community)) {
      if (roll < 0.7) {
        if (act({ kind: 'respond', note: '社区已安排人员跟进。' }, community) && act({ kind: 'complete', result: '社区协调处置完毕。' }, community))
          act({ kind: 'confirm', stars: stars() }, grid.id);
      } else if (act({ kind: 'call_up', note: '社区呼叫街道。' }, community) && act({ kind: 'sign' }, street)) {
        if (roll < 0.82) {
          if (act({ kind: 'respond', note: '街道已组织执法力量。' }, street) && act({ kind: 'complete', result: '街道联合处置完毕。' }, street))
            act({ kind: 'confirm', stars: stars() }, community);
        } else if (
          act({ kind: 'request_dispatch', itemCode: item.code }, street) &&
          act({ kind: 'review_dispatch', approve: true }, street, 'street_leader') &&
          act({ kind: 'sign' }, item.leadUnitId) &&
          act({ kind: 'respond', note: '已派员现场核查。' }, item.leadUnitId) &&
          act({ kind: 'complete', result: '已按要求处置完毕。' }, item.leadUnitId)
        )
          act({ kind: 'confirm', stars: stars() }, street);
      }
    }
    batch.push(call);
    const day = dayOf(raisedAt);
    if (day !== currentDay) {
      await flushDay();
      currentDay = day;
    }
    const final = FINAL_STATUSES.includes(call.status) && new Date(call.closedAt ?? call.updatedAt).getTime() < cutoff;
    if (final) {
      archived++;
      archivedIds.add(call._id);
      const entry = encodeEntry(call, directory, true);
      for (const key of historyKeysOf(call)) {
        const list = dayEntries.get(key);
        if (list) list.push(entry);
        else dayEntries.set(key, [entry]);
        if (!firstDays.has(key)) firstDays.set(key, day);
      }
    } else liveIds.push(call._id);
    if (batch.length >= INSERT_SLICE) await flushCalls();
    if ((i + 1) % 50_000 === 0) say(`history: ${i + 1} calls, ${Math.round((Date.now() - started) / 1000)} s`);
  }
  await flushCalls();
  await flushDay(true);
  await insert(
    history.model.collection,
    [...firstDays].map(([key, day]) => ({ _id: `first|${key}`, day })),
  );
  historyDocs += firstDays.size;
  await history.markLive(liveIds);
  await history.recordLiveSetComplete();
  await producer?.disconnect();
  await conn.close();
  const seconds = (Date.now() - started) / 1000;
  return {
    calls: options.calls,
    archived,
    live: liveIds.length,
    historyDocs,
    events,
    seconds: Number(seconds.toFixed(1)),
    callsPerSecond: Math.round(options.calls / seconds),
    insertDocsPerSecond: Math.round(insertedDocs / (insertMs / 1000)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await generateHistory(parse(), (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
