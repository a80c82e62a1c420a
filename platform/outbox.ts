// Publishes the events that actions left in their aggregate's own document (the transactional
// outbox) to Kafka, keyed by the aggregate id so one aggregate's events stay in order.
//
// Several copies of a service may run: a copy takes a short lease on a document before publishing
// its events, so two copies never publish the same events at once. A crash between sending and
// recording leaves the events to be sent again after the lease ends: delivery is at-least-once, and
// consumers drop repeats by (aggregate id, sequence).
//
// What goes out carries no name, phone or ID number in clear: every published record is scrubbed
// (platform/personal-data.ts scrubDeep: notes, reasons, results typed by staff), whatever the
// aggregate put in it; sealed values pass unchanged.
import { type Model, Schema } from 'mongoose';
import type { Producer } from 'kafkajs';
import type { Logger } from './logger.ts';
import { inSlices } from './mongo.ts';
import { scrubDeep } from './personal-data.ts';
import type { RecordSigner } from './audit/signing.ts';

export interface OutboxEvent {
  eventId: string;
  type: string;
  sequence: number;
  occurredAt: Date;
  data: Record<string, unknown>;
  /** The W3C trace of the request or record that caused it: sent as the Kafka header. */
  traceparent?: string;
}

export interface Outboxed {
  _id: string;
  version: number;
  outbox: OutboxEvent[];
  outboxPending: boolean;
  publishedSeq: number;
  /** Until when (ms since the epoch) a publisher holds this document's events; 0 when nobody does. */
  outboxLease?: number;
}

/** The outbox's fields for a mongoose schema: spread them into the aggregate's schema definition. */
export const outboxSchemaFields = {
  outbox: {
    type: [
      new Schema<OutboxEvent>(
        { eventId: String, type: String, sequence: Number, occurredAt: Date, data: Schema.Types.Mixed, traceparent: String },
        { _id: false },
      ),
    ],
    default: [],
  },
  outboxPending: { type: Boolean, default: false },
  publishedSeq: { type: Number, default: 0 },
  outboxLease: { type: Number, default: 0 },
};

export interface OutboxOptions {
  producer: Producer;
  topic: string;
  logger: Logger;
  /** How often to look for events that were not published right after their action. */
  pollMs?: number;
  leaseMs?: number;
  /** Turns a stored event into the published record (adds the aggregate id, drops internals). */
  envelope: (aggregateId: string, event: OutboxEvent) => object;
  /**
   * Where the sweep looks for pending events, when the service knows better than a query (the calls
   * service: its in-memory live calls; a query on FerretDB would read the whole history).
   */
  candidates?: () => Iterable<string>;
  /** Told when an aggregate, at this version, has nothing left to publish. */
  onSettled?: (aggregateId: string, version: number) => void;
  /** Audit (#18): signs every published record (Ed25519 headers `signature`, `signature-key`; platform/audit/signing.ts). */
  signer?: RecordSigner;
}

export class OutboxPublisher<T extends Outboxed> {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private sweeping: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pollMs: number;
  private readonly leaseMs: number;

  constructor(
    private readonly model: Model<T>,
    private readonly options: OutboxOptions,
  ) {
    this.pollMs = options.pollMs ?? 500;
    this.leaseMs = options.leaseMs ?? 15_000;
  }

  start(): void {
    this.running = true;
    const tick = async () => {
      if (!this.running) return;
      try {
        await this.sweep();
      } catch (err) {
        this.options.logger.warn({ err }, 'outbox sweep failed; will retry');
      }
    };
    const loop = () => {
      this.sweeping = tick().finally(() => {
        if (this.running) this.timer = setTimeout(loop, this.pollMs);
      });
    };
    loop();
  }

  /** Stops polling and waits for the sweep and the publishes in flight. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await Promise.allSettled([this.sweeping, ...this.inFlight]);
  }

  /** Publish one aggregate's pending events now (called right after an action, for low latency). */
  kick(id: string): Promise<void> {
    const work = this.publish(id).then(
      () => undefined,
      (err: unknown) => {
        this.options.logger.warn({ err, id }, 'outbox publish failed; the sweep will retry');
      },
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    return work;
  }

  /** Publishes every aggregate with pending events; returns how many it published. */
  async sweep(limit = 200): Promise<number> {
    const pending = this.options.candidates
      ? [...this.options.candidates()].slice(0, limit).map((_id) => ({ _id }))
      : await this.model.find({ outboxPending: true }, { _id: 1 }).limit(limit).lean<Array<{ _id: string }>>();
    let published = 0;
    for (const { _id } of pending) {
      if (!this.running) break;
      published += await this.publish(_id);
    }
    return published;
  }

  private async publish(id: string): Promise<number> {
    const doc = await this.model.findById(id).lean<Outboxed>();
    const now = Date.now();
    if (doc && !doc.outboxPending) this.options.onSettled?.(id, doc.version);
    if (!doc?.outboxPending || (doc.outboxLease ?? 0) > now) return 0;
    // Take the lease by compare-and-set on what was just read: of two copies, one wins. The lease
    // alone is not enough: another copy may have taken it, published and released it back to 0 since
    // the read, and this copy would send those events again; so publishing must not have moved either.
    // (Equality conditions keep the write cheap on FerretDB, whose proxy checks them without a scan.)
    const leased = await this.model.updateOne(
      {
        _id: id,
        publishedSeq: doc.publishedSeq,
        // A document written without the field (an older one, a raw insert) is taken once the slow way.
        outboxLease: doc.outboxLease === undefined ? { $exists: false } : doc.outboxLease,
      },
      { $set: { outboxLease: now + this.leaseMs } },
    );
    if (leased.modifiedCount === 0) return 0;
    const events = doc.outbox.filter((e) => e.sequence > doc.publishedSeq).sort((a, b) => a.sequence - b.sequence);
    const upTo = events.at(-1)?.sequence ?? doc.publishedSeq;
    if (events.length > 0) {
      await this.options.producer.send({ topic: this.options.topic, messages: events.map((event) => this.message(id, event)) });
    }
    await this.settle(id, doc.version, upTo);
    return events.length;
  }

  /**
   * Records that an aggregate's events up to `upTo` are out. Nothing new since `version`: the
   * published events are dropped. Otherwise they stay, publishing is recorded as far as it got, and
   * the rest go out in the next round.
   */
  private async settle(id: string, version: number, upTo: number): Promise<void> {
    const settled = await this.model.updateOne({ _id: id, version }, { $set: { outbox: [], outboxPending: false, publishedSeq: upTo, outboxLease: 0 } });
    if (settled.matchedCount === 1) this.options.onSettled?.(id, version);
    else {
      await this.model.updateOne({ _id: id }, { $max: { publishedSeq: upTo }, $set: { outboxLease: 0 } });
      if (this.running) void this.kick(id);
    }
  }

  /**
   * A lease for documents a batch writer is about to insert and then publish itself
   * (publishInserted): stored with them, it keeps the sweep (of any copy) off them meanwhile, and
   * hands them to the sweep should this copy die before publishing.
   */
  newLease(): number {
    return Date.now() + this.leaseMs;
  }

  /**
   * Publishes the pending events of documents this copy has just inserted under its own lease
   * (newLease): all of them in one send, acknowledged with one bulk update per slice (BULK_SLICE,
   * FerretDB's statement limit). A document that changed since its insert is acknowledged alone,
   * as `publish` does. A failure is logged, not thrown: the documents are stored, and once the lease
   * ends the sweep publishes them (again, should the send have gone out: at-least-once, as everywhere).
   */
  async publishInserted(docs: readonly T[]): Promise<void> {
    const work = this.publishInsertedNow(docs).catch((err: unknown) => {
      this.options.logger.warn({ err, documents: docs.length }, 'outbox batch publish failed; the sweep will retry once the lease ends');
    });
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    await work;
  }

  private async publishInsertedNow(docs: readonly T[]): Promise<void> {
    const pending = docs.map((doc) => ({
      doc,
      events: doc.outbox.filter((e) => e.sequence > doc.publishedSeq).sort((a, b) => a.sequence - b.sequence),
    }));
    const messages = pending.flatMap(({ doc, events }) => events.map((event) => this.message(doc._id, event)));
    if (messages.length > 0) await this.options.producer.send({ topic: this.options.topic, messages });
    await inSlices(pending, async (slice) => {
      const upTo = ({ doc, events }: (typeof slice)[number]) => events.at(-1)?.sequence ?? doc.publishedSeq;
      const acknowledged = await this.model.bulkWrite(
        slice.map((item) => ({
          updateOne: {
            filter: { _id: item.doc._id, version: item.doc.version },
            update: { $set: { outbox: [], outboxPending: false, publishedSeq: upTo(item), outboxLease: 0 } },
          },
        })),
        { ordered: false },
      );
      if (acknowledged.matchedCount === slice.length) {
        for (const { doc } of slice) this.options.onSettled?.(doc._id, doc.version);
        return;
      }
      // Some changed since their insert (the count does not say which): each is settled alone.
      for (const item of slice) await this.settle(item.doc._id, item.doc.version, upTo(item));
    });
  }

  /** One event as published: scrubbed, keyed by its aggregate, signed. */
  private message(id: string, event: OutboxEvent) {
    const value = JSON.stringify(scrubDeep(this.options.envelope(id, event)));
    return {
      key: id,
      value,
      headers: {
        'event-id': event.eventId,
        'event-type': event.type,
        ...(event.traceparent && { traceparent: event.traceparent }),
        // Audit (#18): the signature covers the value exactly as sent, its topic and key.
        ...this.options.signer?.headers(this.options.topic, id, value),
      },
    };
  }
}
