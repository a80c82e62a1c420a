// Deadline policy (时限) as data, and the calculations on it. Pure: callers pass the instants and the
// WorkCalendar. Figures marked (reports) come from DOMAIN.md's published sources; (default) figures
// are the hub's own, kept here as data so an operator can load a different table (validatePolicy).
import {
  addCalendarDays,
  addHours,
  endOfCalendarDays,
  type DayCountRule,
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
 */
export interface Duration {
  amount: number;
  unit: DurationUnit;
  rule?: DayCountRule;
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
 * Each step's limit. The sign-off clock starts at dispatch (派单); respond and complete count from
 * the sign-off (签收 starts the receiving unit's clock), see computeDeadlines.
 */
export type StepLimits = Record<Step, Duration>;
export type DeadlinePolicy = Record<Tier, Record<Priority, StepLimits>>;

const workingHours = (amount: number): Duration => ({ amount, unit: 'working_hours' });
const workingDays = (amount: number): Duration => ({ amount, unit: 'working_days', rule: 'next_day' });

export const DEFAULT_POLICY: DeadlinePolicy = {
  // Grid (网格): the grid worker is on the spot; trivial matters are settled the same or next day.
  grid: {
    // (default) sign 2 working hours, respond 4 working hours, complete by the end of the next working day.
    normal: { sign: workingHours(2), respond: workingHours(4), complete: workingDays(1) },
    // (default) sign 1 working hour, respond 2 working hours, complete within 4 working hours.
    urgent: { sign: workingHours(1), respond: workingHours(2), complete: workingHours(4) },
  },
  // Community (社区) answering a grid's call.
  community: {
    // (default) sign 4 working hours, respond 1 working day, complete 3 working days.
    normal: { sign: workingHours(4), respond: workingDays(1), complete: workingDays(3) },
    // (default) sign 1 working hour, respond 2 working hours, complete 1 working day.
    urgent: { sign: workingHours(1), respond: workingHours(2), complete: workingDays(1) },
  },
  // Street (街道 / 镇) answering a community's call ("大事不出街道").
  street: {
    // (default) sign 4 working hours, respond 1 working day, complete 5 working days.
    normal: { sign: workingHours(4), respond: workingDays(1), complete: workingDays(5) },
    // (default) sign 2 working hours, respond 4 working hours, complete 2 working days.
    urgent: { sign: workingHours(2), respond: workingHours(4), complete: workingDays(2) },
  },
  // District department (区属职能部门) answering a street's call (黄埔).
  department: {
    // sign 1 working day (default); respond within 2 days, plain 48 hours (reports);
    // complete within 5 working days, the sign-off day not counted (reports).
    normal: { sign: workingDays(1), respond: { amount: 2, unit: 'days' }, complete: workingDays(5) },
    // sign 2 working hours (default); respond 4 working hours (default); complete 2 working days (default).
    urgent: { sign: workingHours(2), respond: workingHours(4), complete: workingDays(2) },
  },
  // District leadership (领导) answering an escalated call: the hardest cases, cross-department.
  leadership: {
    // sign 1 working day (default); respond 2 working days (default); complete 10 working days (default).
    normal: { sign: workingDays(1), respond: workingDays(2), complete: workingDays(10) },
    // sign 2 working hours (default); respond 4 working hours (default); complete 3 working days (default).
    urgent: { sign: workingHours(2), respond: workingHours(4), complete: workingDays(3) },
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
  const { amount, unit, rule, ...rest } = value;
  for (const key of Object.keys(rest)) problems.push(`${where}: unknown field "${key}"`);
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
        if (limits[step] === undefined) problems.push(`${where}: missing`);
        else problems.push(...durationProblems(limits[step], where));
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
  const { amount, unit, rule } = validateDuration(duration);
  switch (unit) {
    case 'hours':
      return { due: addHours(from, amount), notes: [] };
    case 'days':
      return { due: rule ? endOfCalendarDays(from, amount, rule) : addCalendarDays(from, amount), notes: [] };
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

/**
 * A call's three deadlines under `policy` for the answering tier and priority. `from` is the dispatch
 * (派单) instant: the sign-off limit counts from it. Respond and complete count from `signedAt` once
 * the unit has signed; before that, pass nothing and they are provisional, counted from `from`.
 */
export function computeDeadlines(
  policy: DeadlinePolicy,
  tier: Tier,
  priority: Priority,
  from: Date,
  calendar: WorkCalendar,
  signedAt?: Date,
): CallDeadlines {
  const limits = policy[tier]?.[priority];
  if (!limits) throw new PolicyError([`${tier}.${priority}: no such row`]);
  const sign = applyDuration(from, limits.sign, calendar);
  const clock = signedAt ?? from;
  const respond = applyDuration(clock, limits.respond, calendar);
  const complete = applyDuration(clock, limits.complete, calendar);
  const notes = [...new Set([...sign.notes, ...respond.notes, ...complete.notes])];
  return { sign: sign.due, respond: respond.due, complete: complete.due, notes };
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

/** 12345 emergencies (reports, Beijing practice): 紧急 urgent matters, and 水电气热 utility outages. */
export const HOTLINE_EMERGENCY_LIMITS: Readonly<Record<'urgent' | 'utilities', Duration>> = {
  urgent: { amount: 2, unit: 'hours' },
  utilities: { amount: 24, unit: 'hours' },
};

export function hotlineEmergencyDeadline(kind: 'urgent' | 'utilities', receivedAt: Date): Date {
  return addHours(receivedAt, HOTLINE_EMERGENCY_LIMITS[kind].amount);
}

// --- 信访 petitions ------------------------------------------------------------------------------

/**
 * Steps of a petition (reports: 信访工作条例 2022), all in calendar days with the start day not counted:
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

const petitionDays = (amount: number): Duration => ({ amount, unit: 'days', rule: 'next_day' });

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
 * the appeal's receipt). `extensionDays` (whole, 0–30) applies to 'handle' only.
 */
export function petitionDeadline(
  step: PetitionStep,
  from: Date,
  calendar: WorkCalendar,
  options: { extensionDays?: number } = {},
): Date {
  const extension = options.extensionDays ?? 0;
  if (extension !== 0 && step !== 'handle') {
    throw new RangeError(`only the handling limit can be extended, not ${step}`);
  }
  if (!Number.isInteger(extension) || extension < 0 || extension > PETITION_MAX_EXTENSION_DAYS) {
    throw new RangeError(
      `a petition extension is a whole number of days from 0 to ${PETITION_MAX_EXTENSION_DAYS}, got ${extension}`,
    );
  }
  const limit = PETITION_LIMITS[step];
  return applyDuration(from, { ...limit, amount: limit.amount + extension }, calendar).due;
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

/** (default) Inspection after a warning, plain hours: red 1, orange 2, yellow 4, blue and white 12. */
export const FLOOD_INSPECTION_LIMITS: Readonly<Record<WarningColour, Duration>> = {
  red: { amount: 1, unit: 'hours' },
  orange: { amount: 2, unit: 'hours' },
  yellow: { amount: 4, unit: 'hours' },
  blue: { amount: 12, unit: 'hours' },
  white: { amount: 12, unit: 'hours' },
};

export function floodInspectionDeadline(colour: WarningColour, issuedAt: Date): Date {
  const limit = FLOOD_INSPECTION_LIMITS[colour];
  if (!limit) throw new RangeError(`unknown warning colour "${String(colour)}"`);
  return addHours(issuedAt, limit.amount);
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
