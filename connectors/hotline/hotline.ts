// The 12345 hotline (政务服务便民热线) connector. Work orders (工单) and their later records arrive on
// src.12345.orders in the hotline's own layout (schemas/events/hotline-order.schema.json) and become
// intake commands: a new order a call (category mapped from the hotline's 三级分类, priority from its
// urgency, deadline from the order or from the appeal type, routed by its point, else by the place its
// address names, else by its receiving unit); transfer, urge and extension update the call; a revoke
// withdraws it; the call-back (回访) goes to the call with its own answers (closes it, or sends it back). When the hub completes, closes or merges a call
// from the hotline, the result goes back on src.12345.feedback (hotline-feedback.schema.json).
import { contract } from '../../platform/contracts.ts';
import type { Keyring } from '../../platform/personal-keys.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import type { WorkCalendar } from '../../rules/calendar.ts';
import { type Deadline, hotlineLimit, parseAppealType, RulesBook } from '../../rules/deadlines.ts';
import { type CategoryMap, hubCategory } from '../runtime/categories.ts';
import { outcomeFor } from '../runtime/feedback.ts';
import { clip, type IntakeCommand, intakeOutput } from '../runtime/intake.ts';
import type { Places } from '../runtime/places.ts';
import { type Output, parseRecord, Rejected, sourceDate } from '../../platform/source-record.ts';
import type { Pipeline } from '../runtime/runtime.ts';

export interface HotlineRecord {
  record_id: string;
  record_type: 'NEW' | 'TRANSFER' | 'URGE' | 'EXTEND' | 'REVOKE' | 'CALLBACK';
  order_no: string;
  record_time: string;
  accept_time?: string;
  channel?: string;
  appeal_type?: '咨询' | '求助' | '投诉' | '举报' | '建议';
  category_path?: string[];
  title?: string;
  content?: string;
  address?: string;
  coord?: { x: number; y: number; crs: 'WGS84' | 'GCJ02' | 'BD09' };
  caller_name?: string;
  caller_phone?: string;
  urgency?: '一般' | '紧急' | '特急';
  due_time?: string;
  receiving_unit?: string;
  to_unit?: string;
  note?: string;
  new_due_time?: string;
  callback?: { contacted: boolean; resolved?: boolean; satisfaction?: '非常满意' | '满意' | '基本满意' | '不满意'; comment?: string };
}

/**
 * The hotline's first-level classes (一级分类), and a few "first/second" paths, mapped to the hub's ten
 * categories. The most specific entry wins; an operator adds entries with HOTLINE_CATEGORY_MAP_PATH.
 */
export const HOTLINE_CATEGORIES: CategoryMap = {
  城市管理: '城市管理',
  市容环卫: '城市管理',
  城乡建设: '住房建设',
  '城乡建设/施工噪音': '城市管理',
  '城乡建设/违法建设': '城市管理',
  '城乡建设/占道经营': '城市管理',
  住房保障: '住房建设',
  物业管理: '住房建设',
  市场监管: '市场监管',
  食品药品: '市场监管',
  交通运输: '交通管理',
  道路交通: '交通管理',
  生态环境: '生态环境',
  环境保护: '生态环境',
  水务: '水务三防',
  三防: '水务三防',
  应急管理: '安全生产',
  安全生产: '安全生产',
  消防安全: '安全生产',
  公安政法: '综治维稳',
  社会治安: '综治维稳',
  矛盾纠纷: '综治维稳',
  劳动社保: '民生服务',
  民政: '民生服务',
  卫生健康: '民生服务',
  教育: '民生服务',
  营商环境: '企业服务',
  企业服务: '企业服务',
};

/**
 * The order's completion deadline: its own due_time, else the statutory limit from receipt
 * (rules/deadlines.ts hotlineLimit: 紧急 and 特急 2 hours, 水电气热 24 hours, else the appeal type's
 * working days; a missing appeal type takes the strictest, with a note), with its notes.
 */
export function hotlineDeadline(record: HotlineRecord, acceptedAt: Date, calendar: WorkCalendar, rules = new RulesBook()): Deadline {
  if (record.due_time) {
    const due = new Date(record.due_time);
    if (!(due > acceptedAt)) throw new Rejected('impossible_date', `due_time ${record.due_time} is not after accept_time ${record.accept_time}`);
    return { due, notes: [] };
  }
  const facts = {
    ...(record.appeal_type && { appealType: parseAppealType(record.appeal_type) }),
    ...(record.urgency && { urgency: record.urgency }),
    ...(record.category_path && { categoryPath: record.category_path }),
    ...(record.content && { content: record.content }),
  };
  return hotlineLimit(facts, acceptedAt, calendar, rules.at(acceptedAt).sources);
}

const SATISFACTION = { 非常满意: 'VERY_SATISFIED', 满意: 'SATISFIED', 基本满意: 'BASIC', 不满意: 'UNSATISFIED' } as const;

const validateRecord = contract<HotlineRecord>('hotline-order');

export interface HotlineDeps {
  places: Places;
  calendar: WorkCalendar;
  /** The versioned rules (source limits); the built-in version when left out. */
  rules?: RulesBook;
  categories: CategoryMap;
  topics: { orders: string; intake: string; callEvents: string; feedback: string };
  /** Seals the caller's contact for the calls subgraph. */
  keys: Keyring;
  now?: () => Date;
}

/** The intake command one hotline record becomes. */
export function hotlineCommand(record: HotlineRecord, deps: HotlineDeps): IntakeCommand {
  const now = deps.now?.() ?? new Date();
  const occurredAt = sourceDate(record.record_time, 'record_time', now).toISOString();
  const base = { commandId: `hotline:${record.record_id}`, source: 'hotline' as const, externalId: record.order_no, occurredAt };
  switch (record.record_type) {
    case 'NEW':
      return { ...base, kind: 'create_call', call: newCall(record, deps, now) };
    case 'TRANSFER': {
      const to = deps.places.unit(record.to_unit as string);
      return { ...base, kind: 'update_call', update: { action: 'transfer', note: `12345转办至${to?.name ?? record.to_unit}：${record.note}` } };
    }
    case 'URGE':
      return { ...base, kind: 'update_call', update: { action: 'urge', note: `12345催办：${record.note}` } };
    case 'EXTEND': {
      const due = new Date(record.new_due_time as string);
      if (!(due > new Date(occurredAt))) throw new Rejected('impossible_date', `new_due_time ${record.new_due_time} is not after record_time`);
      return { ...base, kind: 'update_call', update: { action: 'extend', note: `12345延期：${record.note}`, completeBy: due.toISOString() } };
    }
    case 'REVOKE':
      return { ...base, kind: 'revoke_call', reason: `12345撤单：${record.note}` };
    case 'CALLBACK': {
      // 回访: with a satisfaction it is a valid call-back, carried whole (contacted = the citizen says the
      // handler contacted them, resolved, satisfied): the Beijing rates count these answers, and 不满意
      // sends the call back for rework. Without one the citizen was not reached: recorded only.
      const callback = record.callback as NonNullable<HotlineRecord['callback']>;
      if (!callback.satisfaction) {
        return { ...base, kind: 'update_call', update: { action: 'note', note: '12345回访：未联系上市民' } };
      }
      return {
        ...base,
        kind: 'callback',
        callback: {
          contacted: callback.contacted,
          resolved: callback.resolved as boolean,
          satisfaction: SATISFACTION[callback.satisfaction],
          ...(callback.comment && { comment: callback.comment }),
        },
      };
    }
  }
}

function newCall(record: HotlineRecord, deps: HotlineDeps, now: Date): NonNullable<IntakeCommand['call']> {
  const acceptedAt = sourceDate(record.accept_time as string, 'accept_time', now);
  const category = hubCategory(record.category_path as string[], deps.categories);
  const content = record.content as string;
  const limit = hotlineDeadline(record, acceptedAt, deps.calendar, deps.rules);
  const call: NonNullable<IntakeCommand['call']> = {
    title: clip(record.title ?? content, 40),
    // The content alone: the duplicate check compares titles and descriptions across sources.
    description: content,
    category,
    priority: record.urgency === '紧急' || record.urgency === '特急' ? 'URGENT' : 'NORMAL',
    receivedAt: acceptedAt.toISOString(),
    completeBy: limit.due.toISOString(),
    ...(limit.notes.length > 0 && { deadlineNotes: limit.notes }),
    ...(record.address && { address: record.address }),
  };
  if (record.caller_name || record.caller_phone) {
    call.citizen = { ...(record.caller_name && { name: record.caller_name }), ...(record.caller_phone && { phone: record.caller_phone }) };
  }
  // Routing (就近派单): the point; else the place the address names; else the receiving unit.
  if (record.coord) {
    call.location = deps.places.locate({ lng: record.coord.x, lat: record.coord.y, crs: record.coord.crs }).location;
    return call;
  }
  const named = record.address ? deps.places.fromAddress(record.address) : undefined;
  const receiving = record.receiving_unit ? deps.places.receiving(record.receiving_unit) : undefined;
  const unit = named ?? receiving;
  if (!unit) {
    throw new Rejected('no_route', 'no coordinates, no street or community named in the address, and no receiving unit that takes calls');
  }
  call.unitId = unit.id;
  return call;
}

export function hotlineOrdersPipeline(deps: HotlineDeps): Pipeline {
  return {
    name: 'hotline-orders',
    topics: [deps.topics.orders],
    process: (source, { trace }) => {
      const record = parseRecord(source, validateRecord);
      return [intakeOutput(deps.topics.intake, hotlineCommand(record, deps), trace, deps.keys, [record.caller_name, record.caller_phone])];
    },
  };
}

const RESULT_TYPE = { COMPLETED: '办结', CLOSED: '办结', MERGED: '并单' } as const;

/** Completed, closed and merged calls from the hotline, back to src.12345.feedback. */
export function hotlineFeedbackPipeline(deps: { directory: UnitDirectory; topics: HotlineDeps['topics'] }): Pipeline {
  return {
    name: 'hotline-feedback',
    topics: [deps.topics.callEvents],
    process: (source): Output[] => {
      const outcome = outcomeFor(source, 'hotline', deps.directory);
      if (!outcome) return [];
      const feedback = {
        feedback_id: outcome.event.eventId,
        order_no: outcome.externalId,
        result_type: RESULT_TYPE[outcome.kind],
        call_id: outcome.event.callId,
        status: outcome.kind,
        handle_result: outcome.result,
        handle_unit: outcome.handlingUnit,
        merged_into: outcome.mergedInto,
        result_time: outcome.at,
      };
      return [{ topic: deps.topics.feedback, key: outcome.externalId, value: JSON.stringify(feedback) }];
    },
  };
}
