// Configuration comes from the environment only, validated once at start-up. A bad value stops the
// service with a message that names the variable, what it holds and what it should hold.
import { z } from 'zod';

const hostPort = /^(?<host>[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:]+\]):(?<port>[^:]+)$/;

/** A comma-separated list of `host:port` Kafka bootstrap brokers. */
export const brokerList = z.string().transform((value, ctx) => {
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected one or more host:port brokers, separated by commas' });
    return z.NEVER;
  }
  for (const broker of brokers) {
    const match = hostPort.exec(broker);
    const port = Number(match?.groups?.port);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: `"${broker}" is not host:port` });
    } else if (!Number.isInteger(port) || port < 1 || port > 65535) {
      ctx.addIssue({
        code: 'custom',
        message: `"${broker}" has port "${match.groups?.port}"; a port is a whole number from 1 to 65535`,
      });
    }
  }
  return brokers;
});

/** A TCP port to listen on; 0 picks a free one (tests). */
export const port = z.coerce
  .number({ message: 'expected a port number' })
  .int('expected a whole number')
  .min(0, 'expected a port from 0 to 65535')
  .max(65535, 'expected a port from 0 to 65535');

/** What every Huying service reads. Services extend it with their own variables. */
export const baseConfig = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  KAFKA_BROKERS: brokerList.default(['127.0.0.1:9092']),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/[^\s]+$/, 'expected a mongodb:// or mongodb+srv:// URI')
    .default('mongodb://127.0.0.1:27017'),
  /** Prepended to every Kafka topic and consumer group: lets tests and shared clusters keep apart. */
  TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-" only')
    .default(''),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  /**
   * Prometheus /metrics is served on a port of its own, never on the public one: loopback by default
   * (a scraper on the same host or pod); the port defaults to the service's PORT + 5000 (0 when PORT is 0).
   */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_PORT: port.optional(),
  /**
   * GraphQL Armor's limits per operation (nesting depth, aliases, tokens, estimated cost): the
   * gateway applies them to every client operation, HTTP and graphql-ws alike; each subgraph applies
   * them too (it can be reached directly), with room for what the gateway's query plan adds.
   */
  MAX_DEPTH: z.coerce.number().int().min(1).max(100).default(12),
  MAX_ALIASES: z.coerce.number().int().min(0).max(1000).default(15),
  MAX_TOKENS: z.coerce.number().int().min(100).max(100_000).default(2000),
  MAX_COST: z.coerce.number().int().min(100).max(1_000_000).default(20_000),
  // Apollo's gateway sends usage telemetry and probes cloud metadata endpoints unless this is set;
  // a government network must never see that traffic, so nothing else is accepted.
  APOLLO_TELEMETRY_DISABLED: z
    .literal('1', { message: 'must be 1: the hub never sends telemetry' })
    .default('1'),
});

export type BaseConfig = z.infer<typeof baseConfig>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Validate `env` against `schema`; on failure throw a ConfigError naming each bad variable.
 * Also pins APOLLO_TELEMETRY_DISABLED=1 in the process environment, where Apollo's libraries read it.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  // Empty strings count as unset, as in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      const value = present[name];
      return `  ${name}${value === undefined ? '' : `=${JSON.stringify(value)}`}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  process.env.APOLLO_TELEMETRY_DISABLED = '1';
  return result.data;
}
