import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.data/**'],
    // Starts (or reuses) the local Kafka and FerretDB once for the whole run.
    globalSetup: ['test/support/global-setup.ts'],
    env: { APOLLO_TELEMETRY_DISABLED: '1', LOG_LEVEL: 'warn' },
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
