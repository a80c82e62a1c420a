// The enterprise zone through its own GraphQL endpoint, on the real local Kafka and FerretDB, with the
// demo zone loaded: credit codes, officers and who may act, contacts masked, demands published to
// hub.intake (and refused ones shown), apartment and policy searches, federation references, and a
// second copy of the service picking up the first one's writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoEnterprises } from '../../demo/enterprise.ts';
import type { CallEvent } from '../../platform/call-event.ts';
import { deadLetterOutput } from '../../platform/dead-letter.ts';
import { loadConfig } from '../../platform/config.ts';
import { createKafka, type Producer } from '../../platform/kafka.ts';
import { createLogger } from '../../platform/logger.ts';
import { type Collected, collect } from '../../test/support/calls.ts';
import { codeOf, gql, ok, tokenFor } from '../../test/support/graphql.ts';
import { testScope } from '../../test/support/isolation.ts';
import { waitFor } from '../../test/support/wait.ts';
import { sourceCallId } from '../calls/intake.ts';
import { CallScript } from '../evaluation/scripted-calls.ts';
import { type EnterpriseApp, enterpriseConfig, startEnterprise } from './app.ts';
import type { DemandDoc } from './model.ts';

const scope = testScope('enterprise');
let app: EnterpriseApp;
let second: EnterpriseApp | undefined;
let url: string;
let intake: Collected;
let producer: Producer;
const tokens = {} as Record<'command' | 'officer' | 'otherOfficer' | 'yuzhu' | 'lianhe' | 'department' | 'housing', string>;

// From the deterministic demo zone: an AI company in 鱼珠街's cluster and its officer.
const demo = demoEnterprises();
const aiFirm = demo.find((e) => e.streetId === 'yuzhu' && e.industry === 'INFORMATION_TECHNOLOGY') as (typeof demo)[number];
const aiOfficer = aiFirm.officers.at(-1)?.officerId as string;
const start = (env: Record<string, string> = {}) =>
  startEnterprise(
    loadConfig(enterpriseConfig, { ...scope.env, PORT: '0', ENTERPRISE_DB: scope.dbName, DEMO_DATA: '1', LIVE_REFRESH_MS: '200', ...env }),
  );

beforeAll(async () => {
  app = await start();
  url = `${app.url}/graphql`;
  intake = await collect(scope, app.topics.intake);
  producer = createKafka(scope.config, 'test-dlq', createLogger('test', 'warn')).producer();
  await producer.connect();
  tokens.command = await tokenFor('huangpu-command', 'district_command', 'qzh-xu');
  tokens.officer = await tokenFor('dept-business', 'enterprise_officer', aiOfficer);
  tokens.otherOfficer = await tokenFor('dept-business', 'enterprise_officer', aiOfficer === 'cso-01' ? 'cso-02' : 'cso-01');
  tokens.yuzhu = await tokenFor('yuzhu', 'street', 'yz-lin');
  tokens.lianhe = await tokenFor('lianhe', 'street', 'lh-wu');
  tokens.department = await tokenFor('dept-power', 'department', 'gd-he');
  tokens.housing = await tokenFor('huangpu', 'service_account', 'housing-system', ['enterprise:apartments']);
}, 120_000);

afterAll(async () => {
  await Promise.all([intake.stop(), producer.disconnect()]);
  await second?.service.shutdown('test');
  await app.service.shutdown('test');
  await scope.cleanup();
});

describe('the demo zone', () => {
  it('loads a few hundred enterprises, officers, demands in every state, apartments and policies', async () => {
    const data = ok(
      await gql(url, tokens.command, `{ enterprises(first: 1) { totalCount } serviceOfficers(first: 1) { totalCount }
        apartments(first: 1) { totalCount } policies(first: 1) { totalCount }
        demands(first: 1) { totalCount } }`),
    );
    expect(data).toMatchObject({
      enterprises: { totalCount: 300 },
      serviceOfficers: { totalCount: 24 },
      apartments: { totalCount: 3000 },
      policies: { totalCount: 32 },
      demands: { totalCount: 480 },
    });
    const statuses = ok(await gql(url, tokens.command, '{ _entities(representations: [{ __typename: "Unit", id: "huangpu" }]) { ... on Unit { demandFigures { byStatus { status count } } } } }'));
    expect(statuses._entities[0].demandFigures.byStatus.map((s: { status: string }) => s.status)).toEqual([
      'CLOSED',
      'IN_PROGRESS',
      'REJECTED',
      'RESOLVED',
      'SUBMITTED',
      'WITHDRAWN',
    ]);
  });

  it('sends the fresh demo demands through hub.intake, keyed source:externalId, as the calls subgraph expects', async () => {
    const commands = await waitFor('six intake commands', () => (intake.records.length >= 6 ? intake.records : undefined));
    expect(commands).toHaveLength(6);
    for (const command of commands) {
      expect(command).toMatchObject({ source: 'enterprise', kind: 'create_call', call: { category: expect.any(String) } });
      expect(command.key).toBe(`enterprise:${command.externalId as string}`);
    }
  });
});

describe('enterprises and credit codes', () => {
  const register = (token: string, input: Record<string, unknown>) =>
    gql(url, token, 'mutation($input: RegisterEnterpriseInput!) { registerEnterprise(input: $input) { id name street { id } grid { id } } }', { input });
  const base = {
    creditCode: '91440300708461136T',
    name: '腾讯科技（深圳）有限公司广州分部（测试）',
    industry: 'INFORMATION_TECHNOLOGY',
    size: 'LARGE',
    address: '广州市黄埔区鱼珠街测试路1号',
    location: { lng: 113.52, lat: 23.13 },
    contacts: [{ name: '马小明', title: '行政经理', phone: '13800138000' }],
  };

  it('refuses an invalid credit code, saying which character is wrong', async () => {
    const result = await register(tokens.command, { ...base, creditCode: '91440300708461136U' });
    expect(codeOf(result)).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toContain('第 18 位应为“T”');
    const check = ok(await gql(url, tokens.yuzhu, '{ checkCreditCode(code: " 91350100m000100y43 ") { valid normalized message } }'));
    expect(check.checkCreditCode).toEqual({ valid: true, normalized: '91350100M000100Y43', message: null });
  });

  it('places the enterprise by its location; refuses a street that disagrees, a place outside the district, another street’s clerk', async () => {
    expect(codeOf(await register(tokens.command, { ...base, streetId: 'lianhe' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await register(tokens.command, { ...base, location: { lng: 113.2, lat: 23.1 } }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await register(tokens.lianhe, base))).toBe('FORBIDDEN');
    const made = ok(await register(tokens.yuzhu, base)).registerEnterprise;
    expect(made).toMatchObject({ id: '91440300708461136T', street: { id: 'yuzhu' }, grid: { id: expect.stringMatching(/^yuzhu-c\d-g\d$/) } });
    expect(codeOf(await register(tokens.command, base))).toBe('CONFLICT');
  });

  it('answers NOT_FOUND for an unknown code and BAD_USER_INPUT for a malformed one', async () => {
    expect(codeOf(await gql(url, tokens.yuzhu, '{ enterprise(id: "91350100M000100Y43") { name } }'))).toBe('NOT_FOUND');
    expect(codeOf(await gql(url, tokens.yuzhu, '{ enterprise(id: "12345") { name } }'))).toBe('BAD_USER_INPUT');
  });

  it('shows contacts to the enterprise’s officer and street, masked to everyone else', async () => {
    const query = 'query($id: ID!) { enterprise(id: $id) { contacts { name phone masked } } }';
    const seen = async (token: string) => ok(await gql(url, token, query, { id: aiFirm.creditCode })).enterprise.contacts[0];
    const contact = aiFirm.contacts[0] as { name: string; phone: string };
    expect(await seen(tokens.officer)).toEqual({ name: contact.name, phone: contact.phone, masked: false });
    expect(await seen(tokens.yuzhu)).toEqual({ name: contact.name, phone: contact.phone, masked: false });
    for (const token of [tokens.otherOfficer, tokens.department, tokens.lianhe]) {
      const masked = await seen(token);
      expect(masked.masked).toBe(true);
      expect(masked.phone).toBe(`${contact.phone.slice(0, 3)}****${contact.phone.slice(-4)}`);
      expect(masked.name).not.toBe(contact.name);
    }
  });

  it('reassigns an officer with history; only the district command centre may', async () => {
    const assign = (token: string, officerId: string) =>
      gql(url, token, `mutation($e: ID!, $o: ID!) { assignServiceOfficer(enterpriseId: $e, officerId: $o, reason: "岗位调整") {
        serviceOfficer { id } serviceHistory(first: 5) { totalCount edges { node { officer { id } to } } } } }`, { e: '91440300708461136T', o: officerId });
    expect(codeOf(await assign(tokens.yuzhu, 'cso-05'))).toBe('FORBIDDEN');
    expect(codeOf(await assign(tokens.command, 'cso-99'))).toBe('NOT_FOUND');
    ok(await assign(tokens.command, 'cso-05'));
    const after = ok(await assign(tokens.command, 'cso-06')).assignServiceOfficer;
    expect(after.serviceOfficer.id).toBe('cso-06');
    expect(after.serviceHistory.totalCount).toBe(2);
    expect(after.serviceHistory.edges.map((e: any) => [e.node.officer.id, e.node.to === null])).toEqual([
      ['cso-06', true],
      ['cso-05', false],
    ]);
  });
});

describe('demands', () => {
  const raise = (token: string, input: Record<string, unknown>, key?: string) =>
    gql(url, token, `mutation($input: RaiseDemandInput!, $key: String) { raiseDemand(input: $input, idempotencyKey: $key) {
      id status callStatus enterprise { id } serviceOfficer { id } } }`, { input, key });
  const input = { enterpriseId: aiFirm.creditCode, kind: 'POWER', title: '算力中心用电扩容', description: '新建算力机房需增容 2000 千伏安，请协调供电部门。' };

  it('refuses an officer acting for an enterprise they do not serve, and anyone else but the portal', async () => {
    const refused = await raise(tokens.otherOfficer, input);
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.message).toContain('不是「');
    expect(codeOf(await raise(tokens.yuzhu, input))).toBe('FORBIDDEN');
    expect(codeOf(await raise(tokens.officer, { ...input, enterpriseId: '91350100M000100Y43' }))).toBe('NOT_FOUND');
    expect(codeOf(await raise(tokens.officer, { ...input, title: ' ' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await raise(tokens.officer, { ...input, kind: 'TELEPORT' }))).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('saves the demand and its intake command together; a retry with the same key is the same demand', async () => {
    const first = ok(await raise(tokens.officer, input, 'power-1')).raiseDemand;
    expect(first).toMatchObject({ status: 'SUBMITTED', callStatus: null, enterprise: { id: aiFirm.creditCode }, serviceOfficer: { id: aiOfficer } });
    expect(ok(await raise(tokens.officer, input, 'power-1')).raiseDemand.id).toBe(first.id);
    const command = await waitFor('the demand’s intake command', () => intake.records.find((r) => r.externalId === first.id));
    expect(command).toMatchObject({
      source: 'enterprise',
      kind: 'create_call',
      call: { title: '算力中心用电扩容', category: '企业服务', itemCode: 'QY-01', unitId: 'yuzhu', priority: 'NORMAL' },
    });
    expect(intake.records.filter((r) => r.externalId === first.id)).toHaveLength(1);
    expect(codeOf(await gql(url, tokens.officer, 'mutation($id: ID!) { rateDemand(id: $id, stars: 6) { id } }', { id: first.id }))).toBe('BAD_USER_INPUT');
    // Not resolved yet: it cannot be rated.
    expect(codeOf(await gql(url, tokens.officer, 'mutation($id: ID!) { rateDemand(id: $id, stars: 5) { id } }', { id: first.id }))).toBe('CONFLICT');
    expect(codeOf(await gql(url, tokens.otherOfficer, 'mutation($id: ID!) { rateDemand(id: $id, stars: 5) { id } }', { id: first.id }))).toBe('FORBIDDEN');
    // Another officer does not see it; the enterprise's street does.
    expect(ok(await gql(url, tokens.otherOfficer, 'query($id: ID!) { demand(id: $id) { id } }', { id: first.id })).demand).toBeNull();
    expect(ok(await gql(url, tokens.yuzhu, 'query($id: ID!) { demand(id: $id) { id } }', { id: first.id })).demand).toEqual({ id: first.id });
  });

  it('withdraws an open demand with a revoke command for its call, once', async () => {
    const demand = ok(await raise(tokens.officer, { ...input, title: '待撤回的诉求' })).raiseDemand;
    const withdraw = (token: string) =>
      gql(url, token, 'mutation($id: ID!) { withdrawDemand(id: $id, reason: "企业已自行解决") { status withdrawReason } }', { id: demand.id });
    expect(codeOf(await withdraw(tokens.otherOfficer))).toBe('FORBIDDEN');
    expect(ok(await withdraw(tokens.officer)).withdrawDemand).toEqual({ status: 'WITHDRAWN', withdrawReason: '企业已自行解决' });
    expect(codeOf(await withdraw(tokens.officer))).toBe('CONFLICT');
    const commands = await waitFor('create and revoke, in order', () => {
      const mine = intake.records.filter((r) => r.externalId === demand.id);
      return mine.length === 2 ? mine : undefined;
    });
    expect(commands.map((c) => c.kind)).toEqual(['create_call', 'revoke_call']);
    expect(commands[1]).toMatchObject({ reason: '企业撤回：企业已自行解决', key: `enterprise:${demand.id as string}` });
  });

  it('shows why when the calls subgraph refuses the demand’s call (hub.intake.dlq), and moves on when a re-drive makes it', async () => {
    const demand = ok(await raise(tokens.officer, { ...input, title: '被拒的诉求' })).raiseDemand;
    const command = await waitFor('its intake command', () => intake.records.find((r) => r.externalId === demand.id));
    const { key, ...record } = command;
    // The dead letter exactly as the calls intake writes it (subgraphs/calls/intake.ts).
    const { topic, ...letter } = deadLetterOutput(
      'calls-intake',
      { topic: app.topics.intake, partition: 0, offset: '0', key: Buffer.from(key), value: Buffer.from(JSON.stringify(record)), headers: {}, timestamp: Date.now() },
      { code: 'unknown_unit', reason: 'unknown unit yuzhu', attempts: 1 },
      scope.keys,
    );
    expect(topic).toBe(app.topics.intakeDlq);
    await producer.send({ topic, messages: [letter] });
    const demandNow = async () =>
      ok(await gql(url, tokens.officer, 'query($id: ID!) { demand(id: $id) { status rejection callStatus } }', { id: demand.id })).demand;
    const rejected = await waitFor('the demand rejected', async () => {
      const d = await demandNow();
      return d.status === 'REJECTED' ? d : undefined;
    });
    expect(rejected).toEqual({ status: 'REJECTED', rejection: 'unknown unit yuzhu', callStatus: null });

    // After the fix, `npm run connectors:redrive` puts the command back and the calls subgraph makes the call.
    const raised = new CallScript(sourceCallId('enterprise', demand.id), 'yuzhu', new Date().toISOString()).events[0] as CallEvent;
    raised.call.source = 'ENTERPRISE';
    raised.call.sourceRef = { system: 'enterprise', externalId: demand.id };
    await producer.send({ topic: app.topics.callEvents, messages: [{ key: raised.callId, value: JSON.stringify(raised) }] });
    const moved = await waitFor('the demand under way', async () => {
      const d = await demandNow();
      return d.status === 'IN_PROGRESS' ? d : undefined;
    });
    expect(moved).toEqual({ status: 'IN_PROGRESS', rejection: null, callStatus: 'RAISED' });
  });
});

describe('talent apartments', () => {
  const search = (args: string, variables: Record<string, unknown> = {}, token = tokens.officer) =>
    gql(url, token, `query($after: String) { apartments(${args}, after: $after) { totalCount pageInfo { hasNextPage endCursor }
      edges { distanceMeters node { id monthlyRent rooms available street { id } } } } }`, variables);

  it('finds the nearest to an enterprise, paging on without repeats', async () => {
    const first = ok(await search(`near: { enterpriseId: "${aiFirm.creditCode}", withinMeters: 5000 }, first: 30`)).apartments;
    expect(first.edges).toHaveLength(30);
    const distances = first.edges.map((e: any) => e.distanceMeters as number);
    expect([...distances].sort((a, b) => a - b)).toEqual(distances);
    expect(Math.max(...distances)).toBeLessThanOrEqual(5000);
    const next = ok(await search(`near: { enterpriseId: "${aiFirm.creditCode}", withinMeters: 5000 }, first: 30`, { after: first.pageInfo.endCursor })).apartments;
    expect(next.edges[0].distanceMeters).toBeGreaterThanOrEqual(distances.at(-1));
    const ids = new Set([...first.edges, ...next.edges].map((e: any) => e.node.id));
    expect(ids.size).toBe(first.edges.length + next.edges.length);
  });

  it('filters and sorts by rent', async () => {
    const found = ok(await search('filter: { streetIds: ["lianhe"], minRooms: 2, maxRent: 4000, availableOnly: true }, sort: RENT_ASC, first: 50')).apartments;
    expect(found.totalCount).toBeGreaterThan(0);
    for (const { node } of found.edges) {
      expect(node).toMatchObject({ available: true, street: { id: 'lianhe' } });
      expect(node.rooms).toBeGreaterThanOrEqual(2);
      expect(node.monthlyRent).toBeLessThanOrEqual(4000);
    }
    const rents = found.edges.map((e: any) => e.node.monthlyRent as number);
    expect([...rents].sort((a, b) => a - b)).toEqual(rents);
  });

  it('refuses malformed searches with a clear error', async () => {
    const cases: Array<[string, RegExp]> = [
      ['filter: { minRent: 5000, maxRent: 1000 }', /下限 5000 大于上限 1000/],
      ['filter: { streetIds: ["atlantis"] }', /街道不存在/],
      ['sort: DISTANCE', /按距离排序须给出 near/],
      ['near: { point: { lng: 113.5, lat: 23.1 }, enterpriseId: "91440300708461136T" }', /之一/],
      ['near: { point: { lng: 23.1, lat: 113.5 } }', /经纬度可能颠倒/],
      ['near: { point: { lng: 113.5, lat: 23.1 }, withinMeters: 1000000 }', /搜索半径/],
      ['filter: { minRooms: -1 }', /最少房间数/],
      ['first: 101', /first/],
    ];
    for (const [args, message] of cases) {
      const result = await search(args);
      expect(codeOf(result), args).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message, args).toMatch(message);
    }
    const byRent = ok(await search('sort: RENT_ASC, first: 1')).apartments;
    const wrong = await search('sort: AREA_DESC, first: 1', { after: byRent.pageInfo.endCursor });
    expect(codeOf(wrong)).toBe('BAD_USER_INPUT');
  });

  it('sees a new listing at once; only the housing provider or the command centre may write', async () => {
    const put = (token: string) =>
      gql(url, token, `mutation { putApartment(input: { project: "测试人才公寓", unitNo: "1栋101", address: "鱼珠街测试路2号",
        location: { lng: 113.5301, lat: 23.1301 }, rooms: 2, areaSqm: 60, monthlyRent: 1, available: true, provider: "黄埔区人才安居服务中心" }) { id street { id } } }`);
    expect(codeOf(await put(tokens.officer))).toBe('FORBIDDEN');
    const made = ok(await put(tokens.housing)).putApartment;
    expect(made.street.id).toBe('yuzhu');
    const cheapest = ok(await search('sort: RENT_ASC, first: 1')).apartments.edges[0].node;
    expect(cheapest.id).toBe(made.id);
    const nearest = ok(await search('near: { point: { lng: 113.5301, lat: 23.1301 } }, first: 1')).apartments.edges[0];
    expect(nearest).toMatchObject({ distanceMeters: 0, node: { id: made.id } });
  });
});

describe('policies', () => {
  it('finds policies by Chinese text, best first', async () => {
    const found = ok(await gql(url, tokens.officer, '{ policies(text: "人才公寓", first: 3) { edges { score node { id title } } } }')).policies;
    expect(found.edges[0].node.title).toBe('黄埔区人才安居办法');
    expect(found.edges[0].score).toBeGreaterThan(0);
    const loans = ok(await gql(url, tokens.officer, '{ policies(text: "贷款贴息", first: 3) { edges { node { id } } } }')).policies;
    expect(loans.edges[0].node.id).toBe('POL003');
  });

  it('lists what applies to an enterprise: its industry, size and street, in force now', async () => {
    const applies = ok(
      await gql(url, tokens.officer, 'query($id: ID!) { enterprise(id: $id) { applicablePolicies(first: 100) { totalCount edges { node { id inForce } } } } }', {
        id: aiFirm.creditCode,
      }),
    ).enterprise.applicablePolicies;
    const ids = applies.edges.map((e: any) => e.node.id);
    expect(ids).toContain('POL004'); // 鱼珠 AI measures
    expect(ids).toContain('POL002'); // for everyone
    expect(ids).not.toContain('POL005'); // 科学城 manufacturing
    expect(ids).not.toContain('POL031'); // expired
    expect(ids).not.toContain('POL032'); // not yet in force
    expect(applies.edges.every((e: any) => e.node.inForce)).toBe(true);
    expect(codeOf(await gql(url, tokens.officer, `{ policies(text: "${'政策'.repeat(30)}") { totalCount } }`))).toBe('BAD_USER_INPUT');
  });
});

describe('federation and reports', () => {
  it('gives a street its enterprises and demand figures, and a call its demand', async () => {
    const data = ok(
      await gql(url, tokens.command, `{ _entities(representations: [{ __typename: "Unit", id: "yuzhu" }, { __typename: "Call", id: "CNOSUCHCALL" }]) {
        ... on Unit { enterprises(first: 2) { totalCount edges { node { street { id } } } } demandFigures { total answered onTimeRate satisfactionRate } }
        ... on Call { demand { id } } } }`),
    )._entities;
    expect(data[0].enterprises.totalCount).toBeGreaterThan(50);
    expect(data[0].enterprises.edges.every((e: any) => e.node.street.id === 'yuzhu')).toBe(true);
    expect(data[0].demandFigures.total).toBeGreaterThan(0);
    expect(data[0].demandFigures.satisfactionRate).toBeGreaterThan(0.9);
    expect(data[1].demand).toBeNull();
  });

  it('reports per officer: answered within the limit and the enterprises’ ratings', async () => {
    const report = ok(
      await gql(url, tokens.command, `{ officerReport(first: 100) { totalCount edges { node { officer { id } enterprises
        figures { total answered answeredOnTime onTimeRate rated averageStars } } } } }`),
    ).officerReport;
    expect(report.totalCount).toBe(24);
    const totals = report.edges.reduce((s: number, e: any) => s + e.node.figures.total, 0);
    expect(totals).toBeGreaterThan(480);
    const busy = report.edges.find((e: any) => e.node.figures.answered > 0).node.figures;
    expect(busy.answeredOnTime).toBeLessThanOrEqual(busy.answered);
    expect(busy.averageStars).toBeGreaterThanOrEqual(3);
    expect(codeOf(await gql(url, tokens.command, '{ officerReport(from: "2026-06-02T00:00:00Z", to: "2026-06-01T00:00:00Z") { totalCount } }'))).toBe('BAD_USER_INPUT');
  });
});

describe('several copies', () => {
  it('a second copy on the same database sees the first one’s writes within its refresh interval', async () => {
    second = await start();
    const url2 = `${second.url}/graphql`;
    const made = ok(
      await gql(url, tokens.housing, `mutation { putApartment(input: { project: "同步测试公寓", unitNo: "2栋202", address: "联和街测试路3号",
        location: { lng: 113.45, lat: 23.08 }, rooms: 1, areaSqm: 40, monthlyRent: 1800, available: true, provider: "科学城集团" }) { id } }`),
    ).putApartment;
    const seen = await waitFor('the listing in the second copy', async () => {
      const found = ok(await gql(url2, tokens.officer, 'query($id: ID!) { apartment(id: $id) { id project } }', { id: made.id })).apartment;
      return found ?? undefined;
    }, 5000);
    expect(seen.project).toBe('同步测试公寓');
  });

  it('a copy starting on demands raised before calls had followers tells the calls subgraph their officers, once', async () => {
    // A demand as an earlier version stored it: no followers. (The demo's made-up history has no
    // calls in the calls subgraph, and is left alone.)
    const earlier = [...app.zone.demands.values()].find((d) => d.status === 'SUBMITTED' && d.officerId) as DemandDoc;
    const madeUp = [...app.zone.demands.values()].find((d) => d.status === 'CLOSED' && d.officerId) as DemandDoc;
    await app.models.Demand.updateOne({ _id: madeUp._id }, { $unset: { followers: 1 } });
    await app.models.Demand.updateOne({ _id: earlier._id }, { $unset: { followers: 1 } });
    const officers = [...new Set([earlier.officerId, app.zone.enterprises.get(earlier.enterpriseId)?.officerId])].filter(Boolean);
    const copy = await start();
    try {
      const follows = await waitFor('the follow commands', () => {
        const mine = intake.records.filter((r) => r.externalId === earlier._id && r.kind === 'update_call');
        return mine.length === officers.length ? mine : undefined;
      });
      expect(follows.map((c) => c.update.action)).toEqual(officers.map(() => 'follow'));
      expect(follows.map((c) => c.update.follower)).toEqual(officers);
      expect((await app.models.Demand.findById(earlier._id).lean())?.followers).toEqual(officers);
      expect(intake.records.filter((r) => r.externalId === madeUp._id)).toEqual([]);
      // Brought up to date: the next start sends nothing more.
      expect(await copy.zone.followEarlierDemands()).toBe(0);
    } finally {
      await copy.service.shutdown('test');
    }
  });
});
