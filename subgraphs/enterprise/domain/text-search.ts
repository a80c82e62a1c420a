// Chinese-aware full-text search for policies (政策指引), in memory. Chinese is written without spaces,
// so text is split by Intl.Segmenter into word-like runs; runs of Han characters are indexed as
// overlapping character bigrams (人才公寓 → 人才 才公 公寓), which find a word however the segmenter
// cut it, and other runs (latin words, numbers) as lower-cased words. A query matches a document
// holding at least half of its terms; documents rank by the terms' rarity (idf), how often they occur
// and where (title before tags before summary before body).

const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });
const HAN = /^\p{Script=Han}+$/u;

/** The index terms of a text: Han bigrams (a lone Han character on its own), other words lower-cased. */
export function terms(text: string): string[] {
  const out: string[] = [];
  let han = '';
  const flush = () => {
    const chars = [...han];
    if (chars.length === 1) out.push(han);
    for (let i = 0; i + 1 < chars.length; i++) out.push(`${chars[i]}${chars[i + 1]}`);
    han = '';
  };
  for (const { segment, isWordLike } of segmenter.segment(text.normalize('NFKC'))) {
    if (isWordLike && HAN.test(segment)) {
      // Adjacent Han words make one run: a bigram across the cut still matches a query that spans it.
      han += segment;
      continue;
    }
    flush();
    if (isWordLike) out.push(segment.toLowerCase());
  }
  flush();
  return out;
}

export interface Field {
  text: string;
  weight: number;
}

export interface Scored {
  id: string;
  score: number;
}

export class TextIndex {
  /** term → document id → weighted occurrences. */
  private readonly postings = new Map<string, Map<string, number>>();
  private readonly docTerms = new Map<string, string[]>();

  get size(): number {
    return this.docTerms.size;
  }

  /** Indexes a document, replacing what was indexed under its id. */
  put(id: string, fields: Field[]): void {
    this.remove(id);
    const weights = new Map<string, number>();
    for (const { text, weight } of fields) {
      for (const term of terms(text)) weights.set(term, (weights.get(term) ?? 0) + weight);
    }
    for (const [term, weight] of weights) {
      let posting = this.postings.get(term);
      if (!posting) {
        posting = new Map<string, number>();
        this.postings.set(term, posting);
      }
      posting.set(id, weight);
    }
    this.docTerms.set(id, [...weights.keys()]);
  }

  remove(id: string): void {
    for (const term of this.docTerms.get(id) ?? []) {
      const posting = this.postings.get(term);
      posting?.delete(id);
      if (posting?.size === 0) this.postings.delete(term);
    }
    this.docTerms.delete(id);
  }

  /** Documents matching at least half of the query's distinct terms, best first (ties by id). */
  search(query: string, accept: (id: string) => boolean = () => true): Scored[] {
    const wanted = [...new Set(terms(query))];
    if (wanted.length === 0) return [];
    const n = this.docTerms.size;
    const scores = new Map<string, { score: number; matched: number }>();
    for (const term of wanted) {
      const posting = this.postings.get(term);
      if (!posting) continue;
      const idf = Math.log(1 + (n - posting.size + 0.5) / (posting.size + 0.5));
      for (const [id, weight] of posting) {
        const entry = scores.get(id) ?? { score: 0, matched: 0 };
        entry.score += idf * (1 + Math.log(weight));
        entry.matched += 1;
        scores.set(id, entry);
      }
    }
    const needed = Math.ceil(wanted.length / 2);
    return [...scores]
      .filter(([id, s]) => s.matched >= needed && accept(id))
      .map(([id, s]) => ({ id, score: Math.round(s.score * 1e6) / 1e6 }))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  }
}
