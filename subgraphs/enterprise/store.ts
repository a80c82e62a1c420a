// The enterprise zone's state: every collection held in memory (live.ts) with its search indexes,
// and every change written to its own document by `_id`, conditional on the version it was decided
// from. A demand and the intake command that makes (or rates, or revokes) its call are one write:
// the command waits in the demand's own outbox until published to hub.intake (platform/outbox.ts).
import { createHash, randomUUID } from 'node:crypto';
import type { Model } from 'mongoose';
import type { Identity } from '../../platform/auth.ts';
import { userError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { OutboxEvent } from '../../platform/outbox.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import { sourceCallId } from '../calls/intake.ts';
import { requireActsFor, requireAdmin, requireEditor, requireWriter, SCOPES } from './access.ts';
import { ApartmentIndex } from './domain/apartment-index.ts';
import { CALL_ROUTE, demandStatusFor, hasRealCall, OPEN_DEMAND, satisfactionOf } from './domain/rules.ts';
import { TextIndex } from './domain/text-search.ts';
import * as check from './input.ts';
import { LiveCollection, type LiveDoc } from './live.ts';
import type {
  ActorRef,
  ApartmentDoc,
  CallViewDoc,
  ContactDoc,
  DemandDoc,
  DemandKind,
  EnterpriseDoc,
  EnterpriseModels,
  GeoPoint,
  OfficerDoc,
  PolicyDoc,
} from './model.ts';
import type { CallEvent } from '../../platform/call-event.ts';
import type {
  ApartmentInput,
  PolicyInput,
  RaiseDemandInput,
  RegisterEnterpriseInput,
  RegisterServiceOfficerInput,
  UpdateEnterpriseInput,
} from './generated/graphql.ts';

const RETRIES = 5;
/** The intake contract's limits (schemas/events/intake-command.schema.json). */
const TITLE_MAX = 100;
const DESCRIPTION_MAX = 4000;

type Change<T> = { set: Partial<T>; event?: { type: string; command: Record<string, unknown> } };

const actorOf = (identity: Identity): ActorRef => ({ subject: identity.subject, unitId: identity.unitId, role: identity.role });

/** The id a (person, idempotency key) always maps to, or a new one. */
function newId(prefix: string, seed?: string): string {
  return `${prefix}${createHash('sha256')
    .update(seed ?? randomUUID())
    .digest('hex')
    .slice(0, 16)
    .toUpperCase()}`;
}

/** The intake command that makes a demand's call at the enterprise's street (hub.intake). */
export function createCallCommand(
  demandId: string,
  enterprise: EnterpriseDoc,
  demand: { kind: DemandKind; title: string; description: string; priority: 'NORMAL' | 'URGENT'; contact?: ContactDoc },
  now: Date,
) {
  const route = CALL_ROUTE[demand.kind];
  const { contact } = demand;
  return {
    commandId: randomUUID(),
    source: 'enterprise',
    externalId: demandId,
    kind: 'create_call',
    occurredAt: now.toISOString(),
    call: {
      title: demand.title,
      description: `【企业诉求】${enterprise.name}（${enterprise._id}）：${demand.description}`,
      category: route.category,
      ...(route.itemCode && { itemCode: route.itemCode }),
      priority: demand.priority,
      // The street judges first (街道吹哨): it handles the call or calls the department.
      unitId: enterprise.streetId,
      location: enterprise.location,
      address: enterprise.address,
      ...(contact && { citizen: { name: contact.name, ...(contact.phone && { phone: contact.phone }) } }),
      receivedAt: now.toISOString(),
      // The officer may read the call itself, not only the demand's view of it.
      ...(enterprise.officerId && { followers: [enterprise.officerId] }),
    },
  };
}

const notFound = (what: string, id: string) => userError('NOT_FOUND', `${what}不存在：${id} (not found)`, { id });

export class EnterpriseZone {
  readonly enterprises: LiveCollection<EnterpriseDoc>;
  readonly officers: LiveCollection<OfficerDoc>;
  readonly demands: LiveCollection<DemandDoc>;
  readonly apartments: LiveCollection<ApartmentDoc>;
  readonly policies: LiveCollection<PolicyDoc>;
  readonly apartmentIndex = new ApartmentIndex<ApartmentDoc>();
  readonly policyIndex = new TextIndex();
  /** Call id → demand id. */
  private readonly demandOfCall = new Map<string, string>();

  constructor(
    private readonly models: EnterpriseModels,
    readonly directory: UnitDirectory,
    private readonly options: {
      logger: Logger;
      /** Told about every demand whose outbox has a new command (the publisher sends it at once). */
      onOutbox?: (demandId: string) => void;
      now?: () => Date;
    },
  ) {
    const { Counter, ChangeLog } = models;
    this.enterprises = new LiveCollection('enterprises', models.Enterprise, Counter, ChangeLog);
    this.officers = new LiveCollection('officers', models.Officer, Counter, ChangeLog);
    this.demands = new LiveCollection('demands', models.Demand, Counter, ChangeLog, { outbox: 0 });
    this.apartments = new LiveCollection('apartments', models.Apartment, Counter, ChangeLog);
    this.policies = new LiveCollection('policies', models.Policy, Counter, ChangeLog);
    this.apartments.onChange((doc) => this.apartmentIndex.upsert(doc));
    this.policies.onChange((doc) =>
      this.policyIndex.put(doc._id, [
        { text: doc.title, weight: 3 },
        { text: doc.tags.join(' '), weight: 2 },
        { text: `${doc.summary} ${doc.issuer}`, weight: 1.5 },
        { text: doc.text, weight: 1 },
      ]),
    );
    this.demands.onChange((doc) => this.demandOfCall.set(doc.callId, doc._id));
  }

  now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private get all() {
    return [this.enterprises, this.officers, this.demands, this.apartments, this.policies];
  }

  async load(): Promise<void> {
    for (const live of this.all) await live.load();
  }

  startPolling(intervalMs: number): void {
    for (const live of this.all) live.startPolling(intervalMs, this.options.logger);
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((live) => live.stop()));
  }

  // ---- reads ------------------------------------------------------------------------------------

  /** The enterprise for a credit code: BAD_USER_INPUT for an invalid code, NOT_FOUND for an unknown one. */
  enterprise(id: string, field = 'id'): EnterpriseDoc {
    const code = check.creditCode(id, field);
    const found = this.enterprises.get(code);
    if (!found) throw userError('NOT_FOUND', `企业不存在：统一社会信用代码 ${code} 未登记 (unknown enterprise)`, { id: code });
    return found;
  }

  officer(id: string): OfficerDoc {
    const found = this.officers.get(id);
    if (!found) throw notFound('首席服务官', id);
    return found;
  }

  demandForCall(callId: string): DemandDoc | undefined {
    const id = this.demandOfCall.get(callId);
    return id === undefined ? undefined : this.demands.get(id);
  }

  // ---- writes -----------------------------------------------------------------------------------

  /** Stores a new document; CONFLICT when its id exists. */
  private async insert<T extends LiveDoc>(live: LiveCollection<T>, model: Model<T>, doc: T): Promise<T> {
    doc.seq = await live.reserve([doc._id]);
    try {
      await model.create(doc);
    } catch (err) {
      if ((err as { code?: number }).code === 11000) {
        throw userError('CONFLICT', `已存在：${doc._id} (already exists)`, { id: doc._id });
      }
      throw err;
    }
    live.apply(doc);
    return doc;
  }

  /** Stores many new documents in bulk (demo data, imports, the bench). */
  async insertMany<T extends LiveDoc>(live: LiveCollection<T>, model: Model<T>, docs: T[], chunk = 1000): Promise<void> {
    for (let i = 0; i < docs.length; i += chunk) {
      const part = docs.slice(i, i + chunk);
      const first = await live.reserve(part.map((doc) => doc._id));
      part.forEach((doc, j) => {
        doc.seq = first + j;
      });
      await model.insertMany(part, { ordered: false });
      for (const doc of part) live.apply(doc);
    }
  }

  /**
   * Changes one document: decided on this copy's memory first and written only if nobody changed
   * it since (version); a lost race is decided again on the stored document.
   */
  private async update<T extends LiveDoc & { version: number; updatedAt: Date }>(
    live: LiveCollection<T>,
    model: Model<T>,
    id: string,
    decide: (doc: T) => Change<T> | undefined,
    what: string,
  ): Promise<T> {
    const stored = async () => {
      const doc = (await model.findById(id, { outbox: 0 }).lean<T>()) ?? undefined;
      if (doc) live.apply(doc);
      return doc;
    };
    // Memory first; another copy's change may not have reached it yet, so what memory refuses (or
    // lacks) is decided again on the stored document before the refusal stands.
    let current = live.get(id);
    let fresh = false;
    if (!current) [current, fresh] = [await stored(), true];
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      if (!current) throw notFound(what, id);
      let change: Change<T> | undefined;
      try {
        change = decide(current);
      } catch (err) {
        if (fresh) throw err;
        [current, fresh] = [await stored(), true];
        continue;
      }
      if (!change) return current;
      const now = this.now();
      const version = current.version + 1;
      const seq = await live.reserve([id]);
      const $set: Record<string, unknown> = { ...change.set, version, seq, updatedAt: now };
      const update: Record<string, unknown> = { $set };
      if (change.event) {
        const event: OutboxEvent = {
          eventId: randomUUID(),
          type: change.event.type,
          sequence: version,
          occurredAt: now,
          data: { ...change.event.command, occurredAt: now.toISOString() },
        };
        event.data.commandId = event.eventId;
        update.$push = { outbox: event };
        $set.outboxPending = true;
      }
      const result = await model.updateOne({ _id: id, version: current.version } as never, update);
      if (result.modifiedCount === 1) {
        const next = { ...current, ...change.set, version, seq, updatedAt: now } as T;
        live.apply(next);
        if (change.event) this.options.onOutbox?.(id);
        return next;
      }
      [current, fresh] = [await stored(), true];
    }
    throw userError('CONFLICT', `${what}正被他人同时修改，请刷新后重试 (changed concurrently)`, { id });
  }

  /** Where a point lies: its grid and street in the unit directory, or BAD_USER_INPUT. */
  private place(location: GeoPoint, streetId: string | null | undefined): { streetId: string; gridId?: string } {
    const grid = this.directory.gridAt(location);
    const street = grid ? this.directory.streetOf(grid.id) : undefined;
    if (!street) {
      throw userError('BAD_USER_INPUT', `位置 ${location.lng}, ${location.lat} 不在本区任何网格内 (location outside the district)`, {
        field: 'location',
      });
    }
    if (streetId && streetId !== street.id) {
      check.street(streetId, this.directory);
      throw userError('BAD_USER_INPUT', `位置在${street.name}，与所填街道 ${streetId} 不符 (location is in another street)`, {
        field: 'streetId',
      });
    }
    return { streetId: street.id, gridId: grid?.id };
  }

  async registerEnterprise(input: RegisterEnterpriseInput, identity: Identity): Promise<EnterpriseDoc> {
    const code = check.creditCode(input.creditCode);
    const location = check.point(input.location, 'location');
    const place = this.place(location, input.streetId);
    requireEditor(identity, place, this.directory);
    if (this.enterprises.get(code)) {
      throw userError('CONFLICT', `统一社会信用代码 ${code} 已登记为「${this.enterprises.get(code)?.name}」 (already registered)`, { id: code });
    }
    const now = this.now();
    return this.insert(this.enterprises, this.models.Enterprise, {
      _id: code,
      name: check.text(input.name, 'name', '企业名称', 100),
      industry: input.industry,
      size: input.size,
      address: check.text(input.address, 'address', '地址', 200),
      location,
      ...place,
      ...(input.park?.trim() && { park: check.text(input.park, 'park', '园区', 100) }),
      contacts: check.contacts(input.contacts),
      servicePeriods: [],
      registeredAt: now,
      updatedAt: now,
      version: 1,
      seq: 0,
    });
  }

  async updateEnterprise(id: string, input: UpdateEnterpriseInput, identity: Identity, expectedVersion?: number): Promise<EnterpriseDoc> {
    const enterprise = this.enterprise(id);
    requireEditor(identity, enterprise, this.directory);
    const set: Partial<EnterpriseDoc> = {};
    if (input.name != null) set.name = check.text(input.name, 'name', '企业名称', 100);
    if (input.industry != null) set.industry = input.industry;
    if (input.size != null) set.size = input.size;
    if (input.address != null) set.address = check.text(input.address, 'address', '地址', 200);
    if (input.park != null) set.park = check.text(input.park, 'park', '园区', 100);
    if (input.contacts != null) set.contacts = check.contacts(input.contacts);
    if (input.location != null) {
      set.location = check.point(input.location, 'location');
      Object.assign(set, this.place(set.location, undefined));
      // Moving to another street needs that street's (or the district's) say as well.
      requireEditor(identity, { ...enterprise, ...set }, this.directory);
    }
    return this.update(
      this.enterprises,
      this.models.Enterprise,
      enterprise._id,
      (doc) => {
        if (expectedVersion !== undefined && doc.version !== expectedVersion) {
          throw userError('CONFLICT', `企业信息已被更新（当前版本 ${doc.version}），请刷新后重试 (changed)`, { version: doc.version });
        }
        return { set };
      },
      '企业',
    );
  }

  async registerOfficer(input: RegisterServiceOfficerInput, identity: Identity): Promise<OfficerDoc> {
    requireAdmin(identity, '登记首席服务官', this.directory);
    const now = this.now();
    const phone = check.optionalText(input.phone, 'phone', '电话', 30);
    return this.insert(this.officers, this.models.Officer, {
      _id: check.text(input.id, 'id', '服务官标识', 100),
      name: check.text(input.name, 'name', '姓名', 50),
      ...(phone && { phone }),
      unitId: check.unit(input.unitId, this.directory),
      ...(input.title?.trim() && { title: check.text(input.title, 'title', '职务', 50) }),
      updatedAt: now,
      version: 1,
      seq: 0,
    });
  }

  /** (Re)assigns an enterprise's officer: the current period ends, a new one begins (history kept). */
  async assignOfficer(enterpriseId: string, officerId: string, reason: string | null | undefined, identity: Identity) {
    requireAdmin(identity, '指派首席服务官', this.directory);
    const enterprise = this.enterprise(enterpriseId, 'enterpriseId');
    const officer = this.officer(officerId);
    const note = check.optionalText(reason, 'reason', '原因', 500);
    const assigned = await this.update(
      this.enterprises,
      this.models.Enterprise,
      enterprise._id,
      (doc) => {
        if (doc.officerId === officer._id) return undefined;
        const now = this.now();
        const periods = doc.servicePeriods.map((p) => (p.to ? p : { ...p, to: now }));
        periods.push({ officerId: officer._id, from: now, assignedBy: actorOf(identity), ...(note && { reason: note }) });
        return { set: { officerId: officer._id, servicePeriods: periods } };
      },
      '企业',
    );
    // The new officer follows the enterprise's calls, closed ones too. Also when the enterprise was
    // already assigned (a retry after a failure part-way): each demand tells the calls subgraph once.
    const demands = [...this.demands.values()].filter((d) => d.enterpriseId === enterprise._id && hasRealCall(d));
    for (const demand of demands) await this.followDemandCall(demand._id, officer._id);
    return assigned;
  }

  /**
   * Demands raised before calls had followers (`followers` unset): their officer, and the enterprise's
   * officer now, are told to the calls subgraph once. Runs at start; copies starting together agree
   * through the demand's version. Returns how many demands it brought up to date.
   */
  async followEarlierDemands(): Promise<number> {
    const earlier = [...this.demands.values()].filter((d) => d.followers === undefined && hasRealCall(d));
    for (const demand of earlier) {
      const officers = new Set([demand.officerId, this.enterprises.get(demand.enterpriseId)?.officerId]);
      for (const officerId of officers) if (officerId) await this.followDemandCall(demand._id, officerId);
    }
    return earlier.length;
  }

  /** Makes an officer a follower of a demand's call (an update_call `follow` on hub.intake), once. */
  private followDemandCall(demandId: string, officerId: string): Promise<DemandDoc> {
    const name = this.officers.get(officerId)?.name ?? officerId;
    return this.update(
      this.demands,
      this.models.Demand,
      demandId,
      (demand) => {
        const followers = demand.followers ?? [];
        if (followers.includes(officerId)) return undefined;
        return {
          set: { followers: [...followers, officerId] },
          event: {
            type: 'intake.update_call',
            command: {
              source: 'enterprise',
              externalId: demandId,
              kind: 'update_call',
              update: { action: 'follow', follower: officerId, note: `首席服务官：${name}` },
            },
          },
        };
      },
      '诉求',
    );
  }

  // ---- demands ----------------------------------------------------------------------------------

  async raiseDemand(input: RaiseDemandInput, identity: Identity, idempotencyKey?: string | null): Promise<DemandDoc> {
    const key = check.optionalText(idempotencyKey, 'idempotencyKey', '幂等键', 200);
    const id = newId('D', key && `${identity.subject}:${key}`);
    const existing = this.demands.get(id) ?? (key ? await this.models.Demand.findById(id, { outbox: 0 }).lean<DemandDoc>() : null);
    if (existing) return existing;

    const enterprise = this.enterprise(input.enterpriseId, 'enterpriseId');
    requireActsFor(identity, enterprise, this.directory);
    const title = check.text(input.title, 'title', '诉求标题', TITLE_MAX);
    const description = check.text(input.description, 'description', '诉求内容', DESCRIPTION_MAX);
    const contact = input.contact ? check.contact(input.contact, 'contact') : undefined;
    const priority = input.priority ?? 'NORMAL';
    const now = this.now();
    const command = createCallCommand(id, enterprise, { kind: input.kind, title, description, priority, contact }, now);
    const event: OutboxEvent = { eventId: command.commandId, type: 'intake.create_call', sequence: 1, occurredAt: now, data: command };
    const doc: DemandDoc = {
      _id: id,
      enterpriseId: enterprise._id,
      ...(enterprise.officerId && { officerId: enterprise.officerId }),
      // As its create_call names them.
      followers: enterprise.officerId ? [enterprise.officerId] : [],
      streetId: enterprise.streetId,
      kind: input.kind,
      title,
      description,
      priority,
      ...(contact && { contact }),
      status: 'SUBMITTED',
      callId: sourceCallId('enterprise', id),
      raisedBy: actorOf(identity),
      raisedAt: now,
      updatedAt: now,
      appliedKeys: [],
      version: 1,
      seq: 0,
      outbox: [event],
      outboxPending: true,
      publishedSeq: 0,
      outboxLease: 0,
    };
    try {
      await this.insert(this.demands, this.models.Demand, doc);
    } catch (err) {
      // The same key raced in from another request: return the one that won.
      const won = key ? await this.models.Demand.findById(id, { outbox: 0 }).lean<DemandDoc>() : null;
      if (won) return won;
      throw err;
    }
    this.options.onOutbox?.(id);
    const { outbox: _outbox, ...stored } = doc;
    return { ...stored, outbox: [] };
  }

  /** A demand the identity may act on: NOT_FOUND when unknown, FORBIDDEN when not theirs. */
  private async demandFor(id: string, identity: Identity): Promise<{ demand: DemandDoc; enterprise: EnterpriseDoc }> {
    let demand = this.demands.get(id);
    if (!demand) {
      // Raised a moment ago through another copy?
      demand = (await this.models.Demand.findById(id, { outbox: 0 }).lean<DemandDoc>()) ?? undefined;
      if (demand) this.demands.apply(demand);
    }
    if (!demand) throw notFound('诉求', id);
    const enterprise = this.enterprise(demand.enterpriseId);
    requireActsFor(identity, enterprise, this.directory);
    return { demand, enterprise };
  }

  async rateDemand(id: string, stars: number, comment: string | null | undefined, identity: Identity): Promise<DemandDoc> {
    await this.demandFor(id, identity);
    if (!Number.isInteger(stars) || stars < 1 || stars > 5) {
      throw userError('BAD_USER_INPUT', `评价须为 1 至 5 星：${stars} (stars must be 1 to 5)`, { field: 'stars' });
    }
    const note = check.optionalText(comment, 'comment', '评价意见', 1000);
    return this.update(
      this.demands,
      this.models.Demand,
      id,
      (demand) => {
        if (demand.rating) throw userError('CONFLICT', '该诉求已评价 (already rated)', { id });
        if (demand.status !== 'RESOLVED' && demand.status !== 'CLOSED') {
          throw userError('CONFLICT', `诉求尚未办结（${demand.status}），不能评价 (not resolved yet)`, { id, status: demand.status });
        }
        const now = this.now();
        return {
          set: { rating: { stars, ...(note && { comment: note }), ratedAt: now, ratedBy: actorOf(identity) } },
          event: {
            type: 'intake.rate_call',
            command: {
              source: 'enterprise',
              externalId: id,
              kind: 'rate_call',
              rating: { satisfaction: satisfactionOf(stars), contacted: true, ...(note && { comment: note }) },
            },
          },
        };
      },
      '诉求',
    );
  }

  async withdrawDemand(id: string, reason: string, identity: Identity): Promise<DemandDoc> {
    await this.demandFor(id, identity);
    const why = check.text(reason, 'reason', '撤回原因', 500);
    return this.update(
      this.demands,
      this.models.Demand,
      id,
      (demand) => {
        if (!OPEN_DEMAND.has(demand.status)) {
          throw userError('CONFLICT', `诉求已${demand.status === 'WITHDRAWN' ? '撤回' : '办结'}，不能撤回 (not open)`, { id, status: demand.status });
        }
        return {
          set: { status: 'WITHDRAWN', withdrawReason: why },
          event: { type: 'intake.revoke_call', command: { source: 'enterprise', externalId: id, kind: 'revoke_call', reason: `企业撤回：${why}` } },
        };
      },
      '诉求',
    );
  }

  /** Follows a call event onto its demand; older or repeated events, and others' calls, change nothing. */
  async applyCallEvent(event: CallEvent): Promise<DemandDoc | undefined> {
    const ref = event.call.sourceRef;
    if (ref?.system !== 'enterprise') return undefined;
    const known = this.demands.get(ref.externalId) ?? (await this.models.Demand.findById(ref.externalId, { outbox: 0 }).lean<DemandDoc>());
    if (!known) {
      this.options.logger.warn({ callId: event.callId, demandId: ref.externalId }, 'call event for an unknown demand ignored');
      return undefined;
    }
    this.demands.apply(known);
    const date = (s: string | null | undefined) => (s ? new Date(s) : undefined);
    return this.update(
      this.demands,
      this.models.Demand,
      known._id,
      (demand) => {
        if (demand.call && demand.call.sequence >= event.sequence) return undefined;
        const c = event.call;
        const view: CallViewDoc = {
          status: c.status,
          tier: c.tier,
          handlingUnitId: c.handlingUnitId,
          overdueSteps: c.overdueSteps ?? [],
          sequence: event.sequence,
          updatedAt: new Date(event.occurredAt),
        };
        const optional = {
          completeBy: date(c.deadlines.complete),
          respondedAt: date(c.respondedAt),
          completedAt: date(c.completedAt),
          closedAt: date(c.closedAt),
          result: c.result ?? undefined,
        };
        for (const [k, v] of Object.entries(optional)) if (v !== undefined) (view as unknown as Record<string, unknown>)[k] = v;
        // A demand withdrawn here stays withdrawn while its revoke is on the way.
        const status = demand.status === 'WITHDRAWN' && c.status !== 'CLOSED' ? 'WITHDRAWN' : demandStatusFor(c.status);
        // A refused command re-driven after a fix (npm run connectors:redrive) made the call after all.
        return { set: { call: view, status, ...(demand.rejection && { rejection: null }) } };
      },
      '诉求',
    );
  }

  /** The calls subgraph refused the demand's call (hub.intake.dlq): the demand says why. */
  async rejectDemand(demandId: string, reason: string): Promise<DemandDoc | undefined> {
    if (!this.demands.get(demandId)) return undefined;
    return this.update(
      this.demands,
      this.models.Demand,
      demandId,
      (demand) => (demand.status === 'SUBMITTED' ? { set: { status: 'REJECTED' as const, rejection: reason } } : undefined),
      '诉求',
    );
  }

  // ---- apartments and policies ------------------------------------------------------------------

  async putApartment(input: ApartmentInput, identity: Identity): Promise<ApartmentDoc> {
    requireWriter(identity, SCOPES.apartments, '人才公寓房源', this.directory);
    const location = check.point(input.location, 'location');
    const { streetId } = this.place(location, undefined);
    const street = this.directory.require(streetId);
    const fields = {
      project: check.text(input.project, 'project', '项目名称', 100),
      unitNo: check.text(input.unitNo, 'unitNo', '房号', 50),
      districtId: street.parentId ?? street.id,
      streetId,
      address: check.text(input.address, 'address', '地址', 200),
      location,
      rooms: check.number(input.rooms, 'rooms', '房间数', 0, 10) as number,
      areaSqm: check.number(input.areaSqm, 'areaSqm', '面积', 5, 1000) as number,
      monthlyRent: check.number(input.monthlyRent, 'monthlyRent', '月租金', 0, 1_000_000) as number,
      available: input.available,
      provider: check.text(input.provider, 'provider', '房源提供方', 100),
      ...(input.availableFrom && { availableFrom: input.availableFrom }),
    };
    if (!Number.isInteger(fields.rooms)) throw userError('BAD_USER_INPUT', '房间数须为整数 (rooms must be whole)', { field: 'rooms' });
    const now = this.now();
    if (input.id && this.apartments.get(input.id)) {
      return this.update(this.apartments, this.models.Apartment, input.id, () => ({ set: fields }), '房源');
    }
    return this.insert(this.apartments, this.models.Apartment, {
      _id: input.id ? check.text(input.id, 'id', '房源编号', 100) : newId('A'),
      ...fields,
      updatedAt: now,
      version: 1,
      seq: 0,
    });
  }

  async setAvailability(id: string, available: boolean, availableFrom: Date | null | undefined, identity: Identity) {
    requireWriter(identity, SCOPES.apartments, '人才公寓房源', this.directory);
    return this.update(
      this.apartments,
      this.models.Apartment,
      id,
      (doc) => {
        const set: Partial<ApartmentDoc> = { available };
        if (availableFrom) set.availableFrom = availableFrom;
        return doc.available === available && (!availableFrom || doc.availableFrom?.getTime() === availableFrom.getTime()) ? undefined : { set };
      },
      '房源',
    );
  }

  async putPolicy(input: PolicyInput, identity: Identity): Promise<PolicyDoc> {
    requireWriter(identity, SCOPES.policies, '政策', this.directory);
    if (input.effectiveTo && input.effectiveTo <= input.effectiveFrom) {
      throw userError('BAD_USER_INPUT', '失效日期须晚于生效日期 (effectiveTo must be after effectiveFrom)', { field: 'effectiveTo' });
    }
    const tags = (input.tags ?? []).map((t, i) => check.text(t, `tags[${i}]`, '标签', 20));
    if (tags.length > 20) throw userError('BAD_USER_INPUT', '标签最多 20 个 (at most 20 tags)', { field: 'tags' });
    const fields = {
      title: check.text(input.title, 'title', '政策标题', 200),
      issuer: check.text(input.issuer, 'issuer', '发文机关', 100),
      ...(input.docNumber?.trim() && { docNumber: check.text(input.docNumber, 'docNumber', '文号', 50) }),
      effectiveFrom: input.effectiveFrom,
      ...(input.effectiveTo && { effectiveTo: input.effectiveTo }),
      tags,
      industries: input.industries ?? [],
      sizes: input.sizes ?? [],
      streetIds: (input.streetIds ?? []).map((s, i) => check.street(s, this.directory, `streetIds[${i}]`)),
      summary: check.text(input.summary, 'summary', '摘要', 1000),
      text: check.text(input.text, 'text', '政策全文', 50_000),
    };
    if (input.id && this.policies.get(input.id)) {
      return this.update(this.policies, this.models.Policy, input.id, () => ({ set: fields }), '政策');
    }
    const now = this.now();
    return this.insert(this.policies, this.models.Policy, {
      _id: input.id ? check.text(input.id, 'id', '政策编号', 100) : newId('P'),
      ...fields,
      updatedAt: now,
      version: 1,
      seq: 0,
    });
  }
}
