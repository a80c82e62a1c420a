// Orders (令): the district or a street pushes a task down to many units with a deadline (重点任务,
// 第一议题, 法纪红线, an inspection after a 三防 warning); each unit signs, reports progress and
// completes, and the issuer sees who has not. Same storage discipline as calls: one versioned
// document per order, with its timeline and outbox.
import { randomUUID } from 'node:crypto';
import type { Identity } from '../../platform/auth.ts';
import { userError } from '../../platform/errors.ts';
import { connectionOf, decodeCursor, encodeCursor, pageSize } from '../../platform/pagination.ts';
import { jurisdictionOf } from './access.ts';
import { allowed, decide, fitsUnit, mayEver, type PolicyObject } from '../../platform/policy.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import type { InputMaybe, OrderAssignment, OrderResolvers, OrderStatus, Unit } from './generated/graphql.ts';
import { actorOf, requireText } from './lifecycle.ts';
import type { ActorRef, CallsModels, OrderAssignmentDoc, OrderDoc, OrderKind, Priority, TimelineEntry } from './model.ts';
import { stableCallId, SYSTEM } from './store.ts';

export type OrderAction = { kind: 'sign' } | { kind: 'report'; progress: number; note: string } | { kind: 'complete'; note: string };

export interface NewOrder {
  title: string;
  description: string;
  kind: OrderKind;
  /** Null (given so in GraphQL) or left out: NORMAL. */
  priority?: Priority | null;
  unitIds: string[];
  deadline: Date;
}

/** An order as the policy sees it: issued by a unit, through the units in visibleTo, given to its assigned units. */
export function orderObject(order: Pick<OrderDoc, 'issuerUnitId' | 'visibleTo' | 'assignedUnitIds'>): PolicyObject {
  return { unitId: order.issuerUnitId, visibleTo: order.visibleTo, handlingUnitIds: order.assignedUnitIds };
}

/** A unit is owned by the party-map subgraph: orders hand out references only. */
const unitRef = (id: string): Unit => ({ __typename: 'Unit', id });

const MAX_UNITS = 500;
const RETRIES = 5;

export class OrderService {
  constructor(
    private readonly models: CallsModels,
    private readonly directory: UnitDirectory,
    private readonly onChanged: (id: string) => void = () => undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The unit on whose behalf the identity issues orders: the district, or its street. */
  private issuerFor(identity: Identity): string {
    const unit = this.directory.require(jurisdictionOf(identity, this.directory));
    if (unit.kind === 'street' || unit.kind === 'district') return unit.id;
    if ((unit.kind === 'district_command' || unit.kind === 'leadership') && unit.parentId) return unit.parentId;
    throw userError('FORBIDDEN', '只有区或街道可以下达指令 (only the district or a street issues orders)');
  }

  async issue(input: NewOrder, identity: Identity, key?: string): Promise<OrderDoc> {
    if (!mayEver(identity, 'order.issue')) throw userError('FORBIDDEN', '只有区或街道可以下达指令 (only the district or a street issues orders)');
    const issuerUnitId = this.issuerFor(identity);
    for (const unitId of new Set(input.unitIds ?? [])) {
      this.directory.require(unitId);
      if (!allowed(identity, 'order.issue', { unitId }, this.directory)) {
        throw userError('FORBIDDEN', `不能向管辖范围外的单位下达：${unitId} (outside the issuer's jurisdiction)`, { unitId });
      }
    }
    const id = key ? stableCallId(`order:${identity.subject}:${key}`).replace(/^C/, 'O') : undefined;
    return this.create(input, issuerUnitId, actorOf(identity), id);
  }

  /**
   * Orders from a source system (a 三防 warning): idempotent on the source record. One whose deadline
   * has already passed when it arrives is still issued at once, marked late (DOMAIN.md "Late 三防
   * orders are still orders"), never dropped.
   */
  async issueFromSource(input: NewOrder, issuerUnitId: string, sourceRef: { system: string; externalId: string }) {
    const id = stableCallId(`order:${sourceRef.system}:${sourceRef.externalId}`).replace(/^C/, 'O');
    return this.create(input, issuerUnitId, SYSTEM, id, sourceRef, true);
  }

  private async create(
    input: NewOrder,
    issuerUnitId: string,
    issuedBy: ActorRef,
    id = `O${randomUUID().replaceAll('-', '').slice(0, 20).toUpperCase()}`,
    sourceRef?: { system: string; externalId: string },
    acceptLate = false,
  ): Promise<OrderDoc> {
    const title = requireText(input.title, 'title', 100);
    const description = requireText(input.description, 'description', 5000);
    const now = this.now();
    const late = !(input.deadline > now);
    if (late && !acceptLate) throw userError('BAD_USER_INPUT', '截止时间须晚于现在 (deadline must be in the future)', { field: 'deadline' });
    const unitIds = [...new Set(input.unitIds)];
    if (unitIds.length === 0 || unitIds.length > MAX_UNITS) {
      throw userError('BAD_USER_INPUT', `下达单位须为 1 至 ${MAX_UNITS} 个 (1 to ${MAX_UNITS} units)`, { field: 'unitIds' });
    }
    const issuer = this.directory.require(issuerUnitId);
    for (const unitId of unitIds) {
      const unit = this.directory.require(unitId);
      // A district reaches its departments and whole tree; a street only its own subtree.
      if (unit.id === issuer.id || !this.directory.isWithin(unit.id, issuer.id)) {
        throw userError('FORBIDDEN', `不能向管辖范围外的单位下达：${unit.name} (outside the issuer's jurisdiction)`, { unitId });
      }
    }
    const assignments: Record<string, OrderAssignmentDoc> = {};
    for (const unitId of unitIds) assignments[unitId] = { unitId, status: 'ISSUED', progress: 0 };
    const order: OrderDoc = {
      _id: id,
      title,
      description,
      kind: input.kind,
      priority: input.priority ?? 'NORMAL',
      issuerUnitId,
      issuedBy,
      issuedAt: now,
      deadline: input.deadline,
      late,
      status: 'OPEN',
      sourceRef,
      assignments,
      assignedUnitIds: unitIds,
      visibleTo: [...new Set([...issuer.path, ...unitIds.flatMap((u) => this.directory.get(u)?.path ?? [u])])],
      timeline: [
        { at: now, action: 'issue', actor: issuedBy, attachments: [], status: 'RAISED', ...(late && { note: '收到时已超过时限，立即下达 (received after its deadline; issued at once, late)' }) },
      ],
      outbox: [{ eventId: randomUUID(), type: 'order.issued', sequence: 1, occurredAt: now, data: { unitIds, late, deadline: input.deadline.toISOString() } }],
      outboxPending: true,
      publishedSeq: 0,
      appliedKeys: [],
      version: 1,
    };
    try {
      await this.models.Order.create(order);
    } catch (err) {
      if ((err as { code?: number }).code === 11000) {
        const existing = await this.models.Order.findById(id).lean<OrderDoc>();
        if (existing) return existing;
      }
      throw err;
    }
    this.onChanged(id);
    return order;
  }

  async find(id: string, identity: Identity): Promise<OrderDoc | null> {
    if (!mayEver(identity, 'order.read')) return null;
    const order = await this.models.Order.findById(id).lean<OrderDoc>();
    if (!order) return null;
    return allowed(identity, 'order.read', orderObject(order), this.directory) ? order : null;
  }

  async list(identity: Identity, status?: InputMaybe<OrderStatus>, first?: InputMaybe<number>, after?: InputMaybe<string>) {
    const size = pageSize(first);
    const and: Record<string, unknown>[] = [];
    if (!mayEver(identity, 'order.read') || !fitsUnit(identity, this.directory)) return connectionOf([] as OrderDoc[], size, (o) => o._id, after);
    // District-wide readers (allowed even when unrelated) see all; every other relation puts the
    // acting unit in the order's visibleTo.
    if (!decide(identity, 'order.read', ['unrelated'])) and.push({ visibleTo: jurisdictionOf(identity, this.directory) });
    if (status) and.push({ status });
    if (typeof after === 'string') {
      const [at, id] = decodeCursor(after);
      const issuedAt = new Date(String(at));
      and.push({ $or: [{ issuedAt: { $lt: issuedAt } }, { issuedAt, _id: { $lt: String(id) } }] });
    }
    const orders = await this.models.Order.find(and.length ? { $and: and } : {}, { timeline: 0, outbox: 0 })
      .sort({ issuedAt: -1, _id: -1 })
      .limit(size + 1)
      .lean<OrderDoc[]>();
    return connectionOf(orders, size, (o) => encodeCursor([o.issuedAt.toISOString(), o._id]), after);
  }

  async act(id: string, action: OrderAction, identity: Identity, key?: string): Promise<OrderDoc> {
    const appliedKey = key ? `${identity.subject}:${key}` : undefined;
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const order = await this.find(id, identity);
      if (!order) throw userError('NOT_FOUND', `指令不存在或无权查看：${id} (no such order)`, { orderId: id });
      if (appliedKey && order.appliedKeys.includes(appliedKey)) return order;
      const unitId = order.assignedUnitIds.find((u) => allowed(identity, 'order.act', { handlingUnitIds: [u] }, this.directory));
      // Seeing an order (a street's grid sees its street's orders) is not being given it.
      if (!unitId) throw userError('FORBIDDEN', '本单位不是该指令的承办单位 (your unit was not given this order)');
      const current = order.assignments[unitId] as OrderAssignmentDoc;
      if (order.status !== 'OPEN') throw userError('CONFLICT', '指令已关闭 (the order is closed)');
      const now = this.now();
      const next: OrderAssignmentDoc = { ...current };
      let note: string | undefined;
      if (action.kind === 'sign') {
        if (current.status !== 'ISSUED') throw userError('CONFLICT', '已签收 (already signed)');
        Object.assign(next, { status: 'SIGNED', signedAt: now });
      } else {
        if (current.status === 'ISSUED') throw userError('CONFLICT', '请先签收 (sign first)');
        if (current.status === 'COMPLETED') throw userError('CONFLICT', '已完成 (already completed)');
        note = requireText(action.note, 'note');
        if (action.kind === 'report') {
          if (!Number.isInteger(action.progress) || action.progress < 0 || action.progress > 100) {
            throw userError('BAD_USER_INPUT', '进度须为 0 至 100 (progress is 0 to 100)', { field: 'progress' });
          }
          Object.assign(next, { status: 'IN_PROGRESS', progress: action.progress, lastReport: note, reportedAt: now });
        } else {
          Object.assign(next, { status: 'COMPLETED', progress: 100, lastReport: note, reportedAt: now, completedAt: now });
        }
      }
      const allDone = order.assignedUnitIds.every((u) => (u === unitId ? next : order.assignments[u])?.status === 'COMPLETED');
      const version = order.version + 1;
      const entry: TimelineEntry = {
        at: now,
        action: `order_${action.kind}`,
        actor: actorOf(identity),
        note,
        attachments: [],
        fromUnitId: unitId,
        status: allDone ? 'CLOSED' : 'RAISED',
      };
      const $set: Record<string, unknown> = { [`assignments.${unitId}`]: next, version, outboxPending: true };
      if (allDone) $set.status = 'CLOSED';
      const $push: Record<string, unknown> = {
        timeline: entry,
        outbox: {
          eventId: randomUUID(),
          type: allDone ? 'order.closed' : `order.${action.kind === 'report' ? 'progress' : action.kind === 'sign' ? 'signed' : 'completed'}`,
          sequence: version,
          occurredAt: now,
          data: { unitId, status: next.status, progress: next.progress },
        },
      };
      if (appliedKey) $push.appliedKeys = appliedKey;
      const result = await this.models.Order.updateOne({ _id: id, version: order.version }, { $set, $push });
      if (result.modifiedCount === 1) {
        this.onChanged(id);
        return (await this.models.Order.findById(id).lean<OrderDoc>()) as OrderDoc;
      }
    }
    throw userError('CONFLICT', '指令正被同时修改，请重试 (the order is being changed)');
  }

  /** A source record lifted what it opened (a 三防 warning lifted): close its order. */
  async closeBySource(sourceRef: { system: string; externalId: string }, reason: string): Promise<OrderDoc | null> {
    const id = stableCallId(`order:${sourceRef.system}:${sourceRef.externalId}`).replace(/^C/, 'O');
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const order = await this.models.Order.findById(id).lean<OrderDoc>();
      if (!order || order.status !== 'OPEN') return order;
      const now = this.now();
      const version = order.version + 1;
      const result = await this.models.Order.updateOne(
        { _id: id, version: order.version },
        {
          $set: { status: 'CLOSED', version, outboxPending: true },
          $push: {
            timeline: { at: now, action: 'close_by_source', actor: SYSTEM, note: reason, attachments: [], status: 'CLOSED' },
            outbox: { eventId: randomUUID(), type: 'order.closed', sequence: version, occurredAt: now, data: { reason } },
          },
        },
      );
      if (result.modifiedCount === 1) {
        this.onChanged(id);
        return { ...order, status: 'CLOSED', version };
      }
    }
    throw userError('CONFLICT', '指令正被同时修改 (the order is being changed)');
  }

  readonly resolvers: OrderResolvers = {
    __resolveReference: (ref, ctx) => this.find(ref.id, ctx.identity),
    id: (order) => order._id,
    late: (order) => order.late ?? false,
    issuer: (order) => unitRef(order.issuerUnitId),
    issuedBy: (order) => ({ ...order.issuedBy, unit: unitRef(order.issuedBy.unitId) }),
    assignments: (order) => this.assignmentViews(order),
    outstanding: (order) => this.assignmentViews(order).filter((a) => a.status !== 'COMPLETED'),
  };

  private assignmentViews(order: OrderDoc): OrderAssignment[] {
    const now = this.now();
    return order.assignedUnitIds.map((unitId) => {
      const a = order.assignments[unitId] as OrderAssignmentDoc;
      return { ...a, unit: unitRef(unitId), overdue: a.status !== 'COMPLETED' && now > order.deadline };
    });
  }
}
