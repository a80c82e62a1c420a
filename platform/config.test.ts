import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseConfig, ConfigError, loadConfig, port } from './config.ts';

describe('loadConfig', () => {
  it('gives the documented defaults', () => {
    const config = loadConfig(baseConfig, {});
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.MONGODB_URI).toBe('mongodb://127.0.0.1:27017');
    expect(config.APOLLO_TELEMETRY_DISABLED).toBe('1');
  });

  it('reads a broker list', () => {
    const config = loadConfig(baseConfig, { KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9093,[::1]:9094' });
    expect(config.KAFKA_BROKERS).toEqual(['kafka-1:9092', 'kafka-2:9093', '[::1]:9094']);
  });

  it('names the bad variable, its value and what it should be', () => {
    expect(() => loadConfig(baseConfig, { KAFKA_BROKERS: 'not-a-host:abc' })).toThrowError(
      'KAFKA_BROKERS="not-a-host:abc": "not-a-host:abc" has port "abc"; a port is a whole number from 1 to 65535',
    );
    expect(() => loadConfig(baseConfig, { KAFKA_BROKERS: 'localhost' })).toThrowError(
      'KAFKA_BROKERS="localhost": "localhost" is not host:port',
    );
    expect(() => loadConfig(baseConfig, { MONGODB_URI: 'postgres://x' })).toThrowError(
      'MONGODB_URI="postgres://x": expected a mongodb:// or mongodb+srv:// URI',
    );
  });

  it('reports every bad variable at once', () => {
    const schema = baseConfig.extend({ PORT: port.default(4001) });
    let error: unknown;
    try {
      loadConfig(schema, { PORT: '70000', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('PORT="70000": expected a port from 0 to 65535');
    expect((error as Error).message).toContain('LOG_LEVEL="loud"');
  });

  it('refuses to run with Apollo telemetry enabled', () => {
    expect(() => loadConfig(baseConfig, { APOLLO_TELEMETRY_DISABLED: '0' })).toThrowError(
      'APOLLO_TELEMETRY_DISABLED="0": must be 1',
    );
  });

  it('extends per service', () => {
    const schema = baseConfig.extend({ GATEWAY_URL: z.url() });
    expect(() => loadConfig(schema, { GATEWAY_URL: 'nope' })).toThrowError('GATEWAY_URL="nope"');
  });
});
