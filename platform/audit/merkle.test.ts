import { describe, expect, it } from 'vitest';
import { consistencyPath, Frontier, inclusionPath, leafHash, rootOf, verifyConsistency, verifyInclusion } from './merkle.ts';

// The Certificate Transparency reference tree (the leaves every RFC 6962 implementation tests with:
// the C++ and Go CT logs, transparency-dev/merkle), with its roots and proofs.
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) =>
  leafHash(Buffer.from(h, 'hex')),
);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION = [
  { index: 0, size: 8, path: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, path: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];
const CONSISTENCY = [
  { first: 1, second: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { first: 2, second: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { first: 2, second: 8, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { first: 6, second: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];
const hex = (hashes: Buffer[]) => hashes.map((h) => h.toString('hex'));
const unhex = (hashes: string[]) => hashes.map((h) => Buffer.from(h, 'hex'));
const root = (n: number) => Buffer.from(ROOTS[n] as string, 'hex');

describe('RFC 6962 Merkle trees', () => {
  it('gives the reference roots for every size, recursively and incrementally (the frontier)', () => {
    const frontier = Frontier.empty();
    expect(frontier.root().toString('hex')).toBe(ROOTS[0]);
    for (let n = 1; n <= 8; n++) {
      expect(rootOf(LEAVES.slice(0, n)).toString('hex')).toBe(ROOTS[n]);
      frontier.append(LEAVES[n - 1] as Buffer);
      expect(frontier.root().toString('hex')).toBe(ROOTS[n]);
      // A frontier saved in a checkpoint and restored goes on to the same roots.
      const restored = Frontier.restore(frontier.size, frontier.hashes());
      expect(restored.root().toString('hex')).toBe(ROOTS[n]);
    }
  });

  it('makes and accepts the reference inclusion and consistency proofs', () => {
    for (const v of INCLUSION) {
      expect(hex(inclusionPath(LEAVES.slice(0, v.size), v.index))).toEqual(v.path);
      expect(verifyInclusion(LEAVES[v.index] as Buffer, v.index, v.size, unhex(v.path), root(v.size))).toBe(true);
    }
    for (const v of CONSISTENCY) {
      expect(hex(consistencyPath(LEAVES.slice(0, v.second), v.first))).toEqual(v.proof);
      expect(verifyConsistency(v.first, v.second, root(v.first), root(v.second), unhex(v.proof))).toBe(true);
    }
  });

  // Every shape of the recursion, beyond the reference sizes: 1..40 leaves, every leaf, every prefix.
  const many = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from(`event ${i}`)));
  const roots = Array.from({ length: many.length + 1 }, (_, n) => rootOf(many.slice(0, n)));

  it('proves every leaf of every tree, and refuses a wrong leaf, index, size, root or path', () => {
    for (let n = 1; n <= many.length; n++) {
      const tree = many.slice(0, n);
      for (let i = 0; i < n; i++) {
        const path = inclusionPath(tree, i);
        const leaf = tree[i] as Buffer;
        expect(verifyInclusion(leaf, i, n, path, roots[n] as Buffer)).toBe(true);
        expect(verifyInclusion(many[(i + 1) % many.length] as Buffer, i, n, path, roots[n] as Buffer)).toBe(false);
        // (The size is not bound by the path alone: a checkpoint signs its size with its root.)
        expect(verifyInclusion(leaf, i, i, path, roots[n] as Buffer)).toBe(false);
        expect(verifyInclusion(leaf, i, n, path, roots[n - 1] as Buffer)).toBe(false);
        if (n > 1) expect(verifyInclusion(leaf, (i + 1) % n, n, path, roots[n] as Buffer)).toBe(false);
        if (path.length > 0) {
          const flipped = path.map((h) => Buffer.from(h));
          const first = flipped[0] as Buffer;
          first[0] = (first[0] as number) ^ 1;
          expect(verifyInclusion(leaf, i, n, flipped, roots[n] as Buffer)).toBe(false);
          expect(verifyInclusion(leaf, i, n, path.slice(0, -1), roots[n] as Buffer)).toBe(false);
        }
        expect(verifyInclusion(leaf, i, n, [...path, leaf], roots[n] as Buffer)).toBe(false);
      }
      expect(() => inclusionPath(tree, n)).toThrow(RangeError);
    }
  });

  it('proves every prefix of every tree, and refuses a tree that does not extend the earlier one', () => {
    for (let n = 1; n <= many.length; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = consistencyPath(many.slice(0, n), m);
        expect(verifyConsistency(m, n, roots[m] as Buffer, roots[n] as Buffer, proof)).toBe(true);
        if (m > 0 && m < n) {
          // A later tree whose history differs (one early leaf replaced) does not extend it.
          const forked = rootOf([leafHash(Buffer.from('forged')), ...many.slice(1, n)]);
          expect(verifyConsistency(m, n, roots[m] as Buffer, forked, proof)).toBe(false);
          expect(verifyConsistency(m, n, roots[m] as Buffer, roots[n] as Buffer, proof.slice(0, -1))).toBe(false);
          expect(verifyConsistency(n, m, roots[n] as Buffer, roots[m] as Buffer, proof)).toBe(false);
        }
      }
    }
    expect(verifyConsistency(3, 3, roots[3] as Buffer, roots[4] as Buffer, [])).toBe(false);
  });
});
