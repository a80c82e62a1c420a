// Duplicate-call detection helpers (并单 candidates): Chinese-aware text similarity without a
// segmentation dictionary, great-circle distance, and a combined score. Pure functions.
//
// Text similarity is the Dice coefficient 2|A∩B| / (|A| + |B|) over sets of character unigrams and
// bigrams. Bigrams alone were tried first and rejected: on short paraphrased complaints they cannot
// tell a paraphrase from a different matter at the same place, e.g. bigram Dice gives 0.28 both for
// "科学城某工地夜间施工噪音扰民，凌晨两点还在打桩" vs "工地晚上打桩噪音太大，影响休息，科学城那边" (the same
// matter) and for the first vs "科学城某工地渣土车沿路撒漏，路面全是泥" (another matter at the same site);
// with unigrams added they score 0.37 and 0.30. Grams never cross punctuation or spaces, so a
// sentence break adds no spurious pair. These figures come from a handful of hand-written examples:
// calibrate the threshold on real merged (并单) calls before relying on it.

export interface GeoPoint {
  lng: number;
  lat: number;
}

/** What duplicate detection needs of a call. */
export interface DuplicateSubject {
  /** The category path or code; duplicates must have exactly the same one. */
  category: string;
  text: string;
  /** textFingerprint(text), when the caller keeps it. */
  fingerprint?: Float64Array;
  /** Both calls' points must be in the same coordinate system (12345 often sends GCJ-02). */
  location?: GeoPoint;
  raisedAt: Date;
}

export interface DuplicateOptions {
  /** Default 300 m. */
  maxDistanceMeters?: number;
  /** Default 72 hours, either direction. */
  windowHours?: number;
  /** Default 0.35. */
  minTextSimilarity?: number;
  /** When either call has no point, the text must say more on its own. Default 0.6. */
  minTextSimilarityWithoutLocation?: number;
}

export interface DuplicateMatch {
  /** 0–1: 0.5 × text similarity + 0.3 × closeness in space + 0.2 × closeness in time. */
  score: number;
  textSimilarity: number;
  /** Undefined when either call has no point. */
  distanceMeters?: number;
  hoursApart: number;
  /** Why it matched, in Chinese for the staff who decide whether to merge. */
  reasons: string[];
}

export const DEFAULT_DUPLICATE_OPTIONS: Readonly<Required<DuplicateOptions>> = {
  maxDistanceMeters: 300,
  windowHours: 72,
  minTextSimilarity: 0.35,
  minTextSimilarityWithoutLocation: 0.6,
};

/**
 * Compatibility-normalised (NFKC: full-width letters, digits and punctuation become half-width),
 * lower-cased, and with everything but letters and digits (punctuation, symbols, spaces) removed.
 */
export function normalizeText(text: string): string {
  return textSegments(text).join('');
}

/** The runs of letters and digits in a text, after NFKC and lower-casing. */
export function textSegments(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((segment) => segment.length > 0);
}

/** Character n-grams of size `n` within each segment (a segment shorter than n gives itself). */
export function characterNgrams(text: string, n: number): Set<string> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a whole number of at least 1, got ${n}`);
  const grams = new Set<string>();
  for (const segment of textSegments(text)) {
    const chars = Array.from(segment);
    if (chars.length < n) {
      grams.add(segment);
      continue;
    }
    for (let i = 0; i + n <= chars.length; i++) grams.add(chars.slice(i, i + n).join(''));
  }
  return grams;
}

const BIGRAM = 2 ** 21; // above every code point (U+10FFFF)

/**
 * A text's features, character unigrams and bigrams (characterNgrams 1 and 2), as sorted unique
 * numbers: a unigram is its code point, a bigram (first + 1) × 2²¹ + second. Exact (below 2⁵³), and a
 * fraction of the memory of the strings, so the duplicate check can keep them for the calls it compares.
 */
export function textFingerprint(text: string): Float64Array {
  const codes = new Set<number>();
  for (const segment of textSegments(text)) {
    let previous = -1;
    for (const char of segment) {
      const code = char.codePointAt(0) as number;
      codes.add(code);
      if (previous >= 0) codes.add((previous + 1) * BIGRAM + code);
      previous = code;
    }
  }
  return Float64Array.from(codes).sort();
}

/** Dice coefficient 2|A∩B| / (|A| + |B|) of two fingerprints; 0 when either is empty. */
export function diceCoefficient(left: Float64Array, right: Float64Array): number {
  if (left.length === 0 || right.length === 0) return 0;
  let shared = 0;
  for (let i = 0, j = 0; i < left.length && j < right.length; ) {
    const a = left[i] as number;
    const b = right[j] as number;
    if (a === b) {
      shared++;
      i++;
      j++;
    } else if (a < b) i++;
    else j++;
  }
  return (2 * shared) / (left.length + right.length);
}

/** Dice coefficient over character unigrams and bigrams, in [0, 1]; 0 when either text is empty. */
export function textSimilarity(a: string, b: string): number {
  return diceCoefficient(textFingerprint(a), textFingerprint(b));
}

/** Mean Earth radius (IUGG), metres. */
const EARTH_RADIUS_M = 6_371_008.8;

/** Great-circle (haversine) distance in metres between two points in the same coordinate system. */
export function distanceMeters(a: GeoPoint, b: GeoPoint): number {
  for (const point of [a, b]) {
    if (!(Math.abs(point.lat) <= 90) || !(Math.abs(point.lng) <= 180)) {
      throw new RangeError(`not a longitude/latitude: ${JSON.stringify(point)}`);
    }
  }
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

const checkedSettings = new WeakSet<object>();

/**
 * The options with their defaults, each checked to be a positive number. What it returns is known
 * as checked: passed again (the duplicate check scores hundreds of pairs with one), it is not redone.
 */
export function duplicateSettings(options: DuplicateOptions = {}): Readonly<Required<DuplicateOptions>> {
  if (checkedSettings.has(options)) return options as Required<DuplicateOptions>;
  const settings = { ...DEFAULT_DUPLICATE_OPTIONS, ...options };
  for (const [key, value] of Object.entries(settings)) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${key} must be a positive number, got ${value}`);
  }
  checkedSettings.add(settings);
  return settings;
}

/**
 * Whether `candidate` looks like a repeat of `call`, and how strongly. Every condition must hold:
 * the same category; raised within the time window of each other; within the distance when both have
 * a point; text similarity at least the threshold (the stricter one when a point is missing).
 * Undefined when any fails.
 */
export function duplicateScore(
  candidate: DuplicateSubject,
  call: DuplicateSubject,
  options: DuplicateOptions = {},
): DuplicateMatch | undefined {
  const settings = duplicateSettings(options);
  if (candidate.category.trim() !== call.category.trim()) return undefined;

  const hoursApart = Math.abs(candidate.raisedAt.getTime() - call.raisedAt.getTime()) / 3_600_000;
  if (!(hoursApart <= settings.windowHours)) return undefined;

  let distance: number | undefined;
  if (candidate.location && call.location) {
    distance = distanceMeters(candidate.location, call.location);
    if (distance > settings.maxDistanceMeters) return undefined;
  }

  const similarity = diceCoefficient(candidate.fingerprint ?? textFingerprint(candidate.text), call.fingerprint ?? textFingerprint(call.text));
  const threshold =
    distance === undefined ? settings.minTextSimilarityWithoutLocation : settings.minTextSimilarity;
  if (similarity < threshold) return undefined;

  const closeness = distance === undefined ? 0 : 1 - distance / settings.maxDistanceMeters;
  const recency = 1 - hoursApart / settings.windowHours;
  const score = 0.5 * similarity + 0.3 * closeness + 0.2 * recency;
  const reasons = [
    `同一类别：${call.category.trim()}`,
    distance === undefined ? '缺少坐标，未比较距离' : `相距约 ${Math.round(distance)} 米`,
    `相隔 ${hoursApart.toFixed(1)} 小时`,
    `文本相似度 ${similarity.toFixed(2)}`,
  ];
  const match: DuplicateMatch = { score, textSimilarity: similarity, hoursApart, reasons };
  if (distance !== undefined) match.distanceMeters = distance;
  return match;
}
