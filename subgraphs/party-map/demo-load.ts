// Loads the party-map demo dataset (demo/party-map.ts) into an empty database. Every unit goes in
// with its first hub.units record in its outbox, under the loading copy's lease, and that copy puts
// the whole directory on hub.units in one send (OutboxPublisher.publishInserted).
import { type DemoPartyMap, demoPartyMap } from '../../demo/party-map.ts';
import { extentOf, areaOf, type Polygonal } from './geo/geometry.ts';
import { type FacilityDoc, type MemberDoc, type Models, type PartyOrgDoc, type ServiceCentreDoc, type UnitDoc, type UnitState, bumpRevision } from './models.ts';
import { unitChange } from './publisher.ts';

/** Inserts, ignoring documents already there (two copies starting at once both try). */
async function insertAll<T>(model: { insertMany: (docs: T[], options: { ordered: false; lean: true }) => Promise<unknown> }, docs: T[]) {
  if (docs.length === 0) return;
  try {
    await model.insertMany(docs, { ordered: false, lean: true });
  } catch (err) {
    const duplicates = (err as { code?: number; writeErrors?: Array<{ code?: number; err?: { code?: number } }> }).writeErrors;
    const onlyDuplicates =
      (err as { code?: number }).code === 11000 || (duplicates?.length && duplicates.every((e) => (e.code ?? e.err?.code) === 11000));
    if (!onlyDuplicates) throw err;
  }
}

export function demoDocuments(data: DemoPartyMap = demoPartyMap(), now = new Date()) {
  const paths = new Map(data.units.map((u) => [u.id, u.path]));
  const units: UnitDoc[] = data.units.map((u) => {
    const geometry = u.boundary as Polygonal | undefined;
    const extent = geometry && extentOf(geometry);
    const state: UnitState = {
      _id: u.id,
      name: u.name,
      kind: u.kind,
      parentId: u.parentId,
      path: u.path,
      gridType: u.gridType ?? null,
      focus: u.focus ?? null,
      contacts: u.contacts,
      boundary: geometry ? JSON.stringify(geometry) : null,
      bbox: extent ? { minLng: extent[0], minLat: extent[1], maxLng: extent[2], maxLat: extent[3] } : null,
      centre: extent ? { lng: (extent[0] + extent[2]) / 2, lat: (extent[1] + extent[3]) / 2 } : null,
      areaSqm: geometry ? Math.round(areaOf(geometry)) : null,
    };
    // Each unit enters with its first hub.units record waiting in its outbox.
    return { ...state, version: 1, outbox: [unitChange(state, 1, now)], outboxPending: true, publishedSeq: 0, updatedAt: now };
  });
  const members: MemberDoc[] = data.members.map((m) => ({
    _id: m.id,
    gridId: m.gridId,
    path: paths.get(m.gridId) ?? [m.gridId],
    role: m.role,
    title: m.title ?? null,
    name: m.name,
    phone: m.phone,
    idNumber: m.idNumber ?? null,
    employer: m.employer ?? null,
    partyMember: m.partyMember,
  }));
  const partyOrgs: PartyOrgDoc[] = data.partyOrganizations.map((o) => ({
    _id: o.id,
    name: o.name,
    kind: o.kind,
    unitId: o.unitId,
    path: paths.get(o.unitId) ?? [o.unitId],
    parentOrgId: o.parentId ?? null,
    memberCount: o.memberCount,
    secretaryName: o.secretaryName,
    secretaryPhone: o.secretaryPhone,
    memberBodies: o.memberBodies,
  }));
  const centres: ServiceCentreDoc[] = data.serviceCentres.map((c) => ({
    _id: c.id,
    name: c.name,
    level: c.level,
    unitId: c.unitId,
    address: c.address,
    lng: c.lng,
    lat: c.lat,
    phone: c.phone,
    openingHours: c.openingHours,
    services: c.services,
    updatedAt: now,
  }));
  const facilities: FacilityDoc[] = data.facilities.map((f) => ({
    _id: f.id,
    kind: f.kind,
    name: f.name,
    address: f.address,
    lng: f.lng,
    lat: f.lat,
    phone: f.phone ?? null,
    openingHours: f.openingHours,
    attributes: f.attributes,
    source: 'demo',
    updatedAt: now,
  }));
  return { units, members, partyOrgs, centres, facilities };
}

/** Loads the demo data when the database has no units yet; says whether it did. */
/**
 * Loads the demo into an empty database; returns the units, inserted under `lease` (a publisher's
 * newLease) for the caller to publish, or undefined when the database held units already.
 */
export async function loadDemoIfEmpty(models: Models, lease: number): Promise<UnitDoc[] | undefined> {
  if ((await models.Unit.countDocuments({})) > 0) return undefined;
  const docs = demoDocuments();
  const units = docs.units.map((unit) => ({ ...unit, outboxLease: lease }));
  await insertAll(models.Unit, units);
  await insertAll(models.Member, docs.members);
  await insertAll(models.PartyOrg, docs.partyOrgs);
  await insertAll(models.ServiceCentre, docs.centres);
  await insertAll(models.Facility, docs.facilities);
  await bumpRevision(models, 'revision');
  await bumpRevision(models, 'teamRevision');
  return units;
}
