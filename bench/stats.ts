// Figures shared by the benches: latency percentiles and load loops.

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
  return { requestsPerSecond: Math.round(samples.length / seconds), failures, latency_ms: percentiles(samples) };
}
