// The enterprise-zone part of the demo district (企业服务专区): a few hundred enterprises (an internet
// cluster in 鱼珠街 beside 琶洲, the 科学城 and other industrial parks), chief service officers,
// demands in every state, a few thousand talent-apartment listings and a few dozen policies.
// Deterministic: every value comes from seededRandom, and street ids are demo/district.ts's. Company
// names, people, phone numbers and credit codes are made up (credit codes carry valid check
// characters, GB 32100-2015 and GB 11714); the policies are demo texts modelled on the kinds of
// measures districts publish, not real documents.
import type { CallStatus } from '../platform/call-event.ts';
import type { Tier } from '../platform/unit-directory.ts';
import { DISTRICT_ID, type DemoUnit, demoUnits } from './district.ts';
import { seededRandom } from './random.ts';

export const DEMO_ENTERPRISE_COUNT = 300;
export const DEMO_APARTMENT_COUNT = 3000;

type Industry =
  | 'INFORMATION_TECHNOLOGY'
  | 'MANUFACTURING'
  | 'RESEARCH'
  | 'BUSINESS_SERVICES'
  | 'WHOLESALE_RETAIL'
  | 'CONSTRUCTION'
  | 'LOGISTICS'
  | 'FINANCE'
  | 'HEALTH'
  | 'CULTURE';
type Size = 'LARGE' | 'MEDIUM' | 'SMALL' | 'MICRO';
type Kind = 'HOUSING' | 'POWER' | 'PERMIT' | 'FINANCING' | 'LAND' | 'HIRING' | 'DISPUTE' | 'OTHER';

export interface DemoEnterprise {
  creditCode: string;
  name: string;
  industry: Industry;
  size: Size;
  address: string;
  location: { lng: number; lat: number };
  streetId: string;
  park?: string;
  contacts: Array<{ name: string; title: string; phone: string }>;
  /** Officers who served it, oldest first (the last serves it now). */
  officers: Array<{ officerId: string; daysAgo: number; reason?: string }>;
}

export interface DemoOfficer {
  id: string;
  name: string;
  phone: string;
  unitId: string;
  title: string;
}

export interface DemoDemand {
  id: string;
  enterpriseId: string;
  kind: Kind;
  title: string;
  description: string;
  priority: 'NORMAL' | 'URGENT';
  /** Where it stands: SUBMITTED demands go through hub.intake when the zone starts. */
  status: 'SUBMITTED' | 'IN_PROGRESS' | 'RESOLVED' | 'CLOSED' | 'WITHDRAWN' | 'REJECTED';
  daysAgo: number;
  /** For demands past SUBMITTED: how their call went. */
  call?: {
    status: CallStatus;
    tier: Tier;
    handlingUnitId: string;
    limitDays: number;
    respondedAfterDays?: number;
    completedAfterDays?: number;
    result?: string;
  };
  stars?: number;
  rejection?: string;
  withdrawReason?: string;
}

export interface DemoApartment {
  id: string;
  project: string;
  unitNo: string;
  streetId: string;
  address: string;
  location: { lng: number; lat: number };
  rooms: number;
  areaSqm: number;
  monthlyRent: number;
  available: boolean;
  availableInDays?: number;
  provider: string;
}

export interface DemoPolicy {
  id: string;
  title: string;
  issuer: string;
  docNumber: string;
  /** Days from now: negative in the past. */
  fromDays: number;
  toDays?: number;
  tags: string[];
  industries: Industry[];
  sizes: Size[];
  streetIds: string[];
  summary: string;
  text: string;
}

const CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];

/** A made-up credit code registered in 黄埔区 (440112) whose org code and check character are valid. */
function creditCode(next: () => number): string {
  const body = `MA5${Array.from({ length: 5 }, () => CHARSET[Math.floor(next() * CHARSET.length)]).join('')}`;
  // GB 11714: letters count 10 for A … 35 for Z.
  const values = [...body].map((c) => (/\d/.test(c) ? Number(c) : c.charCodeAt(0) - 55));
  const c9 = 11 - (values.reduce((s, v, i) => s + v * (ORG_WEIGHTS[i] as number), 0) % 11);
  const orgCheck = c9 === 10 ? 'X' : c9 === 11 ? '0' : String(c9);
  const first17 = `91440112${body}${orgCheck}`;
  const sum = [...first17].reduce((s, c, i) => s + CHARSET.indexOf(c) * (CREDIT_WEIGHTS[i] as number), 0);
  return first17 + CHARSET[(31 - (sum % 31)) % 31];
}

const pick = <T>(next: () => number, list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

const SURNAMES = '陈李黄张梁刘林何罗郑谢周吴冯邓曾彭苏钟叶';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华志红建国文斌';
const personName = (next: () => number) => `${pick(next, [...SURNAMES])}${pick(next, [...GIVEN])}${next() < 0.6 ? pick(next, [...GIVEN]) : ''}`;
const mobile = (next: () => number) => `1${pick(next, ['35', '38', '39', '58', '59', '86', '88', '37'])}${String(Math.floor(next() * 1e8)).padStart(8, '0')}`;

/** A point inside one of the street's grids, away from grid edges. */
function pointIn(street: DemoUnit, units: DemoUnit[], next: () => number): { lng: number; lat: number } {
  const grids = units.filter((u) => u.kind === 'grid' && u.path.includes(street.id));
  const [minLng, minLat, maxLng, maxLat] = pick(next, grids).bbox as [number, number, number, number];
  return {
    lng: round6(minLng + (0.1 + next() * 0.8) * (maxLng - minLng)),
    lat: round6(minLat + (0.1 + next() * 0.8) * (maxLat - minLat)),
  };
}

const CLUSTERS: Array<{ park: string; streetId: string; share: number; industries: Industry[]; road: string }> = [
  { park: '琶洲—鱼珠人工智能与数字经济试验区（鱼珠片区）', streetId: 'yuzhu', share: 0.3, industries: ['INFORMATION_TECHNOLOGY', 'INFORMATION_TECHNOLOGY', 'CULTURE', 'FINANCE'], road: '鱼珠智谷' },
  { park: '广州科学城', streetId: 'lianhe', share: 0.25, industries: ['MANUFACTURING', 'RESEARCH', 'HEALTH', 'INFORMATION_TECHNOLOGY'], road: '科学大道' },
  { park: '云埔工业区', streetId: 'nangang', share: 0.15, industries: ['MANUFACTURING', 'MANUFACTURING', 'CONSTRUCTION'], road: '云埔一路' },
  { park: '黄埔港物流园', streetId: 'huangpujie', share: 0.1, industries: ['LOGISTICS', 'WHOLESALE_RETAIL'], road: '港前路' },
];

const WORDS = ['粤芯', '智汇', '云启', '数联', '星图', '锐思', '海川', '鸿远', '科睿', '恒信', '越秀', '珠江', '南粤', '穗通', '瑞达', '博源', '天禾', '明德', '启航', '凌云', '汇智', '宏图', '创新', '众诚', '华腾'];
const SUFFIX: Record<Industry, string[]> = {
  INFORMATION_TECHNOLOGY: ['网络科技有限公司', '信息技术有限公司', '人工智能科技有限公司', '软件有限公司'],
  MANUFACTURING: ['智能制造有限公司', '精密机械有限公司', '新材料有限公司', '电子科技有限公司'],
  RESEARCH: ['生物科技有限公司', '检测技术有限公司', '研究院有限公司'],
  BUSINESS_SERVICES: ['企业管理咨询有限公司', '人力资源服务有限公司'],
  WHOLESALE_RETAIL: ['贸易有限公司', '供应链管理有限公司'],
  CONSTRUCTION: ['建设工程有限公司', '建筑科技有限公司'],
  LOGISTICS: ['物流有限公司', '国际货运代理有限公司'],
  FINANCE: ['融资租赁有限公司', '商业保理有限公司'],
  HEALTH: ['医疗器械有限公司', '健康科技有限公司'],
  CULTURE: ['文化传媒有限公司', '数字娱乐有限公司'],
};

export function demoOfficers(): DemoOfficer[] {
  const next = seededRandom('enterprise-officers');
  const streets = demoUnits().filter((u) => u.kind === 'street');
  const officers: DemoOfficer[] = [];
  for (let i = 1; i <= 24; i++) {
    // A third work for the district's business bureau, the rest for streets.
    const unitId = i <= 8 ? 'dept-business' : (streets[(i - 9) % streets.length] as DemoUnit).id;
    officers.push({
      id: `cso-${String(i).padStart(2, '0')}`,
      name: personName(next),
      phone: `020-8${String(Math.floor(next() * 1e7)).padStart(7, '0')}`,
      unitId,
      title: unitId === 'dept-business' ? '区商务局首席服务官' : '街道首席服务官',
    });
  }
  return officers;
}

export function demoEnterprises(): DemoEnterprise[] {
  const next = seededRandom('enterprise-enterprises');
  const units = demoUnits();
  const streets = units.filter((u) => u.kind === 'street');
  const officers = demoOfficers();
  const used = new Set<string>();
  const out: DemoEnterprise[] = [];
  for (let i = 0; i < DEMO_ENTERPRISE_COUNT; i++) {
    const roll = next();
    let acc = 0;
    const cluster = CLUSTERS.find((c) => (acc += c.share) > roll);
    const street = cluster ? (units.find((u) => u.id === cluster.streetId) as DemoUnit) : pick(next, streets);
    const industry: Industry = cluster
      ? pick(next, cluster.industries)
      : pick(next, ['BUSINESS_SERVICES', 'WHOLESALE_RETAIL', 'CONSTRUCTION', 'HEALTH', 'MANUFACTURING', 'CULTURE'] as const);
    const size: Size = pick(next, ['MICRO', 'MICRO', 'SMALL', 'SMALL', 'SMALL', 'MEDIUM', 'MEDIUM', 'LARGE']);
    let name: string;
    do {
      name = `广州${pick(next, WORDS)}${pick(next, WORDS)}${pick(next, SUFFIX[industry])}`;
    } while (used.has(name));
    used.add(name);
    let code = creditCode(next);
    while (out.some((e) => e.creditCode === code)) code = creditCode(next);
    // Officers serving this street's enterprises (its own, and the bureau's for clusters).
    const local = officers.filter((o) => o.unitId === street.id || (cluster && o.unitId === 'dept-business'));
    const first = pick(next, local.length ? local : officers);
    const history: DemoEnterprise['officers'] = [{ officerId: first.id, daysAgo: 200 + Math.floor(next() * 300) }];
    if (next() < 0.15) {
      const second = pick(next, (local.length ? local : officers).filter((o) => o.id !== first.id));
      if (second) history.push({ officerId: second.id, daysAgo: 20 + Math.floor(next() * 150), reason: '服务官岗位调整' });
    }
    out.push({
      creditCode: code,
      name,
      industry,
      size,
      address: `广州市黄埔区${street.name}${cluster?.road ?? '开创大道'}${1 + Math.floor(next() * 300)}号`,
      location: pointIn(street, units, next),
      streetId: street.id,
      ...(cluster && { park: cluster.park }),
      contacts: [
        { name: personName(next), title: pick(next, ['总经理', '行政经理', '法务经理', '董事长助理']), phone: mobile(next) },
        ...(next() < 0.5 ? [{ name: personName(next), title: '办公室主任', phone: mobile(next) }] : []),
      ],
      officers: history,
    });
  }
  return out;
}

const DEMAND_STORIES: Record<Kind, Array<[string, string]>> = {
  HOUSING: [
    ['新引进研发人员住房需求', '公司今年新引进博士及硕士研发人员20名，申请配租附近人才公寓，希望协调房源。'],
    ['人才公寓租金补贴咨询', '员工入住人才公寓后，咨询租金补贴申请条件和办理流程。'],
  ],
  POWER: [
    ['新增产线用电报装扩容', '新增两条生产线，现有变压器容量不足，申请加快用电报装扩容，影响投产进度。'],
    ['园区频繁停电影响生产', '近一个月园区出现三次非计划停电，造成设备损坏，请求排查供电线路。'],
  ],
  PERMIT: [
    ['厂房消防验收办理缓慢', '新建厂房已完工两个月，消防验收尚未安排，影响开业，请求协调加快。'],
    ['食品经营许可证变更', '公司迁址后需变更食品经营许可证，咨询能否并联办理。'],
  ],
  FINANCING: [
    ['申请中小企业贷款贴息', '企业扩产需要流动资金，申请纳入区中小企业贷款贴息支持名单。'],
    ['知识产权质押融资对接', '希望以发明专利质押融资，请协助对接合作银行。'],
  ],
  LAND: [
    ['扩建项目用地规划咨询', '企业计划扩建研发中心，咨询相邻地块的规划条件和供地方式。'],
    ['工业用地容积率调整', '申请提高现有工业用地容积率，用于建设自用厂房。'],
  ],
  HIRING: [
    ['招聘普工困难', '订单增加需要招聘普工80名，请求协助对接劳务资源和招聘会。'],
    ['申请以工代训补贴', '企业新招员工已开展岗位培训，咨询以工代训补贴申领。'],
  ],
  DISPUTE: [
    ['与业主方租赁合同纠纷', '厂房业主单方面提高租金并停水停电，双方协商未果，请求调解。'],
    ['施工方拖欠分包款纠纷', '总包单位拖欠分包工程款，影响工人工资发放，请求协调。'],
  ],
  OTHER: [
    ['园区周边交通拥堵', '上下班高峰园区出入口拥堵严重，建议增设公交线路和信号灯。'],
    ['企业门前道路破损', '企业门前市政道路破损积水，货车通行困难。'],
  ],
};

const RESULTS = ['已协调相关部门现场办理，企业确认问题已解决。', '已按政策办理完毕，相关材料已送达企业。', '已组织供需对接，企业表示满意。', '经多方协调达成一致，后续由街道跟踪回访。'];
const HANDLERS: Record<Kind, string> = {
  HOUSING: 'dept-housing',
  POWER: 'dept-power',
  PERMIT: 'dept-market',
  FINANCING: 'dept-business',
  LAND: 'dept-planning',
  HIRING: 'dept-hr',
  DISPUTE: 'dept-police',
  OTHER: 'dept-traffic',
};

export function demoDemands(enterprises: DemoEnterprise[] = demoEnterprises()): DemoDemand[] {
  const next = seededRandom('enterprise-demands');
  const kinds = Object.keys(DEMAND_STORIES) as Kind[];
  const out: DemoDemand[] = [];
  for (let i = 0; i < 480; i++) {
    const enterprise = pick(next, enterprises);
    const kind = pick(next, kinds);
    const [title, description] = pick(next, DEMAND_STORIES[kind]);
    const daysAgo = Math.floor(next() * 180);
    const roll = next();
    const id = `DDEMO${String(i + 1).padStart(4, '0')}`;
    const handlingUnitId = next() < 0.7 ? HANDLERS[kind] : enterprise.streetId;
    const tier = handlingUnitId.startsWith('dept-') ? 'DEPARTMENT' : 'STREET';
    const limitDays = 7;
    const priority = next() < 0.1 ? 'URGENT' : 'NORMAL';
    const base = { id, enterpriseId: enterprise.creditCode, kind, title, description, priority, daysAgo } as const;
    if (i < 6) {
      // Fresh ones: they go through hub.intake to the calls subgraph when the zone starts.
      out.push({ ...base, status: 'SUBMITTED', daysAgo: 0 });
    } else if (roll < 0.62 && daysAgo > 10) {
      const completedAfterDays = 1 + Math.floor(next() * 9); // some late
      // Ratings as the districts report them: overwhelmingly satisfied.
      const stars = next() < 0.9 ? 5 : next() < 0.8 ? 4 : 3;
      out.push({
        ...base,
        status: 'CLOSED',
        call: { status: 'CLOSED', tier, handlingUnitId, limitDays, respondedAfterDays: 1, completedAfterDays, result: pick(next, RESULTS) },
        stars,
      });
    } else if (roll < 0.72 && daysAgo > 5) {
      const completedAfterDays = Math.min(daysAgo - 1, 1 + Math.floor(next() * 6));
      out.push({
        ...base,
        status: 'RESOLVED',
        call: { status: 'COMPLETED', tier, handlingUnitId, limitDays, respondedAfterDays: 1, completedAfterDays, result: pick(next, RESULTS) },
      });
    } else if (roll < 0.94) {
      out.push({
        ...base,
        daysAgo: Math.min(daysAgo, 14),
        status: 'IN_PROGRESS',
        call: { status: pick(next, ['RAISED', 'DISPATCHED', 'SIGNED', 'RESPONDED']), tier, handlingUnitId, limitDays },
      });
    } else if (roll < 0.98) {
      out.push({ ...base, status: 'WITHDRAWN', withdrawReason: '企业已自行解决', call: { status: 'WITHDRAWN', tier: 'STREET', handlingUnitId: enterprise.streetId, limitDays } });
    } else {
      out.push({ ...base, status: 'REJECTED', rejection: 'fails the intake contract: /call/description must NOT have more than 5000 characters' });
    }
  }
  return out;
}

const PROJECTS: Array<{ name: string; streetId: string; provider: string }> = [
  { name: '科学城人才公寓一期', streetId: 'lianhe', provider: '黄埔区人才安居服务中心' },
  { name: '科学城人才公寓二期', streetId: 'lianhe', provider: '黄埔区人才安居服务中心' },
  { name: '天麓人才驿站', streetId: 'lianhe', provider: '科学城集团' },
  { name: '鱼珠智谷人才公寓', streetId: 'yuzhu', provider: '黄埔区人才安居服务中心' },
  { name: '茅岗人才苑', streetId: 'yuzhu', provider: '鱼珠片区开发公司' },
  { name: '萝岗青年人才公寓', streetId: 'luogang', provider: '黄埔区人才安居服务中心' },
  { name: '玉树人才家园', streetId: 'luogang', provider: '萝岗和苑物业' },
  { name: '云埔产业工人公寓', streetId: 'nangang', provider: '云埔工业区管委会' },
  { name: '南岗青年公寓', streetId: 'nangang', provider: '安居长租运营公司' },
  { name: '黄埔港人才公寓', streetId: 'huangpujie', provider: '港务集团' },
  { name: '大沙人才苑', streetId: 'dasha', provider: '黄埔区人才安居服务中心' },
  { name: '夏港人才驿站', streetId: 'xiagang', provider: '安居长租运营公司' },
  { name: '长洲岛人才小镇', streetId: 'changzhou', provider: '黄埔区人才安居服务中心' },
];

export function demoApartments(count = DEMO_APARTMENT_COUNT, seed = 'enterprise-apartments'): DemoApartment[] {
  const next = seededRandom(seed);
  const units = demoUnits();
  const out: DemoApartment[] = [];
  // Each project has a few buildings of about a hundred flats; flats of one building share its point.
  const perProject = Math.max(6, Math.ceil(count / (PROJECTS.length * 100)));
  const buildings = PROJECTS.flatMap((p) => {
    const street = units.find((u) => u.id === p.streetId) as DemoUnit;
    return Array.from({ length: perProject }, (_, b) => ({ ...p, building: b + 1, location: pointIn(street, units, next), street }));
  });
  for (let i = 0; i < count; i++) {
    const building = pick(next, buildings);
    const rooms = pick(next, [0, 1, 1, 1, 2, 2, 3]);
    const areaSqm = Math.round((rooms === 0 ? 25 + next() * 15 : rooms * 28 + 15 + next() * 20) * 10) / 10;
    const perSqm = building.streetId === 'yuzhu' ? 55 : building.streetId === 'lianhe' ? 45 : 35;
    const available = next() < 0.35;
    out.push({
      id: `APT${String(i + 1).padStart(6, '0')}`,
      project: building.name,
      unitNo: `${building.building}栋${1 + Math.floor(next() * 30)}${String(1 + Math.floor(next() * 12)).padStart(2, '0')}`,
      streetId: building.streetId,
      address: `广州市黄埔区${building.street.name}${building.name}${building.building}栋`,
      location: building.location,
      rooms,
      areaSqm,
      monthlyRent: Math.round((areaSqm * perSqm * (0.85 + next() * 0.3)) / 10) * 10,
      available,
      ...(available && next() < 0.4 && { availableInDays: 1 + Math.floor(next() * 60) }),
      provider: building.provider,
    });
  }
  return out;
}

const P = (
  id: number,
  title: string,
  issuer: string,
  tags: string[],
  eligibility: { industries?: Industry[]; sizes?: Size[]; streetIds?: string[] },
  summary: string,
  body: string,
  dates: { fromDays: number; toDays?: number } = { fromDays: -400 },
): DemoPolicy => ({
  id: `POL${String(id).padStart(3, '0')}`,
  title,
  issuer,
  docNumber: `埔府规〔${2024 + (id % 3)}〕${id}号`,
  ...dates,
  tags,
  industries: eligibility.industries ?? [],
  sizes: eligibility.sizes ?? [],
  streetIds: eligibility.streetIds ?? [],
  summary,
  text: `${summary}${body}本措施由发文机关负责解释，企业可通过首席服务官或企业服务平台咨询办理。（演示数据）`,
});

export function demoPolicies(): DemoPolicy[] {
  const ZONE = '黄埔区人民政府';
  const BIZ = '黄埔区商务局';
  const SCI = '黄埔区科技局';
  const HR = '黄埔区人力资源和社会保障局';
  const HOUSE = '黄埔区住房和城乡建设局';
  return [
    P(1, '黄埔区促进数字经济高质量发展若干措施', ZONE, ['数字经济', '软件', '人工智能'], { industries: ['INFORMATION_TECHNOLOGY', 'RESEARCH'] }, '对软件和信息技术服务企业按营业收入增长给予奖励。', '对首次入选国家级人工智能创新应用先导区项目的企业，给予最高500万元一次性奖励；对云计算、大数据企业租用办公用房给予租金补贴。'),
    P(2, '黄埔区人才安居办法', HOUSE, ['人才', '住房', '人才公寓', '租金补贴'], {}, '符合条件的企业人才可申请配租人才公寓或领取租房补贴。', '人才公寓租金按市场租金的一定比例确定，博士、硕士及紧缺专业人才优先配租；未配租的可按月领取租房补贴，最长三年。'),
    P(3, '黄埔区支持中小企业融资若干措施', BIZ, ['融资', '贷款贴息', '中小企业'], { sizes: ['MEDIUM', 'SMALL', 'MICRO'] }, '对中小企业银行贷款利息给予贴息。', '对企业获得的流动资金贷款按实际支付利息的50%给予贴息，单户每年最高100万元；对知识产权质押融资给予担保费补贴。'),
    P(4, '琶洲—鱼珠片区人工智能产业扶持办法', BIZ, ['人工智能', '数字经济', '鱼珠'], { industries: ['INFORMATION_TECHNOLOGY'], streetIds: ['yuzhu'] }, '支持人工智能企业在鱼珠片区集聚发展。', '对新落户鱼珠片区的人工智能企业给予三年办公用房租金补贴；对算力使用给予算力券支持；对开放应用场景的项目给予配套资金。'),
    P(5, '广州科学城先进制造业发展专项资金管理办法', SCI, ['先进制造', '技术改造', '科学城'], { industries: ['MANUFACTURING'], streetIds: ['lianhe'] }, '支持科学城制造业企业技术改造和智能化升级。', '对企业技术改造项目按设备投资额的10%给予补助，最高1000万元；对建设智能工厂、数字化车间给予奖励。'),
    P(6, '企业用电报装“三零”服务实施细则', '黄埔供电局', ['用电', '电力', '报装', '扩容'], {}, '低压小微企业用电报装实行零上门、零审批、零投资。', '高压用户报装压减办电环节和时限，对产业园区电力扩容实行提前规划、主动对接，办电进度全程可查。'),
    P(7, '工程建设项目审批“拿地即开工”实施办法', '黄埔区政务服务数据管理局', ['审批', '用地', '开工', '证照'], { industries: ['MANUFACTURING', 'CONSTRUCTION', 'RESEARCH'] }, '工业项目实现拿地即开工。', '通过提前开展设计方案审查、施工图审查和并联审批，企业取得土地后即可领取施工许可证；消防验收与竣工验收合并办理。'),
    P(8, '稳岗扩岗补贴申领指引', HR, ['招工', '就业', '稳岗补贴', '以工代训'], {}, '企业吸纳就业、开展以工代训可申领补贴。', '企业招用登记失业人员、高校毕业生并缴纳社会保险的，按人给予一次性扩岗补助；开展以工代训的按每人每月500元给予补贴。'),
    P(9, '黄埔区促进生物医药产业发展办法', SCI, ['生物医药', '医疗器械', '临床试验'], { industries: ['HEALTH', 'RESEARCH'] }, '支持生物医药企业创新研发和产业化。', '对取得药品注册证书、医疗器械注册证的企业给予奖励；对开展临床试验的项目按阶段给予资助。'),
    P(10, '跨境电商与外贸企业扶持措施', BIZ, ['外贸', '跨境电商', '物流'], { industries: ['WHOLESALE_RETAIL', 'LOGISTICS'] }, '支持外贸企业稳订单拓市场。', '对企业参加境外展会给予展位费补贴；对跨境电商海外仓建设给予一次性奖励；对出口信用保险保费给予资助。'),
    P(11, '企业研发经费投入后补助实施细则', SCI, ['研发', '科技创新', '高新技术'], { industries: ['INFORMATION_TECHNOLOGY', 'MANUFACTURING', 'RESEARCH', 'HEALTH'] }, '按企业研发费用加计扣除额给予后补助。', '对上年度研发经费支出超过一定规模的企业，按增量部分给予补助，最高500万元。'),
    P(12, '高新技术企业认定奖励办法', SCI, ['高新技术', '认定', '奖励'], {}, '对首次认定的高新技术企业给予奖励。', '首次通过高新技术企业认定的给予一次性奖励30万元，重新认定的给予10万元。'),
    P(13, '专精特新中小企业培育若干措施', BIZ, ['专精特新', '中小企业', '奖励'], { sizes: ['SMALL', 'MEDIUM'] }, '培育专精特新和“小巨人”企业。', '对新认定的国家级专精特新“小巨人”企业给予100万元奖励，省级专精特新中小企业给予20万元奖励。'),
    P(14, '企业上市挂牌奖励办法', '黄埔区金融工作局', ['上市', '融资', '资本市场'], { sizes: ['LARGE', 'MEDIUM'] }, '支持企业在境内外资本市场上市挂牌。', '企业完成股份制改造、辅导备案、首次公开发行上市的，分阶段给予合计最高500万元奖励。'),
    P(15, '黄埔港现代物流业发展扶持办法', BIZ, ['物流', '港口', '供应链'], { industries: ['LOGISTICS'], streetIds: ['huangpujie', 'dasha'] }, '支持港口物流和供应链企业发展。', '对新增集装箱航线、建设智慧仓储项目的企业给予补助；对供应链管理企业按营业收入增长给予奖励。'),
    P(16, '文化创意和数字内容产业扶持办法', '黄埔区文化广电旅游体育局', ['文化', '数字内容', '游戏', '动漫'], { industries: ['CULTURE', 'INFORMATION_TECHNOLOGY'] }, '支持数字文化、动漫游戏企业发展。', '对原创动漫、游戏、影视作品获得国家级奖项的给予奖励；对文化产业园区运营给予补贴。'),
    P(17, '总部企业认定和奖励办法', ZONE, ['总部经济', '落户', '奖励'], { sizes: ['LARGE'] }, '吸引总部企业落户黄埔。', '新认定的总部企业给予落户奖励、办公用房补贴和经营贡献奖励；总部企业高管可享受人才服务绿色通道。'),
    P(18, '知识产权资助和奖励办法', '黄埔区市场监督管理局', ['知识产权', '专利', '商标'], {}, '资助企业知识产权创造、运用和保护。', '对获得发明专利授权、PCT国际专利申请、中国专利奖的企业给予资助；对知识产权维权给予费用补贴。'),
    P(19, '高层次人才引进奖励办法', HR, ['人才', '引进', '奖励', '安家补贴'], {}, '对企业引进的高层次人才给予奖励和安家补贴。', '经认定的杰出人才、优秀人才、精英人才分别给予安家补贴和工作经费；其子女入学、配偶就业提供服务保障。'),
    P(20, '企业首席服务官制度工作指引', BIZ, ['首席服务官', '营商环境', '企业诉求'], {}, '为重点企业配备首席服务官，一企一策解决诉求。', '首席服务官负责政策宣讲、诉求收集与跟踪办理，诉求按“街道吹哨、部门报到”机制流转，限时办结并回访评价。'),
    P(21, '安全生产标准化建设补助办法', '黄埔区应急管理局', ['安全生产', '标准化', '补助'], { industries: ['MANUFACTURING', 'CONSTRUCTION', 'LOGISTICS'] }, '支持企业开展安全生产标准化建设。', '对首次通过安全生产标准化二级、三级评审的企业分别给予补助；对重大隐患整改项目给予资金支持。'),
    P(22, '节能降碳技术改造补贴办法', '黄埔区发展和改革局', ['节能', '降碳', '技术改造', '绿色'], { industries: ['MANUFACTURING', 'LOGISTICS'] }, '支持企业节能降碳技术改造。', '对年节能量达到一定规模的技术改造项目按节能量给予补贴；对建设分布式光伏的企业给予装机补贴。'),
    P(23, '金融机构落户奖励办法', '黄埔区金融工作局', ['金融', '落户', '奖励'], { industries: ['FINANCE'] }, '吸引金融机构落户。', '对新设立或新迁入的持牌金融机构按注册资本给予落户奖励，并给予三年办公用房补贴。'),
    P(24, '商贸企业升规纳统奖励', BIZ, ['商贸', '升规', '奖励'], { industries: ['WHOLESALE_RETAIL'], sizes: ['SMALL', 'MICRO'] }, '鼓励商贸企业升规入库。', '首次纳入限额以上统计的批发零售企业给予一次性奖励10万元。'),
    P(25, '建筑业企业资质升级奖励', HOUSE, ['建筑业', '资质', '奖励'], { industries: ['CONSTRUCTION'] }, '支持建筑业企业做大做强。', '对首次取得施工总承包特级、一级资质的企业分别给予奖励；对新落户的建筑业企业给予产值贡献奖励。'),
    P(26, '新能源汽车产业链扶持措施', SCI, ['新能源汽车', '零部件', '先进制造'], { industries: ['MANUFACTURING', 'RESEARCH'] }, '支持新能源汽车整车和关键零部件企业发展。', '对动力电池、电驱动、智能网联等关键零部件项目给予固定资产投资补助；对整车企业新车型给予研发奖励。'),
    P(27, '集成电路产业发展扶持办法', SCI, ['集成电路', '芯片', '半导体'], { industries: ['MANUFACTURING', 'RESEARCH', 'INFORMATION_TECHNOLOGY'] }, '支持集成电路设计、制造和封装测试企业。', '对芯片设计企业首次流片费用给予补贴；对制造企业设备购置给予补助；对EDA工具使用给予资助。'),
    P(28, '商事纠纷多元化解工作办法', '黄埔区司法局', ['纠纷', '调解', '商事'], {}, '为企业提供商事纠纷调解、仲裁和法律服务。', '企业间合同、租赁、工程款等商事纠纷可申请人民调解和行业调解，调解成功的不收取费用；必要时引导进入仲裁或诉讼。'),
    P(29, '外籍人才工作生活便利服务指引', HR, ['外籍人才', '签证', '人才'], {}, '为企业外籍人才提供工作许可和居留便利。', '外籍高端人才工作许可实行承诺制、容缺受理；提供子女入学、医疗保险等一站式服务。'),
    P(30, '首台（套）重大技术装备推广应用奖励', SCI, ['首台套', '装备', '先进制造'], { industries: ['MANUFACTURING'] }, '支持首台（套）重大技术装备研制和推广应用。', '对经认定的首台（套）装备按销售额给予研制单位奖励，对首购用户给予保费补贴。'),
    P(31, '2023年度中小企业纾困专项资金（已到期）', BIZ, ['中小企业', '纾困', '租金减免'], { sizes: ['SMALL', 'MICRO'] }, '对受影响的中小微企业给予租金和社保补贴。', '申报期已结束，本办法仅供查阅。', { fromDays: -1000, toDays: -500 }),
    P(32, '黄埔区促进软件产业发展若干措施（征求意见稿，下月施行）', BIZ, ['软件', '数字经济', '信创'], { industries: ['INFORMATION_TECHNOLOGY'] }, '支持基础软件、工业软件和信创产业。', '对工业软件首版次应用、信创产品适配给予奖励。', { fromDays: 30 }),
  ];
}

export const DEMO_DISTRICT_ID = DISTRICT_ID;
