// The demo district: one deterministic, Huangpu-like dataset whose unit ids every subgraph shares.
// The party-map subgraph owns units and their boundaries; other subgraphs load only what they keep a
// copy of (the calls subgraph: the unit tree and grid boundaries, for jurisdiction and routing).
// Boundaries are simple rectangles laid out over the real district's extent (WGS-84): plausible on a
// map, exact for point-in-polygon tests. Names of streets are real; communities and grids are made up.

export type UnitKind =
  | 'district' // 区
  | 'street' // 街道 / 镇
  | 'community' // 社区
  | 'grid' // 网格
  | 'department' // 区属职能部门
  | 'district_command' // 区指挥中心
  | 'street_command' // 街镇指挥中心
  | 'leadership'; // 区领导 (提级呼叫的应答方)

export interface DemoUnit {
  id: string;
  name: string;
  kind: UnitKind;
  parentId: string | null;
  /** Ancestor ids from the district down, this unit last: jurisdiction is a prefix test. */
  path: string[];
  /** [minLng, minLat, maxLng, maxLat] for streets, communities and grids. */
  bbox?: [number, number, number, number];
}

export const DISTRICT_ID = 'huangpu';
export const DISTRICT_COMMAND_ID = 'huangpu-command';
export const LEADERSHIP_ID = 'huangpu-leaders';

// Eight real streets of Huangpu district, as demo streets, each with four communities.
const STREETS: Array<{ id: string; name: string; communities: string[] }> = [
  { id: 'changzhou', name: '长洲街', communities: ['深井社区', '长洲社区', '安来社区', '下庄社区'] },
  { id: 'lianhe', name: '联和街', communities: ['天麓社区', '暹岗社区', '黄陂社区', '科学城社区'] },
  { id: 'luogang', name: '萝岗街', communities: ['萝峰社区', '玉树社区', '岭头社区', '萝岗社区'] },
  { id: 'yuzhu', name: '鱼珠街', communities: ['鱼珠社区', '茅岗社区', '怡园社区', '丰乐社区'] },
  { id: 'dasha', name: '大沙街', communities: ['横沙社区', '姬堂社区', '双沙社区', '大沙社区'] },
  { id: 'huangpujie', name: '黄埔街', communities: ['黄埔社区', '下沙社区', '大吉沙社区', '港湾社区'] },
  { id: 'nangang', name: '南岗街', communities: ['沙步社区', '南岗社区', '宏岗社区', '笔岗社区'] },
  { id: 'xiagang', name: '夏港街', communities: ['夏园社区', '青年社区', '普晖社区', '东晖社区'] },
];

/** The district's departments (区属职能部门) that streets may call. */
export const DEPARTMENTS: Array<{ id: string; name: string }> = [
  { id: 'dept-urban', name: '区城市管理和综合执法局' },
  { id: 'dept-market', name: '区市场监督管理局' },
  { id: 'dept-housing', name: '区住房和城乡建设局' },
  { id: 'dept-traffic', name: '区公安分局交警大队' },
  { id: 'dept-police', name: '区公安分局' },
  { id: 'dept-ecology', name: '区生态环境分局' },
  { id: 'dept-water', name: '区水务局' },
  { id: 'dept-emergency', name: '区应急管理局' },
  { id: 'dept-health', name: '区卫生健康局' },
  { id: 'dept-civil', name: '区民政局' },
  { id: 'dept-hr', name: '区人力资源和社会保障局' },
  { id: 'dept-power', name: '黄埔供电局' },
  { id: 'dept-business', name: '区商务局' },
  { id: 'dept-planning', name: '区规划和自然资源局' },
];

// The demo extent: four streets across, two down, over the middle of the real district.
const EXTENT = { minLng: 113.4, minLat: 23.06, maxLng: 113.56, maxLat: 23.22 };
const STREET_COLUMNS = 4;
const STREET_ROWS = 2;

function split(
  bbox: [number, number, number, number],
  columns: number,
  rows: number,
  index: number,
): [number, number, number, number] {
  const [minLng, minLat, maxLng, maxLat] = bbox;
  const width = (maxLng - minLng) / columns;
  const height = (maxLat - minLat) / rows;
  const column = index % columns;
  const row = Math.floor(index / columns);
  const round = (n: number) => Math.round(n * 1e6) / 1e6;
  return [
    round(minLng + column * width),
    round(minLat + row * height),
    round(minLng + (column + 1) * width),
    round(minLat + (row + 1) * height),
  ];
}

/** Every unit of the demo district, parents before children. */
export function demoUnits(): DemoUnit[] {
  const district: DemoUnit = {
    id: DISTRICT_ID,
    name: '黄埔区',
    kind: 'district',
    parentId: null,
    path: [DISTRICT_ID],
    bbox: [EXTENT.minLng, EXTENT.minLat, EXTENT.maxLng, EXTENT.maxLat],
  };
  const units: DemoUnit[] = [district];
  const under = (parent: DemoUnit, id: string, name: string, kind: UnitKind, bbox?: DemoUnit['bbox']): DemoUnit => {
    const unit: DemoUnit = { id, name, kind, parentId: parent.id, path: [...parent.path, id], ...(bbox && { bbox }) };
    units.push(unit);
    return unit;
  };
  under(district, DISTRICT_COMMAND_ID, '黄埔区指挥中心', 'district_command');
  under(district, LEADERSHIP_ID, '黄埔区领导', 'leadership');
  for (const dept of DEPARTMENTS) under(district, dept.id, dept.name, 'department');

  STREETS.forEach((street, s) => {
    const streetBox = split(district.bbox as [number, number, number, number], STREET_COLUMNS, STREET_ROWS, s);
    const streetUnit = under(district, street.id, street.name, 'street', streetBox);
    under(streetUnit, `${street.id}-command`, `${street.name}指挥中心`, 'street_command');
    street.communities.forEach((communityName, c) => {
      const communityBox = split(streetBox, 2, 2, c);
      const community = under(streetUnit, `${street.id}-c${c + 1}`, communityName, 'community', communityBox);
      for (let g = 0; g < 4; g++) {
        under(community, `${community.id}-g${g + 1}`, `${communityName}第${g + 1}网格`, 'grid', split(communityBox, 2, 2, g));
      }
    });
  });
  return units;
}

/** The closed GeoJSON ring of a bounding box, counter-clockwise, [lng, lat] pairs. */
export function bboxRing([minLng, minLat, maxLng, maxLat]: [number, number, number, number]): Array<[number, number]> {
  return [
    [minLng, minLat],
    [maxLng, minLat],
    [maxLng, maxLat],
    [minLng, maxLat],
    [minLng, minLat],
  ];
}
