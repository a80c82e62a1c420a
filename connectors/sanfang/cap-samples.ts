// CAP 1.2 documents in the shape China's early-warning release system publishes them (a Guangdong
// district meteorological observatory's typhoon and rainstorm signals: zh-CN info, Met category,
// the event type code 11B01/11B03, the colour in the headline, China Standard Time), and the XML
// attacks a hostile or broken sender may try. TEST DATA for the tests and the demo, not real warnings.
import { capTime } from './cap.ts';

export const OBSERVATORY = '44011241600000';

export interface SampleOptions {
  identifier: string;
  msgType?: 'Alert' | 'Update' | 'Cancel';
  status?: 'Actual' | 'Exercise' | 'Test';
  sent: Date;
  /** earlier alerts, as [identifier, sent] */
  references?: Array<[string, Date]>;
  hazard: 'typhoon' | 'rainstorm';
  colour: '蓝色' | '黄色' | '橙色' | '红色';
  severity: 'Minor' | 'Moderate' | 'Severe' | 'Extreme';
  expires?: Date;
  /** CAP area content: <polygon>, <circle>, <geocode> elements */
  area: string;
  description?: string;
}

export function capSample(o: SampleOptions): string {
  const name = o.hazard === 'typhoon' ? '台风' : '暴雨';
  const code = o.hazard === 'typhoon' ? '11B01' : '11B03';
  const references = o.references?.map(([identifier, sent]) => `${OBSERVATORY},${identifier},${capTime(sent.toISOString())}`).join(' ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>${o.identifier}</identifier>
  <sender>${OBSERVATORY}</sender>
  <sent>${capTime(o.sent.toISOString())}</sent>
  <status>${o.status ?? 'Actual'}</status>
  <msgType>${o.msgType ?? 'Alert'}</msgType>
  <scope>Public</scope>
  ${references ? `<references>${references}</references>` : ''}
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>${name}</event>
    <responseType>Prepare</responseType>
    <urgency>Expected</urgency>
    <severity>${o.severity}</severity>
    <certainty>Likely</certainty>
    <eventCode><valueName>预警事件类型</valueName><value>${code}</value></eventCode>
    ${o.expires ? `<expires>${capTime(o.expires.toISOString())}</expires>` : ''}
    <senderName>广州市黄埔区气象台</senderName>
    <headline>黄埔区气象台发布${name}${o.colour}预警信号</headline>
    <description>${o.description ?? `预计未来6小时黄埔区将受${name}影响，请注意防御。`}</description>
    <instruction>请做好防御准备，危险地带人员及时转移。</instruction>
    <area>
      <areaDesc>广州市黄埔区</areaDesc>
      ${o.area}
    </area>
  </info>
</alert>`;
}

/**
 * XML that must be refused, never expanded: each with the reason code it must get. A document larger
 * than CONNECTOR_MAX_RECORD_BYTES (64 KiB by default) is refused by the connector runtime before it is
 * parsed (`too_large`).
 */
export const XML_ATTACKS: Array<{ name: string; xml: string; code: 'xml_entity' | 'invalid_xml' | 'schema' | 'too_large' }> = [
  {
    name: 'external entity (XXE) reading a local file',
    code: 'xml_entity',
    xml: `<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>`,
  },
  {
    name: 'billion laughs (entity expansion)',
    code: 'xml_entity',
    xml: `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol4;</identifier></alert>`,
  },
  {
    name: 'external DTD fetched from a server',
    code: 'xml_entity',
    xml: `<?xml version="1.0"?><!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd"><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>`,
  },
  {
    name: 'a DOCTYPE alone (no entity declared)',
    code: 'xml_entity',
    xml: `<?xml version="1.0"?><!DOCTYPE alert><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>`,
  },
  {
    name: 'parameter entity in a lower-case doctype',
    code: 'xml_entity',
    xml: `<?xml version="1.0"?><!doctype alert [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x">%remote;]><alert/>`,
  },
  { name: 'malformed XML (unclosed element)', code: 'invalid_xml', xml: `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</alert>` },
  {
    name: 'oversized document (180 KB of description)',
    code: 'too_large',
    xml: capSample({ identifier: 'BIG', sent: new Date(0), hazard: 'rainstorm', colour: '红色', severity: 'Extreme', area: '<circle>23.10,113.50 3</circle>', description: '暴雨'.repeat(30_000) }),
  },
  {
    name: 'CAP 1.1 namespace',
    code: 'schema',
    xml: `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"><identifier>x</identifier></alert>`,
  },
];
