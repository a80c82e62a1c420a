// The calls subgraph's own copy of the unit directory (owned by the party-map subgraph, received on
// `hub.units`; the demo district at first start). It answers jurisdiction questions (is this unit in
// that one's subtree?), the tier ladder (who is one tier up?) and routing by place (which grid holds
// this point?) without reading another subgraph's database.
import type { DemoUnit, UnitKind } from '../../demo/district.ts';
import { userError } from '../../platform/errors.ts';
import type { Tier } from './model.ts';

/** A unit as the directory keeps it: the same record the demo district and `hub.units` carry. */
export type DirectoryUnit = DemoUnit;

const TIER_OF_KIND: Partial<Record<UnitKind, Tier>> = {
  grid: 'GRID',
  community: 'COMMUNITY',
  street: 'STREET',
  department: 'DEPARTMENT',
  leadership: 'LEADERSHIP',
};

export class UnitDirectory {
  private readonly units = new Map<string, DirectoryUnit>();

  constructor(units: Iterable<DirectoryUnit> = []) {
    for (const unit of units) this.upsert(unit);
  }

  upsert(unit: DirectoryUnit): void {
    this.units.set(unit.id, unit);
  }

  get size(): number {
    return this.units.size;
  }

  get(id: string): DirectoryUnit | undefined {
    return this.units.get(id);
  }

  /** The unit, or a NOT_FOUND error naming the id. */
  require(id: string): DirectoryUnit {
    const unit = this.units.get(id);
    if (!unit) throw userError('NOT_FOUND', `单位不存在：${id} (unknown unit)`, { unitId: id });
    return unit;
  }

  tierOf(unitId: string): Tier | undefined {
    const unit = this.units.get(unitId);
    return unit ? TIER_OF_KIND[unit.kind] : undefined;
  }

  /** True when `unitId` is `ancestorId` or lies in its subtree. */
  isWithin(unitId: string, ancestorId: string): boolean {
    return this.units.get(unitId)?.path.includes(ancestorId) ?? false;
  }

  /** The unit one tier up the ladder 网格 → 社区 → 街道; undefined from a street up. */
  callUpTarget(unitId: string): DirectoryUnit | undefined {
    const unit = this.require(unitId);
    if (unit.kind !== 'grid' && unit.kind !== 'community') return undefined;
    return unit.parentId ? this.units.get(unit.parentId) : undefined;
  }

  /** The street a unit belongs to (itself for a street; the parent street for its command centre). */
  streetOf(unitId: string): DirectoryUnit | undefined {
    const unit = this.units.get(unitId);
    if (!unit) return undefined;
    for (const id of [...unit.path].reverse()) {
      const candidate = this.units.get(id);
      if (candidate?.kind === 'street') return candidate;
    }
    return undefined;
  }

  ofKind(kind: UnitKind): DirectoryUnit[] {
    return [...this.units.values()].filter((u) => u.kind === kind);
  }

  /** Routing by place (就近派单): the grid whose area holds the point, if any. */
  gridAt(point: { lng: number; lat: number }): DirectoryUnit | undefined {
    // Demo and imported grids carry their bounding box; boundaries are rectangles in the demo data.
    // Where grids touch, the western/southern one wins (edges are half-open), so a point on a
    // shared border lands in exactly one grid.
    for (const unit of this.units.values()) {
      if (unit.kind !== 'grid' || !unit.bbox) continue;
      const [minLng, minLat, maxLng, maxLat] = unit.bbox;
      if (point.lng >= minLng && point.lng < maxLng && point.lat >= minLat && point.lat < maxLat) return unit;
    }
    return undefined;
  }
}
