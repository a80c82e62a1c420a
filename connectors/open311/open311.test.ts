// The Open311 GeoReport v2 port over the real Kafka and FerretDB, with the real calls subgraph: the
// specification's own request and response examples (wiki.open311.org/GeoReport_v2), JSON and XML,
// a report becoming a stored call with its contact sealed, reads without personal data, and every
// refusal in the specification's error format.
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../platform/config.ts';
import type { CallsApp } from '../../subgraphs/calls/app.ts';
import { startTestCalls } from '../../test/support/calls.ts';
import { testScope } from '../../test/support/isolation.ts';
import { waitFor } from '../../test/support/wait.ts';
import { type Open311App, open311Config, startOpen311 } from './app.ts';

const scope = testScope('open311');
const KEY = 'test-key-fixmystreet-0123456789';
const READ_ONLY_KEY = 'test-key-read-only-000000000000';
let calls: CallsApp;
let open311: Open311App;
let base: string;
const xml = new XMLParser({ parseTagValue: false, isArray: (name) => ['service', 'request', 'error'].includes(name) });

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
      ]),
    }),
  );
  base = `${open311.url}/open311/v2`;
}, 30_000);

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
