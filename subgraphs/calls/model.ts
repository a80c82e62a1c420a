// The calls subgraph's documents. A call keeps its whole record (timeline) and the events not yet
// published (outbox) inside its own document, so a state change and its event are written by one
// atomic single-document update: neither is ever lost without the other.
import { type Connection, type Model, Schema } from 'mongoose';
import type { Role } from '../../platform/auth.ts';
import { type Outboxed, outboxSchemaFields } from '../../platform/outbox.ts';

export type { OutboxEvent } from '../../platform/outbox.ts';

import { CALL_STATUSES, type CallStatus } from '../../platform/call-event.ts';
import { TIERS, type Tier } from '../../platform/unit-directory.ts';

export { TIERS, type Tier, type CallStatus };
export const PRIORITIES = ['NORMAL', 'URGENT'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const SOURCES = ['UNIT', 'CITIZEN', 'HOTLINE', 'SANFANG', 'PETITION', 'ENTERPRISE'] as const;
export type CallSource = (typeof SOURCES)[number];
/** Statuses in which a call is still being worked on. */
export const OPEN_STATUSES: CallStatus[] = ['RAISED', 'DISPATCHED', 'SIGNED', 'RESPONDED', 'COMPLETED', 'REOPENED'];
export const STEPS = ['SIGN', 'RESPOND', 'COMPLETE'] as const;
export type Step = (typeof STEPS)[number];
export type Satisfaction = 'VERY_SATISFIED' | 'SATISFIED' | 'BASIC' | 'UNSATISFIED';

export interface ActorRef {
  subject: string;
  unitId: string;
  role: Role | 'system';
}

export interface TimelineEntry {
  at: Date;
  /** raise, call_up, dispatch, sign, respond, complete, confirm, reopen, merge, withdraw, urge, … */
  action: string;
  actor?: ActorRef;
  note?: string;
  attachments: string[];
  fromUnitId?: string;
  toUnitId?: string;
  /** The call's status after this entry. */
  status: CallStatus;
  /** The hash chain (timeline-chain.ts): the hash of the entry before this one, and this entry's. */
  prevHash?: string;
  hash?: string;
}

export interface CallbackRecord {
  at: Date;
  /** The citizen says the handling unit contacted them (响应). */
  contacted: boolean;
  resolved: boolean;
  satisfaction: Satisfaction;
  comment?: string;
}

export interface Deadlines {
  sign?: Date;
  respond?: Date;
  complete?: Date;
  notes: string[];
  /** A source's statutory limit (12345, 信访): travels with the call; no hand-off is due after it. */
  limit?: Date;
  /** The rules version (rules/deadlines.ts RulesVersion) the call was received under. */
  policyVersion?: string;
}

export interface CallDoc extends Outboxed {
  _id: string;
  title: string;
  description: string;
  itemCode?: string;
  category: string;
  priority: Priority;
  source: CallSource;
  sourceRef?: { system: string; externalId: string };
  status: CallStatus;
  tier: Tier;
  originUnitId: string;
  handlingUnitId: string;
  callerUnitId?: string;
  coHandlingUnitIds: string[];
  /** Units whose staff may read the call: the origin's ancestors and every unit it was assigned to. */
  visibleTo: string[];
  location?: { lng: number; lat: number };
  address?: string;
  citizen?: { name?: string; phone?: string };
  /**
   * Sealed (platform/personal-keys.ts) by the source's connector, bound to `intake:<system>:<externalId>`:
   * the contact and the texts as the source wrote them. Title, description and address hold them scrubbed.
   */
  personal?: string;
  identityProtected: boolean;
  attachments: string[];
  raisedBy: ActorRef;
  /** Enterprise service officers (subjects) who follow the call for the enterprise it came from, and may read it. */
  followers: string[];
  raisedAt: Date;
  updatedAt: Date;
  /** When the current assignment began: the start of its deadlines. */
  assignedAt: Date;
  deadlines: Deadlines;
  signedAt?: Date;
  respondedAt?: Date;
  completedAt?: Date;
  closedAt?: Date;
  overdueSteps: Step[];
  /** Due-soon warnings already given for this assignment, as `STEP@share`. */
  warnings: string[];
  /** When supervision must next look at this call (a warning share or a deadline); unset when closed. */
  nextCheckAt?: Date;
  result?: string;
  resultAttachments: string[];
  rating?: {
    stars: number;
    satisfaction: Satisfaction;
    comment?: string;
    ratedAt: Date;
    ratedBy: ActorRef;
  };
  /** 12345 call-backs (回访) as the source recorded them: its own contacted / resolved / satisfied answers. */
  callbacks?: CallbackRecord[];
  reopenCount: number;
  urgeCount: number;
  supervisionCount: number;
  escalated: boolean;
  pendingRequest?: {
    kind: 'ADJUDICATION' | 'EXTENSION' | 'DISPATCH';
    reason: string;
    days?: number;
    /** DISPATCH: the item asked for (none: the class's fallback department) and the department. */
    itemCode?: string;
    unitId?: string;
    requestedAt: Date;
    requestedBy: ActorRef;
  };
  /** The one extension (延期) granted to this call, if any. */
  extension?: { workingDays: number; grantedAt: Date; previousComplete: Date; missed: boolean };
  mergedInto?: string;
  /** The state a merged call was in when merged: restored if the call it joined is withdrawn. */
  statusBeforeMerge?: CallStatus;
  mergedCallIds: string[];
  /** Whether the call ever reached a department (for counters). */
  reachedDepartment: boolean;
  timeline: TimelineEntry[];
  /** The hash of the timeline's last entry and how many entries it has (timeline-chain.ts); unset on calls stored before chaining. */
  timelineHead?: string;
  timelineLength?: number;
  /** Idempotency keys (subject:key) and intake command ids already applied to this call. */
  appliedKeys: string[];
}

/** What the call index leaves out: only appended to, and read per call by `_id` when asked for. */
export const INDEX_PROJECTION = { timeline: 0, outbox: 0, appliedKeys: 0 } as const;

const actor = new Schema<ActorRef>({ subject: String, unitId: String, role: String }, { _id: false });
const timelineEntry = new Schema<TimelineEntry>(
  { at: Date, action: String, actor, note: String, attachments: [String], fromUnitId: String, toUnitId: String, status: String, prevHash: String, hash: String },
  { _id: false },
);
const sourceRef = new Schema({ system: String, externalId: String }, { _id: false });

const callSchema = new Schema<CallDoc>(
  {
    _id: String,
    title: { type: String, required: true },
    description: { type: String, required: true },
    itemCode: String,
    category: { type: String, required: true },
    priority: { type: String, enum: PRIORITIES, required: true },
    source: { type: String, enum: SOURCES, required: true },
    sourceRef: { type: sourceRef, default: undefined },
    status: { type: String, enum: CALL_STATUSES, required: true },
    tier: { type: String, enum: TIERS, required: true },
    originUnitId: { type: String, required: true },
    handlingUnitId: { type: String, required: true },
    callerUnitId: String,
    coHandlingUnitIds: { type: [String], default: [] },
    visibleTo: { type: [String], default: [] },
    location: { type: new Schema({ lng: Number, lat: Number }, { _id: false }), default: undefined },
    address: String,
    citizen: { type: new Schema({ name: String, phone: String }, { _id: false }), default: undefined },
    personal: String,
    identityProtected: { type: Boolean, default: false },
    attachments: { type: [String], default: [] },
    raisedBy: { type: actor, required: true },
    followers: { type: [String], default: [] },
    raisedAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    assignedAt: { type: Date, required: true },
    deadlines: {
      type: new Schema({ sign: Date, respond: Date, complete: Date, notes: [String], limit: Date, policyVersion: String }, { _id: false }),
      default: () => ({ notes: [] }),
    },
    signedAt: Date,
    respondedAt: Date,
    completedAt: Date,
    closedAt: Date,
    overdueSteps: { type: [String], default: [] },
    warnings: { type: [String], default: [] },
    nextCheckAt: Date,
    result: String,
    resultAttachments: { type: [String], default: [] },
    rating: {
      type: new Schema(
        { stars: Number, satisfaction: String, comment: String, ratedAt: Date, ratedBy: actor },
        { _id: false },
      ),
      default: undefined,
    },
    callbacks: {
      type: [new Schema({ at: Date, contacted: Boolean, resolved: Boolean, satisfaction: String, comment: String }, { _id: false })],
      default: undefined,
    },
    reopenCount: { type: Number, default: 0 },
    urgeCount: { type: Number, default: 0 },
    supervisionCount: { type: Number, default: 0 },
    escalated: { type: Boolean, default: false },
    pendingRequest: {
      type: new Schema(
        { kind: String, reason: String, days: Number, itemCode: String, unitId: String, requestedAt: Date, requestedBy: actor },
        { _id: false },
      ),
      default: undefined,
    },
    extension: {
      type: new Schema({ workingDays: Number, grantedAt: Date, previousComplete: Date, missed: Boolean }, { _id: false }),
      default: undefined,
    },
    mergedInto: String,
    statusBeforeMerge: String,
    mergedCallIds: { type: [String], default: [] },
    reachedDepartment: { type: Boolean, default: false },
    timeline: { type: [timelineEntry], default: [] },
    timelineHead: String,
    timelineLength: Number,
    ...outboxSchemaFields,
    appliedKeys: { type: [String], default: [] },
    version: { type: Number, required: true },
  },
  { versionKey: false, minimize: false },
);

callSchema.index({ visibleTo: 1, raisedAt: -1 });
callSchema.index({ handlingUnitId: 1, status: 1 });
callSchema.index({ callerUnitId: 1, status: 1 });
callSchema.index({ status: 1, raisedAt: -1 });
callSchema.index({ nextCheckAt: 1 });
callSchema.index({ outboxPending: 1 });
callSchema.index({ category: 1, status: 1, raisedAt: -1 });

export type AssignmentStatus = 'ISSUED' | 'SIGNED' | 'IN_PROGRESS' | 'COMPLETED';
export type OrderKind = 'KEY_TASK' | 'FIRST_AGENDA' | 'RED_LINE' | 'INSPECTION';

export interface OrderAssignmentDoc {
  unitId: string;
  status: AssignmentStatus;
  signedAt?: Date;
  lastReport?: string;
  progress: number;
  reportedAt?: Date;
  completedAt?: Date;
}

/** A top-down order (令). Assignments are a map by unit id, so one unit's step is one `$set`. */
export interface OrderDoc extends Outboxed {
  _id: string;
  title: string;
  description: string;
  kind: OrderKind;
  priority: Priority;
  issuerUnitId: string;
  issuedBy: ActorRef;
  issuedAt: Date;
  deadline: Date;
  /** Issued after its deadline had passed (a 三防 warning that reached the hub late). */
  late?: boolean;
  status: 'OPEN' | 'CLOSED' | 'CANCELLED';
  sourceRef?: { system: string; externalId: string };
  assignments: Record<string, OrderAssignmentDoc>;
  assignedUnitIds: string[];
  visibleTo: string[];
  timeline: TimelineEntry[];
  appliedKeys: string[];
}

const orderSchema = new Schema<OrderDoc>(
  {
    _id: String,
    title: { type: String, required: true },
    description: { type: String, required: true },
    kind: { type: String, required: true },
    priority: { type: String, required: true },
    issuerUnitId: { type: String, required: true },
    issuedBy: { type: actor, required: true },
    issuedAt: { type: Date, required: true },
    deadline: { type: Date, required: true },
    late: { type: Boolean, default: false },
    status: { type: String, required: true },
    sourceRef: { type: sourceRef, default: undefined },
    assignments: { type: Schema.Types.Mixed, default: {} },
    assignedUnitIds: { type: [String], default: [] },
    visibleTo: { type: [String], default: [] },
    timeline: { type: [timelineEntry], default: [] },
    ...outboxSchemaFields,
    appliedKeys: { type: [String], default: [] },
    version: { type: Number, required: true },
  },
  { versionKey: false, minimize: false },
);
orderSchema.index({ visibleTo: 1, issuedAt: -1 });
orderSchema.index({ outboxPending: 1 });
orderSchema.index({ 'sourceRef.system': 1, 'sourceRef.externalId': 1 });

export interface CallsModels {
  Call: Model<CallDoc>;
  Order: Model<OrderDoc>;
}

export async function callsModels(conn: Connection): Promise<CallsModels> {
  const models = { Call: conn.model<CallDoc>('Call', callSchema), Order: conn.model<OrderDoc>('Order', orderSchema) };
  await Promise.all([models.Call.createIndexes(), models.Order.createIndexes()]);
  return models;
}
