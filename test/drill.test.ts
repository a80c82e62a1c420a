// The fast subset of `npm run drill` (scripts/drill.ts), on every change: the gateway killed (SIGKILL)
// under dashboards subscribed over graphql-ws while 12345 records stream in. Its supervisor restarts
// it; every record becomes exactly one call with contiguous event sequences, and every dashboard,
// resuming from its last cursor, is shown every event it missed.
import { expect, inject, it } from 'vitest';
import { runDrills } from '../scripts/drill.ts';

it('a gateway killed under subscribers: nothing lost or doubled, nothing missed after resume', { timeout: 120_000 }, async () => {
  const lines: string[] = [];
  const rows = await runDrills({
    fast: true,
    only: ['gateway'],
    subscribers: 5,
    rate: 5,
    kafkaBrokers: inject('kafkaBrokers'),
    mongodbUri: inject('mongodbUri'),
    say: (line) => lines.push(line),
  });
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ lost: 0, doubled: 0, broken: 0, missedAfterResume: 0 });
  expect(rows[0]?.recoverySeconds).toBeLessThan(30);
  expect(lines).toContain('supervisor: gateway restarted');
});
