// GraphQL resolvers of the evaluation subgraph: scores, rankings, trends and explanations from the
// ledgers; dashboard counters; a call's own scoring. Periods and units are checked first: a malformed
// month or an unknown unit is BAD_USER_INPUT.
import type { Identity } from '../../platform/auth.ts';
import { userError } from '../../platform/errors.ts';
import { connectionOf, decodeCursor, encodeCursor, pageSize } from '../../platform/pagination.ts';
import { DateTime } from '../../platform/scalars.ts';
import type { UnitRef } from '../../platform/entity-ref.ts';
import type { DirectoryUnit, UnitDirectory } from '../../platform/unit-directory.ts';
import { canSee, requireSee, requireStaff, seesAll } from './access.ts';
import { guardReads } from '../../platform/policy.ts';
import { readCounters } from './counters.ts';
import { type Entry, ledgerOf, perfKey, streetOf, type Vector } from './domain/ledger.ts';
import { type MonthClosing, type Period, periodOf, periodsBetween, requirePeriod } from './domain/period.ts';
import { type Effect, effectsOf, type SchemeId, Schemes, type SchemeVersion, type Score, scoreOf } from './domain/schemes.ts';
import type { Performance, PerformanceExplanationArgs, RankedKind, Resolvers, ResolversParentTypes } from './generated/graphql.ts';
import { callIdOf, type EvaluationStore, type FrozenMonth } from './store.ts';

export interface EvaluationDeps {
  store: EvaluationStore;
  directory: UnitDirectory;
  schemes: Schemes;
  closing: MonthClosing;
  /** How months combine into the annual assessment (default: the mean of the year's closed months with a score). */
  annual?: AnnualRule;
  now?: () => Date;
}

export type AnnualRule = 'MEAN_OF_CLOSED_MONTHS' | 'MEAN_OF_MONTHS';

const KIND_OF_UNIT: Record<string, RankedKind> = { department: 'DEPARTMENT', street: 'STREET' };
const MAX_TREND = 24;
const MAX_CALL_ENTRIES = 200;

interface PerformanceView extends Score {
  unitId: string;
  period: Period;
  version: SchemeVersion;
  totals: Vector;
}

// The objects the resolvers pass around for the SDL's types (mappers in codegen.json).

/** A unit's month as resolved: the SDL's fields (but `explanation`) and what its explanation reads. */
export type PerformanceParent = PerformanceView & Omit<Performance, '__typename' | 'unit' | 'explanation'> & { unit: UnitRef };

type EntryView = ResolversParentTypes['ScoreEntry'];

interface RankingRow extends Score {
  unitId: string;
  rank: number;
  score: number;
}

const STEP_NAMES = { SIGN: '签收', RESPOND: '响应', COMPLETE: '办结' } as const;
const CALLBACK_NAMES = { VERY_SATISFIED: '非常满意', SATISFIED: '满意', BASIC: '基本满意', UNSATISFIED: '不满意' } as const;
const STAR_NAMES: Record<number, string> = { 5: '非常满意', 4: '满意', 3: '基本满意', 2: '不满意', 1: '不满意' };

/** One sentence on an entry (Chinese, shown to staff). */
export function noteOf(entry: Entry): string {
  const timing = entry.onTime ? '按时' : '超时';
  let text: string;
  switch (entry.fact) {
    case 'dispatched':
      text = '收到呼叫派单';
      break;
    case 'sign':
    case 'respond':
    case 'complete':
      text = entry.missed
        ? `逾期未${{ sign: '签收', respond: '响应', complete: '办结' }[entry.fact]}，按未按时计`
        : `${{ sign: '签收', respond: '响应', complete: '办结' }[entry.fact]}${timing}`;
      break;
    case 'unrated':
      text = '逾期未办结，无评价，按不满意计';
      break;
    case 'callback':
      text = `12345回访：${entry.contacted ? '已联系' : '未联系'}、${entry.resolved ? '已解决' : '未解决'}、${CALLBACK_NAMES[entry.satisfaction ?? 'UNSATISFIED']}`;
      break;
    case 'overdue':
      text = `${STEP_NAMES[entry.step ?? 'COMPLETE']}逾期，自动扣分`;
      break;
    case 'urge':
      text = '逾期催办';
      break;
    case 'supervise':
      text = '被督办';
      break;
    case 'reopen':
      text = '呼叫方不满意，返工';
      break;
    case 'rating':
      text = `评价 ${entry.stars} 星（${STAR_NAMES[entry.stars ?? 1]}）`;
      break;
    case 'adjudication_won':
      text = '申请协调获支持，事项改派';
      break;
    case 'adjudication_lost':
      text = '申请协调未获支持，维持原派';
      break;
    case 'call_up_overturned':
      text = '呼叫部门的事项经协调被改派';
      break;
  }
  if (entry.reversal) text = `更正：撤销 ${entry.belongsTo} 已入账的「${text}」`;
  else if (entry.period !== entry.belongsTo) text += `（属 ${entry.belongsTo}，该月已关账，计入 ${entry.period}）`;
  return text;
}

const round4 = (n: number) => Math.round(n * 10_000) / 10_000;

export function createResolvers(deps: EvaluationDeps): Resolvers {
  // Each field decides through the policy (access.ts); without an identity nothing is read.
  return guardReads(buildResolvers(deps), () => undefined);
}

function buildResolvers(deps: EvaluationDeps): Resolvers {
  const { store, directory, schemes, closing } = deps;
  const now = () => deps.now?.() ?? new Date();
  // Rankings computed once per request (a query may ask many units for their place).
  const rankingMemo = new WeakMap<object, Map<string, Promise<RankingRow[]>>>();

  function requireUnit(id: string, field = 'unitId'): DirectoryUnit {
    const unit = directory.get(id);
    if (!unit) throw userError('BAD_USER_INPUT', `单位不存在：${id} (unknown unit)`, { field, unitId: id });
    return unit;
  }

  function scoredKind(unit: DirectoryUnit): RankedKind {
    const kind = KIND_OF_UNIT[unit.kind];
    if (!kind) {
      throw userError('BAD_USER_INPUT', `只考核部门和街道：${unit.name}（${unit.id}）(only departments and streets are scored)`, {
        unitId: unit.id,
      });
    }
    return kind;
  }

  /** The scheme table a month is scored under: as it stood when the month was frozen, else today's. */
  const frozenTables = new WeakMap<FrozenMonth, Schemes>();
  function tableOf(frozen: FrozenMonth | undefined): Schemes {
    if (!frozen) return schemes;
    let table = frozenTables.get(frozen);
    if (!table) frozenTables.set(frozen, (table = new Schemes(frozen.schemes)));
    return table;
  }

  function versionFor(unit: DirectoryUnit, period: Period, scheme?: SchemeId, frozen?: FrozenMonth): SchemeVersion {
    const district = unit.path[0] ?? unit.id;
    const version = tableOf(frozen).select(district, period, scheme);
    if (!version) {
      throw userError('BAD_USER_INPUT', `${period} 没有适用于 ${district} 的考核方案${scheme ? ` ${scheme}` : ''} (no scheme in force)`, {
        field: 'scheme',
      });
    }
    return version;
  }

  async function performance(unitId: string, period: Period, scheme?: SchemeId): Promise<PerformanceView> {
    const unit = requireUnit(unitId);
    scoredKind(unit);
    // A closed month that is frozen answers from its frozen figures and scheme, never from a later replay.
    const frozen = await store.frozenMonth(period);
    const version = versionFor(unit, period, scheme, frozen);
    const totals = frozen ? (frozen.units.get(unitId) ?? {}) : ((await store.totals([perfKey(unitId, period)])).get(perfKey(unitId, period))?.totals ?? {});
    return { unitId, period, version, totals, ...scoreOf(version, totals) };
  }

  function rankings(ctx: object, district: string, kind: RankedKind, period: Period, scheme?: SchemeId): Promise<RankingRow[]> {
    let memo = rankingMemo.get(ctx);
    if (!memo) rankingMemo.set(ctx, (memo = new Map<string, Promise<RankingRow[]>>()));
    const key = `${district}|${kind}|${period}|${scheme ?? ''}`;
    let rows = memo.get(key);
    if (!rows) {
      rows = (async () => {
        const units = directory
          .ofKind(kind === 'DEPARTMENT' ? 'department' : 'street')
          .filter((u) => (u.path[0] ?? u.id) === district);
        // One document holds every unit's figures for the month (FerretDB answers one read per _id);
        // a frozen month's are its own.
        const frozen = await store.frozenMonth(period);
        const figures = frozen ? frozen.units : await store.monthByUnit(period);
        const version = tableOf(frozen).select(district, period, scheme);
        const scored = units.flatMap((u) => {
          if (!version) return [];
          const s = scoreOf(version, figures.get(u.id) ?? {});
          return s.score === null ? [] : [{ unitId: u.id, ...s, score: s.score }];
        });
        scored.sort((a, b) => b.score - a.score || a.unitId.localeCompare(b.unitId));
        // Equal scores share a rank (1, 2, 2, 4).
        let rank = 0;
        return scored.map((row, i) => {
          if (i === 0 || row.score !== scored[i - 1]?.score) rank = i + 1;
          return { ...row, rank };
        });
      })();
      memo.set(key, rows);
    }
    return rows;
  }

  function districtOf(identity: Identity): string {
    const unit = directory.get(identity.unitId);
    return unit?.path[0] ?? directory.ofKind('district')[0]?.id ?? identity.unitId;
  }

  /** Entries of one call with what each earned or cost, under the scheme of its unit's month. */
  async function withEffects(callId: string, entries: Entry[]) {
    const keys = [...new Set(entries.map((e) => perfKey(e.unit, e.period)))];
    const figures = await store.readTotals(keys);
    return entries.map((entry) => {
      const unit = directory.get(entry.unit);
      const version = unit ? schemes.select(unit.path[0] ?? unit.id, entry.period) : undefined;
      const effects: Effect[] = version ? effectsOf(version, entry, figures.get(perfKey(entry.unit, entry.period))?.totals ?? {}) : [];
      return entryView(callId, entry, effects);
    });
  }

  function entryView(callId: string, entry: Entry, effects: Effect[]): EntryView {
    return {
      call: { __typename: 'Call', id: callId },
      event: entry.type,
      sequence: entry.seq,
      at: new Date(entry.at),
      unit: { __typename: 'Unit', id: entry.unit },
      period: entry.period,
      belongsTo: entry.belongsTo,
      fact: entry.fact,
      step: entry.step ?? null,
      onTime: entry.onTime ?? null,
      stars: entry.stars ?? null,
      correction: entry.reversal ?? false,
      earned: round4(effects.reduce((s, e) => s + e.earned, 0)),
      lost: round4(effects.reduce((s, e) => s + e.lost, 0)),
      effects,
      note: noteOf(entry),
    };
  }

  function versionView(v: SchemeVersion) {
    return { ...v, params: JSON.stringify(v.params) };
  }

  function performanceView(p: PerformanceView): PerformanceParent {
    const n = (k: string) => p.totals[k] ?? 0;
    return {
      ...p,
      unit: { __typename: 'Unit', id: p.unitId },
      scheme: versionView(p.version),
      frozen: closing.isClosed(p.period, now()),
      closesAt: closing.closesAt(p.period),
      facts: {
        dispatched: n('dispatched'),
        signed: n('signed'),
        signedOnTime: n('signedOnTime'),
        responded: n('responded'),
        respondedOnTime: n('respondedOnTime'),
        completed: n('completed'),
        completedOnTime: n('completedOnTime'),
        overdue: [
          { step: 'SIGN', count: n('overdueSign') },
          { step: 'RESPOND', count: n('overdueRespond') },
          { step: 'COMPLETE', count: n('overdueComplete') },
        ],
        urged: n('urged'),
        supervised: n('supervised'),
        reopened: n('reopened'),
        ratings: [5, 4, 3, 2, 1].map((stars) => ({ stars, count: n(`stars${stars}`) })),
        adjudicationsWon: n('adjudicationsWon'),
        adjudicationsLost: n('adjudicationsLost'),
        callUpsOverturned: n('callUpsOverturned'),
        lateEntries: n('lateEntries'),
      },
    };
  }

  async function explanation(p: PerformanceView, args: PerformanceExplanationArgs) {
    const size = pageSize(args.first);
    const docId = perfKey(p.unitId, p.period);
    const doc = (await store.loadLedgers([docId])).get(docId);
    const keys = Object.keys(doc?.calls ?? {}).sort();
    let startKey = 0;
    let startIndex = 0;
    if (typeof args.after === 'string') {
      const [key, index] = decodeCursor(args.after);
      const at = keys.findIndex((k) => k >= String(key));
      startKey = at === -1 ? keys.length : at;
      if (keys[startKey] === String(key)) startIndex = Number(index) + 1;
    }
    const items: Array<{ cursor: string; node: EntryView }> = [];
    for (let i = startKey; i < keys.length && items.length <= size; i += 8) {
      const slice = keys.slice(i, i + 8);
      const calls = await store.loadCalls(slice.map(callIdOf));
      for (const key of slice) {
        const call = calls.get(callIdOf(key));
        if (!call) continue;
        const entries = ledgerOf(call.obs, closing, streetOf(call.scopes)).filter((e) => e.unit === p.unitId && e.period === p.period);
        entries.forEach((entry, index) => {
          if (key === keys[startKey] && index < startIndex) return;
          const view = entryView(call._id, entry, effectsOf(p.version, entry, p.totals));
          if (args.onlyLosses && view.lost <= 0) return;
          items.push({ cursor: encodeCursor([key, index]), node: view });
        });
        if (items.length > size) break;
      }
    }
    const connection = connectionOf(items, size, (item) => item.cursor, args.after);
    return {
      edges: connection.edges.map((e) => ({ cursor: e.node.cursor, node: e.node.node })),
      pageInfo: connection.pageInfo,
      totalCount: p.totals.entries ?? 0,
    };
  }

  const periodArg = (value: string | null | undefined, field = 'period') => requirePeriod(value, now(), field);
  const annualRule: AnnualRule = deps.annual ?? 'MEAN_OF_CLOSED_MONTHS';

  /** The months of `year` begun by now (a year not begun, or before 2000, is BAD_USER_INPUT). */
  function yearMonths(year: number): Period[] {
    const current = periodOf(now());
    if (!Number.isInteger(year) || year < 2000 || `${year}-01` > current) {
      throw userError('BAD_USER_INPUT', `考核年度无效：${year}，应为 2000 年至今 (invalid year)`, { field: 'year' });
    }
    const last = `${year}-12` < current ? `${year}-12` : current;
    return periodsBetween(`${year}-01`, last);
  }

  /**
   * The annual assessment (年度) from monthly scores: the mean of the months that count — by default
   * the year's closed months with a score (MEAN_OF_CLOSED_MONTHS); MEAN_OF_MONTHS takes every month
   * with a score, open ones included. Null when no month counts.
   */
  function annualOf(months: Array<{ score: number | null; frozen: boolean }>): { score: number | null; monthsCounted: number } {
    const counted = months.filter((m) => m.score !== null && (annualRule === 'MEAN_OF_MONTHS' || m.frozen));
    if (counted.length === 0) return { score: null, monthsCounted: 0 };
    const mean = counted.reduce((s, m) => s + (m.score as number), 0) / counted.length;
    return { score: Math.round(mean * 100) / 100, monthsCounted: counted.length };
  }

  return {
    DateTime,
    Unit: {
      __resolveReference: (ref) => ({ id: ref.id }),
      performance: async ({ id }, args, ctx) => {
        const period = periodArg(args.period);
        requireUnit(id);
        requireSee(ctx.identity, id, directory, '考核得分');
        return performanceView(await performance(id, period, args.scheme ?? undefined));
      },
      ranking: async ({ id }, args, ctx) => {
        requireStaff(ctx.identity, directory);
        const period = periodArg(args.period);
        const unit = requireUnit(id);
        const kind = scoredKind(unit);
        const district = unit.path[0] ?? unit.id;
        const version = versionFor(unit, period, undefined, await store.frozenMonth(period));
        const rows = await rankings(ctx, district, kind, period);
        const row = rows.find((r) => r.unitId === id);
        return { period, kind, scheme: versionView(version), rank: row?.rank ?? null, of: rows.length, score: row?.score ?? null };
      },
      trend: async ({ id }, args, ctx) => {
        const from = periodArg(args.from, 'from');
        const to = periodArg(args.to, 'to');
        if (from > to) throw userError('BAD_USER_INPUT', `起始月份 ${from} 晚于结束月份 ${to} (from is after to)`, { field: 'from' });
        const periods = periodsBetween(from, to);
        if (periods.length > MAX_TREND) {
          throw userError('BAD_USER_INPUT', `趋势最多 ${MAX_TREND} 个月 (at most ${MAX_TREND} months)`, { field: 'from' });
        }
        requireUnit(id);
        requireSee(ctx.identity, id, directory, '考核得分');
        const at = now();
        return Promise.all(
          periods.map(async (period) => {
            const p = await performance(id, period, args.scheme ?? undefined);
            return { period, score: p.score, frozen: closing.isClosed(period, at) };
          }),
        );
      },
      annual: async ({ id }, args, ctx) => {
        const periods = yearMonths(args.year);
        const unit = requireUnit(id);
        scoredKind(unit);
        requireSee(ctx.identity, id, directory, '考核得分');
        const at = now();
        const months = await Promise.all(
          periods.map(async (period) => {
            const p = await performance(id, period, args.scheme ?? undefined);
            return { period, score: p.score, frozen: closing.isClosed(period, at) };
          }),
        );
        return { unit: { __typename: 'Unit', id }, year: args.year, rule: annualRule, months, ...annualOf(months) };
      },
    },
    Performance: {
      explanation: (p, args) => explanation(p, args),
    },
    Call: {
      __resolveReference: (ref) => ({ id: ref.id }),
      evaluation: async ({ id }, _args, ctx) => {
        const call = (await store.readCalls([id])).get(id);
        if (!call) return null;
        const involved = new Set([...call.scopes, ...call.obs.flatMap((o) => [o.unit, o.caller ?? o.unit, o.origin])]);
        const identity = ctx.identity;
        const visible = seesAll(identity, directory) || [...involved].some((u) => canSee(identity, u, directory));
        if (!visible) return null;
        const entries = ledgerOf(call.obs, closing, streetOf(call.scopes)).slice(0, MAX_CALL_ENTRIES);
        // A unit sees the entries of units it may see; the district all of them.
        const mine = entries.filter((e) => canSee(identity, e.unit, directory));
        return { callId: id, entries: await withEffects(id, mine) };
      },
    },
    Query: {
      rankings: async (_, args, ctx) => {
        requireStaff(ctx.identity, directory);
        const period = periodArg(args.period);
        const size = pageSize(args.first);
        const district = districtOf(ctx.identity);
        const version = tableOf(await store.frozenMonth(period)).select(district, period, args.scheme ?? undefined);
        if (!version) throw userError('BAD_USER_INPUT', `${period} 没有适用的考核方案 (no scheme in force)`, { field: 'scheme' });
        const rows = await rankings(ctx, district, args.kind, period, args.scheme ?? undefined);
        let start = 0;
        if (typeof args.after === 'string') start = Number(decodeCursor(args.after)[0]);
        const page = rows.slice(start, start + size + 1).map((row, i) => ({ row, position: start + i + 1 }));
        const connection = connectionOf(page, size, (item) => encodeCursor([item.position]), args.after);
        return {
          period,
          kind: args.kind,
          scheme: versionView(version),
          edges: connection.edges.map((e) => ({
            cursor: e.cursor,
            node: { ...e.node.row, unit: { __typename: 'Unit', id: e.node.row.unitId } },
          })),
          pageInfo: connection.pageInfo,
          totalCount: rows.length,
        };
      },
      dashboardCounters: async (_, args, ctx) => {
        const period = args.period === undefined || args.period === null ? periodOf(now()) : periodArg(args.period);
        const unit = requireUnit(args.scope, 'scope');
        if (unit.kind === 'district_command' || unit.kind === 'street_command') {
          throw userError('BAD_USER_INPUT', `指挥中心没有自己的统计，请用其所属的区或街道：${unit.id} (use the district or street)`, {
            field: 'scope',
          });
        }
        if (!canSee(ctx.identity, unit.id, directory, 'counters.read')) {
          throw userError('FORBIDDEN', `无权查看该单位的统计：${unit.id}（只能查看本单位及下辖单位）(not your unit)`, { scope: unit.id });
        }
        const counters = await readCounters(store, directory, unit.id, period);
        return { ...counters, scope: { __typename: 'Unit', id: unit.id } };
      },
      scoringSchemes: (_, __, ctx) => {
        requireStaff(ctx.identity, directory, 'evaluation.schemes');
        return schemes.versions.map(versionView);
      },
      annualRankings: async (_, args, ctx) => {
        requireStaff(ctx.identity, directory);
        const periods = yearMonths(args.year);
        const district = districtOf(ctx.identity);
        const at = now();
        const byUnit = new Map<string, Array<{ score: number | null; frozen: boolean }>>();
        for (const period of periods) {
          const frozen = closing.isClosed(period, at);
          for (const row of await rankings(ctx, district, args.kind, period, args.scheme ?? undefined)) {
            byUnit.set(row.unitId, [...(byUnit.get(row.unitId) ?? []), { score: row.score, frozen }]);
          }
        }
        const scored = [...byUnit].flatMap(([unitId, months]) => {
          const a = annualOf(months);
          return a.score === null ? [] : [{ unitId, score: a.score, monthsCounted: a.monthsCounted }];
        });
        scored.sort((a, b) => b.score - a.score || a.unitId.localeCompare(b.unitId));
        let rank = 0;
        const rows = scored.map((row, i) => {
          if (i === 0 || row.score !== scored[i - 1]?.score) rank = i + 1;
          return { rank, unit: { __typename: 'Unit' as const, id: row.unitId }, score: row.score, monthsCounted: row.monthsCounted };
        });
        return { year: args.year, kind: args.kind, rule: annualRule, rows };
      },
    },
  };
}
