// `npm run verify -- [--call <id>] [--topic <name>] [--since <ISO date>] [--json]` checks the audit
// record (README "Tamper-evident record"): the stored timelines' hash chains, the signatures of the
// records on hub.call-events and the feedback topics, and the checkpoints (signature, root, consistency
// with the previous one, each event's inclusion). With no option it checks everything. It prints a
// summary and every finding at its exact place, the first break first, and exits 1 when there is one.
// `npm run verify -- --new-key <id>` prints a new Ed25519 signing key and its public half.
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { baseConfig, loadConfig } from '../platform/config.ts';
import { createKafka, topicName } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { connectMongo } from '../platform/mongo.ts';
import { hubVerifierFrom, rawPublicKey, signingConfig } from '../platform/audit/signing.ts';
import { TOPICS } from '../platform/topics.ts';
import { audit } from '../subgraphs/calls/audit.ts';
import { callsModels } from '../subgraphs/calls/model.ts';

const { values } = parseArgs({
  options: {
    call: { type: 'string' },
    topic: { type: 'string' },
    since: { type: 'string' },
    json: { type: 'boolean', default: false },
    'new-key': { type: 'string' },
  },
});
const fail = (message: string) => {
  console.error(`${message}\nusage: npm run verify -- [--call <id>] [--topic <name>] [--since <ISO date>] [--json] | --new-key <id>`);
  process.exit(2);
};

if (values['new-key']) {
  const id = values['new-key'];
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(id)) fail(`--new-key ${id}: a key id is a letter then up to 31 letters, digits, "_" or "-"`);
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32).toString('base64');
  console.log(`RECORD_SIGNING_KEY=${id}:${seed}`);
  console.log(`# its public half, for RECORD_VERIFY_KEYS once it is retired (and for the source systems):`);
  console.log(`${id}:${rawPublicKey(privateKey)}`);
  process.exit(0);
}

const config = loadConfig(baseConfig.extend({ ...signingConfig.shape, CALLS_DB: z.string().default('huying_calls') }));
const since = values.since ? new Date(values.since) : undefined;
if (since && Number.isNaN(since.getTime())) fail(`--since ${values.since}: expected an ISO 8601 date, e.g. 2026-06-01T00:00:00+08:00`);
const topics = {
  callEvents: topicName(config, TOPICS.callEvents),
  feedback: [topicName(config, TOPICS.hotlineFeedback), topicName(config, TOPICS.petitionFeedback)],
  checkpoints: topicName(config, TOPICS.checkpoints),
};
const audited = [topics.callEvents, ...topics.feedback];
const topic = values.topic ? (values.topic.startsWith(config.TOPIC_PREFIX) ? values.topic : topicName(config, values.topic)) : undefined;
if (topic && !audited.includes(topic)) fail(`--topic ${values.topic}: audited topics are ${audited.join(', ')}`);

const logger = createLogger('verify', 'warn');
const conn = await connectMongo(config, config.CALLS_DB);
const kafka = createKafka(config, 'verify', logger);
try {
  const { Call } = await callsModels(conn);
  const report = await audit({ kafka, calls: Call, topics, verifier: hubVerifierFrom(config), callId: values.call, topic, since, groupPrefix: config.TOPIC_PREFIX });
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    const chains = report.calls.reduce<Record<string, number>>((n, c) => ({ ...n, [c.chain]: (n[c.chain] ?? 0) + 1 }), {});
    const events = report.calls.reduce((n, c) => n + c.events, 0);
    const included = report.calls.reduce((n, c) => n + c.included, 0);
    console.log(`calls: ${report.calls.length} (${Object.entries(chains).map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}), their events: ${events}, proven in a checkpoint: ${included}`);
    for (const log of report.logs) {
      console.log(`${log.log}: ${log.records} records, ${log.checked} checked (${log.signatures.valid} signed), ${log.checkpoints} checkpoints, ${log.uncheckpointed} not yet checkpointed`);
    }
    if (report.ok) console.log('OK: the record verifies');
    else {
      console.log(`BROKEN: ${report.findings.length} finding(s); the first break:`);
      for (const f of report.findings) {
        console.log('callId' in f ? `  call ${f.callId} ${f.at}: ${f.reason}: ${f.detail}` : `  ${f.topic} partition ${f.partition} offset ${f.offset}: ${f.reason}: ${f.detail}`);
      }
    }
  }
  process.exitCode = report.ok ? 0 : 1;
} finally {
  await conn.close();
}
