// The Open311 GeoReport v2 port over the real Kafka and FerretDB, with the real calls subgraph: the
// specification's own request and response examples (wiki.open311.org/GeoReport_v2), JSON and XML,
// a report becoming a stored call with its contact sealed, reads without personal data, and every
// refusal in the specification's error format; and the same port driven by a client library from the
// Python package registry (georeport, through registry-client.py).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../platform/config.ts';
import type { CallsApp } from '../../subgraphs/calls/app.ts';
import { startTestCalls } from '../../test/support/calls.ts';
import { testScope } from '../../test/support/isolation.ts';
import { waitFor } from '../../test/support/wait.ts';
import { type Open311App, open311Config, startOpen311 } from './app.ts';
import { DEMO_DEFINITIONS, loadServiceDefinitions } from './definitions.ts';

const scope = testScope('open311');
const KEY = 'test-key-fixmystreet-0123456789';
const READ_ONLY_KEY = 'test-key-read-only-000000000000';
/** A second reporting client, so the attribute cases do not spend the first one's rate limit. */
const APP_KEY = 'test-key-mini-program-0123456789';
/** The registry client library's key (connectors/open311/registry-client.py). */
const CLIENT_KEY = 'test-key-registry-client-0123456';
let calls: CallsApp;
let open311: Open311App;
let base: string;
const xml = new XMLParser({ parseTagValue: false, isArray: (name) => ['service', 'request', 'error', 'attribute', 'value'].includes(name) });

beforeAll(async () => {
  calls = await startTestCalls(scope);
  open311 = await startOpen311(
    loadConfig(open311Config, {
      ...scope.env,
      PORT: '0',
      CALLS_URL: `${calls.url}/graphql`,
      OPEN311_RATE_LIMIT_PER_MINUTE: '20',
      OPEN311_API_KEYS: JSON.stringify([
        { key: KEY, account: 'fixmystreet', scopes: ['intake:write'] },
        { key: READ_ONLY_KEY, account: 'dashboard', scopes: ['calls:read'] },
        { key: APP_KEY, account: 'mini-program', scopes: ['intake:write'] },
        { key: CLIENT_KEY, account: 'georeport-client', scopes: ['intake:write'] },
      ]),
    }),
  );
  base = `${open311.url}/open311/v2`;
});

afterAll(async () => {
  await open311.service.shutdown('test');
  await calls.service.shutdown('test');
  await scope.cleanup({ names: ['张三丰'] });
});

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

// The specification's POST example (GeoReport v2, "POST Service Request", sample request), field for
// field; only what places it in this district is ours: a service code of the list and a point in 长洲街.
const SPEC_EXAMPLE = {
  api_key: KEY,
  jurisdiction_id: 'huangpu',
  service_code: 'CG-02',
  lat: '23.0651',
  long: '113.4025',
  address_string: '1234 5th street',
  email: 'smit333@sfgov.edu',
  device_id: 'tt222111',
  account_id: '123456',
  first_name: '三丰',
  last_name: '张',
  phone: '13912345678',
  description: 'A large sinkhole is forming in the middle of the road',
  media_url: 'http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg',
};

describe('Open311 GeoReport v2', () => {
  it('lists the callable items as services in JSON and XML, with the spec’s fields', async () => {
    const json = (await (await fetch(`${base}/services.json`)).json()) as Array<Record<string, unknown>>;
    expect(json.find((s) => s.service_code === 'CG-02')).toEqual({
      service_code: 'CG-02',
      service_name: '占道经营整治',
      description: '城市管理：占道经营整治',
      metadata: false,
      type: 'realtime',
      keywords: '城市管理',
      group: '城市管理',
    });
    const response = await fetch(`${base}/services.xml?jurisdiction_id=huangpu`);
    expect(response.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    const parsed = xml.parse(await response.text());
    expect(parsed.services.service).toHaveLength(json.length);
    expect(parsed.services.service[0]).toHaveProperty('service_code');
    expect(await (await fetch(`${base}/services/CG-02.json`)).json()).toEqual({ service_code: 'CG-02', attributes: [] });
  });

  it('takes the spec’s POST example as a call, answers in the spec’s response shape, and reads it back without personal data', async () => {
    const posted = await fetch(`${base}/requests.xml`, form(SPEC_EXAMPLE));
    expect(posted.status).toBe(201);
    const [answer] = xml.parse(await posted.text()).service_requests.request;
    expect(Object.keys(answer)).toEqual(['service_request_id', 'token', 'service_notice', 'account_id']);
    const id = answer.service_request_id as string;
    const call = await waitFor<any>('the stored call', async () => (await calls.models.Call.findById(id).lean()) ?? undefined);
    expect(call).toMatchObject({ source: 'CITIZEN', category: '城市管理', sourceRef: { system: 'open311', externalId: answer.token } });
    // The contact is kept as any citizen's (shown only to those who may see the citizen); it crossed
    // Kafka sealed (the scope's cleanup scans every topic for the phone and the name).
    expect(call.citizen).toEqual({ name: '张三丰', phone: '13912345678' });
    expect(call.personal).toMatch(/^pd1\./);

    const [request] = (await (await fetch(`${base}/requests/${id}.json?jurisdiction_id=huangpu`)).json()) as Array<Record<string, unknown>>;
    expect(request).toMatchObject({
      service_request_id: id,
      status: 'open',
      service_code: 'CG-02',
      service_name: '占道经营整治',
      lat: 23.0651,
      long: 113.4025,
      address: '1234 5th street',
    });
    expect(request?.requested_datetime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    expect(request?.expected_datetime).toMatch(/\+08:00$/);
    expect(typeof request?.agency_responsible).toBe('string');
    expect(JSON.stringify(request)).not.toMatch(/13912345678|张三丰|smit333/);
    const listed = (await (await fetch(`${base}/requests.json?service_request_id=${id}`)).json()) as Array<Record<string, unknown>>;
    expect(listed.map((r) => r.service_request_id)).toEqual([id]);
    const all = (await (await fetch(`${base}/requests.json`)).json()) as Array<Record<string, unknown>>;
    expect(all.map((r) => r.service_request_id)).toContain(id);
    expect(await (await fetch(`${base}/tokens/${answer.token}.json`)).json()).toEqual([{ service_request_id: id, token: answer.token }]);
  });

  it('refuses in the spec’s error format: missing or read-only key, unknown service code, a point outside the district, a bad format; no call is written', async () => {
    const before = await calls.models.Call.countDocuments();
    const refusals: Array<[string, Record<string, string>, number, RegExp]> = [
      ['no api_key', { ...SPEC_EXAMPLE, api_key: '' }, 403, /api_key/],
      ['a key without intake:write', { ...SPEC_EXAMPLE, api_key: READ_ONLY_KEY }, 403, /intake:write/],
      ['the spec example’s own service code 001', { ...SPEC_EXAMPLE, service_code: '001' }, 400, /service_code/],
      ['the spec example’s own point in San Francisco', { ...SPEC_EXAMPLE, lat: '37.76524078', long: '-122.4212043' }, 400, /outside the district/],
      ['no location', { ...SPEC_EXAMPLE, lat: '', long: '', address_string: '' }, 400, /location/],
      ['an address elsewhere', { ...SPEC_EXAMPLE, lat: '', long: '', address_string: '天河区体育西路' }, 400, /address/],
      ['another jurisdiction', { ...SPEC_EXAMPLE, jurisdiction_id: 'sfgov.org' }, 404, /jurisdiction/],
      ['a description over 4,000 characters', { ...SPEC_EXAMPLE, description: '路'.repeat(4001) }, 400, /4000/],
      ['a media_url that is not http(s)', { ...SPEC_EXAMPLE, media_url: 'javascript:alert(1)' }, 400, /media_url/],
      ['a latitude that is not a number', { ...SPEC_EXAMPLE, lat: '23.06e999' }, 400, /WGS-84/],
    ];
    for (const [name, fields, status, reason] of refusals) {
      const response = await fetch(`${base}/requests.json`, form(fields));
      const body = (await response.json()) as Array<{ code: number; description: string }>;
      expect([name, response.status, body[0]?.code]).toEqual([name, status, status]);
      expect(body[0]?.description).toMatch(reason);
    }
    // The spec's XML error shape: <errors><error><code/><description/></error></errors>.
    const refused = xml.parse(await (await fetch(`${base}/requests.xml`, form({ ...SPEC_EXAMPLE, api_key: 'nope' }))).text());
    expect(refused.errors.error[0]).toEqual({ code: '403', description: expect.stringContaining('api_key') });
    expect((await fetch(`${base}/services.yaml`)).status).toBe(404);
    expect((await fetch(`${base}/requests/C-unknown.json`)).status).toBe(404);
    expect(await calls.models.Call.countDocuments()).toBe(before);
  });

  it('defines the questions of the items that ask some (metadata true), in JSON and XML', async () => {
    const services = (await (await fetch(`${base}/services.json`)).json()) as Array<Record<string, unknown>>;
    expect(services.filter((s) => s.metadata === true).map((s) => s.service_code)).toEqual(['CG-03', 'JT-01', 'SW-01']);
    const definition = (await (await fetch(`${base}/services/SW-01.json?jurisdiction_id=huangpu`)).json()) as { service_code: string; attributes: Array<Record<string, unknown>> };
    expect(definition).toEqual({
      service_code: 'SW-01',
      attributes: [
        { variable: true, code: 'water_depth_cm', datatype: 'number', required: true, datatype_description: '0–300 的整数（厘米）', order: 1, description: '积水深度约多少厘米？' },
        {
          variable: true,
          code: 'traffic_blocked',
          datatype: 'singlevaluelist',
          required: true,
          datatype_description: null,
          order: 2,
          description: '是否影响车辆或行人通行？',
          values: [
            { key: 'yes', name: '是' },
            { key: 'no', name: '否' },
          ],
        },
      ],
    });
    // The specification's XML: <service_definition><attributes><attribute>…<values><value><key/><name/>.
    const parsed = xml.parse(await (await fetch(`${base}/services/CG-03.xml`)).text());
    const [notice, hours, site] = parsed.service_definition.attributes.attribute;
    expect(notice).toMatchObject({ variable: 'false', code: 'notice', datatype: 'text', order: '1' });
    expect(hours).toMatchObject({ code: 'noise_hours', datatype: 'multivaluelist', required: 'true' });
    expect(hours.values.value).toEqual([
      { key: 'night', name: '夜间 22:00–6:00' },
      { key: 'noon', name: '午间 12:00–14:00' },
      { key: 'day', name: '其他白天时段' },
    ]);
    expect(site).toMatchObject({ code: 'site_name', datatype: 'string', required: 'false' });
    expect((await fetch(`${base}/services/NOPE.json`)).status).toBe(404);
  });

  it('takes attribute[code] answers into the call, a multivaluelist as attribute[code][]; a bad answer is refused in the spec’s format and writes nothing', async () => {
    const noise = new URLSearchParams({ ...SPEC_EXAMPLE, api_key: APP_KEY, service_code: 'CG-03', description: '工地夜间打桩', 'attribute[site_name]': '长洲岛某工地' });
    noise.append('attribute[noise_hours][]', 'night');
    noise.append('attribute[noise_hours][]', 'noon');
    const posted = await fetch(`${base}/requests.json`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: noise.toString() });
    expect(posted.status).toBe(201);
    const [answer] = (await posted.json()) as Array<{ service_request_id: string }>;
    const call = await waitFor<any>('the call with its answers', async () => (await calls.models.Call.findById(answer?.service_request_id).lean()) ?? undefined);
    expect(call.description).toBe('工地夜间打桩 【补充信息】噪音出现在哪些时段？（可多选）：夜间 22:00–6:00、午间 12:00–14:00；工地名称（如知道）：长洲岛某工地');

    const before = await calls.models.Call.countDocuments();
    const flood = { ...SPEC_EXAMPLE, api_key: APP_KEY, service_code: 'SW-01', description: '路口积水' };
    const refusals: Array<[string, Record<string, string>, RegExp]> = [
      ['a required answer missing', { ...flood, 'attribute[water_depth_cm]': '30' }, /attribute\[traffic_blocked\] 必填/],
      ['a number out of its range', { ...flood, 'attribute[water_depth_cm]': '3000', 'attribute[traffic_blocked]': 'yes' }, /attribute\[water_depth_cm\].*0–300/],
      ['a number that is not one', { ...flood, 'attribute[water_depth_cm]': '三十', 'attribute[traffic_blocked]': 'yes' }, /attribute\[water_depth_cm\]/],
      ['a value not among the listed', { ...flood, 'attribute[water_depth_cm]': '30', 'attribute[traffic_blocked]': 'maybe' }, /maybe 不在可选值中.*yes, no/],
      ['an attribute the service does not have', { ...flood, 'attribute[water_depth_cm]': '30', 'attribute[traffic_blocked]': 'no', 'attribute[plate]': '粤A12345' }, /未知的属性：attribute\[plate\]/],
      ['a datetime without its zone', { ...SPEC_EXAMPLE, api_key: APP_KEY, service_code: 'JT-01', 'attribute[vehicle_type]': 'car', 'attribute[parked_since]': '2026-06-01 10:00' }, /parked_since.*ISO 8601/],
      ['the information-only attribute answered', { ...SPEC_EXAMPLE, api_key: APP_KEY, service_code: 'CG-03', 'attribute[noise_hours]': 'night', 'attribute[notice]': 'x' }, /attribute\[notice\]/],
    ];
    for (const [name, fields, reason] of refusals) {
      const response = await fetch(`${base}/requests.json`, form(fields));
      const body = (await response.json()) as Array<{ code: number; description: string }>;
      expect([name, response.status, body[0]?.code]).toEqual([name, 400, 400]);
      expect(body[0]?.description).toMatch(reason);
    }
    // Several values for a single-value attribute, in the spec's XML error format.
    const twice = new URLSearchParams({ ...flood, 'attribute[water_depth_cm]': '30' });
    twice.append('attribute[traffic_blocked][]', 'yes');
    twice.append('attribute[traffic_blocked][]', 'no');
    const refused = await fetch(`${base}/requests.xml`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: twice.toString() });
    expect(xml.parse(await refused.text()).errors.error[0]).toEqual({ code: '400', description: expect.stringContaining('one value only') });
    expect(await calls.models.Call.countDocuments()).toBe(before);
  });

  it('loads a district’s own service definitions and refuses a malformed file, naming what is wrong', () => {
    const file = (definitions: unknown) => {
      const path = join(tmpdir(), `open311-definitions-${randomUUID()}.json`);
      writeFileSync(path, JSON.stringify(definitions));
      return path;
    };
    const depth = DEMO_DEFINITIONS['SW-01']?.[0];
    expect(loadServiceDefinitions(file({ 'SW-02': [depth] }))).toEqual({ 'SW-02': [depth] });
    expect(() => loadServiceDefinitions(file({ 'SW-02': [{ ...depth, values: [{ key: 'a', name: 'b' }] }] }))).toThrow(/values are given for, and only for/);
    expect(() => loadServiceDefinitions(file({ 'SW-02': [{ ...depth, datatype: 'photo' }] }))).toThrow(/datatype/);
  });

  it('serves a client library from the Python package registry (georeport, scripts/install-open311-clients.sh) in JSON and XML', async () => {
    const clients = new URL('../../.data/python-open311/georeport', import.meta.url);
    if (!existsSync(clients)) throw new Error('the Open311 client library is not installed: run scripts/install-open311-clients.sh');
    const script = new URL('./registry-client.py', import.meta.url).pathname;
    const env = { ...process.env, PYTHONPATH: new URL('../../.data/python-open311', import.meta.url).pathname };
    const run = async (...args: string[]) => JSON.parse((await promisify(execFile)('python3', [script, ...args], { env, timeout: 20_000 })).stdout) as Record<string, any>;

    const written = await run('write', base, JSON.stringify({ ...SPEC_EXAMPLE, api_key: CLIENT_KEY }));
    expect(written.library).toBe('georeport 0.3.1');
    const service = { service_code: 'CG-02', service_name: '占道经营整治', description: '城市管理：占道经营整治', metadata: false, type: 'realtime', keywords: '城市管理', group: '城市管理' };
    expect(written.json.services).toContainEqual(service);
    // XML carries every value as text.
    expect(written.xml.services).toContainEqual({ ...service, metadata: 'false' });
    expect(written.xml.services.map((s: { service_code: string }) => s.service_code)).toEqual(written.json.services.map((s: { service_code: string }) => s.service_code));
    expect(written.json.definition.attributes.map((a: { code: string }) => a.code)).toEqual(['water_depth_cm', 'traffic_blocked']);
    expect(written.xml.definition.service_code).toBe('SW-01');
    expect(written.xml.definition.attributes[1]).toMatchObject({ code: 'traffic_blocked', datatype: 'singlevaluelist', required: 'true', values: { value: [{ key: 'yes', name: '是' }, { key: 'no', name: '否' }] } });
    const ids: string[] = [];
    for (const format of ['json', 'xml']) {
      const posted = written[format].posted;
      expect(posted).toMatchObject({ status: 201, service_request_id: expect.stringMatching(/^C[0-9A-F]{20}$/), token: expect.stringMatching(/^o311-/) });
      ids.push(posted.service_request_id);
      await waitFor(`the call the library posted in ${format}`, async () => (await calls.models.Call.exists({ _id: posted.service_request_id })) ?? undefined);
    }

    const read = await run('read', base, ...ids);
    for (const [format, id] of [['json', ids[0]], ['xml', ids[1]]] as const) {
      const { listed, request } = read[format];
      expect(listed.map((r: { service_request_id: string }) => r.service_request_id)).toEqual([id]);
      expect(request).toMatchObject({ service_request_id: id, status: 'open', service_code: 'CG-02', service_name: '占道经营整治', address: '1234 5th street' });
      expect([request.lat, request.long].map(Number)).toEqual([23.0651, 113.4025]);
      expect(request.requested_datetime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
      expect(request.expected_datetime).toMatch(/\+08:00$/);
      expect(typeof request.agency_responsible).toBe('string');
      expect(JSON.stringify(read[format])).not.toMatch(/13912345678|张三丰|smit333/);
      // An id naming no call: the library raises on the 404, whose body is the spec's error list.
      expect(read[format].unknown).toEqual({ status: 404, errors: [{ code: format === 'json' ? 404 : '404', description: expect.any(String) }] });
    }
  });

  it('limits each key’s POSTs a minute with the spec’s error, and another key or a GET is not counted against it', async () => {
    const statuses: number[] = [];
    // 20 a minute: the two tests above used some; post until refused, at most 25 times.
    for (let i = 0; i < 25 && !statuses.includes(429); i++) {
      statuses.push((await fetch(`${base}/requests.json`, form({ ...SPEC_EXAMPLE, service_code: '001' }))).status);
    }
    expect(statuses.at(-1)).toBe(429);
    const limited = await fetch(`${base}/requests.json`, form({ ...SPEC_EXAMPLE, service_code: '001' }));
    expect(((await limited.json()) as Array<{ code: number }>)[0]?.code).toBe(429);
    expect((await fetch(`${base}/requests.json`, form({ ...SPEC_EXAMPLE, api_key: READ_ONLY_KEY }))).status).toBe(403);
    expect((await fetch(`${base}/services.json`)).status).toBe(200);
  });
});
