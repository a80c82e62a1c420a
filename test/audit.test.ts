// The audit record (#18) over the real Kafka and FerretDB, with the real calls subgraph and the 12345
// connector: a source-signed work order becomes a call whose whole record verifies (hash-chained
// timeline, signed events and feedback, checkpoints with inclusion proofs); then a stored timeline,
// records on Kafka and a checkpoint are tampered with, and each is found at its exact place.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { convert } from '../subgraphs/party-map/geo/crs.ts';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Checkpoint, checkpointKey } from '../platform/audit/checkpoints.ts';
import { readTopics } from '../platform/audit/log-verify.ts';
import { hubVerifierFrom, rawPublicKey, RecordSigner, signingConfig } from '../platform/audit/signing.ts';
import { loadConfig } from '../platform/config.ts';
import { createKafka } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { type ConnectorsApp, connectorsConfig, startConnectors } from '../connectors/app.ts';
import { sourceCallId } from '../subgraphs/calls/intake.ts';
import { audit, type AuditTopics } from '../subgraphs/calls/audit.ts';
import type { CallsApp } from '../subgraphs/calls/app.ts';
import { linkHash } from '../platform/audit/record-chain.ts';
import { timelineContent } from '../subgraphs/calls/timeline-chain.ts';
import { startTestCalls } from './support/calls.ts';
import { gql, ok, tokenFor } from './support/graphql.ts';
import { testScope } from './support/isolation.ts';
import { waitFor } from './support/wait.ts';

const scope = testScope('audit');
const kafka = createKafka(scope.config, 'test-audit', createLogger('test', 'warn'));
// The 12345 platform's own signing key (TEST DATA): the hub knows its public half.
const hotlineKey = generateKeyPairSync('ed25519').privateKey;
const hotline = new RecordSigner({ id: 'h1', privateKey: hotlineKey });
let calls: CallsApp;
let connectors: ConnectorsApp;
let producer: Producer;
let topics: AuditTopics;
const hub = hubVerifierFrom({ NODE_ENV: 'test' });

beforeAll(async () => {
  // Checkpoints are published by hand here (checkpoint()), once the records are read.
  calls = await startTestCalls(scope, { AUDIT_CHECKPOINT_INTERVAL_MS: '3600000' });
  connectors = await startConnectors(
    loadConfig(connectorsConfig, { ...scope.env, PORT: '0', CONNECTORS: 'hotline', CONNECTOR_RETRY_BASE_MS: '10', SOURCE_VERIFY_KEYS: `hotline/h1:${rawPublicKey(hotlineKey)}` }),
  );
  producer = kafka.producer();
  await producer.connect();
  topics = { callEvents: calls.topics.callEvents, feedback: [calls.topics.hotlineFeedback, calls.topics.petitionFeedback], checkpoints: calls.topics.checkpoints };
});

afterAll(async () => {
  await producer?.disconnect();
  await connectors?.service.shutdown('test');
  await calls?.service.shutdown('test');
  await scope.cleanup();
});

const now = () => new Date().toISOString();
const verify = (options: { callId?: string; topic?: string; verifier?: typeof hub } = {}) =>
  audit({ kafka, calls: calls.models.Call, topics, verifier: hub, groupPrefix: scope.config.TOPIC_PREFIX, ...options });

// A building site in 长洲街 深井社区 第1网格 (WGS-84, as connectors.test.ts), as AMap (GCJ-02) gives it.
const SITE = convert([113.4025, 23.0651], 'WGS84', 'GCJ02');

function hotlineOrder(orderNo: string) {
  return {
    record_id: `R-${randomUUID()}`,
    record_type: 'NEW',
    order_no: orderNo,
    record_time: now(),
    accept_time: now(),
    channel: '电话',
    appeal_type: '投诉',
    category_path: ['城乡建设', '施工噪音'],
    title: '工地夜间施工噪音扰民',
    content: '市民来电反映：长洲街深井社区某工地夜间施工，噪音严重影响休息，要求查处。',
    address: '广州市黄埔区长洲街深井社区深井村工地',
    coord: { x: SITE[0], y: SITE[1], crs: 'GCJ02' },
    urgency: '一般',
  };
}

async function sendOrder(orderNo: string, sign: (topic: string, key: string, value: string) => Record<string, string>) {
  const topic = connectors.topics.hotlineOrders;
  const value = JSON.stringify(hotlineOrder(orderNo));
  await producer.send({ topic, messages: [{ key: orderNo, value, headers: sign(topic, orderNo, value) }] });
}

/** Publishes checkpoints once the checkpointer has read every record now on the audited topics. */
async function checkpointAll(): Promise<Checkpoint[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, bigint>();
  for (const topic of [topics.callEvents, ...topics.feedback]) {
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) if (BigInt(high) > 0n) ends.set(`${topic}#${partition}`, BigInt(high));
  }
  await admin.disconnect();
  const checkpoints = calls.checkpoints;
  if (!checkpoints) throw new Error('the checkpoint publisher is not running');
  await waitFor('the checkpointer to read every record', () => [...ends].every(([log, end]) => (checkpoints.coverage().get(log) ?? 0n) >= end) || undefined);
  return checkpoints.checkpoint();
}

const grid = () => tokenFor('changzhou-c1-g1', 'grid_worker');
const integrityOf = async (id: string) =>
  ok(await gql(`${calls.url}/graphql`, await grid(), 'query($id: ID!) { call(id: $id) { integrity { status entries brokenAt reason head } } }', { id })).call.integrity;

describe('the audit record', () => {
  let orderCallId: string;
  let tampered: string;

  it('a 12345 order signed by its source becomes a call whose whole record verifies: chain, signed events and feedback, checkpoints', async () => {
    const orderNo = `GZ12345-${Date.now()}-0001`;
    await sendOrder(orderNo, (t, k, v) => hotline.headers(t, k, v));
    orderCallId = sourceCallId('hotline', orderNo);
    await waitFor('the call', async () => (await calls.models.Call.findById(orderCallId).lean()) ?? undefined);
    ok(await gql(`${calls.url}/graphql`, await grid(), 'mutation($id: ID!) { completeCall(id: $id, result: "已责令工地夜间停工") { status } }', { id: orderCallId }));
    // A second call, raised and worked through the API, to tamper with below.
    const raised = ok(
      await gql(`${calls.url}/graphql`, await grid(), 'mutation { raiseCall(input: {title: "井盖松动", description: "路口井盖松动有异响", category: "城市管理"}) { call { id } } }'),
    );
    tampered = raised.raiseCall.call.id;
    ok(await gql(`${calls.url}/graphql`, await grid(), 'mutation($id: ID!) { completeCall(id: $id, result: "井盖已更换") { status } }', { id: tampered }));

    // The feedback to 12345 is written (and signed) from the hub's signed events only.
    await waitFor('the signed feedback', async () => {
      const logs = await readTopics(kafka, [calls.topics.hotlineFeedback], { groupPrefix: scope.config.TOPIC_PREFIX });
      return [...logs.values()].flat().find((r) => r.key?.toString() === orderNo);
    });
    // The intake command keeps what the source's signature check found.
    const intake = [...(await readTopics(kafka, [calls.topics.intake], { groupPrefix: scope.config.TOPIC_PREFIX })).values()].flat();
    expect(intake.map((r) => String(r.headers?.['source-signature']))).toContain('valid;key=h1');

    const published = await checkpointAll();
    expect(published.length).toBeGreaterThan(0);
    expect(await integrityOf(orderCallId)).toMatchObject({ status: 'INTACT', entries: 2, brokenAt: null });

    const one = await verify({ callId: orderCallId });
    expect(one.findings).toEqual([]);
    expect(one.calls).toEqual([expect.objectContaining({ callId: orderCallId, chain: 'INTACT', entries: 2, events: 2, included: 2, pending: 0 })]);
    const all = await verify();
    expect(all.findings).toEqual([]);
    expect(all.calls.map((c) => c.chain)).toEqual(['INTACT', 'INTACT']);
    const feedback = all.logs.filter((l) => l.log.startsWith(calls.topics.hotlineFeedback) && l.records > 0);
    expect(feedback.length).toBeGreaterThan(0);
    expect(feedback.every((l) => l.signatures.valid === l.records && l.uncheckpointed === 0)).toBe(true);

    // Key rotation: a hub that signs with a new key and lists the old one still verifies the old records…
    const { privateKey: next } = generateKeyPairSync('ed25519');
    const seed = next.export({ format: 'der', type: 'pkcs8' }).subarray(-32).toString('base64');
    const rotated = signingConfig.parse({ RECORD_SIGNING_KEY: `k2:${seed}`, RECORD_VERIFY_KEYS: `dev:${rawPublicKey(calls.signer.publicKey)}` });
    expect((await verify({ callId: orderCallId, verifier: hubVerifierFrom({ NODE_ENV: 'production', ...rotated }) })).findings).toEqual([]);
    // …and one that dropped the old key says which records it can no longer vouch for.
    const forgot = hubVerifierFrom({ NODE_ENV: 'production', ...signingConfig.parse({ RECORD_SIGNING_KEY: `k2:${seed}` }) });
    expect((await verify({ callId: orderCallId, verifier: forgot })).findings.map((f) => f.reason)).toContain('event_signature_unknown_key');
  });

  it('dead-letters a source record with a missing or forged signature, and makes no call of it', async () => {
    const unsigned = `GZ12345-${Date.now()}-0002`;
    const forged = `GZ12345-${Date.now()}-0003`;
    await sendOrder(unsigned, () => ({}));
    const impostor = new RecordSigner({ id: 'h1', privateKey: generateKeyPairSync('ed25519').privateKey });
    await sendOrder(forged, (t, k, v) => impostor.headers(t, k, v));
    const dlq = `${connectors.topics.hotlineOrders}.dlq`;
    const letters = await waitFor('both dead letters', async () => {
      const found = [...(await readTopics(kafka, [dlq], { groupPrefix: scope.config.TOPIC_PREFIX })).values()].flat().map((r) => JSON.parse(String(r.value)));
      return found.length >= 2 ? found : undefined;
    });
    // The two orders have their own keys, so partitions: the letters come in either order.
    expect(letters.map((l) => [l.reasonCode, l.reason]).sort()).toEqual([
      ['bad_signature', 'signature invalid (key "h1"; known: h1)'],
      ['bad_signature', 'signature missing'],
    ]);
    expect(await calls.models.Call.findById(sourceCallId('hotline', unsigned)).lean()).toBeNull();
    expect(await calls.models.Call.findById(sourceCallId('hotline', forged)).lean()).toBeNull();
  });

  it('finds a stored timeline entry changed, a chain rewritten whole, and entries cut off, at the entry', async () => {
    const Call = calls.models.Call;
    const original = (await Call.findById(tampered).lean())!;
    expect(original.timeline).toHaveLength(2);

    await Call.collection.updateOne({ _id: tampered as never }, { $set: { 'timeline.1.note': '未到场' } });
    expect(await integrityOf(tampered)).toMatchObject({ status: 'BROKEN', brokenAt: 1, reason: 'content_changed' });
    expect((await verify({ callId: tampered })).findings[0]).toMatchObject({ callId: tampered, reason: 'timeline_content_changed', at: 'timeline position 1' });

    // Whoever rewrites the chain whole (hashes recomputed) still disagrees with the signed events.
    const rewritten = [...original.timeline];
    rewritten[1] = { ...rewritten[1]!, note: '未到场' };
    let prev = rewritten[0]!.hash!;
    for (let i = 1; i < rewritten.length; i++) {
      const hash = linkHash(prev, timelineContent(rewritten[i]!));
      rewritten[i] = { ...rewritten[i]!, prevHash: prev, hash };
      prev = hash;
    }
    await Call.collection.updateOne({ _id: tampered as never }, { $set: { timeline: rewritten, timelineHead: prev } });
    expect(await integrityOf(tampered)).toMatchObject({ status: 'INTACT' });
    const rewrite = await verify({ callId: tampered });
    expect(rewrite.findings[0]).toMatchObject({ reason: 'timeline_differs_from_event', at: 'timeline position 1' });

    // The last entry removed.
    await Call.collection.updateOne({ _id: tampered as never }, { $set: { timeline: original.timeline.slice(0, 1), timelineHead: original.timelineHead } });
    expect(await integrityOf(tampered)).toMatchObject({ status: 'BROKEN', brokenAt: 1, reason: 'truncated' });
    // Nothing was repaired: the tampered document stays as it was left.
    expect((await Call.findById(tampered).lean())!.timeline).toHaveLength(1);
  });

  it('finds a forged event, a forged feedback record and a checkpoint that does not extend the previous one, at their offsets', async () => {
    // A copy of a genuine event, altered, with the genuine signature: invalid, and no feedback is made of it.
    const logs = await readTopics(kafka, [topics.callEvents], { groupPrefix: scope.config.TOPIC_PREFIX });
    const genuine = [...logs.values()].flat().find((r) => r.key?.toString() === orderCallId && String(r.value).includes('已责令工地夜间停工'))!;
    const forgedValue = String(genuine.value).replace('已责令工地夜间停工', '已办结，市民满意');
    const [event] = await producer.send({ topic: topics.callEvents, messages: [{ key: orderCallId, value: forgedValue, headers: genuine.headers as Record<string, Buffer> }] });
    const [feedback] = await producer.send({ topic: calls.topics.hotlineFeedback, messages: [{ key: 'GZ12345-forged', value: '{"order_no":"GZ12345-forged","handle_result":"已办结"}' }] });
    const dead = await waitFor('the forged event dead-lettered by the feedback connector', async () => {
      const letters = [...(await readTopics(kafka, [`${topics.callEvents}.dlq`], { groupPrefix: scope.config.TOPIC_PREFIX })).values()].flat();
      return letters.map((r) => JSON.parse(String(r.value))).find((l) => l.offset === event!.baseOffset);
    });
    expect(dead).toMatchObject({ reasonCode: 'bad_signature', reason: 'signature invalid (key "dev"; known: dev)', partition: event!.partition });
    await checkpointAll();

    // A checkpoint signed with the hub's key whose tree is another history: it does not extend the previous one.
    const [latest] = await calls.checkpoints!.checkpoint().then(async () => {
      const cps = [...(await readTopics(kafka, [topics.checkpoints], { groupPrefix: scope.config.TOPIC_PREFIX })).values()].flat();
      return cps.map((r) => JSON.parse(String(r.value)) as Checkpoint).filter((c) => c.log === `${topics.callEvents}#${event!.partition}`).sort((a, b) => b.treeSize - a.treeSize);
    });
    const fork: Checkpoint = { ...latest!, treeSize: latest!.treeSize, rootHash: 'ab'.repeat(32), previous: { treeSize: latest!.treeSize, rootHash: latest!.rootHash }, issuedAt: now() };
    const forkValue = JSON.stringify(fork);
    const [forkAt] = await producer.send({
      topic: topics.checkpoints,
      messages: [{ key: `${checkpointKey(fork)}-fork`, value: forkValue, headers: calls.signer.headers(topics.checkpoints, `${checkpointKey(fork)}-fork`, forkValue) }],
    });
    // And one whose root was edited after signing.
    const edited = JSON.stringify({ ...latest!, rootHash: 'cd'.repeat(32) });
    const [editedAt] = await producer.send({ topic: topics.checkpoints, messages: [{ key: checkpointKey(latest!), value: edited, headers: calls.signer.headers(topics.checkpoints, checkpointKey(latest!), JSON.stringify(latest)) }] });

    const report = await verify();
    const at = (reason: string) => report.findings.filter((f) => f.reason === reason).map((f) => ('offset' in f ? `${f.topic}#${f.partition}@${f.offset}` : f.at));
    expect(at('signature_invalid')).toEqual([`${topics.callEvents}#${event!.partition}@${event!.baseOffset}`]);
    expect(at('signature_missing')).toEqual([`${calls.topics.hotlineFeedback}#${feedback!.partition}@${feedback!.baseOffset}`]);
    expect(at('event_signature_invalid')).toEqual([`${topics.callEvents} partition ${event!.partition} offset ${event!.baseOffset}`]);
    expect(at('checkpoint_root_mismatch')).toEqual([`${topics.checkpoints}#0@${forkAt!.baseOffset}`]);
    expect(at('checkpoint_not_consistent')).toEqual([`${topics.checkpoints}#0@${forkAt!.baseOffset}`]);
    expect(at('checkpoint_signature')).toEqual([`${topics.checkpoints}#0@${editedAt!.baseOffset}`]);
    expect(report.ok).toBe(false);
  });
});
