// The party-map part of the demo district: boundaries, key grids, grid teams, party organisations,
// party-mass service centres and public facilities, built on demoUnits() (demo/district.ts) whose
// ids every subgraph shares. Deterministic: every value comes from a generator seeded by the id it
// belongs to, so the same id always gets the same data. Names, phone numbers and ID numbers are made
// up; hospital and clinic names are plausible, their places are not real.
import { DISTRICT_ID, type DemoUnit, bboxRing, demoUnits } from './district.ts';
import { seededRandom } from './random.ts';

export type Position = [number, number];
export interface DemoPolygon {
  type: 'Polygon';
  coordinates: Position[][];
}

export interface DemoMapUnit extends DemoUnit {
  /** WGS-84. Streets, communities and basic grids: their demo rectangle; key grids: drawn shapes. */
  boundary?: DemoPolygon;
  gridType?: 'basic' | 'key';
  focus?: string;
  contacts: Array<{ label: string; phone: string }>;
}

export type DemoTeamRole =
  | 'street_leader'
  | 'mid_cadre'
  | 'community_head'
  | 'grid_worker'
  | 'community_party_member'
  | 'in_service_party_member'
  | 'youth_volunteer';

export interface DemoMember {
  id: string;
  gridId: string;
  role: DemoTeamRole;
  title?: string;
  name: string;
  phone: string;
  idNumber?: string;
  employer?: string;
  partyMember: boolean;
}

export interface DemoPartyOrganization {
  id: string;
  name: string;
  kind: 'committee' | 'working_committee' | 'general_branch' | 'branch' | 'joint_committee';
  unitId: string;
  parentId?: string;
  memberCount: number;
  secretaryName: string;
  secretaryPhone: string;
  memberBodies: string[];
}

export interface DemoOpeningHours {
  /** ISO weekdays as digits: "12345" is Monday to Friday. */
  days: string;
  opens: string;
  closes: string;
}

export interface DemoServiceCentre {
  id: string;
  name: string;
  level: 'district' | 'street' | 'community' | 'grid';
  unitId: string;
  address: string;
  lng: number;
  lat: number;
  phone: string;
  openingHours: DemoOpeningHours[];
  services: string[];
}

export interface DemoFacility {
  id: string;
  kind: 'garbage_station' | 'public_toilet' | 'clinic' | 'hospital' | 'bus_stop';
  name: string;
  address: string;
  lng: number;
  lat: number;
  phone?: string;
  openingHours: DemoOpeningHours[];
  attributes: {
    motherBabyRoom?: boolean;
    accessibleToilet?: boolean;
    parking?: boolean;
    parkingSpaces?: number;
    open24h?: boolean;
    sortingCategories?: string[];
    busLines?: string[];
    hospitalGrade?: string;
    emergencyDepartment?: boolean;
  };
}

export interface DemoPartyMap {
  units: DemoMapUnit[];
  members: DemoMember[];
  partyOrganizations: DemoPartyOrganization[];
  serviceCentres: DemoServiceCentre[];
  facilities: DemoFacility[];
}

// ---- deterministic randomness -------------------------------------------------------------------


type Rand = () => number;
const int = (rand: Rand, min: number, max: number) => min + Math.floor(rand() * (max - min + 1));
const pick = <T>(rand: Rand, list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
const some = <T>(rand: Rand, list: readonly T[], min: number, max: number): T[] =>
  [...list].sort(() => rand() - 0.5).slice(0, int(rand, min, max));
const r6 = (n: number) => Math.round(n * 1e6) / 1e6;

const SURNAMES = ['陈', '李', '黄', '张', '梁', '刘', '林', '何', '罗', '吴', '郭', '叶', '邓', '麦', '冯', '谭', '钟', '杨', '王', '周'];
const GIVEN = ['志', '伟', '敏', '丽', '嘉', '俊', '婷', '文', '华', '明', '芳', '健', '燕', '浩', '玲', '锦', '欣', '晓', '杰', '慧', '永', '少', '碧', '国'];
const MOBILE_PREFIXES = ['135', '136', '137', '138', '139', '158', '186', '188'];

const personName = (rand: Rand) => pick(rand, SURNAMES) + pick(rand, GIVEN) + (rand() < 0.7 ? pick(rand, GIVEN) : '');
const mobile = (rand: Rand) => pick(rand, MOBILE_PREFIXES) + String(int(rand, 0, 99_999_999)).padStart(8, '0');
const landline = (rand: Rand) => `020-8${String(int(rand, 0, 9_999_999)).padStart(7, '0')}`;

/** A resident ID number (GB 11643) registered in Huangpu (440112), with a valid check digit. */
function idNumber(rand: Rand): string {
  const year = int(rand, 1960, 2003);
  const month = String(int(rand, 1, 12)).padStart(2, '0');
  const day = String(int(rand, 1, 28)).padStart(2, '0');
  const body = `440112${year}${month}${day}${String(int(rand, 0, 999)).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, d, i) => s + Number(d) * (weights[i] as number), 0);
  return body + '10X98765432'.charAt(sum % 11);
}

// ---- geometry -----------------------------------------------------------------------------------

type Box = [number, number, number, number];

const rectangle = (bbox: Box): DemoPolygon => ({ type: 'Polygon', coordinates: [bboxRing(bbox)] });

function pointIn([minLng, minLat, maxLng, maxLat]: Box, rand: Rand): Position {
  // Keep a margin from the edges, so a point never sits on a grid border by accident.
  const mx = (maxLng - minLng) * 0.1;
  const my = (maxLat - minLat) * 0.1;
  return [r6(minLng + mx + rand() * (maxLng - minLng - 2 * mx)), r6(minLat + my + rand() * (maxLat - minLat - 2 * my))];
}

/** A star-shaped ring (never self-intersecting) around a centre; counter-clockwise, closed. */
function blob(centre: Position, radius: number, rand: Rand, vertices = 20, clockwise = false): Position[] {
  const ring: Position[] = [];
  for (let i = 0; i < vertices; i++) {
    const angle = (2 * Math.PI * i) / vertices;
    const r = radius * (0.8 + 0.35 * rand());
    // Degrees of longitude are shorter than degrees of latitude at 23°N.
    ring.push([r6(centre[0] + (r * Math.cos(angle)) / Math.cos((23.1 * Math.PI) / 180)), r6(centre[1] + r * Math.sin(angle))]);
  }
  if (clockwise) ring.reverse();
  ring.push([...(ring[0] as Position)]);
  return ring;
}

const centreOf = ([minLng, minLat, maxLng, maxLat]: Box): Position => [r6((minLng + maxLng) / 2), r6((minLat + maxLat) / 2)];

// ---- key grids (重点网格), one per street, drawn around a governance problem --------------------------

const KEY_GRIDS: Array<{ street: string; community: number; name: string; focus: string; hole?: boolean }> = [
  { street: 'changzhou', community: 1, name: '深井古村消防重点网格', focus: '城中村消防安全' },
  { street: 'lianhe', community: 4, name: '科学城地铁施工重点网格', focus: '施工围蔽与交通疏导' },
  // A ring around the lake: the water is a hole in the grid.
  { street: 'luogang', community: 1, name: '香雪公园环湖重点网格', focus: '公园安全与防溺水', hole: true },
  { street: 'yuzhu', community: 1, name: '鱼珠码头周边重点网格', focus: '码头周边秩序' },
  { street: 'dasha', community: 4, name: '大沙地商圈重点网格', focus: '商圈市容与消费纠纷' },
  { street: 'huangpujie', community: 1, name: '黄埔古村重点网格', focus: '古村落保护与出租屋管理' },
  { street: 'nangang', community: 2, name: '南岗河防汛重点网格', focus: '三防：河涌水浸点' },
  { street: 'xiagang', community: 1, name: '夏园学校周边重点网格', focus: '校园周边安全' },
];

const ROADS = ['开创大道', '科学大道', '香雪大道', '黄埔东路', '大沙地东', '港湾路', '丰乐北路', '长洲路', '萝岗大道', '南岗中路', '夏园路', '茅岗路'];
const ESTATES = ['锦绣', '翠园', '东城', '雅居', '碧桂', '怡景', '港湾', '丰乐', '新村', '荔园', '华庭', '幸福'];
const EMPLOYERS = ['区税务局', '黄埔海关', '区教育局', '区卫生健康局', '广州开发区管委会', '区法院', '区供电局', '区市场监督管理局'];
const SERVICES = ['党员教育', '政务服务代办', '长者饭堂', '四点半课堂', '法律咨询', '就业指导', '志愿服务', '图书阅览', '心理疏导', '退役军人服务'];
const BUS_LINES = ['B1', 'B20', '390', '364', '506', '夜52', '黄埔1', '黄埔3', '萝岗4', '科学城2'];
const SORTING = ['可回收物', '厨余垃圾', '有害垃圾', '其他垃圾'];

const WEEKDAYS_OFFICE: DemoOpeningHours[] = [
  { days: '12345', opens: '09:00', closes: '12:00' },
  { days: '12345', opens: '14:00', closes: '18:00' },
];

function contactsFor(unit: DemoUnit, rand: Rand): DemoMapUnit['contacts'] {
  switch (unit.kind) {
    case 'district_command':
    case 'street_command':
      return [{ label: '24小时值班电话', phone: landline(rand) }];
    case 'street':
      return [
        { label: '值班电话', phone: landline(rand) },
        { label: '办公电话', phone: landline(rand) },
      ];
    case 'community':
      return [{ label: '服务电话', phone: landline(rand) }];
    case 'department':
    case 'district':
    case 'leadership':
      return [{ label: '办公电话', phone: landline(rand) }];
    default:
      return [];
  }
}

/** The whole party-map demo dataset. */
export function demoPartyMap(): DemoPartyMap {
  const base = demoUnits();
  const units: DemoMapUnit[] = base.map((unit) => ({
    ...unit,
    ...(unit.bbox && { boundary: rectangle(unit.bbox) }),
    ...(unit.kind === 'grid' && { gridType: 'basic' as const }),
    contacts: contactsFor(unit, seededRandom(`contacts:${unit.id}`)),
  }));
  const byId = new Map(units.map((u) => [u.id, u]));

  for (const key of KEY_GRIDS) {
    const community = byId.get(`${key.street}-c${key.community}`);
    if (!community?.bbox) continue;
    const rand = seededRandom(`key:${community.id}`);
    const id = `${community.id}-k1`;
    const centre = centreOf(community.bbox);
    const shell = blob(centre, 0.0055, rand);
    const coordinates = key.hole ? [shell, blob(centre, 0.002, rand, 16, true)] : [shell];
    const lngs = shell.map((p) => p[0]);
    const lats = shell.map((p) => p[1]);
    units.push({
      id,
      name: key.name,
      kind: 'grid',
      parentId: community.id,
      path: [...community.path, id],
      bbox: [Math.min(...lngs), Math.min(...lats), Math.max(...lngs), Math.max(...lats)],
      boundary: { type: 'Polygon', coordinates },
      gridType: 'key',
      focus: key.focus,
      contacts: [],
    });
  }

  const grids = units.filter((u) => u.kind === 'grid');
  const members = grids.flatMap((grid) => teamOf(grid, byId));
  const partyOrganizations = partyOrganizationsOf(units, members);
  const serviceCentres = serviceCentresOf(units);
  const facilities = facilitiesOf(units);
  return { units, members, partyOrganizations, serviceCentres, facilities };
}

function teamOf(grid: DemoMapUnit, byId: Map<string, DemoMapUnit>): DemoMember[] {
  const community = byId.get(grid.parentId ?? '') as DemoMapUnit;
  const street = byId.get(community.parentId ?? '') as DemoMapUnit;
  const rand = seededRandom(`team:${grid.id}`);
  // The street leader covers a whole community (包片), and the community head is the community's.
  const leader = seededRandom(`leader:${community.id}`);
  const head = seededRandom(`head:${community.id}`);
  const out: DemoMember[] = [];
  let n = 0;
  const add = (m: Omit<DemoMember, 'id' | 'gridId'>) => out.push({ id: `${grid.id}-m${++n}`, gridId: grid.id, ...m });
  add({ role: 'street_leader', title: `${street.name}党工委委员`, name: personName(leader), phone: mobile(leader), partyMember: true });
  add({ role: 'mid_cadre', title: pick(rand, ['综治办主任', '党建办副主任', '城管科科长', '应急办主任']), name: personName(rand), phone: mobile(rand), partyMember: true });
  add({ role: 'community_head', title: `${community.name}党委书记、居委会主任`, name: personName(head), phone: mobile(head), partyMember: true });
  const workers = grid.gridType === 'key' ? 1 : int(rand, 1, 2);
  for (let i = 0; i < workers; i++) {
    add({ role: 'grid_worker', title: '专职网格员', name: personName(rand), phone: mobile(rand), partyMember: rand() < 0.5 });
  }
  for (let i = int(rand, 4, 10); i > 0; i--) {
    add({ role: 'community_party_member', name: personName(rand), phone: mobile(rand), idNumber: idNumber(rand), partyMember: true });
  }
  for (let i = int(rand, 3, 8); i > 0; i--) {
    add({
      role: 'in_service_party_member',
      name: personName(rand),
      phone: mobile(rand),
      idNumber: idNumber(rand),
      employer: pick(rand, EMPLOYERS),
      partyMember: true,
    });
  }
  for (let i = int(rand, 2, 6); i > 0; i--) {
    add({ role: 'youth_volunteer', name: personName(rand), phone: mobile(rand), partyMember: false });
  }
  return out;
}

function partyOrganizationsOf(units: DemoMapUnit[], members: DemoMember[]): DemoPartyOrganization[] {
  const orgs: DemoPartyOrganization[] = [];
  const partyMembersIn = (gridIds: Set<string>) => members.filter((m) => m.partyMember && gridIds.has(m.gridId)).length;
  const org = (o: Omit<DemoPartyOrganization, 'secretaryName' | 'secretaryPhone' | 'memberBodies'> & { memberBodies?: string[] }) => {
    const rand = seededRandom(`org:${o.id}`);
    orgs.push({ memberBodies: [], ...o, secretaryName: personName(rand), secretaryPhone: mobile(rand) });
  };
  const gridsUnder = (id: string) => new Set(units.filter((u) => u.kind === 'grid' && u.path.includes(id)).map((u) => u.id));

  org({ id: 'huangpu-party', name: '中共广州市黄埔区委员会', kind: 'committee', unitId: DISTRICT_ID, memberCount: partyMembersIn(gridsUnder(DISTRICT_ID)) });
  for (const street of units.filter((u) => u.kind === 'street')) {
    org({
      id: `${street.id}-party`,
      name: `中共广州市黄埔区${street.name}工作委员会`,
      kind: 'working_committee',
      unitId: street.id,
      parentId: 'huangpu-party',
      memberCount: partyMembersIn(gridsUnder(street.id)),
    });
  }
  for (const community of units.filter((u) => u.kind === 'community')) {
    const big = community.id.endsWith('-c1') || community.id.endsWith('-c2');
    org({
      id: `${community.id}-party`,
      name: big ? `中共${community.name}委员会` : `中共${community.name}总支部委员会`,
      kind: big ? 'committee' : 'general_branch',
      unitId: community.id,
      parentId: `${community.parentId}-party`,
      memberCount: partyMembersIn(gridsUnder(community.id)),
    });
  }
  // 支部建在网格上: a branch on every basic grid.
  for (const grid of units.filter((u) => u.kind === 'grid' && u.gridType === 'basic')) {
    org({
      id: `${grid.id}-party`,
      name: `${grid.name}党支部`,
      kind: 'branch',
      unitId: grid.id,
      parentId: `${grid.parentId}-party`,
      memberCount: partyMembersIn(new Set([grid.id])),
    });
  }
  const joint: Array<[string, string, string, string[]]> = [
    ['lianhe-joint', 'lianhe', '科学城片区联合大党委', ['科学城（广州）投资集团党委', '广州开发区人才工作集团党支部', '黄埔实验学校党总支', '科学城地铁站党员先锋岗']],
    ['yuzhu-joint', 'yuzhu', '鱼珠港区大党委', ['鱼珠码头党支部', '黄埔海关驻港党支部', '港航物流企业联合党支部']],
    ['luogang-joint', 'luogang', '萝岗商圈大党委', ['万达广场党支部', '萝岗商会党支部', '萝岗派出所党支部', '香雪公园管理处党支部']],
  ];
  for (const [id, streetId, name, bodies] of joint) {
    org({ id, name, kind: 'joint_committee', unitId: streetId, parentId: `${streetId}-party`, memberCount: 60 + bodies.length * 25, memberBodies: bodies });
  }
  return orgs;
}

function address(unit: DemoMapUnit, units: Map<string, DemoMapUnit>, rand: Rand): string {
  const street = units.get(unit.path[1] ?? '');
  return `广州市黄埔区${street?.name ?? ''}${pick(rand, ROADS)}${int(rand, 1, 399)}号`;
}

function serviceCentresOf(units: DemoMapUnit[]): DemoServiceCentre[] {
  const byId = new Map(units.map((u) => [u.id, u]));
  const centres: DemoServiceCentre[] = [];
  const centre = (unit: DemoMapUnit, id: string, name: string, level: DemoServiceCentre['level'], hours: DemoOpeningHours[]) => {
    const rand = seededRandom(`centre:${id}`);
    const [lng, lat] = pointIn(unit.bbox as Box, rand);
    centres.push({ id, name, level, unitId: unit.id, address: address(unit, byId, rand), lng, lat, phone: landline(rand), openingHours: hours, services: some(rand, SERVICES, 4, 7) });
  };
  const district = byId.get(DISTRICT_ID) as DemoMapUnit;
  centre(district, 'huangpu-centre', '黄埔区党群服务中心', 'district', [{ days: '1234567', opens: '09:00', closes: '21:00' }]);
  for (const unit of units) {
    if (unit.kind === 'street') {
      centre(unit, `${unit.id}-centre`, `${unit.name}党群服务中心`, 'street', [...WEEKDAYS_OFFICE, { days: '6', opens: '09:00', closes: '12:00' }]);
    } else if (unit.kind === 'community') {
      centre(unit, `${unit.id}-centre`, `${unit.name}党群服务中心`, 'community', [
        { days: '12345', opens: '08:30', closes: '12:00' },
        { days: '12345', opens: '14:00', closes: '17:30' },
        { days: '135', opens: '19:00', closes: '21:00' },
      ]);
    } else if (unit.kind === 'grid' && unit.gridType === 'basic' && unit.id.endsWith('-g1')) {
      centre(unit, `${unit.id}-station`, `${unit.name}党群服务站`, 'grid', [{ days: '1234567', opens: '09:00', closes: '20:00' }]);
    }
  }
  return centres;
}

const HOSPITALS: Array<[string, string, Position]> = [
  ['黄埔区人民医院', '三级甲等', [113.455, 23.105]],
  ['黄埔区中医医院', '三级甲等', [113.495, 23.175]],
  ['黄埔区妇幼保健院', '二级甲等', [113.435, 23.09]],
  ['黄埔区红十字会医院', '二级甲等', [113.535, 23.095]],
  ['黄埔区第二人民医院', '二级甲等', [113.515, 23.195]],
];

function facilitiesOf(units: DemoMapUnit[]): DemoFacility[] {
  const byId = new Map(units.map((u) => [u.id, u]));
  const out: DemoFacility[] = [];
  for (const grid of units.filter((u) => u.kind === 'grid' && u.gridType === 'basic')) {
    const rand = seededRandom(`facilities:${grid.id}`);
    const box = grid.bbox as Box;
    for (let i = 1; i <= 3; i++) {
      const [lng, lat] = pointIn(box, rand);
      out.push({
        id: `${grid.id}-gs${i}`,
        kind: 'garbage_station',
        name: `${pick(rand, ESTATES)}小区垃圾分类投放点`,
        address: address(grid, byId, rand),
        lng,
        lat,
        // 定时定点: set hours in the morning and evening.
        openingHours: [
          { days: '1234567', opens: '07:00', closes: '09:00' },
          { days: '1234567', opens: '18:00', closes: '21:00' },
        ],
        attributes: { sortingCategories: rand() < 0.8 ? SORTING : SORTING.filter((s) => s !== '有害垃圾') },
      });
    }
    {
      const [lng, lat] = pointIn(box, rand);
      const open24h = rand() < 0.5;
      out.push({
        id: `${grid.id}-wc1`,
        kind: 'public_toilet',
        name: `${pick(rand, ROADS)}公厕`,
        address: address(grid, byId, rand),
        lng,
        lat,
        openingHours: open24h ? [] : [{ days: '1234567', opens: '06:00', closes: '23:00' }],
        attributes: { accessibleToilet: rand() < 0.7, motherBabyRoom: rand() < 0.3, open24h, parking: rand() < 0.2 },
      });
    }
    for (let i = 1; i <= 2; i++) {
      const [lng, lat] = pointIn(box, rand);
      out.push({
        id: `${grid.id}-bus${i}`,
        kind: 'bus_stop',
        name: `${pick(rand, ESTATES)}${pick(rand, ['路口', '北', '南', '总站', '东'])}站`,
        address: address(grid, byId, rand),
        lng,
        lat,
        openingHours: [],
        attributes: { busLines: some(rand, BUS_LINES, 1, 4) },
      });
    }
  }
  for (const community of units.filter((u) => u.kind === 'community')) {
    const rand = seededRandom(`clinic:${community.id}`);
    const [lng, lat] = pointIn(community.bbox as Box, rand);
    out.push({
      id: `${community.id}-clinic`,
      kind: 'clinic',
      name: `${community.name.replace(/社区$/, '')}社区卫生服务站`,
      address: address(community, byId, rand),
      lng,
      lat,
      phone: landline(rand),
      openingHours: [
        { days: '123456', opens: '08:00', closes: '12:00' },
        { days: '123456', opens: '14:30', closes: '17:30' },
      ],
      attributes: { accessibleToilet: rand() < 0.6, parking: rand() < 0.4 },
    });
  }
  for (const street of units.filter((u) => u.kind === 'street')) {
    const rand = seededRandom(`health:${street.id}`);
    const [lng, lat] = pointIn(street.bbox as Box, rand);
    out.push({
      id: `${street.id}-health`,
      kind: 'clinic',
      name: `${street.name}社区卫生服务中心`,
      address: address(street, byId, rand),
      lng,
      lat,
      phone: landline(rand),
      openingHours: [{ days: '1234567', opens: '08:00', closes: '20:00' }],
      attributes: { accessibleToilet: true, motherBabyRoom: true, parking: true, parkingSpaces: int(rand, 10, 40) },
    });
  }
  HOSPITALS.forEach(([name, grade, [lng, lat]], i) => {
    const rand = seededRandom(`hospital:${i}`);
    out.push({
      id: `hospital-${i + 1}`,
      kind: 'hospital',
      name,
      address: `广州市黄埔区${pick(rand, ROADS)}${int(rand, 1, 399)}号`,
      lng,
      lat,
      phone: landline(rand),
      openingHours: [],
      attributes: {
        hospitalGrade: grade,
        emergencyDepartment: true,
        open24h: true,
        parking: true,
        parkingSpaces: int(rand, 200, 900),
        accessibleToilet: true,
        motherBabyRoom: true,
      },
    });
  });
  return out;
}
