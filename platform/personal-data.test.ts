// The scrubber every hub writer uses before Kafka, and the sealing of contacts a consumer needs.
import { describe, expect, it } from 'vitest';
import { findPersonalNumbers, intakeContext, maskPhone, scrubDeep, scrubText, sealIntakeCommand } from './personal-data.ts';
import { DEVELOPMENT_PERSONAL_KEY, isSealed, Keyring, keyringFrom, personalDataConfig, SealError } from './personal-keys.ts';
import { ConfigError, loadConfig } from './config.ts';

describe('scrubText: phone numbers in Chinese free text', () => {
  it.each([
    ['我叫张三，电话13812345678，小区门口堆满垃圾', '我叫张*，电话138****5678，小区门口堆满垃圾'],
    ['手机：138 1234 5678，请回电', '手机：138****5678，请回电'],
    ['手机138-1234-5678', '手机138****5678'],
    ['联系方式 +86 139 0000 1111。', '联系方式 139****1111。'],
    ['电话8613900001111', '电话139****1111'],
    ['手机号１３８１２３４５６７８（全角）', '手机号138****5678（全角）'],
    ['手机１３８－１２３４－５６７８', '手机138****5678'],
    ['座机020-88886666转总机', '座机020****6666转总机'],
    ['请拨（020）8888 6666联系物业', '请拨020****6666联系物业'],
    ['深圳来电0755-2345678', '深圳来电075****5678'],
    ['物业电话：87654321', '物业电话：****4321'],
  ])('%s', (text, scrubbed) => {
    expect(scrubText(text)).toBe(scrubbed);
  });
});

describe('scrubText: resident ID numbers', () => {
  it.each([
    ['身份证号440112199001011234', '身份证号4401**********1234'],
    ['身份证44011219900101123X。', '身份证4401**********123X。'],
    ['证件号 440112 19900101 123x', '证件号 4401**********123x'],
    ['身份证号４４０１１２１９９００１０１１２３Ｘ', '身份证号4401**********123X'],
  ])('%s', (text, scrubbed) => {
    expect(scrubText(text)).toBe(scrubbed);
  });
});

describe('scrubText: names after a cue', () => {
  it.each([
    ['我叫张三，家住长洲街', '我叫张*，家住长洲街'],
    ['姓名：欧阳娜娜 电话13900001111', '姓名：欧*** 电话139****1111'],
    ['联系人王小明电话待补', '联系人王**电话待补'],
    ['本人李建国反映楼上漏水', '本人李**反映楼上漏水'],
    ['信访人：林某某，女', '信访人：林**，女'],
  ])('%s', (text, scrubbed) => {
    expect(scrubText(text)).toBe(scrubbed);
  });

  it('leaves words after a cue that are not a name', () => {
    expect(scrubText('投诉人反映小区噪音')).toBe('投诉人反映小区噪音');
    expect(scrubText('联系人电话13812345678，订单号 20260619000123')).toBe('联系人电话138****5678，订单号 20260619000123');
  });

  it('masks the values the record names wherever they appear', () => {
    expect(scrubText('陈大文多次来电，陈大文称工地夜间施工', ['陈大文', '13812345678'])).toBe('陈**多次来电，陈**称工地夜间施工');
    expect(scrubText('材料附身份证440112199001011234', ['440112199001011234'])).toBe('材料附身份证4401**********1234');
  });

  it('changes nothing when applied twice', () => {
    const once = scrubText('我叫张三，电话13812345678，身份证440112199001011234，座机020-88886666');
    expect(scrubText(once)).toBe(once);
    expect(findPersonalNumbers(once)).toEqual([]);
  });
});

describe('findPersonalNumbers: no false positives on ids, times and order numbers', () => {
  it.each([
    'C1A2B3C4D5E6F7A8B9C0D',
    'C13812345678ABCDEF012',
    '0f4a2c1e-6b7d-4c1a-9e2f-a13812345678',
    'b1c2d3e4-0831-2345-9167-0e1f2a3b4c5d',
    '7c9e6679-7425-0755-2345-678912345678',
    '2026-10-01T08:00:00.000Z',
    '1781234567890',
    'GZ12345-20260601-0001',
    '订单号 20260619000123',
    'HPXF-2026-000101',
    '积水约40厘米，涉及13人',
    '113.4025,23.0651',
    '23.065123456789',
    '113.07552345678',
    '[113.4510755234567,23.0201387654321]',
    '第13812345678910号',
  ])('%s', (text) => {
    expect(findPersonalNumbers(text)).toEqual([]);
  });

  it('finds each kind where it stands', () => {
    expect(findPersonalNumbers('电话13812345678，身份证440112199001011234').map((n) => [n.kind, n.text])).toEqual([
      ['phone', '13812345678'],
      ['id', '440112199001011234'],
    ]);
  });
});

describe('scrubDeep', () => {
  it('masks named personal fields and scrubs every string, and leaves sealed values alone', () => {
    const keys = new Keyring([DEVELOPMENT_PERSONAL_KEY]);
    const sealed = keys.seal('13812345678', 'x');
    const record = {
      order_no: 'GZ12345-20260601-0001',
      caller_name: '陈大文',
      caller_phone: '13812345678',
      petitioner: { name: '林小红', phone: '13900001111', idNumber: '440112199001011234' },
      content: '我叫陈大文，电话13812345678',
      unit: { name: '长洲街' },
      notes: ['回电139 0000 1111'],
      personal: sealed,
      at: new Date('2026-06-01T00:00:00Z'),
      boundary: [[113.4510755234567, 23.065123456789]],
      count: 13812345678,
    };
    expect(scrubDeep(record, ['陈大文'])).toEqual({
      at: '2026-06-01T00:00:00.000Z',
      boundary: [[113.4510755234567, 23.065123456789]],
      count: '138****5678',
      order_no: 'GZ12345-20260601-0001',
      caller_name: '陈**',
      caller_phone: '138****5678',
      petitioner: { name: '林**', phone: '139****1111', idNumber: '4401**********1234' },
      content: '我叫陈**，电话138****5678',
      unit: { name: '长洲街' },
      notes: ['回电139****1111'],
      personal: sealed,
    });
  });
});

describe('sealing (AES-256-GCM, key ids)', () => {
  const k1 = { id: 'k1', key: Buffer.alloc(32, 1) };
  const k2 = { id: 'k2', key: Buffer.alloc(32, 2) };

  it('opens what it sealed, only in its own context', () => {
    const keys = new Keyring([k1]);
    const sealed = keys.seal('13812345678', 'intake:hotline:A');
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).toMatch(/^pd1\.k1\.[0-9a-f]+$/);
    expect(sealed).not.toContain('13812345678');
    expect(keys.open(sealed, 'intake:hotline:A').toString()).toBe('13812345678');
    expect(() => keys.open(sealed, 'intake:hotline:B')).toThrow(SealError);
    const altered = sealed.slice(0, -2) + (sealed.endsWith('00') ? '11' : '00');
    expect(() => keys.open(altered, 'intake:hotline:A')).toThrow(SealError);
  });

  it('rotates: a new first key seals, the old one still opens, a retired one is named', () => {
    const before = new Keyring([k1]).seal('a', 'c');
    const rotated = new Keyring([k2, k1]);
    expect(rotated.seal('b', 'c')).toMatch(/^pd1\.k2\./);
    expect(rotated.open(before, 'c').toString()).toBe('a');
    expect(() => new Keyring([k2]).open(before, 'c')).toThrow(/key "k1", which is not among PERSONAL_DATA_KEYS \(k2\)/);
  });

  it('reads PERSONAL_DATA_KEYS, refuses a bad one by name, and requires it in production', () => {
    const env = { PERSONAL_DATA_KEYS: `k2:${k2.key.toString('base64')},k1:${k1.key.toString('base64')}` };
    const config = loadConfig(personalDataConfig, env);
    expect(keyringFrom({ ...config, NODE_ENV: 'production' }).ids).toEqual(['k2', 'k1']);
    expect(() => loadConfig(personalDataConfig, { PERSONAL_DATA_KEYS: 'k1:c2hvcnQ=' })).toThrow(ConfigError);
    expect(() => loadConfig(personalDataConfig, { PERSONAL_DATA_KEYS: `k1:${k1.key.toString('base64')},k1:${k2.key.toString('base64')}` })).toThrow(
      /listed twice/,
    );
    expect(() => keyringFrom({ NODE_ENV: 'production' })).toThrow(/PERSONAL_DATA_KEYS must be set in production/);
    expect(keyringFrom({ NODE_ENV: 'development' }).ids).toEqual(['dev']);
  });
});

describe('sealIntakeCommand', () => {
  const keys = new Keyring([DEVELOPMENT_PERSONAL_KEY]);

  it('seals the contact and the texts as written, and scrubs every free text', () => {
    const command = {
      commandId: 'hotline:R-1',
      source: 'petition',
      externalId: 'HPXF-1',
      kind: 'create_call',
      occurredAt: '2026-06-01T00:00:00.000Z',
      call: {
        title: '林小红反映工地噪音',
        description: '我叫林小红，电话13900001111，身份证440112199001011234，工地夜间施工。',
        address: '长洲街深井社区3号 林小红家',
        category: '城市管理',
        priority: 'NORMAL',
        citizen: { name: '林小红', phone: '13900001111' },
      },
    };
    const sealed = sealIntakeCommand(command, keys, ['440112199001011234']);
    const text = JSON.stringify(sealed);
    for (const secret of ['林小红', '13900001111', '440112199001011234']) expect(text).not.toContain(secret);
    expect(sealed.call).not.toHaveProperty('citizen');
    expect(sealed.call.description).toBe('我叫林**，电话139****1111，身份证4401**********1234，工地夜间施工。');
    expect(keys.openJson((sealed.call as { personal?: string }).personal as string, intakeContext('petition', 'HPXF-1'))).toEqual({
      citizen: { name: '林小红', phone: '13900001111' },
      title: command.call.title,
      description: command.call.description,
      address: command.call.address,
    });
  });

  it('scrubs notes, reasons, comments and orders, and seals nothing when nothing is personal', () => {
    const base = { commandId: 'c', source: 'hotline', externalId: 'E', kind: 'update_call', occurredAt: '2026-06-01T00:00:00.000Z' };
    expect(sealIntakeCommand({ ...base, update: { action: 'urge', note: '市民13812345678再次催办' } }, keys).update.note).toBe('市民138****5678再次催办');
    expect(sealIntakeCommand({ ...base, reason: '撤单：来电人王建国13812345678' }, keys).reason).toBe('撤单：来电人王**138****5678');
    const plain = { ...base, call: { title: '井盖缺失', description: '路口井盖缺失', category: '城市管理', priority: 'NORMAL' } };
    expect(sealIntakeCommand(plain, keys)).toEqual(plain);
  });
});

it('maskPhone takes any spelling of a number', () => {
  expect(maskPhone('１３８１２３４５６７８')).toBe('138****5678');
  expect(maskPhone('0086 138 1234 5678')).toBe('138****5678');
});
