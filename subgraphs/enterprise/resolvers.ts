// GraphQL resolvers of the enterprise zone: every read from memory (store.ts), every list a Relay
// connection, every change through EnterpriseZone (rules, access, versions, outbox).
import type { Identity } from '../../platform/auth.ts';
import { userError } from '../../platform/errors.ts';
import { guardReads } from '../../platform/policy.ts';
import { encodeCursor, pageSize } from '../../platform/pagination.ts';
import { maskName, maskPhone } from '../../platform/personal-data.ts';
import { DateTime } from '../../platform/scalars.ts';
import { canSeeContacts, canSeeDemand, canSeeOfficer, placeOf, requireReader } from './access.ts';
import { keyOfCursor, type PageArgs, pageOf } from './connections.ts';
import { APARTMENT_SORTS, type ApartmentFilter, type Near } from './domain/apartment-index.ts';
import { checkCreditCode } from './domain/credit-code.ts';
import { answeredOnTime, eligibility, figuresOf, hasRealCall, inForce, OPEN_DEMAND, overdueNow } from './domain/rules.ts';
import type {
  ApartmentFilter as ApartmentFilterInput,
  NearInput,
  QueryApartmentsArgs,
  QueryOfficerReportArgs,
  QueryPoliciesArgs,
  Resolvers,
} from './generated/graphql.ts';
import * as check from './input.ts';
import type { ContactDoc, DemandDoc, EnterpriseDoc, PolicyDoc } from './model.ts';
import type { EnterpriseZone } from './store.ts';
import type { UnitRef } from '../../platform/entity-ref.ts';
import type { ApartmentPage } from './views.ts';

/** The `from`/`to` of every figures field: demands raised in [from, to). */
type Period = Pick<QueryOfficerReportArgs, 'from' | 'to'>;

const unitRef = (id: string): UnitRef => ({ __typename: 'Unit', id });
const optionalUnitRef = (id: string | undefined) => (id ? unitRef(id) : null);
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
function inPeriod(from: Date | null | undefined, to: Date | null | undefined) {
  if (from && to && !(from < to)) throw userError('BAD_USER_INPUT', '起始时间须早于结束时间 (from must be before to)', { field: 'from' });
  return (d: DemandDoc) => (!from || d.raisedAt >= from) && (!to || d.raisedAt < to);
}

export function createResolvers(zone: EnterpriseZone): Resolvers {
  // Every query and entity lookup first asks the policy (`enterprise.read`); demands and reports then decide their own.
  return guardReads(buildResolvers(zone), (identity) => requireReader(identity, zone.directory));
}

function buildResolvers(zone: EnterpriseZone): Resolvers {
  const { directory } = zone;

  const visibleDemand = (demand: DemandDoc | undefined, identity: Identity) =>
    demand && canSeeDemand(identity, demand, zone.enterprises.get(demand.enterpriseId), directory) ? demand : null;

  const within = (enterprise: EnterpriseDoc, unitId: string) => directory.isWithin(placeOf(enterprise), unitId);

  const enterprisesPage = (list: EnterpriseDoc[], args: PageArgs) => pageOf(list, (e) => [e.name, e._id], args, 'ent');

  const newestFirst = (d: DemandDoc) => [-time(d.raisedAt), d._id];

  function demandsPage(identity: Identity, keep: (d: DemandDoc) => boolean, args: PageArgs) {
    const list = [...zone.demands.values()].filter((d) => keep(d) && visibleDemand(d, identity));
    return pageOf(list, newestFirst, args, 'dem');
  }

  function figures(keep: (d: DemandDoc) => boolean, args: Period) {
    const period = inPeriod(args.from, args.to);
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

  function apartmentFilter(input: ApartmentFilterInput | null | undefined): ApartmentFilter {
    const f = input ?? {};
    const n = (v: number | null | undefined, field: string, label: string, max: number) => check.number(v, `filter.${field}`, label, 0, max);
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

  function nearOf(input: NearInput | null | undefined): Near | undefined {
    if (!input) return undefined;
    const { point, enterpriseId, withinMeters } = input;
    const at =
      point && !enterpriseId
        ? check.point(point, 'near.point')
        : enterpriseId && !point
          ? zone.enterprise(enterpriseId, 'near.enterpriseId').location
          : undefined;
    if (!at) {
      throw userError('BAD_USER_INPUT', 'near 须给出 point 或 enterpriseId 之一 (give exactly one of point and enterpriseId)', { field: 'near' });
    }
    const radius = check.number(withinMeters, 'near.withinMeters', '搜索半径（米）', 1, 50_000);
    return { lng: at.lng, lat: at.lat, ...(radius !== undefined && { withinMeters: radius }) };
  }

  function searchApartments(args: QueryApartmentsArgs): ApartmentPage {
    const filter = apartmentFilter(args.filter);
    const near = nearOf(args.near);
    const sort = args.sort ?? (near ? 'DISTANCE' : 'RENT_ASC');
    if (!APARTMENT_SORTS.includes(sort)) throw userError('BAD_USER_INPUT', `排序方式无效：${sort}`, { field: 'sort' });
    if (sort === 'DISTANCE' && !near) {
      throw userError('BAD_USER_INPUT', '按距离排序须给出 near（位置或企业） (DISTANCE needs near)', { field: 'sort' });
    }
    const first = pageSize(args.first);
    // The cursor names the sort and the point: a page asked for with others would be wrong.
    const tag = `apt:${sort}:${near ? `${near.lng},${near.lat}` : ''}`;
    const key = keyOfCursor(args.after, tag);
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

  /** Query.policies, and Enterprise.applicablePolicies (no tag) for that enterprise. */
  function searchPolicies(args: Omit<QueryPoliciesArgs, 'enterpriseId'>, enterprise?: EnterpriseDoc) {
    const textQuery = check.optionalText(args.text, 'text', '搜索词', 50);
    const on = args.on ?? (enterprise ? zone.now() : undefined);
    const tag = check.optionalText(args.tag, 'tag', '标签', 20);
    const accept = (p: PolicyDoc) =>
      (!tag || p.tags.includes(tag)) && (!on || inForce(p, on)) && (!enterprise || eligibility(p, enterprise, on ?? zone.now()).applies);
    if (textQuery) {
      const scored = zone.policyIndex.search(textQuery, (id) => {
        const policy = zone.policies.get(id);
        return policy !== undefined && accept(policy);
      });
      const items = scored.flatMap((s) => {
        const policy = zone.policies.get(s.id);
        return policy ? [{ policy, score: s.score }] : [];
      });
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
      enterprise: (_, { id }) => zone.enterprise(id),
      enterprises: (_, args) => {
        const f = args.filter ?? {};
        if (f.streetId) check.street(f.streetId, directory, 'filter.streetId');
        const name = check.optionalText(f.name, 'filter.name', '企业名称', 50);
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
      checkCreditCode: (_, { code }) => {
        const checked = checkCreditCode(code);
        return checked.ok
          ? { valid: true, normalized: checked.code, message: null }
          : { valid: false, normalized: code.trim().toUpperCase(), message: checked.message };
      },
      serviceOfficer: (_, { id }) => zone.officer(id),
      serviceOfficers: (_, args) => pageOf([...zone.officers.values()], (o) => [o._id], args, 'off'),
      officerReport: (_, args, ctx) => {
        if (!canSeeOfficer(ctx.identity, undefined, directory)) throw userError('FORBIDDEN', '无权查看首席服务官考核报表 (district only)');
        const period = inPeriod(args.from, args.to);
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
      demand: (_, { id }, ctx) => visibleDemand(zone.demands.get(id), ctx.identity),
      demands: (_, args, ctx) => {
        const f = args.filter ?? {};
        if (f.enterpriseId) zone.enterprise(f.enterpriseId, 'filter.enterpriseId');
        if (f.unitId) check.unit(f.unitId, directory, 'filter.unitId');
        const period = inPeriod(f.raisedFrom, f.raisedTo);
        const inUnit = f.unitId ? demandsWithin(f.unitId) : () => true;
        const now = zone.now();
        const enterpriseId = f.enterpriseId ? check.creditCode(f.enterpriseId, 'filter.enterpriseId') : undefined;
        return demandsPage(
          ctx.identity,
          (d) =>
            (!f.status?.length || f.status.includes(d.status)) &&
            (!f.kind?.length || f.kind.includes(d.kind)) &&
            (!enterpriseId || d.enterpriseId === enterpriseId) &&
            (!f.serviceOfficerId || d.officerId === f.serviceOfficerId) &&
            (f.overdue === undefined || f.overdue === null || overdueNow(d, now) === f.overdue) &&
            period(d) &&
            inUnit(d),
          args,
        );
      },
      apartment: (_, { id }) => zone.apartments.get(id) ?? null,
      apartments: (_, args) => searchApartments(args),
      policy: (_, { id }) => zone.policies.get(id) ?? null,
      policies: (_, args) => searchPolicies(args, args.enterpriseId ? zone.enterprise(args.enterpriseId, 'enterpriseId') : undefined),
    },
    Mutation: {
      registerEnterprise: (_, { input }, ctx) => zone.registerEnterprise(input, ctx.identity),
      updateEnterprise: (_, args, ctx) => zone.updateEnterprise(args.id, args.input, ctx.identity, args.expectedVersion ?? undefined),
      registerServiceOfficer: (_, { input }, ctx) => zone.registerOfficer(input, ctx.identity),
      assignServiceOfficer: (_, args, ctx) => zone.assignOfficer(args.enterpriseId, args.officerId, args.reason, ctx.identity),
      raiseDemand: (_, args, ctx) => zone.raiseDemand(args.input, ctx.identity, args.idempotencyKey),
      rateDemand: (_, args, ctx) => zone.rateDemand(args.id, args.stars, args.comment, ctx.identity),
      withdrawDemand: (_, args, ctx) => zone.withdrawDemand(args.id, args.reason, ctx.identity),
      putApartment: (_, { input }, ctx) => zone.putApartment(input, ctx.identity),
      setApartmentAvailability: (_, args, ctx) => zone.setAvailability(args.id, args.available, args.availableFrom, ctx.identity),
      putPolicy: (_, { input }, ctx) => zone.putPolicy(input, ctx.identity),
    },
    Unit: {
      __resolveReference: (ref) => ({ id: ref.id }),
      enterprises: ({ id }, args) => {
        const list = directory.get(id) ? [...zone.enterprises.values()].filter((e) => within(e, id)) : [];
        return enterprisesPage(list, args);
      },
      demandFigures: ({ id }, args) => figures(demandsWithin(id), args),
    },
    Call: {
      __resolveReference: (ref) => ({ id: ref.id }),
      demand: ({ id }, _, ctx) => visibleDemand(zone.demandForCall(id), ctx.identity),
      enterprise: ({ id }, _, ctx) => {
        const demand = visibleDemand(zone.demandForCall(id), ctx.identity);
        return demand ? (zone.enterprises.get(demand.enterpriseId) ?? null) : null;
      },
    },
    Enterprise: {
      __resolveReference: (ref) => zone.enterprises.get(ref.id) ?? null,
      id: (e) => e._id,
      street: (e) => unitRef(e.streetId),
      grid: (e) => optionalUnitRef(e.gridId),
      park: (e) => e.park ?? null,
      contacts: (e, _, ctx) => {
        const visible = canSeeContacts(ctx.identity, e, directory);
        return e.contacts.map((c) => showContact(c, visible));
      },
      serviceOfficer: (e) => (e.officerId ? (zone.officers.get(e.officerId) ?? null) : null),
      serviceHistory: (e, args) =>
        pageOf(
          e.servicePeriods.map((p, i) => ({ ...p, i })),
          (p) => [-p.i],
          args,
          'svc',
        ),
      demands: (e, args, ctx) => {
        const statuses = args.status;
        return demandsPage(ctx.identity, (d) => d.enterpriseId === e._id && (!statuses?.length || statuses.includes(d.status)), args);
      },
      demandFigures: (e, args) => figures((d) => d.enterpriseId === e._id, args),
      applicablePolicies: (e, args) => searchPolicies(args, e),
    },
    ServicePeriod: {
      officer: (p) => zone.officer(p.officerId),
      assignedBy: (p) => p.assignedBy.subject,
      to: (p) => p.to ?? null,
      reason: (p) => p.reason ?? null,
    },
    ServiceOfficer: {
      __resolveReference: (ref) => zone.officers.get(ref.id) ?? null,
      id: (o) => o._id,
      unit: (o) => unitRef(o.unitId),
      phone: (o, _, ctx) => {
        if (!o.phone) return null;
        return canSeeOfficer(ctx.identity, o._id, directory) ? o.phone : maskPhone(o.phone);
      },
      title: (o) => o.title ?? null,
      enterprises: (o, args) => enterprisesPage([...zone.enterprises.values()].filter((e) => e.officerId === o._id), args),
      caseload: (o) => {
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
      figures: (o, args) => figures((d) => d.officerId === o._id, args),
    },
    Demand: {
      __resolveReference: (ref, ctx) => visibleDemand(zone.demands.get(ref.id), ctx.identity),
      id: (d) => d._id,
      // Non-null in the SDL: an enterprise this copy does not hold yet (registered through another copy
      // a moment ago) is NOT_FOUND rather than a null in a non-null field.
      enterprise: (d) => zone.enterprise(d.enterpriseId),
      serviceOfficer: (d) => (d.officerId ? (zone.officers.get(d.officerId) ?? null) : null),
      contact: (d, _, ctx) => {
        if (!d.contact) return null;
        const enterprise = zone.enterprises.get(d.enterpriseId);
        return showContact(d.contact, enterprise !== undefined && canSeeContacts(ctx.identity, enterprise, directory, d.call?.handlingUnitId));
      },
      call: (d) => (d.call && hasRealCall(d) ? { __typename: 'Call', id: d.callId } : null),
      callStatus: (d) => d.call?.status ?? null,
      tier: (d) => d.call?.tier ?? null,
      handlingUnit: (d) => optionalUnitRef(d.call?.handlingUnitId),
      completeBy: (d) => d.call?.completeBy ?? null,
      respondedAt: (d) => d.call?.respondedAt ?? null,
      completedAt: (d) => d.call?.completedAt ?? null,
      closedAt: (d) => d.call?.closedAt ?? null,
      result: (d) => d.call?.result ?? null,
      overdue: (d) => overdueNow(d, zone.now()),
      answeredOnTime: (d) => answeredOnTime(d.call) ?? null,
      rating: (d) => d.rating ?? null,
      rejection: (d) => d.rejection ?? null,
      withdrawReason: (d) => d.withdrawReason ?? null,
      raisedBy: (d) => d.raisedBy.subject,
    },
    Apartment: {
      __resolveReference: (ref) => zone.apartments.get(ref.id) ?? null,
      id: (a) => a._id,
      district: (a) => unitRef(a.districtId),
      street: (a) => unitRef(a.streetId),
      availableFrom: (a) => a.availableFrom ?? null,
    },
    Policy: {
      __resolveReference: (ref) => zone.policies.get(ref.id) ?? null,
      id: (p) => p._id,
      docNumber: (p) => p.docNumber ?? null,
      effectiveTo: (p) => p.effectiveTo ?? null,
      inForce: (p) => inForce(p, zone.now()),
      streets: (p) => p.streetIds.map(unitRef),
    },
  };
}
