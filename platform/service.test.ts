// The service runtime against the real local Kafka and FerretDB: probes, metrics and graceful shutdown.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testScope } from '../test/support/isolation.ts';
import { waitFor } from '../test/support/wait.ts';
import { baseConfig, loadConfig } from './config.ts';
import { createKafka, ensureTopics, kafkaReadiness, topicName } from './kafka.ts';
import { createLogger } from './logger.ts';
import { connectMongo, mongoReadiness } from './mongo.ts';
import { clientRequestId, Service } from './service.ts';

const scope = testScope('service');
const logger = createLogger('test', 'silent');

afterAll(() => scope.cleanup());

describe('service probes', () => {
  it('is healthy at once, ready only while Kafka and the database answer, and exposes metrics', async () => {
    const config = { ...scope.config, PORT: 0 };
    const service = new Service({ name: 'probe-test', config, logger });
    const conn = await connectMongo(config, scope.dbName);
    const admin = createKafka(config, 'probe-test', logger).admin();
    await admin.connect();
    service.onShutdown('mongodb', () => conn.close());
    service.onShutdown('kafka', () => admin.disconnect());
    service.addReadinessCheck('kafka', kafkaReadiness(admin));
    service.addReadinessCheck('mongodb', mongoReadiness(conn));
    const base = await service.listen();

    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok', service: 'probe-test' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { kafka: 'ok', mongodb: 'ok' } });

    // Metrics answer on their own loopback port, not on the service's.
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect(service.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const metrics = await (await fetch(`${service.metricsUrl}/metrics`)).text();
    expect(metrics).toContain('huying_http_request_duration_seconds_bucket');
    expect(metrics).toContain('service="probe-test"');
    expect(metrics).toContain('route="/readyz"');

    await service.shutdown('test');
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('is not ready, and says which dependency fails, when the broker does not answer', async () => {
    const config = { ...loadConfig(baseConfig, { ...scope.env, KAFKA_BROKERS: '127.0.0.1:1' }), PORT: 0 };
    const service = new Service({ name: 'probe-test', config, logger, readinessTimeoutMs: 500 });
    const admin = createKafka(config, 'probe-test', logger).admin();
    service.addReadinessCheck('kafka', kafkaReadiness(admin));
    const base = await service.listen();
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { checks: Record<string, string> };
    expect(body.checks.kafka).toMatch(/^failed: /);
    await service.shutdown('test');
  });
});

describe('request ids', () => {
  /** A service whose route answers with its request id, logging into `lines`. */
  async function echoService(adoptRequestId?: boolean) {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger('id-test', 'info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const service = new Service({ name: 'id-test', config: { ...scope.config, PORT: 0 }, logger, ...(adoptRequestId === undefined ? {} : { adoptRequestId }) });
    service.app.get('/echo', async (request) => {
      request.log.info('echo');
      return { id: request.id };
    });
    return { service, lines, base: await service.listen() };
  }
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it('never takes a client-chosen x-request-id as its own; logs it beside, sanitized and at most 64 characters', async () => {
    const { service, lines, base } = await echoService(false);
    try {
      const chosen = `forged-id"} <script>${'x'.repeat(100)}`;
      const { id } = (await (await fetch(`${base}/echo`, { headers: { 'x-request-id': chosen } })).json()) as { id: string };
      expect(id).toMatch(UUID);
      const echo = lines.find((l) => l.msg === 'echo');
      expect(echo).toMatchObject({ reqId: id, clientRequestId: `forged-idscript${'x'.repeat(49)}` });
      // The gateway's own UUID-shaped ids are not taken from a client either.
      const uuid = '0b8e4c2a-1f3d-4e5a-9b6c-7d8e9f0a1b2c';
      expect(((await (await fetch(`${base}/echo`, { headers: { 'x-request-id': uuid } })).json()) as { id: string }).id).not.toBe(uuid);
    } finally {
      await service.shutdown('test');
    }
  });

  it('behind the gateway, adopts the gateway’s UUID so both log under one id, and nothing else', async () => {
    const { service, base } = await echoService();
    try {
      const uuid = '0b8e4c2a-1f3d-4e5a-9b6c-7d8e9f0a1b2c';
      expect(((await (await fetch(`${base}/echo`, { headers: { 'x-request-id': uuid } })).json()) as { id: string }).id).toBe(uuid);
      const other = ((await (await fetch(`${base}/echo`, { headers: { 'x-request-id': 'admin-says-so' } })).json()) as { id: string }).id;
      expect(other).toMatch(UUID);
    } finally {
      await service.shutdown('test');
    }
  });

  it('sanitizes a client id to letters, digits and ._:- (nothing left: not logged)', () => {
    expect(clientRequestId('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    expect(clientRequestId('\u0000\n\r')).toBeUndefined();
    expect(clientRequestId(undefined)).toBeUndefined();
  });
});

describe('graceful shutdown on SIGTERM', () => {
  let child: ChildProcess | undefined;
  const topic = topicName(scope.config, 'hub.smoke');
  const kafka = createKafka(scope.config, 'shutdown-test', logger);
  const admin = kafka.admin();

  beforeAll(async () => {
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 2 }]);
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await admin.disconnect();
  });

  it('finishes the batch in flight, commits exactly what it stored, and exits 0', async () => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 400 }, (_, i) => ({ key: `k${i % 7}`, value: `record ${i}` })),
    });
    await producer.disconnect();

    const relayDb = `${scope.dbName}_relay`;
    child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/relay-service.ts'], {
      env: { ...process.env, ...scope.env, PORT: '0', RELAY_DB: relayDb },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });

    const conn = await connectMongo(scope.config, relayDb);
    const relayed = async () => {
      if (child?.exitCode !== null) throw new Error(`relay service exited early:\n${stderr}`);
      return (await conn.db?.collection('relayeds').countDocuments()) ?? 0;
    };
    // Wait until it is part-way through the topic, then ask it to stop.
    await waitFor('records to be relayed', async () => ((await relayed()) >= 20 ? true : undefined));
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, stderr).toBe(0);

    const stored = (await conn.db?.collection('relayeds').countDocuments()) ?? 0;
    expect(stored).toBeGreaterThanOrEqual(20);
    expect(stored).toBeLessThan(400);
    const offsets = await admin.fetchOffsets({ groupId: topicName(scope.config, 'relay'), topics: [topic] });
    const committed = offsets[0]?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    // Everything stored is committed, and nothing is committed that was not stored.
    expect(committed).toBe(stored);
    await conn.dropDatabase();
    await conn.close();
  });
});
