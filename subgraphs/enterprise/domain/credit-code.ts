// 统一社会信用代码 (unified social credit code), GB 32100-2015: 18 characters from the charset
// 0-9 A-H J-N P-R T U W-Y (no I, O, S, V, Z):
//   1      registration authority (登记管理部门: 1 机构编制, 5 民政, 9 工商/市场监管, Y 其他 …)
//   2      organisation category (机构类别: for 9, 1 企业, 2 个体工商户, 3 农民专业合作社)
//   3–8    administrative division of the registering authority (GB/T 2260, six digits)
//   9–17   the subject's identifier (主体标识码, the GB 11714 organisation code)
//   18     check character: 31 − (Σ value(cᵢ) × wᵢ mod 31), weights 3^(i−1) mod 31, mapped back to the charset.

export const CREDIT_CODE_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export type CreditCodeProblem =
  | { kind: 'length'; length: number }
  | { kind: 'character'; position: number; character: string }
  | { kind: 'division'; division: string }
  | { kind: 'check'; expected: string; actual: string };

export type CreditCodeCheck = { ok: true; code: string } | { ok: false; problem: CreditCodeProblem; message: string };

/** The check character for the first 17 characters (which must be from the charset). */
export function creditCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += CREDIT_CODE_CHARSET.indexOf(first17[i] as string) * (WEIGHTS[i] as number);
  return CREDIT_CODE_CHARSET[(31 - (sum % 31)) % 31] as string;
}

/**
 * Checks a code as typed by staff: surrounding spaces are dropped and letters upper-cased; anything
 * else is reported with a message in Chinese naming what is wrong and where.
 */
export function checkCreditCode(input: string): CreditCodeCheck {
  const code = input.trim().toUpperCase();
  const fail = (problem: CreditCodeProblem, message: string): CreditCodeCheck => ({ ok: false, problem, message });
  const length = [...code].length;
  if (length !== 18) {
    return fail({ kind: 'length', length }, `统一社会信用代码应为 18 位，实为 ${length} 位 (a credit code has 18 characters)`);
  }
  for (let i = 0; i < 18; i++) {
    const character = code[i] as string;
    if (!CREDIT_CODE_CHARSET.includes(character)) {
      const hint = 'IOSVZ'.includes(character) ? '（代码不使用 I、O、S、V、Z）' : '';
      return fail(
        { kind: 'character', position: i + 1, character },
        `统一社会信用代码第 ${i + 1} 位“${character}”不是有效字符${hint} (invalid character)`,
      );
    }
  }
  const division = code.slice(2, 8);
  if (!/^\d{6}$/.test(division)) {
    return fail({ kind: 'division', division }, `统一社会信用代码第 3–8 位应为行政区划代码（6 位数字），实为“${division}” (invalid division code)`);
  }
  const expected = creditCheckCharacter(code.slice(0, 17));
  const actual = code[17] as string;
  if (expected !== actual) {
    return fail(
      { kind: 'check', expected, actual },
      `统一社会信用代码校验位不符：第 18 位应为“${expected}”，实为“${actual}”，请核对是否录入有误 (check character mismatch)`,
    );
  }
  return { ok: true, code };
}

/** A valid code built from 17 characters (demo data, tests). */
export function withCheckCharacter(first17: string): string {
  return first17 + creditCheckCharacter(first17);
}
