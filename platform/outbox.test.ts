// The transactional outbox on the real FerretDB and Kafka: two copies publishing one aggregate while
// its actions keep adding events.
import { type Model, Schema } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, type Collected } from '../test/support/calls.ts';
import { testScope } from '../test/support/isolation.ts';
import { waitFor } from '../test/support/wait.ts';
import { createKafka, ensureTopics, topicName } from './kafka.ts';
import { createLogger } from './logger.ts';
import { type Connection, connectMongo } from './mongo.ts';
import { type Outboxed, OutboxPublisher, outboxSchemaFields } from './outbox.ts';

const scope = testScope('outbox');
const logger = createLogger('test', 'warn');
const topic = topicName(scope.config, 'hub.outbox-smoke');
const kafka = createKafka(scope.config, 'outbox-test', logger);
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
let conn: Connection;
let Aggregate: Model<Outboxed>;
let published: Collected;

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: 1 }]);
  await admin.disconnect();
  await producer.connect();
  conn = await connectMongo(scope.config, scope.dbName);
  Aggregate = conn.model<Outboxed>('Aggregate', new Schema({ _id: String, version: Number, ...outboxSchemaFields }));
  published = await collect(scope, topic);
});

afterAll(async () => {
  await published.stop();
  await producer.disconnect();
  await conn.close();
  await scope.cleanup();
});

describe('outbox', () => {
  it('publishes each event once and in order while two copies publish the same aggregate at once', async () => {
    const copies = [0, 1].map(
      () =>
        new OutboxPublisher(Aggregate, {
          producer,
          topic,
          logger,
          pollMs: 3_600_000, // only the kicks below publish
          envelope: (id, event) => ({ id, sequence: event.sequence }),
        }),
    );
    copies.forEach((c) => c.start());
    const id = 'longchuan-1';
    await Aggregate.create({ _id: id, version: 0, outbox: [], outboxPending: false, publishedSeq: 0, outboxLease: 0 });
    const kicks: Array<Promise<void>> = [];
    const EVENTS = 40;
    for (let sequence = 1; sequence <= EVENTS; sequence++) {
      // An action: one more event in the aggregate's own document, then both copies told at once.
      await Aggregate.updateOne(
        { _id: id },
        {
          $push: { outbox: { eventId: `e${sequence}`, type: 'smoke', sequence, occurredAt: new Date(), data: {} } },
          $set: { outboxPending: true },
          $inc: { version: 1 },
        },
      );
      kicks.push(...copies.map((c) => c.kick(id)), ...copies.map((c) => c.kick(id)));
    }
    await Promise.all(kicks);
    // A copy that finds newer events when it settles publishes again on its own, until none are left.
    await waitFor('the outbox settled', async () => {
      const doc = await Aggregate.findById(id).lean();
      return doc?.publishedSeq === EVENTS && !doc.outboxPending ? doc : undefined;
    });
    // Every send has been acknowledged once both copies stop; a marker after them shows that the
    // collector has read them all.
    await Promise.all(copies.map((c) => c.stop()));
    await producer.send({ topic, messages: [{ key: 'marker', value: JSON.stringify({ id: 'marker' }) }] });
    await waitFor('the marker', () => (published.records.some((r) => r.id === 'marker') ? true : undefined));
    const all = published.records.filter((r) => r.id === id);
    expect(all.map((r) => r.sequence)).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1));
    expect(await Aggregate.findById(id).lean()).toMatchObject({ outbox: [], outboxLease: 0 });
  });

  it('publishes no phone, ID number or name in clear, whatever text an action put in its event', async () => {
    const publisher = new OutboxPublisher(Aggregate, {
      producer,
      topic,
      logger,
      pollMs: 3_600_000,
      envelope: (id, event) => ({ id, ...event.data }),
    });
    publisher.start();
    const id = 'personal-1';
    const note = '已回电来电人张三（13812345678，身份证440112199001011234），座机020-88886666';
    await Aggregate.create({
      _id: id,
      version: 1,
      outbox: [{ eventId: 'p1', type: 'note', sequence: 1, occurredAt: new Date(), data: { note, result: { text: '联系人李四 139 0000 1111' } } }],
      outboxPending: true,
      publishedSeq: 0,
      outboxLease: 0,
    });
    await publisher.kick(id);
    await publisher.stop();
    const event = await waitFor('the event', () => published.records.find((r) => r.id === id));
    expect(event.note).toBe('已回电来电人张*（138****5678，身份证4401**********1234），座机020****6666');
    expect(event.result).toEqual({ text: '联系人李* 139****1111' });
  });

  it('publishes documents inserted under its lease in one send, acknowledges them in slices, and leaves a changed one its later events', async () => {
    const publisher = new OutboxPublisher(Aggregate, {
      producer,
      topic,
      logger,
      pollMs: 3_600_000,
      envelope: (id, event) => ({ id, sequence: event.sequence }),
    });
    publisher.start();
    // More documents than one acknowledgement slice (BULK_SLICE) takes.
    const docs: Outboxed[] = Array.from({ length: 60 }, (_, i) => ({
      _id: `batch-${i}`,
      version: 1,
      outbox: [{ eventId: `b${i}-1`, type: 'raised', sequence: 1, occurredAt: new Date(), data: {} }],
      outboxPending: true,
      publishedSeq: 0,
      outboxLease: publisher.newLease(),
    }));
    await Aggregate.insertMany(docs);
    // The sweep leaves leased documents alone.
    expect(await publisher.sweep()).toBe(0);
    // One changes between its insert and the acknowledgement: a second event.
    await Aggregate.updateOne(
      { _id: 'batch-7' },
      { $push: { outbox: { eventId: 'b7-2', type: 'noted', sequence: 2, occurredAt: new Date(), data: {} } }, $set: { outboxPending: true }, $inc: { version: 1 } },
    );
    await publisher.publishInserted(docs);
    await waitFor('every document settled', async () => {
      const stored = await Promise.all(docs.map((doc) => Aggregate.findById(doc._id).lean()));
      return stored.every((doc) => doc && !doc.outboxPending && doc.publishedSeq === (doc._id === 'batch-7' ? 2 : 1)) ? stored : undefined;
    }, 90_000);
    await publisher.stop();
    await producer.send({ topic, messages: [{ key: 'marker', value: JSON.stringify({ id: 'marker-batch' }) }] });
    await waitFor('the marker', () => (published.records.some((r) => r.id === 'marker-batch') ? true : undefined));
    const sent = published.records.filter((r) => String(r.id).startsWith('batch-'));
    expect(sent).toHaveLength(61);
    expect(new Set(sent.map((r) => `${r.id}:${r.sequence}`)).size).toBe(61);
    expect(sent.filter((r) => r.id === 'batch-7').map((r) => r.sequence)).toEqual([1, 2]);
  });

  it('does not send again what a batch of a copy that died before recording sent: its sent marks tell the next publisher', async () => {
    const envelope = (id: string, event: { sequence: number }) => ({ id, sequence: event.sequence });
    // A copy that never gets to record (it would after a pause of an hour), with a short lease.
    const dying = new OutboxPublisher(Aggregate, { producer, topic, logger, pollMs: 3_600_000, leaseMs: 1_000, recordAfterQuietMs: 3_600_000, envelope });
    const lease = dying.newLease();
    const docs: Outboxed[] = Array.from({ length: 3 }, (_, i) => ({
      _id: `marked-${i}`,
      version: 1,
      outbox: [{ eventId: `m${i}-1`, type: 'raised', sequence: 1, occurredAt: new Date(), data: {} }],
      outboxPending: true,
      publishedSeq: 0,
      outboxLease: lease,
    }));
    await Aggregate.insertMany(docs);
    await dying.publishInserted(docs);
    const ids = docs.map((d) => d._id);
    expect(await Aggregate.countDocuments({ _id: { $in: ids }, outboxPending: true })).toBe(3);

    // Another copy's sweep once the lease has ended: it reads the marks, sends nothing, records them.
    const next = new OutboxPublisher(Aggregate, { producer, topic, logger, pollMs: 3_600_000, envelope });
    await waitFor('the lease to end', () => (Date.now() > lease ? true : undefined));
    next.start();
    await waitFor('every document recorded as published', async () =>
      (await Aggregate.countDocuments({ _id: { $in: ids }, outboxPending: false, publishedSeq: 1, outbox: { $size: 0 } })) === 3 ? true : undefined,
    );
    // Each mark goes right after its document is recorded.
    const marks = conn.db!.collection(`${Aggregate.collection.collectionName}_outbox_sent`);
    await waitFor('the marks removed', async () => ((await marks.countDocuments({ _id: { $in: ids } } as never)) === 0 ? true : undefined));

    await producer.send({ topic, messages: [{ key: 'marker', value: JSON.stringify({ id: 'marker-marks' }) }] });
    await waitFor('the marker', () => (published.records.some((r) => r.id === 'marker-marks') ? true : undefined));
    expect(published.records.filter((r) => String(r.id).startsWith('marked-')).map((r) => r.id).sort()).toEqual(ids);
    await Promise.all([dying.stop(), next.stop()]);
  });

  it('sends a changed document\'s later events once when its batch record lands while a kick is sending them', async () => {
    // The sends of this publisher wait at a gate the test opens, so the batch's recording lands
    // while a kick holds the lease and is sending.
    let open: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (open = resolve));
    let holding = false;
    let waiting = 0;
    const gated = {
      ...producer,
      send: async (record: Parameters<typeof producer.send>[0]) => {
        if (holding) {
          waiting++;
          await opened;
        }
        return producer.send(record);
      },
    } as typeof producer;
    const publisher = new OutboxPublisher(Aggregate, { producer: gated, topic, logger, pollMs: 3_600_000, recordAfterQuietMs: 200, envelope: (id, event) => ({ id, sequence: event.sequence }) });
    publisher.start();
    const id = 'raced-1';
    const doc: Outboxed = {
      _id: id,
      version: 1,
      outbox: [{ eventId: 'r1-1', type: 'raised', sequence: 1, occurredAt: new Date(), data: {} }],
      outboxPending: true,
      publishedSeq: 0,
      outboxLease: publisher.newLease(),
    };
    await Aggregate.insertMany([doc]);
    await publisher.publishInserted([doc]);
    // A note right behind the insert (as intake applies one), published by its kick, held at the gate.
    holding = true;
    await Aggregate.updateOne(
      { _id: id },
      { $push: { outbox: { eventId: 'r1-2', type: 'noted', sequence: 2, occurredAt: new Date(), data: {} } }, $set: { outboxPending: true }, $inc: { version: 1 } },
    );
    const kicked = publisher.kick(id);
    await waitFor('the kick sending', () => (waiting === 1 ? true : undefined));
    const { outboxLease: kickLease } = (await Aggregate.findById(id).lean())!;
    // The batch's record finds the document changed, records what it sent, and leaves the kick its lease.
    await waitFor('the batch recorded', async () => ((await Aggregate.findById(id).lean())?.publishedSeq === 1 ? true : undefined));
    expect((await Aggregate.findById(id).lean())?.outboxLease).toBe(kickLease);
    // Another kick now finds the lease held and sends nothing (were it released, it would wait at the gate).
    const again = publisher.kick(id);
    await Promise.race([again, waitFor('a second send', () => (waiting === 2 ? true : undefined))]);
    open();
    await Promise.all([kicked, again]);
    await waitFor('settled', async () => {
      const stored = await Aggregate.findById(id).lean();
      return stored && !stored.outboxPending && stored.publishedSeq === 2 ? stored : undefined;
    });
    await publisher.stop();
    await producer.send({ topic, messages: [{ key: 'marker', value: JSON.stringify({ id: 'marker-raced' }) }] });
    await waitFor('the marker', () => (published.records.some((r) => r.id === 'marker-raced') ? true : undefined));
    expect(published.records.filter((r) => r.id === id).map((r) => r.sequence)).toEqual([1, 2]);
  });
});
