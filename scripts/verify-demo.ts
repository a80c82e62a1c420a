// `npm run verify:demo`: the demo's whole history replayed and verified end to end. Starts the calls
// subgraph on the local infrastructure with the demo district (DEMO_DATA=1) on topics and a database of
// its own, waits until every demo event is published (signed) and read by the checkpoint publisher,
// publishes the checkpoints, then verifies every call's chain, every event's signature and inclusion
// and every checkpoint (as `npm run verify` does), prints the summary as JSON and removes what it made.
import { up } from '../infra/local.ts';
import { loadConfig } from '../platform/config.ts';
import { createKafka } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { hubVerifierFrom } from '../platform/audit/signing.ts';
import { callsConfig, startCalls } from '../subgraphs/calls/app.ts';
import { audit } from '../subgraphs/calls/audit.ts';
import { benchRun, dropRun, say } from '../bench/stats.ts';

const infra = await up(say);
const { run, env } = benchRun(infra);
const config = loadConfig(callsConfig, { ...env, CALLS_DB: `verify_demo_${run}`, PORT: '0', DEMO_DATA: '1', OUTBOX_SWEEP_MS: '200', AUDIT_CHECKPOINT_INTERVAL_MS: '3600000', SUPERVISION_INTERVAL_MS: '3600000' });
const began = performance.now();
const app = await startCalls(config);
say(`demo loaded in ${Math.round(performance.now() - began)} ms`);
const kafka = createKafka(config, 'verify-demo', createLogger('verify', 'error'));
const until = async (what: string, probe: () => Promise<boolean>) => {
  say(`waiting for ${what}`);
  for (let waited = 0; !(await probe()); waited += 500) {
    if (waited > 300_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
};
try {
  await until('every demo event published', async () => (await app.models.Call.countDocuments({ outboxPending: true })) === 0);
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, bigint>();
  for (const topic of [app.topics.callEvents, app.topics.hotlineFeedback, app.topics.petitionFeedback]) {
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) if (BigInt(high) > 0n) ends.set(`${topic}#${partition}`, BigInt(high));
  }
  await admin.disconnect();
  const checkpoints = app.checkpoints;
  if (!checkpoints) throw new Error('no checkpoint publisher');
  await until('the checkpointer to read every event', async () => [...ends].every(([log, end]) => (checkpoints.coverage().get(log) ?? 0n) >= end));
  const published = await checkpoints.checkpoint();
  say(`${published.length} checkpoints published; verifying`);
  const report = await audit({
    kafka,
    calls: app.models.Call,
    topics: { callEvents: app.topics.callEvents, feedback: [app.topics.hotlineFeedback, app.topics.petitionFeedback], checkpoints: app.topics.checkpoints },
    verifier: hubVerifierFrom(config),
    groupPrefix: config.TOPIC_PREFIX,
  });
  const sum = (f: (c: (typeof report.calls)[number]) => number) => report.calls.reduce((n, c) => n + f(c), 0);
  console.log(
    JSON.stringify({
      verify: 'demo',
      ok: report.ok,
      calls: report.calls.length,
      intact: report.calls.filter((c) => c.chain === 'INTACT').length,
      timeline_entries: sum((c) => c.entries),
      events: sum((c) => c.events),
      events_proven_in_checkpoint: sum((c) => c.included),
      records_signed_valid: report.logs.reduce((n, l) => n + l.signatures.valid, 0),
      checkpoints: published.length,
      findings: report.findings.slice(0, 5),
      seconds: Math.round((performance.now() - began) / 100) / 10,
    }),
  );
  process.exitCode = report.ok ? 0 : 1;
} finally {
  await app.service.shutdown('verify done');
  await dropRun(config, [config.CALLS_DB]);
}
process.exit();
