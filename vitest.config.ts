import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// One graphql for everything: Node loads graphql's CommonJS build for the libraries (Apollo,
// graphql-ws), so the code under test must get the same one, not the ES module build Vite prefers;
// graphql refuses schemas made by "another realm".
const graphql = createRequire(import.meta.url).resolve('graphql');

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphql }] },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.data/**'],
    // Starts (or reuses) the local Kafka and FerretDB once for the whole run.
    globalSetup: ['test/support/global-setup.ts'],
    env: { APOLLO_TELEMETRY_DISABLED: '1', LOG_LEVEL: 'warn' },
    pool: 'forks',
    // Most test files wait on Kafka and FerretDB rather than compute, each in topics and databases of
    // its own: three at a time on two cores (vitest's default would be one). TEST_WORKERS overrides.
    maxWorkers: Number(process.env.TEST_WORKERS ?? 3),
    // Hang guards, not speed checks (speed lives in bench/): every write of every file goes through
    // the local FerretDB proxy one at a time, so under three files' load a test or a hub start can
    // wait tens of seconds behind another file's bulk writes.
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
