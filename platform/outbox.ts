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
import { BULK_SLICE, duplicatesOf, eachLimited } from './mongo.ts';
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
  /** How long publishInserted waits for a pause before recording (default RECORD_AFTER_QUIET_MS). */
  recordAfterQuietMs?: number;
  /** Audit (#18): signs every published record (Ed25519 headers `signature`, `signature-key`; platform/audit/signing.ts). */
  signer?: RecordSigner;
}

/**
 * How long publishInserted waits for a pause in batches before recording on the documents what it
 * published: during a burst of intake the store's one writer at a time (FerretDB) goes to new calls
 * and one small "sent" mark per call (one insert a batch), and the documents' own bookkeeping (a
 * conditional update each) follows in the pause.
 */
export const RECORD_AFTER_QUIET_MS = 1_000;
/** Published documents whose record may wait (memory bound); past it a batch records before it returns. */
export const UNRECORDED_MAX = 20_000;
/** Documents a sweep publishes at once. */
const SWEEP_AT_ONCE = 4;
/** How long a stopping publisher goes on recording; the rest stays marked sent, for the next start. */
const RECORD_ON_STOP_MS = 5_000;

/** The update recording that a document's events up to `upTo` are out and nothing waits. */
const publishedUpTo = (upTo: number) => ({ $set: { outbox: [], outboxPending: false, publishedSeq: upTo, outboxLease: 0 } });

/** Events of an aggregate sent by publishInserted up to `upTo`, before its document says so. */
interface SentMark {
  _id: string;
  upTo: number;
}
const sentMarkSchema = new Schema<SentMark>({ _id: String, upTo: Number }, { versionKey: false });

export class OutboxPublisher<T extends Outboxed> {
  private timer: NodeJS.Timeout | undefined;
  /**
   * Documents inserted and published by publishInserted whose own copy does not say so yet: what
   * went out (up to `upTo`) at `version`, under this copy's `lease`. Each also has a sent mark in the
   * store (`sent`, one insert a batch), read by whoever publishes the document next (this copy after a
   * restart, another copy once the lease ends), so nothing is sent twice. Recorded on the documents
   * when the batches pause (recordPublished), and the marks removed.
   */
  private readonly unrecorded = new Map<string, { version: number; upTo: number; lease: number | undefined }>();
  private lastBatchAt = 0;
  private recordTimer: NodeJS.Timeout | undefined;
  private recording: Promise<void> | undefined;
  private readonly sent: Model<SentMark>;
  private running = false;
  /** Set by stop(): the recording after a burst gives way to stop's own, bounded one. */
  private stopping = false;
  private sweeping: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly recordAfterQuietMs: number;

  constructor(
    private readonly model: Model<T>,
    private readonly options: OutboxOptions,
  ) {
    this.pollMs = options.pollMs ?? 500;
    this.leaseMs = options.leaseMs ?? 15_000;
    this.recordAfterQuietMs = options.recordAfterQuietMs ?? RECORD_AFTER_QUIET_MS;
    const name = `${model.modelName}OutboxSent`;
    this.sent = (model.db.models[name] as Model<SentMark> | undefined) ?? model.db.model<SentMark>(name, sentMarkSchema, `${model.collection.collectionName}_outbox_sent`);
  }

  start(): void {
    this.running = true;
    this.stopping = false;
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

  /** Stops polling, waits for the sweep and the publishes in flight, and records what went out. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    clearTimeout(this.timer);
    clearTimeout(this.recordTimer);
    await Promise.allSettled([this.sweeping, ...this.inFlight]);
    await this.recording;
    const until = Date.now() + RECORD_ON_STOP_MS;
    await this.recordPublished(() => Date.now() < until).catch((err: unknown) => {
      this.options.logger.warn({ err, documents: this.unrecorded.size }, 'outbox could not record what it published; its sent marks stay for the next start');
    });
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
    // A few at a time: a copy taking over another's calls (their lease ended) has one read, a send
    // and a write or two for each, and the store's writer is shared with everything else.
    const published = await eachLimited(pending, SWEEP_AT_ONCE, ({ _id }) => (this.running ? this.publish(_id) : Promise.resolve(0)));
    return published.reduce((a, b) => a + b, 0);
  }

  private async publish(id: string): Promise<number> {
    const doc = await this.model.findById(id).lean<Outboxed>();
    const now = Date.now();
    if (doc && !doc.outboxPending) this.options.onSettled?.(id, doc.version);
    if (!doc?.outboxPending) return 0;
    // Published by this copy's publishInserted, not recorded yet: those events are out, and the
    // lease they were inserted under is this copy's own.
    const unrecorded = this.unrecorded.get(id);
    const ownLease = unrecorded !== undefined && unrecorded.lease === doc.outboxLease;
    if (!ownLease && (doc.outboxLease ?? 0) > now) return 0;
    // Unchanged since this copy's batch sent it: only the recording is left, and that is recordPublished's.
    if (ownLease && unrecorded.version === doc.version) return 0;
    let publishedSeq = Math.max(doc.publishedSeq, ownLease ? unrecorded.upTo : 0);
    // Never recorded, and leased once: perhaps sent by a batch of a copy since stopped or gone.
    const mark = !ownLease && doc.publishedSeq === 0 && (doc.outboxLease ?? 0) !== 0 ? await this.sent.findById(id).lean<SentMark>() : null;
    if (mark) publishedSeq = Math.max(publishedSeq, mark.upTo);
    // Everything in it is out already (a mark covers it): only recording is left, idempotent, no lease needed.
    if (mark && !doc.outbox.some((e) => e.sequence > publishedSeq)) {
      await this.settle(id, doc.version, publishedSeq, doc.outboxLease, true);
      return 0;
    }
    // Take the lease by compare-and-set on what was just read: of two copies, one wins. The lease
    // alone is not enough: another copy may have taken it, published and released it back to 0 since
    // the read, and this copy would send those events again; so publishing must not have moved either.
    // (Equality conditions keep the write cheap on FerretDB, whose proxy checks them without a scan.)
    const lease = now + this.leaseMs;
    const leased = await this.model.updateOne(
      {
        _id: id,
        publishedSeq: doc.publishedSeq,
        // A document written without the field (an older one, a raw insert) is taken once the slow way.
        outboxLease: doc.outboxLease === undefined ? { $exists: false } : doc.outboxLease,
      },
      { $set: { outboxLease: lease } },
    );
    if (leased.modifiedCount === 0) return 0;
    const events = doc.outbox.filter((e) => e.sequence > publishedSeq).sort((a, b) => a.sequence - b.sequence);
    const upTo = events.at(-1)?.sequence ?? publishedSeq;
    if (events.length > 0) {
      await this.options.producer.send({ topic: this.options.topic, messages: events.map((event) => this.message(id, event)) });
    }
    await this.settle(id, doc.version, upTo, lease, ownLease || mark !== null);
    return events.length;
  }

  /**
   * Records that an aggregate's events up to `upTo` are out. Nothing new since `version`: the
   * published events are dropped. Otherwise they stay, publishing is recorded as far as it got, and
   * the rest go out in the next round. `lease` is the lease this publisher sent under: released only
   * while it is still on the document. A batch's recording may land while a kick has taken a newer
   * lease and is sending the later events; releasing that one let another publisher send them again.
   */
  private async settle(id: string, version: number, upTo: number, lease: number | undefined, marked = false): Promise<void> {
    const settled = await this.model.updateOne({ _id: id, version }, publishedUpTo(upTo));
    // Recorded now, one way or the other (the $max below when it changed since): the mark can go.
    if ((this.unrecorded.get(id)?.upTo ?? 0) <= upTo) this.unrecorded.delete(id);
    if (marked) await this.sent.deleteOne({ _id: id });
    if (settled.matchedCount === 1) {
      this.options.onSettled?.(id, version);
      return;
    }
    const released = lease === undefined ? { matchedCount: 0 } : await this.model.updateOne({ _id: id, outboxLease: lease }, { $max: { publishedSeq: upTo }, $set: { outboxLease: 0 } });
    if (released.matchedCount === 0) await this.model.updateOne({ _id: id }, { $max: { publishedSeq: upTo } });
    if (this.running) void this.kick(id);
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
   * (newLease), all of them in one send. Recording that they went out waits for a pause in the
   * batches (RECORD_AFTER_QUIET_MS; recordPublished), so a burst's store writes are its inserts. A
   * failure is logged, not thrown: the documents are stored, and once the lease ends the sweep
   * publishes them (again, should the send have gone out: at-least-once, as everywhere).
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
    const marks = pending.map(({ doc, events }) => ({ _id: doc._id, upTo: events.at(-1)?.sequence ?? doc.publishedSeq }));
    pending.forEach(({ doc }, i) => {
      this.unrecorded.set(doc._id, { version: doc.version, upTo: marks[i]!.upTo, lease: doc.outboxLease });
      this.options.onSettled?.(doc._id, doc.version);
    });
    try {
      // A repeat's mark is there already.
      await this.sent.insertMany(marks, { ordered: false }).catch(duplicatesOf);
      if (this.unrecorded.size > UNRECORDED_MAX) await this.recordPublished(() => this.unrecorded.size > UNRECORDED_MAX / 2);
    } finally {
      // They are out, marked or not: recording them must follow in any case.
      this.lastBatchAt = Date.now();
      this.scheduleRecording();
    }
  }

  /** Records what went out once the batches pause. */
  private scheduleRecording(): void {
    if (this.stopping || this.recordTimer || this.recording) return;
    this.recordTimer = setTimeout(() => {
      this.recordTimer = undefined;
      // Until stopped: stop() then records for RECORD_ON_STOP_MS at most and leaves the rest marked.
      this.recording = this.recordPublished(() => !this.stopping && Date.now() - this.lastBatchAt >= this.recordAfterQuietMs)
        .catch((err: unknown) => this.options.logger.warn({ err }, 'outbox could not record what it published; will retry'))
        .finally(() => {
          this.recording = undefined;
          if (this.unrecorded.size > 0) this.scheduleRecording();
        });
    }, this.recordAfterQuietMs);
  }

  /**
   * Records on the documents that they went out, oldest first, one bulk update and one removal of
   * their marks per slice (BULK_SLICE, FerretDB's statement limit), for as long as `go` says. A
   * document that changed since its insert is settled alone, as `publish` does.
   */
  private async recordPublished(go: () => boolean): Promise<void> {
    while (this.unrecorded.size > 0 && go()) {
      // The oldest BULK_SLICE, without copying the whole backlog.
      const slice: Array<[string, { version: number; upTo: number; lease: number | undefined }]> = [];
      for (const entry of this.unrecorded) if (slice.push(entry) === BULK_SLICE) break;
      const acknowledged = await this.model.bulkWrite(
        slice.map(([_id, { version, upTo }]) => ({ updateOne: { filter: { _id, version }, update: publishedUpTo(upTo) } })),
        { ordered: false },
      );
      if (acknowledged.matchedCount === slice.length) {
        await this.sent.bulkWrite(slice.map(([_id]) => ({ deleteOne: { filter: { _id } } })), { ordered: false });
        for (const [id, { version }] of slice) if (this.unrecorded.get(id)?.version === version) this.unrecorded.delete(id);
        continue;
      }
      // Some changed since their insert (the count does not say which): each is settled alone.
      for (const [id, { version, upTo, lease }] of slice) await this.settle(id, version, upTo, lease, true);
    }
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
