// Government networks have no internet: no service, test or CI run may let Apollo send telemetry.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { baseConfig, loadConfig } from '../platform/config.ts';

describe('APOLLO_TELEMETRY_DISABLED', () => {
  it('is set for the tests', () => {
    expect(process.env.APOLLO_TELEMETRY_DISABLED).toBe('1');
  });

  it('is set by every service at start-up, even when the environment lacks it', () => {
    delete process.env.APOLLO_TELEMETRY_DISABLED;
    loadConfig(baseConfig, {});
    expect(process.env.APOLLO_TELEMETRY_DISABLED).toBe('1');
  });

  it('is exported by CI', () => {
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^export APOLLO_TELEMETRY_DISABLED=1$/m);
  });
});
