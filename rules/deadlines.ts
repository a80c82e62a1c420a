// Deadline policy (时限) as data, and the calculations on it. Pure: callers pass the instants and the
// WorkCalendar. Figures marked (reports) come from DOMAIN.md's published sources; (default) figures
// are the hub's own, kept here as data so an operator can load a different table (validatePolicy).
import {
  addCalendarDays,
  addHours,
  endOfCalendarDays,
  type DayCountRule,
  type IsoDay,
  shanghaiDay,
  type WorkCalendar,
} from './calendar.ts';

export type DurationUnit = 'hours' | 'working_hours' | 'days' | 'working_days';

/**
 * A time limit. Units:
 * - 'hours': plain elapsed hours (nights and holidays included).
 * - 'working_hours': time inside working hours on working days only.
 * - 'days' without a rule: plain multiples of 24 hours; with a rule: to the end (24:00 Shanghai) of
 *   the last counted calendar day ('next_day' = the start day is not counted, as in 民法典 第二百零一条).
 * - 'working_days': to the end of working hours on the last counted working day; the rule is
 *   required and says whether the start day counts (see WorkCalendar.addWorkingDays).
 * `holidayEnd: 'next_working_day'` (calendar days counted by a rule only): a last day that is a
 * statutory holiday or rest day moves to the first working day after it (民法典 第二百零三条).
 */
export interface Duration {
  amount: number;
  unit: DurationUnit;
  rule?: DayCountRule;
  holidayEnd?: 'next_working_day';
}

export const TIERS = ['grid', 'community', 'street', 'department', 'leadership'] as const;
/**
 * The tier that answers (应) the call: grid = a grid handling a matter in its own grid (琐事不出网格);
 * community = a community answering a grid's call (网格呼、社区应); street = a street answering a
 * community's call (社区呼、街道应); department = a district department answering a street's call
 * (街道呼、部门应); leadership = district leaders answering an escalated call (提级呼、领导应).
 */
export type Tier = (typeof TIERS)[number];

export const PRIORITIES = ['normal', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** 签收 sign-off, 响应 first response, 办结 completion. */
export const STEPS = ['sign', 'respond', 'complete'] as const;
export type Step = (typeof STEPS)[number];

/**
 * Each step's limit. Every clock starts when the call reaches the unit (收到呼叫后: the dispatch, 派单),
 * never at the sign-off: signing late buys no time (see computeDeadlines).
 */
export type StepLimits = Record<Step, Duration>;
export type DeadlinePolicy = Record<Tier, Record<Priority, StepLimits>>;

const workingHours = (amount: number): Duration => ({ amount, unit: 'working_hours' });
const workingDays = (amount: number): Duration => ({ amount, unit: 'working_days', rule: 'next_day' });
/** Urgent rows run around the clock (DOMAIN.md "Emergencies run around the clock"): plain hours. */
const hours = (amount: number): Duration => ({ amount, unit: 'hours' });

export const DEFAULT_POLICY: DeadlinePolicy = {
  // Grid (网格): the grid worker is on the spot; trivial matters are settled the same or next day.
  grid: {
    // (default) sign 2 working hours, respond 4 working hours, complete by the end of the next working day.
    normal: { sign: workingHours(2), respond: workingHours(4), complete: workingDays(1) },
    // (default) sign 1 hour, respond 2 hours, complete within 4 hours, around the clock.
    urgent: { sign: hours(1), respond: hours(2), complete: hours(4) },
  },
  // Community (社区) answering a grid's call.
  community: {
    // (default) sign 4 working hours, respond 1 working day, complete 3 working days.
    normal: { sign: workingHours(4), respond: workingDays(1), complete: workingDays(3) },
    // (default) sign 1 hour, respond 2 hours, complete 24 hours, around the clock.
    urgent: { sign: hours(1), respond: hours(2), complete: hours(24) },
  },
  // Street (街道 / 镇) answering a community's call ("大事不出街道").
  street: {
    // (default) sign 4 working hours, respond 1 working day, complete 5 working days.
    normal: { sign: workingHours(4), respond: workingDays(1), complete: workingDays(5) },
    // (default) sign 2 hours, respond 4 hours, complete 48 hours, around the clock.
    urgent: { sign: hours(2), respond: hours(4), complete: hours(48) },
  },
  // District department (区属职能部门) answering a street's call (黄埔).
  department: {
    // sign 1 working day (default); respond within 2 days, plain 48 hours (reports);
    // complete within 5 working days, the day of receipt not counted (reports).
    normal: { sign: workingDays(1), respond: { amount: 2, unit: 'days' }, complete: workingDays(5) },
    // (default) sign 2 hours, respond 4 hours, complete 48 hours, around the clock.
    urgent: { sign: hours(2), respond: hours(4), complete: hours(48) },
  },
  // District leadership (领导) answering an escalated call: the hardest cases, cross-department.
  leadership: {
    // sign 1 working day (default); respond 2 working days (default); complete 10 working days (default).
    normal: { sign: workingDays(1), respond: workingDays(2), complete: workingDays(10) },
    // (default) sign 2 hours, respond 4 hours, complete 72 hours, around the clock.
    urgent: { sign: hours(2), respond: hours(4), complete: hours(72) },
  },
};

// --- validation ---------------------------------------------------------------------------------

/** A policy or limit table that does not hold; `problems` names every bad row. */
export class PolicyError extends Error {
  constructor(readonly problems: string[]) {
    super(`deadline policy: ${problems.join('; ')}`);
    this.name = 'PolicyError';
  }
}

const UNITS: readonly DurationUnit[] = ['hours', 'working_hours', 'days', 'working_days'];
const RULES: readonly DayCountRule[] = ['next_day', 'include_start_day'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The problems with one duration, each prefixed with `where`; empty when it is valid. */
function durationProblems(value: unknown, where: string): string[] {
  if (!isRecord(value)) return [`${where}: expected { amount, unit, rule? }`];
  const problems: string[] = [];
  const { amount, unit, rule, holidayEnd, ...rest } = value;
  for (const key of Object.keys(rest)) problems.push(`${where}: unknown field "${key}"`);
  if (holidayEnd !== undefined && (holidayEnd !== 'next_working_day' || unit !== 'days' || rule === undefined)) {
    problems.push(`${where}: holidayEnd "next_working_day" applies only to days counted by a rule`);
  }
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0) {
    problems.push(`${where}: amount must be a positive number, got ${JSON.stringify(amount)}`);
  }
  if (!UNITS.includes(unit as DurationUnit)) {
    problems.push(`${where}: unit must be one of ${UNITS.join(', ')}, got ${JSON.stringify(unit)}`);
    return problems;
  }
  if (rule !== undefined && !RULES.includes(rule as DayCountRule)) {
    problems.push(`${where}: rule must be next_day or include_start_day, got ${JSON.stringify(rule)}`);
  }
  if ((unit === 'hours' || unit === 'working_hours') && rule !== undefined) {
    problems.push(`${where}: a rule applies only to days and working_days, not ${unit}`);
  }
  if (unit === 'working_days' && rule === undefined) {
    problems.push(`${where}: working_days needs a rule (next_day or include_start_day)`);
  }
  const wholeDays = unit === 'working_days' || (unit === 'days' && rule !== undefined);
  if (wholeDays && typeof amount === 'number' && amount > 0 && !Number.isInteger(amount)) {
    problems.push(`${where}: ${unit} counted by a rule must be a whole number, got ${amount}`);
  }
  return problems;
}

/** Check one duration (e.g. a row of a source-system limit table); throws PolicyError naming it. */
export function validateDuration(value: unknown, where = 'duration'): Duration {
  const problems = durationProblems(value, where);
  if (problems.length > 0) throw new PolicyError(problems);
  return value as Duration;
}

/**
 * Check an operator-loaded policy table: every tier, priority and step present, nothing unknown,
 * every duration valid. Throws one PolicyError listing every bad row as tier.priority.step.
 */
export function validatePolicy(input: unknown): DeadlinePolicy {
  if (!isRecord(input)) throw new PolicyError(['expected an object keyed by tier']);
  const problems: string[] = [];
  for (const key of Object.keys(input)) {
    if (!TIERS.includes(key as Tier)) problems.push(`unknown tier "${key}" (tiers: ${TIERS.join(', ')})`);
  }
  for (const tier of TIERS) {
    const row = input[tier];
    if (!isRecord(row)) {
      problems.push(`${tier}: missing (expected normal and urgent rows)`);
      continue;
    }
    for (const key of Object.keys(row)) {
      if (!PRIORITIES.includes(key as Priority)) problems.push(`${tier}: unknown priority "${key}"`);
    }
    for (const priority of PRIORITIES) {
      const limits = row[priority];
      if (!isRecord(limits)) {
        problems.push(`${tier}.${priority}: missing (expected sign, respond and complete)`);
        continue;
      }
      for (const key of Object.keys(limits)) {
        if (!STEPS.includes(key as Step)) problems.push(`${tier}.${priority}: unknown step "${key}"`);
      }
      for (const step of STEPS) {
        const where = `${tier}.${priority}.${step}`;
        const limit = limits[step];
        if (limit === undefined) problems.push(`${where}: missing`);
        else problems.push(...durationProblems(limit, where));
        const unit = isRecord(limit) ? limit.unit : undefined;
        if (priority === 'urgent' && (unit === 'working_hours' || unit === 'working_days')) {
          problems.push(`${where}: urgent calls run around the clock; use hours or days, not ${String(unit)}`);
        }
      }
    }
  }
  if (problems.length > 0) throw new PolicyError(problems);
  return input as DeadlinePolicy;
}

// --- calculation --------------------------------------------------------------------------------

/** A due instant, with coverage notes for every year whose holiday data the count had to guess. */
export interface Deadline {
  due: Date;
  notes: string[];
}

/** The instant `duration` after `from`; notes only when the count used the working-day calendar. */
export function applyDuration(from: Date, duration: Duration, calendar: WorkCalendar): Deadline {
  const { amount, unit, rule, holidayEnd } = validateDuration(duration);
  switch (unit) {
    case 'hours':
      return { due: addHours(from, amount), notes: [] };
    case 'days': {
      if (!rule) return { due: addCalendarDays(from, amount), notes: [] };
      const end = endOfCalendarDays(from, amount, rule);
      if (!holidayEnd) return { due: end, notes: [] };
      const due = calendar.rollToWorkingDay(end);
      // The last day counted is the day before `due` (24:00 ends it).
      return { due, notes: calendar.coverageNotes(from, new Date(due.getTime() - 1)) };
    }
    case 'working_hours': {
      const due = calendar.addWorkingHours(from, amount);
      return { due, notes: calendar.coverageNotes(from, due) };
    }
    case 'working_days': {
      const due = calendar.addWorkingDays(from, amount, rule!);
      return { due, notes: calendar.coverageNotes(from, due) };
    }
  }
}

export interface CallDeadlines {
  sign: Date;
  respond: Date;
  complete: Date;
  /** Coverage notes (deduplicated) for any year counted without official holiday data. */
  notes: string[];
}

const earliest = (a: Date, b: Date): Date => (a.getTime() <= b.getTime() ? a : b);

/**
 * A call's three deadlines under `policy` for the answering tier and priority, every one counted from
 * `receivedAt`, the moment the call reached the unit (收到呼叫后), never from the sign-off.
 * - A step is never due after the step it precedes: sign ≤ respond ≤ complete (clamped).
 * - `limit`, a source's statutory limit that travels with the call (a 12345 or 信访 time limit), is an
 *   outer bound: no step is due after it, whatever the tier table says.
 */
export function computeDeadlines(
  policy: DeadlinePolicy,
  tier: Tier,
  priority: Priority,
  receivedAt: Date,
  calendar: WorkCalendar,
  options: { limit?: Date } = {},
): CallDeadlines {
  const limits = policy[tier]?.[priority];
  if (!limits) throw new PolicyError([`${tier}.${priority}: no such row`]);
  const sign = applyDuration(receivedAt, limits.sign, calendar);
  const respond = applyDuration(receivedAt, limits.respond, calendar);
  const complete = applyDuration(receivedAt, limits.complete, calendar);
  const notes = [...new Set([...sign.notes, ...respond.notes, ...complete.notes])];
  const completeBy = options.limit ? earliest(complete.due, options.limit) : complete.due;
  const respondBy = earliest(respond.due, completeBy);
  return { sign: earliest(sign.due, respondBy), respond: respondBy, complete: completeBy, notes };
}

// --- 12345 hotline -----------------------------------------------------------------------------

/** 12345 appeal types (诉求类型): 咨询, 求助, 建议, 投诉, 举报. */
export const APPEAL_TYPES = ['consultation', 'help', 'suggestion', 'complaint', 'report'] as const;
export type AppealType = (typeof APPEAL_TYPES)[number];

export const APPEAL_TYPE_NAMES: Readonly<Record<AppealType, string>> = {
  consultation: '咨询',
  help: '求助',
  suggestion: '建议',
  complaint: '投诉',
  report: '举报',
};

/** An appeal type from its code or its Chinese name ('投诉' → 'complaint'); undefined if unknown. */
export function parseAppealType(value: string): AppealType | undefined {
  const text = value.trim();
  if ((APPEAL_TYPES as readonly string[]).includes(text)) return text as AppealType;
  return APPEAL_TYPES.find((type) => APPEAL_TYPE_NAMES[type] === text);
}

const hotlineDays = (amount: number): Duration => ({ amount, unit: 'working_days', rule: 'include_start_day' });

/**
 * 12345 work-order limits (reports: 广东省12345热线管理办法 2022), counted from receipt in working days
 * that include the day of receipt itself (Guangzhou rule).
 */
export const HOTLINE_LIMITS: Readonly<Record<AppealType, Duration>> = {
  consultation: hotlineDays(2),
  help: hotlineDays(10),
  suggestion: hotlineDays(10),
  complaint: hotlineDays(15),
  report: hotlineDays(15),
};

export function hotlineDeadline(
  appealType: AppealType,
  receivedAt: Date,
  calendar: WorkCalendar,
  limits: Readonly<Record<AppealType, Duration>> = HOTLINE_LIMITS,
): Deadline {
  const limit = limits[appealType];
  if (!limit) throw new PolicyError([`hotline.${appealType}: no such appeal type`]);
  return applyDuration(receivedAt, validateDuration(limit, `hotline.${appealType}`), calendar);
}

/**
 * 12345 emergencies (reports, Beijing practice): urgent matters (紧急 and 特急 alike) within 2 hours;
 * water, power, gas and heating (水电气热) within 24 hours. Plain hours, around the clock.
 */
export const HOTLINE_EMERGENCY_LIMITS: Readonly<Record<'urgent' | 'utilities', Duration>> = {
  urgent: { amount: 2, unit: 'hours' },
  utilities: { amount: 24, unit: 'hours' },
};

export function hotlineEmergencyDeadline(
  kind: 'urgent' | 'utilities',
  receivedAt: Date,
  limits: Readonly<Record<'urgent' | 'utilities', Duration>> = HOTLINE_EMERGENCY_LIMITS,
): Date {
  return addHours(receivedAt, validateDuration(limits[kind], `hotlineEmergency.${kind}`).amount);
}

/** Words in a 12345 category path or content that mean a water, power, gas or heating outage (水电气热). */
const UTILITY_CATEGORY = /供水|供电|燃气|煤气|供热|供暖|水电气热/;
const UTILITY_CONTENT = /停水|断水|没水|无水|水压低|爆管|停电|断电|没电|燃气|煤气|停气|漏气|供暖|暖气|供热/;

/** Whether a 12345 order is about water, power, gas or heating (水电气热), by its category path or content. */
export function isUtilityMatter(categoryPath: readonly string[] = [], content = ''): boolean {
  return categoryPath.some((level) => UTILITY_CATEGORY.test(level)) || UTILITY_CONTENT.test(content);
}

export interface HotlineOrderFacts {
  /** 诉求类型; missing means the strictest type's limit applies (never the most lenient). */
  appealType?: AppealType;
  urgency?: '一般' | '紧急' | '特急';
  categoryPath?: readonly string[];
  content?: string;
}

export interface HotlineLimit extends Deadline {
  /** Which rule set the limit: 'emergency', 'utilities', the appeal type, or 'strictest' (type missing). */
  basis: 'emergency' | 'utilities' | AppealType | 'strictest';
}

/**
 * A 12345 work order's statutory limit from receipt: the earliest of the limits that apply, so an
 * urgent 咨询 is due in 2 hours, a 水电气热 complaint in 24 hours. A missing appeal type takes the
 * strictest appeal type's limit (咨询, 2 working days) and says so in a note: never the most lenient.
 */
export function hotlineLimit(facts: HotlineOrderFacts, receivedAt: Date, calendar: WorkCalendar, sources: SourceLimits = DEFAULT_SOURCE_LIMITS): HotlineLimit {
  const candidates: HotlineLimit[] = [];
  if (facts.urgency === '紧急' || facts.urgency === '特急') {
    candidates.push({ due: hotlineEmergencyDeadline('urgent', receivedAt, sources.hotlineEmergency), notes: [], basis: 'emergency' });
  }
  if (isUtilityMatter(facts.categoryPath, facts.content)) {
    candidates.push({ due: hotlineEmergencyDeadline('utilities', receivedAt, sources.hotlineEmergency), notes: [], basis: 'utilities' });
  }
  if (facts.appealType) {
    candidates.push({ ...hotlineDeadline(facts.appealType, receivedAt, calendar, sources.hotline), basis: facts.appealType });
  } else {
    const strictest = APPEAL_TYPES.map((type) => hotlineDeadline(type, receivedAt, calendar, sources.hotline)).reduce((a, b) =>
      a.due <= b.due ? a : b,
    );
    const note = '诉求类型缺失，按最严时限计 (appeal type missing: the strictest limit applies)';
    candidates.push({ due: strictest.due, notes: [...strictest.notes, note], basis: 'strictest' });
  }
  const chosen = candidates.reduce((a, b) => (b.due < a.due ? b : a));
  return { ...chosen, notes: [...new Set(candidates.flatMap((c) => (c === chosen || c.basis === 'strictest' ? c.notes : [])))] };
}

// --- 信访 petitions ------------------------------------------------------------------------------

/**
 * Steps of a petition (reports: 信访工作条例 2022), all in calendar days with the start day not counted
 * (民法典 第二百零一条), and a last day on a statutory holiday or rest day moved to the next working day
 * (民法典 第二百零三条):
 * - route: register and route (登记、转送、交办) within 15 days of receipt;
 * - handle: handle (办结) within 60 days of acceptance (受理), extendable by at most 30 days;
 * - request_review / answer_review: the petitioner may ask for 复查 within 30 days of receiving the
 *   written answer; the reviewing body answers within 30 days of the request;
 * - request_rereview / answer_rereview: the same for 复核, after the 复查 answer. Nothing further after
 *   复核 (see nextPetitionAppeal).
 */
export const PETITION_STEPS = [
  'route',
  'handle',
  'request_review',
  'answer_review',
  'request_rereview',
  'answer_rereview',
] as const;
export type PetitionStep = (typeof PETITION_STEPS)[number];

const petitionDays = (amount: number): Duration => ({ amount, unit: 'days', rule: 'next_day', holidayEnd: 'next_working_day' });

export const PETITION_LIMITS: Readonly<Record<PetitionStep, Duration>> = {
  route: petitionDays(15),
  handle: petitionDays(60),
  request_review: petitionDays(30),
  answer_review: petitionDays(30),
  request_rereview: petitionDays(30),
  answer_rereview: petitionDays(30),
};

/** The longest extension of the 60-day handling limit, in days, with the reason told to the petitioner. */
export const PETITION_MAX_EXTENSION_DAYS = 30;

/**
 * A petition step's deadline from its starting instant (receipt, acceptance, the answer's receipt or
 * the appeal's receipt: the moment it was received, never when it was recorded). `extensionDays`
 * (whole, 0–30) applies to 'handle' only.
 */
export function petitionDeadline(
  step: PetitionStep,
  from: Date,
  calendar: WorkCalendar,
  options: { extensionDays?: number; limits?: Readonly<Record<PetitionStep, Duration>>; maxExtensionDays?: number } = {},
): Deadline {
  const extension = options.extensionDays ?? 0;
  const max = options.maxExtensionDays ?? PETITION_MAX_EXTENSION_DAYS;
  if (extension !== 0 && step !== 'handle') {
    throw new RangeError(`only the handling limit can be extended, not ${step}`);
  }
  if (!Number.isInteger(extension) || extension < 0 || extension > max) {
    throw new RangeError(`a petition extension is a whole number of days from 0 to ${max}, got ${extension}`);
  }
  const limit = validateDuration((options.limits ?? PETITION_LIMITS)[step], `petition.${step}`);
  return applyDuration(from, { ...limit, amount: limit.amount + extension }, calendar);
}

/** The appeal open after a stage's answer: 办理 → 复查 → 复核 → nothing further. */
export function nextPetitionAppeal(stage: 'handle' | 'review' | 'rereview'): 'review' | 'rereview' | undefined {
  if (stage === 'handle') return 'review';
  if (stage === 'review') return 'rereview';
  return undefined;
}

// --- 三防 flood-prevention inspections -----------------------------------------------------------

/** Warning signal colours (预警信号): red 红, orange 橙, yellow 黄, blue 蓝, white 白. */
export const WARNING_COLOURS = ['red', 'orange', 'yellow', 'blue', 'white'] as const;
export type WarningColour = (typeof WARNING_COLOURS)[number];
/** Emergency response levels (应急响应), I the highest. */
export const RESPONSE_LEVELS = ['I', 'II', 'III', 'IV'] as const;
export type ResponseLevel = (typeof RESPONSE_LEVELS)[number];

/** (default) Inspection after a warning, plain hours: red 1, orange 2, yellow 4, blue and white 12. */
export const FLOOD_INSPECTION_LIMITS: Readonly<Record<WarningColour, Duration>> = {
  red: { amount: 1, unit: 'hours' },
  orange: { amount: 2, unit: 'hours' },
  yellow: { amount: 4, unit: 'hours' },
  blue: { amount: 12, unit: 'hours' },
  white: { amount: 12, unit: 'hours' },
};

/** (default) The same by emergency response level: I as red, II orange, III yellow, IV blue. */
export const FLOOD_INSPECTION_LIMITS_BY_LEVEL: Readonly<Record<ResponseLevel, Duration>> = {
  I: { amount: 1, unit: 'hours' },
  II: { amount: 2, unit: 'hours' },
  III: { amount: 4, unit: 'hours' },
  IV: { amount: 12, unit: 'hours' },
};

/**
 * The inspection a warning sets, around the clock from its issue: the stricter of its colour's and
 * its response level's hours. `late` when the hub received it at or after that deadline: the order is
 * still issued at once (DOMAIN.md "Late 三防 orders are still orders"), marked late.
 */
export function floodInspection(
  warning: { colour?: WarningColour; level?: ResponseLevel },
  issuedAt: Date,
  receivedAt: Date,
  sources: SourceLimits = DEFAULT_SOURCE_LIMITS,
): { hours: number; due: Date; late: boolean } {
  const hours = Math.min(
    warning.colour ? validateDuration(sources.flood[warning.colour], `flood.${warning.colour}`).amount : Infinity,
    warning.level ? validateDuration(sources.floodByLevel[warning.level], `floodByLevel.${warning.level}`).amount : Infinity,
  );
  if (!Number.isFinite(hours)) throw new RangeError('a warning needs a colour or a response level');
  const due = addHours(issuedAt, hours);
  return { hours, due, late: receivedAt.getTime() >= due.getTime() };
}

// --- versioned rules ----------------------------------------------------------------------------

/** The source systems' limits, one table per source. */
export interface SourceLimits {
  hotline: Record<AppealType, Duration>;
  hotlineEmergency: Record<'urgent' | 'utilities', Duration>;
  petition: Record<PetitionStep, Duration>;
  petitionMaxExtensionDays: number;
  flood: Record<WarningColour, Duration>;
  floodByLevel: Record<ResponseLevel, Duration>;
}

export const DEFAULT_SOURCE_LIMITS: SourceLimits = {
  hotline: { ...HOTLINE_LIMITS },
  hotlineEmergency: { ...HOTLINE_EMERGENCY_LIMITS },
  petition: { ...PETITION_LIMITS },
  petitionMaxExtensionDays: PETITION_MAX_EXTENSION_DAYS,
  flood: { ...FLOOD_INSPECTION_LIMITS },
  floodByLevel: { ...FLOOD_INSPECTION_LIMITS_BY_LEVEL },
};

/**
 * One version of the rules: the tier table and the source limits, in force for calls received from
 * `effectiveFrom` (a Shanghai day) until the next version's. A call keeps the version it was received
 * under (its deadlines carry the id), so a closed month keeps the rules it was scored under.
 */
export interface RulesVersion {
  id: string;
  effectiveFrom: IsoDay;
  deadlines: DeadlinePolicy;
  sources: SourceLimits;
}

export const DEFAULT_RULES: RulesVersion = {
  id: 'default-2026',
  effectiveFrom: '2000-01-01',
  deadlines: DEFAULT_POLICY,
  sources: DEFAULT_SOURCE_LIMITS,
};

/** The versions of the rules, by effective date. */
export class RulesBook {
  readonly versions: readonly RulesVersion[];

  constructor(versions: readonly RulesVersion[] = [DEFAULT_RULES]) {
    if (versions.length === 0) throw new PolicyError(['the rules need at least one version']);
    this.versions = [...versions].sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom));
  }

  /** The version in force on the Shanghai day of `instant` (the earliest one before any). */
  at(instant: Date): RulesVersion {
    const day = shanghaiDay(instant);
    return this.versions.filter((v) => v.effectiveFrom <= day).at(-1) ?? this.versions[0]!;
  }

  byId(id: string | undefined): RulesVersion | undefined {
    return id === undefined ? undefined : this.versions.find((v) => v.id === id);
  }
}

function sourceLimitProblems(input: unknown, where: string): string[] {
  if (input === undefined) return [];
  if (!isRecord(input)) return [`${where}: expected an object of source tables`];
  const problems: string[] = [];
  const tables: Record<string, readonly string[]> = {
    hotline: APPEAL_TYPES,
    hotlineEmergency: ['urgent', 'utilities'],
    petition: PETITION_STEPS,
    flood: WARNING_COLOURS,
    floodByLevel: RESPONSE_LEVELS,
  };
  for (const key of Object.keys(input)) {
    if (!(key in tables) && key !== 'petitionMaxExtensionDays') problems.push(`${where}: unknown table "${key}"`);
  }
  for (const [table, keys] of Object.entries(tables)) {
    const rows = input[table];
    if (rows === undefined) continue;
    if (!isRecord(rows)) {
      problems.push(`${where}.${table}: expected an object`);
      continue;
    }
    for (const key of Object.keys(rows)) if (!keys.includes(key)) problems.push(`${where}.${table}: unknown row "${key}"`);
    for (const key of keys) if (rows[key] !== undefined) problems.push(...durationProblems(rows[key], `${where}.${table}.${key}`));
    // Emergencies and 三防 run around the clock.
    if (table !== 'hotline' && table !== 'petition') {
      for (const key of keys) {
        const row = rows[key];
        if (isRecord(row) && row.unit !== 'hours') problems.push(`${where}.${table}.${key}: emergencies run around the clock; use hours`);
      }
    }
  }
  const max = input.petitionMaxExtensionDays;
  if (max !== undefined && (!Number.isInteger(max) || (max as number) < 0)) {
    problems.push(`${where}.petitionMaxExtensionDays: a whole number of days, got ${JSON.stringify(max)}`);
  }
  return problems;
}

/**
 * The rules from an operator's file (DEADLINE_POLICY_PATH), always on top of the built-in version:
 * - a bare tier table (the file's old form): it replaces the built-in tier table from the start;
 * - { "versions": [{ "id", "effectiveFrom": "YYYY-MM-DD", "deadlines"?: tier table, "sources"?: {...} }] }:
 *   each version takes effect on its day; a table it leaves out is the previous version's.
 * Throws PolicyError naming every bad row (as versions[n].deadlines.tier.priority.step).
 */
export function loadRules(input: unknown): RulesBook {
  if (isRecord(input) && !('versions' in input)) {
    return new RulesBook([{ ...DEFAULT_RULES, id: 'operator-table', deadlines: validatePolicy(input) }]);
  }
  if (!isRecord(input) || !Array.isArray(input.versions) || input.versions.length === 0) {
    throw new PolicyError(['expected a tier table or { "versions": [ { id, effectiveFrom, deadlines?, sources? } ] }']);
  }
  const problems: string[] = [];
  for (const key of Object.keys(input)) if (key !== 'versions') problems.push(`unknown field "${key}"`);
  const rows = (input.versions as unknown[]).map((raw, index) => ({ raw, where: `versions[${index}]` }));
  const ids = new Set<string>([DEFAULT_RULES.id]);
  const days = new Set<string>();
  for (const { raw, where } of rows) {
    if (!isRecord(raw)) {
      problems.push(`${where}: expected { id, effectiveFrom, deadlines?, sources? }`);
      continue;
    }
    const { id, effectiveFrom, deadlines, sources, ...rest } = raw;
    for (const key of Object.keys(rest)) problems.push(`${where}: unknown field "${key}"`);
    if (typeof id !== 'string' || !/^[\w.-]{1,50}$/.test(id)) problems.push(`${where}: id must be a short name (letters, digits, . _ -)`);
    else if (ids.has(id)) problems.push(`${where}: id "${id}" is used twice`);
    else ids.add(id);
    if (typeof effectiveFrom !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(effectiveFrom)) problems.push(`${where}: effectiveFrom must be a day written YYYY-MM-DD`);
    else if (days.has(effectiveFrom)) problems.push(`${where}: two versions take effect on ${effectiveFrom}`);
    else days.add(effectiveFrom);
    if (deadlines !== undefined) {
      try {
        validatePolicy(deadlines);
      } catch (err) {
        problems.push(...(err as PolicyError).problems.map((p) => `${where}.deadlines: ${p}`));
      }
    }
    problems.push(...sourceLimitProblems(sources, `${where}.sources`));
  }
  if (problems.length > 0) throw new PolicyError(problems);
  const ordered = rows.map(({ raw }) => raw as Record<string, unknown>).sort((a, b) => String(a.effectiveFrom).localeCompare(String(b.effectiveFrom)));
  const versions: RulesVersion[] = [DEFAULT_RULES];
  for (const raw of ordered) {
    const previous = versions.at(-1)!;
    const sources = (raw.sources ?? {}) as Partial<SourceLimits>;
    versions.push({
      id: raw.id as string,
      effectiveFrom: raw.effectiveFrom as string,
      deadlines: (raw.deadlines as DeadlinePolicy | undefined) ?? previous.deadlines,
      sources: {
        hotline: { ...previous.sources.hotline, ...sources.hotline },
        hotlineEmergency: { ...previous.sources.hotlineEmergency, ...sources.hotlineEmergency },
        petition: { ...previous.sources.petition, ...sources.petition },
        petitionMaxExtensionDays: sources.petitionMaxExtensionDays ?? previous.sources.petitionMaxExtensionDays,
        flood: { ...previous.sources.flood, ...sources.flood },
        floodByLevel: { ...previous.sources.floodByLevel, ...sources.floodByLevel },
      },
    });
  }
  return new RulesBook(versions);
}

// --- 将到期预警 due-soon warnings -----------------------------------------------------------------

/** (default) Warn when half and when four fifths of the time between start and due have passed. */
export const DEFAULT_WARNING_SHARES: readonly number[] = [0.5, 0.8];

/**
 * The highest share of the time from `start` to `due` that `now` has reached, among `shares` (each in
 * (0, 1]); undefined when none has been reached yet. A scheduler warns once per share it has not
 * warned yet. Shares are of elapsed wall-clock time, not of working time. When `due` is not after
 * `start`, every share counts as reached once `now` is at or after `due`.
 */
export function dueSoon(
  now: Date,
  start: Date,
  due: Date,
  shares: readonly number[] = DEFAULT_WARNING_SHARES,
): number | undefined {
  for (const share of shares) {
    if (!Number.isFinite(share) || share <= 0 || share > 1) {
      throw new RangeError(`a warning share must be in (0, 1], got ${share}`);
    }
  }
  const span = due.getTime() - start.getTime();
  const elapsed = now.getTime() - start.getTime();
  const reached = shares.filter((share) => (span > 0 ? elapsed >= share * span : now.getTime() >= due.getTime()));
  return reached.length > 0 ? Math.max(...reached) : undefined;
}
