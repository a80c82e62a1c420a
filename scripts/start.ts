// `npm start`: the local infrastructure, every hub service (with demo data loaded once), and the
// gateway URL. Everything it started is supervised (scripts/supervisor.ts): a service or local
// Kafka/FerretDB that dies is restarted with backoff, each restart logged. Ctrl-C stops the services
// gracefully, then the infrastructure this command started; a second Ctrl-C kills what still runs.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PLACE, launch, startedPid, stopPid, up } from '../infra/local.ts';
import { SERVICES } from './services.ts';
import { childProcess, detachedProcess, Supervisor } from './supervisor.ts';

const began = performance.now();
const say = (line: string) => console.log(`[huying] ${line}`);
const logDir = join(process.cwd(), '.data', 'logs');
mkdirSync(logDir, { recursive: true });

const supervisor = new Supervisor(say);
let stopping: number | undefined;
// Ctrl-C reaches every process of the terminal's group, and tsx passes it on once more: the first
// signal stops everything gracefully; one more, a second or later, kills what is still stopping.
const onSignal = () => {
  if (stopping !== undefined) {
    if (Date.now() - stopping > 1000) void supervisor.stopAll();
    return;
  }
  stopping = Date.now();
  say('stopping…');
  void supervisor.stopAll().then(() => process.exit(0));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const infra = await up(say);
const env = {
  ...process.env,
  KAFKA_BROKERS: infra.kafkaBrokers,
  MONGODB_URI: infra.mongodbUri,
  APOLLO_TELEMETRY_DISABLED: '1',
  // Each subgraph loads its part of the demo district into an empty database.
  DEMO_DATA: process.env.DEMO_DATA ?? '1',
};
// Only what this command started is watched (and stopped): a Kafka or FerretDB it reused is not its own.
for (const name of infra.started) {
  const local = detachedProcess({ name, pid: startedPid(name), start: () => launch(name, DEFAULT_PLACE, say), stop: stopPid });
  await supervisor.add(local, true);
}

function tail(name: string): string {
  return readFileSync(join(logDir, `${name}.log`), 'utf8')
    .split('\n')
    .slice(-15)
    .join('\n');
}

async function waitReady(name: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${name} exited (${child.signalCode ?? `code ${child.exitCode}`}):\n${tail(name)}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} was not ready within 120 s:\n${tail(name)}`);
}

try {
  for (const [name, entry] of Object.entries(SERVICES)) {
    const service = childProcess({
      name,
      spawnIt: () => {
        const log = openSync(join(logDir, `${name}.log`), 'a');
        return spawn(process.execPath, ['--import', 'tsx', 'scripts/service.ts', name], {
          env: { ...env, PORT: String(entry.port) },
          stdio: ['ignore', log, log],
        });
      },
      ready: (child) => waitReady(name, entry.port, child),
    });
    // Subgraphs first: the gateway composes them, so each must answer before the next starts.
    await supervisor.add(service);
    say(`${name} ready on http://127.0.0.1:${entry.port}${entry.endpoint ?? '/graphql'}`);
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  await supervisor.stopAll();
  process.exit(1);
}

const seconds = ((performance.now() - began) / 1000).toFixed(1);
say(`ready in ${seconds} s; logs in .data/logs/ (a service or local Kafka/FerretDB that dies is restarted and logged here)`);
if (SERVICES.gateway) {
  say(
    `gateway: http://127.0.0.1:${SERVICES.gateway.port}/graphql  (a token: npm run token -- --unit <id> --role <role>)`,
  );
  const pages = `http://127.0.0.1:${SERVICES.gateway.port}`;
  say(`big screen (指挥大屏): ${pages}/screen   workbench (工作台): ${pages}/workbench   (sign in by picking a demo unit and role)`);
}
say('press Ctrl-C to stop');
