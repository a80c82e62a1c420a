// What the enterprise zone (企业服务专区) stores in its own database (huying_enterprise). Every read is
// served from memory (live.ts keeps each collection's copy current), so the database sees writes by
// `_id` and one small query per collection when another copy changed something: FerretDB 1.24 uses
// an index only for a filter of exactly `{_id}`. Every document carries `version` (conditional
// updates) and `seq` (the collection-wide write counter the copies follow).
import { type Connection, type Model, Schema } from 'mongoose';
import type { Role } from '../../platform/auth.ts';
import type { CallStatus } from '../../platform/call-event.ts';
import { type Outboxed, outboxSchemaFields } from '../../platform/outbox.ts';
import type { Tier } from '../../platform/unit-directory.ts';

/** Sections of GB/T 4754-2017 (国民经济行业分类) the zone serves. */
export const INDUSTRIES = [
  'INFORMATION_TECHNOLOGY', // I 信息传输、软件和信息技术服务业
  'MANUFACTURING', // C 制造业
  'RESEARCH', // M 科学研究和技术服务业
  'BUSINESS_SERVICES', // L 租赁和商务服务业
  'WHOLESALE_RETAIL', // F 批发和零售业
  'CONSTRUCTION', // E 建筑业
  'LOGISTICS', // G 交通运输、仓储和邮政业
  'FINANCE', // J 金融业
  'HEALTH', // Q 卫生和社会工作
  'CULTURE', // R 文化、体育和娱乐业
] as const;
export type Industry = (typeof INDUSTRIES)[number];

/** 统计上大中小微型企业划分办法 (2017). */
export const SIZES = ['LARGE', 'MEDIUM', 'SMALL', 'MICRO'] as const;
export type EnterpriseSize = (typeof SIZES)[number];

/** What an enterprise asks for (企业诉求). */
export const DEMAND_KINDS = ['HOUSING', 'POWER', 'PERMIT', 'FINANCING', 'LAND', 'HIRING', 'DISPUTE', 'OTHER'] as const;
export type DemandKind = (typeof DEMAND_KINDS)[number];

export const DEMAND_STATUSES = ['SUBMITTED', 'IN_PROGRESS', 'RESOLVED', 'CLOSED', 'WITHDRAWN', 'REJECTED'] as const;
export type DemandStatus = (typeof DEMAND_STATUSES)[number];

export interface GeoPoint {
  lng: number;
  lat: number;
}

export interface ActorRef {
  subject: string;
  unitId: string;
  role: Role | 'system';
}

/** A person to talk to at the enterprise. Name and phone are personal data. */
export interface ContactDoc {
  name: string;
  title?: string;
  phone?: string;
}

/** One period of one officer serving an enterprise (首席服务官 assignment). */
export interface ServicePeriodDoc {
  officerId: string;
  from: Date;
  to?: Date;
  assignedBy: ActorRef;
  reason?: string;
}

interface Live {
  _id: string;
  version: number;
  /** The collection-wide write counter at this document's last write (live.ts). */
  seq: number;
  updatedAt: Date;
}

export interface EnterpriseDoc extends Live {
  /** The unified social credit code: an organisation keeps it for life (GB 32100-2015). */
  _id: string;
  name: string;
  industry: Industry;
  size: EnterpriseSize;
  address: string;
  location: GeoPoint;
  streetId: string;
  gridId?: string;
  /** The cluster or park it sits in (琶洲互联网创新集聚区, 科学城 …). */
  park?: string;
  contacts: ContactDoc[];
  officerId?: string;
  /** Every assignment, oldest first; the last without `to` is the current one. */
  servicePeriods: ServicePeriodDoc[];
  registeredAt: Date;
}

export interface OfficerDoc extends Live {
  /** The officer's identity subject (the `sub` of their token). */
  _id: string;
  name: string;
  /** Office phone (personal data: masked for roles that need not see it). */
  phone?: string;
  /** The unit they work for (区商务局, a street …). */
  unitId: string;
  title?: string;
}

/** What the demand knows of its call, from `hub.call-events`. */
export interface CallViewDoc {
  status: CallStatus;
  tier: Tier;
  handlingUnitId: string;
  /** The call's completion deadline (办结时限) as the call last had it. */
  completeBy?: Date;
  respondedAt?: Date;
  completedAt?: Date;
  closedAt?: Date;
  result?: string;
  overdueSteps: string[];
  /**
   * The call's sequence last applied: older or repeated events change nothing. 0 for the demo's
   * made-up history, whose calls the calls subgraph never had.
   */
  sequence: number;
  updatedAt: Date;
}

export interface DemandDoc extends Live, Outboxed {
  _id: string;
  enterpriseId: string;
  /** The officer serving the enterprise when the demand was raised: whose figures it counts in. */
  officerId?: string;
  /**
   * The officers told to the calls subgraph as the call's followers (so they may read it): the
   * enterprise's officer when raised, and each one assigned since. Unset on demands raised before
   * calls had followers, until the zone's start brings them up to date.
   */
  followers?: string[];
  streetId: string;
  kind: DemandKind;
  title: string;
  description: string;
  priority: 'NORMAL' | 'URGENT';
  /** Who at the enterprise to call back (personal data). */
  contact?: ContactDoc;
  status: DemandStatus;
  /** The call in the calls subgraph (derived from source "enterprise" and this id). */
  callId: string;
  call?: CallViewDoc;
  /** The enterprise's rating of the handling (1–5 stars). */
  rating?: { stars: number; comment?: string; ratedAt: Date; ratedBy: ActorRef };
  /** Why the calls subgraph refused the intake command (REJECTED); null once a re-driven command made the call. */
  rejection?: string | null;
  withdrawReason?: string;
  raisedBy: ActorRef;
  raisedAt: Date;
  /** Idempotency keys already applied (subject:key). */
  appliedKeys: string[];
}

export interface ApartmentDoc extends Live {
  _id: string;
  /** The project (人才公寓项目) and the flat. */
  project: string;
  unitNo: string;
  districtId: string;
  streetId: string;
  address: string;
  location: GeoPoint;
  rooms: number;
  areaSqm: number;
  /** Monthly rent in yuan. */
  monthlyRent: number;
  available: boolean;
  availableFrom?: Date;
  provider: string;
}

export interface PolicyDoc extends Live {
  _id: string;
  title: string;
  issuer: string;
  /** 文号, e.g. 穗埔府规〔2024〕3号. */
  docNumber?: string;
  effectiveFrom: Date;
  effectiveTo?: Date;
  tags: string[];
  /** Eligibility: empty lists mean "any". */
  industries: Industry[];
  sizes: EnterpriseSize[];
  streetIds: string[];
  summary: string;
  text: string;
}

const point = new Schema<GeoPoint>({ lng: Number, lat: Number }, { _id: false });
const actor = new Schema<ActorRef>({ subject: String, unitId: String, role: String }, { _id: false });
const contact = new Schema<ContactDoc>({ name: String, title: String, phone: String }, { _id: false });
const live = {
  _id: String,
  version: { type: Number, required: true },
  seq: { type: Number, required: true },
  updatedAt: { type: Date, required: true },
};
const options = { versionKey: false, minimize: false } as const;

const enterpriseSchema = new Schema<EnterpriseDoc>(
  {
    ...live,
    name: { type: String, required: true },
    industry: { type: String, enum: INDUSTRIES, required: true },
    size: { type: String, enum: SIZES, required: true },
    address: { type: String, required: true },
    location: { type: point, required: true },
    streetId: { type: String, required: true },
    gridId: String,
    park: String,
    contacts: { type: [contact], default: [] },
    officerId: String,
    servicePeriods: {
      type: [
        new Schema<ServicePeriodDoc>({ officerId: String, from: Date, to: Date, assignedBy: actor, reason: String }, { _id: false }),
      ],
      default: [],
    },
    registeredAt: { type: Date, required: true },
  },
  options,
);

const officerSchema = new Schema<OfficerDoc>(
  { ...live, name: { type: String, required: true }, phone: String, unitId: { type: String, required: true }, title: String },
  options,
);

const demandSchema = new Schema<DemandDoc>(
  {
    ...live,
    enterpriseId: { type: String, required: true },
    officerId: String,
    followers: { type: [String], default: undefined },
    streetId: { type: String, required: true },
    kind: { type: String, enum: DEMAND_KINDS, required: true },
    title: { type: String, required: true },
    description: { type: String, required: true },
    priority: { type: String, required: true },
    contact: { type: contact, default: undefined },
    status: { type: String, enum: DEMAND_STATUSES, required: true },
    callId: { type: String, required: true },
    call: {
      type: new Schema<CallViewDoc>(
        {
          status: String,
          tier: String,
          handlingUnitId: String,
          completeBy: Date,
          respondedAt: Date,
          completedAt: Date,
          closedAt: Date,
          result: String,
          overdueSteps: [String],
          sequence: Number,
          updatedAt: Date,
        },
        { _id: false },
      ),
      default: undefined,
    },
    rating: {
      type: new Schema({ stars: Number, comment: String, ratedAt: Date, ratedBy: actor }, { _id: false }),
      default: undefined,
    },
    rejection: String,
    withdrawReason: String,
    raisedBy: { type: actor, required: true },
    raisedAt: { type: Date, required: true },
    appliedKeys: { type: [String], default: [] },
    ...outboxSchemaFields,
  },
  options,
);

const apartmentSchema = new Schema<ApartmentDoc>(
  {
    ...live,
    project: { type: String, required: true },
    unitNo: { type: String, required: true },
    districtId: { type: String, required: true },
    streetId: { type: String, required: true },
    address: { type: String, required: true },
    location: { type: point, required: true },
    rooms: { type: Number, required: true },
    areaSqm: { type: Number, required: true },
    monthlyRent: { type: Number, required: true },
    available: { type: Boolean, required: true },
    availableFrom: Date,
    provider: { type: String, required: true },
  },
  options,
);

const policySchema = new Schema<PolicyDoc>(
  {
    ...live,
    title: { type: String, required: true },
    issuer: { type: String, required: true },
    docNumber: String,
    effectiveFrom: { type: Date, required: true },
    effectiveTo: Date,
    tags: { type: [String], default: [] },
    industries: { type: [String], default: [] },
    sizes: { type: [String], default: [] },
    streetIds: { type: [String], default: [] },
    summary: { type: String, required: true },
    text: { type: String, required: true },
  },
  options,
);

/** The per-collection write counters (`_id` = collection name). */
export interface CounterDoc {
  _id: string;
  seq: number;
}
const counterSchema = new Schema<CounterDoc>({ _id: String, seq: Number }, { versionKey: false });

/** Which document each write counter value went to (`_id` = `<collection>|<n>`, live.ts CHANGES_PER_DOCUMENT values each). */
export interface ChangeLogDoc {
  _id: string;
  entries: Array<{ seq: number; id: string }>;
}
const changeLogSchema = new Schema<ChangeLogDoc>(
  { _id: String, entries: { type: [{ _id: false, seq: Number, id: String }], default: [] } },
  { versionKey: false, collection: 'change_log' },
);

demandSchema.index({ outboxPending: 1 });

export interface EnterpriseModels {
  Enterprise: Model<EnterpriseDoc>;
  Officer: Model<OfficerDoc>;
  Demand: Model<DemandDoc>;
  Apartment: Model<ApartmentDoc>;
  Policy: Model<PolicyDoc>;
  Counter: Model<CounterDoc>;
  ChangeLog: Model<ChangeLogDoc>;
}

export async function enterpriseModels(conn: Connection): Promise<EnterpriseModels> {
  const models: EnterpriseModels = {
    Enterprise: conn.model<EnterpriseDoc>('Enterprise', enterpriseSchema),
    Officer: conn.model<OfficerDoc>('Officer', officerSchema),
    Demand: conn.model<DemandDoc>('Demand', demandSchema),
    Apartment: conn.model<ApartmentDoc>('Apartment', apartmentSchema),
    Policy: conn.model<PolicyDoc>('Policy', policySchema),
    Counter: conn.model<CounterDoc>('Counter', counterSchema),
    ChangeLog: conn.model<ChangeLogDoc>('ChangeLog', changeLogSchema),
  };
  await Promise.all(Object.values(models).map((m: Model<unknown>) => m.createIndexes()));
  return models;
}
