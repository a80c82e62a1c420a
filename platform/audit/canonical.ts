// The canonical JSON form every hash and signature of the audit record is taken over: RFC 8785 JSON
// Canonicalization Scheme (JCS) — members sorted by UTF-16 code units, no whitespace, numbers as
// ECMAScript prints them, strings with JSON's minimal escaping — through the `canonicalize` package.
// Before that a value is made plain JSON the way it is stored and read back: a Date becomes its ISO
// 8601 UTC text with milliseconds, an undefined member is left out (as MongoDB leaves it out).
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** The canonical text of `value` (RFC 8785), after Dates become ISO text and undefined members go. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(JSON.parse(JSON.stringify(value ?? null)) as unknown);
  if (text === undefined) throw new Error('value has no JSON form');
  return text;
}

/** SHA-256 of the canonical text, as 64 lowercase hex digits. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
