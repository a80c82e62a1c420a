// GB 32100-2015 check characters, against the standard's own example and codes of well-known
// companies as printed on their public business-registration records, and against broken codes.
import { describe, expect, it } from 'vitest';
import { CREDIT_CODE_CHARSET, checkCreditCode, creditCheckCharacter, withCheckCharacter } from './credit-code.ts';

const PUBLISHED: Array<[string, string]> = [
  ['91350100M000100Y43', 'GB 32100-2015 附录中的示例'],
  ['91440300708461136T', '腾讯科技（深圳）有限公司'],
  ['914403001922038216', '华为技术有限公司'],
  ['91330100716105852F', '阿里巴巴（中国）有限公司'],
  ['91110108551385082Q', '小米科技有限责任公司'],
  ['91440300192317458F', '比亚迪股份有限公司'],
  ['91110000802100433B', '百度在线网络技术（北京）有限公司'],
];

describe('unified social credit code (统一社会信用代码)', () => {
  it.each(PUBLISHED)('accepts %s (%s)', (code) => {
    expect(checkCreditCode(code)).toEqual({ ok: true, code });
  });

  it('computes the published check characters itself', () => {
    for (const [code] of PUBLISHED) expect(creditCheckCharacter(code.slice(0, 17))).toBe(code[17]);
  });

  it('accepts a code typed in lower case with spaces around it, normalized', () => {
    expect(checkCreditCode('  91350100m000100y43 ')).toEqual({ ok: true, code: '91350100M000100Y43' });
  });

  it('refuses every single wrong character of a valid code (a typo never passes)', () => {
    const code = '91350100M000100Y43';
    let tried = 0;
    for (let i = 0; i < 18; i++) {
      for (const c of CREDIT_CODE_CHARSET) {
        if (c === code[i]) continue;
        const typo = code.slice(0, i) + c + code.slice(i + 1);
        const checked = checkCreditCode(typo);
        expect(checked.ok, typo).toBe(false);
        tried++;
      }
    }
    expect(tried).toBe(18 * 30);
  });

  it('refuses every swap of two neighbouring characters', () => {
    for (const [code] of PUBLISHED) {
      for (let i = 0; i < 17; i++) {
        if (code[i] === code[i + 1]) continue;
        const swapped = code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2);
        expect(checkCreditCode(swapped).ok, swapped).toBe(false);
      }
    }
  });

  it('says what is wrong, in Chinese', () => {
    const short = checkCreditCode('91350100M000100Y4');
    expect(short).toMatchObject({ ok: false, problem: { kind: 'length', length: 17 } });
    if (!short.ok) expect(short.message).toContain('应为 18 位，实为 17 位');

    const letterO = checkCreditCode('91350100M0O0100Y43');
    expect(letterO).toMatchObject({ ok: false, problem: { kind: 'character', position: 11, character: 'O' } });
    if (!letterO.ok) expect(letterO.message).toContain('不使用 I、O、S、V、Z');

    const division = checkCreditCode(withCheckCharacter('9135A100M000100Y4'));
    expect(division).toMatchObject({ ok: false, problem: { kind: 'division' } });

    const check = checkCreditCode('91440300708461136U');
    expect(check).toMatchObject({ ok: false, problem: { kind: 'check', expected: 'T', actual: 'U' } });
    if (!check.ok) expect(check.message).toContain('第 18 位应为“T”');
  });
});
