// Unit changes and their hub.units records (compacted, keyed by unit id). Every change to a unit is
// written together with its record, in the unit's own document (the outbox, DESIGN.md), by one
// single-document update; platform/outbox.ts then publishes it, one unit at a time under a lease, so
// a unit's records reach the topic in order and compaction keeps the latest.
import { randomUUID } from 'node:crypto';
import type { AnyBulkWriteOperation } from 'mongoose';
import type { Producer } from 'kafkajs';
import type { Logger } from '../../platform/logger.ts';
import { inSlices } from '../../platform/mongo.ts';
import { type OutboxEvent, OutboxPublisher } from '../../platform/outbox.ts';
import { type Models, type UnitDoc, type UnitState, findByIds } from './models.ts';

export const UNIT_RECORD_SCHEMA = 'hub.units/v1';
export const UNIT_CHANGED = 'unit.changed';

/** The unit as published: what another service needs to route and to check jurisdiction. */
export type UnitSnapshot = {
  id: string;
  name: string;
  kind: UnitDoc['kind'];
  parentId: string | null;
  path: string[];
  gridType: 'basic' | 'key' | null;
  focus: string | null;
  crs: 'WGS84';
  /** [minLng, minLat, maxLng, maxLat] */
  bbox: [number, number, number, number] | null;
  centre: { lng: number; lat: number } | null;
  /** GeoJSON Polygon or MultiPolygon geometry. */
  boundary: unknown;
};

/** The hub.units record value (schemas/events/unit.schema.json). */
export type UnitRecordValue = {
  schema: typeof UNIT_RECORD_SCHEMA;
  eventId: string;
  unitId: string;
  /** The unit's version: grows by one with every change; keep the highest seen. */
  version: number;
  changedAt: string;
  unit: UnitSnapshot;
};

/** The snapshot as the outbox keeps it: the boundary stays GeoJSON text (no nested arrays stored). */
type StoredSnapshot = Omit<UnitSnapshot, 'boundary'> & { boundary: string | null };

function storedSnapshot(state: UnitState): StoredSnapshot {
  return {
    id: state._id,
    name: state.name,
    kind: state.kind,
    parentId: state.parentId ?? null,
    path: state.path,
    gridType: state.gridType ?? null,
    focus: state.focus ?? null,
    crs: 'WGS84',
    bbox: state.bbox ? [state.bbox.minLng, state.bbox.minLat, state.bbox.maxLng, state.bbox.maxLat] : null,
    centre: state.centre ? { lng: state.centre.lng, lat: state.centre.lat } : null,
    boundary: state.boundary ?? null,
  };
}

export function unitChange(state: UnitState, sequence: number, at: Date): OutboxEvent {
  return { eventId: randomUUID(), type: UNIT_CHANGED, sequence, occurredAt: at, data: storedSnapshot(state) };
}

export function unitRecord(unitId: string, event: OutboxEvent): UnitRecordValue {
  const stored = event.data as StoredSnapshot;
  return {
    schema: UNIT_RECORD_SCHEMA,
    eventId: event.eventId,
    unitId,
    version: event.sequence,
    changedAt: new Date(event.occurredAt).toISOString(),
    unit: { ...stored, boundary: stored.boundary ? (JSON.parse(stored.boundary) as unknown) : null },
  };
}

export function createUnitPublisher(
  models: Models,
  options: { producer: Producer; topic: string; logger: Logger; pollMs: number },
): OutboxPublisher<UnitDoc> {
  return new OutboxPublisher<UnitDoc>(models.Unit, {
    ...options,
    envelope: (unitId, event) => unitRecord(unitId, event),
  });
}

const STATE_FIELDS = ['_id', 'name', 'kind', 'parentId', 'path', 'gridType', 'focus', 'contacts', 'boundary', 'bbox', 'centre', 'areaSqm'] as const;

export function stateOf(doc: UnitState): UnitState {
  return Object.fromEntries(STATE_FIELDS.map((f) => [f, doc[f]])) as UnitState;
}

export interface UnitChangeRequest {
  id: string;
  /** The fields that change. */
  set: Partial<Omit<UnitState, '_id'>>;
  /** The whole unit, when it may not exist yet. */
  create?: UnitState;
}

function onlyDuplicateKeys(err: unknown): boolean {
  const e = err as { code?: number; writeErrors?: Array<{ code?: number; err?: { code?: number } }> };
  if (e.code === 11000) return true;
  return !!e.writeErrors?.length && e.writeErrors.every((w) => (w.code ?? w.err?.code) === 11000);
}

/**
 * Applies unit changes, each as one conditional single-document update carrying its hub.units record.
 * A unit changed by someone else in between is read again and retried, so no change or record is
 * lost. Returns the ids created and updated.
 */
export async function writeUnits(models: Models, changes: UnitChangeRequest[], now = new Date()): Promise<{ created: string[]; updated: string[] }> {
  const created: string[] = [];
  const updated: string[] = [];
  let pending = changes;
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt === 5) throw new Error(`units kept changing underneath: ${pending.map((c) => c.id).join(', ')}`);
    const current = new Map(
      (await findByIds<UnitDoc>(models.Unit, pending.map((c) => c.id), { outbox: 0 })).map((d) => [d._id, d]),
    );
    const ops: Array<AnyBulkWriteOperation<UnitDoc>> = [];
    const expected = new Map<string, { eventId: string; insert: boolean }>();
    for (const change of pending) {
      const doc = current.get(change.id);
      if (doc) {
        const event = unitChange({ ...stateOf(doc), ...change.set }, doc.version + 1, now);
        expected.set(change.id, { eventId: event.eventId, insert: false });
        ops.push({
          updateOne: {
            filter: { _id: change.id, version: doc.version },
            update: { $set: { ...change.set, outboxPending: true, updatedAt: now }, $inc: { version: 1 }, $push: { outbox: event } },
          },
        });
      } else if (change.create) {
        const state = { ...change.create, ...change.set };
        const event = unitChange(state, 1, now);
        expected.set(change.id, { eventId: event.eventId, insert: true });
        ops.push({ insertOne: { document: { ...state, version: 1, outbox: [event], outboxPending: true, publishedSeq: 0, updatedAt: now } } });
      }
      // A change to a unit that does not exist and may not be created is dropped: callers check first.
    }
    if (ops.length === 0) break;
    await inSlices(ops, async (slice) => {
      try {
        await models.Unit.bulkWrite(slice, { ordered: false });
      } catch (err) {
        if (!onlyDuplicateKeys(err)) throw err;
      }
    });
    // A change went through when its record is in the document. Should the publisher have sent and
    // cleared it in this instant, the change is applied once more: a repeated record, harmless.
    // Only `_id` and `outbox` are read back.
    const after = await findByIds<UnitDoc>(models.Unit, [...expected.keys()], { outbox: 1 });
    const landed = new Set(after.filter((d) => d.outbox.some((e) => e.eventId === expected.get(d._id)?.eventId)).map((d) => d._id));
    for (const [id, { insert }] of expected) if (landed.has(id)) (insert ? created : updated).push(id);
    pending = pending.filter((c) => expected.has(c.id) && !landed.has(c.id));
  }
  return { created, updated };
}
