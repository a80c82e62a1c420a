// Personal information (个人信息) under PIPL: citizens', callers' and petitioners' names, phone numbers
// and ID numbers. Masked for roles that do not need them, never written to logs, and never on Kafka in
// clear: free text is scrubbed (scrubText, scrubDeep) and a contact a consumer needs travels sealed
// (platform/personal-keys.ts).
import { isSealed, type Keyring } from './personal-keys.ts';

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

/** `13812345678` → `138****5678`. */
export function maskPhone(phone: string): string {
  const digits = normalize(phone)
    .replace(/\D/g, '')
    .replace(/^(00)?86(?=1\d{10}$)/, '');
  if (digits.length < 7) return '*'.repeat(digits.length);
  // A local number (8888 6666) keeps its last four digits only.
  if (digits.length < 10) return `${'*'.repeat(digits.length - 4)}${digits.slice(-4)}`;
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
  const chars = normalize(id).replace(/[^0-9Xx]/g, '');
  if (chars.length <= 8) return '*'.repeat(chars.length);
  return `${chars.slice(0, 4)}${'*'.repeat(chars.length - 8)}${chars.slice(-4)}`;
}

// Full-width digits, letters and punctuation (１３８－１２３４) become their ASCII forms, one UTF-16 unit
// for one, so a match on the normalized text has the same offsets in the original.
function normalize(text: string): string {
  return text.replace(/[\uff01-\uff5e\u3000\u2010-\u2015]/g, (c) => {
    const code = c.charCodeAt(0);
    if (code === 0x3000) return ' ';
    if (code >= 0x2010 && code <= 0x2015) return '-';
    return String.fromCharCode(code - 0xfee0);
  });
}

// The patterns (on normalized text). Each number stands alone: no digit or Latin letter right before
// or after it, nor one joined to it by a dash or a point, so call ids (C + hex), UUIDs
// (0f4a2c1e-0831-2345-9167-…), the decimals of a coordinate (23.065123456789), order numbers,
// timestamps and sealed values never match.
const EDGE_BEFORE = '(?<![0-9A-Za-z])(?<![0-9A-Za-z][-.])';
const EDGE_AFTER = '(?![0-9A-Za-z])(?![-.][0-9A-Za-z])';
/** One optional separator between digit groups: a space or a dash. */
const SEP = '[ \\t\\u00a0-]?';
/** A mainland mobile number 1[3-9]x xxxx xxxx, optionally +86/0086, grouped 3-4-4 by spaces or dashes. */
const MOBILE = `(?:(?:\\+|00)?86${SEP})?1[3-9]\\d${SEP}\\d{4}${SEP}\\d{4}`;
/** A landline with its area code (010, 02x, 0xxx; 020-8888 6666, (020)88886666): 7–8 digits, the first 2–9. */
const LANDLINE = `(?:\\(0\\d{2,3}\\)|0(?:10|2\\d|[3-9]\\d{2}))${SEP}[2-9]\\d{2,3}${SEP}\\d{4}`;
/** An 18-character resident ID number: region, a birth date (1800–2099), sequence, check digit or X. */
const RESIDENT_ID = `[1-9]\\d{5}${SEP}(?:18|19|20)\\d{2}${SEP}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\\d|3[01])${SEP}\\d{3}[0-9Xx]`;
/** After 电话/座机/tel, a local landline without its area code (8888 6666). */
const LOCAL_AFTER_CUE = `(?<=(?:电话|座机|固话|联系方式|tel|Tel|TEL)[:： ]{0,2})[2-9]\\d{2,3}${SEP}\\d{4}`;

const NUMBERS = new RegExp(
  `${EDGE_BEFORE}(?:(?<id>${RESIDENT_ID})|(?<phone>${MOBILE}|${LANDLINE}|${LOCAL_AFTER_CUE}))${EDGE_AFTER}`,
  'g',
);

// Names follow a cue (我叫张三, 姓名：李四, 联系人王五) and start with a common surname (百家姓), so
// that "投诉人反映小区…" keeps its words. A name is 2–4 Han characters, ending where punctuation, a digit,
// or a word that usually follows a name (电话, 住在, 反映 …) begins.
const SURNAMES =
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝';
const COMPOUND_SURNAMES = '欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|宇文|司徒|夏侯|令狐|端木|西门|南宫';
const NAME_CUES = '我叫|我的名字是|我的名字叫|本人|姓名|名字|联系人|来电人|反映人|投诉人|举报人|信访人|申请人|当事人|报警人|求助人';
const NAME_FOLLOWERS = '电话|手机|联系|身份|家住|现住|住在|住|先生|女士|反映|投诉|举报|来电|称|说|的|在|是|和|与|及|今|于|向|已|要|想|请|因|年|男|女';
const NAMES = new RegExp(
  `(?<cue>${NAME_CUES})(?<gap>[:：是为叫 ]{0,2})(?<name>(?:${COMPOUND_SURNAMES}|[${SURNAMES}])[\\u4e00-\\u9fa5]{1,3}?)(?=${NAME_FOLLOWERS}|[^\\u4e00-\\u9fa5]|$)`,
  'g',
);

export interface PersonalNumber {
  kind: 'phone' | 'id';
  index: number;
  text: string;
}

/** Phone and ID numbers standing in a text, as written there (the scan of Kafka records uses it too). */
export function findPersonalNumbers(text: string): PersonalNumber[] {
  const found: PersonalNumber[] = [];
  for (const match of normalize(text).matchAll(NUMBERS)) {
    const index = match.index;
    found.push({ kind: match.groups?.id ? 'id' : 'phone', index, text: text.slice(index, index + match[0].length) });
  }
  return found;
}

/**
 * Masks phone numbers (mobile, landline), resident ID numbers and names after a cue inside free text
 * (a call's description, a note, a log line), and every occurrence of the `known` values (the
 * caller's own name and phone from the record's named fields). Masking twice changes nothing.
 */
export function scrubText(text: string, known: readonly string[] = []): string {
  let out = text;
  for (const value of known) {
    const trimmed = value?.trim();
    // A known name of one character (王) would mask every occurrence of the character.
    if (trimmed && [...trimmed].length >= 2 && out.includes(trimmed)) {
      out = out.split(trimmed).join(maskKnown(trimmed));
    }
  }
  let masked = '';
  let at = 0;
  for (const number of findPersonalNumbers(out)) {
    masked += out.slice(at, number.index) + (number.kind === 'id' ? maskIdNumber(number.text) : maskPhone(number.text));
    at = number.index + number.text.length;
  }
  masked += out.slice(at);
  return masked.replace(NAMES, (_m, cue: string, gap: string, name: string) => `${cue}${gap}${maskName(name)}`);
}

function maskKnown(value: string): string {
  const plain = normalize(value);
  if (/^[\d\sXx+()-]+$/.test(plain) && plain.replace(/[^0-9Xx]/g, '').length >= 15) return maskIdNumber(value);
  return /\d/.test(plain) ? maskPhone(value) : maskName(value);
}

// Keys of objects that are a person (the caller, the petitioner, a citizen, an enterprise's contact):
// inside them a name, phone or ID number is masked whatever it looks like.
const PERSON_KEYS = new Set(['caller', 'petitioner', 'citizen', 'contact', 'contacts', 'person', 'persons']);
const NAME_KEYS = new Set(['name', 'citizenname', 'callername', 'petitionername', 'contactname']);
const PHONE_KEYS = new Set(['phone', 'mobile', 'telephone', 'callerphone', 'petitionerphone', 'contactphone', 'citizenphone']);
const ID_KEYS = new Set(['idnumber', 'idcard', 'idno']);
const keyOf = (key: string) => key.toLowerCase().replace(/[_-]/g, '');

/**
 * A copy of a JSON value with every string scrubbed (scrubText) and every named personal field masked:
 * `caller_phone`, `idNumber` anywhere, and `name` inside a person (`petitioner: {name}`). Sealed
 * values (personal-keys.ts) are left as they are: only their key holder can read them.
 */
export function scrubDeep<T>(value: T, known: readonly string[] = []): T {
  return walk(value, known, false) as T;
}

function walk(value: unknown, known: readonly string[], inPerson: boolean, key = ''): unknown {
  if (typeof value === 'string') {
    if (isSealed(value)) return value;
    const k = keyOf(key);
    if (PHONE_KEYS.has(k)) return maskPhone(value);
    if (ID_KEYS.has(k)) return maskIdNumber(value);
    if (NAME_KEYS.has(k) && (inPerson || k !== 'name')) return maskName(value);
    return scrubText(value, known);
  }
  if (typeof value === 'number') {
    // A phone written as a JSON number (13812345678) is masked as its digits would be; a coordinate
    // or an amount (not a whole number) is never a phone.
    if (!Number.isInteger(value)) return value;
    const text = String(value);
    if (PHONE_KEYS.has(keyOf(key))) return maskPhone(text);
    if (ID_KEYS.has(keyOf(key))) return maskIdNumber(text);
    const scrubbed = scrubText(text);
    return scrubbed === text ? value : scrubbed;
  }
  if (Array.isArray(value)) return value.map((item) => walk(item, known, inPerson, key));
  // Dates, ObjectIds, Buffers: as JSON will write them.
  if (value && typeof (value as { toJSON?: unknown }).toJSON === 'function') return walk((value as { toJSON: () => unknown }).toJSON(), known, inPerson, key);
  if (value && typeof value === 'object') {
    const person = inPerson || PERSON_KEYS.has(keyOf(key));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, known, person, k)]));
  }
  return value;
}

/** What a call's intake command seals for the calls subgraph: the contact, and texts as the source wrote them. */
export interface PersonalOriginals {
  citizen?: { name?: string; phone?: string };
  title?: string;
  description?: string;
  address?: string;
}

/** The context a command's sealed personal data is bound to. */
export function intakeContext(source: string, externalId: string): string {
  return `intake:${source}:${externalId}`;
}

/** The fields of an intake command (schemas/events/intake-command.schema.json) that may carry personal data. */
interface IntakeLike {
  source: string;
  externalId: string;
  call?: { title: string; description: string; address?: string; citizen?: { name?: string; phone?: string }; personal?: string };
  update?: { note: string };
  rating?: { comment?: string };
  order?: { title: string; description: string };
  reason?: string;
}

/**
 * An intake command as it may go on hub.intake: the citizen's contact and the texts as written (when
 * scrubbing changed them) sealed into `call.personal` for the calls subgraph, every free text scrubbed.
 * `known` adds values from the source record to mask wherever they appear (a petitioner's ID number).
 */
export function sealIntakeCommand<T extends IntakeLike>(command: T, keys: Keyring, known: readonly (string | undefined)[] = []): T {
  const { call: draft, update, rating, order, reason } = command;
  const values = [...known, draft?.citizen?.name, draft?.citizen?.phone].filter((v): v is string => Boolean(v));
  // A malformed command (a field missing) is the calls intake's to refuse, not this function's.
  const scrub = (text: string) => (typeof text === 'string' ? scrubText(text, values) : text);
  const sealed: T = { ...command };
  if (draft) {
    const { citizen, ...call } = draft;
    const originals: PersonalOriginals = {};
    if (citizen?.name || citizen?.phone) originals.citizen = { ...(citizen.name && { name: citizen.name }), ...(citizen.phone && { phone: citizen.phone }) };
    const title = scrub(call.title);
    const description = scrub(call.description);
    const address = call.address === undefined ? undefined : scrub(call.address);
    if (title !== call.title) originals.title = call.title;
    if (description !== call.description) originals.description = call.description;
    if (address !== call.address) originals.address = call.address;
    const personal = Object.keys(originals).length > 0 ? keys.sealJson(originals, intakeContext(command.source, command.externalId)) : call.personal;
    sealed.call = { ...call, title, description, ...(address !== undefined && { address }), ...(personal && { personal }) };
  }
  if (update) sealed.update = { ...update, note: scrub(update.note) };
  if (rating?.comment) sealed.rating = { ...rating, comment: scrub(rating.comment) };
  if (order) sealed.order = { ...order, title: scrub(order.title), description: scrub(order.description) };
  if (reason) sealed.reason = scrub(reason);
  return sealed;
}
