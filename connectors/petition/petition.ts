// The 信访 petition platform connector. A registered petition becomes a call whose petitioner's
// identity is protected (kept from the units concerned), with the statutory limits of the 信访工作条例
// (2022) as its completion deadline (rules/deadlines.ts petitionDeadline: calendar days counted from
// the day after, a last day on a holiday moved to the next working day, 民法典 第二百零一、二百零三条):
// decide acceptance within 15 days of receipt; once accepted, handle within 60 days of acceptance; an
// extension adds at most 30 days. Not accepted withdraws the call. A review (复查) or re-check (复核),
// received within 30 days of the opinion it questions, is a new call decided one level above the unit
// complained about (the calls intake routes it, and refuses a 复核 without its 复查), due 30 days from
// its receipt; nothing follows a 复核. The reply (答复) goes back on src.xinfang.feedback when the hub
// completes, closes or merges it.
import { contract } from '../../platform/contracts.ts';
import type { Keyring } from '../../platform/personal-keys.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';
import type { WorkCalendar } from '../../rules/calendar.ts';
import { type Deadline, petitionDeadline, type PetitionStep, RulesBook } from '../../rules/deadlines.ts';
import { type CategoryMap, hubCategory } from '../runtime/categories.ts';
import { outcomeFor } from '../runtime/feedback.ts';
import { clip, type IntakeCommand, intakeOutput } from '../runtime/intake.ts';
import type { Places } from '../runtime/places.ts';
import { type Output, parseRecord, Rejected, sourceDate } from '../../platform/source-record.ts';
import type { Pipeline } from '../runtime/runtime.ts';

export interface PetitionRecord {
  recordNo: string;
  petitionNo: string;
  stage: 'REGISTERED' | 'ACCEPTED' | 'NOT_ACCEPTED' | 'EXTENDED' | 'REVIEW_REQUESTED';
  recordedAt: string;
  form?: '来信' | '来访' | '网上信访';
  receivedAt?: string;
  petitioner?: { name: string; phone?: string; idNumber?: string };
  persons?: number;
  title?: string;
  content?: string;
  category?: string;
  targetUnit?: string;
  address?: string;
  location?: { lng: number; lat: number; crs?: 'WGS84' | 'GCJ02' | 'BD09' };
  decidedAt?: string;
  acceptedAt?: string;
  extensionDays?: number;
  reason?: string;
  reviewKind?: '复查' | '复核';
  repliedAt?: string;
}


/** The petition platform's content classes (内容分类) to the hub's categories. */
export const PETITION_CATEGORIES: CategoryMap = {
  城乡建设: '住房建设',
  '城乡建设/施工噪音': '城市管理',
  '城乡建设/违法建设': '城市管理',
  '城乡建设/物业管理': '住房建设',
  城市管理: '城市管理',
  环境保护: '生态环境',
  劳动社保: '民生服务',
  民政: '民生服务',
  卫生计生: '民生服务',
  教育文体: '民生服务',
  政法: '综治维稳',
  国土资源: '住房建设',
  交通运输: '交通管理',
  商贸旅游: '市场监管',
  经济管理: '企业服务',
  农村农业: '民生服务',
  水利: '水务三防',
};

export interface PetitionDeps {
  places: Places;
  calendar: WorkCalendar;
  /** The versioned rules (source limits); the built-in version when left out. */
  rules?: RulesBook;
  categories: CategoryMap;
  topics: { petitions: string; intake: string; callEvents: string; feedback: string };
  /** Seals the petitioner's contact for the calls subgraph (the district command centre alone reads it). */
  keys: Keyring;
  now?: () => Date;
}

const validateRecord = contract<PetitionRecord>('petition');

/** A petition step's statutory deadline under the rules in force at `from`. */
function limitOf(step: PetitionStep, from: Date, deps: PetitionDeps, extensionDays?: number): Deadline {
  const sources = (deps.rules ?? new RulesBook()).at(from).sources;
  try {
    return petitionDeadline(step, from, deps.calendar, { extensionDays, limits: sources.petition, maxExtensionDays: sources.petitionMaxExtensionDays });
  } catch (err) {
    if (err instanceof RangeError) throw new Rejected('rule', err.message);
    throw err;
  }
}

const notesOf = (limit: Deadline) => (limit.notes.length > 0 ? { deadlineNotes: limit.notes } : {});

export function petitionCommand(record: PetitionRecord, deps: PetitionDeps): IntakeCommand {
  const now = deps.now?.() ?? new Date();
  const recordedAt = sourceDate(record.recordedAt, 'recordedAt', now);
  const base = {
    commandId: `petition:${record.recordNo}`,
    source: 'petition' as const,
    externalId: record.petitionNo,
    occurredAt: recordedAt.toISOString(),
  };
  switch (record.stage) {
    case 'REGISTERED': {
      const receivedAt = sourceDate(record.receivedAt as string, 'receivedAt', now);
      const limit = limitOf('route', receivedAt, deps);
      return { ...base, kind: 'create_call', call: petitionCall(record, deps, receivedAt, limit) };
    }
    case 'ACCEPTED': {
      const decidedAt = sourceDate(record.decidedAt as string, 'decidedAt', now);
      const limit = limitOf('handle', decidedAt, deps);
      const days = (deps.rules ?? new RulesBook()).at(decidedAt).sources.petition.handle.amount;
      return {
        ...base,
        kind: 'update_call',
        update: { action: 'accept', note: `信访已受理，${days}日内办结${record.reason ? `：${record.reason}` : ''}`, completeBy: limit.due.toISOString(), ...notesOf(limit) },
      };
    }
    case 'NOT_ACCEPTED':
      sourceDate(record.decidedAt as string, 'decidedAt', now);
      return { ...base, kind: 'revoke_call', reason: `信访不予受理：${record.reason}` };
    case 'EXTENDED': {
      const acceptedAt = sourceDate(record.acceptedAt as string, 'acceptedAt', now);
      const days = record.extensionDays as number;
      const limit = limitOf('handle', acceptedAt, deps, days);
      return {
        ...base,
        kind: 'update_call',
        update: { action: 'extend', note: `信访办理延期${days}日（已告知信访人）：${record.reason}`, completeBy: limit.due.toISOString(), ...notesOf(limit) },
      };
    }
    case 'REVIEW_REQUESTED': {
      const repliedAt = sourceDate(record.repliedAt as string, 'repliedAt', now);
      // Timeliness is judged from the receipt of the request, not from when the platform recorded it.
      const receivedAt = sourceDate(record.receivedAt ?? record.recordedAt, 'receivedAt', now);
      const rereview = record.reviewKind === '复核';
      const askBy = limitOf(rereview ? 'request_rereview' : 'request_review', repliedAt, deps).due;
      if (receivedAt >= askBy) {
        throw new Rejected('rule', `${record.reviewKind} received on ${receivedAt.toISOString()}, after the time allowed from the answer of ${record.repliedAt}`);
      }
      const limit = limitOf(rereview ? 'answer_rereview' : 'answer_review', receivedAt, deps);
      const call = petitionCall(record, deps, receivedAt, limit);
      call.appeal = { stage: rereview ? 'rereview' : 'review', of: rereview ? `${record.petitionNo}/复查` : record.petitionNo };
      return { ...base, externalId: `${record.petitionNo}/${record.reviewKind}`, kind: 'create_call', call };
    }
  }
}

function petitionCall(record: PetitionRecord, deps: PetitionDeps, receivedAt: Date, limit: Deadline): NonNullable<IntakeCommand['call']> {
  if (!record.content || !record.category) throw new Rejected('schema', 'a petition needs its content and category');
  const review = record.stage === 'REVIEW_REQUESTED';
  const content = review ? `【${record.reviewKind}申请：${record.reason}】${record.content}` : record.content;
  const call: NonNullable<IntakeCommand['call']> = {
    title: clip(record.title ?? record.content, 40),
    description: content,
    category: hubCategory(record.category.split('/'), deps.categories),
    priority: (record.persons ?? 1) >= 5 ? 'URGENT' : 'NORMAL',
    identityProtected: true,
    receivedAt: receivedAt.toISOString(),
    completeBy: limit.due.toISOString(),
    ...notesOf(limit),
    ...(record.address && { address: record.address }),
  };
  // Name and phone for the command centre to reply; the ID number is not needed for the case.
  if (record.petitioner) {
    call.citizen = { name: record.petitioner.name, ...(record.petitioner.phone && { phone: record.petitioner.phone }) };
  }
  const target = record.targetUnit ? deps.places.receiving(record.targetUnit) : undefined;
  const located = record.location ? deps.places.locate(record.location) : undefined;
  const named = record.address ? deps.places.fromAddress(record.address) : undefined;
  if (located) call.location = located.location;
  const unit = target ?? located?.grid ?? named;
  if (!unit) throw new Rejected('no_route', 'no target unit that takes calls, no location and no street or community named in the address');
  // The unit complained about; an appeal is decided one level above it (the calls intake routes it).
  call.unitId = unit.id;
  return call;
}

export function petitionPipeline(deps: PetitionDeps): Pipeline {
  return {
    name: 'petition-records',
    topics: [deps.topics.petitions],
    process: (source, { trace }) => {
      const record = parseRecord(source, validateRecord);
      // The petitioner's name, phone and ID number are masked wherever the content or address repeats them.
      const { name, phone, idNumber } = record.petitioner ?? {};
      return [intakeOutput(deps.topics.intake, petitionCommand(record, deps), trace, deps.keys, [name, phone, idNumber])];
    },
  };
}

const REPLY_TYPE = { COMPLETED: 'REPLIED', CLOSED: 'REPLIED', MERGED: 'MERGED' } as const;

/** Replies (答复) for petitions, back to src.xinfang.feedback. */
export function petitionFeedbackPipeline(deps: { directory: UnitDirectory; topics: PetitionDeps['topics'] }): Pipeline {
  return {
    name: 'petition-feedback',
    topics: [deps.topics.callEvents],
    process: (source): Output[] => {
      const outcome = outcomeFor(source, 'petition', deps.directory);
      if (!outcome) return [];
      const feedback = {
        feedbackId: outcome.event.eventId,
        petitionNo: outcome.externalId,
        replyType: REPLY_TYPE[outcome.kind],
        status: outcome.kind,
        callId: outcome.event.callId,
        reply: outcome.result,
        handlingUnit: outcome.handlingUnit,
        mergedInto: outcome.mergedInto,
        repliedAt: outcome.at,
      };
      return [{ topic: deps.topics.feedback, key: outcome.externalId, value: JSON.stringify(feedback) }];
    },
  };
}
