// The 三防 (flood, drought and wind prevention) command system connector. A warning becomes a top-down
// inspection order (令) from the district to the streets of its area, due within the time its level
// sets (rules/deadlines.ts floodInspection, counted from the warning's issue, around the clock; one
// that reaches the hub after that deadline is still issued at once, marked late); a lifted warning
// closes that order; an incident (水浸点, 险情, 转移人员) becomes an urgent call
// at the street that holds it. Every warning, lifting and incident also goes to hub.alerts for the
// dashboards (schemas/events/alert-event.schema.json).
import { contract } from '../../platform/contracts.ts';
import { scrubDeep, scrubText } from '../../platform/personal-data.ts';
import type { Keyring } from '../../platform/personal-keys.ts';
import { sourceCallId } from '../../subgraphs/calls/intake.ts';
import { stableCallId } from '../../subgraphs/calls/store.ts';
import { floodInspection, RulesBook, type WarningColour } from '../../rules/deadlines.ts';
import { clip, type IntakeCommand, intakeOutput } from '../runtime/intake.ts';
import type { Places } from '../runtime/places.ts';
import { type Output, parseRecord, sourceDate } from '../../platform/source-record.ts';
import type { Pipeline } from '../runtime/runtime.ts';
import { childTrace, type TraceHeaders } from '../runtime/trace.ts';
import { type CapAlert, capOfAlert, capPlan, type HubAlert, looksLikeXml, parseCap } from './cap.ts';
import { doneOutput, ExpiryClock, waitingOutput } from './expiries.ts';

type Colour = 'WHITE' | 'BLUE' | 'YELLOW' | 'ORANGE' | 'RED';
type Level = 'I' | 'II' | 'III' | 'IV';
type Hazard = 'RAINSTORM' | 'TYPHOON' | 'FLOOD' | 'DROUGHT' | 'GEOLOGICAL';

export interface WarningRecord {
  warningId: string;
  action: 'ISSUE' | 'LIFT';
  hazard: Hazard;
  signal?: Colour;
  responseLevel?: Level;
  areas?: string[];
  title?: string;
  content?: string;
  issuer?: string;
  issuedAt: string;
  liftedAt?: string;
}

export interface IncidentRecord {
  incidentId: string;
  type: 'WATERLOGGING' | 'DANGER' | 'EVACUATION';
  severity: '一般' | '较大' | '重大' | '特别重大';
  position: { lng: number; lat: number; crs?: 'WGS84' | 'GCJ02' | 'BD09' };
  address?: string;
  description: string;
  waterDepthCm?: number;
  peopleAffected?: number;
  peopleEvacuated?: number;
  warningId?: string;
  reportedAt: string;
}

const HAZARD_NAME: Record<Hazard, string> = { RAINSTORM: '暴雨', TYPHOON: '台风', FLOOD: '洪水', DROUGHT: '干旱', GEOLOGICAL: '地质灾害' };
const COLOUR_NAME: Record<Colour, string> = { WHITE: '白色', BLUE: '蓝色', YELLOW: '黄色', ORANGE: '橙色', RED: '红色' };
const LEVEL_NAME: Record<Level, string> = { I: 'Ⅰ级', II: 'Ⅱ级', III: 'Ⅲ级', IV: 'Ⅳ级' };
const INCIDENT_NAME = { WATERLOGGING: '水浸点', DANGER: '险情', EVACUATION: '人员转移' } as const;

/** The inspection a warning's level sets (rules/deadlines.ts): the stricter of its colour and its response level. */
export function inspectionOf(warning: Pick<WarningRecord, 'signal' | 'responseLevel'>, issuedAt: Date, receivedAt: Date, rules = new RulesBook()) {
  const colour = warning.signal?.toLowerCase() as WarningColour | undefined;
  return floodInspection(
    { ...(colour && { colour }), ...(warning.responseLevel && { level: warning.responseLevel }) },
    issuedAt,
    receivedAt,
    rules.at(issuedAt).sources,
  );
}

/** The order a 三防 warning becomes (same id rule as the calls subgraph's orders from a source). */
export function warningOrderId(warningId: string): string {
  return stableCallId(`order:sanfang:${warningId}`).replace(/^C/, 'O');
}

export interface SanfangDeps {
  places: Places;
  /** The versioned rules (source limits); the built-in version when left out. */
  rules?: RulesBook;
  topics: { warnings: string; incidents: string; intake: string; alerts: string; alertsCap: string; capReceived: string; capExpiries: string };
  /** Seals what an incident report's texts held personal (a reporter's phone) for the calls subgraph. */
  keys: Keyring;
  /** The hub's CAP sender id on the alerts it writes as CAP 1.2 (CAP_SENDER). */
  capSender: string;
  /** Sends what a CAP warning's expiry makes (its lifting), outside any source record. */
  deliver?: (outputs: Output[]) => Promise<void>;
  /** Told when a lifting at expiry could not be sent (it is tried again, expiries.ts EXPIRY_RETRY_MS). */
  onExpiryFailure?: (warningId: string, err: unknown) => void;
  now?: () => Date;
}

const validateWarning = contract<WarningRecord>('sanfang-warning');
const validateIncident = contract<IncidentRecord>('sanfang-incident');

function warningName(w: WarningRecord): string {
  const signal = w.signal ? `${HAZARD_NAME[w.hazard]}${COLOUR_NAME[w.signal]}预警` : `${HAZARD_NAME[w.hazard]}预警`;
  return w.responseLevel ? `${signal}（${HAZARD_NAME[w.hazard]}${LEVEL_NAME[w.responseLevel]}应急响应）` : signal;
}

export function warningMessages(warning: WarningRecord, deps: SanfangDeps): { command: IntakeCommand; alert: Record<string, unknown> } {
  const now = deps.now?.() ?? new Date();
  const issuedAt = sourceDate(warning.issuedAt, 'issuedAt', now);
  const base = { source: 'sanfang' as const, externalId: warning.warningId };
  const levelFields = {
    hazard: warning.hazard,
    ...(warning.signal && { colour: warning.signal }),
    ...(warning.responseLevel && { level: warning.responseLevel }),
  };
  if (warning.action === 'LIFT') {
    const liftedAt = sourceDate(warning.liftedAt as string, 'liftedAt', now);
    const areaUnitIds = warning.areas ? deps.places.streetsOf(warning.areas) : [];
    return {
      command: { ...base, commandId: `sanfang:lift:${warning.warningId}`, kind: 'close_order', occurredAt: liftedAt.toISOString(), reason: `${warningName(warning)}已解除` },
      alert: {
        eventId: `${warning.warningId}:lifted`,
        alertId: warning.warningId,
        kind: 'WARNING_LIFTED',
        ...levelFields,
        title: `${warning.title ?? warningName(warning)}（已解除）`,
        areaUnitIds,
        orderId: warningOrderId(warning.warningId),
        occurredAt: liftedAt.toISOString(),
        source: 'sanfang',
      },
    };
  }
  const unitIds = deps.places.streetsOf(warning.areas as string[]);
  // The deadline runs from the warning's issue. A warning that reaches the hub after it (a backlog
  // after an outage) is still an order: issued at once with its true deadline, marked late (the calls
  // intake marks it so whenever it arrives after the deadline).
  const { hours, due: deadline, late } = inspectionOf(warning, issuedAt, now, deps.rules);
  const name = warningName(warning);
  const description = [
    warning.content,
    `请于${hours}小时内完成辖区巡查（水浸黑点、危险边坡、在建工地、地下空间），并报告结果。`,
    late ? `本预警于 ${warning.issuedAt} 发布，本系统收到时已超过巡查时限，请立即巡查。` : undefined,
  ]
    .filter(Boolean)
    .join('\n');
  const urgent = hours <= 2;
  return {
    command: {
      ...base,
      commandId: `sanfang:issue:${warning.warningId}`,
      kind: 'issue_order',
      occurredAt: issuedAt.toISOString(),
      order: {
        title: clip(`${name}：${warning.title}`, 100),
        description,
        kind: 'INSPECTION',
        priority: urgent ? 'URGENT' : 'NORMAL',
        unitIds,
        deadline: deadline.toISOString(),
      },
    },
    alert: {
      eventId: `${warning.warningId}:issued`,
      alertId: warning.warningId,
      kind: 'WARNING',
      ...levelFields,
      title: clip(`${name}：${warning.title}`, 200),
      areaUnitIds: unitIds,
      inspectBy: deadline.toISOString(),
      orderId: warningOrderId(warning.warningId),
      occurredAt: issuedAt.toISOString(),
      source: 'sanfang',
    },
  };
}

export function incidentMessages(incident: IncidentRecord, deps: SanfangDeps): { command: IntakeCommand; alert: Record<string, unknown> } {
  const now = deps.now?.() ?? new Date();
  const reportedAt = sourceDate(incident.reportedAt, 'reportedAt', now);
  const { location, street } = deps.places.locate(incident.position);
  const facts = [
    incident.waterDepthCm !== undefined ? `积水约${incident.waterDepthCm}厘米` : undefined,
    incident.peopleAffected !== undefined ? `涉及${incident.peopleAffected}人` : undefined,
    incident.peopleEvacuated !== undefined ? `已转移${incident.peopleEvacuated}人` : undefined,
  ].filter(Boolean);
  const title = clip(`${INCIDENT_NAME[incident.type]}（${incident.severity}）：${incident.address ?? street.name}${facts.length ? `，${facts[0]}` : ''}`, 100);
  return {
    command: {
      commandId: `sanfang:incident:${incident.incidentId}`,
      source: 'sanfang',
      externalId: incident.incidentId,
      kind: 'create_call',
      occurredAt: reportedAt.toISOString(),
      call: {
        title,
        description: [incident.description, ...facts].join('；'),
        category: incident.type === 'DANGER' ? '安全生产' : '水务三防',
        ...(incident.type === 'WATERLOGGING' && { itemCode: 'SW-01' }),
        priority: 'URGENT',
        unitId: street.id,
        location,
        ...(incident.address && { address: incident.address }),
        receivedAt: reportedAt.toISOString(),
      },
    },
    alert: {
      eventId: `${incident.incidentId}:reported`,
      alertId: incident.incidentId,
      kind: 'INCIDENT',
      incidentType: incident.type,
      severity: incident.severity,
      title,
      areaUnitIds: [street.id],
      location,
      callId: sourceCallId('sanfang', incident.incidentId),
      occurredAt: reportedAt.toISOString(),
      source: 'sanfang',
    },
  };
}

const validateAlert = contract<Record<string, unknown>>('alert-event');

/** An alert on hub.alerts, and the same alert as CAP 1.2 on hub.alerts.cap (`issuedAt`: a lifted warning's issue, for its references). */
function alertOutputs(deps: SanfangDeps, alert: Record<string, unknown>, issuedAt?: string): Output[] {
  // Dashboards need no one's phone: an address or title that carries one goes out masked.
  const checked = validateAlert(scrubDeep(alert));
  // The alert is built here from a valid record: failing its own contract is a bug, retried then dead-lettered.
  if (!checked.ok) throw new Error(`alert fails its contract: ${checked.reason}`);
  const key = String(alert.alertId);
  return [
    { topic: deps.topics.alerts, key, value: JSON.stringify(checked.value) },
    { topic: deps.topics.alertsCap, key, value: capOfAlert(checked.value as unknown as HubAlert, deps.capSender, issuedAt) },
  ];
}

/** A warning's intake command and alerts. */
function warningOutputs(warning: WarningRecord, deps: SanfangDeps, trace: TraceHeaders): Output[] {
  const { command, alert } = warningMessages(warning, deps);
  return [intakeOutput(deps.topics.intake, command, trace, deps.keys), ...alertOutputs(deps, alert, warning.action === 'LIFT' ? warning.issuedAt : undefined)];
}

/**
 * A CAP 1.2 warning (cap.ts): the orders it issues and lifts, and the document itself, scrubbed, on
 * hub.cap-received for audit with what was made of it. A refused document is dead-lettered whole.
 */
function capOutputs(xml: string, deps: SanfangDeps, trace: TraceHeaders): Output[] {
  const alert: CapAlert = parseCap(xml);
  const plan = capPlan(alert, deps.places, deps.now?.() ?? new Date());
  const outputs: Output[] = [];
  const outcome: Record<string, unknown> = { outcome: plan.kind === 'skip' ? 'skipped' : 'applied' };
  if (plan.kind === 'skip') {
    outcome.reason = plan.reason;
  } else {
    // What waits for its `expires` is written beside the orders (expiries.ts): kept across restarts.
    for (const lifted of plan.lift) outputs.push(...warningOutputs(lifted, deps, trace), doneOutput(deps.topics.capExpiries, lifted.warningId));
    if (plan.issue) {
      outputs.push(...warningOutputs(plan.issue, deps, trace));
      if (plan.expiresAt) outputs.push(waitingOutput(deps.topics.capExpiries, scrubDeep(plan.issue), plan.expiresAt));
    }
    outcome.issued = plan.issue?.warningId ?? null;
    outcome.lifted = plan.lift.map((w) => w.warningId);
  }
  const audit = { sender: alert.sender, identifier: alert.identifier, sent: alert.sent, status: alert.status, msgType: alert.msgType, ...outcome, xml: scrubText(xml) };
  return [{ topic: deps.topics.capReceived, key: `${alert.sender} ${alert.identifier}`, value: JSON.stringify(audit) }, ...outputs];
}

export function sanfangPipelines(deps: SanfangDeps): { pipelines: Pipeline[]; expiries: ExpiryClock } {
  // A CAP warning's `expires` lifts it: its lifting goes out when that time comes, and it waits no more.
  // The connector follows hub.cap-expiries into this clock (followExpiries).
  const expiries = new ExpiryClock(async (warning, expiredAt) => {
    const lift: WarningRecord = { ...warning, action: 'LIFT', liftedAt: expiredAt.toISOString() };
    await deps.deliver?.([...warningOutputs(lift, deps, childTrace({})), doneOutput(deps.topics.capExpiries, warning.warningId)]);
  }, deps.onExpiryFailure);
  const pipelines: Pipeline[] = [
    {
      name: 'sanfang-warnings',
      topics: [deps.topics.warnings],
      process: (source, { trace }) => {
        const text = source.value?.toString('utf8') ?? '';
        if (looksLikeXml(text)) return capOutputs(text, deps, trace);
        return warningOutputs(parseRecord(source, validateWarning), deps, trace);
      },
    },
    {
      name: 'sanfang-incidents',
      topics: [deps.topics.incidents],
      process: (source, { trace }) => {
        const { command, alert } = incidentMessages(parseRecord(source, validateIncident), deps);
        return [intakeOutput(deps.topics.intake, command, trace, deps.keys), ...alertOutputs(deps, alert)];
      },
    },
  ];
  return { pipelines, expiries };
}
