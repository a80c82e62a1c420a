// The local, Docker-free infrastructure: one Apache Kafka 3.9 node (KRaft) and FerretDB 1.24 on SQLite.
// Binaries are fetched once into a cache outside the work tree (Kafka jars through Maven, FerretDB built
// with Go); data, logs and pid files live in the repo's ignored `.data/`.
// Services never import this file: they only read KAFKA_BROKERS and MONGODB_URI.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import mongoose from 'mongoose';

export const KAFKA_VERSION = '3.9.1';
export const FERRETDB_VERSION = '1.24.2';
export const DEFAULT_KAFKA_BROKERS = '127.0.0.1:9092';
export const DEFAULT_MONGODB_URI = 'mongodb://127.0.0.1:27017';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = process.env.HUYING_CACHE ?? join(homedir(), '.cache', 'huying');
const dataDir = join(repoRoot, '.data');
const kafkaLibs = join(cacheDir, `kafka-${KAFKA_VERSION}`, 'libs');
// The binary's name carries a hash of its source, so a change to infra/ferretdb rebuilds it.
const ferretDir = join(repoRoot, 'infra/ferretdb');
const ferretSource = readdirSync(ferretDir)
  .filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum')
  .sort()
  .map((f) => readFileSync(join(ferretDir, f)));
const ferretBinary = join(
  cacheDir,
  'bin',
  `ferretdb-${FERRETDB_VERSION}-${createHash('sha256').update(Buffer.concat(ferretSource)).digest('hex').slice(0, 12)}`,
);

export type Say = (line: string) => void;

/** Resolve the broker's jars from Maven Central into the cache, once. */
export function installKafka(say: Say): void {
  if (existsSync(join(kafkaLibs, `kafka_2.13-${KAFKA_VERSION}.jar`))) return;
  say(`installing Apache Kafka ${KAFKA_VERSION} jars into ${kafkaLibs} (mvn)`);
  execFileSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(repoRoot, 'infra/kafka/pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${kafkaLibs}`,
      '-DincludeScope=runtime',
    ],
    { stdio: 'inherit' },
  );
}

/** Build the FerretDB server (infra/ferretdb, pinned by its go.mod) into the cache, once. */
export function installFerretDB(say: Say): void {
  if (existsSync(ferretBinary)) return;
  say(`building FerretDB ${FERRETDB_VERSION} into ${ferretBinary} (go build)`);
  mkdirSync(dirname(ferretBinary), { recursive: true });
  execFileSync('go', ['build', '-o', ferretBinary, '.'], {
    cwd: join(repoRoot, 'infra/ferretdb'),
    stdio: 'inherit',
    env: { ...process.env, CGO_ENABLED: '0' },
  });
}

/** True when a Kafka broker answers a metadata request at `brokers`. */
export async function kafkaAnswers(brokers: string, timeoutMs = 1500): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'huying-infra-probe',
    brokers: brokers.split(','),
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** True when a MongoDB-protocol server answers `ping` at `uri`. */
export async function mongoAnswers(uri: string, timeoutMs = 1500): Promise<boolean> {
  const conn = mongoose.createConnection(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
  });
  try {
    await conn.asPromise();
    await conn.db?.admin().ping();
    return true;
  } catch {
    return false;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
  throw new Error(`${what} did not answer within ${timeoutMs / 1000}s; last lines of ${logFile}:\n${tail}`);
}

function pidFile(name: string, root = dataDir) {
  return join(root, `${name}.pid`);
}

function startDetached(name: string, command: string, args: string[], root = dataDir): number {
  mkdirSync(join(root, 'logs'), { recursive: true });
  const out = openSync(join(root, 'logs', `${name}.log`), 'a');
  const child = spawn(command, args, { cwd: repoRoot, detached: true, stdio: ['ignore', out, out] });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  writeFileSync(pidFile(name, root), String(child.pid));
  child.unref();
  return child.pid;
}

/** Where a local Kafka and FerretDB keep their data and listen: the shared pair, or a drill's own. */
export interface LocalPlace {
  dataDir: string;
  kafkaPort: number;
  controllerPort: number;
  mongoPort: number;
}

export const DEFAULT_PLACE: LocalPlace = { dataDir, kafkaPort: 9092, controllerPort: 9093, mongoPort: 27017 };

function kafkaProperties(dir: string, place: LocalPlace = DEFAULT_PLACE): string {
  // One node that is both broker and controller. Replication factors of 1 and no initial rebalance
  // delay keep a single-node cluster quick; topics are created by the services, never implicitly.
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${place.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${place.kafkaPort},CONTROLLER://127.0.0.1:${place.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${place.kafkaPort}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${join(dir, 'logs')}`,
    'num.partitions=3',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=168',
    'log.segment.bytes=67108864',
    '',
  ].join('\n');
}

async function startKafka(say: Say): Promise<boolean> {
  if (await kafkaAnswers(DEFAULT_KAFKA_BROKERS)) {
    say(`Kafka already answers at ${DEFAULT_KAFKA_BROKERS}; reusing it`);
    return false;
  }
  say(`starting Apache Kafka ${KAFKA_VERSION} (KRaft) at ${DEFAULT_KAFKA_BROKERS}`);
  launchKafka(DEFAULT_PLACE, say);
  return true;
}

/** Starts a Kafka node at `place` (formatting its storage the first time); returns its process id. */
function launchKafka(place: LocalPlace, say: Say): number {
  installKafka(say);
  const dir = join(place.dataDir, 'kafka');
  mkdirSync(dir, { recursive: true });
  const props = join(dir, 'server.properties');
  writeFileSync(props, kafkaProperties(dir, place));
  const log4j = join(repoRoot, 'infra/kafka/log4j.properties');
  const java = ['-Xms256m', '-Xmx768m', `-Dlog4j.configuration=file:${log4j}`, '-cp', join(kafkaLibs, '*')];
  if (!existsSync(join(dir, 'logs', 'meta.properties'))) {
    say('formatting Kafka storage (first start)');
    execFileSync(
      'java',
      [
        ...java,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        randomUUID().replaceAll('-', '').slice(0, 22),
        '-c',
        props,
      ],
      { stdio: 'ignore' },
    );
  }
  return startDetached('kafka', 'java', [...java, 'kafka.Kafka', props], place.dataDir);
}

async function startFerretDB(say: Say): Promise<boolean> {
  if (await mongoAnswers(DEFAULT_MONGODB_URI)) {
    say(`FerretDB/MongoDB already answers at ${DEFAULT_MONGODB_URI}; reusing it`);
    return false;
  }
  say(`starting FerretDB ${FERRETDB_VERSION} (SQLite) at ${DEFAULT_MONGODB_URI}`);
  launchFerretDB(DEFAULT_PLACE, say);
  return true;
}

/**
 * SQLite files FerretDB created but stopped before it wrote a table into (one page, no schema, no
 * write-ahead log beside it). FerretDB refuses to start over one ("no such table:
 * _ferretdb_collections"); it holds nothing, so it goes. A stopped test run can leave one: a service
 * still shutting down writes to a database the run's clean-up had just dropped.
 */
export function emptyDatabaseFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => {
    if (!name.endsWith('.sqlite') || existsSync(join(dir, `${name}-wal`))) return false;
    // Larger than SQLite's largest page: it has more than one, so it is not empty (and a history of
    // millions of calls is gigabytes, more than a buffer can hold).
    if (statSync(join(dir, name)).size > 65_536) return false;
    const file = readFileSync(join(dir, name));
    if (file.length === 0) return true;
    const pageSize = file.readUInt16BE(16) === 1 ? 65_536 : file.readUInt16BE(16);
    const pages = file.length >= 32 ? file.readUInt32BE(28) : 0;
    return file.subarray(0, 16).toString('latin1') === 'SQLite format 3\0' && pages <= 1 && file.length <= pageSize && !file.includes('_ferretdb_collections');
  });
}

/** Starts FerretDB at `place`; returns its process id. */
function launchFerretDB(place: LocalPlace, say: Say): number {
  installFerretDB(say);
  const dir = join(place.dataDir, 'ferretdb');
  mkdirSync(dir, { recursive: true });
  for (const name of emptyDatabaseFiles(dir)) {
    rmSync(join(dir, name));
    say(`removed ${name}: a database file with no tables, left by FerretDB stopping while it created the database`);
  }
  return startDetached('ferretdb', ferretBinary, ['-listen-addr', `127.0.0.1:${place.mongoPort}`, '-sqlite-url', `file:${dir}/`], place.dataDir);
}

/**
 * (Re)starts one local process at `place` and waits until it answers; returns its process id. For
 * `npm start`'s supervision and the drills' own pair (other ports and data), never the tests'.
 */
export async function launch(name: 'kafka' | 'ferretdb', place: LocalPlace, say: Say): Promise<number> {
  const logFile = join(place.dataDir, 'logs', `${name}.log`);
  if (name === 'kafka') {
    const pid = launchKafka(place, say);
    await waitUntil('Kafka', () => kafkaAnswers(`127.0.0.1:${place.kafkaPort}`), 90_000, logFile);
    return pid;
  }
  const pid = launchFerretDB(place, say);
  await waitUntil('FerretDB', () => mongoAnswers(`mongodb://127.0.0.1:${place.mongoPort}`), 30_000, logFile);
  return pid;
}

/** The id of the local process `up` started (from its pid file), if any. */
export function startedPid(name: 'kafka' | 'ferretdb', place: LocalPlace = DEFAULT_PLACE): number | undefined {
  const file = pidFile(name, place.dataDir);
  return existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined;
}

/** Stops a local process: SIGTERM and up to 30 s (SIGKILL after, or at once when `force`). */
export async function stopPid(pid: number, force = false): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, force ? 'SIGKILL' : 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

export interface Endpoints {
  kafkaBrokers: string;
  mongodbUri: string;
  /** Which local processes this call started (and so may stop again). */
  started: Array<'kafka' | 'ferretdb'>;
}

/**
 * Start (or reuse) the local Kafka and FerretDB and wait until each really answers.
 * With KAFKA_BROKERS or MONGODB_URI set, that side is not started: it is only waited for.
 */
export async function up(say: Say = console.log): Promise<Endpoints> {
  const kafkaBrokers = process.env.KAFKA_BROKERS ?? DEFAULT_KAFKA_BROKERS;
  const mongodbUri = process.env.MONGODB_URI ?? DEFAULT_MONGODB_URI;
  const started: Endpoints['started'] = [];
  const [kafkaStarted, ferretStarted] = await Promise.all([
    process.env.KAFKA_BROKERS ? false : startKafka(say),
    process.env.MONGODB_URI ? false : startFerretDB(say),
  ]);
  if (kafkaStarted) started.push('kafka');
  if (ferretStarted) started.push('ferretdb');
  await Promise.all([
    waitUntil('Kafka', () => kafkaAnswers(kafkaBrokers), 90_000, join(dataDir, 'logs', 'kafka.log')),
    waitUntil('FerretDB', () => mongoAnswers(mongodbUri), 30_000, join(dataDir, 'logs', 'ferretdb.log')),
  ]);
  say(`ready: KAFKA_BROKERS=${kafkaBrokers} MONGODB_URI=${mongodbUri}`);
  return { kafkaBrokers, mongodbUri, started };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stop local processes started by `up` (all of them, or the ones named) and wait for them to exit. */
export async function down(
  say: Say = console.log,
  which: Array<'kafka' | 'ferretdb'> = ['kafka', 'ferretdb'],
) {
  await Promise.all(
    which.map(async (name) => {
      const file = pidFile(name);
      if (!existsSync(file)) return;
      const pid = Number(readFileSync(file, 'utf8'));
      if (alive(pid)) {
        say(`stopping ${name} (pid ${pid})`);
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + 30_000;
        while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        if (alive(pid)) {
          say(`${name} did not stop within 30s; killing it`);
          process.kill(pid, 'SIGKILL');
        }
      }
      rmSync(file, { force: true });
    }),
  );
}

export async function status(): Promise<{ kafka: boolean; mongodb: boolean }> {
  const [kafka, mongodb] = await Promise.all([
    kafkaAnswers(process.env.KAFKA_BROKERS ?? DEFAULT_KAFKA_BROKERS),
    mongoAnswers(process.env.MONGODB_URI ?? DEFAULT_MONGODB_URI),
  ]);
  return { kafka, mongodb };
}

/** A loopback port free at this moment (for a process started next, on ports of its own). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
