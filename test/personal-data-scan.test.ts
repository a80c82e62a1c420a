// Nothing on Kafka carries a citizen's or petitioner's phone or ID number (or name) in clear. The hub
// runs with its demo data (party map, calls, enterprise zone, evaluation) and its connectors; the
// source simulators (connectors/simulate.ts) feed 12345 work orders, 三防 warnings and incidents and
// 信访 petitions, many with the caller's name, number and ID number written into the content, plus
// malformed records for the dead-letter topics; staff complete calls with results that repeat a phone
// number. Then every record on every topic is read (test/support/topic-scan.ts) and none may hold one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorsConfig, type ConnectorsApp, startConnectors } from '../connectors/app.ts';
import { hotlineRecords, petitionRecords, sanfangRecords, SIMULATED_NAMES, type SimulatedRecord } from '../connectors/simulate.ts';
import { loadConfig } from '../platform/config.ts';
import { createKafka, type Kafka } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import type { CallsApp } from '../subgraphs/calls/app.ts';
import { type EnterpriseApp, enterpriseConfig, startEnterprise } from '../subgraphs/enterprise/app.ts';
import { type EvaluationApp, evaluationConfig, startEvaluation } from '../subgraphs/evaluation/app.ts';
import type { PartyMap } from '../subgraphs/party-map/app.ts';
import { startTestCalls } from './support/calls.ts';
import { startTestPartyMap } from './support/gateway.ts';
import { gql, ok, tokenFor } from './support/graphql.ts';
import { testScope } from './support/isolation.ts';
import { findingsIn, SOURCE_TOPICS } from './support/topic-scan.ts';
import { waitFor } from './support/wait.ts';

const scope = testScope('pii-scan');
const kafka: Kafka = createKafka(scope.config, 'test-pii-scan', createLogger('test', 'warn'));
let partyMap: PartyMap;
let calls: CallsApp;
let evaluation: EvaluationApp;
let enterprise: EnterpriseApp;
let connectors: ConnectorsApp;
let cleaned = false;

beforeAll(async () => {
  ({ partyMap } = await startTestPartyMap(scope));
  calls = await startTestCalls(scope, { DEMO_DATA: '1', OUTBOX_SWEEP_MS: '200' });
  evaluation = await startEvaluation(loadConfig(evaluationConfig, { ...scope.env, PORT: '0', EVALUATION_DB: scope.database('eval') }));
  enterprise = await startEnterprise(
    loadConfig(enterpriseConfig, { ...scope.env, PORT: '0', DEMO_DATA: '1', ENTERPRISE_DB: scope.database('ent'), OUTBOX_SWEEP_MS: '200' }),
  );
  connectors = await startConnectors(loadConfig(connectorsConfig, { ...scope.env, PORT: '0', CONNECTOR_RETRY_BASE_MS: '10' }));
}, 180_000);

async function stopAll() {
  for (const app of [connectors, enterprise, evaluation, calls]) await app?.service.shutdown('test');
  await partyMap?.service.shutdown('test');
}

afterAll(async () => {
  if (cleaned) return;
  await stopAll();
  await scope.cleanup();
});

/** Records handled by the connectors' source pipelines so far (processed, skipped or dead-lettered). */
async function handledBySources(): Promise<number> {
  const sources = new Set(['hotline-orders', 'sanfang-warnings', 'sanfang-incidents', 'petition-records']);
  const { values } = await connectors.metrics.records.get();
  return values.filter((v) => sources.has(String(v.labels.pipeline))).reduce((sum, v) => sum + v.value, 0);
}

/** True once a consumer group has committed everything now on a topic. */
async function caughtUp(groupId: string, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const at = new Map(committed?.partitions.map((p) => [p.partition, BigInt(p.offset)]));
    return ends.every(({ partition, high, low }) => BigInt(high) === BigInt(low) || (at.get(partition) ?? -1n) >= BigInt(high));
  } finally {
    await admin.disconnect();
  }
}

function take(stream: Generator<SimulatedRecord>, count: number): SimulatedRecord[] {
  const out: SimulatedRecord[] = [];
  for (const record of stream) {
    out.push(record);
    if (out.length >= count) break;
  }
  return out;
}

describe('personal data on Kafka', () => {
  it('the scan itself finds a phone or ID number standing anywhere in a record, and passes over ids and sealed values', () => {
    const where = { topic: 't', partition: 0, offset: '7' };
    const value = Buffer.from(JSON.stringify({ callId: 'C13812345678ABCDEF012', data: { notes: ['回电 138-1234-5678'] }, id: '440112199001011234' }));
    expect(findingsIn(where, { key: Buffer.from('GZ12345-20260601-0001'), value })).toEqual([
      { ...where, field: 'value.data.notes[0]', kind: 'phone', masked: '138****5678' },
      { ...where, field: 'value.id', kind: 'id', masked: '4401**********1234' },
    ]);
    expect(findingsIn(where, { key: null, value: Buffer.from(scope.keys.seal('13812345678', 'x')) })).toEqual([]);
    expect(findingsIn(where, { key: null, value: Buffer.from('我叫张伟') }, ['张伟'])).toMatchObject([{ kind: 'name', masked: '张*' }]);
  });

  it('finds none in any record the demo district, the simulators and the staff put on any topic', async () => {
    const t = connectors.topics;
    const records = [
      ...take(hotlineRecords({ seed: 'pii', topic: t.hotlineOrders, updates: 0.25, repeats: 0.05, bad: 0.08 }), 80),
      ...take(sanfangRecords({ seed: 'pii', warnings: t.floodWarnings, incidents: t.floodIncidents, bad: 0.05 }), 30),
      ...take(petitionRecords({ seed: 'pii', topic: t.petitions, bad: 0.08 }), 50),
    ];
    const producer = kafka.producer();
    await producer.connect();
    for (const record of records) await producer.send({ topic: record.topic, messages: [{ key: record.key, value: record.value }] });
    await producer.disconnect();
    await waitFor('the connectors to handle every simulated record', async () => ((await handledBySources()) >= records.length ? true : undefined), 120_000);
    await waitFor('the calls intake to apply every command', async () => ((await caughtUp(`${scope.config.TOPIC_PREFIX}calls-intake`, t.intake)) ? true : undefined), 240_000);

    // Staff complete calls from 12345 and 信访 with results that repeat the caller's number; the
    // results go back to the sources' feedback topics.
    const open = await calls.models.Call.find({ source: { $in: ['HOTLINE', 'PETITION'] }, status: 'RAISED' }).lean();
    const chosen = [...open.filter((c) => c.source === 'HOTLINE').slice(0, 4), ...open.filter((c) => c.source === 'PETITION').slice(0, 3)];
    expect(chosen.length).toBeGreaterThanOrEqual(5);
    for (const call of chosen) {
      const token = await tokenFor(call.handlingUnitId, calls.directory.tierOf(call.handlingUnitId) === 'STREET' ? 'street' : calls.directory.tierOf(call.handlingUnitId) === 'COMMUNITY' ? 'community' : 'grid_worker');
      ok(
        await gql(`${calls.url}/graphql`, token, 'mutation($id: ID!, $r: String!) { completeCall(id: $id, result: $r) { status } }', {
          id: call._id,
          r: `已联系来电人${SIMULATED_NAMES[0]}（手机13800138000，座机020-82228888），现场处理完毕`,
        }),
      );
    }
    // The demo's 300 calls with their histories are published by the outbox sweep (about a minute on FerretDB).
    await waitFor('the demo calls published', async () => ((await calls.models.Call.countDocuments({ outboxPending: true })) === 0 ? true : undefined), 240_000);
    await waitFor('the results written back', async () =>
      (await caughtUp(`${scope.config.TOPIC_PREFIX}connector-hotline-feedback`, t.callEvents)) &&
      (await caughtUp(`${scope.config.TOPIC_PREFIX}connector-petition-feedback`, t.callEvents))
        ? true
        : undefined,
    120_000);

    await stopAll();
    cleaned = true;
    // Fails listing topic, partition, offset and field of anything found; the simulators' names too.
    const scan = await scope.cleanup({ names: SIMULATED_NAMES });
    const short = (topic: string) => topic.slice(scope.config.TOPIC_PREFIX.length);
    const perTopic = Object.fromEntries(Object.entries(scan.perTopic).map(([topic, n]) => [short(topic), n]));
    console.log(`personal-data scan: ${scan.records} records on ${scan.topics} topics, 0 in clear: ${JSON.stringify(perTopic)}`);
    expect(scan.findings).toEqual([]);
    // What the hub wrote was all read: intake, events, feedback, alerts, counters, units and dead letters.
    for (const topic of ['hub.intake', 'hub.call-events', 'hub.order-events', 'hub.alerts', 'hub.units', 'hub.counters', 'src.12345.feedback', 'src.xinfang.feedback', 'src.12345.orders.dlq', 'src.xinfang.petitions.dlq']) {
      expect(perTopic[topic], topic).toBeGreaterThan(0);
    }
    // The sources' own topics are theirs and were not scanned.
    for (const topic of SOURCE_TOPICS) expect(perTopic).not.toHaveProperty(topic);
  }, 600_000);
});
