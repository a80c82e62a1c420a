// Checking the published record after the fact (`npm run verify`): every record of an audited topic
// against its signature, every checkpoint against its signature, against the partition it covers (the
// root recomputed from the records) and against the checkpoint before it (an RFC 6962 consistency
// proof), and one event's place in a checkpoint (an inclusion proof). Every finding names its exact
// place: topic, partition and offset. Nothing is repaired: a finding is reported, and that is all.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { type Checkpoint, type LogRecord, logName, recordLeaf } from './checkpoints.ts';
import { consistencyPath, Frontier, type Hash, inclusionPath, verifyConsistency, verifyInclusion } from './merkle.ts';
import type { RecordVerifier, SignatureCheck } from './signing.ts';

export interface ReadRecord extends LogRecord {
  /** Broker timestamp, ms since the epoch. */
  timestamp: number;
}

export type FindingReason =
  | 'signature_missing'
  | 'signature_invalid'
  | 'signature_unknown_key'
  | 'checkpoint_signature'
  | 'checkpoint_unreadable'
  /** The checkpoint's root is not the root of the partition's first treeSize records: a record in range was altered or removed, or the checkpoint forged. */
  | 'checkpoint_root_mismatch'
  /** The checkpoint's tree does not extend the one before it (the consistency proof fails). */
  | 'checkpoint_not_consistent'
  /** The checkpoint covers more records than the partition holds: records were removed. */
  | 'checkpoint_beyond_log';

export interface Finding {
  reason: FindingReason;
  topic: string;
  partition: number;
  offset: string;
  detail: string;
}

export const where = (f: Pick<Finding, 'topic' | 'partition' | 'offset'>) => `${f.topic} partition ${f.partition} offset ${f.offset}`;

/** Every record of `topics` up to their current end, by log (`<topic>#<partition>`), in offset order. */
export async function readTopics(kafka: Kafka, topics: string[], options: { groupPrefix: string; timeoutMs?: number }): Promise<Map<string, ReadRecord[]>> {
  const logs = new Map<string, ReadRecord[]>();
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, bigint>();
  try {
    const existing = new Set(await admin.listTopics());
    for (const topic of topics.filter((t) => existing.has(t))) {
      for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
        logs.set(logName(topic, partition), []);
        if (BigInt(high) > BigInt(low)) ends.set(logName(topic, partition), BigInt(high));
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return logs;
  const consumer = kafka.consumer({ groupId: `${options.groupPrefix}verify-${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...new Set([...ends.keys()].map((l) => l.slice(0, l.lastIndexOf('#'))))], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out reading ${[...ends.keys()].join(', ')}`)), options.timeoutMs ?? 120_000);
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat }) => {
          const log = logName(batch.topic, batch.partition);
          const end = ends.get(log);
          if (end === undefined) return;
          const list = logs.get(log) as ReadRecord[];
          for (const m of batch.messages) {
            if (BigInt(m.offset) >= end) break;
            list.push({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers, timestamp: Number(m.timestamp) });
          }
          await heartbeat();
          if (BigInt(batch.lastOffset()) + 1n >= end) {
            ends.delete(log);
            if (ends.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return logs;
}

export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  /** Where it stands on the checkpoint topic. */
  at: { topic: string; partition: number; offset: string };
  signature: SignatureCheck;
}

/** The checkpoints of the checkpoint topic, by the log they cover, oldest first; unreadable ones as findings. */
export function parseCheckpoints(records: ReadRecord[], verifier: RecordVerifier): { byLog: Map<string, SignedCheckpoint[]>; findings: Finding[] } {
  const byLog = new Map<string, SignedCheckpoint[]>();
  const findings: Finding[] = [];
  for (const r of records) {
    const at = { topic: r.topic, partition: r.partition, offset: r.offset };
    const signature = verifier.check(r.topic, r.key, r.value, r.headers as Record<string, Buffer>);
    let checkpoint: Checkpoint;
    try {
      checkpoint = JSON.parse(r.value?.toString('utf8') ?? '') as Checkpoint;
      if (typeof checkpoint.log !== 'string' || !Number.isInteger(checkpoint.treeSize) || !/^[0-9a-f]{64}$/.test(checkpoint.rootHash)) throw new Error('fields');
    } catch {
      findings.push({ reason: 'checkpoint_unreadable', ...at, detail: 'not a checkpoint (JSON with log, treeSize, rootHash)' });
      continue;
    }
    byLog.set(checkpoint.log, [...(byLog.get(checkpoint.log) ?? []), { checkpoint, at, signature }]);
  }
  return { byLog, findings };
}

export interface LogReport {
  log: string;
  records: number;
  /** Records whose signature was checked (all, or those since `since`). */
  checked: number;
  signatures: Record<SignatureCheck['status'], number>;
  checkpoints: number;
  /** Records not yet covered by a checkpoint (the newest ones). */
  uncheckpointed: number;
  findings: Finding[];
  leaves: Hash[];
  /** The checkpoints that verified, smallest tree first. */
  verified: Checkpoint[];
}

/**
 * Checks one partition: the signature of each record (from `since`, when given), then each of its
 * checkpoints in order of tree size.
 */
export function verifyLog(
  log: string,
  records: readonly ReadRecord[],
  checkpoints: readonly SignedCheckpoint[],
  verifier: RecordVerifier,
  options: { since?: Date; requireSignatures?: boolean } = {},
): LogReport {
  const findings: Finding[] = [];
  const signatures = { valid: 0, missing: 0, invalid: 0, unknown_key: 0 };
  let checked = 0;
  for (const r of records) {
    if (options.since && r.timestamp < options.since.getTime()) continue;
    checked++;
    const check = verifier.check(r.topic, r.key, r.value, r.headers as Record<string, Buffer>);
    signatures[check.status]++;
    if (check.status === 'valid' || (check.status === 'missing' && options.requireSignatures === false)) continue;
    const key = 'keyId' in check ? ` with key "${check.keyId}"` : '';
    findings.push({ reason: `signature_${check.status}`, topic: r.topic, partition: r.partition, offset: r.offset, detail: `record (key ${r.key?.toString() ?? 'none'}) signature ${check.status}${key}` });
  }

  const leaves = records.map(recordLeaf);
  const roots = new Map<number, Hash>();
  const sizes = new Set(checkpoints.map((c) => c.checkpoint.treeSize));
  const frontier = Frontier.empty();
  roots.set(0, frontier.root());
  for (const leaf of leaves) {
    frontier.append(leaf);
    if (sizes.has(frontier.size)) roots.set(frontier.size, frontier.root());
  }
  const verified: Checkpoint[] = [];
  const ordered = [...checkpoints].sort((a, b) => a.checkpoint.treeSize - b.checkpoint.treeSize || Number(BigInt(a.at.offset) - BigInt(b.at.offset)));
  let before: Checkpoint | undefined;
  for (const { checkpoint, at, signature } of ordered) {
    const found = (reason: FindingReason, detail: string) => findings.push({ reason, ...at, detail: `checkpoint ${checkpoint.log} size ${checkpoint.treeSize}: ${detail}` });
    if (signature.status !== 'valid') {
      found('checkpoint_signature', `signature ${signature.status}`);
      continue;
    }
    if (checkpoint.treeSize > leaves.length) {
      found('checkpoint_beyond_log', `covers ${checkpoint.treeSize} records, the partition holds ${leaves.length}`);
      continue;
    }
    const root = roots.get(checkpoint.treeSize) as Hash;
    if (root.toString('hex') !== checkpoint.rootHash) {
      const from = before ? records[before.treeSize]?.offset : records[0]?.offset;
      const to = records[checkpoint.treeSize - 1]?.offset;
      found('checkpoint_root_mismatch', `root ${checkpoint.rootHash} is not the root of the partition's records (${root.toString('hex')}); the difference lies in offsets ${from}..${to}`);
    }
    if (before) {
      const proof = consistencyPath(leaves.slice(0, checkpoint.treeSize), before.treeSize);
      if (!verifyConsistency(before.treeSize, checkpoint.treeSize, Buffer.from(before.rootHash, 'hex'), Buffer.from(checkpoint.rootHash, 'hex'), proof)) {
        found('checkpoint_not_consistent', `does not extend the checkpoint of size ${before.treeSize} (root ${before.rootHash})`);
        continue;
      }
    }
    if (root.toString('hex') !== checkpoint.rootHash) continue;
    verified.push(checkpoint);
    before = checkpoint;
  }
  const covered = verified.at(-1)?.treeSize ?? 0;
  return { log, records: records.length, checked, signatures, checkpoints: checkpoints.length, uncheckpointed: leaves.length - covered, findings, leaves, verified };
}

/** An inclusion proof of leaf `index` in the first verified checkpoint that covers it, checked; undefined when none does yet. */
export function proveInclusion(report: Pick<LogReport, 'leaves' | 'verified'>, index: number) {
  const checkpoint = report.verified.find((c) => c.treeSize > index);
  if (!checkpoint) return undefined;
  const path = inclusionPath(report.leaves.slice(0, checkpoint.treeSize), index);
  const verified = verifyInclusion(report.leaves[index] as Hash, index, checkpoint.treeSize, path, Buffer.from(checkpoint.rootHash, 'hex'));
  return { checkpoint, path: path.map((h) => h.toString('hex')), verified };
}
