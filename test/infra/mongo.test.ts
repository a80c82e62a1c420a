// FerretDB (MongoDB wire protocol on SQLite), through mongoose and the platform's connection helper.

import { Schema } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, connectMongo, inSlices, mongoReadiness } from '../../platform/mongo.ts';
import { testScope } from '../support/isolation.ts';

const scope = testScope('mongo');
let conn: Connection;

const callSchema = new Schema({
  _id: String,
  title: { type: String, required: true },
  status: { type: String, required: true },
  version: { type: Number, default: 0 },
  raisedAt: { type: Date, required: true },
  tags: [String],
  location: { lng: Number, lat: Number },
});
callSchema.index({ status: 1, raisedAt: -1 });

beforeAll(async () => {
  conn = await connectMongo(scope.config, scope.dbName);
});

afterAll(async () => {
  await conn.close();
  await scope.cleanup();
});

describe('local FerretDB', () => {
  it('answers ping', async () => {
    await expect(mongoReadiness(conn)()).resolves.toBeUndefined();
  });

  it('writes and reads documents through mongoose, Chinese text and dates intact', async () => {
    const Call = conn.model('SmokeCall', callSchema);
    await Call.syncIndexes();
    const raisedAt = new Date('2026-06-19T02:30:00Z');
    await Call.create({
      _id: 'c-1',
      title: '龙船饭聚餐食品安全隐患',
      status: 'raised',
      raisedAt,
      tags: ['食品安全', '龙舟'],
      location: { lng: 113.45, lat: 23.1 },
    });
    const found = await Call.findById('c-1').lean();
    expect(found).toMatchObject({
      title: '龙船饭聚餐食品安全隐患',
      status: 'raised',
      tags: ['食品安全', '龙舟'],
    });
    expect(found?.raisedAt.toISOString()).toBe(raisedAt.toISOString());
    expect(await Call.countDocuments({ status: 'raised' })).toBe(1);
  });

  it('applies a conditional single-document update atomically, so a stale writer loses', async () => {
    const Call = conn.model('SmokeCall', callSchema);
    await Call.create({ _id: 'c-2', title: '僵尸车', status: 'raised', raisedAt: new Date() });
    const first = await Call.findOneAndUpdate(
      { _id: 'c-2', version: 0 },
      { $set: { status: 'signed' }, $inc: { version: 1 } },
      { returnDocument: 'after' },
    ).lean();
    const stale = await Call.findOneAndUpdate(
      { _id: 'c-2', version: 0 },
      { $set: { status: 'completed' }, $inc: { version: 1 } },
      { returnDocument: 'after' },
    ).lean();
    expect(first?.status).toBe('signed');
    expect(stale).toBeNull();
    expect((await Call.findById('c-2').lean())?.version).toBe(1);
  });

  it('applies a bulk of conditional updates as MongoDB does: stale ones match nothing, the rest apply', async () => {
    // The proxy checks each {_id, version} condition itself and sends FerretDB only the statements
    // that hold (pushdown.go); what the client sees must not change.
    const Call = conn.model('SmokeCall', callSchema);
    const ids = ['bulk-c-1', 'bulk-c-2', 'bulk-c-3', 'bulk-c-4'];
    await Call.insertMany(ids.map((_id) => ({ _id, title: '施工噪音', status: 'raised', raisedAt: new Date() })));
    await Call.updateOne({ _id: 'bulk-c-2' }, { $inc: { version: 1 } });
    const result = await Call.bulkWrite(
      [
        { updateOne: { filter: { _id: 'bulk-c-1', version: 0 }, update: { $set: { status: 'signed' } } } },
        { updateOne: { filter: { _id: 'bulk-c-2', version: 0 }, update: { $set: { status: 'signed' } } } }, // stale
        { updateOne: { filter: { _id: 'bulk-c-3' }, update: { $set: { status: 'signed' } } } },
        { updateOne: { filter: { _id: 'bulk-c-missing', version: 0 }, update: { $set: { status: 'signed' } } } },
        { updateOne: { filter: { _id: 'bulk-c-4', version: 0 }, update: { $set: { status: 'signed' } } } },
      ],
      { ordered: false },
    );
    expect({ matched: result.matchedCount, modified: result.modifiedCount }).toEqual({ matched: 3, modified: 3 });
    const stored = await Call.find({ _id: { $in: ids } }, { status: 1 }).sort({ _id: 1 }).lean();
    expect(stored.map((c) => c.status)).toEqual(['signed', 'raised', 'signed', 'signed']);

    // A statement that fails after one the proxy dropped still fails, with its own error.
    const failed = conn.db!.collection<{ _id: string }>(Call.collection.collectionName).bulkWrite(
      [
        { updateOne: { filter: { _id: 'bulk-c-2', version: 0 }, update: { $set: { status: 'closed' } } } }, // stale
        { updateOne: { filter: { _id: 'bulk-c-3', version: 0 }, update: { $inc: { title: 1 } } } }, // $inc on text
      ],
      { ordered: false },
    );
    await expect(failed).rejects.toThrow(/Cannot apply \$inc .*bulk-c-3/);
    expect((await Call.findById('bulk-c-2').lean())?.status).toBe('raised');
  });

  it('keeps concurrent single-document updates from different connections atomic', async () => {
    // FerretDB 1.24 on SQLite loses such updates by itself; infra/ferretdb serializes write commands.
    const other = await connectMongo(scope.config, scope.dbName);
    const Counter = conn.model('SmokeCounter', new Schema({ _id: String, n: Number, m: Number }));
    const OtherCounter = other.model('SmokeCounter', new Schema({ _id: String, n: Number, m: Number }));
    await Counter.create({ _id: 'k', n: 0, m: 0 });
    const bump = (model: typeof Counter, field: 'n' | 'm') =>
      Promise.all(Array.from({ length: 100 }, () => model.updateOne({ _id: 'k' }, { $inc: { [field]: 1 } })));
    await Promise.all([bump(Counter, 'n'), bump(OtherCounter, 'm'), bump(OtherCounter, 'n')]);
    expect(await Counter.findById('k').lean()).toMatchObject({ n: 200, m: 100 });
    await other.close();
  });

  it('refuses an update of 100+ statements with a clear error (FerretDB would deadlock), and takes them in slices', async () => {
    const Call = conn.model('BulkCall', callSchema);
    const ids = Array.from({ length: 150 }, (_, i) => `bulk-${i}`);
    await Call.insertMany(ids.map((_id) => ({ _id, title: '批量', status: 'RAISED', raisedAt: new Date() })));
    const ops = ids.map((_id) => ({ updateOne: { filter: { _id }, update: { $set: { status: 'SIGNED' } } } }));
    await expect(Call.bulkWrite(ops, { ordered: false })).rejects.toThrow(/send at most 90 per command/);
    await inSlices(ops, (slice) => Call.bulkWrite(slice, { ordered: false }));
    expect(await Call.countDocuments({ _id: { $in: ids }, status: 'SIGNED' })).toBe(150);
  });

  it('rejects a duplicate key with code 11000', async () => {
    const Call = conn.model('SmokeCall', callSchema);
    await expect(
      Call.create({ _id: 'c-1', title: 'again', status: 'raised', raisedAt: new Date() }),
    ).rejects.toMatchObject({ code: 11000 });
  });
});
