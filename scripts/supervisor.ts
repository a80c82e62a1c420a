// What `npm start` (and `npm run drill`) use to keep what they started running: each supervised
// thing is started, watched, restarted with backoff when it dies unasked (each restart logged with
// its cause), and stopped on request, whether it is still running, already exited or killed by a
// signal. A second stop request (a second Ctrl-C) kills what is still stopping.
import type { ChildProcess } from 'node:child_process';

export interface Supervised {
  name: string;
  /** Starts it; resolves once it is up (listening, answering). */
  start: () => Promise<void>;
  /** Resolves when it dies, with how (`code 1`, `signal SIGKILL`, `no longer answers`). */
  died: () => Promise<string>;
  /** Asks it to stop (SIGTERM) and waits; `force` kills it (SIGKILL). */
  stop: (force: boolean) => Promise<void>;
}

export interface Backoff {
  /** First restart delay, doubled after each restart up to `maxMs` (defaults 1 s and 30 s). */
  baseMs: number;
  maxMs: number;
  /** Running this long counts as recovered: the next crash starts again from `baseMs` (60 s). */
  stableMs: number;
}

/** The delay before the `restarts`-th restart in a row (1-based): base, 2 × base, 4 × base … capped. */
export function restartDelay(restarts: number, backoff: Pick<Backoff, 'baseMs' | 'maxMs'>): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, restarts - 1));
}

interface Watch {
  item: Supervised;
  restarts: number;
  upSince: number;
  /** Set while it runs; cleared while restarting. */
  running: boolean;
}

export class Supervisor {
  private readonly watched: Watch[] = [];
  private stopping: Promise<void> | undefined;
  private forced = false;
  private readonly backoff: Backoff;
  /** Restarts so far, by name (the drills read them). */
  readonly restarts = new Map<string, number>();

  constructor(
    private readonly say: (line: string) => void,
    backoff: Partial<Backoff> = {},
  ) {
    this.backoff = { baseMs: 1000, maxMs: 30_000, stableMs: 60_000, ...backoff };
  }

  /**
   * Starts `item` (unless it already runs) and watches it from then on; a failed first start is
   * thrown (nothing to restart yet), and it is still stopped by stopAll.
   */
  async add(item: Supervised, alreadyRunning = false): Promise<void> {
    const watch: Watch = { item, restarts: 0, upSince: Date.now(), running: false };
    this.watched.push(watch);
    if (!alreadyRunning) await item.start();
    watch.running = true;
    watch.upSince = Date.now();
    void this.watch(watch);
  }

  private async watch(watch: Watch): Promise<void> {
    const { item } = watch;
    for (;;) {
      const how = await item.died();
      watch.running = false;
      if (this.stopping) return;
      if (Date.now() - watch.upSince >= this.backoff.stableMs) watch.restarts = 0;
      for (;;) {
        watch.restarts++;
        this.restarts.set(item.name, (this.restarts.get(item.name) ?? 0) + 1);
        const delay = restartDelay(watch.restarts, this.backoff);
        this.say(`${item.name} died (${how}); restarting in ${(delay / 1000).toFixed(1)} s (restart ${watch.restarts} in a row)`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (this.stopping) return;
        try {
          await item.start();
          break;
        } catch (err) {
          if (this.stopping) return;
          this.say(`${item.name} failed to start again: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        }
      }
      watch.running = true;
      watch.upSince = Date.now();
      this.say(`${item.name} restarted`);
    }
  }

  /**
   * Stops everything, in the reverse order it was added (services before the infrastructure they
   * use). Called again while stopping (a second Ctrl-C), it kills what is still running.
   */
  stopAll(): Promise<void> {
    if (this.stopping) {
      if (!this.forced) {
        this.forced = true;
        this.say('stopping at once (SIGKILL)');
        void Promise.all(this.watched.map((w) => w.item.stop(true).catch(() => undefined)));
      }
      return this.stopping;
    }
    this.stopping = (async () => {
      for (const { item } of [...this.watched].reverse()) {
        try {
          await item.stop(this.forced);
        } catch (err) {
          this.say(`${item.name} did not stop cleanly: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    })();
    return this.stopping;
  }
}

/** Whether a process with this id is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const exitedAlready = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** How a child process ended, for the log. */
const howEnded = (child: ChildProcess) => (child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`);

/**
 * A child process of ours, supervised: `spawnIt` starts a copy, `ready` resolves once it is up (it
 * is given the child to notice an early exit). A stop is SIGTERM, then SIGKILL after `stopTimeoutMs`.
 */
export function childProcess(options: {
  name: string;
  spawnIt: () => ChildProcess;
  ready: (child: ChildProcess) => Promise<void>;
  stopTimeoutMs?: number;
}): Supervised & { current: () => ChildProcess | undefined } {
  let child: ChildProcess | undefined;
  let exit: Promise<void> = Promise.resolve();
  return {
    name: options.name,
    current: () => child,
    async start() {
      const started = options.spawnIt();
      child = started;
      exit = new Promise((resolve) => started.once('exit', () => resolve()));
      try {
        await options.ready(started);
      } catch (err) {
        if (!exitedAlready(started)) started.kill('SIGKILL');
        await exit;
        throw err;
      }
    },
    async died() {
      await exit;
      return child ? howEnded(child) : 'not started';
    },
    async stop(force) {
      const running = child;
      if (!running || exitedAlready(running)) return;
      running.kill(force ? 'SIGKILL' : 'SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), options.stopTimeoutMs ?? 20_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/**
 * A detached process known by its id (the local Kafka and FerretDB, which outlive a crashed `npm
 * start` on purpose): `start` (re)starts it and returns its id; watched by polling every second.
 */
export function detachedProcess(options: {
  name: string;
  /** The id of the copy already running, if one is (added with `alreadyRunning`). */
  pid?: number;
  start: () => Promise<number>;
  stop: (pid: number, force: boolean) => Promise<void>;
  pollMs?: number;
}): Supervised & { pid: () => number | undefined } {
  let pid = options.pid;
  return {
    name: options.name,
    pid: () => pid,
    async start() {
      pid = await options.start();
    },
    async died() {
      const watched = pid;
      while (watched !== undefined && alive(watched)) await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
      return `process ${watched} gone`;
    },
    async stop(force) {
      if (pid !== undefined && alive(pid)) await options.stop(pid, force);
    },
  };
}
