// GraphQL resolvers of the calls subgraph: reads go through the identity's visibility filter, every
// action through CallStore (rules, concurrency, idempotency, outbox).
import { LRUCache } from 'lru-cache';
import type { Identity } from '../../platform/auth.ts';
import { errorCode, userError } from '../../platform/errors.ts';
import type { IdempotencyKeys } from '../../platform/idempotency.ts';
import { connectionOf, decodeCursor, encodeCursor, pageSize } from '../../platform/pagination.ts';
import { intakeContext, maskName, maskPhone, type PersonalOriginals } from '../../platform/personal-data.ts';
import { type Keyring, SealError } from '../../platform/personal-keys.ts';
import { DateTime } from '../../platform/scalars.ts';
import type { SubgraphContext } from '../../platform/subgraph.ts';
import { canSeeCitizen, jurisdictionOf, requireMay, visibilityFilter, visibleHistoryKeys } from './access.ts';
import { actionOfField, allowed, fitsUnit, guardReads, mayEver } from '../../platform/policy.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import type { CallIndex, Position } from './call-index.ts';
import type { DuplicateFinder } from './duplicates.ts';
import type { CallCounters, CallFilter, InboxBox, InputMaybe, RaiseCallInput, Resolvers, Unit } from './generated/graphql.ts';
import type { CallableItem, CallableItems } from './items.ts';
import type { CallAction } from './lifecycle.ts';
import { type CallDoc, OPEN_STATUSES } from './model.ts';
import type { OrderService } from './orders.ts';
import { type CallStore, stableCallId } from './store.ts';
import { verifyTimeline } from './timeline-chain.ts';

/**
 * What `callCounters` resolves to: every figure but `overdueNow`, which matches every open call of
 * the scope held in memory and is worked out only when asked for.
 */
export type CallCountersView = Omit<CallCounters, 'overdueNow' | 'scope'> & { scope: Unit };

export interface CallsDeps {
  index: CallIndex;
  store: CallStore;
  directory: UnitDirectory;
  items: CallableItems;
  duplicates: DuplicateFinder;
  orders: OrderService;
  /** Binds each idempotency key to the request it came with. */
  keys: IdempotencyKeys;
  /** Opens what a source wrote (sealed at intake) for those who may see the citizen. */
  personalKeys: Keyring;
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

/** Sealed originals kept opened (each a call's title, description and address as the source wrote them). */
const OPENED_ORIGINALS = 2000;

export function createResolvers(deps: CallsDeps): Resolvers {
  // Each field decides through the policy; without an identity nothing is read.
  return guardReads(buildResolvers(deps), () => undefined);
}

function buildResolvers(deps: CallsDeps): Resolvers {
  const { index, store, directory, items, duplicates, orders, keys, personalKeys } = deps;
  /** A mutation with an idempotency key: refused when the key came before with other input. */
  const keyed = <T>(operation: string, args: { idempotencyKey?: InputMaybe<string> }, identity: Identity, work: () => Promise<T>) => {
    const { idempotencyKey, ...input } = args;
    return keys.run(identity, idempotencyKey, operation, input, work);
  };
  // Title, description and address are stored scrubbed; what the source wrote is sealed in `personal`
  // and shown only to those who may see the citizen (a petitioner's: the district command centre).
  // A list shows the same calls to many readers: each sealed text is opened once a minute at most (a
  // retired key stops opening it within that minute).
  const opened = new LRUCache<string, PersonalOriginals>({ max: OPENED_ORIGINALS, ttl: 60_000 });
  const asWritten = (call: CallDoc, field: 'title' | 'description' | 'address', identity: Identity) => {
    if (!call.personal || !call.sourceRef || !canSeeCitizen(identity, call, directory)) return call[field] ?? null;
    try {
      let originals = opened.get(call.personal);
      if (!originals) {
        originals = personalKeys.openJson<PersonalOriginals>(call.personal, intakeContext(call.sourceRef.system, call.sourceRef.externalId));
        opened.set(call.personal, originals);
      }
      return originals[field] ?? call[field] ?? null;
    } catch (err) {
      // Sealed under a key since retired: the scrubbed text is what is left.
      if (err instanceof SealError) return call[field] ?? null;
      throw err;
    }
  };
  const visible = (id: string, identity: Identity) => store.visible(id, identity);

  /**
   * One page of calls, newest first: the live ones from memory and, when `keys` name the history
   * lists that hold every possible match, the archived ones through the day documents. A page whose
   * history scan ran out of budget is shorter, with `hasNextPage` and a cursor where the scan stopped.
   */
  async function page(
    filter: Record<string, unknown>,
    first?: InputMaybe<number>,
    after?: InputMaybe<string>,
    history: { keys: readonly string[]; from?: Date; to?: Date } = { keys: [] },
  ) {
    const size = pageSize(first);
    const query: Record<string, unknown> = { ...filter };
    let position: Position | undefined;
    if (typeof after === 'string') {
      const [raisedAt, id] = decodeCursor(after);
      const at = new Date(String(raisedAt));
      if (Number.isNaN(at.getTime()) || typeof id !== 'string') throw userError('BAD_USER_INPUT', '分页游标无效 (invalid cursor)', { field: 'after' });
      position = { at: at.getTime(), id };
      query.$and = [
        ...((filter.$and as unknown[]) ?? []),
        { $or: [{ raisedAt: { $lt: at } }, { raisedAt: at, _id: { $lt: id } }] },
      ];
    }
    const cursorOf = (c: CallDoc) => encodeCursor([c.raisedAt.toISOString(), c._id]);
    const { calls, resumeAt } = await index.findWithHistory({ filter: query, limit: size + 1, ...history, after: position });
    const connection = connectionOf(calls, size, cursorOf, after);
    if (!resumeAt) return connection;
    // The next page starts at the first position not looked at (the cursor excludes only what lies above it).
    const endCursor = encodeCursor([new Date(resumeAt.at).toISOString(), `${resumeAt.id}\uffff`]);
    return { ...connection, pageInfo: { ...connection.pageInfo, hasNextPage: true, endCursor } };
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
    if (input?.updatedFrom) and.push({ updatedAt: { $gte: input.updatedFrom } });
    if (input?.text) {
      const text = input.text.trim();
      if (text.length > 50) throw userError('BAD_USER_INPUT', '搜索词最多 50 字 (text is at most 50 characters)');
      const pattern = escapeRegex(text);
      and.push({ $or: [{ title: { $regex: pattern } }, { description: { $regex: pattern } }] });
    }
    return { $and: and };
  }

  /**
   * The policy's decision on a call action, before any rule of the call's life: a role that never
   * takes it is FORBIDDEN, a call it may not see NOT_FOUND, a call it stands in no allowing relation
   * to FORBIDDEN. A retried request (its idempotency key already applied) gets its first answer.
   */
  async function authorize(field: string, id: string, identity: Identity, key?: string): Promise<void> {
    const action = actionOfField('Mutation', field);
    if (!mayEver(identity, action)) throw userError('FORBIDDEN', `无权执行该操作 (your role may not: ${action})`, { action });
    const call = await visible(id, identity);
    if (key && call.appliedKeys.includes(`${identity.subject}:${key}`)) return;
    requireMay(identity, action, call, directory, `对该事项执行此操作（${action}）`);
  }

  function requireItemsReader(identity: Identity): void {
    if (!allowed(identity, 'items.read', {}, directory)) throw userError('FORBIDDEN', '无权查看呼应事项清单 (not allowed)');
  }

  // An explicit null (a client's null variable) means "not given", as an omitted argument does.
  const act =
    <Args extends ActionArgs>(build: (args: Args) => CallAction) =>
    async (_: unknown, args: Args, ctx: SubgraphContext, info: { fieldName: string }) =>
      keyed(info.fieldName, args, ctx.identity, async () => {
        await authorize(info.fieldName, args.id, ctx.identity, args.idempotencyKey ?? undefined);
        return store.act(args.id, build(args), ctx.identity, {
          key: args.idempotencyKey ?? undefined,
          expectedVersion: args.expectedVersion ?? undefined,
        });
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
      calls: async (_, args, ctx) => {
        const filter = filterOf(args.filter, ctx.identity);
        // A unit filter narrows history to that unit's lists; otherwise the lists of what the identity reads.
        const keys = args.filter?.unitId ? [args.filter.unitId] : visibleHistoryKeys(ctx.identity, directory);
        return page(filter, args.first, args.after, { keys, from: args.filter?.raisedFrom ?? undefined, to: args.filter?.raisedTo ?? undefined });
      },
      inbox: async (_, args, ctx) => {
        // An inbox is a unit's: only an identity that acts for units has one (not an officer or agency account).
        if (!mayEver(ctx.identity, actionOfField('Query', 'inbox')) || !fitsUnit(ctx.identity, directory)) {
          throw userError('FORBIDDEN', '没有待办事项箱：本角色不代表单位办理 (your role has no inbox)');
        }
        const unit = jurisdictionOf(ctx.identity, directory);
        const mine = { $or: [{ handlingUnitId: unit }, { coHandlingUnitIds: unit }] };
        const boxes: Record<InboxBox, Record<string, unknown>> = {
          TO_SIGN: { handlingUnitId: unit, status: 'DISPATCHED' },
          IN_PROGRESS: { ...mine, status: { $in: ['RAISED', 'SIGNED', 'RESPONDED', 'REOPENED'] } },
          OVERDUE: { ...mine, status: { $in: OPEN_STATUSES }, 'overdueSteps.0': { $exists: true } },
          TO_CONFIRM: { callerUnitId: unit, status: 'COMPLETED' },
          TO_REVIEW: { handlingUnitId: unit, 'pendingRequest.kind': 'DISPATCH', status: { $in: OPEN_STATUSES } },
        };
        // Every box holds open calls only: all of them live in memory.
        return page(boxes[args.box], args.first, args.after);
      },
      callCounters: async (_, { scopeUnitId, from, to }, ctx) => {
        const scope = directory.require(scopeUnitId);
        if (!(from < to)) throw userError('BAD_USER_INPUT', '起始时间须早于结束时间 (from must be before to)');
        if (!allowed(ctx.identity, 'call.counters', { unitId: scope.id }, directory)) {
          throw userError('FORBIDDEN', '无权查看该范围的统计 (outside your jurisdiction)');
        }
        return counters(scope.id, from, to);
      },
      callableItems: (_, __, ctx) => {
        requireItemsReader(ctx.identity);
        return items.items.map(itemView);
      },
      callableItemsList: (_, __, ctx) => {
        requireItemsReader(ctx.identity);
        return {
          version: items.version,
          effectiveFrom: items.effectiveFrom,
          classes: items.classes.map((c) => ({ category: c.category, fallbackUnit: unitRef(c.fallbackUnitId) })),
          items: items.items.map(itemView),
        };
      },
      order: (_, { id }, ctx) => orders.find(id, ctx.identity),
      orders: (_, args, ctx) => orders.list(ctx.identity, args.status, args.first, args.after),
    },
    Mutation: {
      raiseCall: (_, args, ctx) => keyed('raiseCall', args, ctx.identity, () => raise(args.input, args.idempotencyKey, ctx.identity)),
      callUp: act((a) => ({ kind: 'call_up', note: a.note ?? undefined })),
      dispatchToDepartment: act((a) => ({ kind: 'request_dispatch', itemCode: a.itemCode ?? undefined, note: a.note ?? undefined })),
      reviewDispatch: act((a) => ({ kind: 'review_dispatch', approve: a.approve, reason: a.reason ?? undefined })),
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
      issueOrder: (_, args, ctx) =>
        keyed('issueOrder', args, ctx.identity, () => orders.issue(args.input, ctx.identity, args.idempotencyKey ?? undefined)),
      signOrder: (_, args, ctx) =>
        keyed('signOrder', args, ctx.identity, () => orders.act(args.id, { kind: 'sign' }, ctx.identity, args.idempotencyKey ?? undefined)),
      reportOrderProgress: (_, args, ctx) =>
        keyed('reportOrderProgress', args, ctx.identity, () =>
          orders.act(args.id, { kind: 'report', progress: args.progress, note: args.note }, ctx.identity, args.idempotencyKey ?? undefined),
        ),
      completeOrder: (_, args, ctx) =>
        keyed('completeOrder', args, ctx.identity, () =>
          orders.act(args.id, { kind: 'complete', note: args.note }, ctx.identity, args.idempotencyKey ?? undefined),
        ),
    },
    CallCounters: {
      // Overdue now: open calls only, all in memory.
      overdueNow: (counted) => index.count({ visibleTo: counted.scope.id, status: { $in: OPEN_STATUSES }, 'overdueSteps.0': { $exists: true } }),
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
              itemCode: call.pendingRequest.itemCode ?? null,
              toUnit: optionalUnitRef(call.pendingRequest.unitId),
            }
          : null,
      mergedInto: (call, _, ctx) => (call.mergedInto ? visible(call.mergedInto, ctx.identity).catch(() => null) : null),
      mergedCalls: async (call, _, ctx) => {
        const merged = await Promise.all(call.mergedCallIds.map((id) => visible(id, ctx.identity).catch(() => null)));
        return merged.filter((found) => found !== null);
      },
      possibleDuplicates: (call, _, ctx) => duplicates.candidatesFor(call, ctx.identity),
      // Audit (#18): whoever may read the call may read whether its record verifies.
      integrity: async (call, _, ctx) => {
        requireMay(ctx.identity, actionOfField('Call', 'integrity'), call, directory, '核验记录');
        const stored = call.timeline ? call : await store.get(call._id);
        const verdict = verifyTimeline(stored ?? { ...call, timeline: [] });
        return {
          status: verdict.status,
          entries: verdict.entries,
          brokenAt: verdict.status === 'BROKEN' ? verdict.break.position : null,
          reason: verdict.status === 'BROKEN' ? verdict.break.reason : null,
          head: verdict.status === 'INTACT' ? verdict.head : null,
        };
      },
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
              prevHash: entry.prevHash ?? null,
              hash: entry.hash ?? null,
            },
          })),
          pageInfo: connection.pageInfo,
          totalCount: full.length,
        };
      },
    },
    Order: orders.resolvers,
  };

  async function raise(input: RaiseCallInput, idempotencyKey: InputMaybe<string> | undefined, identity: Identity) {
    if (!mayEver(identity, 'call.raise')) throw userError('FORBIDDEN', '本角色不能上报事项 (your role does not raise calls)');
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
  }

  /** The unit a call is raised at (explicit, or the caller's own area unit, or routed by place), if the policy lets the identity raise there. */
  function originFor(identity: Identity, unitId: string | undefined, location?: { lng: number; lat: number }): string {
    const origin = unitId ? directory.require(unitId).id : defaultOrigin(identity, location);
    if (!allowed(identity, 'call.raise', { unitId: origin }, directory)) {
      throw userError('FORBIDDEN', '不能代其他单位上报 (you may not raise calls for that unit)', { unitId: origin });
    }
    return origin;
  }

  function defaultOrigin(identity: Identity, location?: { lng: number; lat: number }): string {
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
    const counted = await index.countRange(scopeId, from, to, (unitId) => directory.tierOf(unitId));
    const { raised, completed, calledUp, rated, satisfied, byTier } = counted;
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
    };
  }
}

/** The call id for a person's idempotency key: the same key from the same person, the same call. */
function stableKeyId(identity: Identity, key: string): string {
  return stableCallId(`key:${identity.subject}:${key}`);
}
