// Graceful shutdown as production runs it: real processes (`scripts/service.ts`) with NODE_ENV=production,
// sent SIGTERM. Apollo Server's own signal handler used to re-raise the signal about 20 ms in, so the
// gateway died mid-request, its consumer never left its group and "stopped" was never logged; tests
// running with NODE_ENV=test never saw it. Also: the gateway is not ready while no calls subgraph
// answers, and the calls subgraph listens before it joins its intake group.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { createKafka, topicName } from '../platform/kafka.ts';
import { createLogger } from '../platform/logger.ts';
import { testScope } from './support/isolation.ts';
import { waitFor } from './support/wait.ts';
import { freePort } from '../infra/local.ts';

const scope = testScope('shutdown');
const admin = createKafka(scope.config, 'test-shutdown', createLogger('test', 'warn')).admin();
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await admin.disconnect();
  await scope.cleanup();
});

/** A hub service as production runs it, its JSON log lines collected. */
function start(name: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/service.ts', name], {
    env: {
      ...process.env,
      ...scope.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      PORT: '0',
      // Any free port: PORT + 5000 (the default) may be taken by another file's process.
      METRICS_PORT: '0',
      JWT_SECRET: 'shutdown-test-secret-0123456789',
      PERSONAL_DATA_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
      // Production requires the hub's own record-signing key (platform/audit/signing.ts).
      RECORD_SIGNING_KEY: `t1:${Buffer.alloc(32, 9).toString('base64')}`,
      CALLS_DB: scope.dbName,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Array<{ msg?: string; address?: string; reason?: string }> = [];
  let rest = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString();
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as (typeof lines)[number]);
      } catch {
        // not a log line
      }
    }
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logged = (msg: string) => lines.find((l) => l.msg === msg);
  const address = () =>
    waitFor(`${name} listening`, () => {
      if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}): ${stderr}`);
      return logged(`${name} listening`)?.address;
    });
  return { child, exited, logged, address };
}

const members = async (groupId: string) => (await admin.describeGroups([groupId])).groups[0]?.members.length ?? 0;

it('stops gracefully on SIGTERM under NODE_ENV=production: "stopped" logged, consumers out of their groups; the gateway is unready without calls', async () => {
  await admin.connect();
  // Side by side: the gateway is told where calls will listen.
  const callsPort = await freePort();
  const calls = start('calls', { PORT: String(callsPort) });
  const gateway = start('gateway', { CALLS_URL: `http://127.0.0.1:${callsPort}/graphql` });
  const [, gatewayUrl] = await Promise.all([calls.address(), gateway.address()]);
  const intakeGroup = topicName(scope.config, 'calls-intake');
  await waitFor('calls in its intake group', async () => ((await members(intakeGroup)) === 1 ? true : undefined));
  const gatewayGroups = async () => (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(topicName(scope.config, 'gateway-')));
  const eventGroup = (await gatewayGroups()).find((id) => id.includes('gateway-events-'));
  expect(eventGroup).toBeDefined();
  expect(await members(eventGroup as string)).toBe(1);
  expect((await fetch(`${gatewayUrl}/readyz`)).status).toBe(200);

  calls.child.kill('SIGTERM');
  expect(await calls.exited).toBe(0);
  expect(calls.logged('calls shutting down')?.reason).toBe('SIGTERM');
  expect(calls.logged('calls stopped')).toBeDefined();
  expect(await members(intakeGroup)).toBe(0);

  // No calls subgraph answers: the gateway says it is not ready, naming why.
  const unready = await fetch(`${gatewayUrl}/readyz`);
  expect(unready.status).toBe(503);
  expect(((await unready.json()) as { checks: Record<string, string> }).checks.calls).toMatch(/^failed/);

  gateway.child.kill('SIGTERM');
  expect(await gateway.exited).toBe(0);
  expect(gateway.logged('gateway stopped')).toBeDefined();
  // Its own groups (events, units) left and deleted: nothing lingers as lag.
  expect(await gatewayGroups()).toEqual([]);
});
