// What the benches share: latency percentiles, load loops, a GraphQL client, and cleaning up after a run.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Producer } from 'kafkajs';
import { request } from 'undici';
import type { BaseConfig } from '../platform/config.ts';
import { createKafka } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { connectMongo } from '../platform/mongo.ts';

/** Progress lines go to stderr: stdout carries only a bench's figures. */
export const say = (line: string) => process.stderr.write(`${line}\n`);

/**
 * A fresh run of a bench on the local infrastructure: its id, and the environment of a service on
 * topics of the run's own (`bench.<run>.`, removed by dropRun) that logs only errors.
 */
export function benchRun(infra: { kafkaBrokers: string; mongodbUri: string }) {
  const run = randomUUID().slice(0, 8);
  const env = { KAFKA_BROKERS: infra.kafkaBrokers, MONGODB_URI: infra.mongodbUri, TOPIC_PREFIX: `bench.${run}.`, LOG_LEVEL: 'error' };
  return { run, env };
}

/** n, p50 and p99 of millisecond samples, rounded to `digits`. */
export function percentiles(samples: number[], digits = 1) {
  const sorted = [...samples].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const round = (n: number) => Number(n.toFixed(digits));
  return { n: sorted.length, p50: round(p(0.5)), p99: round(p(0.99)) };
}

/** Runs `task` `total` times with `concurrency` in flight; returns each run's milliseconds. */
export async function timed(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const start = performance.now();
        await task(i);
        samples.push(performance.now() - start);
      }
    }),
  );
  return samples;
}

/** Closed-loop load: `concurrency` clients run `task` back to back for `ms`. */
export async function sustained(ms: number, concurrency: number, task: (client: number) => Promise<void>) {
  const samples: number[] = [];
  let failures = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      while (performance.now() - began < ms) {
        const start = performance.now();
        try {
          await task(client);
          samples.push(performance.now() - start);
        } catch {
          failures++;
        }
      }
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  return { requests: samples.length + failures, requestsPerSecond: Math.round(samples.length / seconds), failures, latency_ms: percentiles(samples) };
}

/** Clock ticks a second in /proc's CPU times (USER_HZ: 100 on Linux for every architecture it runs on). */
const TICKS_PER_SECOND = 100;

/**
 * CPU milliseconds (user + system) a process and its descendants have spent so far, from
 * /proc/<pid>/stat: what its work costs, whatever else runs on the machine. 0 for a process gone.
 */
export function cpuMillis(pid: number): number {
  let ticks = 0;
  try {
    // After the command (in parentheses, may hold spaces): state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks = Number(fields[11]) + Number(fields[12]);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) ticks += (cpuMillis(Number(child)) * TICKS_PER_SECOND) / 1000;
    }
  } catch {
    // the process (or a child) has exited
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/**
 * A GraphQL request with a bearer token: its data, or an error naming the status and the first error.
 * Sent with undici's request over kept-alive connections: the load generator shares the machine with
 * what it measures, and Node's fetch costs it about twice the CPU.
 */
export async function graphql(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.body.json()) as { data?: unknown; errors?: Array<{ message: string }> };
  if (response.statusCode !== 200 || body.errors?.length) throw new Error(`${response.statusCode} ${body.errors?.[0]?.message ?? JSON.stringify(body)}`);
  return body.data;
}

/** Removes what a bench run made: its databases and every topic under its prefix. */
export async function dropRun(config: BaseConfig, databases: string[]): Promise<void> {
  for (const name of databases) {
    const conn = await connectMongo(config, name);
    await conn.dropDatabase();
    await conn.close();
  }
  const admin = createKafka(config, 'bench-cleanup', createLogger('bench', 'error')).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => config.TOPIC_PREFIX && t.startsWith(config.TOPIC_PREFIX));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Sends `count` 12345 create-call intake commands to `topic`, 500 a batch, keyed `hotline:<prefix>-<i>`
 * as the hotline connector keys them; `call(i)` gives each call's fields.
 */
export async function sendHotlineCalls(producer: Producer, topic: string, count: number, prefix: string, call: (i: number) => Record<string, unknown>): Promise<void> {
  for (let batch = 0; batch < count; batch += 500) {
    await producer.send({
      topic,
      messages: Array.from({ length: Math.min(500, count - batch) }, (_, k) => {
        const i = batch + k;
        const externalId = `${prefix}-${i}`;
        const command = { commandId: randomUUID(), source: 'hotline', externalId, kind: 'create_call', occurredAt: new Date().toISOString(), call: call(i) };
        return { key: `hotline:${externalId}`, value: JSON.stringify(command) };
      }),
    });
  }
}
