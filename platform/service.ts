// The runtime every Huying service stands on: Fastify with /healthz, /readyz and Prometheus /metrics,
// JSON logs, and a graceful shutdown on SIGTERM that stops intake, finishes in-flight work, lets
// consumers commit their offsets and closes connections in the reverse order they were opened.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { BaseConfig } from './config.ts';
import { createLogger, type Logger } from './logger.ts';

export interface ServiceOptions {
  /** Short service name: `calls`, `gateway`, `connector-12345` … */
  name: string;
  config: BaseConfig & { PORT: number };
  logger?: Logger;
  /** How long one readiness check may take before it counts as failed. */
  readinessTimeoutMs?: number;
}

type Check = () => Promise<void>;

const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** The largest request body a service accepts (1 MiB). */
export const REQUEST_LIMIT = 1_048_576;

function withTimeout(check: Check, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    check().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export class Service {
  readonly name: string;
  readonly app: FastifyInstance;
  readonly metrics = new Registry();
  readonly logger: Logger;
  private readonly config: ServiceOptions['config'];
  private readonly readinessTimeoutMs: number;
  private readonly checks = new Map<string, Check>();
  private readonly closers: Array<{ name: string; close: () => Promise<unknown> }> = [];
  private stopping: Promise<void> | undefined;

  constructor(options: ServiceOptions) {
    this.name = options.name;
    this.config = options.config;
    this.readinessTimeoutMs = options.readinessTimeoutMs ?? 2000;
    this.logger = options.logger ?? createLogger(options.name, options.config.LOG_LEVEL);
    this.app = Fastify({
      // pino's Logger is wider than Fastify's base logger type; Fastify uses it as is.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
      loggerInstance: this.logger as FastifyBaseLogger,
      // Probes and scrapes would drown the request log.
      logController: new LogController({
        disableRequestLogging: (request) => PROBE_PATHS.has(request.url),
      }),
      requestIdHeader: 'x-request-id',
      bodyLimit: REQUEST_LIMIT,
    });
    this.metrics.setDefaultLabels({ service: options.name });
    collectDefaultMetrics({ register: this.metrics, prefix: 'huying_' });
    this.registerProbes();
  }

  private registerProbes(): void {
    const requests = new Histogram({
      name: 'huying_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.metrics],
    });
    this.app.addHook('onResponse', async (request, reply) => {
      requests.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
    });

    this.app.get('/healthz', async () => ({ status: 'ok', service: this.name }));

    this.app.get('/readyz', async (_request, reply) => {
      if (this.stopping) return reply.code(503).send({ status: 'stopping', service: this.name });
      const names = [...this.checks.keys()];
      const results = await Promise.allSettled(
        [...this.checks.values()].map((check) => withTimeout(check, this.readinessTimeoutMs)),
      );
      const checks: Record<string, string> = {};
      results.forEach((result, i) => {
        checks[names[i] as string] =
          result.status === 'fulfilled' ? 'ok' : `failed: ${(result.reason as Error).message}`;
      });
      const ready = results.every((r) => r.status === 'fulfilled');
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not ready', service: this.name, checks });
    });

    this.app.get('/metrics', async (_request, reply) => {
      reply.header('content-type', this.metrics.contentType);
      return this.metrics.metrics();
    });
  }

  /** /readyz answers 200 only while every named check passes (Kafka answers, the database answers …). */
  addReadinessCheck(name: string, check: Check): void {
    this.checks.set(name, check);
  }

  /** Registers something to close on shutdown; closers run in reverse order of registration. */
  onShutdown(name: string, close: () => Promise<unknown>): void {
    this.closers.push({ name, close });
  }

  async listen(): Promise<string> {
    const address = await this.app.listen({ host: this.config.HOST, port: this.config.PORT });
    this.logger.info({ address }, `${this.name} listening`);
    return address;
  }

  /** Stops HTTP intake (waiting for in-flight requests), then runs the closers. Safe to call twice. */
  shutdown(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info({ reason }, `${this.name} shutting down`);
      await this.app.close();
      for (const { name, close } of [...this.closers].reverse()) {
        try {
          await close();
        } catch (err) {
          this.logger.error({ err, closer: name }, 'error while closing');
        }
      }
      this.logger.info(`${this.name} stopped`);
    })();
    return this.stopping;
  }

  /** On SIGTERM or SIGINT: shut down gracefully, and exit non-zero if that takes too long. */
  handleSignals(): void {
    const onSignal = (signal: NodeJS.Signals) => {
      const timer = setTimeout(() => {
        this.logger.error(`${this.name} did not stop within ${this.config.SHUTDOWN_TIMEOUT_MS} ms; exiting`);
        process.exit(1);
      }, this.config.SHUTDOWN_TIMEOUT_MS);
      timer.unref();
      this.shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          this.logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
}
