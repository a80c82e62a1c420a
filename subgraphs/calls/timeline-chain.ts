// A call's timeline (全记录) as a hash chain (platform/audit/record-chain.ts): every entry carries the
// hash of the entry before it and its own, over the canonical JSON (RFC 8785) of exactly the fields
// below; the call keeps the last hash and the entry count beside the timeline (`timelineHead`,
// `timelineLength`), and each event published for an entry names the entry's position and hash
// (`data.timelineEntry`), so a timeline rewritten whole in the database still disagrees with the
// signed, checkpointed events. A call stored before chaining began has no head and stays unchained.
import { chainGenesis, type ChainVerdict, linkHash, verifyChain } from '../../platform/audit/record-chain.ts';
import type { CallDoc, TimelineEntry } from './model.ts';

export const TIMELINE_CHAIN = 'huying.call-timeline.v1';

/** The content of an entry that its hash covers: the stored fields, as stored (Dates as ISO text). */
export function timelineContent(entry: TimelineEntry) {
  return {
    at: new Date(entry.at).toISOString(),
    action: entry.action,
    actor: entry.actor ? { subject: entry.actor.subject, unitId: entry.actor.unitId, role: entry.actor.role } : undefined,
    note: entry.note ?? undefined,
    attachments: entry.attachments ?? [],
    fromUnitId: entry.fromUnitId ?? undefined,
    toUnitId: entry.toUnitId ?? undefined,
    status: entry.status,
  };
}

export interface ChainedAppend {
  entry: TimelineEntry;
  /** The call's fields that record the new head. */
  head: { timelineHead: string; timelineLength: number };
  /** What the entry's event carries: where the entry stands and its hash. */
  ref: { position: number; hash: string };
}

/** The first entry of a new call's timeline, chained from the call's genesis. */
export function firstEntry(callId: string, entry: TimelineEntry): ChainedAppend {
  return link(chainGenesis(TIMELINE_CHAIN, callId), 0, entry);
}

/** The next entry of a chained call; undefined for a call stored before chaining began (no head). */
export function nextEntry(call: Pick<CallDoc, 'timelineHead' | 'timelineLength'>, entry: TimelineEntry): ChainedAppend | undefined {
  if (!call.timelineHead || call.timelineLength === undefined) return undefined;
  return link(call.timelineHead, call.timelineLength, entry);
}

function link(prevHash: string, position: number, entry: TimelineEntry): ChainedAppend {
  const hash = linkHash(prevHash, timelineContent(entry));
  return { entry: { ...entry, prevHash, hash }, head: { timelineHead: hash, timelineLength: position + 1 }, ref: { position, hash } };
}

/** Checks a stored call's timeline from its genesis to its head; the first break, if any. */
export function verifyTimeline(call: Pick<CallDoc, '_id' | 'timeline' | 'timelineHead'>): ChainVerdict {
  return verifyChain(chainGenesis(TIMELINE_CHAIN, call._id), call.timeline ?? [], call.timelineHead, timelineContent);
}
