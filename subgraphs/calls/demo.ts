// Demo calls for the demo district: a few hundred calls in every state, walked through the real rules
// (CallStore.simulate: the same decisions, records and events as live actions), with a history spread
// over the last weeks, then stored in one bulk write. Deterministic: the same data every time.
// The cases from the press reports are among them: the 龙船饭 food-safety call from 长洲街, the
// ten-year 僵尸车, the power-capacity call, and construction noise reported to 12345 and 信访.
import type { Identity, Role } from '../../platform/auth.ts';
import { DISTRICT_COMMAND_ID } from '../../demo/district.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import type { CallableItems } from './items.ts';
import type { CallAction } from './lifecycle.ts';
import type { OrderService } from './orders.ts';
import type { CallDoc } from './model.ts';
import type { CallStore } from './store.ts';
import { seededRandom } from '../../demo/random.ts';


const STORIES: Array<{ itemCode: string; title: string; description: string }> = [
  { itemCode: 'SJ-01', title: '端午龙船饭食品安全保障', description: '端午赛龙舟后社区分4个点开席吃龙船饭，围餐规模大，食品安全需要市场监管部门派员巡查保障。' },
  { itemCode: 'JT-01', title: '小区门口僵尸车停放十年无人处理', description: '一辆无牌旧车在小区门口停放近十年，占用车位、滋生蚊虫，车主联系不上，请求拖移清理。' },
  { itemCode: 'QY-01', title: '企业新增产线用电报装扩容', description: '园区企业新增生产线，现有变压器容量不足，申请加快用电报装扩容，影响投产进度。' },
  { itemCode: 'CG-03', title: '工地夜间施工噪音扰民', description: '科学城某工地夜间施工，凌晨两点还在打桩，噪音影响周边居民休息。' },
  { itemCode: 'CG-02', title: '地铁站口占道经营', description: '地铁站出口早晚高峰有流动摊贩占道经营，行人通行困难。' },
  { itemCode: 'CG-01', title: '楼顶违法搭建铁皮房', description: '居民楼天台新搭建铁皮房，存在安全隐患，疑似违法建设。' },
  { itemCode: 'ZZ-01', title: '邻里漏水纠纷调解', description: '楼上住户卫生间漏水至楼下，双方协商未果，情绪激动，需要调解。' },
  { itemCode: 'ST-01', title: '餐饮店油烟直排', description: '临街餐饮店油烟未经净化直排，附近住户反映气味大。' },
  { itemCode: 'ST-02', title: '河涌出现黑臭', description: '社区旁河涌近日水体发黑发臭，疑似有污水直排。' },
  { itemCode: 'SW-01', title: '暴雨后路段水浸', description: '强降雨后路段积水约30厘米，车辆涉水通行困难。' },
  { itemCode: 'AQ-01', title: '消防通道被杂物堵塞', description: '小区消防通道长期堆放杂物和电动车，影响消防车通行。' },
  { itemCode: 'AQ-02', title: '老旧小区燃气管道锈蚀', description: '老旧小区外墙燃气管道锈蚀严重，居民担心泄漏。' },
  { itemCode: 'ZJ-02', title: '加装电梯意见分歧', description: '老旧楼栋加装电梯，低层住户反对，需要协调。' },
  { itemCode: 'MS-02', title: '工人讨要拖欠工资', description: '十余名工人反映工地拖欠三个月工资，要求协助追讨。' },
  { itemCode: 'MS-01', title: '独居老人需要上门关怀', description: '社区独居老人行动不便，需要定期上门探访和紧急呼叫设备。' },
  { itemCode: 'JT-02', title: '路口信号灯损坏', description: '路口信号灯不亮，早晚高峰交通混乱。' },
];

/** How far each demo call gets: the share of calls and the path it takes. */
type Path = 'self' | 'community' | 'street' | 'department' | 'open';

function person(unitId: string, role: Role): Identity {
  return { subject: `demo-${role}-${unitId}`, unitId, role, scopes: [] };
}

export async function loadDemoCalls(
  liveStore: CallStore,
  orders: OrderService,
  directory: UnitDirectory,
  items: CallableItems,
  count = 300,
): Promise<{ calls: number; actions: number; orders: number }> {
  const next = seededRandom(20190605);
  const pick = <T>(list: T[]): T => list[Math.floor(next() * list.length)] as T;
  // Walk each call forward on a clock that starts weeks ago, so the history and deadlines look real.
  let clock = Date.now() - 45 * 86_400_000;
  const store = liveStore.withClock(() => new Date(clock));
  const grids = directory.ofKind('grid');
  const roleOf = (unitId: string): Role => {
    const kind = directory.get(unitId)?.kind;
    return kind === 'grid' ? 'grid_worker' : kind === 'department' ? 'department' : kind === 'leadership' ? 'leader' : (kind as Role);
  };
  const by = (unitId: string) => person(unitId, roleOf(unitId));
  let actions = 0;
  const docs: CallDoc[] = [];
  let doc: CallDoc;
  const act = async (_id: string, action: CallAction, unitId: string, role?: Role) => {
    clock += Math.floor(next() * 6 * 3_600_000) + 600_000;
    actions++;
    doc = store.simulate(doc, action, role ? person(unitId, role) : unitId === DISTRICT_COMMAND_ID ? person(unitId, 'district_command') : by(unitId));
    docs[docs.length - 1] = doc;
  };

  for (let i = 0; i < count; i++) {
    // Later calls are recent, so the open ones are still within their limits.
    clock = Date.now() - Math.floor(((count - i) / count) * 40 * 86_400_000) - 3 * 3_600_000;
    const story = i < STORIES.length ? (STORIES[i] as (typeof STORIES)[number]) : pick(STORIES);
    const item = items.require(story.itemCode);
    const grid = story.itemCode === 'SJ-01' && i === 0 ? directory.require('changzhou-c1-g1') : pick(grids);
    const [minLng, minLat, maxLng, maxLat] = grid.bbox ?? [113.4, 23.06, 113.41, 23.07];
    const call = store.draft({
      title: story.title,
      description: story.description,
      category: item.category,
      priority: next() < 0.15 ? 'URGENT' : 'NORMAL',
      source: 'UNIT',
      originUnitId: grid.id,
      location: { lng: minLng + next() * (maxLng - minLng), lat: minLat + next() * (maxLat - minLat) },
      raisedBy: { subject: `demo-grid_worker-${grid.id}`, unitId: grid.id, role: 'grid_worker' },
    });
    doc = call;
    docs.push(doc);
    const community = grid.parentId as string;
    const street = directory.require(community).parentId as string;
    const roll = next();
    const path: Path = i < 4 ? 'department' : roll < 0.3 ? 'self' : roll < 0.45 ? 'community' : roll < 0.55 ? 'street' : roll < 0.7 ? 'department' : 'open';
    const stars = () => (next() < 0.85 ? 5 : next() < 0.7 ? 4 : 3);

    if (path === 'self') {
      await act(call._id, { kind: 'complete', result: '网格员现场处置完毕。' }, grid.id);
      continue;
    }
    await act(call._id, { kind: 'call_up', note: '网格力量无法解决，呼叫社区。' }, grid.id);
    await act(call._id, { kind: 'sign' }, community);
    if (path === 'community') {
      await act(call._id, { kind: 'respond', note: '社区已安排人员跟进。' }, community);
      await act(call._id, { kind: 'complete', result: '社区协调处置完毕。' }, community);
      await act(call._id, { kind: 'confirm', stars: stars() }, grid.id);
      continue;
    }
    if (path === 'open' && next() < 0.3) continue; // signed by the community, in progress
    await act(call._id, { kind: 'call_up', note: '社区呼叫街道。' }, community);
    if (path === 'open' && next() < 0.3) continue; // awaiting the street's sign-off
    await act(call._id, { kind: 'sign' }, street);
    if (path === 'street') {
      await act(call._id, { kind: 'respond', note: '街道已组织执法力量。' }, street);
      await act(call._id, { kind: 'complete', result: '街道联合处置完毕。' }, street);
      await act(call._id, { kind: 'confirm', stars: stars() }, community);
      continue;
    }
    await act(call._id, { kind: 'request_dispatch', itemCode: item.code }, street);
    await act(call._id, { kind: 'review_dispatch', approve: true }, street, 'street_leader');
    const department = item.leadUnitId;
    if (path === 'open') {
      const stage = next();
      if (stage < 0.25) continue; // awaiting the department's sign-off
      await act(call._id, { kind: 'sign' }, department);
      if (stage < 0.45) continue;
      await act(call._id, { kind: 'respond', note: '已派员现场核查，制定处置方案。' }, department);
      if (stage < 0.6) continue;
      if (stage < 0.7) {
        await act(call._id, { kind: 'escalate', reason: '涉及多个部门，需区领导统筹。' }, street);
        continue;
      }
      await act(call._id, { kind: 'complete', result: '部门已处置，请街道核查。' }, department);
      if (stage < 0.85) continue; // awaiting the street's confirmation
      await act(call._id, { kind: 'reopen', reason: '现场核查仍未整改到位。' }, street);
      continue;
    }
    await act(call._id, { kind: 'sign' }, department);
    await act(call._id, { kind: 'respond', note: '已派员现场核查。' }, department);
    await act(call._id, { kind: 'complete', result: '已按要求处置完毕，附现场照片。' }, department);
    await act(call._id, { kind: 'confirm', stars: stars(), comment: '响应及时。' }, street);
  }

  await store.insertMany(docs);

  // A top-down order (令): the district's inspection of flood-prone points before the rainy season.
  const streets = directory.ofKind('street').map((s) => s.id);
  clock = Date.now() - 2 * 86_400_000;
  await orders.issue(
    {
      title: '汛前水浸黑点排查',
      description: '各街道于汛前完成辖区水浸黑点、地下空间、危险边坡排查，报送台账。',
      kind: 'KEY_TASK',
      priority: 'NORMAL',
      unitIds: streets,
      deadline: new Date(Date.now() + 5 * 86_400_000),
    },
    person(DISTRICT_COMMAND_ID, 'district_command'),
    'demo-order-1',
  );
  return { calls: count, actions, orders: 1 };
}
