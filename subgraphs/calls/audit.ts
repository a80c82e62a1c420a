// `npm run verify` (scripts/verify.ts): a call's record checked end to end. The stored timeline's hash
// chain (timeline-chain.ts); the call's events on hub.call-events — each signed by the hub, none
// missing (sequence 1..n), each naming the timeline entry it was written with (position and hash),
// which must be the stored one; each included in a signed checkpoint (RFC 6962 inclusion proof). And
// the audited topics themselves: every record's signature, every checkpoint's signature, root and
// consistency with the one before (platform/audit/log-verify.ts). The first break is reported with
// its exact place; nothing is repaired.
import type { Model } from 'mongoose';
import type { Kafka } from 'kafkajs';
import { type Finding, type LogReport, parseCheckpoints, type ReadRecord, proveInclusion, readTopics, verifyLog, where } from '../../platform/audit/log-verify.ts';
import type { RecordVerifier } from '../../platform/audit/signing.ts';
import type { CallDoc } from './model.ts';
import { verifyTimeline } from './timeline-chain.ts';

export interface AuditTopics {
  callEvents: string;
  /** The feedback topics to 12345 and 信访. */
  feedback: string[];
  checkpoints: string;
}

export interface CallFinding {
  callId: string;
  reason: string;
  /** The timeline position, or the event's topic/partition/offset. */
  at: string;
  detail: string;
}

export interface CallReport {
  callId: string;
  chain: ReturnType<typeof verifyTimeline>['status'];
  entries: number;
  events: number;
  /** Events proven in a checkpoint, and those newer than the last checkpoint. */
  included: number;
  pending: number;
  findings: CallFinding[];
}

export interface AuditReport {
  ok: boolean;
  calls: CallReport[];
  logs: Array<Omit<LogReport, 'leaves' | 'verified'>>;
  /** Every finding: the calls' first, then the topics'. */
  findings: Array<CallFinding | Finding>;
}

export interface AuditOptions {
  kafka: Kafka;
  calls: Model<CallDoc>;
  topics: AuditTopics;
  verifier: RecordVerifier;
  /** Only this call (its events and the checkpoints of its partition). */
  callId?: string;
  /** Only this topic (its records and checkpoints); no calls. */
  topic?: string;
  /** Only calls changed and records written since then (checkpoints are always checked whole). */
  since?: Date;
  groupPrefix: string;
}

export async function audit(options: AuditOptions): Promise<AuditReport> {
  const { kafka, topics, verifier, since } = options;
  const audited = options.topic ? [options.topic] : [topics.callEvents, ...topics.feedback];
  const logs = await readTopics(kafka, [...audited, topics.checkpoints], { groupPrefix: options.groupPrefix });
  const checkpointRecords = [...logs].filter(([log]) => log.startsWith(`${topics.checkpoints}#`)).flatMap(([, records]) => records);
  const parsed = parseCheckpoints(checkpointRecords, verifier);

  const reports = new Map<string, LogReport>();
  for (const [log, records] of logs) {
    if (log.startsWith(`${topics.checkpoints}#`)) continue;
    reports.set(log, verifyLog(log, records, parsed.byLog.get(log) ?? [], verifier, { since }));
  }
  // Checkpoints of logs that are not there (a deleted topic) or of no audited topic are findings too.
  const stray = [...parsed.byLog].filter(([log]) => !reports.has(log) && audited.some((t) => log.startsWith(`${t}#`)));
  const strayFindings: Finding[] = stray.flatMap(([, list]) =>
    list.map(({ checkpoint, at }) => ({ reason: 'checkpoint_beyond_log' as const, ...at, detail: `checkpoint of ${checkpoint.log}, which holds no records` })),
  );

  const callReports: CallReport[] = [];
  if (!options.topic) {
    const filter = options.callId ? { _id: options.callId } : since ? { updatedAt: { $gte: since } } : {};
    const calls = options.calls.find(filter, { _id: 1, timeline: 1, timelineHead: 1, timelineLength: 1 }).lean<CallDoc>().cursor();
    const eventsByCall = indexEvents(logs, topics.callEvents);
    for await (const call of calls) callReports.push(verifyCallRecord(call, eventsByCall.get(call._id) ?? [], reports, verifier));
    if (options.callId && callReports.length === 0) {
      callReports.push({ callId: options.callId, chain: 'UNCHAINED', entries: 0, events: 0, included: 0, pending: 0, findings: [{ callId: options.callId, reason: 'no_such_call', at: 'calls', detail: 'no stored call has this id' }] });
    }
  }
  // For one call, only the logs that hold its events are reported.
  const callLogs = options.callId ? new Set((indexEvents(logs, topics.callEvents).get(options.callId) ?? []).map((e) => e.log)) : undefined;
  const logReports = [...reports.values()].filter((r) => !callLogs || callLogs.has(r.log));
  const findings = [
    ...callReports.flatMap((c) => c.findings),
    ...parsed.findings,
    ...strayFindings,
    ...logReports.flatMap((r) => r.findings),
  ];
  return {
    ok: findings.length === 0,
    calls: callReports,
    logs: logReports.map(({ leaves: _l, verified: _v, ...rest }) => rest),
    findings,
  };
}

interface LocatedEvent {
  log: string;
  index: number;
  offset: string;
  partition: number;
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, unknown>;
  event: { sequence?: number; data?: { timelineEntry?: { position: number; hash: string } } } | undefined;
}

function indexEvents(logs: Map<string, ReadRecord[]>, callEvents: string): Map<string, LocatedEvent[]> {
  const byCall = new Map<string, LocatedEvent[]>();
  for (const [log, records] of logs) {
    if (!log.startsWith(`${callEvents}#`)) continue;
    records.forEach((r, index) => {
      const callId = r.key?.toString('utf8');
      if (!callId) return;
      let event: LocatedEvent['event'];
      try {
        event = JSON.parse(r.value?.toString('utf8') ?? '') as LocatedEvent['event'];
      } catch {
        event = undefined;
      }
      byCall.set(callId, [...(byCall.get(callId) ?? []), { log, index, ...r, event }]);
    });
  }
  return byCall;
}

function verifyCallRecord(call: CallDoc, events: LocatedEvent[], logs: Map<string, LogReport>, verifier: RecordVerifier): CallReport {
  const findings: CallFinding[] = [];
  const add = (reason: string, at: string, detail: string) => findings.push({ callId: call._id, reason, at, detail });
  const chain = verifyTimeline(call);
  if (chain.status === 'BROKEN') {
    add(`timeline_${chain.break.reason}`, `timeline position ${chain.break.position}`, `the stored timeline breaks here (expected ${chain.break.expected ?? '-'}, found ${chain.break.found ?? '-'})`);
  }
  // The events in sequence order; a repeated delivery (at-least-once) is the same event twice.
  const bySequence = new Map<number, LocatedEvent>();
  let included = 0;
  let pending = 0;
  for (const e of events) {
    const place = where(e);
    const check = verifier.check(e.topic, e.key, e.value, e.headers as Record<string, Buffer>);
    if (check.status !== 'valid') {
      add(`event_signature_${check.status}`, place, `the call's event is not signed by the hub`);
      continue;
    }
    const sequence = e.event?.sequence;
    if (typeof sequence === 'number' && !bySequence.has(sequence)) bySequence.set(sequence, e);
    const entry = e.event?.data?.timelineEntry;
    if (entry && chain.status !== 'UNCHAINED') {
      const stored = call.timeline?.[entry.position];
      if (stored?.hash !== entry.hash) {
        add('timeline_differs_from_event', `timeline position ${entry.position}`, `the signed event at ${place} was written with entry hash ${entry.hash}; the stored entry has ${stored?.hash ?? 'none'}`);
      }
    }
    const proof = proveInclusion(logs.get(e.log) ?? { leaves: [], verified: [] }, e.index);
    if (!proof) pending++;
    else if (proof.verified) included++;
    else add('event_not_in_checkpoint', place, `no inclusion proof in checkpoint size ${proof.checkpoint.treeSize}`);
  }
  const sequences = [...bySequence.keys()].sort((a, b) => a - b);
  const last = sequences.at(-1) ?? 0;
  for (let s = 1; s <= last; s++) {
    if (!bySequence.has(s)) {
      add('event_missing', `sequence ${s}`, `no signed event with sequence ${s} (of 1..${last}) on the call's topic`);
      break;
    }
  }
  return { callId: call._id, chain: chain.status, entries: chain.entries, events: bySequence.size, included, pending, findings };
}
