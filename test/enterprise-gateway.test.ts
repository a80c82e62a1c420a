// The closing note of the enterprise zone, end to end through the gateway over the real calls,
// party-map and enterprise subgraphs on the local Kafka and FerretDB: an officer's demand becomes a
// call (hub.intake), the street calls the department, the department completes it, and the demand
// shows resolved (hub.call-events); the enterprise's rating closes the call and counts for the officer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { startGateway } from '../gateway/app.ts';
import { loadConfig } from '../platform/config.ts';
import type { CallsApp } from '../subgraphs/calls/app.ts';
import { withCheckCharacter } from '../subgraphs/enterprise/domain/credit-code.ts';
import { type EnterpriseApp, enterpriseConfig, startEnterprise } from '../subgraphs/enterprise/app.ts';
import type { PartyMap } from '../subgraphs/party-map/app.ts';
import { startTestCalls } from './support/calls.ts';
import { startTestGateway, startTestPartyMap } from './support/gateway.ts';
import { codeOf, gql, ok, tokenFor } from './support/graphql.ts';
import { testScope } from './support/isolation.ts';
import { waitFor } from './support/wait.ts';

const scope = testScope('enterprise-gw');
let calls: CallsApp;
let partyMap: PartyMap;
let enterprise: EnterpriseApp;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let url: string;

const CODE = withCheckCharacter('91440112MA5YW8K2X');
const tokens = {} as Record<'command' | 'officer' | 'street' | 'leader' | 'power', string>;
/** The demand and call of the first test, followed by the next. */
let story: { demandId: string; callId: string };

beforeAll(async () => {
  calls = await startTestCalls(scope);
  let partyMapUrl: string;
  ({ partyMap, url: partyMapUrl } = await startTestPartyMap(scope));
  enterprise = await startEnterprise(loadConfig(enterpriseConfig, { ...scope.env, PORT: '0', ENTERPRISE_DB: scope.database('ent') }));
  gateway = await startTestGateway(scope, { calls: calls.url, partyMap: partyMapUrl, enterprise: enterprise.url }, { SUBGRAPH_TIMEOUT_MS: '5000' });
  url = `${gateway.url}/graphql`;
  tokens.command = await tokenFor('huangpu-command', 'district_command', 'qzh-xu');
  tokens.officer = await tokenFor('dept-business', 'enterprise_officer', 'cso-gw');
  tokens.street = await tokenFor('yuzhu', 'street', 'yz-lin');
  tokens.leader = await tokenFor('yuzhu', 'street_leader', 'yz-ld-he');
  tokens.power = await tokenFor('dept-power', 'department', 'gd-he');
}, 180_000);

afterAll(async () => {
  await gateway.service.shutdown('test');
  await enterprise.service.shutdown('test');
  await calls.service.shutdown('test');
  await partyMap.service.shutdown('test');
  await scope.cleanup();
});

describe('the enterprise zone through the gateway', () => {
  it('takes a CSO’s demand to a department call and back to resolved, then closed by the enterprise’s rating', async () => {
    // The district command centre sets the enterprise and its officer up.
    ok(await gql(url, tokens.command, 'mutation { registerServiceOfficer(input: { id: "cso-gw", name: "林晓", phone: "020-82112233", unitId: "dept-business", title: "区商务局首席服务官" }) { id } }'));
    const registered = ok(
      await gql(url, tokens.command, `mutation($code: String!) { registerEnterprise(input: { creditCode: $code, name: "广州鱼珠算力科技有限公司",
        industry: INFORMATION_TECHNOLOGY, size: MEDIUM, address: "广州市黄埔区鱼珠街智谷路8号", location: { lng: 113.53, lat: 23.13 },
        park: "琶洲—鱼珠人工智能与数字经济试验区（鱼珠片区）", contacts: [{ name: "周敏", title: "行政经理", phone: "13912345678" }] }) {
        id street { id name } } }`, { code: CODE }),
    ).registerEnterprise;
    // The street's name comes from party-map: one query across two subgraphs.
    expect(registered).toEqual({ id: CODE, street: { id: 'yuzhu', name: '鱼珠街' } });
    ok(await gql(url, tokens.command, 'mutation($e: ID!) { assignServiceOfficer(enterpriseId: $e, officerId: "cso-gw") { id } }', { e: CODE }));

    // The officer raises the demand; it leaves through hub.intake and becomes a call at the street.
    const raised = ok(
      await gql(url, tokens.officer, `mutation($e: ID!) { raiseDemand(input: { enterpriseId: $e, kind: POWER, title: "算力机房用电扩容",
        description: "新建算力机房需增容 2000 千伏安，现有线路不足，请协调供电部门。", contact: { name: "周敏", phone: "13912345678" } },
        idempotencyKey: "gw-power-1") { id status } }`, { e: CODE }),
    ).raiseDemand;
    expect(raised.status).toBe('SUBMITTED');
    const demandQuery = `query($id: ID!) { demand(id: $id) { status callStatus tier handlingUnit { id name } result completedAt
      answeredOnTime rating { stars } call { id } } }`;
    const demandAs = async (token: string) => ok(await gql(url, token, demandQuery, { id: raised.id })).demand;
    const inProgress = await waitFor('the call raised at the street', async () => {
      const d = await demandAs(tokens.officer);
      return d.status === 'IN_PROGRESS' ? d : undefined;
    });
    expect(inProgress).toMatchObject({ callStatus: 'RAISED', tier: 'STREET', handlingUnit: { id: 'yuzhu', name: '鱼珠街' } });

    // The street sees the call with its demand and enterprise (enterprise subgraph) and calls the department.
    const callId = (await demandAs(tokens.street)).call.id as string;
    const seenByStreet = ok(
      await gql(url, tokens.street, 'query($id: ID!) { call(id: $id) { source sourceRef { system externalId } demand { id kind } enterprise { name } } }', {
        id: callId,
      }),
    ).call;
    expect(seenByStreet).toEqual({
      source: 'ENTERPRISE',
      sourceRef: { system: 'enterprise', externalId: raised.id },
      demand: { id: raised.id, kind: 'POWER' },
      enterprise: { name: '广州鱼珠算力科技有限公司' },
    });
    ok(await gql(url, tokens.street, 'mutation($id: ID!) { dispatchToDepartment(id: $id, itemCode: "QY-01") { status } }', { id: callId }));
    // 街道领导审核: the street's leader approves the call to the department.
    ok(await gql(url, tokens.leader, 'mutation($id: ID!) { reviewDispatch(id: $id, approve: true) { status } }', { id: callId }));
    await waitFor('the demand at the department', async () => {
      const d = await demandAs(tokens.officer);
      return d.tier === 'DEPARTMENT' && d.handlingUnit.id === 'dept-power' ? d : undefined;
    });

    // The department signs, responds and completes it through the calls mutations.
    ok(await gql(url, tokens.power, 'mutation($id: ID!) { signCall(id: $id) { status } }', { id: callId }));
    ok(await gql(url, tokens.power, 'mutation($id: ID!) { respondCall(id: $id, note: "已安排现场勘查") { status } }', { id: callId }));
    ok(await gql(url, tokens.power, 'mutation($id: ID!) { completeCall(id: $id, result: "已完成线路改造，新增 2000 千伏安容量") { status } }', { id: callId }));

    // Back over hub.call-events: the officer sees the demand resolved, with the result, on time.
    const resolved = await waitFor('the demand resolved', async () => {
      const d = await demandAs(tokens.officer);
      return d.status === 'RESOLVED' ? d : undefined;
    });
    expect(resolved).toMatchObject({
      callStatus: 'COMPLETED',
      result: '已完成线路改造，新增 2000 千伏安容量',
      answeredOnTime: true,
      rating: null,
    });
    expect(resolved.completedAt).toEqual(expect.any(String));

    // The enterprise rates it: the rating goes to the call (hub.intake) and closes it.
    expect(codeOf(await gql(url, tokens.officer, 'mutation($id: ID!) { rateDemand(id: $id, stars: 6) { id } }', { id: raised.id }))).toBe('BAD_USER_INPUT');
    ok(await gql(url, tokens.officer, 'mutation($id: ID!) { rateDemand(id: $id, stars: 5, comment: "响应迅速") { status } }', { id: raised.id }));
    const closed = await waitFor('the demand closed', async () => {
      const d = await demandAs(tokens.officer);
      return d.status === 'CLOSED' ? d : undefined;
    });
    expect(closed).toMatchObject({ callStatus: 'CLOSED', rating: { stars: 5 } });
    const call = ok(await gql(url, tokens.street, 'query($id: ID!) { call(id: $id) { status rating { stars satisfaction } } }', { id: callId })).call;
    expect(call).toEqual({ status: 'CLOSED', rating: { stars: 5, satisfaction: 'VERY_SATISFIED' } });

    // It counts for the officer and the street.
    const figures = ok(
      await gql(url, tokens.command, `{ serviceOfficer(id: "cso-gw") { name caseload { enterprises openDemands }
        figures { total answered answeredOnTime onTimeRate rated averageStars satisfactionRate } }
        unit(id: "yuzhu") { name enterprises { totalCount } demandFigures { total answered } } }`),
    );
    expect(figures.serviceOfficer).toEqual({
      name: '林晓',
      caseload: { enterprises: 1, openDemands: 0 },
      figures: { total: 1, answered: 1, answeredOnTime: 1, onTimeRate: 1, rated: 1, averageStars: 5, satisfactionRate: 1 },
    });
    expect(figures.unit).toEqual({ name: '鱼珠街', enterprises: { totalCount: 1 }, demandFigures: { total: 1, answered: 1 } });
    story = { demandId: raised.id, callId };
  });

  it('lets the enterprise’s officer open the call itself, and the next officer assigned, and nobody else', async () => {
    const { demandId, callId } = story;
    const callQuery = 'query($id: ID!) { call(id: $id) { status timeline(first: 50) { edges { node { action note } } } } }';
    const callAs = async (token: string) => ok(await gql(url, token, callQuery, { id: callId })).call;
    // Through the demand, as an officer would follow it, and in the list of their calls.
    const viaDemand = ok(await gql(url, tokens.officer, 'query($id: ID!) { demand(id: $id) { call { id status } } }', { id: demandId })).demand;
    expect(viaDemand.call).toEqual({ id: callId, status: 'CLOSED' });
    expect((await callAs(tokens.officer)).status).toBe('CLOSED');
    const listed = ok(await gql(url, tokens.officer, '{ calls(first: 20) { edges { node { id } } } }')).calls.edges;
    expect(listed.map((e: { node: { id: string } }) => e.node.id)).toEqual([callId]);

    // Another officer sees neither, until the enterprise is assigned to them.
    const next = await tokenFor('dept-business', 'enterprise_officer', 'cso-gw2');
    expect(await callAs(next)).toBeNull();
    expect(ok(await gql(url, next, '{ calls(first: 20) { edges { node { id } } } }')).calls.edges).toEqual([]);
    ok(await gql(url, tokens.command, 'mutation { registerServiceOfficer(input: { id: "cso-gw2", name: "陈思", unitId: "dept-business" }) { id } }'));
    ok(await gql(url, tokens.command, 'mutation($e: ID!) { assignServiceOfficer(enterpriseId: $e, officerId: "cso-gw2", reason: "岗位调整") { id } }', { e: CODE }));
    const followed = await waitFor('the new officer following the call', async () => (await callAs(next)) ?? undefined);
    expect(followed.timeline.edges.at(-1).node).toEqual({ action: 'source_follow', note: '首席服务官：陈思' });
    // The first officer keeps the history of what they handled.
    expect((await callAs(tokens.officer)).status).toBe('CLOSED');
  });

  it('keeps an officer out of enterprises they do not serve, with clear errors through the gateway', async () => {
    const stranger = await tokenFor('dept-business', 'enterprise_officer', 'cso-stranger');
    const refused = await gql(url, stranger, `mutation($e: ID!) { raiseDemand(input: { enterpriseId: $e, kind: OTHER, title: "x", description: "y" }) { id } }`, {
      e: CODE,
    });
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.message).toContain('不是「广州鱼珠算力科技有限公司」的首席服务官');
    // Queries keep their data and errors through the gateway: a clear code for a bad credit code,
    // and the contacts come masked.
    const typo = await gql(url, stranger, '{ enterprise(id: "91440300708461136U") { name } }');
    expect(codeOf(typo)).toBe('BAD_USER_INPUT');
    expect(typo.errors?.[0]?.message).toContain('第 18 位应为“T”');
    const contacts = ok(await gql(url, stranger, 'query($e: ID!) { enterprise(id: $e) { contacts { phone masked } } }', { e: CODE })).enterprise.contacts;
    expect(contacts).toEqual([{ phone: '139****5678', masked: true }]);
  });
});
