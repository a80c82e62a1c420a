// `npm run bench:audit`: what the audit record (#18) costs. Prints one JSON line:
// - Ed25519 records signed and verified per second (call-event values as the hub publishes them), and
//   timeline entries chained per second (canonical JSON + SHA-256);
// - raise-call latency through the calls subgraph's GraphQL endpoint, and the time from the request
//   to its signed event on hub.call-events, with signing and without (the same service, its outbox
//   publisher's signer taken away for every other request, so the machine's drift hits both alike).
//   The timeline's hash chain is on in both: it is part of the record, not of signing.
import { demoUnits } from '../demo/district.ts';
import { up } from '../infra/local.ts';
import { mintToken } from '../platform/auth.ts';
import { loadConfig } from '../platform/config.ts';
import { createKafka } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { linkHash } from '../platform/audit/record-chain.ts';
import { hubVerifierFrom, signerFrom } from '../platform/audit/signing.ts';
import { callsConfig, startCalls } from '../subgraphs/calls/app.ts';
import { timelineContent } from '../subgraphs/calls/timeline-chain.ts';
import { benchRun, dropRun, graphql, percentiles, say } from './stats.ts';

const RECORDS = Number(process.env.BENCH_SIGN_RECORDS ?? 5000);
const RAISES = Number(process.env.BENCH_RAISES ?? 200);

const infra = await up(say);
const { run, env: runEnv } = benchRun(infra);
const config = loadConfig(callsConfig, { ...runEnv, CALLS_DB: `bench_audit_${run}`, PORT: '0', SUPERVISION_INTERVAL_MS: '3600000', AUDIT_CHECKPOINT_INTERVAL_MS: '0' });
const app = await startCalls(config);
const url = `${app.url}/graphql`;
const grid = demoUnits().find((u) => u.id === 'changzhou-c1-g1');
const token = await mintToken({ subject: 'bench-audit', unitId: 'changzhou-c1-g1', role: 'grid_worker' });
const raise = (i: number) =>
  graphql(url, token, 'mutation($input: RaiseCallInput!) { raiseCall(input: $input) { call { id } } }', {
    input: { title: `占道经营 ${i}`, description: `地铁站出口流动摊贩占道经营，第${i}次上报，行人通行困难。`, category: '城市管理', location: { lng: (grid?.bbox?.[0] ?? 113.4) + 0.001, lat: (grid?.bbox?.[1] ?? 23.06) + 0.001 } },
  }) as Promise<{ raiseCall: { call: { id: string } } }>;

// When each call's first event arrives on hub.call-events.
const arrived = new Map<string, number>();
const waiting = new Map<string, () => void>();
const kafka = createKafka(config, 'bench-audit', createLogger('bench', 'error'));
const consumer = kafka.consumer({ groupId: `bench.${run}.audit` });
await consumer.connect();
await consumer.subscribe({ topics: [app.topics.callEvents], fromBeginning: true });
await consumer.run({
  eachMessage: async ({ message }) => {
    const id = message.key?.toString() ?? '';
    if (!arrived.has(id)) arrived.set(id, performance.now());
    waiting.get(id)?.();
  },
});
const eventOf = (id: string) => (arrived.has(id) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(id, resolve)));

await raise(-1); // warm up (connections, JIT)
// The outbox publisher's signer, taken away for the unsigned rounds only (bench, not configuration).
const publisher = app.callPublisher as unknown as { options: { signer?: unknown } };
const signer = publisher.options.signer;
const samples = { signed: { raise: [] as number[], event: [] as number[] }, unsigned: { raise: [] as number[], event: [] as number[] } };
for (let i = 0; i < RAISES; i++) {
  const mode = i % 2 === 0 ? 'signed' : 'unsigned';
  publisher.options.signer = mode === 'signed' ? signer : undefined;
  const start = performance.now();
  const id = (await raise(i)).raiseCall.call.id;
  samples[mode].raise.push(performance.now() - start);
  await eventOf(id);
  samples[mode].event.push((arrived.get(id) as number) - start);
}
publisher.options.signer = signer;
const stored = await app.models.Call.findOne({}).lean();
const sample = Buffer.from(JSON.stringify({ eventId: 'x', type: 'call.raised', callId: stored?._id, sequence: 1, call: stored }));

// Signing and verifying alone, on a call-event-sized value.
const hubSigner = signerFrom(config);
const verifier = hubVerifierFrom(config);
const topic = app.topics.callEvents;
const headers: Array<Record<string, string>> = [];
let began = performance.now();
for (let i = 0; i < RECORDS; i++) headers.push(hubSigner.headers(topic, `C${i}`, sample));
const signPerSecond = RECORDS / ((performance.now() - began) / 1000);
began = performance.now();
let valid = 0;
for (let i = 0; i < RECORDS; i++) if (verifier.check(topic, `C${i}`, sample, headers[i]).status === 'valid') valid++;
const verifyPerSecond = RECORDS / ((performance.now() - began) / 1000);
const entry = stored?.timeline[0];
began = performance.now();
let prev = '0'.repeat(64);
for (let i = 0; i < RECORDS && entry; i++) prev = linkHash(prev, timelineContent(entry));
const chainPerSecond = RECORDS / ((performance.now() - began) / 1000);

const p = (list: number[]) => percentiles(list, 2);
const result = {
  bench: 'audit',
  records: RECORDS,
  value_bytes: sample.length,
  signed_per_s: Math.round(signPerSecond),
  verified_per_s: Math.round(verifyPerSecond),
  verified_valid: valid,
  timeline_entries_chained_per_s: Math.round(chainPerSecond),
  raise_call_ms: { signed: p(samples.signed.raise), unsigned: p(samples.unsigned.raise) },
  raise_to_event_ms: { signed: p(samples.signed.event), unsigned: p(samples.unsigned.event) },
  // The CPU time signing adds to each published record, from the rate above.
  sign_ms_per_record: Number((1000 / signPerSecond).toFixed(3)),
  added_p50_ms: {
    raise_call: Number((p(samples.signed.raise).p50 - p(samples.unsigned.raise).p50).toFixed(2)),
    raise_to_event: Number((p(samples.signed.event).p50 - p(samples.unsigned.event).p50).toFixed(2)),
  },
};
console.log(JSON.stringify(result));
await consumer.disconnect();
await app.service.shutdown('bench done');
await dropRun(config, [config.CALLS_DB]);
process.exit(0);
