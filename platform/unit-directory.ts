// A service's own copy of the unit directory (owned by the party-map subgraph, received on
// `hub.units`; the demo district at first start). It answers jurisdiction questions (is this unit in
// that one's subtree?), the tier ladder (who is one tier up?) and routing by place (which grid holds
// this point?) without reading another subgraph's database. `followUnits` keeps one current.
import booleanPointInPolygon from '@turf/boolean-point-in-polygon';
import type { MultiPolygon, Polygon } from 'geojson';
import type { Admin, Kafka } from 'kafkajs';
import { type DemoUnit, demoUnits, type UnitKind } from '../demo/district.ts';
import type { Identity } from './auth.ts';
import type { BaseConfig } from './config.ts';
import { processConsumer, runConsumer } from './consumer.ts';
import { contract } from './contracts.ts';
import { userError } from './errors.ts';
import { ensureTopics, topicName } from './kafka.ts';
import type { Logger } from './logger.ts';
import type { Service } from './service.ts';
import { TOPICS } from './topics.ts';

/** The tiers of the call ladder (网格 → 社区 → 街道 → 部门 → 领导). */
export const TIERS = ['GRID', 'COMMUNITY', 'STREET', 'DEPARTMENT', 'LEADERSHIP'] as const;
export type Tier = (typeof TIERS)[number];

/**
 * A unit as the directory keeps it: the demo district's record, and from `hub.units` also the grid's
 * type and its boundary (GeoJSON Polygon or MultiPolygon, WGS-84).
 */
export interface DirectoryUnit extends DemoUnit {
  gridType?: 'basic' | 'key' | null;
  boundary?: Polygon | MultiPolygon | null;
  /** The hub.units version this copy came from (0 for the demo seed). */
  version?: number;
}

/** A `hub.units` record (schemas/events/unit.schema.json), as far as the directory reads it. */
export interface UnitRecord {
  unitId: string;
  version: number;
  unit: {
    id: string;
    name: string;
    kind: DemoUnit['kind'];
    parentId: string | null;
    path: string[];
    gridType: 'basic' | 'key' | null;
    bbox: [number, number, number, number] | null;
    boundary: Polygon | MultiPolygon | null;
  };
}

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

  /** Applies a `hub.units` record; an older or repeated version changes nothing. */
  apply(record: UnitRecord): boolean {
    const known = this.units.get(record.unitId);
    if (known?.version !== undefined && known.version >= record.version) return false;
    const { id, name, kind, parentId, path, gridType, bbox, boundary } = record.unit;
    this.upsert({ id, name, kind, parentId, path, gridType, boundary, version: record.version, ...(bbox && { bbox }) });
    return true;
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

  /** Routing by place (就近派单): the basic grid whose boundary holds the point, if any. */
  gridAt(point: { lng: number; lat: number }): DirectoryUnit | undefined {
    // Key grids (重点网格) overlap basic ones; calls route to the basic grid. Without a boundary (the
    // demo seed before hub.units arrives) a grid is its bounding box, half-open so that a point on a
    // shared edge lands in exactly one grid; with one, the first grid by id that holds it wins.
    let found: DirectoryUnit | undefined;
    for (const unit of this.units.values()) {
      if (unit.kind !== 'grid' || unit.gridType === 'key' || !unit.bbox) continue;
      const [minLng, minLat, maxLng, maxLat] = unit.bbox;
      if (point.lng < minLng || point.lng > maxLng || point.lat < minLat || point.lat > maxLat) continue;
      const inside = unit.boundary
        ? booleanPointInPolygon([point.lng, point.lat], unit.boundary)
        : point.lng < maxLng && point.lat < maxLat;
      if (inside && (!found || unit.id < found.id)) found = unit;
    }
    return found;
  }
}

/** The unit whose subtree an identity sees: a street command centre works for its street. */
export function jurisdictionOf(identity: Pick<Identity, 'role' | 'unitId'>, directory: UnitDirectory): string {
  if (identity.role === 'street_command') return directory.get(identity.unitId)?.parentId ?? identity.unitId;
  return identity.unitId;
}

/**
 * A directory seeded with the demo district and kept current from `hub.units`. Every copy of a
 * service needs all of it, so each reads the topic from the start in a consumer group of its own.
 */
export async function followUnits(options: {
  kafka: Kafka;
  admin: Admin;
  config: BaseConfig;
  service: Service;
  logger: Logger;
  /** Names the consumer group (`<name>-units-<uuid>`). */
  name: string;
}): Promise<UnitDirectory> {
  const { kafka, admin, config, service, logger, name } = options;
  const directory = new UnitDirectory(demoUnits());
  const unitsTopic = topicName(config, TOPICS.units);
  await ensureTopics(admin, [
    { topic: unitsTopic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
  ]);
  const validateUnit = contract<UnitRecord>('unit');
  const consumer = await processConsumer({
    kafka,
    admin,
    groupPrefix: topicName(config, `${name}-units-`),
    name: 'units consumer',
    onShutdown: (what, close) => service.onShutdown(what, close),
    logger,
  });
  await runConsumer({
    consumer,
    topics: [unitsTopic],
    fromBeginning: true,
    handle: async ({ message, partition }) => {
      if (!message.value) return;
      let record: unknown;
      try {
        record = JSON.parse(message.value.toString('utf8'));
      } catch {
        record = undefined;
      }
      const checked = validateUnit(record);
      if (checked.ok) directory.apply(checked.value);
      else logger.warn({ partition, offset: message.offset, reason: checked.reason }, 'hub.units record ignored');
    },
  });
  return directory;
}
