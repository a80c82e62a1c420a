// The callable-items list (呼应事项清单): what a street may call up to which department. 花都's list has
// 13 classes and 36 items, each with a lead department (承办) and a fallback (兜底); 越秀's has 51
// items. The demo list has ten classes, as the reports' simplified major classes.
import { userError } from '../../platform/errors.ts';

export interface CallableItem {
  code: string;
  /** Major class (大类). */
  category: string;
  name: string;
  /** Lead department (承办 / 主办). */
  leadUnitId: string;
  /** Co-handling departments (协办). */
  coUnitIds: string[];
  /** Fallback department (兜底) when the lead is disputed. */
  fallbackUnitId?: string;
}

export const CATEGORIES = [
  '城市管理',
  '综治维稳',
  '市场监管',
  '交通管理',
  '生态环境',
  '住房建设',
  '水务三防',
  '安全生产',
  '民生服务',
  '企业服务',
] as const;

export const DEMO_ITEMS: CallableItem[] = [
  { code: 'CG-01', category: '城市管理', name: '违法建设查处', leadUnitId: 'dept-urban', coUnitIds: ['dept-planning'], fallbackUnitId: 'dept-housing' },
  { code: 'CG-02', category: '城市管理', name: '占道经营整治', leadUnitId: 'dept-urban', coUnitIds: [] },
  { code: 'CG-03', category: '城市管理', name: '施工噪音扰民', leadUnitId: 'dept-urban', coUnitIds: ['dept-ecology', 'dept-housing'] },
  { code: 'ZZ-01', category: '综治维稳', name: '矛盾纠纷调处', leadUnitId: 'dept-police', coUnitIds: ['dept-civil'] },
  { code: 'ZZ-02', category: '综治维稳', name: '出租屋安全隐患', leadUnitId: 'dept-police', coUnitIds: ['dept-housing'] },
  { code: 'SJ-01', category: '市场监管', name: '群体性聚餐食品安全', leadUnitId: 'dept-market', coUnitIds: ['dept-health'] },
  { code: 'SJ-02', category: '市场监管', name: '无证经营', leadUnitId: 'dept-market', coUnitIds: ['dept-urban'] },
  { code: 'JT-01', category: '交通管理', name: '僵尸车清理', leadUnitId: 'dept-traffic', coUnitIds: ['dept-urban'], fallbackUnitId: 'dept-police' },
  { code: 'JT-02', category: '交通管理', name: '道路交通设施损坏', leadUnitId: 'dept-traffic', coUnitIds: [] },
  { code: 'ST-01', category: '生态环境', name: '油烟废气污染', leadUnitId: 'dept-ecology', coUnitIds: ['dept-urban'] },
  { code: 'ST-02', category: '生态环境', name: '河涌水体污染', leadUnitId: 'dept-ecology', coUnitIds: ['dept-water'] },
  { code: 'ZJ-01', category: '住房建设', name: '危房安全隐患', leadUnitId: 'dept-housing', coUnitIds: ['dept-emergency'] },
  { code: 'ZJ-02', category: '住房建设', name: '老旧小区加装电梯纠纷', leadUnitId: 'dept-housing', coUnitIds: ['dept-civil'] },
  { code: 'SW-01', category: '水务三防', name: '水浸点排涝', leadUnitId: 'dept-water', coUnitIds: ['dept-emergency'] },
  { code: 'SW-02', category: '水务三防', name: '供水管网爆管', leadUnitId: 'dept-water', coUnitIds: [] },
  { code: 'AQ-01', category: '安全生产', name: '消防通道堵塞', leadUnitId: 'dept-emergency', coUnitIds: ['dept-police'] },
  { code: 'AQ-02', category: '安全生产', name: '燃气安全隐患', leadUnitId: 'dept-emergency', coUnitIds: ['dept-urban'] },
  { code: 'MS-01', category: '民生服务', name: '困难群众救助', leadUnitId: 'dept-civil', coUnitIds: ['dept-hr'] },
  { code: 'MS-02', category: '民生服务', name: '欠薪维权', leadUnitId: 'dept-hr', coUnitIds: ['dept-police'] },
  { code: 'QY-01', category: '企业服务', name: '用电报装扩容', leadUnitId: 'dept-power', coUnitIds: ['dept-business'] },
  { code: 'QY-02', category: '企业服务', name: '人才住房保障', leadUnitId: 'dept-housing', coUnitIds: ['dept-hr'] },
  { code: 'QY-03', category: '企业服务', name: '企业用地规划', leadUnitId: 'dept-planning', coUnitIds: ['dept-business'] },
];

export class CallableItems {
  private readonly byCode: Map<string, CallableItem>;

  constructor(readonly items: CallableItem[] = DEMO_ITEMS) {
    this.byCode = new Map(items.map((i) => [i.code, i]));
  }

  get(code: string): CallableItem | undefined {
    return this.byCode.get(code);
  }

  /** The item, or BAD_USER_INPUT: a call to a department must match the list. */
  require(code: string): CallableItem {
    const item = this.byCode.get(code);
    if (!item) {
      throw userError('BAD_USER_INPUT', `事项 ${code} 不在呼应事项清单内 (not on the callable-items list)`, {
        field: 'itemCode',
      });
    }
    return item;
  }

  isCategory(category: string): boolean {
    return this.items.some((i) => i.category === category);
  }
}
