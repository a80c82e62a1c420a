// The checkpoint log (RFC 6962 style): at a fixed interval the hub publishes, for each partition of
// each audited topic (hub.call-events, src.12345.feedback, src.xinfang.feedback), the signed root of
// the Merkle tree over every record that partition has held so far, on a compacted topic of its own
// (hub.checkpoints, keyed `<topic>#<partition>#<tree size>`, so no checkpoint replaces another).
// Each checkpoint names the one before it; anyone holding two checkpoints can ask for a consistency
// proof that the later tree extends the earlier one, and anyone holding one for an inclusion proof of
// an event (platform/audit/log-verify.ts builds both from the partition's records).
//
// A partition is a log: its records in offset order are the tree's leaves. A leaf is the canonical
// JSON (RFC 8785) of { topic, partition, offset, key, value: SHA-256 of the value, signature } —
// computable by anyone who reads the record. The publisher keeps no leaves: the tree's right frontier
// (at most log2 n hashes) travels in each checkpoint and in its state document, where a
// compare-and-set on the tree size lets only one copy advance a partition's log.
import type { Collection, Document } from 'mongodb';
import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from '../logger.ts';
import { canonicalJson, sha256Hex } from './canonical.ts';
import { Frontier, leafHash } from './merkle.ts';
import { SIGNATURE_HEADER, type RecordSigner } from './signing.ts';
import { GROUP_SESSION } from '../consumer.ts';

export interface Checkpoint {
  /** `<topic>#<partition>`: the log this is a checkpoint of. */
  log: string;
  topic: string;
  partition: number;
  /** Leaves in the tree (records of the partition included). */
  treeSize: number;
  /** The Merkle tree hash (RFC 6962 MTH), hex. */
  rootHash: string;
  /** The offset after the last record included. */
  nextOffset: string;
  /** The tree's right frontier (subtree roots, hex), from which the next checkpoint continues. */
  frontier: string[];
  previous: { treeSize: number; rootHash: string } | null;
  issuedAt: string;
}

export interface LogRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, unknown>;
}

const headerText = (value: unknown): string | null => {
  const last: unknown = Array.isArray(value) ? (value as unknown[]).at(-1) : value;
  if (Buffer.isBuffer(last)) return last.toString('utf8');
  return typeof last === 'string' ? last : null;
};

/** The leaf data of a record: canonical JSON of where it stands, its key, its value's hash and its signature. */
export function leafData(record: LogRecord): Buffer {
  return Buffer.from(
    canonicalJson({
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key ? record.key.toString('utf8') : null,
      value: sha256Hex(record.value ?? Buffer.alloc(0)),
      signature: headerText(record.headers?.[SIGNATURE_HEADER]),
    }),
  );
}

export const recordLeaf = (record: LogRecord) => leafHash(leafData(record));

export const logName = (topic: string, partition: number) => `${topic}#${partition}`;
export const checkpointKey = (c: Pick<Checkpoint, 'topic' | 'partition' | 'treeSize'>) =>
  `${logName(c.topic, c.partition)}#${String(c.treeSize).padStart(12, '0')}`;

interface LogState {
  _id: string;
  treeSize: number;
  rootHash: string;
  nextOffset: string;
  frontier: string[];
}

interface Live {
  frontier: Frontier;
  nextOffset: bigint;
  /** What the state document holds (the last checkpoint published), for the compare-and-set. */
  saved: { treeSize: number; rootHash: string } | null;
}

export interface CheckpointOptions {
  kafka: Kafka;
  producer: Producer;
  signer: RecordSigner;
  /** The state documents (one per log). */
  state: Collection<Document>;
  /** Full names of the topics whose partitions are logged. */
  topics: string[];
  /** Full name of the checkpoint topic. */
  checkpointTopic: string;
  groupId: string;
  intervalMs: number;
  logger: Logger;
}

export class CheckpointPublisher {
  private readonly live = new Map<string, Live>();
  private consumer: Consumer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: CheckpointOptions) {}

  private get state(): Collection<LogState> {
    return this.options.state as unknown as Collection<LogState>;
  }

  async start(): Promise<void> {
    const { kafka, topics, groupId, intervalMs } = this.options;
    const consumer = kafka.consumer({ groupId, ...GROUP_SESSION });
    this.consumer = consumer;
    await consumer.connect();
    // After a rebalance this copy may get back a partition another copy advanced: start it afresh
    // from the state document (commits never pass it, so nothing is skipped).
    consumer.on(consumer.events.GROUP_JOIN, () => this.live.clear());
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const live = await this.load(batch.topic, batch.partition);
        for (const message of batch.messages) this.append(live, batch.topic, batch.partition, message);
        await heartbeat();
      },
    });
    this.timer = setInterval(() => void this.checkpoint(), intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.publishing;
    await this.consumer?.disconnect();
  }

  /** How far each log is read (`<topic>#<partition>` → next offset): what the next checkpoint would cover. */
  coverage(): Map<string, bigint> {
    return new Map([...this.live].map(([log, l]) => [log, l.nextOffset]));
  }

  /** Publishes a checkpoint for every log that grew since its last one; returns them. */
  checkpoint(): Promise<Checkpoint[]> {
    const run = this.publishing.then(() => this.publishAll());
    this.publishing = run.catch(() => undefined);
    return run;
  }

  private async load(topic: string, partition: number): Promise<Live> {
    const log = logName(topic, partition);
    const known = this.live.get(log);
    if (known) return known;
    const doc = await this.state.findOne({ _id: log });
    const live: Live = doc
      ? {
          frontier: Frontier.restore(doc.treeSize, doc.frontier),
          nextOffset: BigInt(doc.nextOffset),
          saved: { treeSize: doc.treeSize, rootHash: doc.rootHash },
        }
      : { frontier: Frontier.empty(), nextOffset: 0n, saved: null };
    this.live.set(log, live);
    return live;
  }

  private append(live: Live, topic: string, partition: number, message: KafkaMessage): void {
    const offset = BigInt(message.offset);
    // Already in the tree (delivered again after a restart): skip.
    if (offset < live.nextOffset) return;
    live.frontier.append(recordLeaf({ topic, partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers }));
    live.nextOffset = offset + 1n;
  }

  private async publishAll(): Promise<Checkpoint[]> {
    const published: Checkpoint[] = [];
    for (const [log, live] of [...this.live]) {
      if (live.frontier.size === (live.saved?.treeSize ?? 0)) continue;
      try {
        const checkpoint = await this.publishOne(log, live);
        if (checkpoint) published.push(checkpoint);
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message, log }, 'checkpoint not published; the next round tries again');
      }
    }
    return published;
  }

  private async publishOne(log: string, live: Live): Promise<Checkpoint | undefined> {
    const [topic, partition] = [log.slice(0, log.lastIndexOf('#')), Number(log.slice(log.lastIndexOf('#') + 1))];
    // A snapshot: the consumer goes on appending while this is sent.
    const frontier = live.frontier.clone();
    const checkpoint: Checkpoint = {
      log,
      topic,
      partition,
      treeSize: frontier.size,
      rootHash: frontier.root().toString('hex'),
      nextOffset: String(live.nextOffset),
      frontier: frontier.hashes(),
      previous: live.saved,
      issuedAt: new Date().toISOString(),
    };
    const key = checkpointKey(checkpoint);
    const value = JSON.stringify(checkpoint);
    await this.options.producer.send({
      topic: this.options.checkpointTopic,
      messages: [{ key, value, headers: this.options.signer.headers(this.options.checkpointTopic, key, value) }],
    });
    const doc: LogState = { _id: log, treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, nextOffset: checkpoint.nextOffset, frontier: checkpoint.frontier };
    const advanced = live.saved
      ? (await this.state.updateOne({ _id: log, treeSize: live.saved.treeSize }, { $set: doc })).modifiedCount === 1
      : await this.state.insertOne(doc).then(
          () => true,
          () => false,
        );
    if (!advanced) {
      // Another copy advanced this log meanwhile (a rebalance): its state wins; read it again.
      this.live.delete(log);
      return undefined;
    }
    live.saved = { treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash };
    await this.consumer
      ?.commitOffsets([{ topic, partition, offset: checkpoint.nextOffset }])
      .catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message, log }, 'checkpoint offset not committed (the state document is what counts)'));
    return checkpoint;
  }
}
