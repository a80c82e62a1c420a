// Source-system simulators: realistic records in the demo district (Chinese text, addresses and
// coordinates in its streets, 12345 points in GCJ-02 as AMap gives them), with a share of updates,
// repeats and malformed records, at a chosen rate.
//
//   npm run simulate -- --source hotline|sanfang|petition [--rate 5] [--count N] [--seed 1] [--bad 0.05]
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { demoUnits } from '../demo/district.ts';
import { seededRandom } from '../demo/random.ts';
import { baseConfig, loadConfig } from '../platform/config.ts';
import { createKafka, topicName } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { TOPICS } from '../platform/topics.ts';
import { convert } from '../subgraphs/party-map/geo/crs.ts';

export interface SimulatedRecord {
  topic: string;
  key: string;
  value: string;
}

const grids = demoUnits().filter((u) => u.kind === 'grid');
const units = new Map(demoUnits().map((u) => [u.id, u]));

const COMPLAINTS: Array<{ path: string[]; appeal: string; title: string; text: string }> = [
  { path: ['城乡建设', '施工噪音'], appeal: '投诉', title: '工地夜间施工噪音扰民', text: '附近工地夜间施工打桩，凌晨还有噪音，严重影响休息。' },
  { path: ['交通运输', '僵尸车'], appeal: '求助', title: '小区门口僵尸车', text: '小区门口有僵尸车停放半年无人处理，占用车位。' },
  { path: ['市场监管', '无证经营'], appeal: '举报', title: '无证餐饮店', text: '路边有一家无证经营的小餐馆，卫生条件差。' },
  { path: ['生态环境', '油烟'], appeal: '投诉', title: '餐馆油烟扰民', text: '楼下餐馆油烟直排，窗户都不敢开。' },
  { path: ['水务', '排水'], appeal: '求助', title: '下水道堵塞', text: '小区下水道堵塞，污水外溢，气味很大。' },
  { path: ['劳动社保'], appeal: '咨询', title: '社保转移咨询', text: '咨询社保关系从外省转入广州的办理流程。' },
  { path: ['城市管理', '占道经营'], appeal: '投诉', title: '地铁口占道经营', text: '地铁站出口流动摊贩占道经营，行人通行困难。' },
];

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;

function pointIn(random: () => number, gridId: string) {
  const [minLng, minLat, maxLng, maxLat] = units.get(gridId)?.bbox ?? [113.4, 23.06, 113.41, 23.07];
  return { lng: minLng + (0.1 + 0.8 * random()) * (maxLng - minLng), lat: minLat + (0.1 + 0.8 * random()) * (maxLat - minLat) };
}

function addressOf(gridId: string): string {
  const grid = units.get(gridId);
  const community = units.get(grid?.parentId ?? '');
  const street = units.get(community?.parentId ?? '');
  return `广州市黄埔区${street?.name ?? ''}${community?.name ?? ''}${Math.floor(Math.abs(gridId.length * 17)) % 200}号`;
}

const MALFORMED = ['{"record_id": ', 'not json at all', '{}', '[1,2,3]'];

/** Made-up people, as callers and petitioners name themselves inside what they write. */
export const SIMULATED_NAMES = ['张伟', '王秀英', '李娜', '刘洋', '陈志强', '欧阳丽华'];

/** A mobile number as people write it: plain, spaced, dashed. */
function spokenPhone(random: () => number, prefix: string): { phone: string; written: string } {
  const phone = `${prefix}${String(Math.floor(random() * 1e8)).padStart(8, '0')}`;
  const style = Math.floor(random() * 3);
  const written = style === 0 ? phone : `${phone.slice(0, 3)}${style === 1 ? ' ' : '-'}${phone.slice(3, 7)}${style === 1 ? ' ' : '-'}${phone.slice(7)}`;
  return { phone, written };
}

/** An endless stream of hotline records: new orders, with updates and call-backs for earlier ones. */
export function* hotlineRecords(options: { seed?: number | string; topic: string; updates?: number; repeats?: number; bad?: number; prefix?: string }) {
  const random = seededRandom(options.seed ?? 1);
  const prefix = options.prefix ?? `GZ12345-${randomUUID().slice(0, 8)}`;
  const orders: string[] = [];
  let last: SimulatedRecord | undefined;
  for (let i = 0; ; i++) {
    const roll = random();
    let record: SimulatedRecord;
    if (roll < (options.bad ?? 0)) {
      record = { topic: options.topic, key: `${prefix}-BAD`, value: pick(random, MALFORMED) };
    } else if (last && roll < (options.bad ?? 0) + (options.repeats ?? 0)) {
      record = last; // the hotline sends a record again (its own retry)
    } else if (orders.length > 0 && roll < (options.bad ?? 0) + (options.repeats ?? 0) + (options.updates ?? 0)) {
      const orderNo = pick(random, orders);
      const kind = pick(random, ['URGE', 'URGE', 'EXTEND', 'CALLBACK'] as const);
      const now = new Date().toISOString();
      const base = { record_id: `R-${prefix}-${i}`, record_type: kind, order_no: orderNo, record_time: now };
      const value =
        kind === 'URGE'
          ? { ...base, note: '市民再次来电催办，要求尽快处理' }
          : kind === 'EXTEND'
            ? { ...base, note: '涉及多部门协调，申请延期', new_due_time: new Date(Date.now() + 20 * 86_400_000).toISOString() }
            : { ...base, callback: { contacted: true, resolved: random() < 0.9, satisfaction: pick(random, ['非常满意', '满意', '满意', '基本满意', '不满意'] as const) } };
      record = { topic: options.topic, key: orderNo, value: JSON.stringify(value) };
    } else {
      const orderNo = `${prefix}-${String(i).padStart(6, '0')}`;
      orders.push(orderNo);
      const complaint = pick(random, COMPLAINTS);
      const grid = pick(random, grids).id;
      const point = pointIn(random, grid);
      const [x, y] = convert([point.lng, point.lat], 'WGS84', 'GCJ02');
      const now = new Date().toISOString();
      const caller = spokenPhone(random, '138');
      // A third of the callers leave their name and number inside what they say, as real ones do.
      const said = random() < 0.35 ? `我叫${pick(random, SIMULATED_NAMES)}，电话${caller.written}，` : '';
      const value = {
        record_id: `R-${prefix}-${i}`,
        record_type: 'NEW',
        order_no: orderNo,
        record_time: now,
        accept_time: now,
        channel: pick(random, ['电话', '电话', '网站', '微信', 'APP', '省平台'] as const),
        appeal_type: complaint.appeal,
        category_path: complaint.path,
        title: complaint.title,
        content: `市民反映：${said}${addressOf(grid)}附近，${complaint.text}`,
        address: addressOf(grid),
        ...(random() < 0.8 && { coord: { x, y, crs: 'GCJ02' } }),
        caller_name: pick(random, ['陈先生', '李女士', '王先生', '张女士', '黄先生']),
        caller_phone: caller.phone,
        urgency: random() < 0.05 ? '紧急' : '一般',
      };
      record = { topic: options.topic, key: orderNo, value: JSON.stringify(value) };
    }
    last = record;
    yield record;
  }
}

/** 三防 warnings (issued, later lifted) and incidents at random points. */
export function* sanfangRecords(options: { seed?: number | string; warnings: string; incidents: string; bad?: number }) {
  const random = seededRandom(options.seed ?? 2);
  const run = randomUUID().slice(0, 8);
  const open: string[] = [];
  for (let i = 0; ; i++) {
    const roll = random();
    if (roll < (options.bad ?? 0)) {
      yield { topic: options.incidents, key: 'BAD', value: JSON.stringify({ incidentId: `SF-I-${run}-${i}`, type: 'WATERLOGGING', severity: '一般', position: { lng: 116.4, lat: 39.9 }, description: '积水', reportedAt: new Date().toISOString() }) };
    } else if (roll < 0.15) {
      const warningId = `SF-W-${run}-${i}`;
      open.push(warningId);
      const signal = pick(random, ['YELLOW', 'ORANGE', 'RED'] as const);
      const streets = [...new Set([pick(random, grids), pick(random, grids)].map((g) => units.get(units.get(g.parentId ?? '')?.parentId ?? '')?.name ?? '黄埔区'))];
      yield {
        topic: options.warnings,
        key: warningId,
        value: JSON.stringify({ warningId, action: 'ISSUE', hazard: 'RAINSTORM', signal, areas: streets, title: `暴雨${signal === 'RED' ? '红色' : signal === 'ORANGE' ? '橙色' : '黄色'}预警`, content: '预计未来3小时将出现强降水，请加强巡查。', issuer: '黄埔区三防办', issuedAt: new Date().toISOString() }),
      };
    } else if (roll < 0.2 && open.length > 0) {
      const warningId = open.shift() as string;
      yield { topic: options.warnings, key: warningId, value: JSON.stringify({ warningId, action: 'LIFT', hazard: 'RAINSTORM', issuedAt: new Date(Date.now() - 3_600_000).toISOString(), liftedAt: new Date().toISOString() }) };
    } else {
      const incidentId = `SF-I-${run}-${i}`;
      const grid = pick(random, grids).id;
      const type = pick(random, ['WATERLOGGING', 'WATERLOGGING', 'DANGER', 'EVACUATION'] as const);
      yield {
        topic: options.incidents,
        key: incidentId,
        value: JSON.stringify({
          incidentId,
          type,
          severity: pick(random, ['一般', '一般', '较大', '重大'] as const),
          position: pointIn(random, grid),
          address: addressOf(grid),
          description: type === 'WATERLOGGING' ? '路面积水，车辆涉水通行困难' : type === 'DANGER' ? '边坡出现裂缝，有滑坡风险' : '低洼地段居民需转移',
          ...(type === 'WATERLOGGING' && { waterDepthCm: 10 + Math.floor(random() * 50) }),
          ...(type === 'EVACUATION' && { peopleEvacuated: 5 + Math.floor(random() * 100) }),
          reportedAt: new Date().toISOString(),
        }),
      };
    }
  }
}

/** 信访 petitions, some accepted afterwards. */
export function* petitionRecords(options: { seed?: number | string; topic: string; bad?: number }) {
  const random = seededRandom(options.seed ?? 3);
  const run = randomUUID().slice(0, 8).toUpperCase();
  const registered: string[] = [];
  for (let i = 0; ; i++) {
    const roll = random();
    const now = new Date().toISOString();
    if (roll < (options.bad ?? 0)) {
      yield { topic: options.topic, key: 'BAD', value: JSON.stringify({ recordNo: `X-${i}`, petitionNo: `HPXF-${run}-${i}`, stage: 'EXTENDED', recordedAt: now, acceptedAt: now, extensionDays: 45, reason: '需要更多时间' }) };
    } else if (roll < 0.3 && registered.length > 0) {
      const petitionNo = registered.shift() as string;
      yield { topic: options.topic, key: petitionNo, value: JSON.stringify({ recordNo: `X-${run}-${i}`, petitionNo, stage: 'ACCEPTED', recordedAt: now, decidedAt: now }) };
    } else {
      const petitionNo = `HPXF-${run}-${String(i).padStart(6, '0')}`;
      registered.push(petitionNo);
      const complaint = pick(random, COMPLAINTS);
      const grid = pick(random, grids).id;
      const petitioner = spokenPhone(random, '139');
      const name = pick(random, SIMULATED_NAMES);
      // Petitioners often sign their letters: name, number and ID number inside the content.
      const signed = random() < 0.4 ? `信访人${name}，身份证号44011219${70 + Math.floor(random() * 30)}0101123X，联系电话${petitioner.written}。` : '';
      yield {
        topic: options.topic,
        key: petitionNo,
        value: JSON.stringify({
          recordNo: `X-${run}-${i}`,
          petitionNo,
          stage: 'REGISTERED',
          recordedAt: now,
          form: pick(random, ['来信', '来访', '网上信访'] as const),
          receivedAt: now,
          petitioner: { name, phone: petitioner.phone },
          title: complaint.title,
          content: `信访人反映：${complaint.text}多次向有关部门反映未果。${signed}`,
          category: complaint.path[0] === '交通运输' ? '交通运输' : complaint.path[0] === '城乡建设' ? '城乡建设/施工噪音' : '城市管理',
          address: addressOf(grid),
          location: pointIn(random, grid),
        }),
      };
    }
  }
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      source: { type: 'string' },
      rate: { type: 'string', default: '5' },
      count: { type: 'string' },
      seed: { type: 'string', default: '1' },
      bad: { type: 'string', default: '0.05' },
    },
  });
  const rate = Number(values.rate);
  const count = values.count === undefined ? Infinity : Number(values.count);
  const bad = Number(values.bad);
  if (!['hotline', 'sanfang', 'petition'].includes(values.source ?? '') || !(rate > 0) || !(count > 0) || !(bad >= 0 && bad < 1)) {
    console.error('usage: npm run simulate -- --source hotline|sanfang|petition [--rate records/s] [--count N] [--seed S] [--bad share]');
    process.exit(2);
  }
  const config = loadConfig(baseConfig);
  const logger = createLogger('simulate', config.LOG_LEVEL);
  const t = (name: string) => topicName(config, name);
  const stream =
    values.source === 'hotline'
      ? hotlineRecords({ seed: values.seed, topic: t(TOPICS.hotlineOrders), updates: 0.25, repeats: 0.05, bad })
      : values.source === 'sanfang'
        ? sanfangRecords({ seed: values.seed, warnings: t(TOPICS.floodWarnings), incidents: t(TOPICS.floodIncidents), bad })
        : petitionRecords({ seed: values.seed, topic: t(TOPICS.petitions), bad });
  const producer = createKafka(config, 'simulate', logger).producer();
  await producer.connect();
  let stopping = false;
  process.once('SIGINT', () => (stopping = true));
  process.once('SIGTERM', () => (stopping = true));
  const began = Date.now();
  let sent = 0;
  for (const record of stream) {
    if (stopping || sent >= count) break;
    await producer.send({ topic: record.topic, messages: [{ key: record.key, value: record.value }] });
    sent++;
    // Paced against the start, so the rate holds however long each send takes.
    const wait = began + (sent * 1000) / rate - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await producer.disconnect();
  console.log(JSON.stringify({ source: values.source, sent, seconds: (Date.now() - began) / 1000 }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli().catch((err: unknown) => {
    console.error(`simulate: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
