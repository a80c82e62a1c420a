// Scoring schemes (考核方案) as data: versioned, each with the districts that use it and the month it
// takes effect from. For a district and month the version in force is the one with the latest
// effective month not after it. A new version may only take effect from a month that is still open
// (the service refuses to start otherwise: see guardClosedMonths), so a closed month is never rescored.
//
// - HUANGPU (黄埔 双向考核, DOMAIN.md *(reports)*): three dimensions — on-time sign-off (按时签收),
//   timely response and handling (及时响应办理), satisfaction (满意度评价: only five stars scores in
//   full, 基本满意 loses points) — and automatic deductions for missed deadlines. No official weights
//   or deduction sizes were published; the figures below (30/40/30; stars 5→100%, 4→80%, 3→60%,
//   2→20%, 1→0; 1 point per overdue step or rework, 0.5 per supervision, 1 per call-up a department
//   had overturned) are the hub's defaults, kept as data so the district can set its own.
// - BEIJING (接诉即办, DOMAIN.md *(reports)*): 响应率 contacted / valid call-backs, 解决率 resolved /
//   valid call-backs, 满意率 (satisfied + k × basically satisfied) / valid call-backs. DOMAIN.md found
//   no official weights; its default is 10/50/40 with k = 0.9, used here. The valid call-backs are
//   the 12345 call-backs' own answers (ledger.ts: a caller's rating stands in on calls not from the
//   hotline; a missed completion counts as a call-back answering no, no, unsatisfied).
//
// An empty dimension (nothing in it this month) scores nothing and does not count: the dimensions
// that have items share the full 100 in proportion to their weights (DOMAIN.md "no dimension of a
// score may read as perfect because nothing happened in it").
import { z } from 'zod';
import { addInto, type Entry, type Vector } from './ledger.ts';
import { isPeriod, type Period } from './period.ts';

const period = z.string().refine(isPeriod, 'expected a month written YYYY-MM');

const huangpuParams = z.object({
  weights: z.object({ signOff: z.number().min(0), handling: z.number().min(0), satisfaction: z.number().min(0) }),
  /** The share of the satisfaction weight each star rating earns. */
  starValues: z.object({ 1: z.number().min(0).max(1), 2: z.number().min(0).max(1), 3: z.number().min(0).max(1), 4: z.number().min(0).max(1), 5: z.number().min(0).max(1) }),
  deductions: z.object({
    overdueSign: z.number().min(0),
    overdueRespond: z.number().min(0),
    overdueComplete: z.number().min(0),
    reopened: z.number().min(0),
    supervised: z.number().min(0),
    callUpsOverturned: z.number().min(0),
  }),
});

const beijingParams = z.object({
  weights: z.object({ response: z.number().min(0), resolution: z.number().min(0), satisfaction: z.number().min(0) }),
  /** k: how much a 基本满意 counts towards 满意率. */
  basicFactor: z.number().min(0).max(1),
});

const schemeVersion = z.discriminatedUnion('scheme', [
  z.object({
    scheme: z.literal('HUANGPU'),
    version: z.number().int().min(1),
    name: z.string().min(1),
    effectiveFrom: period,
    districts: z.array(z.string().min(1)),
    params: huangpuParams,
  }),
  z.object({
    scheme: z.literal('BEIJING'),
    version: z.number().int().min(1),
    name: z.string().min(1),
    effectiveFrom: period,
    districts: z.array(z.string().min(1)),
    params: beijingParams,
  }),
]);

export type SchemeVersion = z.infer<typeof schemeVersion>;
export type SchemeId = SchemeVersion['scheme'];
export type HuangpuParams = z.infer<typeof huangpuParams>;
export type BeijingParams = z.infer<typeof beijingParams>;

export const DEFAULT_SCHEMES: SchemeVersion[] = [
  {
    scheme: 'HUANGPU',
    version: 1,
    name: '黄埔区有呼必应双向考核（按时签收、及时响应办理、满意度评价）',
    effectiveFrom: '2019-01',
    districts: ['huangpu'],
    params: {
      weights: { signOff: 30, handling: 40, satisfaction: 30 },
      starValues: { 1: 0, 2: 0.2, 3: 0.6, 4: 0.8, 5: 1 },
      deductions: { overdueSign: 1, overdueRespond: 1, overdueComplete: 1, reopened: 1, supervised: 0.5, callUpsOverturned: 1 },
    },
  },
  {
    scheme: 'BEIJING',
    version: 1,
    name: '接诉即办三率考核（响应率、解决率、满意率）',
    effectiveFrom: '2019-01',
    districts: [],
    params: { weights: { response: 10, resolution: 50, satisfaction: 40 }, basicFactor: 0.9 },
  },
];

/** A scheme table from JSON (SCHEMES_PATH), checked; an error names what is wrong. */
export function validateSchemes(input: unknown): SchemeVersion[] {
  const parsed = z.array(schemeVersion).min(1).safeParse(input);
  if (!parsed.success) {
    throw new Error(`invalid scheme table: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const seen = new Set<string>();
  for (const v of parsed.data) {
    const id = `${v.scheme}@${v.version}`;
    if (seen.has(id)) throw new Error(`invalid scheme table: ${id} appears twice`);
    seen.add(id);
  }
  return parsed.data;
}

export class Schemes {
  constructor(readonly versions: SchemeVersion[]) {}

  /** The version in force for a district and month: of `scheme` if named, else the district's own. */
  select(district: string, period: Period, scheme?: SchemeId): SchemeVersion | undefined {
    const candidates = this.versions.filter(
      (v) => v.effectiveFrom <= period && (scheme ? v.scheme === scheme : v.districts.includes(district)),
    );
    return candidates.sort((a, b) => b.effectiveFrom.localeCompare(a.effectiveFrom) || b.version - a.version)[0];
  }
}

// ---- scores ---------------------------------------------------------------------------------------

export interface Dimension {
  key: string;
  name: string;
  weight: number;
  /** How many items the rate is over (signs, steps, ratings, call-backs). */
  items: number;
  rate: number | null;
  /** The items' worth summed (rate × items, unrounded). */
  value: number;
  points: number;
}

export interface Deduction {
  key: string;
  name: string;
  count: number;
  each: number;
  points: number;
}

export interface Score {
  /** Out of 100; null when there was nothing to score in the month. */
  score: number | null;
  dimensions: Dimension[];
  deductions: Deduction[];
}

export interface Effect {
  dimension: string;
  earned: number;
  lost: number;
}

const round = (n: number, digits = 2) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};
const n = (v: Vector, k: string) => v[k] ?? 0;

function dimension(key: string, name: string, weight: number, items: number, value: number): Dimension {
  const rate = items > 0 ? value / items : null;
  return { key, name, weight, items, rate: rate === null ? null : round(rate, 4), value, points: 0 };
}

/**
 * Points of each dimension: weight × rate, scaled so that the dimensions with items share the full
 * weight of all (an empty dimension scores 0 and does not count). Returns the scale.
 */
function share(dimensions: Dimension[]): number {
  const total = dimensions.reduce((s, d) => s + d.weight, 0);
  const active = dimensions.filter((d) => d.items > 0).reduce((s, d) => s + d.weight, 0);
  const scale = active > 0 ? total / active : 0;
  for (const d of dimensions) d.points = d.items > 0 ? round((d.weight * scale * d.value) / d.items, 4) : 0;
  return scale;
}

const DEDUCTION_NAMES: Record<keyof HuangpuParams['deductions'], string> = {
  overdueSign: '签收逾期',
  overdueRespond: '响应逾期',
  overdueComplete: '办结逾期',
  reopened: '返工',
  supervised: '督办',
  callUpsOverturned: '呼叫被改派（部门协调胜诉）',
};

function starSum(v: Vector, values: HuangpuParams['starValues']): number {
  return ([1, 2, 3, 4, 5] as const).reduce((sum, s) => sum + n(v, `stars${s}`) * values[s], 0);
}

export function scoreOf(version: SchemeVersion, v: Vector): Score {
  if (version.scheme === 'HUANGPU') {
    const p = version.params;
    const dimensions = [
      dimension('SIGN_OFF', '按时签收', p.weights.signOff, n(v, 'signed'), n(v, 'signedOnTime')),
      dimension(
        'HANDLING',
        '及时响应办理',
        p.weights.handling,
        n(v, 'responded') + n(v, 'completed'),
        n(v, 'respondedOnTime') + n(v, 'completedOnTime'),
      ),
      dimension('SATISFACTION', '满意度评价', p.weights.satisfaction, n(v, 'ratings'), starSum(v, p.starValues)),
    ];
    const deductions = (Object.keys(p.deductions) as Array<keyof HuangpuParams['deductions']>)
      .map((key) => ({ key, name: DEDUCTION_NAMES[key], count: n(v, key), each: p.deductions[key], points: round(n(v, key) * p.deductions[key], 4) }))
      .filter((d) => d.count !== 0);
    share(dimensions);
    const scored = dimensions.some((d) => d.items > 0) || deductions.length > 0;
    const total = dimensions.reduce((s, d) => s + d.points, 0) - deductions.reduce((s, d) => s + d.points, 0);
    return { score: scored ? round(Math.max(0, total)) : null, dimensions, deductions };
  }
  const p = version.params;
  const valid = n(v, 'callbacks');
  const dimensions = [
    dimension('RESPONSE', '响应率', p.weights.response, valid, n(v, 'contacted')),
    dimension('RESOLUTION', '解决率', p.weights.resolution, valid, n(v, 'resolved')),
    dimension('SATISFACTION', '满意率', p.weights.satisfaction, valid, n(v, 'satisfied') + p.basicFactor * n(v, 'basic')),
  ];
  share(dimensions);
  const total = dimensions.reduce((s, d) => s + d.points, 0);
  return { score: valid > 0 ? round(total) : null, dimensions, deductions: [] };
}

/**
 * What one ledger entry earned or cost under a scheme, given its month's totals: in a dimension of
 * weight W over n items, an item worth x (0..1) earns W·x/n and loses W·(1−x)/n; a deduction loses
 * its points. A correction counts negatively.
 */
export function effectsOf(version: SchemeVersion, entry: Entry, totals: Vector): Effect[] {
  const sign = entry.reversal ? -1 : 1;
  // The month's scale (empty dimensions do not count): each item's share of its dimension's points.
  const scale = share(scoreOf(version, totals).dimensions);
  const item = (dim: string, weight: number, items: number, value: number): Effect => {
    if (items <= 0) return { dimension: dim, earned: 0, lost: 0 };
    const w = weight * scale;
    return { dimension: dim, earned: round((sign * w * value) / items, 4), lost: round((sign * w * (1 - value)) / items, 4) };
  };
  const effects: Effect[] = [];
  if (version.scheme === 'HUANGPU') {
    const p = version.params;
    const handlingItems = n(totals, 'responded') + n(totals, 'completed');
    switch (entry.fact) {
      case 'sign':
        effects.push(item('SIGN_OFF', p.weights.signOff, n(totals, 'signed'), entry.onTime ? 1 : 0));
        break;
      case 'respond':
      case 'complete':
        effects.push(item('HANDLING', p.weights.handling, handlingItems, entry.onTime ? 1 : 0));
        break;
      case 'rating':
        effects.push(item('SATISFACTION', p.weights.satisfaction, n(totals, 'ratings'), p.starValues[entry.stars as 1 | 2 | 3 | 4 | 5]));
        break;
      case 'unrated':
        effects.push(item('SATISFACTION', p.weights.satisfaction, n(totals, 'ratings'), 0));
        break;
      default: {
        const key = deductionKey(entry);
        if (key) effects.push({ dimension: `DEDUCTION_${key}`, earned: 0, lost: round(sign * p.deductions[key], 4) });
      }
    }
    return effects;
  }
  const p = version.params;
  const valid = n(totals, 'callbacks');
  let answers: { contacted: boolean; resolved: boolean; satisfied: number } | undefined;
  if (entry.fact === 'callback') {
    const sat = entry.satisfaction;
    answers = {
      contacted: entry.contacted ?? false,
      resolved: entry.resolved ?? false,
      satisfied: sat === 'VERY_SATISFIED' || sat === 'SATISFIED' ? 1 : sat === 'BASIC' ? p.basicFactor : 0,
    };
  } else if (entry.fact === 'rating' && entry.contacted !== undefined) {
    const stars = entry.stars ?? 0;
    answers = { contacted: entry.contacted, resolved: entry.resolved ?? false, satisfied: stars >= 4 ? 1 : stars === 3 ? p.basicFactor : 0 };
  } else if (entry.fact === 'unrated' && entry.contacted !== undefined) {
    answers = { contacted: false, resolved: false, satisfied: 0 };
  }
  if (answers) {
    effects.push(item('RESPONSE', p.weights.response, valid, answers.contacted ? 1 : 0));
    effects.push(item('RESOLUTION', p.weights.resolution, valid, answers.resolved ? 1 : 0));
    effects.push(item('SATISFACTION', p.weights.satisfaction, valid, answers.satisfied));
  }
  return effects;
}

function deductionKey(entry: Entry): keyof HuangpuParams['deductions'] | undefined {
  switch (entry.fact) {
    case 'overdue':
      return entry.step === 'SIGN' ? 'overdueSign' : entry.step === 'RESPOND' ? 'overdueRespond' : 'overdueComplete';
    case 'reopen':
      return 'reopened';
    case 'supervise':
      return 'supervised';
    case 'call_up_overturned':
      return 'callUpsOverturned';
    default:
      return undefined;
  }
}

/** The sum of many vectors (a month's totals from its calls' contributions). */
export function sumVectors(vectors: Iterable<Vector>): Vector {
  const total: Vector = {};
  for (const v of vectors) addInto(total, v);
  return total;
}
