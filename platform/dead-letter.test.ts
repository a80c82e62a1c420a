// A dead letter is the hub's own record: it shows no name, phone or ID number, and still gives the
// re-drive the original record exactly.
import { describe, expect, it } from 'vitest';
import { contract } from './contracts.ts';
import { type DeadLetter, deadLetterContext, deadLetterOutput, decodeBytes } from './dead-letter.ts';
import { DEVELOPMENT_PERSONAL_KEY, Keyring } from './personal-keys.ts';
import type { SourceRecord } from './source-record.ts';

const keys = new Keyring([DEVELOPMENT_PERSONAL_KEY]);
const failure = { code: 'schema' as const, reason: 'fails its schema: caller 13812345678', attempts: 1 };

function letterOf(value: Buffer, headers: Record<string, Buffer> = {}): DeadLetter {
  const record: SourceRecord = { topic: 'src.12345.orders', partition: 2, offset: '41', key: Buffer.from('GZ12345-1'), value, headers, timestamp: Date.now() };
  return JSON.parse(deadLetterOutput('hotline-orders', record, failure, keys).value) as DeadLetter;
}

describe('dead letters and personal data', () => {
  it('masks a work order’s caller in the readable text and seals the original for the re-drive', () => {
    const order = JSON.stringify({ order_no: 'GZ12345-1', caller_name: '陈大文', caller_phone: '13812345678', content: '我叫陈大文，身份证440112199001011234' });
    const letter = letterOf(Buffer.from(order));
    expect(contract('dead-letter')(letter).ok).toBe(true);
    expect(JSON.stringify(letter)).not.toMatch(/13812345678|陈大文|440112199001011234/);
    expect(JSON.parse((letter.value as { text: string }).text)).toEqual({
      order_no: 'GZ12345-1',
      caller_name: '陈**',
      caller_phone: '138****5678',
      content: '我叫陈**，身份证4401**********1234',
    });
    expect(letter.reason).toBe('fails its schema: caller 138****5678');
    expect(decodeBytes(letter.value as DeadLetter['value'] & object, { keys, context: deadLetterContext(letter.deadLetterId, 'value') }).toString()).toBe(order);
    // Without the keys a reader gets the masked text (the enterprise zone reading ids).
    expect(decodeBytes(letter.value as DeadLetter['value'] & object).toString()).not.toContain('13812345678');
  });

  it('keeps a record with nothing personal as it was, and seals bytes that are not text', () => {
    const command = '{"source":"hotline","externalId":"GZ12345-1","call":{"personal":"x"}}';
    expect(letterOf(Buffer.from(command)).value).toEqual({ text: command });
    const gbk = Buffer.from([0xb5, 0xe7, 0xbb, 0xb0, 0x31, 0x33, 0x38]);
    const binary = letterOf(gbk, { note: Buffer.from('13812345678') });
    expect(Object.keys(binary.value as object)).toEqual(['sealed']);
    expect(binary.headers.note).toMatchObject({ text: '138****5678' });
    expect(decodeBytes(binary.value as DeadLetter['value'] & object, { keys, context: deadLetterContext(binary.deadLetterId, 'value') })).toEqual(gbk);
    // A sealed part does not open as another part of the letter.
    expect(() => decodeBytes(binary.value as DeadLetter['value'] & object, { keys, context: deadLetterContext(binary.deadLetterId, 'key') })).toThrow();
  });
});
