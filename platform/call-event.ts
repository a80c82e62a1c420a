// A `hub.call-events` record (schemas/events/call-event.schema.json): one state change of a call,
// keyed by call id, with the call's snapshot after it and the per-call `sequence`. The calls
// subgraph writes it; the gateway, evaluation, the enterprise zone and the connectors read it.
import type { Tier } from './unit-directory.ts';

export type CallStep = 'SIGN' | 'RESPOND' | 'COMPLETE';

/** A call's status (the GraphQL enum CallStatus, and the call-event contract's). */
export const CALL_STATUSES = ['RAISED', 'DISPATCHED', 'SIGNED', 'RESPONDED', 'COMPLETED', 'REOPENED', 'CLOSED', 'WITHDRAWN', 'MERGED'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

export interface CallEvent {
  eventId: string;
  type: string;
  callId: string;
  /** The call's version after the change: a reader drops what it has already applied. */
  sequence: number;
  occurredAt: string;
  actor?: { subject?: string; unitId?: string; role?: string } | null;
  call: {
    title?: string;
    status: CallStatus;
    tier: Tier;
    category: string;
    itemCode?: string | null;
    priority: string;
    source: string;
    sourceRef?: { system: string; externalId: string } | null;
    originUnitId: string;
    handlingUnitId: string;
    callerUnitId?: string | null;
    coHandlingUnitIds?: string[];
    raisedAt: string;
    assignedAt?: string | null;
    deadlines: { sign?: string | null; respond?: string | null; complete?: string | null };
    signedAt?: string | null;
    respondedAt?: string | null;
    completedAt?: string | null;
    closedAt?: string | null;
    overdueSteps?: CallStep[];
    result?: string | null;
    rating?: { stars?: number; satisfaction?: string } | null;
    /** 12345 call-backs (回访) recorded, and the latest one's answers. */
    callbackCount?: number;
    callback?: {
      at: string;
      contacted: boolean;
      resolved: boolean;
      satisfaction: 'VERY_SATISFIED' | 'SATISFIED' | 'BASIC' | 'UNSATISFIED';
    } | null;
    reopenCount?: number;
    urgeCount?: number;
    supervisionCount?: number;
    escalated?: boolean;
    reachedDepartment?: boolean;
    mergedInto?: string | null;
    location?: { lng: number; lat: number } | null;
  };
  data: Record<string, unknown>;
}
