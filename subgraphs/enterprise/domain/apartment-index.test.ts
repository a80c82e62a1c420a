import { distance } from 'geokdbush';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../demo/random.ts';
import { type ApartmentListing, ApartmentIndex, type ApartmentFilter, type ApartmentSort, type Near } from './apartment-index.ts';

const NOW = new Date('2026-06-01T00:00:00Z');

function listings(count: number): ApartmentListing[] {
  const next = seededRandom('apartment-index-test');
  // Flats of one building share a point: many equal distances.
  const buildings = Array.from({ length: 40 }, () => ({ lng: 113.4 + next() * 0.16, lat: 23.06 + next() * 0.16 }));
  return Array.from({ length: count }, (_, i) => ({
    _id: `A${String(i).padStart(5, '0')}`,
    streetId: ['yuzhu', 'lianhe', 'luogang'][i % 3] as string,
    districtId: 'huangpu',
    location: buildings[i % buildings.length] as { lng: number; lat: number },
    rooms: i % 4,
    areaSqm: 25 + (i % 80),
    monthlyRent: 1000 + ((i * 37) % 4000),
    available: i % 5 !== 0,
    ...(i % 7 === 0 && { availableFrom: new Date(NOW.getTime() + 86_400_000 * (i % 30)) }),
    provider: i % 2 === 0 ? '人才安居' : '科学城集团',
  }));
}

/** The same search by brute force: filter everything, sort by (value, id). */
function brute(all: ApartmentListing[], filter: ApartmentFilter, near: Near | undefined, sort: ApartmentSort) {
  const metres = (a: ApartmentListing) => (near ? distance(near.lng, near.lat, a.location.lng, a.location.lat) * 1000 : 0);
  const value = (a: ApartmentListing) =>
    ({ DISTANCE: metres(a), RENT_ASC: a.monthlyRent, RENT_DESC: -a.monthlyRent, AREA_DESC: -a.areaSqm, AVAILABLE_SOONEST: a.available ? (a.availableFrom?.getTime() ?? 0) : Number.MAX_SAFE_INTEGER })[sort];
  return all
    .filter((a) => {
      if (filter.streetIds && !filter.streetIds.includes(a.streetId)) return false;
      if (filter.minRooms !== undefined && a.rooms < filter.minRooms) return false;
      if (filter.maxRent !== undefined && a.monthlyRent > filter.maxRent) return false;
      if (filter.availableOnly && !(a.available && (a.availableFrom?.getTime() ?? 0) <= NOW.getTime())) return false;
      if (near?.withinMeters !== undefined && metres(a) > near.withinMeters) return false;
      return true;
    })
    .sort((a, b) => value(a) - value(b) || (a._id < b._id ? -1 : 1))
    .map((a) => a._id);
}

function pageThrough(index: ApartmentIndex<ApartmentListing>, filter: ApartmentFilter, near: Near | undefined, sort: ApartmentSort, first: number) {
  const ids: string[] = [];
  let after: { value: number; id: string } | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const page = index.search({ filter, near, sort, first, after, now: NOW });
    ids.push(...page.hits.map((h) => h.listing._id));
    const last = page.hits.at(-1);
    if (!page.hasNextPage || !last) break;
    after = { value: last.value, id: last.listing._id };
  }
  return ids;
}

describe('the apartment index', () => {
  const all = listings(3000);
  const index = new ApartmentIndex<ApartmentListing>();
  for (const a of all) index.upsert(a);
  const near: Near = { lng: 113.48, lat: 23.14 };

  it.each<[string, ApartmentFilter, Near | undefined, ApartmentSort]>([
    ['nearest first, every flat of a building once', {}, near, 'DISTANCE'],
    ['nearest first within 3 km, two rooms or more, available now', { minRooms: 2, availableOnly: true }, { ...near, withinMeters: 3000 }, 'DISTANCE'],
    ['cheapest first in two streets under 3,000 yuan', { streetIds: ['yuzhu', 'lianhe'], maxRent: 3000 }, undefined, 'RENT_ASC'],
    ['largest first, near a point, within 5 km', {}, { ...near, withinMeters: 5000 }, 'AREA_DESC'],
    ['soonest available', { minRooms: 1 }, undefined, 'AVAILABLE_SOONEST'],
    ['dearest first', {}, undefined, 'RENT_DESC'],
  ])('pages %s exactly as a full scan orders them', (_name, filter, where, sort) => {
    const expected = brute(all, filter, where, sort);
    expect(expected.length).toBeGreaterThan(0);
    expect(pageThrough(index, filter, where, sort, 37)).toEqual(expected);
    expect(index.count(filter, where, NOW)).toBe(expected.length);
  });

  it('sees a write at once: a moved, re-priced or let flat', () => {
    const copy = new ApartmentIndex<ApartmentListing>();
    for (const a of all.slice(0, 200)) copy.upsert(a);
    const target = all[10] as ApartmentListing;
    const first = copy.search({ near: { lng: 113.55, lat: 23.21 }, sort: 'DISTANCE', first: 1, now: NOW });
    expect(first.hits[0]?.listing._id).not.toBe(target._id);
    copy.upsert({ ...target, location: { lng: 113.55, lat: 23.21 } });
    expect(copy.search({ near: { lng: 113.55, lat: 23.21 }, sort: 'DISTANCE', first: 1, now: NOW }).hits[0]).toMatchObject({
      listing: { _id: target._id },
      distanceMeters: 0,
    });
    copy.upsert({ ...target, location: { lng: 113.55, lat: 23.21 }, monthlyRent: 1 });
    expect(copy.search({ sort: 'RENT_ASC', first: 1, now: NOW }).hits[0]?.listing._id).toBe(target._id);
    copy.upsert({ ...target, location: { lng: 113.55, lat: 23.21 }, monthlyRent: 1, available: false });
    expect(copy.search({ filter: { availableOnly: true }, sort: 'RENT_ASC', first: 1, now: NOW }).hits[0]?.listing._id).not.toBe(target._id);
    expect(copy.size).toBe(200);
  });
});
