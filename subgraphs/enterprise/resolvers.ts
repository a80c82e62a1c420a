// GraphQL resolvers of the enterprise zone: every read from memory (store.ts), every list a Relay
// connection, every change through EnterpriseZone (rules, access, versions, outbox).
import type { Identity } from '../../platform/auth.ts';
import { userError } from '../../platform/errors.ts';
import { encodeCursor, pageSize } from '../../platform/pagination.ts';
import { maskName, maskPhone } from '../../platform/personal-data.ts';
import { DateTime } from '../../platform/scalars.ts';
import type { SubgraphContext } from '../../platform/subgraph.ts';
import { canSeeContacts, canSeeDemand, placeOf } from './access.ts';
import { keyOfCursor, pageOf } from './connections.ts';
import { APARTMENT_SORTS, type ApartmentFilter, type ApartmentSort, type Near } from './domain/apartment-index.ts';
import { checkCreditCode } from './domain/credit-code.ts';
import { answeredOnTime, eligibility, figuresOf, inForce, OPEN_DEMAND, overdueNow } from './domain/rules.ts';
import * as check from './input.ts';
import type { ApartmentDoc, ContactDoc, DemandDoc, EnterpriseDoc, OfficerDoc, PolicyDoc } from './model.ts';
import type { ApartmentInput, EnterpriseZone, PolicyInput, RaiseDemand, RegisterEnterprise, UpdateEnterprise } from './store.ts';

type Args = Record<string, unknown>;
type Ctx = SubgraphContext;

const unitRef = (id: string | undefined | null) => (id ? { __typename: 'Unit', id } : null);
const time = (d: Date | undefined) => (d ? new Date(d).getTime() : 0);

function showContact(contact: ContactDoc, visible: boolean) {
  return {
    name: visible ? contact.name : maskName(contact.name),
    title: contact.title ?? null,
    phone: contact.phone ? (visible ? contact.phone : maskPhone(contact.phone)) : null,
    masked: !visible,
  };
}

/** Demands raised in [from, to), when given. */
function inPeriod(from: Date | undefined, to: Date | undefined) {
  if (from && to && !(from < to)) throw userError('BAD_USER_INPUT', '起始时间须早于结束时间 (from must be before to)', { field: 'from' });
  return (d: DemandDoc) => (!from || d.raisedAt >= from) && (!to || d.raisedAt < to);
}

export function createResolvers(zone: EnterpriseZone) {
  const { directory } = zone;

  const visibleDemand = (demand: DemandDoc | undefined, identity: Identity) =>
    demand && canSeeDemand(identity, demand, zone.enterprises.get(demand.enterpriseId), directory) ? demand : null;

  const within = (enterprise: EnterpriseDoc, unitId: string) => directory.isWithin(placeOf(enterprise), unitId);

  const enterprisesPage = (list: EnterpriseDoc[], args: Args) => pageOf(list, (e) => [e.name, e._id], args, 'ent');

  const newestFirst = (d: DemandDoc) => [-time(d.raisedAt), d._id];

  function demandsPage(identity: Identity, keep: (d: DemandDoc) => boolean, args: Args) {
    const list = [...zone.demands.values()].filter((d) => keep(d) && visibleDemand(d, identity));
    return pageOf(list, newestFirst, args, 'dem');
  }

  function figures(keep: (d: DemandDoc) => boolean, args: Args) {
    const period = inPeriod(args.from as Date | undefined, args.to as Date | undefined);
    return figuresOf(
      [...zone.demands.values()].filter((d) => keep(d) && period(d)),
      zone.now(),
    );
  }

  function demandsWithin(unitId: string) {
    return (d: DemandDoc) => {
      const enterprise = zone.enterprises.get(d.enterpriseId);
      return enterprise !== undefined && within(enterprise, unitId);
    };
  }

  // ---- apartments --------------------------------------------------------------------------------

  function apartmentFilter(input: ApartmentFilter | undefined): ApartmentFilter {
    const f = input ?? {};
    const n = (v: number | undefined, field: string, label: string, max: number) => check.number(v, `filter.${field}`, label, 0, max);
    const filter: ApartmentFilter = {
      minRooms: n(f.minRooms, 'minRooms', '最少房间数', 10),
      maxRooms: n(f.maxRooms, 'maxRooms', '最多房间数', 10),
      minArea: n(f.minArea, 'minArea', '最小面积', 1000),
      maxArea: n(f.maxArea, 'maxArea', '最大面积', 1000),
      minRent: n(f.minRent, 'minRent', '最低月租', 1_000_000),
      maxRent: n(f.maxRent, 'maxRent', '最高月租', 1_000_000),
      availableOnly: f.availableOnly ?? undefined,
      availableBy: f.availableBy ?? undefined,
      provider: f.provider ?? undefined,
    };
    check.range(filter.minRooms, filter.maxRooms, 'filter.minRooms', '房间数');
    check.range(filter.minArea, filter.maxArea, 'filter.minArea', '面积');
    check.range(filter.minRent, filter.maxRent, 'filter.minRent', '月租金');
    if (f.streetIds?.length) {
      if (f.streetIds.length > 20) throw userError('BAD_USER_INPUT', '街道最多 20 个 (at most 20 streets)', { field: 'filter.streetIds' });
      filter.streetIds = f.streetIds.map((s, i) => check.street(s, directory, `filter.streetIds[${i}]`));
    }
    if (f.districtId) {
      if (directory.get(f.districtId)?.kind !== 'district') {
        throw userError('BAD_USER_INPUT', `区不存在：${f.districtId} (unknown district)`, { field: 'filter.districtId' });
      }
      filter.districtId = f.districtId;
    }
    return filter;
  }

  function nearOf(input: Args | undefined): Near | undefined {
    if (!input) return undefined;
    const { point, enterpriseId, withinMeters } = input as { point?: { lng: number; lat: number }; enterpriseId?: string; withinMeters?: number };
    if (Boolean(point) === Boolean(enterpriseId)) {
      throw userError('BAD_USER_INPUT', 'near 须给出 point 或 enterpriseId 之一 (give exactly one of point and enterpriseId)', { field: 'near' });
    }
    const at = point ? check.point(point, 'near.point') : zone.enterprise(enterpriseId as string, 'near.enterpriseId').location;
    const radius = check.number(withinMeters, 'near.withinMeters', '搜索半径（米）', 1, 50_000);
    return { lng: at.lng, lat: at.lat, ...(radius !== undefined && { withinMeters: radius }) };
  }

  function searchApartments(args: Args) {
    const filter = apartmentFilter(args.filter as ApartmentFilter | undefined);
    const near = nearOf(args.near as Args | undefined);
    const sort = (args.sort ?? (near ? 'DISTANCE' : 'RENT_ASC')) as ApartmentSort;
    if (!APARTMENT_SORTS.includes(sort)) throw userError('BAD_USER_INPUT', `排序方式无效：${sort}`, { field: 'sort' });
    if (sort === 'DISTANCE' && !near) {
      throw userError('BAD_USER_INPUT', '按距离排序须给出 near（位置或企业） (DISTANCE needs near)', { field: 'sort' });
    }
    const first = pageSize(args.first as number | undefined);
    // The cursor names the sort and the point: a page asked for with others would be wrong.
    const tag = `apt:${sort}:${near ? `${near.lng},${near.lat}` : ''}`;
    const key = keyOfCursor(args.after as string | undefined, tag);
    let after: { value: number; id: string } | undefined;
    if (key) {
      const [value, id] = key;
      if (typeof value !== 'number' || typeof id !== 'string') throw userError('BAD_USER_INPUT', '分页游标无效 (invalid cursor)', { field: 'after' });
      after = { value, id };
    }
    const now = zone.now();
    const page = zone.apartmentIndex.search({ filter, near, sort, first, after, now });
    const edges = page.hits.map((hit) => ({
      cursor: encodeCursor([tag, hit.value, hit.listing._id]),
      node: hit.listing,
      distanceMeters: hit.distanceMeters === undefined ? null : Math.round(hit.distanceMeters * 10) / 10,
    }));
    return {
      edges,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: after !== undefined,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
      // Counted only when asked for.
      totalCount: () => zone.apartmentIndex.count(filter, near, now),
    };
  }

  // ---- policies ----------------------------------------------------------------------------------

  function searchPolicies(args: Args, enterprise?: EnterpriseDoc) {
    const textQuery = check.optionalText(args.text as string | undefined, 'text', '搜索词', 50);
    const on = (args.on as Date | undefined) ?? (enterprise ? zone.now() : undefined);
    const tag = check.optionalText(args.tag as string | undefined, 'tag', '标签', 20);
    const accept = (p: PolicyDoc) =>
      (!tag || p.tags.includes(tag)) && (!on || inForce(p, on)) && (!enterprise || eligibility(p, enterprise, on ?? zone.now()).applies);
    if (textQuery) {
      const scored = zone.policyIndex.search(textQuery, (id) => {
        const policy = zone.policies.get(id);
        return policy !== undefined && accept(policy);
      });
      const items = scored.map((s) => ({ policy: zone.policies.get(s.id) as PolicyDoc, score: s.score }));
      const page = pageOf(items, (i) => [-i.score, i.policy._id], args, `pol:${textQuery}`);
      return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: e.node.policy, score: e.node.score })) };
    }
    const items = [...zone.policies.values()].filter(accept);
    const page = pageOf(items, (p) => [-time(p.effectiveFrom), p._id], args, 'pol');
    return { ...page, edges: page.edges.map((e) => ({ ...e, score: null })) };
  }

  // ---- resolvers ---------------------------------------------------------------------------------

  return {
    DateTime,
    Query: {
      enterprise: (_: unknown, { id }: Args) => zone.enterprise(id as string),
      enterprises: (_: unknown, args: Args) => {
        const f = (args.filter ?? {}) as Args;
        if (f.streetId) check.street(f.streetId as string, directory, 'filter.streetId');
        const name = check.optionalText(f.name as string | undefined, 'filter.name', '企业名称', 50);
        const list = [...zone.enterprises.values()].filter(
          (e) =>
            (!f.streetId || e.streetId === f.streetId) &&
            (!f.industry || e.industry === f.industry) &&
            (!f.size || e.size === f.size) &&
            (!f.park || e.park === f.park) &&
            (!f.serviceOfficerId || e.officerId === f.serviceOfficerId) &&
            (!name || e.name.includes(name)),
        );
        return enterprisesPage(list, args);
      },
      checkCreditCode: (_: unknown, { code }: Args) => {
        const checked = checkCreditCode(String(code));
        return checked.ok
          ? { valid: true, normalized: checked.code, message: null }
          : { valid: false, normalized: String(code).trim().toUpperCase(), message: checked.message };
      },
      serviceOfficer: (_: unknown, { id }: Args) => zone.officer(id as string),
      serviceOfficers: (_: unknown, args: Args) => pageOf([...zone.officers.values()], (o) => [o._id], args, 'off'),
      officerReport: (_: unknown, args: Args) => {
        const period = inPeriod(args.from as Date | undefined, args.to as Date | undefined);
        const byOfficer = new Map<string, DemandDoc[]>();
        for (const d of zone.demands.values()) {
          if (!d.officerId || !period(d)) continue;
          byOfficer.set(d.officerId, [...(byOfficer.get(d.officerId) ?? []), d]);
        }
        const served = new Map<string, number>();
        for (const e of zone.enterprises.values()) if (e.officerId) served.set(e.officerId, (served.get(e.officerId) ?? 0) + 1);
        const page = pageOf([...zone.officers.values()], (o) => [o._id], args, 'rep');
        const now = zone.now();
        return {
          ...page,
          edges: page.edges.map((e) => ({
            cursor: e.cursor,
            node: { officer: e.node, enterprises: served.get(e.node._id) ?? 0, figures: figuresOf(byOfficer.get(e.node._id) ?? [], now) },
          })),
        };
      },
      demand: (_: unknown, { id }: Args, ctx: Ctx) => visibleDemand(zone.demands.get(id as string), ctx.identity),
      demands: (_: unknown, args: Args, ctx: Ctx) => {
        const f = (args.filter ?? {}) as Args;
        if (f.enterpriseId) zone.enterprise(f.enterpriseId as string, 'filter.enterpriseId');
        if (f.unitId) check.unit(f.unitId as string, directory, 'filter.unitId');
        const period = inPeriod(f.raisedFrom as Date | undefined, f.raisedTo as Date | undefined);
        const inUnit = f.unitId ? demandsWithin(f.unitId as string) : () => true;
        const now = zone.now();
        const enterpriseId = f.enterpriseId ? check.creditCode(f.enterpriseId as string, 'filter.enterpriseId') : undefined;
        return demandsPage(
          ctx.identity,
          (d) =>
            (!(f.status as string[] | undefined)?.length || (f.status as string[]).includes(d.status)) &&
            (!(f.kind as string[] | undefined)?.length || (f.kind as string[]).includes(d.kind)) &&
            (!enterpriseId || d.enterpriseId === enterpriseId) &&
            (!f.serviceOfficerId || d.officerId === f.serviceOfficerId) &&
            (f.overdue === undefined || f.overdue === null || overdueNow(d, now) === f.overdue) &&
            period(d) &&
            inUnit(d),
          args,
        );
      },
      apartment: (_: unknown, { id }: Args) => zone.apartments.get(id as string) ?? null,
      apartments: (_: unknown, args: Args) => searchApartments(args),
      policy: (_: unknown, { id }: Args) => zone.policies.get(id as string) ?? null,
      policies: (_: unknown, args: Args) =>
        searchPolicies(args, args.enterpriseId ? zone.enterprise(args.enterpriseId as string, 'enterpriseId') : undefined),
    },
    Mutation: {
      registerEnterprise: (_: unknown, { input }: Args, ctx: Ctx) => zone.registerEnterprise(input as RegisterEnterprise, ctx.identity),
      updateEnterprise: (_: unknown, args: Args, ctx: Ctx) =>
        zone.updateEnterprise(args.id as string, args.input as UpdateEnterprise, ctx.identity, (args.expectedVersion as number | null) ?? undefined),
      registerServiceOfficer: (_: unknown, { input }: Args, ctx: Ctx) => zone.registerOfficer(input as Parameters<EnterpriseZone['registerOfficer']>[0], ctx.identity),
      assignServiceOfficer: (_: unknown, args: Args, ctx: Ctx) =>
        zone.assignOfficer(args.enterpriseId as string, args.officerId as string, args.reason as string | undefined, ctx.identity),
      raiseDemand: (_: unknown, args: Args, ctx: Ctx) => zone.raiseDemand(args.input as RaiseDemand, ctx.identity, args.idempotencyKey as string | undefined),
      rateDemand: (_: unknown, args: Args, ctx: Ctx) =>
        zone.rateDemand(args.id as string, args.stars as number, args.comment as string | undefined, ctx.identity),
      withdrawDemand: (_: unknown, args: Args, ctx: Ctx) => zone.withdrawDemand(args.id as string, args.reason as string, ctx.identity),
      putApartment: (_: unknown, { input }: Args, ctx: Ctx) => zone.putApartment(input as ApartmentInput, ctx.identity),
      setApartmentAvailability: (_: unknown, args: Args, ctx: Ctx) =>
        zone.setAvailability(args.id as string, args.available as boolean, args.availableFrom as Date | undefined, ctx.identity),
      putPolicy: (_: unknown, { input }: Args, ctx: Ctx) => zone.putPolicy(input as PolicyInput, ctx.identity),
    },
    Unit: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      enterprises: ({ id }: { id: string }, args: Args) => {
        const list = directory.get(id) ? [...zone.enterprises.values()].filter((e) => within(e, id)) : [];
        return enterprisesPage(list, args);
      },
      demandFigures: ({ id }: { id: string }, args: Args) => figures(demandsWithin(id), args),
    },
    Call: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      demand: ({ id }: { id: string }, _: Args, ctx: Ctx) => visibleDemand(zone.demandForCall(id), ctx.identity),
      enterprise: ({ id }: { id: string }, _: Args, ctx: Ctx) => {
        const demand = visibleDemand(zone.demandForCall(id), ctx.identity);
        return demand ? (zone.enterprises.get(demand.enterpriseId) ?? null) : null;
      },
    },
    Enterprise: {
      __resolveReference: (ref: { id: string }) => zone.enterprises.get(ref.id) ?? null,
      id: (e: EnterpriseDoc) => e._id,
      street: (e: EnterpriseDoc) => unitRef(e.streetId),
      grid: (e: EnterpriseDoc) => unitRef(e.gridId),
      park: (e: EnterpriseDoc) => e.park ?? null,
      contacts: (e: EnterpriseDoc, _: Args, ctx: Ctx) => {
        const visible = canSeeContacts(ctx.identity, e, directory);
        return e.contacts.map((c) => showContact(c, visible));
      },
      serviceOfficer: (e: EnterpriseDoc) => (e.officerId ? (zone.officers.get(e.officerId) ?? null) : null),
      serviceHistory: (e: EnterpriseDoc, args: Args) =>
        pageOf(
          e.servicePeriods.map((p, i) => ({ ...p, i })),
          (p) => [-p.i],
          args,
          'svc',
        ),
      demands: (e: EnterpriseDoc, args: Args, ctx: Ctx) => {
        const statuses = args.status as string[] | undefined;
        return demandsPage(ctx.identity, (d) => d.enterpriseId === e._id && (!statuses?.length || statuses.includes(d.status)), args);
      },
      demandFigures: (e: EnterpriseDoc, args: Args) => figures((d) => d.enterpriseId === e._id, args),
      applicablePolicies: (e: EnterpriseDoc, args: Args) => searchPolicies(args, e),
    },
    ServicePeriod: {
      officer: (p: { officerId: string }) => zone.officer(p.officerId),
      assignedBy: (p: { assignedBy: { subject: string } }) => p.assignedBy.subject,
      to: (p: { to?: Date }) => p.to ?? null,
      reason: (p: { reason?: string }) => p.reason ?? null,
    },
    ServiceOfficer: {
      __resolveReference: (ref: { id: string }) => zone.officers.get(ref.id) ?? null,
      id: (o: OfficerDoc) => o._id,
      unit: (o: OfficerDoc) => unitRef(o.unitId),
      phone: (o: OfficerDoc, _: Args, ctx: Ctx) => {
        if (!o.phone) return null;
        const { role, subject } = ctx.identity;
        const open = role === 'district_command' || role === 'leader' || (role === 'enterprise_officer' && subject === o._id);
        return open ? o.phone : maskPhone(o.phone);
      },
      title: (o: OfficerDoc) => o.title ?? null,
      enterprises: (o: OfficerDoc, args: Args) => enterprisesPage([...zone.enterprises.values()].filter((e) => e.officerId === o._id), args),
      caseload: (o: OfficerDoc) => {
        const mine = new Set([...zone.enterprises.values()].filter((e) => e.officerId === o._id).map((e) => e._id));
        const now = zone.now();
        let open = 0;
        let overdue = 0;
        for (const d of zone.demands.values()) {
          if (!mine.has(d.enterpriseId) || !OPEN_DEMAND.has(d.status)) continue;
          open++;
          if (overdueNow(d, now)) overdue++;
        }
        return { enterprises: mine.size, openDemands: open, overdueDemands: overdue };
      },
      figures: (o: OfficerDoc, args: Args) => figures((d) => d.officerId === o._id, args),
    },
    Demand: {
      __resolveReference: (ref: { id: string }, ctx: Ctx) => visibleDemand(zone.demands.get(ref.id), ctx.identity),
      id: (d: DemandDoc) => d._id,
      enterprise: (d: DemandDoc) => zone.enterprises.get(d.enterpriseId),
      serviceOfficer: (d: DemandDoc) => (d.officerId ? (zone.officers.get(d.officerId) ?? null) : null),
      contact: (d: DemandDoc, _: Args, ctx: Ctx) => {
        if (!d.contact) return null;
        const enterprise = zone.enterprises.get(d.enterpriseId);
        const handles = ctx.identity.role === 'department' && d.call?.handlingUnitId === ctx.identity.unitId;
        return showContact(d.contact, handles || (enterprise !== undefined && canSeeContacts(ctx.identity, enterprise, directory)));
      },
      call: (d: DemandDoc) => (d.call ? { __typename: 'Call', id: d.callId } : null),
      callStatus: (d: DemandDoc) => d.call?.status ?? null,
      tier: (d: DemandDoc) => d.call?.tier ?? null,
      handlingUnit: (d: DemandDoc) => unitRef(d.call?.handlingUnitId),
      completeBy: (d: DemandDoc) => d.call?.completeBy ?? null,
      respondedAt: (d: DemandDoc) => d.call?.respondedAt ?? null,
      completedAt: (d: DemandDoc) => d.call?.completedAt ?? null,
      closedAt: (d: DemandDoc) => d.call?.closedAt ?? null,
      result: (d: DemandDoc) => d.call?.result ?? null,
      overdue: (d: DemandDoc) => overdueNow(d, zone.now()),
      answeredOnTime: (d: DemandDoc) => answeredOnTime(d.call) ?? null,
      rating: (d: DemandDoc) => d.rating ?? null,
      rejection: (d: DemandDoc) => d.rejection ?? null,
      withdrawReason: (d: DemandDoc) => d.withdrawReason ?? null,
      raisedBy: (d: DemandDoc) => d.raisedBy.subject,
    },
    Apartment: {
      __resolveReference: (ref: { id: string }) => zone.apartments.get(ref.id) ?? null,
      id: (a: ApartmentDoc) => a._id,
      district: (a: ApartmentDoc) => unitRef(a.districtId),
      street: (a: ApartmentDoc) => unitRef(a.streetId),
      availableFrom: (a: ApartmentDoc) => a.availableFrom ?? null,
    },
    Policy: {
      __resolveReference: (ref: { id: string }) => zone.policies.get(ref.id) ?? null,
      id: (p: PolicyDoc) => p._id,
      docNumber: (p: PolicyDoc) => p.docNumber ?? null,
      effectiveTo: (p: PolicyDoc) => p.effectiveTo ?? null,
      inForce: (p: PolicyDoc) => inForce(p, zone.now()),
      streets: (p: PolicyDoc) => p.streetIds.map(unitRef),
    },
  };
}
