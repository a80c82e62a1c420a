// Personal information (个人信息) under PIPL: citizens', callers' and petitioners' names, phone numbers
// and ID numbers. Masked for roles that do not need them, and never written to logs.

/** Object keys that hold personal data wherever they appear; the logger redacts them. */
export const PERSONAL_KEYS = [
  'phone',
  'mobile',
  'telephone',
  'idNumber',
  'idCard',
  'citizenName',
  'callerName',
  'callerPhone',
  'petitionerName',
  'petitionerPhone',
  'contactName',
  'contactPhone',
  'caller',
  'petitioner',
] as const;

// Mainland mobile numbers (11 digits from 13x to 19x) and 18-character resident ID numbers, when they
// stand alone in free text.
const MOBILE = /(?<!\d)(\+?86[- ]?)?1[3-9]\d{9}(?!\d)/g;
const RESIDENT_ID = /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/g;

/** `13812345678` → `138****5678`. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '').replace(/^86(?=1\d{10}$)/, '');
  if (digits.length < 7) return '*'.repeat(digits.length);
  return `${digits.slice(0, 3)}${'*'.repeat(digits.length - 7)}${digits.slice(-4)}`;
}

/** `张三丰` → `张**`: keeps the surname only. */
export function maskName(name: string): string {
  const chars = [...name.trim()];
  if (chars.length === 0) return '';
  return chars[0] + '*'.repeat(Math.max(chars.length - 1, 1));
}

/** `440112199001011234` → `4401**********1234`. */
export function maskIdNumber(id: string): string {
  if (id.length <= 8) return '*'.repeat(id.length);
  return `${id.slice(0, 4)}${'*'.repeat(id.length - 8)}${id.slice(-4)}`;
}

/** Masks phone and ID numbers that appear inside free text (a call's description, a log line). */
export function scrubText(text: string): string {
  return text.replace(RESIDENT_ID, (m) => maskIdNumber(m)).replace(MOBILE, (m) => maskPhone(m));
}
