// Open311 GeoReport v2 service definitions (wiki.open311.org/GeoReport_v2, "GET Service Definition"):
// the extra questions an item of the callable-items list asks a reporter (积水多深、什么车、什么时段),
// listed with `metadata: true` in `GET services` and defined at `services/{code}`; a POSTed request
// answers them as `attribute[code]=value` (`attribute[code][]=…` for several values of a
// multivaluelist). The answers are checked against the definition and go into the call's description.
// The district's own definitions come from OPEN311_SERVICE_DEFINITIONS_PATH (a JSON file of this
// shape); without one the demo's (DEMO_DEFINITIONS) are used.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Open311Error } from './georeport.ts';

/** The specification's attribute datatypes. */
const DATATYPES = ['string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist'] as const;

/** Longest answer of a `string` attribute (a named default: the specification sets none). */
export const MAX_STRING_ANSWER = 200;
/** Longest answer of a `text` attribute: the specification's limit for `description`, 4,000 characters. */
export const MAX_TEXT_ANSWER = 4000;

const attributeSchema = z.strictObject({
  /** false: information shown to the reporter, not a question (the specification's `variable`). */
  variable: z.boolean(),
  code: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/),
  datatype: z.enum(DATATYPES),
  required: z.boolean(),
  datatype_description: z.string().max(200).nullable(),
  order: z.number().int().min(1),
  description: z.string().min(1).max(500),
  values: z.array(z.strictObject({ key: z.string().min(1).max(40), name: z.string().min(1).max(100) })).optional(),
  /** Bounds of a `number` answer (ours: the specification leaves them to datatype_description). */
  min: z.number().optional(),
  max: z.number().optional(),
});
export type ServiceAttribute = z.infer<typeof attributeSchema>;

const definitionsSchema = z.record(z.string(), z.array(attributeSchema).min(1).max(20)).superRefine((definitions, ctx) => {
  for (const [code, attributes] of Object.entries(definitions)) {
    for (const attribute of attributes) {
      const listed = attribute.datatype.endsWith('valuelist');
      if (listed !== Boolean(attribute.values?.length)) ctx.addIssue({ code: 'custom', path: [code, attribute.code], message: 'values are given for, and only for, a singlevaluelist or multivaluelist' });
    }
  }
});
export type ServiceDefinitions = z.infer<typeof definitionsSchema>;

const YES_NO = [
  { key: 'yes', name: '是' },
  { key: 'no', name: '否' },
];

/** The demo district's questions, for the items whose handling depends on them. */
export const DEMO_DEFINITIONS: ServiceDefinitions = {
  // 水浸点排涝: the depth decides pumps or sandbags, a blocked road the priority.
  'SW-01': [
    { variable: true, code: 'water_depth_cm', datatype: 'number', required: true, datatype_description: '0–300 的整数（厘米）', order: 1, description: '积水深度约多少厘米？', min: 0, max: 300 },
    { variable: true, code: 'traffic_blocked', datatype: 'singlevaluelist', required: true, datatype_description: null, order: 2, description: '是否影响车辆或行人通行？', values: YES_NO },
  ],
  // 僵尸车清理: what kind of vehicle, and for how long (the 交警 rule counts days parked).
  'JT-01': [
    {
      variable: true,
      code: 'vehicle_type',
      datatype: 'singlevaluelist',
      required: true,
      datatype_description: null,
      order: 1,
      description: '车辆类型',
      values: [
        { key: 'car', name: '小汽车' },
        { key: 'motorcycle', name: '摩托车' },
        { key: 'ebike', name: '电动自行车' },
        { key: 'other', name: '其他' },
      ],
    },
    { variable: true, code: 'parked_since', datatype: 'datetime', required: false, datatype_description: 'ISO 8601，含时区', order: 2, description: '大约从何时起停放？' },
  ],
  // 施工噪音扰民: the hours decide which rule applies (夜间施工 needs a permit).
  'CG-03': [
    { variable: false, code: 'notice', datatype: 'text', required: false, datatype_description: null, order: 1, description: '夜间（22时至次日6时）施工须持有夜间施工许可证。' },
    {
      variable: true,
      code: 'noise_hours',
      datatype: 'multivaluelist',
      required: true,
      datatype_description: null,
      order: 2,
      description: '噪音出现在哪些时段？（可多选）',
      values: [
        { key: 'night', name: '夜间 22:00–6:00' },
        { key: 'noon', name: '午间 12:00–14:00' },
        { key: 'day', name: '其他白天时段' },
      ],
    },
    { variable: true, code: 'site_name', datatype: 'string', required: false, datatype_description: `不超过 ${MAX_STRING_ANSWER} 字`, order: 3, description: '工地名称（如知道）' },
  ],
};

export function loadServiceDefinitions(path: string | undefined): ServiceDefinitions {
  if (!path) return DEMO_DEFINITIONS;
  return definitionsSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

/** The attributes as the specification writes them (our `min`/`max` are told in datatype_description). */
export function publicAttributes(attributes: ServiceAttribute[]): Array<Record<string, unknown>> {
  return [...attributes]
    .sort((a, b) => a.order - b.order)
    .map(({ variable, code, datatype, required, datatype_description, order, description, values }) => ({
      variable,
      code,
      datatype,
      required,
      datatype_description,
      order,
      description,
      ...(values && { values }),
    }));
}

/** A POSTed form's answers: `attribute[code]` → one value, `attribute[code][]` → several. */
export function answersOf(form: Record<string, string | string[] | undefined>): Map<string, string[]> {
  const answers = new Map<string, string[]>();
  for (const [name, value] of Object.entries(form)) {
    const match = /^attribute\[([^\]]+)\](\[\])?$/.exec(name);
    if (!match?.[1] || value === undefined) continue;
    const values = (Array.isArray(value) ? value : [value]).map((v) => v.trim()).filter(Boolean);
    answers.set(match[1], [...(answers.get(match[1]) ?? []), ...values]);
  }
  return answers;
}

const refuse = (message: string) => new Open311Error(400, message);

/**
 * The answers checked against the item's questions, as lines for the call's description
 * (`积水深度约多少厘米？：30`). Refused in the specification's error format (400): a required answer
 * missing, an unknown attribute code, a value that is not of its datatype or not among its values.
 */
export function checkedAnswers(attributes: ServiceAttribute[], answers: Map<string, string[]>): string[] {
  const questions = new Map(attributes.filter((a) => a.variable).map((a) => [a.code, a]));
  for (const code of answers.keys()) if (!questions.has(code)) throw refuse(`未知的属性：attribute[${code.slice(0, 40)}] (this service has no such attribute)`);
  const lines: string[] = [];
  for (const attribute of [...questions.values()].sort((a, b) => a.order - b.order)) {
    const given = answers.get(attribute.code) ?? [];
    const label = `attribute[${attribute.code}]`;
    if (given.length === 0) {
      if (attribute.required) throw refuse(`${label} 必填：${attribute.description} (required attribute missing)`);
      continue;
    }
    if (given.length > 1 && attribute.datatype !== 'multivaluelist') throw refuse(`${label} 只能有一个值 (one value only)`);
    const [value = ''] = given;
    let shown: string;
    switch (attribute.datatype) {
      case 'number': {
        const number = Number(value);
        if (!/^-?\d+(\.\d+)?$/.test(value) || (attribute.min !== undefined && number < attribute.min) || (attribute.max !== undefined && number > attribute.max)) {
          throw refuse(`${label} 须为${attribute.datatype_description ?? '数字'} (not a number in range)`);
        }
        shown = value;
        break;
      }
      case 'datetime':
        // ISO 8601 with its zone, as every time of the specification.
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(Date.parse(value))) {
          throw refuse(`${label} 须为含时区的 ISO 8601 时间 (not an ISO 8601 datetime with zone)`);
        }
        shown = value;
        break;
      case 'string':
      case 'text': {
        const limit = attribute.datatype === 'string' ? MAX_STRING_ANSWER : MAX_TEXT_ANSWER;
        if ([...value].length > limit) throw refuse(`${label} 超过 ${limit} 字 (longer than ${limit} characters)`);
        shown = value;
        break;
      }
      case 'singlevaluelist':
      case 'multivaluelist': {
        const names = given.map((key) => attribute.values?.find((v) => v.key === key)?.name);
        const unknown = given.find((_key, i) => names[i] === undefined);
        if (unknown !== undefined) throw refuse(`${label} 的值 ${unknown.slice(0, 40)} 不在可选值中 (not one of the listed values: ${attribute.values?.map((v) => v.key).join(', ')})`);
        shown = [...new Set(names)].join('、');
        break;
      }
    }
    lines.push(`${attribute.description}：${shown}`);
  }
  return lines;
}
