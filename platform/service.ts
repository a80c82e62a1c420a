// The runtime every Huying service stands on: Fastify with /healthz, /readyz, Prometheus /metrics on
// a port of its own (loopback by default, never the public port), JSON logs, request ids of its own, and a graceful shutdown on SIGTERM that stops intake, finishes in-flight work, lets
// consumers commit their offsets and closes connections in the reverse order they were opened.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
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
  /**
   * Whether a UUID in the request's `x-request-id` becomes its id (default: yes, so a subgraph logs
   * under the id the gateway made). The gateway, at the public edge, passes false and makes its own.
   */
  adoptRequestId?: boolean;
}

type Check = () => Promise<void>;

const PROBE_PATHS = new Set(['/healthz', '/readyz']);

/** What an upstream service's request id may look like to be adopted: a UUID, as the gateway makes them. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A client's own `x-request-id`, fit to log as a separate field: at most 64 characters of letters,
 * digits and `._:-` (anything else is dropped), never used as the request's id.
 */
export function clientRequestId(value: string | string[] | undefined): string | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.slice(0, 256).replace(/[^A-Za-z0-9._:-]/g, '').slice(0, 64);
  return text || undefined;
}

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
  readonly config: ServiceOptions['config'];
  /** The listener of /metrics (METRICS_HOST, METRICS_PORT), apart from the public port. */
  readonly metricsApp: FastifyInstance;
  /** Where /metrics answers, once listening. */
  metricsUrl = '';
  private readonly readinessTimeoutMs: number;
  private readonly checks = new Map<string, Check>();
  private readonly closers: Array<{ name: string; close: () => Promise<unknown> }> = [];
  private stopping: Promise<void> | undefined;
  private signalsHandled = false;
  /** Set by a process's entry point (`main`), never by tests running services in-process. */
  private static signalsOnListen = false;

  /**
   * Every service of this process handles SIGTERM and SIGINT from the moment it listens: a service
   * listens before it joins its consumer groups (which may take a session timeout after a crash), and
   * a signal meanwhile must still shut it down gracefully.
   */
  static handleSignalsOnListen(): void {
    Service.signalsOnListen = true;
  }

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
      // A client-chosen id would be trusted in logs and error messages: the service makes its own.
      requestIdHeader: false,
      genReqId: (request: IncomingMessage) => {
        const upstream = request.headers['x-request-id'];
        return options.adoptRequestId !== false && typeof upstream === 'string' && UUID.test(upstream) ? upstream : randomUUID();
      },
      bodyLimit: REQUEST_LIMIT,
    });
    // The client's own id is logged beside ours, sanitized, when it is not adopted.
    this.app.addHook('onRequest', async (request) => {
      const own = clientRequestId(request.headers['x-request-id']);
      if (own && own !== request.id) request.log = request.log.child({ clientRequestId: own });
    });
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    this.metricsApp = Fastify({ loggerInstance: this.logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: () => true }) });
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

    this.metricsApp.get('/metrics', async (_request, reply) => {
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
    const metricsPort = this.config.METRICS_PORT ?? (this.config.PORT === 0 || this.config.PORT > 60_535 ? 0 : this.config.PORT + 5000);
    this.metricsUrl = await this.metricsApp.listen({ host: this.config.METRICS_HOST, port: metricsPort });
    this.logger.info({ address, metrics: this.metricsUrl }, `${this.name} listening`);
    if (Service.signalsOnListen) this.handleSignals();
    return address;
  }

  /** Stops HTTP intake (waiting for in-flight requests), then runs the closers. Safe to call twice. */
  shutdown(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info({ reason }, `${this.name} shutting down`);
      await this.app.close();
      await this.metricsApp.close();
      for (const { name, close } of [...this.closers].reverse()) {
        const began = performance.now();
        try {
          await close();
          // Each step's time: a shutdown that overruns SHUTDOWN_TIMEOUT_MS shows which step held it.
          this.logger.info({ closer: name, ms: Math.round(performance.now() - began) }, 'closed');
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
    if (this.signalsHandled) return;
    this.signalsHandled = true;
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) return;
      signalled = true;
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
    // Kept (not `once`): Ctrl-C reaches every process of the terminal's group and a supervisor sends
    // SIGTERM as well; a second signal must not kill the process halfway through its shutdown.
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
}
