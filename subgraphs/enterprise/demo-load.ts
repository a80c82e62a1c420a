// Loads the demo enterprise zone (demo/enterprise.ts) into an empty database, in bulk writes. Demands
// past SUBMITTED carry their call's history as the zone last saw it; the few SUBMITTED ones keep
// their intake command in the outbox, so at start they travel through hub.intake and become real
// calls in the calls subgraph like any new demand.
import { DISTRICT_ID } from '../../demo/district.ts';
import { demoApartments, demoDemands, demoEnterprises, demoOfficers, demoPolicies } from '../../demo/enterprise.ts';
import { sourceCallId } from '../calls/intake.ts';
import type {
  ApartmentDoc,
  DemandDoc,
  EnterpriseDoc,
  EnterpriseModels,
  OfficerDoc,
  PolicyDoc,
  ServicePeriodDoc,
} from './model.ts';
import { createCallCommand, type EnterpriseZone } from './store.ts';

const DAY = 86_400_000;
const DEMO_ACTOR = { subject: 'demo-district-command', unitId: 'huangpu-command', role: 'district_command' as const };

export async function loadDemoIfEmpty(zone: EnterpriseZone, models: EnterpriseModels, now = new Date()) {
  if ((await models.Enterprise.estimatedDocumentCount()) > 0) return undefined;
  const ago = (days: number) => new Date(now.getTime() - days * DAY);
  const base = { version: 1, seq: 0, updatedAt: now };

  const officers: OfficerDoc[] = demoOfficers().map((o) => ({ _id: o.id, name: o.name, phone: o.phone, unitId: o.unitId, title: o.title, ...base }));
  const demoList = demoEnterprises();
  const enterprises: EnterpriseDoc[] = demoList.map((e) => {
    const periods: ServicePeriodDoc[] = e.officers.map((o, i) => ({
      officerId: o.officerId,
      from: ago(o.daysAgo),
      ...(e.officers[i + 1] && { to: ago((e.officers[i + 1] as { daysAgo: number }).daysAgo) }),
      assignedBy: DEMO_ACTOR,
      ...(o.reason && { reason: o.reason }),
    }));
    const grid = zone.directory.gridAt(e.location);
    return {
      _id: e.creditCode,
      name: e.name,
      industry: e.industry,
      size: e.size,
      address: e.address,
      location: e.location,
      streetId: e.streetId,
      ...(grid && { gridId: grid.id }),
      ...(e.park && { park: e.park }),
      contacts: e.contacts,
      officerId: e.officers.at(-1)?.officerId,
      servicePeriods: periods,
      registeredAt: ago(600),
      ...base,
    };
  });
  const byCode = new Map(enterprises.map((e) => [e._id, e]));

  const demands: DemandDoc[] = demoDemands(demoList).map((d) => {
    const enterprise = byCode.get(d.enterpriseId) as EnterpriseDoc;
    const raisedAt = d.status === 'SUBMITTED' ? now : ago(d.daysAgo);
    // Counted for the officer who served the enterprise when the demand was raised.
    const officerId = [...enterprise.servicePeriods].reverse().find((p) => p.from <= raisedAt)?.officerId ?? enterprise.officerId;
    const contact = enterprise.contacts[0];
    const doc: DemandDoc = {
      _id: d.id,
      enterpriseId: enterprise._id,
      ...(officerId && { officerId }),
      followers: officerId ? [officerId] : [],
      streetId: enterprise.streetId,
      kind: d.kind,
      title: d.title,
      description: d.description,
      priority: d.priority,
      ...(contact && { contact }),
      status: d.status,
      callId: sourceCallId('enterprise', d.id),
      raisedBy: { subject: officerId ?? 'enterprise-portal', unitId: DISTRICT_ID, role: officerId ? 'enterprise_officer' : 'service_account' },
      raisedAt,
      appliedKeys: [],
      outbox: [],
      outboxPending: false,
      publishedSeq: 0,
      outboxLease: 0,
      ...base,
      updatedAt: raisedAt,
    };
    if (d.call) {
      const at = (days: number | undefined) => (days === undefined ? undefined : new Date(raisedAt.getTime() + days * DAY));
      doc.call = {
        status: d.call.status,
        tier: d.call.tier,
        handlingUnitId: d.call.handlingUnitId,
        completeBy: at(d.call.limitDays) as Date,
        ...(d.call.respondedAfterDays !== undefined && { respondedAt: at(d.call.respondedAfterDays) }),
        ...(d.call.completedAfterDays !== undefined && { completedAt: at(d.call.completedAfterDays) }),
        ...(d.call.status === 'CLOSED' && { closedAt: at((d.call.completedAfterDays ?? 0) + 1) }),
        ...(d.call.result && { result: d.call.result }),
        overdueSteps: [],
        // Made up here, not from hub.call-events: the calls subgraph has no such call.
        sequence: 0,
        updatedAt: raisedAt,
      };
    }
    if (d.stars) doc.rating = { stars: d.stars, ratedAt: ago(Math.max(d.daysAgo - 8, 0)), ratedBy: doc.raisedBy };
    if (d.rejection) doc.rejection = d.rejection;
    if (d.withdrawReason) doc.withdrawReason = d.withdrawReason;
    if (d.status === 'SUBMITTED') {
      const command = createCallCommand(d.id, enterprise, { ...d, ...(contact && { contact }) }, now);
      doc.outbox = [{ eventId: command.commandId, type: 'intake.create_call', sequence: 1, occurredAt: now, data: command }];
      doc.outboxPending = true;
    }
    return doc;
  });

  const apartments: ApartmentDoc[] = demoApartments().map((a) => ({
    _id: a.id,
    project: a.project,
    unitNo: a.unitNo,
    districtId: DISTRICT_ID,
    streetId: a.streetId,
    address: a.address,
    location: a.location,
    rooms: a.rooms,
    areaSqm: a.areaSqm,
    monthlyRent: a.monthlyRent,
    available: a.available,
    ...(a.availableInDays && { availableFrom: new Date(now.getTime() + a.availableInDays * DAY) }),
    provider: a.provider,
    ...base,
  }));

  const policies: PolicyDoc[] = demoPolicies().map((p) => ({
    _id: p.id,
    title: p.title,
    issuer: p.issuer,
    docNumber: p.docNumber,
    effectiveFrom: new Date(now.getTime() + p.fromDays * DAY),
    ...(p.toDays !== undefined && { effectiveTo: new Date(now.getTime() + p.toDays * DAY) }),
    tags: p.tags,
    industries: p.industries,
    sizes: p.sizes,
    streetIds: p.streetIds,
    summary: p.summary,
    text: p.text,
    ...base,
  }));

  await zone.insertMany(zone.officers, models.Officer, officers);
  await zone.insertMany(zone.enterprises, models.Enterprise, enterprises);
  await zone.insertMany(zone.policies, models.Policy, policies);
  await zone.insertMany(zone.apartments, models.Apartment, apartments);
  await zone.insertMany(zone.demands, models.Demand, demands);
  return { officers: officers.length, enterprises: enterprises.length, demands: demands.length, apartments: apartments.length, policies: policies.length };
}
