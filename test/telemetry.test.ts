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

  it('is set in the Docker image and for every compose service', () => {
    expect(readFileSync('Dockerfile', 'utf8')).toMatch(/APOLLO_TELEMETRY_DISABLED=1/);
    // Every hub service merges the shared environment block that sets it.
    const compose = readFileSync('docker-compose.yml', 'utf8');
    expect(compose).toMatch(/x-hub-service: &hub-service[\s\S]*environment: &hub-env[\s\S]*APOLLO_TELEMETRY_DISABLED: "1"/);
    const services = compose.split(/^services:$/m)[1] ?? '';
    const hubServices = [...services.matchAll(/^ {2}([a-z0-9-]+):\n {4}<<: \*hub-service$/gm)].map((m) => m[1]);
    expect(hubServices.length).toBeGreaterThan(0);
    expect(services.match(/^ {6}<<: \*hub-env$/gm)?.length).toBe(hubServices.length);
  });
});
