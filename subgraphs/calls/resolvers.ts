// GraphQL resolvers of the calls subgraph: reads go through the identity's visibility filter, every
// action through CallStore (rules, concurrency, idempotency, outbox).
import type { Identity } from '../../platform/auth.ts';
import { errorCode, userError } from '../../platform/errors.ts';
import { connectionOf, decodeCursor, encodeCursor, pageSize } from '../../platform/pagination.ts';
import { intakeContext, maskName, maskPhone, type PersonalOriginals } from '../../platform/personal-data.ts';
import { type Keyring, SealError } from '../../platform/personal-keys.ts';
import { DateTime } from '../../platform/scalars.ts';
import type { SubgraphContext } from '../../platform/subgraph.ts';
import { actsFor, canSeeCitizen, jurisdictionOf, visibilityFilter } from './access.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import type { CallIndex } from './call-index.ts';
import type { DuplicateFinder } from './duplicates.ts';
import type { CallFilter, InboxBox, InputMaybe, Resolvers, Unit } from './generated/graphql.ts';
import type { CallableItem, CallableItems } from './items.ts';
import type { CallAction } from './lifecycle.ts';
import { type CallDoc, OPEN_STATUSES, type Tier } from './model.ts';
import type { OrderService } from './orders.ts';
import { type CallStore, stableCallId } from './store.ts';

export interface CallsDeps {
  index: CallIndex;
  store: CallStore;
  directory: UnitDirectory;
  items: CallableItems;
  duplicates: DuplicateFinder;
  orders: OrderService;
  /** Opens what a source wrote (sealed at intake) for those who may see the citizen. */
  keys: Keyring;
}

/** A unit is owned by the party-map subgraph: the calls subgraph hands out references only. */
const unitRef = (id: string): Unit => ({ __typename: 'Unit', id });
const optionalUnitRef = (id: string | undefined): Unit | null => (id ? unitRef(id) : null);

/** What every call action takes besides its own arguments. */
interface ActionArgs {
  id: string;
  expectedVersion?: InputMaybe<number>;
  idempotencyKey?: InputMaybe<string>;
}

function itemView(item: CallableItem) {
  return {
    code: item.code,
    category: item.category,
    name: item.name,
    leadUnit: unitRef(item.leadUnitId),
    coUnits: item.coUnitIds.map(unitRef),
    fallbackUnit: optionalUnitRef(item.fallbackUnitId),
  };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function createResolvers(deps: CallsDeps): Resolvers {
  const { index, store, directory, items, duplicates, orders, keys } = deps;
  // Title, description and address are stored scrubbed; what the source wrote is sealed in `personal`
  // and shown only to those who may see the citizen (a petitioner's: the district command centre).
  const asWritten = (call: CallDoc, field: 'title' | 'description' | 'address', identity: Identity) => {
    if (!call.personal || !call.sourceRef || !canSeeCitizen(identity, call, directory)) return call[field] ?? null;
    try {
      const originals = keys.openJson<PersonalOriginals>(call.personal, intakeContext(call.sourceRef.system, call.sourceRef.externalId));
      return originals[field] ?? call[field] ?? null;
    } catch (err) {
      // Sealed under a key since retired: the scrubbed text is what is left.
      if (err instanceof SealError) return call[field] ?? null;
      throw err;
    }
  };
  const visible = (id: string, identity: Identity) => store.visible(id, identity);

  async function page(filter: Record<string, unknown>, first?: InputMaybe<number>, after?: InputMaybe<string>) {
    const size = pageSize(first);
    const query: Record<string, unknown> = { ...filter };
    if (typeof after === 'string') {
      const [raisedAt, id] = decodeCursor(after);
      const at = new Date(String(raisedAt));
      query.$and = [
        ...((filter.$and as unknown[]) ?? []),
        { $or: [{ raisedAt: { $lt: at } }, { raisedAt: at, _id: { $lt: String(id) } }] },
      ];
    }
    const calls = index.find({ filter: query, limit: size + 1 });
    return connectionOf(calls, size, (c) => encodeCursor([c.raisedAt.toISOString(), c._id]), after);
  }

  function filterOf(input: CallFilter | null | undefined, identity: Identity): Record<string, unknown> {
    const and: Record<string, unknown>[] = [visibilityFilter(identity, directory)];
    if (input?.status?.length) and.push({ status: { $in: input.status } });
    if (input?.tier?.length) and.push({ tier: { $in: input.tier } });
    if (input?.source?.length) and.push({ source: { $in: input.source } });
    if (input?.category) and.push({ category: input.category });
    if (input?.unitId) {
      directory.require(input.unitId);
      and.push({ $or: [{ visibleTo: input.unitId }, { handlingUnitId: input.unitId }] });
    }
    if (input?.overdue === true) and.push({ 'overdueSteps.0': { $exists: true }, status: { $in: OPEN_STATUSES } });
    if (input?.overdue === false) and.push({ 'overdueSteps.0': { $exists: false } });
    if (input?.raisedFrom) and.push({ raisedAt: { $gte: input.raisedFrom } });
    if (input?.raisedTo) and.push({ raisedAt: { $lt: input.raisedTo } });
    if (input?.text) {
      const text = input.text.trim();
      if (text.length > 50) throw userError('BAD_USER_INPUT', '搜索词最多 50 字 (text is at most 50 characters)');
      const pattern = escapeRegex(text);
      and.push({ $or: [{ title: { $regex: pattern } }, { description: { $regex: pattern } }] });
    }
    return { $and: and };
  }

  // An explicit null (a client's null variable) means "not given", as an omitted argument does.
  const act =
    <Args extends ActionArgs>(build: (args: Args) => CallAction) =>
    async (_: unknown, args: Args, ctx: SubgraphContext) =>
      store.act(args.id, build(args), ctx.identity, {
        key: args.idempotencyKey ?? undefined,
        expectedVersion: args.expectedVersion ?? undefined,
      });

  return {
    DateTime,
    Query: {
      call: async (_, { id }, ctx) => {
        try {
          return await visible(id, ctx.identity);
        } catch (err) {
          if (errorCode(err) === 'NOT_FOUND') return null;
          throw err;
        }
      },
      calls: async (_, args, ctx) => page(filterOf(args.filter, ctx.identity), args.first, args.after),
      inbox: async (_, args, ctx) => {
        const unit = jurisdictionOf(ctx.identity, directory);
        const mine = { $or: [{ handlingUnitId: unit }, { coHandlingUnitIds: unit }] };
        const boxes: Record<InboxBox, Record<string, unknown>> = {
          TO_SIGN: { handlingUnitId: unit, status: 'DISPATCHED' },
          IN_PROGRESS: { ...mine, status: { $in: ['RAISED', 'SIGNED', 'RESPONDED', 'REOPENED'] } },
          OVERDUE: { ...mine, status: { $in: OPEN_STATUSES }, 'overdueSteps.0': { $exists: true } },
          TO_CONFIRM: { callerUnitId: unit, status: 'COMPLETED' },
        };
        return page(boxes[args.box], args.first, args.after);
      },
      callCounters: async (_, { scopeUnitId, from, to }, ctx) => {
        const scope = directory.require(scopeUnitId);
        if (!(from < to)) throw userError('BAD_USER_INPUT', '起始时间须早于结束时间 (from must be before to)');
        const own = jurisdictionOf(ctx.identity, directory);
        const seesAll = Object.keys(visibilityFilter(ctx.identity, directory)).length === 0;
        if (!seesAll && !directory.isWithin(scope.id, own)) {
          throw userError('FORBIDDEN', '无权查看该范围的统计 (outside your jurisdiction)');
        }
        return counters(scope.id, from, to);
      },
      callableItems: () => items.items.map(itemView),
      order: (_, { id }, ctx) => orders.find(id, ctx.identity),
      orders: (_, args, ctx) => orders.list(ctx.identity, args.status, args.first, args.after),
    },
    Mutation: {
      raiseCall: async (_, { input, idempotencyKey }, ctx) => {
        const identity = ctx.identity;
        // Arguments left out or given as null are alike: the draft knows only "not given".
        const location = input.location ?? undefined;
        const originUnitId = originFor(identity, input.unitId ?? undefined, location);
        const { call } = await store.create(
          {
            title: input.title,
            description: input.description,
            itemCode: input.itemCode ?? undefined,
            category: input.category ?? undefined,
            priority: input.priority ?? 'NORMAL',
            source: identity.role === 'enterprise_officer' ? 'ENTERPRISE' : 'UNIT',
            originUnitId,
            location,
            address: input.address ?? undefined,
            attachments: input.attachments ?? undefined,
            raisedBy: { subject: identity.subject, unitId: identity.unitId, role: identity.role },
          },
          idempotencyKey ? stableKeyId(identity, idempotencyKey) : undefined,
        );
        return { call, possibleDuplicates: await duplicates.candidatesFor(call, identity) };
      },
      callUp: act((a) => ({ kind: 'call_up', note: a.note ?? undefined })),
      dispatchToDepartment: act((a) => ({
        kind: 'dispatch_to_department',
        itemCode: a.itemCode,
        reviewedBy: a.reviewedBy,
        note: a.note ?? undefined,
      })),
      signCall: act(() => ({ kind: 'sign' })),
      respondCall: act((a) => ({ kind: 'respond', note: a.note })),
      completeCall: act((a) => ({
        kind: 'complete',
        result: a.result,
        attachments: a.attachments ?? undefined,
      })),
      confirmCall: act((a) => ({ kind: 'confirm', stars: a.stars, comment: a.comment ?? undefined })),
      reopenCall: act((a) => ({ kind: 'reopen', reason: a.reason })),
      mergeCall: act((a) => ({ kind: 'merge', intoId: a.intoId, note: a.note ?? undefined })),
      withdrawCall: act((a) => ({ kind: 'withdraw', reason: a.reason })),
      requestAdjudication: act((a) => ({ kind: 'request_adjudication', reason: a.reason })),
      adjudicate: act((a) => ({ kind: 'adjudicate', reassignTo: a.reassignTo ?? undefined, note: a.note })),
      requestExtension: act((a) => ({
        kind: 'request_extension',
        workingDays: a.workingDays,
        reason: a.reason,
      })),
      decideExtension: act((a) => ({ kind: 'decide_extension', grant: a.grant, note: a.note })),
      escalateCall: act((a) => ({ kind: 'escalate', reason: a.reason })),
      superviseCall: act((a) => ({ kind: 'supervise', note: a.note })),
      issueOrder: (_, { input, idempotencyKey }, ctx) => orders.issue(input, ctx.identity, idempotencyKey ?? undefined),
      signOrder: (_, { id, idempotencyKey }, ctx) => orders.act(id, { kind: 'sign' }, ctx.identity, idempotencyKey ?? undefined),
      reportOrderProgress: (_, { id, progress, note, idempotencyKey }, ctx) =>
        orders.act(id, { kind: 'report', progress, note }, ctx.identity, idempotencyKey ?? undefined),
      completeOrder: (_, { id, note, idempotencyKey }, ctx) =>
        orders.act(id, { kind: 'complete', note }, ctx.identity, idempotencyKey ?? undefined),
    },
    Call: {
      __resolveReference: async (ref, ctx) => {
        try {
          return await visible(ref.id, ctx.identity);
        } catch (err) {
          // A call the identity may not see is null, as for `call(id)`; a failing database is an error.
          if (errorCode(err) === 'NOT_FOUND') return null;
          throw err;
        }
      },
      id: (call) => call._id,
      item: (call) => (call.itemCode ? itemView(items.require(call.itemCode)) : null),
      originUnit: (call) => unitRef(call.originUnitId),
      handlingUnit: (call) => unitRef(call.handlingUnitId),
      callerUnit: (call) => optionalUnitRef(call.callerUnitId),
      coHandlingUnits: (call) => call.coHandlingUnitIds.map(unitRef),
      raisedBy: (call) => ({ ...call.raisedBy, unit: unitRef(call.raisedBy.unitId) }),
      title: (call, _, ctx) => asWritten(call, 'title', ctx.identity) as string,
      description: (call, _, ctx) => asWritten(call, 'description', ctx.identity) as string,
      address: (call, _, ctx) => asWritten(call, 'address', ctx.identity),
      citizen: (call, _, ctx) => {
        if (!call.citizen) return null;
        if (canSeeCitizen(ctx.identity, call, directory)) return { ...call.citizen, masked: false };
        if (call.identityProtected) return { name: null, phone: null, masked: true };
        return {
          name: call.citizen.name ? maskName(call.citizen.name) : null,
          phone: call.citizen.phone ? maskPhone(call.citizen.phone) : null,
          masked: true,
        };
      },
      deadlines: (call) => ({ ...call.deadlines, notes: call.deadlines.notes ?? [] }),
      rating: (call) =>
        call.rating ? { ...call.rating, ratedBy: { ...call.rating.ratedBy, unit: unitRef(call.rating.ratedBy.unitId) } } : null,
      pendingRequest: (call) =>
        call.pendingRequest
          ? {
              ...call.pendingRequest,
              requestedBy: { ...call.pendingRequest.requestedBy, unit: unitRef(call.pendingRequest.requestedBy.unitId) },
            }
          : null,
      mergedInto: (call, _, ctx) => (call.mergedInto ? visible(call.mergedInto, ctx.identity).catch(() => null) : null),
      mergedCalls: async (call, _, ctx) => {
        const merged = await Promise.all(call.mergedCallIds.map((id) => visible(id, ctx.identity).catch(() => null)));
        return merged.filter((found) => found !== null);
      },
      possibleDuplicates: (call, _, ctx) => duplicates.candidatesFor(call, ctx.identity),
      timeline: async (call, args) => {
        const size = pageSize(args.first, { fallback: 50 });
        // Listing pages leave the timeline out; load it for the call asked about.
        const full = call.timeline ?? (await store.get(call._id))?.timeline ?? [];
        const start = typeof args.after === 'string' ? Number(decodeCursor(args.after)[0]) + 1 : 0;
        const slice = full.slice(start, start + size + 1).map((entry, i) => ({ entry, index: start + i }));
        const connection = connectionOf(slice, size, ({ index }) => encodeCursor([index]), args.after);
        return {
          edges: connection.edges.map(({ cursor, node: { entry } }) => ({
            cursor,
            node: {
              ...entry,
              actor: entry.actor ? { ...entry.actor, unit: unitRef(entry.actor.unitId) } : null,
              fromUnit: optionalUnitRef(entry.fromUnitId),
              toUnit: optionalUnitRef(entry.toUnitId),
              attachments: entry.attachments ?? [],
            },
          })),
          pageInfo: connection.pageInfo,
          totalCount: full.length,
        };
      },
    },
    Order: orders.resolvers,
  };

  /** The unit a call is raised at: explicit, or routed by place, or the caller's own area unit. */
  function originFor(identity: Identity, unitId: string | undefined, location?: { lng: number; lat: number }): string {
    if (unitId) {
      const mayRaiseFor =
        actsFor(identity, unitId, directory) ||
        directory.isWithin(unitId, jurisdictionOf(identity, directory)) ||
        identity.role === 'district_command' ||
        identity.role === 'service_account';
      if (!mayRaiseFor) throw userError('FORBIDDEN', '不能代其他单位上报 (you may not raise calls for that unit)');
      return unitId;
    }
    const own = directory.tierOf(jurisdictionOf(identity, directory));
    if (own === 'GRID' || own === 'COMMUNITY' || own === 'STREET') return jurisdictionOf(identity, directory);
    if (location) {
      const grid = directory.gridAt(location);
      if (!grid) {
        throw userError('BAD_USER_INPUT', '该位置不在本区任何网格内，请指定单位 (no grid here: give a unitId)', {
          field: 'location',
        });
      }
      return grid.id;
    }
    throw userError('BAD_USER_INPUT', '请指定上报单位或位置 (give a unitId or a location)', { field: 'unitId' });
  }

  async function counters(scopeId: string, from: Date, to: Date) {
    const inScope = index.find({ filter: { visibleTo: scopeId, raisedAt: { $gte: from, $lt: to } } });
    const overdueNow = index.count({ visibleTo: scopeId, status: { $in: OPEN_STATUSES }, 'overdueSteps.0': { $exists: true } });
    let raised = 0;
    let completed = 0;
    let calledUp = 0;
    let rated = 0;
    let satisfied = 0;
    const byTier = new Map<Tier, number>();
    for (const call of inScope) {
      raised++;
      if (call.status === 'CLOSED' || call.status === 'COMPLETED') completed++;
      if (call.reachedDepartment) calledUp++;
      const satisfaction = call.rating?.satisfaction;
      if (satisfaction) rated++;
      if (satisfaction === 'VERY_SATISFIED' || satisfaction === 'SATISFIED') satisfied++;
      const tier = directory.tierOf(call.originUnitId);
      if (tier) byTier.set(tier, (byTier.get(tier) ?? 0) + 1);
    }
    return {
      scope: unitRef(scopeId),
      from,
      to,
      raised,
      raisedByTier: [...byTier].map(([tier, count]) => ({ tier, count })),
      calledUpToDepartments: calledUp,
      completed,
      completionRate: raised ? completed / raised : null,
      satisfactionRate: rated ? satisfied / rated : null,
      overdueNow,
    };
  }
}

/** The call id for a person's idempotency key: the same key from the same person, the same call. */
function stableKeyId(identity: Identity, key: string): string {
  if (key.length > 100) throw userError('BAD_USER_INPUT', 'idempotencyKey 最长 100 字符', { field: 'idempotencyKey' });
  return stableCallId(`key:${identity.subject}:${key}`);
}
