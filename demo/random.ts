// Deterministic randomness for demo data, benches and property tests: the same seed gives the same
// sequence on every machine, so data agree across subgraphs and a failing run can be replayed.

/** mulberry32; a string seed is hashed first (FNV-1a). */
export function seededRandom(seed: number | string): () => number {
  let a = typeof seed === 'number' ? seed : fnv1a(seed);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
