// OASIS CAP 1.2 (Common Alerting Protocol) for 三防 warnings. China's early-warning release system
// (国家突发事件预警信息发布系统) publishes in a CAP profile; the 三防 connector accepts such a document on
// the warnings topic beside its own JSON layout and makes the same inspection orders of it:
// - the XML is refused, never expanded, when it declares a DTD or entities (XXE, billion laughs); then
//   parsed by libxml2 (compiled to WebAssembly, libxml2-wasm) without network or external entities and
//   validated against the OASIS schema itself, schemas/cap-1.2.xsd; then the few rules the
//   specification states in prose and the XSD cannot express (capProseRules) are checked;
// - a warning is identified by sender + identifier (CAP §3.2.1), so a repeat changes nothing;
// - `Update` replaces the orders of the alerts it `references` with its own, `Cancel` lifts them;
// - `Test`, `Exercise`, `System` and `Draft` never reach dashboards or orders (kept for audit only);
// - `expires` lifts the warning: at once when it has passed on arrival, else when it comes
//   (expiries.ts, re-armed from hub.cap-expiries when the connector starts);
// - the area's polygons, circles and geocodes are intersected with the grids to find the streets;
// - colour and response level come from the info block (see colourOf, levelOf).
// Every alert the hub publishes is also written as CAP 1.2 (capOfAlert) for broadcasters downstream.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import turfCircle from '@turf/circle';
import booleanIntersects from '@turf/boolean-intersects';
import { XMLBuilder } from 'fast-xml-parser';
import type { Polygon } from 'geojson';
import { type ErrorDetail, ParseOption, XmlDocument, XmlElement, XmlParseError, XmlValidateError, XsdValidator } from 'libxml2-wasm';
import { Rejected } from '../../platform/source-record.ts';
import type { Places } from '../runtime/places.ts';
import type { WarningRecord } from './sanfang.ts';

export const CAP_NAMESPACE = 'urn:oasis:names:tc:emergency:cap:1.2';

interface ValuePair {
  valueName: string;
  value: string;
}
interface CapArea {
  areaDesc: string;
  polygon?: string[];
  circle?: string[];
  geocode?: ValuePair[];
  altitude?: string;
  ceiling?: string;
}
interface CapInfo {
  language?: string;
  category: string[];
  event: string;
  urgency: string;
  severity: 'Extreme' | 'Severe' | 'Moderate' | 'Minor' | 'Unknown';
  certainty: string;
  eventCode?: ValuePair[];
  effective?: string;
  onset?: string;
  expires?: string;
  senderName?: string;
  headline?: string;
  description?: string;
  instruction?: string;
  parameter?: ValuePair[];
  area?: CapArea[];
}
export interface CapAlert {
  identifier: string;
  sender: string;
  sent: string;
  status: 'Actual' | 'Exercise' | 'System' | 'Test' | 'Draft';
  msgType: 'Alert' | 'Update' | 'Cancel' | 'Ack' | 'Error';
  scope: 'Public' | 'Restricted' | 'Private';
  restriction?: string;
  addresses?: string;
  references?: string;
  info?: CapInfo[];
}

/** Elements the XSD lets repeat (maxOccurs="unbounded"): always read as lists. */
const REPEATED = new Set(['code', 'info', 'category', 'responseType', 'eventCode', 'parameter', 'resource', 'area', 'polygon', 'circle', 'geocode']);

/** libxml2 never reaches the network nor loads an external entity (and a DTD is refused before it parses). */
const PARSE_SAFELY = { option: ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE };

/** The OASIS schema, compiled once per process (its document stays alive as long as the validator). */
let capSchema: XsdValidator | undefined;
function capValidator(): XsdValidator {
  if (!capSchema) {
    const xsd = XmlDocument.fromString(readFileSync(new URL('../../schemas/cap-1.2.xsd', import.meta.url), 'utf8'), PARSE_SAFELY);
    capSchema = XsdValidator.fromDoc(xsd);
  }
  return capSchema;
}

/** Whether a source record holds XML (a CAP document) rather than the JSON layout. */
export function looksLikeXml(text: string): boolean {
  return text.trimStart().startsWith('<');
}

/** libxml2's first diagnostic, with its line, the namespace left out of element names. */
function firstProblem(details: ErrorDetail[]): string {
  const [first] = details;
  if (!first) return 'unknown error';
  return `${first.message.trim().replaceAll(`{${CAP_NAMESPACE}}`, '')} (line ${first.line})`;
}

/**
 * A CAP 1.2 alert from its XML text. Refused (a dead letter with the reason): a DTD or entity
 * declaration (`xml_entity`: external entities and entity expansion are never processed), XML that is
 * not well-formed (`invalid_xml`), a document that fails the OASIS CAP 1.2 XSD or a rule of the
 * specification's text (`schema`). Documents too large are refused before this by the connector
 * runtime (`too_large`, CONNECTOR_MAX_RECORD_BYTES).
 */
export function parseCap(xml: string): CapAlert {
  // Any DTD (internal subset or external), which is where entities are declared: CAP needs none.
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) {
    throw new Rejected('xml_entity', 'XML declares a DTD or entities; refused, never expanded');
  }
  let document: XmlDocument;
  try {
    document = XmlDocument.fromString(xml, PARSE_SAFELY);
  } catch (err) {
    if (err instanceof XmlParseError) throw new Rejected('invalid_xml', `XML is not well-formed: ${firstProblem(err.details)}`);
    throw err;
  }
  try {
    try {
      capValidator().validate(document);
    } catch (err) {
      if (err instanceof XmlValidateError) throw new Rejected('schema', `CAP 1.2 schema: ${firstProblem(err.details)}`);
      throw err;
    }
    const alert = elementValue(document.root) as unknown as CapAlert;
    const broken = capProseRules(alert);
    if (broken) throw new Rejected('schema', `CAP 1.2: ${broken}`);
    return alert;
  } finally {
    document.dispose();
  }
}

/** An element valid under the XSD as plain data: text for a simple element, an object for a complex one. */
function elementValue(element: XmlElement): string | Record<string, unknown> {
  const children: XmlElement[] = [];
  for (let node = element.firstChild; node; node = node.next) if (node instanceof XmlElement) children.push(node);
  if (children.length === 0) return element.content.trim();
  const value: Record<string, unknown> = {};
  for (const child of children) {
    // Only CAP's own elements: an XML signature (xmldsig, allowed at the end of <alert>) is not read.
    if (child.namespaceUri !== CAP_NAMESPACE) continue;
    const inner = elementValue(child);
    if (REPEATED.has(child.name)) ((value[child.name] ??= []) as unknown[]).push(inner);
    else value[child.name] = inner;
  }
  return value;
}

const NUMBER = String.raw`-?\d+(?:\.\d+)?`;
const PAIR = `${NUMBER},${NUMBER}`;
/** §3.2.1: identifier and sender "MUST NOT include spaces, commas or restricted characters (< and &)". */
const CAP_ID = /^[^\s,<&]+$/;
/** §3.2.1 references: whitespace-separated `sender,identifier,sent` triplets. */
const REFERENCES = /^\s*[^\s,]+,[^\s,]+,[^\s,]+(?:\s+[^\s,]+,[^\s,]+,[^\s,]+)*\s*$/;
/** §3.2.4 polygon: whitespace-delimited WGS 84 pairs, at least four, the first and last the same. */
const POLYGON = new RegExp(`^\\s*${PAIR}(?:\\s+${PAIR}){3,}\\s*$`);
/** §3.2.4 circle: a WGS 84 pair, a space and a radius in kilometres. */
const CIRCLE = new RegExp(`^\\s*${PAIR}\\s+\\d+(?:\\.\\d+)?\\s*$`);

/**
 * What the specification's text requires and the XSD cannot say (CAP 1.2 §3.2.1, §3.2.4): the first
 * rule broken, or undefined.
 */
export function capProseRules(alert: CapAlert): string | undefined {
  if (!CAP_ID.test(alert.identifier)) return 'identifier must not contain spaces, commas, < or & (§3.2.1)';
  if (!CAP_ID.test(alert.sender)) return 'sender must not contain spaces, commas, < or & (§3.2.1)';
  if (alert.scope === 'Restricted' && !alert.restriction) return 'a Restricted scope needs <restriction> (§3.2.1)';
  if (alert.scope === 'Private' && !alert.addresses) return 'a Private scope needs <addresses> (§3.2.1)';
  if (alert.msgType !== 'Alert' && !alert.references) return `msgType ${alert.msgType} needs <references> to the messages it concerns (§3.2.1)`;
  if (alert.references !== undefined && !REFERENCES.test(alert.references)) return 'references must be whitespace-separated sender,identifier,sent triplets (§3.2.1)';
  for (const area of (alert.info ?? []).flatMap((info) => info.area ?? [])) {
    for (const polygon of area.polygon ?? []) {
      const pairs = polygon.trim().split(/\s+/);
      if (!POLYGON.test(polygon) || pairs[0] !== pairs.at(-1)) return `a polygon of area "${area.areaDesc}" must be four or more lat,lon pairs, the first and last the same (§3.2.4)`;
    }
    for (const circle of area.circle ?? []) if (!CIRCLE.test(circle)) return `a circle of area "${area.areaDesc}" must be "lat,lon radius" (§3.2.4)`;
    if (area.ceiling !== undefined && area.altitude === undefined) return 'ceiling is used only with altitude (§3.2.4)';
  }
  return undefined;
}

/** A warning's id in the hub, from its CAP sender and identifier (the same alert always gets the same id). */
export function capWarningId(sender: string, identifier: string): string {
  return `CAP-${createHash('sha256').update(`${sender}\n${identifier}`).digest('hex').slice(0, 32)}`;
}

/** The alerts a CAP message references (`sender,identifier,sent` triplets). */
export function referencesOf(alert: CapAlert): Array<{ sender: string; identifier: string; sent: string }> {
  return (alert.references ?? '')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((triplet) => {
      const [sender = '', identifier = '', sent = ''] = triplet.split(',');
      return { sender, identifier, sent };
    });
}

type Hazard = WarningRecord['hazard'];
type Colour = NonNullable<WarningRecord['signal']>;
type Level = NonNullable<WarningRecord['responseLevel']>;

/** The 三防 hazard an event names; undefined for warnings that are not 三防's (高温, 大雾 …). */
const HAZARD_WORDS: Array<[RegExp, Hazard]> = [
  // 11B01 and 11B03: the national release system's event type codes (预警事件类型) for 台风 and 暴雨.
  [/台风|热带风暴|Typhoon|Tropical|\b11B01\b/i, 'TYPHOON'],
  [/暴雨|Rainstorm|Heavy rain|\b11B03\b/i, 'RAINSTORM'],
  [/洪水|洪涝|山洪|Flood/i, 'FLOOD'],
  [/干旱|Drought/i, 'DROUGHT'],
  [/地质灾害|山体滑坡|泥石流|崩塌|Landslide|Debris/i, 'GEOLOGICAL'],
];

/**
 * The signal colour: named in the headline or event (暴雨红色预警信号), else the CAP severity by the
 * four-colour scale of China's warning system (GB/T 35965.1 / 《国家突发公共事件总体应急预案》:
 * 红 特别严重 Extreme, 橙 严重 Severe, 黄 较重 Moderate, 蓝 一般 Minor).
 */
const COLOUR_WORDS: Array<[RegExp, Colour]> = [
  [/红色|Red/i, 'RED'],
  [/橙色|Orange/i, 'ORANGE'],
  [/黄色|Yellow/i, 'YELLOW'],
  [/蓝色|Blue/i, 'BLUE'],
  [/白色|White/i, 'WHITE'],
];
const COLOUR_OF_SEVERITY: Partial<Record<CapInfo['severity'], Colour>> = { Extreme: 'RED', Severe: 'ORANGE', Moderate: 'YELLOW', Minor: 'BLUE' };

export function colourOf(info: CapInfo): Colour | undefined {
  const named = [info.parameter?.find((p) => /颜色|colou?r|signal/i.test(p.valueName))?.value, info.headline, info.event].filter(Boolean).join(' ');
  for (const [pattern, colour] of COLOUR_WORDS) if (pattern.test(named)) return colour;
  return COLOUR_OF_SEVERITY[info.severity];
}

/** The emergency response level (应急响应级别 Ⅰ–Ⅳ): a parameter naming it, or the headline/description ("启动防风Ⅳ级应急响应"). */
export function levelOf(info: CapInfo): Level | undefined {
  const LEVELS: Record<string, Level> = { Ⅰ: 'I', Ⅱ: 'II', Ⅲ: 'III', Ⅳ: 'IV', I: 'I', II: 'II', III: 'III', IV: 'IV', '1': 'I', '2': 'II', '3': 'III', '4': 'IV', 一: 'I', 二: 'II', 三: 'III', 四: 'IV' };
  const parameter = info.parameter?.find((p) => /应急响应|responseLevel/i.test(p.valueName))?.value.trim();
  if (parameter) {
    const level = LEVELS[parameter.replace(/级.*$/, '')];
    if (level) return level;
  }
  const text = [info.headline, info.description].filter(Boolean).join(' ');
  const match = /(Ⅳ|Ⅲ|Ⅱ|Ⅰ|IV|III|II|I|四|三|二|一)级(?:[^，。,；;]{0,6})?应急响应/.exec(text);
  return match?.[1] ? LEVELS[match[1]] : undefined;
}

/** Administrative division codes (GB/T 2260) a geocode may name, for the districts this hub serves. */
export const ADMIN_CODES: Record<string, string> = { '440112': 'huangpu' };

/** CAP coordinates are `lat,lon` (WGS-84, §3.3.2): a GeoJSON ring is [lon, lat]. */
function ring(text: string): number[][] {
  return text
    .trim()
    .split(/\s+/)
    .map((pair) => {
      const [lat, lon] = pair.split(',').map(Number);
      return [lon as number, lat as number];
    });
}

function areaPolygons(area: CapArea): Polygon[] {
  const polygons: Polygon[] = [];
  for (const text of area.polygon ?? []) {
    // Four or more pairs, closed: parseCap checked it (capProseRules).
    polygons.push({ type: 'Polygon', coordinates: [ring(text)] });
  }
  for (const text of area.circle ?? []) {
    const [centre = '', radius = '0'] = text.trim().split(/\s+/);
    const [lat, lon] = centre.split(',').map(Number);
    // A radius of 0 is a point: a small circle (10 m) still finds the grid that holds it.
    polygons.push(turfCircle([lon as number, lat as number], Math.max(Number(radius), 0.01), { units: 'kilometers', steps: 32 }).geometry);
  }
  return polygons;
}

/** The streets a CAP info block's areas touch: grids intersected with its polygons and circles, units its geocodes name. */
export function streetsOfAreas(info: CapInfo, places: Places): string[] {
  const streets = new Set<string>();
  const directory = places.directory;
  const grids = directory.ofKind('grid').filter((g) => g.gridType !== 'key' && g.bbox);
  for (const area of info.area ?? []) {
    for (const polygon of areaPolygons(area)) {
      const [minLng, minLat, maxLng, maxLat] = bboxOf(polygon);
      for (const grid of grids) {
        const [gMinLng, gMinLat, gMaxLng, gMaxLat] = grid.bbox as [number, number, number, number];
        if (gMaxLng < minLng || gMinLng > maxLng || gMaxLat < minLat || gMinLat > maxLat) continue;
        const shape: Polygon = grid.boundary?.type === 'Polygon' ? grid.boundary : rectangle(grid.bbox as [number, number, number, number]);
        if (booleanIntersects(polygon, grid.boundary ?? shape)) {
          const street = directory.streetOf(grid.id);
          if (street) streets.add(street.id);
        }
      }
    }
    for (const { value } of area.geocode ?? []) {
      const unit = places.unit(ADMIN_CODES[value.trim()] ?? value);
      if (unit) for (const street of places.streetsOf([unit.id])) streets.add(street);
    }
  }
  return [...streets].sort();
}

function bboxOf(polygon: Polygon): [number, number, number, number] {
  const points = polygon.coordinates.flat();
  const lngs = points.map((p) => p[0] as number);
  const lats = points.map((p) => p[1] as number);
  return [Math.min(...lngs), Math.min(...lats), Math.max(...lngs), Math.max(...lats)];
}

function rectangle([minLng, minLat, maxLng, maxLat]: [number, number, number, number]): Polygon {
  return { type: 'Polygon', coordinates: [[[minLng, minLat], [maxLng, minLat], [maxLng, maxLat], [minLng, maxLat], [minLng, minLat]]] };
}

/** A CAP dateTime (always with its zone) as an ISO instant. */
function instant(value: string): string {
  return new Date(value).toISOString();
}

/** What a CAP message means for the 三防 pipeline. */
export type CapPlan =
  | { kind: 'skip'; reason: string }
  | { kind: 'warnings'; issue?: WarningRecord; lift: WarningRecord[]; expiresAt?: Date };

/** The info block the hub reads: the Chinese one when several languages are sent, else the first. */
function infoOf(alert: CapAlert): CapInfo | undefined {
  return alert.info?.find((i) => /^zh/i.test(i.language ?? '')) ?? alert.info?.[0];
}

/** The warnings a CAP alert issues and lifts (or why it is skipped), as the connector's own records. */
export function capPlan(alert: CapAlert, places: Places, now: Date): CapPlan {
  if (alert.status !== 'Actual') return { kind: 'skip', reason: `status ${alert.status}: kept off live dashboards and orders` };
  if (alert.msgType === 'Ack' || alert.msgType === 'Error') return { kind: 'skip', reason: `msgType ${alert.msgType}: nothing to act on` };
  const info = infoOf(alert);
  const named = info && [info.event, info.headline, ...(info.eventCode ?? []).map((c) => c.value)].filter(Boolean).join(' ');
  const hazard = named ? HAZARD_WORDS.find(([pattern]) => pattern.test(named))?.[1] : undefined;
  const sentAt = instant(alert.sent);
  const lift = (sender: string, identifier: string, issuedAt: string, reason: string): WarningRecord => ({
    warningId: capWarningId(sender, identifier),
    action: 'LIFT',
    hazard: hazard ?? 'RAINSTORM',
    ...(info && { title: clipTitle(`${info.headline ?? info.event}（${reason}）`) }),
    issuedAt,
    liftedAt: sentAt,
  });
  const referenced = referencesOf(alert).map((r) => lift(r.sender, r.identifier, instant(r.sent), alert.msgType === 'Cancel' ? '已取消' : '已更新'));
  if (alert.msgType === 'Cancel') return { kind: 'warnings', lift: referenced };
  if (!info) return { kind: 'skip', reason: 'no info block' };
  if (!hazard) return { kind: 'skip', reason: `event "${info.event}" is not a 三防 hazard` };
  const expiresAt = info.expires ? new Date(info.expires) : undefined;
  const own = capWarningId(alert.sender, alert.identifier);
  if (expiresAt && expiresAt <= now) {
    // Expired on arrival: what it replaces is lifted, and it orders nothing.
    return { kind: 'warnings', lift: referenced };
  }
  const areas = streetsOfAreas(info, places);
  if (areas.length === 0) return { kind: 'skip', reason: 'its area holds none of the district’s grids' };
  const signal = colourOf(info);
  const responseLevel = levelOf(info);
  if (!signal && !responseLevel) throw new Rejected('schema', 'CAP 1.2: neither a signal colour nor a response level can be read from the info block');
  const issue: WarningRecord = {
    warningId: own,
    action: 'ISSUE',
    hazard,
    ...(signal && { signal }),
    ...(responseLevel && { responseLevel }),
    areas,
    title: clipTitle(info.headline ?? info.event),
    content: [info.description, info.instruction].filter(Boolean).join('\n') || info.event,
    ...(info.senderName && { issuer: info.senderName.slice(0, 50) }),
    issuedAt: sentAt,
  };
  return { kind: 'warnings', issue, lift: referenced, ...(expiresAt && { expiresAt }) };
}

function clipTitle(text: string): string {
  const chars = [...text.trim()];
  return chars.length <= 100 ? chars.join('') : `${chars.slice(0, 99).join('')}…`;
}

// ---- the hub's alerts as CAP 1.2, for broadcasters downstream ----

const builder = new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true, processEntities: true });

const SEVERITY_OF_COLOUR: Record<Colour, CapInfo['severity']> = { RED: 'Extreme', ORANGE: 'Severe', YELLOW: 'Moderate', BLUE: 'Minor', WHITE: 'Minor' };

/** A CAP dateTime in China Standard Time (CAP forbids 'Z': §3.3.2). */
export function capTime(iso: string): string {
  const shifted = new Date(new Date(iso).getTime() + 8 * 3_600_000).toISOString().slice(0, 19);
  return `${shifted}+08:00`;
}

/** The CAP identifier of one of the hub's alert events. */
export function capIdentifierOf(eventId: string): string {
  return `huying-${eventId.replace(/[^A-Za-z0-9._:-]/g, '-')}`;
}

export interface HubAlert {
  eventId: string;
  alertId: string;
  kind: 'WARNING' | 'WARNING_LIFTED' | 'INCIDENT';
  hazard?: Hazard;
  colour?: Colour;
  level?: Level;
  title: string;
  areaUnitIds: string[];
  location?: { lng: number; lat: number };
  inspectBy?: string;
  occurredAt: string;
}

/**
 * One of the hub's alerts (hub.alerts) as a CAP 1.2 document: a warning is an `Alert`, its lifting a
 * `Cancel` that references it (`issuedAt`: when the warning was issued), an incident an `Alert` with a
 * 10 m circle at its place. Areas name the streets; `sender` is the hub's CAP sender id.
 */
export function capOfAlert(alert: HubAlert, sender: string, issuedAt?: string): string {
  const lifted = alert.kind === 'WARNING_LIFTED';
  const event = alert.kind === 'INCIDENT' ? '三防险情' : `${alert.hazard ? HAZARD_LABEL[alert.hazard] : '三防'}预警`;
  const document = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    alert: {
      '@_xmlns': CAP_NAMESPACE,
      identifier: capIdentifierOf(alert.eventId),
      sender,
      sent: capTime(alert.occurredAt),
      status: 'Actual',
      msgType: lifted ? 'Cancel' : 'Alert',
      scope: 'Public',
      ...(lifted && issuedAt && { references: `${sender},${capIdentifierOf(`${alert.alertId}:issued`)},${capTime(issuedAt)}` }),
      info: {
        language: 'zh-CN',
        category: alert.kind === 'INCIDENT' ? 'Safety' : 'Met',
        event,
        ...(lifted && { responseType: 'AllClear' }),
        urgency: lifted ? 'Past' : 'Immediate',
        severity: alert.colour ? SEVERITY_OF_COLOUR[alert.colour] : alert.level === 'I' ? 'Extreme' : alert.level === 'II' ? 'Severe' : 'Moderate',
        certainty: alert.kind === 'INCIDENT' ? 'Observed' : 'Likely',
        ...(alert.inspectBy && { expires: capTime(alert.inspectBy) }),
        senderName: '黄埔区三防指挥部（呼应平台转发）',
        headline: alert.title,
        ...(alert.colour && { parameter: [{ valueName: 'colour', value: alert.colour }, ...(alert.level ? [{ valueName: 'responseLevel', value: alert.level }] : [])] }),
        area: {
          areaDesc: alert.areaUnitIds.join(' '),
          ...(alert.location && { circle: `${alert.location.lat},${alert.location.lng} 0.01` }),
          geocode: alert.areaUnitIds.map((id) => ({ valueName: 'huying-unit', value: id })),
        },
      },
    },
  };
  return builder.build(document);
}

const HAZARD_LABEL: Record<Hazard, string> = { RAINSTORM: '暴雨', TYPHOON: '台风', FLOOD: '洪水', DROUGHT: '干旱', GEOLOGICAL: '地质灾害' };
