// The connector process killed (SIGKILL) in the middle of a batch and started again: every work order
// becomes exactly one call and every update is applied exactly once, although the records it had sent
// but not yet committed when it died are read and sent again.
//
// The moment of the kill is pinned, not guessed: the first copy runs with the fault injection
// CONNECTOR_TEST_HALT_AFTER_SENDS, so it stops right after its 4th send of 10 intake commands and
// before committing them (`connector halted` on stderr); the test then kills it. At that moment some
// commands are on hub.intake whose records are not committed, and most records are not read yet.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKafka, ensureTopics, topicName } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { TOPICS } from '../platform/topics.ts';
import type { CallsApp } from '../subgraphs/calls/app.ts';
import { sourceCallId } from '../subgraphs/calls/intake.ts';
import { type Collected, collect, startTestCalls } from '../test/support/calls.ts';
import { testScope } from '../test/support/isolation.ts';
import { waitFor } from '../test/support/wait.ts';
import { hotlineRecords } from './simulate.ts';

const scope = testScope('connectors-crash');
const kafka = createKafka(scope.config, 'test-crash', createLogger('test', 'warn'));
const admin = kafka.admin();
let calls: CallsApp;
let events: Collected;
let intake: Collected;
const children: ChildProcess[] = [];

const RECORDS = 100;
const FLUSH_EVERY = 10;
const HALT_AFTER_SENDS = 4;

beforeAll(async () => {
  calls = await startTestCalls(scope);
  await admin.connect();
  events = await collect(scope, calls.topics.callEvents);
  intake = await collect(scope, calls.topics.intake);
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all([events.stop(), intake.stop(), admin.disconnect()]);
  await calls.service.shutdown('test');
  await scope.cleanup();
});

/** A connector copy as its own process; resolves `halted` when it says it stopped before committing. */
function startConnector(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'connectors/main.ts'], {
    env: {
      ...process.env,
      ...scope.env,
      PORT: '0',
      CONNECTORS: 'hotline',
      LOG_LEVEL: 'error',
      CONNECTOR_FLUSH_EVERY: String(FLUSH_EVERY),
      // A dead copy's partitions go to the new one after 6 s, not the default 30.
      CONNECTOR_SESSION_TIMEOUT_MS: '6000',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  const halted = new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('connector halted')) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`connector exited (${code ?? signal}) before halting: ${stderr}`)));
  });
  halted.catch(() => {}); // only awaited for the first copy
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, halted, exited, stderr: () => stderr };
}

async function committedRecords(groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

it('loses no call and doubles none when the connector is killed mid-batch and restarted', async () => {
  const ordersTopic = topicName(scope.config, TOPICS.hotlineOrders);
  const group = topicName(scope.config, 'connector-hotline-orders');
  // Work orders with a quarter of updates (urges, extensions, call-backs) for earlier orders.
  const stream = hotlineRecords({ seed: 'crash', topic: ordersTopic, updates: 0.25, prefix: 'GZ12345-CRASH' });
  const records = Array.from({ length: RECORDS }, () => stream.next().value as { key: string; value: string });
  const parsed = records.map((r) => JSON.parse(r.value) as { record_type: string; order_no: string });
  const orders = parsed.filter((r) => r.record_type === 'NEW').map((r) => r.order_no);
  const urges = new Map<string, number>();
  for (const r of parsed) if (r.record_type === 'URGE') urges.set(r.order_no, (urges.get(r.order_no) ?? 0) + 1);
  expect(urges.size).toBeGreaterThan(5);

  await ensureTopics(admin, [{ topic: ordersTopic, numPartitions: 6 }]);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: ordersTopic, messages: records.map(({ key, value }) => ({ key, value })) });
  await producer.disconnect();

  const first = startConnector({ CONNECTOR_TEST_HALT_AFTER_SENDS: String(HALT_AFTER_SENDS) });
  await first.halted;
  first.child.kill('SIGKILL');
  await first.exited;
  expect(first.child.signalCode).toBe('SIGKILL');
  // What the killed copy left: commands sent, and records committed. Batches of other partitions in
  // flight at the halt may have finished their send (and commit), so the counts vary a little; the
  // halted send is never committed, and the copy never got near the end.
  const sent = (await admin.fetchTopicOffsets(calls.topics.intake)).reduce((sum, p) => sum + Number(p.high), 0);
  const committedAtKill = await committedRecords(group, ordersTopic);
  expect(sent).toBeGreaterThanOrEqual(HALT_AFTER_SENDS);
  expect(sent).toBeLessThanOrEqual((HALT_AFTER_SENDS + 2) * FLUSH_EVERY);
  expect(committedAtKill).toBeLessThan(sent);

  const second = startConnector();
  // Awaited on hub.call-events (in memory here), not by scanning the calls collection over and over.
  const urgeEvents = () => events.records.filter((e) => e.type === 'call.source_update' && e.data?.action === 'urge');
  await waitFor(
    'every order as a call with its urges applied',
    () => {
      const raised = new Set(events.records.filter((e) => e.type === 'call.raised').map((e) => e.callId));
      const urged = urgeEvents();
      const done =
        orders.every((orderNo) => raised.has(sourceCallId('hotline', orderNo))) &&
        [...urges].every(([orderNo, n]) => new Set(urged.filter((e) => e.callId === sourceCallId('hotline', orderNo)).map((e) => e.eventId)).size >= n);
      return done ? true : undefined;
    },
    60_000,
  );
  expect(second.stderr()).toBe('');

  // The records sent but not committed were read and sent again by the second copy …
  await waitFor('the group to commit every record', async () => ((await committedRecords(group, ordersTopic)) === RECORDS ? true : undefined));
  const resent = RECORDS + sent - committedAtKill;
  await waitFor('every command, the re-sent ones twice', () => (intake.records.length >= resent ? true : undefined));
  expect(new Set(intake.records.map((c) => c.commandId as string)).size).toBe(RECORDS);

  // … and the hub applied each once: one call per order, each urge once, one call.raised per call.
  const stored = await calls.models.Call.find({ source: 'HOTLINE' }, { timeline: 1, sourceRef: 1 }).lean();
  expect(stored).toHaveLength(orders.length);
  expect(new Set(stored.map((d) => d.sourceRef?.externalId))).toEqual(new Set(orders));
  for (const [orderNo, n] of urges) {
    const doc = stored.find((d) => d._id === sourceCallId('hotline', orderNo));
    expect(doc?.timeline.filter((t) => t.action === 'source_urge'), orderNo).toHaveLength(n);
  }
  // The calls' outbox publishes at least once (consumers drop repeats by event id), so the events
  // are counted by id: exactly one call.raised per call, one urge event per urge.
  const raisedIds = new Map<string, Set<string>>();
  for (const e of events.records.filter((e) => e.type === 'call.raised')) {
    raisedIds.set(e.callId, (raisedIds.get(e.callId) ?? new Set()).add(e.eventId));
  }
  expect(raisedIds.size).toBe(orders.length);
  expect([...raisedIds.values()].every((ids) => ids.size === 1)).toBe(true);
  expect(new Set(urgeEvents().map((e) => e.eventId)).size).toBe([...urges.values()].reduce((a, b) => a + b, 0));
});
