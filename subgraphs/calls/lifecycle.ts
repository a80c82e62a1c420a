// The life of a call (呼应事项), as pure decisions: given a call, an action and who takes it, either a
// transition (the fields that change, the timeline entry, the event) or a GraphQL error that says why
// not. Nothing here reads or writes storage; CallStore applies transitions atomically.
//
//   raise ─► RAISED ──complete──► CLOSED                     (handled at its own tier)
//              │ call up (网格→社区→街道) / dispatch to department (街道→部门) / escalate (→领导)
//              ▼
//           DISPATCHED ─sign─► SIGNED ─respond─► RESPONDED ─complete─► COMPLETED ─confirm─► CLOSED
//                                 ▲                                       │
//                                 └──────────── REOPENED ◄──reopen────────┘
//   a street's call to a department: requested by the street, approved by its leader (街道领导审核)
//   RAISED (by a unit, before any dispatch) or a source's revoke record ─withdraw─► WITHDRAWN
//   any open state ─merge (command centre)─► MERGED: closed with the end of its chain, or back to its
//   previous state when that call is withdrawn
import type { Identity } from '../../platform/auth.ts';
import { type ErrorCode, userError } from '../../platform/errors.ts';
import { LEADERSHIP_ID } from '../../demo/district.ts';
import { actsFor, commandScopeHolds, isDistrictCommand, jurisdictionOf } from './access.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import type { CallableItems } from './items.ts';
import { PETITION_MAX_EXTENSION_DAYS } from '../../rules/deadlines.ts';
import {
  type ActorRef,
  type CallDoc,
  type CallStatus,
  type Deadlines,
  OPEN_STATUSES,
  type Priority,
  type Satisfaction,
  type Step,
  type Tier,
  type TimelineEntry,
} from './model.ts';

export const LIMITS = {
  titleLength: 100,
  textLength: 5000,
  noteLength: 2000,
  attachments: 9,
  attachmentUrlLength: 1000,
  extensionWorkingDays: 30,
};

export interface DecisionContext {
  now: Date;
  identity: Identity;
  directory: UnitDirectory;
  items: CallableItems;
  /**
   * Deadlines of an assignment at a tier, every step counted from `receivedAt`, the moment the call
   * reached the unit (收到呼叫后; signing late buys no time), under the call's rules version, capped at
   * the source limit `basis.limit` that travels with the call; `basis.notes` are kept.
   */
  deadlinesFor: (tier: Tier, priority: Priority, receivedAt: Date, basis?: Deadlines) => Deadlines;
  /** A deadline moved by a number of working days (extensions), with any coverage notes. */
  addWorkingDays: (from: Date, days: number) => { due: Date; notes: string[] };
  /** Whole working days from one instant's day to another's (the original limit, for extensions). */
  workingDaysBetween: (a: Date, b: Date) => number;
}

export interface Transition {
  set: Partial<CallDoc>;
  unset?: Array<keyof CallDoc>;
  entry: Omit<TimelineEntry, 'at' | 'status'>;
  event: { type: string; data?: Record<string, unknown> };
}

export type CallAction =
  | { kind: 'call_up'; note?: string }
  /** A street asks to call a department: an item's lead, or its class's fallback (兜底) without an item. */
  | { kind: 'request_dispatch'; itemCode?: string; note?: string }
  /** The street's leader (街道领导) approves, and the call goes to the department, or rejects with a reason. */
  | { kind: 'review_dispatch'; approve: boolean; reason?: string }
  | { kind: 'sign' }
  | { kind: 'respond'; note: string }
  | { kind: 'complete'; result: string; attachments?: string[] }
  | { kind: 'confirm'; stars: number; comment?: string }
  | { kind: 'reopen'; reason: string }
  /** `target` is the end of the chain `intoId` starts (CallStore resolves it): the call this one joins. */
  | { kind: 'merge'; intoId: string; note?: string; target?: Pick<CallDoc, '_id' | 'originUnitId' | 'status'> }
  /** `revokeOf` is set by intake only: the source record whose own revoke this is. */
  | { kind: 'withdraw'; reason: string; revokeOf?: { system: string; externalId: string } }
  | { kind: 'request_adjudication'; reason: string }
  | { kind: 'adjudicate'; reassignTo?: string; note: string }
  | { kind: 'request_extension'; workingDays: number; reason: string }
  | { kind: 'decide_extension'; grant: boolean; note: string }
  | { kind: 'escalate'; reason: string }
  | { kind: 'supervise'; note: string }
  | {
      kind: 'callback';
      contacted: boolean;
      resolved: boolean;
      satisfaction: Satisfaction;
      comment?: string;
      /** How many 不满意 call-backs send the call back for rework (重办) before the command centre takes it. */
      reworks: number;
    };

const STATUS_NAMES: Record<CallStatus, string> = {
  RAISED: '已上报',
  DISPATCHED: '待签收',
  SIGNED: '已签收',
  RESPONDED: '已响应',
  COMPLETED: '已办结待评价',
  REOPENED: '返工中',
  CLOSED: '已归档',
  WITHDRAWN: '已撤回',
  MERGED: '已并单',
};

function refuse(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): never {
  throw userError(code, message, extensions);
}

function requireStatus(call: CallDoc, allowed: CallStatus[], what: string): void {
  if (!allowed.includes(call.status)) {
    refuse('CONFLICT', `事项当前状态为「${STATUS_NAMES[call.status]}」，不能${what} (not allowed in status ${call.status})`, {
      status: call.status,
    });
  }
}

function requireActor(ok: boolean, what: string): void {
  if (!ok) refuse('FORBIDDEN', `本单位无权${what} (your unit may not do this)`);
}

export function requireText(value: string | undefined, field: string, max = LIMITS.noteLength): string {
  const text = value?.trim() ?? '';
  if (!text) refuse('BAD_USER_INPUT', `${field} 不能为空 (${field} is required)`, { field });
  if ([...text].length > max) {
    refuse('BAD_USER_INPUT', `${field} 超过 ${max} 字 (${field} is longer than ${max} characters)`, { field });
  }
  return text;
}

export function requireAttachments(urls: string[] | undefined): string[] {
  const list = urls ?? [];
  if (list.length > LIMITS.attachments) {
    refuse('BAD_USER_INPUT', `附件最多 ${LIMITS.attachments} 个 (at most ${LIMITS.attachments} attachments)`, {
      field: 'attachments',
    });
  }
  for (const url of list) {
    if (url.length > LIMITS.attachmentUrlLength || !/^https?:\/\/\S+$/.test(url)) {
      refuse('BAD_USER_INPUT', `附件地址无效：${url.slice(0, 80)} (attachments are http(s) URLs)`, { field: 'attachments' });
    }
  }
  return list;
}

export function satisfactionOf(stars: number): Satisfaction {
  if (stars === 5) return 'VERY_SATISFIED';
  if (stars === 4) return 'SATISFIED';
  if (stars === 3) return 'BASIC';
  return 'UNSATISFIED';
}

/**
 * Fields of a fresh assignment to `unitId`: its clock starts now, when the call reaches it, and its
 * deadlines are capped at the source limit the call carries (a hand-off never extends it).
 */
function assignment(call: CallDoc, unitId: string, tier: Tier, ctx: DecisionContext): Partial<CallDoc> {
  const deadlines = ctx.deadlinesFor(tier, call.priority, ctx.now, call.deadlines);
  const visibleTo = new Set(call.visibleTo);
  for (const id of ctx.directory.get(unitId)?.path ?? [unitId]) visibleTo.add(id);
  return {
    status: 'DISPATCHED',
    tier,
    handlingUnitId: unitId,
    assignedAt: ctx.now,
    deadlines,
    overdueSteps: [],
    warnings: [],
    visibleTo: [...visibleTo],
  };
}

const RESET_STEPS: Array<keyof CallDoc> = ['signedAt', 'respondedAt', 'completedAt', 'pendingRequest'];

const WORKING: CallStatus[] = ['SIGNED', 'RESPONDED', 'REOPENED'];

export function decide(call: CallDoc, action: CallAction, ctx: DecisionContext): Transition {
  const { identity, directory, now } = ctx;
  switch (action.kind) {
    case 'call_up': {
      requireStatus(call, ['RAISED', ...WORKING], '向上呼叫');
      requireActor(actsFor(identity, call.handlingUnitId, directory), '代表处理单位向上呼叫');
      const target = directory.callUpTarget(call.handlingUnitId);
      if (!target) {
        refuse('CONFLICT', '街道应按呼应事项清单呼叫部门，或提级呼叫 (a street calls departments through the list)');
      }
      const tier = directory.tierOf(target.id) as Tier;
      return {
        set: { ...assignment(call, target.id, tier, ctx), callerUnitId: call.handlingUnitId },
        unset: RESET_STEPS,
        entry: { action: 'call_up', actor: actorOf(identity), note: action.note, attachments: [], fromUnitId: call.handlingUnitId, toUnitId: target.id },
        event: { type: 'call.called_up' },
      };
    }
    case 'request_dispatch': {
      // 街道呼、部门应, but not 乱呼: the street's leadership reviews every call to a department first.
      requireStatus(call, ['RAISED', ...WORKING], '呼叫部门');
      if (call.tier !== 'STREET') refuse('CONFLICT', '只有街道可以呼叫部门 (only a street calls a department)');
      requireActor(actsFor(identity, call.handlingUnitId, directory), '代表街道呼叫部门');
      if (call.pendingRequest) refuse('CONFLICT', '已有待决申请 (a request is already pending)');
      const route = ctx.items.route(action.itemCode, call.category);
      const note = action.note ? requireText(action.note, 'note') : undefined;
      const what = route.item ? `${route.item.code} ${route.item.name}` : `${route.category}（兜底部门）`;
      return {
        set: {
          pendingRequest: {
            kind: 'DISPATCH',
            reason: note ?? `呼叫部门：${what}`,
            itemCode: route.item?.code,
            unitId: route.unitId,
            requestedAt: now,
            requestedBy: actorOf(identity),
          },
        },
        entry: { action: 'request_dispatch', actor: actorOf(identity), note: [`申请呼叫部门：${what}`, note].filter(Boolean).join('；'), attachments: [], toUnitId: route.unitId },
        event: { type: 'call.dispatch_requested', data: { itemCode: route.item?.code ?? null, unitId: route.unitId, fallback: route.fallback } },
      };
    }
    case 'review_dispatch': {
      const pending = call.pendingRequest;
      if (pending?.kind !== 'DISPATCH') refuse('CONFLICT', '没有待审核的呼叫部门申请 (no dispatch awaiting review)');
      requireStatus(call, ['RAISED', ...WORKING], '审核呼叫部门');
      requireActor(
        identity.role === 'street_leader' && identity.unitId === directory.streetOf(call.handlingUnitId)?.id,
        '审核呼叫部门（只有本街道领导可以）',
      );
      if (!action.approve) {
        const reason = requireText(action.reason, 'reason');
        return {
          set: {},
          unset: ['pendingRequest'],
          entry: { action: 'reject_dispatch', actor: actorOf(identity), note: reason, attachments: [] },
          event: { type: 'call.dispatch_rejected', data: { reason, requestedBy: pending.requestedBy.subject } },
        };
      }
      const note = action.reason ? requireText(action.reason, 'reason') : undefined;
      const route = ctx.items.route(pending.itemCode, call.category);
      const lead = assignment(call, route.unitId, 'DEPARTMENT', ctx);
      return {
        set: {
          ...lead,
          callerUnitId: call.handlingUnitId,
          coHandlingUnitIds: route.coUnitIds,
          itemCode: route.item?.code ?? call.itemCode,
          category: route.category,
          reachedDepartment: true,
          visibleTo: [...new Set([...(lead.visibleTo ?? []), ...route.coUnitIds])],
        },
        unset: RESET_STEPS,
        entry: {
          action: 'dispatch',
          actor: actorOf(identity),
          note: ['街道领导审核同意', pending.reason, note].filter(Boolean).join('；'),
          attachments: [],
          fromUnitId: call.handlingUnitId,
          toUnitId: route.unitId,
        },
        event: {
          type: 'call.dispatched',
          data: {
            itemCode: route.item?.code ?? null,
            fallback: route.fallback,
            itemsVersion: ctx.items.version,
            requestedBy: pending.requestedBy.subject,
            approvedBy: identity.subject,
          },
        },
      };
    }
    case 'sign': {
      requireStatus(call, ['DISPATCHED'], '签收');
      requireActor(actsFor(identity, call.handlingUnitId, directory), '签收');
      // The deadlines stand as counted from receipt: signing starts no new clock. A sign-off after its
      // deadline is a miss on record even if supervision has not looked yet.
      const late = call.deadlines.sign !== undefined && new Date(call.deadlines.sign).getTime() < now.getTime();
      return {
        set: {
          status: 'SIGNED',
          signedAt: now,
          ...(late && !call.overdueSteps.includes('SIGN') && { overdueSteps: [...call.overdueSteps, 'SIGN' as const] }),
        },
        entry: { action: 'sign', actor: actorOf(identity), attachments: [] },
        event: { type: 'call.signed' },
      };
    }
    case 'respond': {
      requireStatus(call, ['SIGNED'], '响应');
      requireActor(actsFor(identity, call.handlingUnitId, directory), '响应');
      const note = requireText(action.note, 'note');
      return {
        set: { status: 'RESPONDED', respondedAt: now },
        entry: { action: 'respond', actor: actorOf(identity), note, attachments: [] },
        event: { type: 'call.responded' },
      };
    }
    case 'complete': {
      const selfHandled = call.status === 'RAISED';
      requireStatus(call, ['RAISED', ...WORKING], '办结（须先签收）');
      requireActor(actsFor(identity, call.handlingUnitId, directory), '办结');
      const result = requireText(action.result, 'result', LIMITS.textLength);
      const attachments = requireAttachments(action.attachments);
      // Handled at its own tier, a call has nobody above to confirm it: it closes at once. A call to a
      // department still awaiting its review is moot once the street has done the work itself.
      const mootDispatch = call.pendingRequest?.kind === 'DISPATCH';
      return {
        ...(mootDispatch && { unset: ['pendingRequest'] as Array<keyof CallDoc> }),
        set: selfHandled
          ? { status: 'CLOSED', completedAt: now, closedAt: now, result, resultAttachments: attachments }
          : { status: 'COMPLETED', completedAt: now, result, resultAttachments: attachments },
        entry: { action: 'complete', actor: actorOf(identity), note: result, attachments },
        event: { type: selfHandled ? 'call.closed' : 'call.completed', data: { result } },
      };
    }
    case 'confirm': {
      if (!Number.isInteger(action.stars) || action.stars < 1 || action.stars > 5) {
        refuse('BAD_USER_INPUT', '评价须为 1 至 5 星 (stars must be a whole number from 1 to 5)', { field: 'stars' });
      }
      if (call.rating) refuse('CONFLICT', '该事项已评价，不能重复评价 (already rated)');
      requireStatus(call, ['COMPLETED'], '评价');
      requireActor(actsFor(identity, call.callerUnitId, directory), '评价（只有呼叫单位可以评价）');
      const comment = action.comment ? requireText(action.comment, 'comment') : undefined;
      const satisfaction = satisfactionOf(action.stars);
      return {
        set: {
          status: 'CLOSED',
          closedAt: now,
          rating: { stars: action.stars, satisfaction, comment, ratedAt: now, ratedBy: actorOf(identity) },
        },
        entry: { action: 'confirm', actor: actorOf(identity), note: `${action.stars}星 ${comment ?? ''}`.trim(), attachments: [] },
        event: { type: 'call.closed', data: { stars: action.stars, satisfaction } },
      };
    }
    case 'reopen': {
      requireStatus(call, ['COMPLETED'], '返工');
      requireActor(actsFor(identity, call.callerUnitId, directory), '要求返工（只有呼叫单位可以）');
      const reason = requireText(action.reason, 'reason');
      return {
        set: rework(call, ctx),
        unset: ['completedAt'],
        entry: { action: 'reopen', actor: actorOf(identity), note: reason, attachments: [] },
        event: { type: 'call.reopened', data: { reason } },
      };
    }
    case 'merge': {
      requireStatus(call, OPEN_STATUSES, '并单');
      const target = action.target;
      if (!target) throw new Error('merge decided without its resolved target');
      if (target._id === call._id) refuse('BAD_USER_INPUT', '不能并入自身或相互并单 (cannot merge a call into itself)');
      // Only a command centre whose scope holds both: the street's for one street, the district's across streets.
      requireActor(commandScopeHolds(identity, [call.originUnitId, target.originUnitId], directory), '并单（只有辖区涵盖两件事项的指挥中心可以）');
      const note = action.note ? requireText(action.note, 'note') : undefined;
      return {
        set: { status: 'MERGED', mergedInto: target._id, statusBeforeMerge: call.status },
        entry: { action: 'merge', actor: actorOf(identity), note: [`并入 ${target._id}`, note].filter(Boolean).join('；'), attachments: [] },
        event: { type: 'call.merged', data: { intoId: target._id } },
      };
    }
    case 'withdraw': {
      requireStatus(call, OPEN_STATUSES, '撤回');
      const revoke = action.revokeOf;
      if (revoke) {
        // A source system withdraws only its own record's call.
        requireActor(
          identity.role === 'service_account' &&
            call.sourceRef?.system === revoke.system &&
            call.sourceRef.externalId === revoke.externalId,
          '撤回（只有创建该事项的来源系统可以）',
        );
      } else {
        // A call from a source system is withdrawn by that system's revoke record, never by hand: a
        // property of the call, not of who asks.
        if (call.sourceRef) {
          refuse('CONFLICT', `该事项来自${call.sourceRef.system}，只能由来源系统的撤单记录撤回 (a source's call is withdrawn by its revoke record)`);
        }
        const raiser = call.raisedBy;
        requireActor(
          raiser.subject === identity.subject ||
            (raiser.role !== 'system' && actsFor(identity, jurisdictionOf({ role: raiser.role, unitId: raiser.unitId }, directory), directory)),
          '撤回（只有上报单位或来源系统可以）',
        );
        requireStatus(call, ['RAISED'], '撤回（已呼叫或派发的事项不能撤回）');
      }
      const reason = requireText(action.reason, 'reason');
      return {
        set: { status: 'WITHDRAWN', closedAt: now },
        entry: { action: 'withdraw', actor: actorOf(identity), note: reason, attachments: [] },
        event: { type: 'call.withdrawn', data: { reason, bySource: Boolean(revoke) } },
      };
    }
    case 'request_adjudication': {
      // 接单后不拒绝、不解释: a department signs first; then it may ask the command centre to decide.
      requireStatus(call, WORKING, '申请协调（须先签收）');
      if (call.tier !== 'DEPARTMENT') refuse('CONFLICT', '只有部门可以申请协调 (only a department asks for adjudication)');
      requireActor(actsFor(identity, call.handlingUnitId, directory), '申请协调');
      if (call.pendingRequest) refuse('CONFLICT', '已有待决申请 (a request is already pending)');
      const reason = requireText(action.reason, 'reason');
      return {
        set: { pendingRequest: { kind: 'ADJUDICATION', reason, requestedAt: now, requestedBy: actorOf(identity) } },
        entry: { action: 'request_adjudication', actor: actorOf(identity), note: reason, attachments: [] },
        event: { type: 'call.adjudication_requested', data: { reason } },
      };
    }
    case 'adjudicate': {
      requireActor(isDistrictCommand(identity), '协调改派（区指挥中心）');
      if (call.pendingRequest?.kind !== 'ADJUDICATION') refuse('CONFLICT', '没有待决的协调申请 (no adjudication pending)');
      const note = requireText(action.note, 'note');
      if (action.reassignTo) {
        const target = directory.require(action.reassignTo);
        if (target.kind !== 'department') refuse('BAD_USER_INPUT', '只能改派给部门 (reassign to a department)');
        if (target.id === call.handlingUnitId) refuse('BAD_USER_INPUT', '改派对象与原承办部门相同 (same department)');
        return {
          set: assignment(call, target.id, 'DEPARTMENT', ctx),
          unset: RESET_STEPS,
          entry: { action: 'reassign', actor: actorOf(identity), note, attachments: [], fromUnitId: call.handlingUnitId, toUnitId: target.id },
          event: { type: 'call.adjudicated', data: { decision: 'reassigned', from: call.handlingUnitId, to: target.id } },
        };
      }
      return {
        set: {},
        unset: ['pendingRequest'],
        entry: { action: 'adjudicate_keep', actor: actorOf(identity), note, attachments: [] },
        event: { type: 'call.adjudicated', data: { decision: 'kept', unitId: call.handlingUnitId } },
      };
    }
    case 'request_extension': {
      requireStatus(call, WORKING, '申请延期');
      requireActor(actsFor(identity, call.handlingUnitId, directory), '申请延期');
      if (call.pendingRequest) refuse('CONFLICT', '已有待决申请 (a request is already pending)');
      if (!Number.isInteger(action.workingDays) || action.workingDays < 1 || action.workingDays > LIMITS.extensionWorkingDays) {
        refuse('BAD_USER_INPUT', `延期须为 1 至 ${LIMITS.extensionWorkingDays} 个工作日`, { field: 'workingDays' });
      }
      const reason = requireText(action.reason, 'reason');
      extensionAllowed(call, action.workingDays, ctx);
      return {
        set: {
          pendingRequest: { kind: 'EXTENSION', reason, days: action.workingDays, requestedAt: now, requestedBy: actorOf(identity) },
        },
        entry: { action: 'request_extension', actor: actorOf(identity), note: `${action.workingDays}个工作日：${reason}`, attachments: [] },
        event: { type: 'call.extension_requested', data: { workingDays: action.workingDays } },
      };
    }
    case 'decide_extension': {
      requireActor(isDistrictCommand(identity), '审批延期（区指挥中心）');
      const pending = call.pendingRequest;
      if (pending?.kind !== 'EXTENSION') refuse('CONFLICT', '没有待决的延期申请 (no extension pending)');
      const note = requireText(action.note, 'note');
      if (!action.grant) {
        return {
          set: {},
          unset: ['pendingRequest'],
          entry: { action: 'deny_extension', actor: actorOf(identity), note, attachments: [] },
          event: { type: 'call.extension_decided', data: { granted: false } },
        };
      }
      const days = pending.days ?? 1;
      // Asked in time, the grant may come later; the caps hold as they did when it was asked.
      extensionAllowed(call, days, ctx, pending.requestedAt);
      const previous = new Date(call.deadlines.complete!);
      const extended = ctx.addWorkingDays(previous, days);
      const complete = extended.due;
      // A grant never erases a miss that already happened: once the old deadline passed without the
      // work done (by now, or by a late completion), the miss stays.
      const doneAt = call.completedAt ? new Date(call.completedAt) : now;
      const missed = previous.getTime() <= doneAt.getTime();
      const limit = call.deadlines.limit && call.deadlines.limit < complete ? complete : call.deadlines.limit;
      return {
        set: {
          deadlines: { ...call.deadlines, complete, limit, notes: [...new Set([...call.deadlines.notes, ...extended.notes])] },
          overdueSteps: missed
            ? [...new Set([...call.overdueSteps, 'COMPLETE' as const])]
            : call.overdueSteps.filter((s) => s !== 'COMPLETE'),
          warnings: missed ? call.warnings : call.warnings.filter((w) => !w.startsWith('COMPLETE@')),
          extension: { workingDays: days, grantedAt: now, previousComplete: previous, missed },
        },
        unset: ['pendingRequest'],
        entry: { action: 'grant_extension', actor: actorOf(identity), note, attachments: [] },
        event: { type: 'call.extension_decided', data: { granted: true, workingDays: days, complete, missed } },
      };
    }
    case 'escalate': {
      // 四个入口: every tier may call leadership directly (提级呼、领导应), its own raised calls too.
      requireStatus(call, ['RAISED', 'DISPATCHED', ...WORKING], '提级呼叫');
      if (call.tier === 'LEADERSHIP') refuse('CONFLICT', '已提级至区领导 (already escalated)');
      // A department's call is escalated by the street that called it; any other by the unit holding it.
      const callerSide = call.tier === 'DEPARTMENT' ? call.callerUnitId : call.handlingUnitId;
      requireActor(isDistrictCommand(identity) || actsFor(identity, callerSide, directory), '提级呼叫');
      const reason = requireText(action.reason, 'reason');
      // The departments that were handling it stay on as co-handlers, under leadership's lead.
      const co = call.tier === 'DEPARTMENT' ? [call.handlingUnitId, ...call.coHandlingUnitIds] : call.coHandlingUnitIds;
      return {
        set: {
          ...assignment(call, LEADERSHIP_ID, 'LEADERSHIP', ctx),
          callerUnitId: callerSide,
          coHandlingUnitIds: [...new Set(co)],
          escalated: true,
        },
        unset: RESET_STEPS,
        entry: { action: 'escalate', actor: actorOf(identity), note: reason, attachments: [], fromUnitId: call.handlingUnitId, toUnitId: LEADERSHIP_ID },
        event: { type: 'call.escalated', data: { reason } },
      };
    }
    case 'callback':
      return callback(call, action, ctx);
    case 'supervise': {
      requireStatus(call, OPEN_STATUSES, '督办');
      const street = directory.streetOf(call.originUnitId)?.id;
      requireActor(
        isDistrictCommand(identity) ||
          identity.role === 'leader' ||
          (identity.role === 'street_command' && jurisdictionOf(identity, directory) === street),
        '督办（指挥中心）',
      );
      const note = requireText(action.note, 'note');
      return {
        set: { supervisionCount: call.supervisionCount + 1 },
        entry: { action: 'supervise', actor: actorOf(identity), note, attachments: [] },
        event: { type: 'call.supervised', data: { note } },
      };
    }
  }
}

/** Back to the handler for rework (返工 / 重办): the tier's time again from now, within the source limit, keeping the notes. */
function rework(call: CallDoc, ctx: DecisionContext): Partial<CallDoc> {
  const { complete, notes } = ctx.deadlinesFor(call.tier, call.priority, ctx.now, call.deadlines);
  return {
    status: 'REOPENED',
    reopenCount: call.reopenCount + 1,
    deadlines: { ...call.deadlines, complete, notes },
    overdueSteps: call.overdueSteps.filter((s) => s !== 'COMPLETE'),
    warnings: call.warnings.filter((w) => !w.startsWith('COMPLETE@')),
  };
}

/**
 * A 12345 call-back (回访) on a call the hotline created, after the hub returned its result (DOMAIN.md
 * "12345 call-back"): satisfied or basic closes the call (the answer is its rating if it has none);
 * 不满意 sends it back for rework (重办) `reworks` times (default once), after which a further 不满意
 * goes to the district command centre as a supervision (督办) and the call stays open there. A
 * call-back on a call not yet answered (or merged, withdrawn) is recorded only. Every call-back's
 * own answers are kept on the call and published (what the Beijing rates count).
 */
function callback(call: CallDoc, action: Extract<CallAction, { kind: 'callback' }>, ctx: DecisionContext): Transition {
  const { identity, now, directory } = ctx;
  requireActor(
    identity.role === 'service_account' && call.sourceRef !== undefined && identity.subject === `${call.sourceRef.system}-connector`,
    '记录回访（只有创建该事项的来源系统可以）',
  );
  const comment = action.comment ? requireText(action.comment, 'comment') : undefined;
  const { contacted, resolved, satisfaction } = action;
  const callbacks = [...(call.callbacks ?? []), { at: now, contacted, resolved, satisfaction, ...(comment && { comment }) }];
  const reworked = (call.callbacks ?? []).filter((c) => c.satisfaction === 'UNSATISFIED').length;
  const note = `12345回访：${contacted ? '承办单位已联系' : '承办单位未联系'}，${resolved ? '已解决' : '未解决'}，${
    { VERY_SATISFIED: '非常满意', SATISFIED: '满意', BASIC: '基本满意', UNSATISFIED: '不满意' }[satisfaction]
  }${comment ? `：${comment}` : ''}`;
  const data = { contacted, resolved, satisfaction };
  if (call.status !== 'COMPLETED' && call.status !== 'CLOSED') {
    return {
      set: { callbacks },
      entry: { action: 'callback', actor: actorOf(identity), note, attachments: [] },
      event: { type: 'call.callback', data: { ...data, outcome: 'recorded' } },
    };
  }
  if (satisfaction === 'UNSATISFIED' && reworked < action.reworks) {
    return {
      set: { callbacks, ...rework(call, ctx) },
      unset: ['completedAt', 'closedAt'],
      entry: { action: 'callback_rework', actor: actorOf(identity), note: `${note}；退回重办`, attachments: [], toUnitId: call.handlingUnitId },
      event: { type: 'call.callback', data: { ...data, outcome: 'rework' } },
    };
  }
  if (satisfaction === 'UNSATISFIED') {
    const command = directory.ofKind('district_command')[0]?.id;
    return {
      set: { callbacks, status: 'COMPLETED', supervisionCount: call.supervisionCount + 1 },
      unset: ['closedAt'],
      entry: {
        action: 'callback_to_command',
        actor: actorOf(identity),
        note: `${note}；重办后仍不满意，提交区指挥中心督办`,
        attachments: [],
        ...(command && { toUnitId: command }),
      },
      event: { type: 'call.callback', data: { ...data, outcome: 'to_command_centre' } },
    };
  }
  const stars = satisfaction === 'VERY_SATISFIED' ? 5 : satisfaction === 'SATISFIED' ? 4 : 3;
  return {
    set: {
      callbacks,
      status: 'CLOSED',
      closedAt: call.closedAt ?? now,
      rating: call.rating ?? { stars, satisfaction, comment, ratedAt: now, ratedBy: actorOf(identity) },
    },
    entry: { action: 'callback', actor: actorOf(identity), note, attachments: [] },
    event: { type: 'call.callback', data: { ...data, outcome: 'closed', bySource: true } },
  };
}

/**
 * The extension rules (DOMAIN.md, default): asked before the completion deadline, at most one per
 * call, totalling no more than the original completion limit (in working days, from receipt for a
 * call with a source limit, else from its assignment); a 信访 call's handling limit by at most 30
 * days. Refuses with DEADLINE_RULE naming the rule.
 */
function extensionAllowed(call: CallDoc, days: number, ctx: DecisionContext, askedAt = ctx.now): void {
  const due = call.deadlines.complete;
  if (!due) refuse('DEADLINE_RULE', '该事项没有办结时限，无需延期 (no completion deadline to extend)');
  if (call.extension) {
    refuse('DEADLINE_RULE', '每件事项只能延期一次 (a call is extended at most once)', { rule: 'extension.once' });
  }
  if (askedAt.getTime() >= new Date(due).getTime()) {
    refuse('DEADLINE_RULE', '延期须在办结时限届满前申请 (an extension is asked for before the deadline)', { rule: 'extension.before_deadline' });
  }
  const start = call.deadlines.limit ? call.raisedAt : call.assignedAt;
  const original = ctx.workingDaysBetween(new Date(start), new Date(due));
  if (days > original) {
    refuse('DEADLINE_RULE', `延期不得超过原办结时限（${original}个工作日）(an extension may not exceed the original limit)`, {
      rule: 'extension.within_original',
      field: 'workingDays',
    });
  }
  if (call.source === 'PETITION') {
    const extended = ctx.addWorkingDays(new Date(due), days).due;
    if (extended.getTime() - new Date(due).getTime() > PETITION_MAX_EXTENSION_DAYS * 24 * 3_600_000) {
      refuse('DEADLINE_RULE', `信访事项延期不得超过${PETITION_MAX_EXTENSION_DAYS}日 (a petition is extended by at most ${PETITION_MAX_EXTENSION_DAYS} days)`, {
        rule: 'extension.petition_30_days',
        field: 'workingDays',
      });
    }
  }
}

export function actorOf(identity: Identity): ActorRef {
  return { subject: identity.subject, unitId: identity.unitId, role: identity.role };
}

/** Which steps are still open for the current assignment. */
export function openSteps(call: Pick<CallDoc, 'status' | 'signedAt' | 'respondedAt'>): Step[] {
  switch (call.status) {
    case 'DISPATCHED':
      return ['SIGN', 'RESPOND', 'COMPLETE'];
    case 'SIGNED':
      return ['RESPOND', 'COMPLETE'];
    case 'RESPONDED':
    case 'REOPENED':
    case 'RAISED':
      return ['COMPLETE'];
    default:
      return [];
  }
}

/**
 * A merged call follows the call it joined to its end: closed with it (the result shared), or, when
 * that call is withdrawn, back to the state it was merged from, so its own deadlines and supervision
 * resume. Undefined when the call is no longer merged into `target` (nothing to do).
 */
export function followMergeTarget(call: CallDoc, target: CallDoc, now: Date): Transition | undefined {
  if (call.status !== 'MERGED' || call.mergedInto !== target._id) return undefined;
  if (target.status === 'CLOSED') {
    return {
      set: { status: 'CLOSED', closedAt: now, result: target.result },
      entry: { action: 'close_with_merged', note: `随主单 ${target._id} 办结`, attachments: [] },
      event: { type: 'call.closed', data: { via: target._id } },
    };
  }
  if (target.status === 'WITHDRAWN') {
    const status = call.statusBeforeMerge ?? statusFromSteps(call);
    return {
      set: { status },
      unset: ['mergedInto', 'statusBeforeMerge'],
      entry: { action: 'unmerge', note: `主单 ${target._id} 已撤回，恢复办理`, attachments: [] },
      event: { type: 'call.unmerged', data: { fromId: target._id } },
    };
  }
  return undefined;
}

/** The state a call's recorded steps imply (for a call merged before its prior state was kept). */
function statusFromSteps(call: CallDoc): CallStatus {
  if (call.completedAt) return 'COMPLETED';
  if (call.respondedAt) return 'RESPONDED';
  if (call.signedAt) return 'SIGNED';
  return call.handlingUnitId === call.originUnitId && !call.callerUnitId ? 'RAISED' : 'DISPATCHED';
}
