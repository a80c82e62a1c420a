// Where a source record is: coordinates in whatever system the source uses (12345 often sends GCJ-02,
// Baidu maps BD-09) turned into WGS-84 through the party-map's conversion (gcoord), the grid and street
// that hold a point, and units named by id or by name (三防 areas, 信访 target units, addresses), all
// from the connector's copy of the unit directory.
import type { DirectoryUnit, UnitDirectory } from '../../platform/unit-directory.ts';
import { convert, type Crs } from '../../subgraphs/party-map/geo/crs.ts';
import { Rejected } from '../../platform/source-record.ts';

export type { Crs };

export interface SourcePoint {
  lng: number;
  lat: number;
  crs?: Crs;
}

/** A point in WGS-84, rounded to 1e-7° (about 1 cm). */
export function toWgs84(point: SourcePoint): { lng: number; lat: number } {
  const [lng, lat] = convert([point.lng, point.lat], point.crs ?? 'WGS84', 'WGS84');
  const round = (n: number) => Math.round(n * 1e7) / 1e7;
  return { lng: round(lng), lat: round(lat) };
}

const ROUTABLE = new Set(['grid', 'community', 'street']);

export class Places {
  constructor(readonly directory: UnitDirectory) {}

  /** The WGS-84 point and the grid and street holding it; Rejected when it lies outside the district. */
  locate(point: SourcePoint): { location: { lng: number; lat: number }; grid: DirectoryUnit; street: DirectoryUnit } {
    const location = toWgs84(point);
    const grid = this.directory.gridAt(location);
    const street = grid ? this.directory.streetOf(grid.id) : undefined;
    if (!grid || !street) {
      throw new Rejected(
        'outside_district',
        `location ${point.lng},${point.lat} (${point.crs ?? 'WGS84'}; WGS-84 ${location.lng},${location.lat}) is outside the district's grids`,
      );
    }
    return { location, grid, street };
  }

  /** A unit by id, or by its exact name (长洲街, 深井社区); undefined when none matches. */
  unit(idOrName: string): DirectoryUnit | undefined {
    const name = idOrName.trim();
    return this.directory.get(name) ?? this.byName().get(name);
  }

  /** A unit that can receive a call (grid, community or street), by id or name. */
  receiving(idOrName: string): DirectoryUnit | undefined {
    const unit = this.unit(idOrName);
    return unit && ROUTABLE.has(unit.kind) ? unit : undefined;
  }

  /** The most specific community or street an address names (the longest name it contains). */
  fromAddress(address: string): DirectoryUnit | undefined {
    let found: DirectoryUnit | undefined;
    for (const unit of [...this.directory.ofKind('community'), ...this.directory.ofKind('street')]) {
      if (address.includes(unit.name) && (!found || unit.name.length > found.name.length)) found = unit;
    }
    return found;
  }

  /** The streets an area names: a district gives all its streets, a community or grid its street. */
  streetsOf(area: string[]): string[] {
    const streets = new Set<string>();
    for (const name of area) {
      const unit = this.unit(name);
      if (!unit) throw new Rejected('unknown_unit', `unknown area: ${name}`);
      if (unit.kind === 'district') {
        for (const street of this.directory.ofKind('street')) if (street.parentId === unit.id) streets.add(street.id);
        continue;
      }
      const street = this.directory.streetOf(unit.id);
      if (!street) throw new Rejected('unknown_unit', `area ${name} is not a street or part of one`);
      streets.add(street.id);
    }
    return [...streets].sort();
  }

  private names: Map<string, DirectoryUnit> | undefined;
  private namesAt = -1;

  private byName(): Map<string, DirectoryUnit> {
    // Rebuilt when the directory grows (hub.units brought new units).
    if (!this.names || this.namesAt !== this.directory.size) {
      const names = new Map<string, DirectoryUnit>();
      for (const kind of ['district', 'street', 'community', 'grid', 'department'] as const) {
        for (const unit of this.directory.ofKind(kind)) if (!names.has(unit.name)) names.set(unit.name, unit);
      }
      this.names = names;
      this.namesAt = this.directory.size;
    }
    return this.names;
  }
}
