import { describe, expect, it } from 'vitest';
import { TextIndex, terms } from './text-search.ts';

describe('Chinese-aware policy search', () => {
  it('indexes Han runs as bigrams and other words whole', () => {
    expect(terms('人才公寓')).toEqual(['人才', '才公', '公寓']);
    expect(terms('支持 AI 与5G，补贴')).toEqual(['支持', 'ai', '与', '5g', '补贴']);
    // Full-width letters and digits read as their plain forms.
    expect(terms('ＡＩ')).toEqual(['ai']);
  });

  const index = new TextIndex();
  index.put('housing', [
    { text: '黄埔区人才安居办法', weight: 3 },
    { text: '符合条件的企业人才可申请配租人才公寓或领取租房补贴。', weight: 1 },
  ]);
  index.put('finance', [
    { text: '黄埔区支持中小企业融资若干措施', weight: 3 },
    { text: '对中小企业银行贷款利息给予贴息。', weight: 1 },
  ]);
  index.put('ai', [
    { text: '人工智能产业扶持办法', weight: 3 },
    { text: '对人工智能企业给予租金补贴和算力券。', weight: 1 },
  ]);

  it('finds a word however it sits in the text, best match first', () => {
    expect(index.search('人才公寓').map((s) => s.id)).toEqual(['housing']);
    expect(index.search('贷款贴息').map((s) => s.id)).toEqual(['finance']);
    const rent = index.search('租金补贴').map((s) => s.id);
    expect(rent[0]).toBe('ai');
  });

  it('needs at least half of the query’s terms, and finds nothing for unrelated words', () => {
    expect(index.search('台风预警')).toEqual([]);
    expect(index.search('')).toEqual([]);
  });

  it('forgets a replaced or removed document', () => {
    const copy = new TextIndex();
    copy.put('x', [{ text: '人才公寓', weight: 1 }]);
    copy.put('x', [{ text: '贷款贴息', weight: 1 }]);
    expect(copy.search('人才公寓')).toEqual([]);
    copy.remove('x');
    expect(copy.search('贷款贴息')).toEqual([]);
    expect(copy.size).toBe(0);
  });
});
