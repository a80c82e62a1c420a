import { describe, expect, it } from 'vitest';
import {
  characterNgrams,
  distanceMeters,
  duplicateScore,
  normalizeText,
  textFingerprint,
  textSimilarity,
  type DuplicateSubject,
} from './similarity.ts';

const NOISE_1 = '科学城某工地夜间施工噪音扰民，凌晨两点还在打桩';
const NOISE_2 = '工地晚上打桩噪音太大，影响休息，科学城那边';
const MUD = '科学城某工地渣土车沿路撒漏，路面全是泥';
const ZOMBIE_CAR = '小区门口僵尸车停放十年无人处理';

describe('normalizeText and n-grams', () => {
  it('folds full-width forms and drops punctuation, symbols and spaces', () => {
    expect(normalizeText('Ａ栋１２８号，门口！ 井盖 破损。（急）')).toBe('a栋128号门口井盖破损急');
  });

  it('makes bigrams within each run of text, never across punctuation', () => {
    expect(characterNgrams('打桩，噪音', 2)).toEqual(new Set(['打桩', '噪音']));
    expect(characterNgrams('路灯不亮', 2)).toEqual(new Set(['路灯', '灯不', '不亮']));
    // A run shorter than n stands for itself.
    expect(characterNgrams('急！路灯', 2)).toEqual(new Set(['急', '路灯']));
  });

  it('fingerprints a text as exactly its unigrams and bigrams, one number each', () => {
    for (const text of [NOISE_1, NOISE_2, MUD, ZOMBIE_CAR, '急！路灯', 'Ａ栋１２８号，门口！ 井盖 破损。（急）', '𠀋𠀋a', '']) {
      const grams = new Set([...characterNgrams(text, 1), ...characterNgrams(text, 2)]);
      const fingerprint = textFingerprint(text);
      expect(fingerprint.length).toBe(grams.size);
      expect(new Set(fingerprint).size).toBe(fingerprint.length);
      expect([...fingerprint]).toEqual([...fingerprint].sort((a, b) => a - b));
    }
  });
});

describe('textSimilarity (Dice over character unigrams and bigrams)', () => {
  it('computes a small case by hand', () => {
    // 路灯不亮: unigrams 路 灯 不 亮 + bigrams 路灯 灯不 不亮 = 7 features.
    // 路灯坏了不亮: 6 unigrams + bigrams 路灯 灯坏 坏了 了不 不亮 = 11 features.
    // Shared: 路 灯 不 亮 路灯 不亮 = 6 → 2·6 / (7 + 11) = 2/3.
    expect(textSimilarity('路灯不亮', '路灯坏了不亮')).toBeCloseTo(2 / 3, 10);
    expect(textSimilarity('路灯坏了不亮', '路灯不亮')).toBeCloseTo(2 / 3, 10);
    expect(textSimilarity(NOISE_1, NOISE_1)).toBe(1);
    expect(textSimilarity('', NOISE_1)).toBe(0);
  });

  it('scores two complaints about the same construction site above 0.35', () => {
    // NOISE_1 runs: 科学城某工地夜间施工噪音扰民 (14 chars, 13 distinct, 13 bigrams) and 凌晨两点还在打桩
    // (8 chars, 7 bigrams): 21 unigrams + 20 bigrams = 41.
    // NOISE_2 runs: 工地晚上打桩噪音太大 (10, 9 bigrams), 影响休息 (4, 3), 科学城那边 (5, 4): 19 + 16 = 35.
    // Shared unigrams 科 学 城 工 地 打 桩 噪 音 (9) and bigrams 科学 学城 工地 打桩 噪音 (5): 14.
    // Dice = 28 / 76 ≈ 0.368.
    expect(textSimilarity(NOISE_1, NOISE_2)).toBeCloseTo(28 / 76, 10);
  });

  it('scores another matter at the same site below 0.35, and an unrelated one at 0', () => {
    // MUD runs: 科学城某工地渣土车沿路撒漏 (13, 12 bigrams), 路面全是泥 (5, 4; 路 repeats): 17 + 16 = 33.
    // Shared with NOISE_1: 科 学 城 某 工 地 + 科学 学城 城某 某工 工地 = 11 → 22 / 74 ≈ 0.297.
    expect(textSimilarity(NOISE_1, MUD)).toBeCloseTo(22 / 74, 10);
    // Not one character in common.
    expect(textSimilarity(NOISE_1, ZOMBIE_CAR)).toBe(0);
  });
});

describe('distanceMeters (haversine, mean Earth radius 6,371,008.8 m)', () => {
  it('measures a degree and a short step', () => {
    // One degree of arc = 6,371,008.8 × π / 180 ≈ 111,195.08 m, along a meridian or the equator.
    expect(distanceMeters({ lng: 113.45, lat: 0 }, { lng: 113.45, lat: 1 })).toBeCloseTo(111_195.08, 1);
    expect(distanceMeters({ lng: 0, lat: 0 }, { lng: 1, lat: 0 })).toBeCloseTo(111_195.08, 1);
    // 0.001° of latitude in 黄埔 ≈ 111.195 m; a degree of longitude there is shorter by cos(23.17°).
    expect(distanceMeters({ lng: 113.45, lat: 23.17 }, { lng: 113.45, lat: 23.171 })).toBeCloseTo(111.195, 2);
    expect(distanceMeters({ lng: 113.45, lat: 23.17 }, { lng: 113.451, lat: 23.17 })).toBeCloseTo(
      111.195 * Math.cos((23.17 * Math.PI) / 180),
      1,
    );
    expect(distanceMeters({ lng: 113.45, lat: 23.17 }, { lng: 113.45, lat: 23.17 })).toBe(0);
  });

  it('rejects points that are not longitude/latitude', () => {
    expect(() => distanceMeters({ lng: 113.45, lat: 123 }, { lng: 0, lat: 0 })).toThrowError(RangeError);
  });
});

describe('duplicateScore', () => {
  const first: DuplicateSubject = {
    category: '施工管理/施工噪音',
    text: NOISE_1,
    location: { lng: 113.45, lat: 23.17 },
    raisedAt: new Date('2026-09-29T18:00:00Z'), // 02:00 Shanghai, while the piling goes on
  };
  const repeat: DuplicateSubject = {
    category: '施工管理/施工噪音',
    text: NOISE_2,
    location: { lng: 113.45, lat: 23.171 }, // ≈ 111 m north
    raisedAt: new Date('2026-09-29T21:00:00Z'), // 3 hours later
  };

  it('matches a repeat complaint and says why', () => {
    // 0.5 × 28/76 + 0.3 × (1 − 111.195/300) + 0.2 × (1 − 3/72) = 0.18421 + 0.18880 + 0.19167 ≈ 0.5647.
    const match = duplicateScore(repeat, first);
    expect(match).toBeDefined();
    expect(match!.score).toBeCloseTo(0.5647, 4);
    expect(match!.textSimilarity).toBeCloseTo(28 / 76, 10);
    expect(match!.distanceMeters).toBeCloseTo(111.195, 2);
    expect(match!.hoursApart).toBe(3);
    expect(match!.reasons).toEqual(['同一类别：施工管理/施工噪音', '相距约 111 米', '相隔 3.0 小时', '文本相似度 0.37']);
  });

  it('requires the same category', () => {
    expect(duplicateScore({ ...repeat, category: '市容环境/噪音' }, first)).toBeUndefined();
  });

  it('requires the configured distance', () => {
    // 0.0036° of latitude ≈ 400 m: beyond the default 300 m, inside a 500 m setting.
    const far = { ...repeat, location: { lng: 113.45, lat: 23.1736 } };
    expect(duplicateScore(far, first)).toBeUndefined();
    expect(duplicateScore(far, first, { maxDistanceMeters: 500 })).toBeDefined();
  });

  it('requires the configured time window, either way round', () => {
    const later = { ...repeat, raisedAt: new Date(first.raisedAt.getTime() + 73 * 3_600_000) };
    expect(duplicateScore(later, first)).toBeUndefined();
    expect(duplicateScore(first, later)).toBeUndefined();
    expect(duplicateScore(later, first, { windowHours: 96 })).toBeDefined();
  });

  it('requires similar text', () => {
    // Another matter at the same site, same category: 0.297 < 0.35.
    expect(duplicateScore({ ...repeat, text: MUD }, first)).toBeUndefined();
    expect(duplicateScore({ ...repeat, text: ZOMBIE_CAR }, first)).toBeUndefined();
    // With a stricter threshold even the real repeat is left alone.
    expect(duplicateScore(repeat, first, { minTextSimilarity: 0.4 })).toBeUndefined();
  });

  it('asks more of the text when a call has no point', () => {
    const noPoint = { ...repeat };
    delete noPoint.location;
    // 0.368 is below the 0.6 required without a point.
    expect(duplicateScore(noPoint, first)).toBeUndefined();
    const parking: DuplicateSubject = {
      category: '街面秩序/车辆乱停放',
      text: ZOMBIE_CAR,
      raisedAt: new Date('2026-09-29T02:00:00Z'),
    };
    // Same words with a comma and a full-width exclamation mark added, a day later.
    const again = { ...parking, text: '小区门口僵尸车停放十年，无人处理！', raisedAt: new Date('2026-09-30T02:00:00Z') };
    // ZOMBIE_CAR: 15 distinct characters + 14 bigrams = 29. The repeat: the same 15 characters, but the
    // comma splits it into 小区门口僵尸车停放十年 (10 bigrams) and 无人处理 (3), losing 年无: 15 + 13 = 28.
    // All 28 are shared → text 56/57 ≈ 0.982 (≥ 0.6). Score: 0.5 × 56/57 + 0.3 × 0 (no distance to
    // reward) + 0.2 × (1 − 24/72) ≈ 0.4912 + 0.1333 = 0.6246.
    const match = duplicateScore(again, parking);
    expect(match?.textSimilarity).toBeCloseTo(56 / 57, 10);
    expect(match?.score).toBeCloseTo(0.6246, 4);
    expect(match?.distanceMeters).toBeUndefined();
    expect(match?.reasons).toEqual(['同一类别：街面秩序/车辆乱停放', '缺少坐标，未比较距离', '相隔 24.0 小时', '文本相似度 0.98']);
  });

  it('rejects nonsensical options', () => {
    expect(() => duplicateScore(repeat, first, { maxDistanceMeters: -1 })).toThrowError(
      'maxDistanceMeters must be a positive number, got -1',
    );
  });
});
