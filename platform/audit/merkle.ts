// RFC 6962 (Certificate Transparency) Merkle trees: the hashing of the checkpoint log, its inclusion
// proofs (an event is in the tree a checkpoint signed) and consistency proofs (a later checkpoint's
// tree extends an earlier one's). Hashing (RFC 6962 §2.1): a leaf is SHA-256(0x00 ‖ data), an inner
// node SHA-256(0x01 ‖ left ‖ right), the tree of n > 1 leaves splits at the largest power of two
// below n, and the empty tree's hash is SHA-256 of nothing. Proofs are generated as §2.1.1 and §2.1.2
// define PATH and PROOF, and verified with the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.
// Tested against the reference vectors that CT implementations share (merkle.test.ts).
import { createHash } from 'node:crypto';

export type Hash = Buffer;

export function leafHash(data: Uint8Array): Hash {
  return createHash('sha256').update(Buffer.of(0x00)).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Hash {
  return createHash('sha256').update(Buffer.of(0x01)).update(left).update(right).digest();
}

const EMPTY_ROOT = createHash('sha256').digest();

/** The largest power of two smaller than n (n > 1): where RFC 6962 splits a tree. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH: the root of the tree over these leaf hashes. */
export function rootOf(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0] as Hash;
  const k = split(leaves.length);
  return nodeHash(rootOf(leaves.slice(0, k)), rootOf(leaves.slice(k)));
}

/** PATH(m, D[n]): the audit path of leaf `index` in the tree over `leaves`. */
export function inclusionPath(leaves: readonly Hash[], index: number): Hash[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`leaf ${index} is not in a tree of ${leaves.length}`);
  }
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return index < k
    ? [...inclusionPath(leaves.slice(0, k), index), rootOf(leaves.slice(k))]
    : [...inclusionPath(leaves.slice(k), index - k), rootOf(leaves.slice(0, k))];
}

/** PROOF(m, D[n]): that the tree of the first `first` leaves is a prefix of the tree over `leaves`. */
export function consistencyPath(leaves: readonly Hash[], first: number): Hash[] {
  if (!Number.isInteger(first) || first < 0 || first > leaves.length) {
    throw new RangeError(`a tree of ${first} is not a prefix of a tree of ${leaves.length}`);
  }
  if (first === 0 || first === leaves.length) return [];
  return subproof(first, leaves, true);
}

function subproof(m: number, leaves: readonly Hash[], whole: boolean): Hash[] {
  const n = leaves.length;
  if (m === n) return whole ? [] : [rootOf(leaves)];
  const k = split(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), whole), rootOf(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), rootOf(leaves.slice(0, k))];
}

const isHash = (h: unknown): h is Uint8Array => h instanceof Uint8Array && h.length === 32;

/** RFC 9162 §2.1.3.2: does `path` prove leaf `index` (hash `leaf`) is in the tree of `size` with `root`? */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!isHash(leaf) || !isHash(root) || !path.every(isHash)) return false;
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(root);
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree of `first` (root1) is a prefix of the tree of `second` (root2)? */
export function verifyConsistency(first: number, second: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!isHash(root1) || !isHash(root2) || !proof.every(isHash)) return false;
  if (!Number.isInteger(first) || !Number.isInteger(second) || first < 0 || first > second) return false;
  if (first === second) return proof.length === 0 && Buffer.from(root1).equals(root2);
  if (first === 0) return proof.length === 0 && Buffer.from(root1).equals(EMPTY_ROOT);
  if (proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [root1, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Uint8Array = path[0] as Uint8Array;
  let sr: Uint8Array = path[0] as Uint8Array;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(fr).equals(root1) && Buffer.from(sr).equals(root2);
}

/**
 * A growing tree kept as its right frontier: the roots of the perfect subtrees that make it up, left
 * to right (at most log2(n) hashes). Appending and taking the root need nothing else, so a
 * checkpoint publisher keeps no leaves: the frontier travels in each checkpoint and the next one
 * continues from it.
 */
export class Frontier {
  private constructor(
    private size_: number,
    private readonly stack: Array<{ size: number; hash: Hash }>,
  ) {}

  static empty(): Frontier {
    return new Frontier(0, []);
  }

  /** The frontier of a tree of `size` leaves from its subtree roots (as `hashes()` gave them). */
  static restore(size: number, hashes: readonly string[]): Frontier {
    const sizes: number[] = [];
    for (let bit = 2 ** Math.floor(Math.log2(Math.max(size, 1))); bit >= 1; bit /= 2) if (size & bit) sizes.push(bit);
    if (size === 0) sizes.length = 0;
    if (sizes.length !== hashes.length) throw new Error(`a tree of ${size} has ${sizes.length} subtree roots, not ${hashes.length}`);
    return new Frontier(size, sizes.map((s, i) => ({ size: s, hash: Buffer.from(hashes[i] as string, 'hex') })));
  }

  get size(): number {
    return this.size_;
  }

  append(leaf: Hash): void {
    let node = { size: 1, hash: leaf };
    let top = this.stack.at(-1);
    while (top && top.size === node.size) {
      this.stack.pop();
      node = { size: node.size * 2, hash: nodeHash(top.hash, node.hash) };
      top = this.stack.at(-1);
    }
    this.stack.push(node);
    this.size_++;
  }

  root(): Hash {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let acc = (this.stack.at(-1) as { hash: Hash }).hash;
    for (let i = this.stack.length - 2; i >= 0; i--) acc = nodeHash((this.stack[i] as { hash: Hash }).hash, acc);
    return acc;
  }

  hashes(): string[] {
    return this.stack.map((s) => s.hash.toString('hex'));
  }

  clone(): Frontier {
    return new Frontier(this.size_, [...this.stack]);
  }
}
