// A hash chain over an append-only list of records (a call's timeline, 全记录). Each entry carries the
// hash of the entry before it (`prevHash`; the first one the chain's genesis, which names the list it
// belongs to) and its own `hash`:
//
//   hash = SHA-256( canonicalJson({ prev: prevHash, content }) )          (canonical.ts: RFC 8785)
//
// where `content` is the entry without its two hash fields. Whoever edits, removes, inserts or
// reorders an entry breaks the chain at that entry; removing entries from the end leaves the list's
// recorded head (the last hash, kept beside the list) pointing past it. The chain alone proves
// nothing against someone who rewrites it whole: the signed, checkpointed events that carry each
// entry's hash (platform/audit/signing.ts, checkpoints.ts) are what it is checked against.
import { canonicalHash } from './canonical.ts';

export interface Chained {
  prevHash?: string | null;
  hash?: string | null;
}

/** The genesis of a chain: the hash the first entry links to, bound to the list's kind and id. */
export function chainGenesis(kind: string, id: string): string {
  return canonicalHash({ chain: kind, id });
}

/** The hash of an entry whose content is `content`, following the entry whose hash is `prevHash`. */
export function linkHash(prevHash: string, content: unknown): string {
  return canonicalHash({ prev: prevHash, content });
}

export type ChainBreakReason =
  /** The entry has no hashes, in a list that is chained (written around the chain). */
  | 'unchained_entry'
  /** The entry does not follow the one before it: an entry was removed, inserted or moved here. */
  | 'link_broken'
  /** The entry's content is not what was hashed: it was changed. */
  | 'content_changed'
  /** The list ends before its recorded head: entries were removed from the end (or the head changed). */
  | 'truncated';

export interface ChainBreak {
  /** The position (0-based) of the first entry that does not verify; the list's length for `truncated`. */
  position: number;
  reason: ChainBreakReason;
  expected?: string;
  found?: string | null;
}

export type ChainVerdict =
  | { status: 'INTACT'; entries: number; head: string }
  /** A list written before chaining began: nothing to check, and said so. */
  | { status: 'UNCHAINED'; entries: number }
  | { status: 'BROKEN'; entries: number; break: ChainBreak };

/**
 * Checks a chained list from its genesis to its recorded head; reports the first break. `contentOf`
 * gives an entry's content exactly as it was hashed when appended.
 */
export function verifyChain<E extends Chained>(
  genesis: string,
  entries: readonly E[],
  head: string | null | undefined,
  contentOf: (entry: E) => unknown,
): ChainVerdict {
  const broken = (b: ChainBreak): ChainVerdict => ({ status: 'BROKEN', entries: entries.length, break: b });
  if (!head && entries.every((e) => !e.hash && !e.prevHash)) return { status: 'UNCHAINED', entries: entries.length };
  let prev = genesis;
  for (const [position, entry] of entries.entries()) {
    if (!entry.hash || !entry.prevHash) return broken({ position, reason: 'unchained_entry' });
    if (entry.prevHash !== prev) return broken({ position, reason: 'link_broken', expected: prev, found: entry.prevHash });
    const hash = linkHash(prev, contentOf(entry));
    if (hash !== entry.hash) return broken({ position, reason: 'content_changed', expected: hash, found: entry.hash });
    prev = entry.hash;
  }
  if (head !== prev) return broken({ position: entries.length, reason: 'truncated', expected: head ?? undefined, found: prev });
  return { status: 'INTACT', entries: entries.length, head: prev };
}
