// The supervision `npm start` relies on, with real child processes (plain node scripts).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../test/support/wait.ts';
import { childProcess, restartDelay, Supervisor } from './supervisor.ts';

const spawned: ChildProcess[] = [];
afterEach(() => {
  for (const child of spawned.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** A node process running `code`; up once it prints "up". */
function nodeChild(name: string, code: string) {
  return childProcess({
    name,
    spawnIt: () => {
      const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      spawned.push(child);
      return child;
    },
    ready: async (child) => {
      const [chunk] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
      if (!chunk.toString().includes('up')) throw new Error('did not come up');
    },
    stopTimeoutMs: 500,
  });
}

// Each child sets its SIGTERM handler before it says "up": a pipe write is synchronous, so the test
// may signal it before the next statement runs.
const STAYS_UP = 'process.on("SIGTERM", () => process.exit(0)); setInterval(() => {}, 1000); console.log("up");';

describe('Supervisor (npm start)', () => {
  it('waits longer before each restart in a row: 1 s, 2 s, 4 s … at most 30 s', () => {
    expect([1, 2, 3, 4, 6, 10].map((n) => restartDelay(n, { baseMs: 1000, maxMs: 30_000 }))).toEqual([1000, 2000, 4000, 8000, 30_000, 30_000]);
  });

  it('restarts a service that crashed or was killed by a signal, logging each restart', async () => {
    const lines: string[] = [];
    const supervisor = new Supervisor((line) => lines.push(line), { baseMs: 20, maxMs: 100 });
    const service = nodeChild('calls', STAYS_UP);
    await supervisor.add(service);
    const first = service.current()?.pid;
    process.kill(first as number, 'SIGKILL');
    await waitFor('a new copy', () => (service.current()?.pid !== first && lines.includes('calls restarted') ? true : undefined));
    expect(lines[0]).toBe('calls died (signal SIGKILL); restarting in 0.0 s (restart 1 in a row)');
    await supervisor.stopAll();
    expect(service.current()?.exitCode).toBe(0);
    expect(supervisor.restarts.get('calls')).toBe(1);
  });

  it('stops everything: one already dead by a signal (npm start used to wait for it forever), one deaf to SIGTERM', async () => {
    const supervisor = new Supervisor(() => undefined, { baseMs: 60_000 });
    const dead = nodeChild('evaluation', STAYS_UP);
    const deaf = nodeChild('gateway', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000); console.log("up");');
    await supervisor.add(dead);
    await supervisor.add(deaf);
    const killed = dead.current() as ChildProcess;
    killed.kill('SIGKILL');
    await once(killed, 'exit');
    await supervisor.stopAll();
    expect(deaf.current()?.signalCode).toBe('SIGKILL');
    expect(killed.signalCode).toBe('SIGKILL');
  });
});
