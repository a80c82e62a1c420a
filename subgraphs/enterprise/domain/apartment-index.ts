// The talent-apartment (人才公寓) search index, in memory: FerretDB scans the whole collection for any
// filter but `{_id}`, so searches never touch the database. Each listing has a slot; its filterable
// fields sit in typed arrays (a filter test is a few array reads), a KDBush index serves distance
// (geokdbush: nearest first, great-circle), and one slot order per sort key serves sorted pages by
// binary search on the cursor. A write updates the arrays at once and marks the spatial index and the
// orders stale; they are rebuilt (a few milliseconds at 20,000 listings) by the next search that needs them.
import { around, distance } from 'geokdbush';
import KDBush from 'kdbush';

export interface ApartmentListing {
  _id: string;
  streetId: string;
  districtId: string;
  location: { lng: number; lat: number };
  rooms: number;
  areaSqm: number;
  monthlyRent: number;
  available: boolean;
  availableFrom?: Date;
  provider: string;
}

export interface ApartmentFilter {
  streetIds?: string[];
  districtId?: string;
  minRooms?: number;
  maxRooms?: number;
  minArea?: number;
  maxArea?: number;
  minRent?: number;
  maxRent?: number;
  /** Only listings that can be let now (available, and available from today or earlier). */
  availableOnly?: boolean;
  /** Listings available by this instant (available, from no later than it). */
  availableBy?: Date;
  provider?: string;
}

export interface Near {
  lng: number;
  lat: number;
  withinMeters?: number;
}

export const APARTMENT_SORTS = ['DISTANCE', 'RENT_ASC', 'RENT_DESC', 'AREA_DESC', 'AVAILABLE_SOONEST'] as const;
export type ApartmentSort = (typeof APARTMENT_SORTS)[number];

/** Where the next page starts: the sort value and id of the last listing of the page before. */
export interface SearchCursor {
  value: number;
  id: string;
}

export interface SearchRequest {
  filter?: ApartmentFilter;
  near?: Near;
  sort: ApartmentSort;
  first: number;
  after?: SearchCursor;
  /** "Now", for availableOnly. */
  now?: Date;
}

export interface SearchHit<T> {
  listing: T;
  /** From `near`, when given. */
  distanceMeters?: number;
  /** The sort value (cursor). */
  value: number;
}

export interface SearchPage<T> {
  hits: SearchHit<T>[];
  hasNextPage: boolean;
}

const NEVER = Number.MAX_SAFE_INTEGER;

export class ApartmentIndex<T extends ApartmentListing> {
  private listings: T[] = [];
  private readonly slots = new Map<string, number>();
  private rent = new Float64Array(1024);
  private area = new Float64Array(1024);
  private rooms = new Int32Array(1024);
  private availableFrom = new Float64Array(1024);
  private street = new Int32Array(1024);
  private provider = new Int32Array(1024);
  private lng = new Float64Array(1024);
  private lat = new Float64Array(1024);
  private readonly codes = new Map<string, number>();
  private kd: KDBush | undefined;
  private readonly orders = new Map<ApartmentSort, Int32Array>();

  get size(): number {
    return this.listings.length;
  }

  get(id: string): T | undefined {
    const slot = this.slots.get(id);
    return slot === undefined ? undefined : this.listings[slot];
  }

  private code(text: string): number {
    let code = this.codes.get(text);
    if (code === undefined) {
      code = this.codes.size + 1;
      this.codes.set(text, code);
    }
    return code;
  }

  private grow(): void {
    const capacity = this.rent.length * 2;
    const widen = <A extends Float64Array | Int32Array>(old: A, make: (n: number) => A): A => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.rent = widen(this.rent, (n) => new Float64Array(n));
    this.area = widen(this.area, (n) => new Float64Array(n));
    this.rooms = widen(this.rooms, (n) => new Int32Array(n));
    this.availableFrom = widen(this.availableFrom, (n) => new Float64Array(n));
    this.street = widen(this.street, (n) => new Int32Array(n));
    this.provider = widen(this.provider, (n) => new Int32Array(n));
    this.lng = widen(this.lng, (n) => new Float64Array(n));
    this.lat = widen(this.lat, (n) => new Float64Array(n));
  }

  /** Adds a listing or replaces the one with its id. */
  upsert(listing: T): void {
    let slot = this.slots.get(listing._id);
    const previous = slot === undefined ? undefined : this.listings[slot];
    if (slot === undefined) {
      slot = this.listings.length;
      if (slot >= this.rent.length) this.grow();
      this.slots.set(listing._id, slot);
      this.listings.push(listing);
    } else {
      this.listings[slot] = listing;
    }
    // Only the orders whose sort value moved go stale (a let flat does not reorder rents).
    const before = previous === undefined ? undefined : APARTMENT_SORTS.map((sort) => this.sortValue(sort, slot));
    this.rent[slot] = listing.monthlyRent;
    this.area[slot] = listing.areaSqm;
    this.rooms[slot] = listing.rooms;
    // Not available: never available by any date.
    this.availableFrom[slot] = listing.available ? (listing.availableFrom?.getTime() ?? 0) : NEVER;
    this.street[slot] = this.code(`street:${listing.streetId}`);
    this.provider[slot] = this.code(`provider:${listing.provider}`);
    this.lng[slot] = listing.location.lng;
    this.lat[slot] = listing.location.lat;
    if (!previous || previous.location.lng !== listing.location.lng || previous.location.lat !== listing.location.lat) {
      this.kd = undefined;
    }
    if (before === undefined) this.orders.clear();
    else APARTMENT_SORTS.forEach((sort, i) => before[i] !== this.sortValue(sort, slot) && this.orders.delete(sort));
  }

  private spatial(): KDBush {
    if (!this.kd) {
      const n = this.listings.length;
      const kd = new KDBush(Math.max(n, 1));
      for (let i = 0; i < n; i++) kd.add(this.lng[i] as number, this.lat[i] as number);
      if (n === 0) kd.add(0, 0);
      kd.finish();
      this.kd = kd;
    }
    return this.kd;
  }

  private sortValue(sort: ApartmentSort, slot: number): number {
    switch (sort) {
      case 'RENT_ASC':
        return this.rent[slot] as number;
      case 'RENT_DESC':
        return -(this.rent[slot] as number);
      case 'AREA_DESC':
        return -(this.area[slot] as number);
      case 'AVAILABLE_SOONEST':
        return this.availableFrom[slot] as number;
      case 'DISTANCE':
        return 0;
    }
  }

  private order(sort: ApartmentSort): Int32Array {
    let order = this.orders.get(sort);
    if (!order) {
      const n = this.listings.length;
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = this.sortValue(sort, i);
      const ids = this.listings.map((l) => l._id);
      order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => {
        const d = (values[a] as number) - (values[b] as number);
        if (d !== 0) return d;
        return (ids[a] as string) < (ids[b] as string) ? -1 : 1;
      });
      this.orders.set(sort, order);
    }
    return order;
  }

  /** A predicate over slots for the filter (and the radius of `near`). */
  private matcher(filter: ApartmentFilter, near: Near | undefined, now: Date): (slot: number) => boolean {
    const streets = filter.streetIds?.length ? new Set(filter.streetIds.map((s) => this.codes.get(`street:${s}`) ?? -1)) : undefined;
    const provider = filter.provider === undefined ? undefined : (this.codes.get(`provider:${filter.provider}`) ?? -1);
    const minRooms = filter.minRooms ?? -Infinity;
    const maxRooms = filter.maxRooms ?? Infinity;
    const minArea = filter.minArea ?? -Infinity;
    const maxArea = filter.maxArea ?? Infinity;
    const minRent = filter.minRent ?? -Infinity;
    const maxRent = filter.maxRent ?? Infinity;
    let availableBy = filter.availableBy?.getTime() ?? Infinity;
    if (filter.availableOnly) availableBy = Math.min(availableBy, now.getTime());
    const district = filter.districtId;
    let box: [number, number, number, number] | undefined;
    if (near?.withinMeters !== undefined) {
      // A cheap box test before the great-circle distance.
      const dLat = near.withinMeters / 111_195;
      const dLng = dLat / Math.max(Math.cos((near.lat * Math.PI) / 180), 0.01);
      box = [near.lng - dLng, near.lat - dLat, near.lng + dLng, near.lat + dLat];
    }
    return (slot) => {
      const rooms = this.rooms[slot] as number;
      const area = this.area[slot] as number;
      const rent = this.rent[slot] as number;
      if (rooms < minRooms || rooms > maxRooms || area < minArea || area > maxArea || rent < minRent || rent > maxRent) return false;
      if ((this.availableFrom[slot] as number) > availableBy) return false;
      if (streets && !streets.has(this.street[slot] as number)) return false;
      if (provider !== undefined && this.provider[slot] !== provider) return false;
      if (district !== undefined && this.listings[slot]?.districtId !== district) return false;
      if (box && near?.withinMeters !== undefined) {
        const x = this.lng[slot] as number;
        const y = this.lat[slot] as number;
        if (x < box[0] || y < box[1] || x > box[2] || y > box[3]) return false;
        if (distance(near.lng, near.lat, x, y) * 1000 > near.withinMeters) return false;
      }
      return true;
    };
  }

  search(request: SearchRequest): SearchPage<T> {
    const { filter = {}, near, sort, first, after } = request;
    const matches = this.matcher(filter, near, request.now ?? new Date());
    const hits: SearchHit<T>[] = [];
    const metres = (slot: number) =>
      near ? distance(near.lng, near.lat, this.lng[slot] as number, this.lat[slot] as number) * 1000 : undefined;

    if (sort === 'DISTANCE') {
      if (!near) throw new Error('distance sort needs a point');
      if (this.listings.length === 0) return { hits: [], hasNextPage: false };
      const past = (slot: number, d: number) =>
        !after || d > after.value || (d === after.value && (this.listings[slot] as T)._id > after.id);
      const accept = (slot: number) => matches(slot) && past(slot, metres(slot) as number);
      const maxKm = near.withinMeters === undefined ? undefined : near.withinMeters / 1000;
      let slots = around(this.spatial(), near.lng, near.lat, first + 1, maxKm, accept);
      const last = slots.at(-1);
      if (slots.length === first + 1 && last !== undefined) {
        // Flats of one building share a point: equal distances come out of the queue in no set
        // order, so take every listing up to the last one's distance and order them by (distance, id).
        const reach = (metres(last) as number) / 1000 + 1e-6;
        slots = around(this.spatial(), near.lng, near.lat, Infinity, maxKm === undefined ? reach : Math.min(maxKm, reach), accept);
      }
      const ranked = slots
        .map((slot) => ({ slot, d: metres(slot) as number }))
        .sort((a, b) => a.d - b.d || ((this.listings[a.slot] as T)._id < (this.listings[b.slot] as T)._id ? -1 : 1))
        .slice(0, first + 1)
        .map((r) => r.slot);
      for (const slot of ranked) {
        const d = metres(slot) as number;
        hits.push({ listing: this.listings[slot] as T, distanceMeters: d, value: d });
      }
    } else {
      const order = this.order(sort);
      let start = 0;
      if (after) {
        // The first slot past the cursor: the listing may have changed or gone since.
        let lo = 0;
        let hi = order.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          const slot = order[mid] as number;
          const v = this.sortValue(sort, slot);
          const beforeOrAt = v < after.value || (v === after.value && (this.listings[slot]?._id as string) <= after.id);
          if (beforeOrAt) lo = mid + 1;
          else hi = mid;
        }
        start = lo;
      }
      for (let i = start; i < order.length && hits.length <= first; i++) {
        const slot = order[i] as number;
        if (!matches(slot)) continue;
        hits.push({ listing: this.listings[slot] as T, distanceMeters: metres(slot), value: this.sortValue(sort, slot) });
      }
    }
    return { hits: hits.slice(0, first), hasNextPage: hits.length > first };
  }

  /** How many listings match (a scan of the typed arrays: well under a millisecond at 20,000). */
  count(filter: ApartmentFilter = {}, near?: Near, now = new Date()): number {
    const matches = this.matcher(filter, near, now);
    let n = 0;
    for (let slot = 0; slot < this.listings.length; slot++) if (matches(slot)) n++;
    return n;
  }
}
