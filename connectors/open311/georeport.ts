// Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2): the public port (公众端) through which any
// Open311 client (FixMyStreet-style apps, 311 mobile apps, a mini-program's back end) reports to the
// district. This file holds the standard's own shapes: the service list from the callable-items list,
// a service request from a hub call, the error list, each as JSON or XML (the specification requires
// both, chosen by the path's extension), and the checks of a POSTed request.
import { XMLBuilder } from 'fast-xml-parser';
import type { CallableItem } from '../../subgraphs/calls/items.ts';
import { publicAttributes, type ServiceAttribute } from './definitions.ts';

export type Format = 'json' | 'xml';

/** A refusal in the specification's error format (`[{code, description}]`, `<errors><error>`). */
export class Open311Error extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const xml = new XMLBuilder({ format: true, suppressEmptyNode: false, processEntities: true });

/** A list of records as the specification writes it: a JSON array, or `<root><item>…</item></root>`. */
export function render(format: Format, root: string, item: string, records: Array<Record<string, unknown>>): string {
  if (format === 'json') return JSON.stringify(records);
  return `<?xml version="1.0" encoding="utf-8"?>\n${xml.build({ [root]: { [item]: records.map(forXml) } })}`;
}

/** XML has no null: an unknown value is an empty element. */
function forXml(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, value ?? '']));
}

export function renderErrors(format: Format, status: number, description: string): string {
  return render(format, 'errors', 'error', [{ code: status, description }]);
}

/** Every callable item as an Open311 service; `metadata` tells whether it asks questions (definitions.ts). */
export function serviceOf(item: CallableItem, attributes: ServiceAttribute[] | undefined): Record<string, unknown> {
  return {
    service_code: item.code,
    service_name: item.name,
    description: `${item.category}：${item.name}`,
    metadata: Boolean(attributes?.length),
    type: 'realtime',
    keywords: item.category,
    group: item.category,
  };
}

/** The service definition of an item (`services/{code}`): its attributes, none for an item without questions. */
export function definitionOf(item: CallableItem, format: Format, attributes: ServiceAttribute[] = []): string {
  const listed = publicAttributes(attributes);
  if (format === 'json') return JSON.stringify({ service_code: item.code, attributes: listed });
  const asXml = listed.map(({ values, ...attribute }) => ({
    ...forXml(attribute),
    ...(values ? { values: { value: values } } : {}),
  }));
  return `<?xml version="1.0" encoding="utf-8"?>\n${xml.build({ service_definition: { service_code: item.code, attributes: asXml.length ? { attribute: asXml } : '' } })}`;
}

/** A hub call as the fields of an Open311 service request read from the calls subgraph. */
export interface CallView {
  id: string;
  title: string;
  description: string;
  category: string;
  status: string;
  item: { code: string; name: string } | null;
  handlingUnit: { id: string };
  location: { lng: number; lat: number } | null;
  address: string | null;
  raisedAt: string;
  updatedAt: string;
  deadlines: { complete: string | null } | null;
  result: string | null;
  sourceRef: { system: string; externalId: string } | null;
}

/** Hub states the specification calls `closed`; every other one is `open`. */
const CLOSED = new Set(['CLOSED', 'WITHDRAWN', 'MERGED']);

/** The hub's status in Chinese for `status_notes`. */
const STATUS_NOTES: Record<string, string> = {
  RAISED: '已受理，由所在网格处理',
  DISPATCHED: '已派发，待签收',
  SIGNED: '已签收，正在处理',
  RESPONDED: '已响应，正在处理',
  COMPLETED: '已办结，待评价',
  REOPENED: '已返工重办',
  CLOSED: '已办结归档',
  WITHDRAWN: '已撤回',
  MERGED: '已并入同一事项处理',
};

/** An ISO 8601 time with its zone, in China Standard Time (the specification wants the zone). */
export function isoWithZone(iso: string | null | undefined): string | null {
  if (!iso) return null;
  const shifted = new Date(new Date(iso).getTime() + 8 * 3_600_000).toISOString().slice(0, 19);
  return `${shifted}+08:00`;
}

/**
 * A call as a service request: status `open`/`closed` and the hub's finer status as the extension
 * `hub_status`; nothing personal (no contact; title, description and address as the hub shows them to
 * an agency account, scrubbed).
 */
export function requestOf(call: CallView, unitName: (id: string) => string): Record<string, unknown> {
  return {
    service_request_id: call.id,
    status: CLOSED.has(call.status) ? 'closed' : 'open',
    hub_status: call.status,
    status_notes: [STATUS_NOTES[call.status] ?? call.status, call.result].filter(Boolean).join('：'),
    service_name: call.item?.name ?? call.category,
    service_code: call.item?.code ?? null,
    description: call.description,
    agency_responsible: unitName(call.handlingUnit.id),
    service_notice: null,
    requested_datetime: isoWithZone(call.raisedAt),
    updated_datetime: isoWithZone(call.updatedAt),
    expected_datetime: isoWithZone(call.deadlines?.complete),
    address: call.address,
    address_id: null,
    zipcode: null,
    lat: call.location?.lat ?? null,
    long: call.location?.lng ?? null,
    media_url: null,
  };
}

/** A POSTed service request, checked (the specification's fields; unknown ones are ignored). */
export interface ReportInput {
  serviceCode: string;
  lat?: number;
  long?: number;
  address?: string;
  description: string;
  mediaUrl?: string;
  name?: string;
  phone?: string;
}

const MAX_DESCRIPTION = 4000; // GeoReport v2: "description … may contain up to 4,000 characters"

export function reportInput(fields: Record<string, string | string[] | undefined>): ReportInput {
  const text = (name: string) => {
    const value = fields[name];
    return (typeof value === 'string' && value.trim()) || undefined;
  };
  const serviceCode = text('service_code');
  if (!serviceCode) throw new Open311Error(400, 'service_code 必填 (service_code is required)');
  const [lat, long] = [text('lat'), text('long')];
  const address = text('address_string') ?? text('address_id');
  if ((lat === undefined) !== (long === undefined)) throw new Open311Error(400, 'lat 与 long 须同时提供 (lat and long come together)');
  const point = lat !== undefined && long !== undefined ? { lat: Number(lat), long: Number(long) } : undefined;
  if (point && (!Number.isFinite(point.lat) || !Number.isFinite(point.long) || Math.abs(point.lat) > 90 || Math.abs(point.long) > 180)) {
    throw new Open311Error(400, 'lat/long 不是有效的 WGS-84 坐标 (lat/long is not a WGS-84 coordinate)');
  }
  if (!point && !address) throw new Open311Error(400, '须提供位置：lat/long 或 address_string (a location is required: lat/long or address_string)');
  const description = text('description');
  if (!description) throw new Open311Error(400, 'description 必填 (description is required)');
  if ([...description].length > MAX_DESCRIPTION) throw new Open311Error(400, `description 超过 ${MAX_DESCRIPTION} 字 (description is longer than ${MAX_DESCRIPTION} characters)`);
  const mediaUrl = text('media_url');
  if (mediaUrl && (!/^https?:\/\/[^\s]+$/i.test(mediaUrl) || mediaUrl.length > 1000)) throw new Open311Error(400, 'media_url 须为 http(s) 地址 (media_url must be an http(s) URL)');
  const name = [text('last_name'), text('first_name')].filter(Boolean).join('') || undefined;
  const phone = text('phone');
  return { serviceCode, ...(point && point), ...(address && { address }), description, ...(mediaUrl && { mediaUrl }), ...(name && { name }), ...(phone && { phone }) };
}
