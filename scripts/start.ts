// `npm start`: the local infrastructure, every hub service (with demo data loaded once), and the
// gateway URL. Ctrl-C stops the services gracefully, then the infrastructure this command started.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { down, up } from '../infra/local.ts';
import { SERVICES } from './services.ts';

const began = performance.now();
const say = (line: string) => console.log(`[huying] ${line}`);
const logDir = join(process.cwd(), '.data', 'logs');
mkdirSync(logDir, { recursive: true });

const infra = await up(say);
const env = {
  ...process.env,
  KAFKA_BROKERS: infra.kafkaBrokers,
  MONGODB_URI: infra.mongodbUri,
  APOLLO_TELEMETRY_DISABLED: '1',
  // Each subgraph loads its part of the demo district into an empty database.
  DEMO_DATA: process.env.DEMO_DATA ?? '1',
};

const children = new Map<string, ChildProcess>();
let stopping = false;

async function stopAll(code: number): Promise<never> {
  stopping = true;
  say('stopping services…');
  await Promise.all(
    [...children.values()].map(async (child) => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }),
  );
  if (infra.started.length > 0) await down(say, infra.started);
  process.exit(code);
}
// Ctrl-C reaches every process of the terminal's group, and tsx passes it on once more: the first
// signal starts the shutdown, later ones must not cut it short.
const onSignal = () => {
  if (!stopping) void stopAll(0);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

function tail(name: string): string {
  return readFileSync(join(logDir, `${name}.log`), 'utf8')
    .split('\n')
    .slice(-15)
    .join('\n');
}

async function waitReady(name: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with code ${child.exitCode}:\n${tail(name)}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} was not ready within 120 s:\n${tail(name)}`);
}

const names = Object.keys(SERVICES);
if (names.length === 0) say('no hub services are registered yet (scripts/services.ts); infrastructure only');
try {
  for (const [name, entry] of Object.entries(SERVICES)) {
    const log = openSync(join(logDir, `${name}.log`), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/service.ts', name], {
      env: { ...env, PORT: String(entry.port) },
      stdio: ['ignore', log, log],
    });
    children.set(name, child);
    child.on('exit', (code) => {
      if (!stopping) say(`${name} exited unexpectedly (code ${code}); see .data/logs/${name}.log`);
    });
    // Subgraphs first: the gateway composes them, so each must answer before the next starts.
    await waitReady(name, entry.port, child);
    say(`${name} ready on http://127.0.0.1:${entry.port}${entry.endpoint ?? '/graphql'}`);
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  await stopAll(1);
}

const seconds = ((performance.now() - began) / 1000).toFixed(1);
say(`ready in ${seconds} s; logs in .data/logs/`);
if (SERVICES.gateway) {
  say(
    `gateway: http://127.0.0.1:${SERVICES.gateway.port}/graphql  (a token: npm run token -- --unit <id> --role <role>)`,
  );
  const pages = `http://127.0.0.1:${SERVICES.gateway.port}`;
  say(`big screen (指挥大屏): ${pages}/screen   workbench (工作台): ${pages}/workbench   (sign in by picking a demo unit and role)`);
}
say('press Ctrl-C to stop');
