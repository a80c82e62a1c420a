// The gateway: one federated graph over the subgraphs (@apollo/gateway executing the composed static
// supergraph, served by @apollo/server on the platform's Fastify runtime). It verifies the caller's
// bearer token and forwards it, so each subgraph verifies the same identity itself.
import { readFileSync, watch } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin, HeaderMap } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLSchema, Kind } from 'graphql';
import { Histogram } from 'prom-client';
import { z } from 'zod';
import { accessScope, authConfig, createVerifier, type Identity } from '../platform/auth.ts';
import { baseConfig, port } from '../platform/config.ts';
import { literalsProblem, variablesProblem } from '../platform/input.ts';
import { limitRules, TOKEN_LIMIT_REFUSAL, tokenLimitError } from '../platform/limits.ts';
import { ensureTopics, serviceKafka, topicName } from '../platform/kafka.ts';
import { Service } from '../platform/service.ts';
import { TOPICS } from '../platform/topics.ts';
import { childTraceparent } from '../platform/trace.ts';
import { followUnits } from '../platform/unit-directory.ts';
import { serveExplorer } from './explorer.ts';
import { pagesConfig, servePages } from './pages.ts';
import { refusal, statusFor } from './over-http.ts';
import { allowListed, loadAllowList } from './persisted.ts';
import { type HttpAnswer, isQueryDocument, SCOPE_HEADER, shareInFlightRequests, sharedSubgraphFetch } from './sharing.ts';
import { EventHub, followEventTopics } from './replay.ts';
import { type LiveStreams, serveSubscriptions } from './subscriptions.ts';

export const gatewayConfig = baseConfig.extend({
  ...authConfig.shape,
  ...pagesConfig.shape,
  PORT: port.default(4000),
  /** The composed supergraph (`npm run compose`); reloaded when the file changes. */
  SUPERGRAPH_PATH: z.string().min(1).default('schemas/supergraph.graphql'),
  CALLS_URL: z.url().default('http://127.0.0.1:4001/graphql'),
  EVALUATION_URL: z.url().default('http://127.0.0.1:4002/graphql'),
  PARTY_MAP_URL: z.url().default('http://127.0.0.1:4003/graphql'),
  ENTERPRISE_URL: z.url().default('http://127.0.0.1:4004/graphql'),
  /** How long a subgraph may stay silent (not answering, or stalling mid-answer) before its part of the answer fails. */
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /**
   * Allow-list mode (production agency apps): a persisted-query manifest; only its operations run.
   * Without it, any operation may run and clients may use automatic persisted queries (APQ).
   */
  PERSISTED_QUERIES_MANIFEST: z.string().min(1).optional(),
  /** Requests a client (a verified token's subject and unit; otherwise its address) may send a minute. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(3000),
  /** graphql-ws: subscriptions one socket may hold at once, and one identity (subject@unit) over all its sockets. */
  MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).max(10_000).default(25),
  MAX_SUBSCRIPTIONS_PER_IDENTITY: z.coerce.number().int().min(1).max(100_000).default(200),
  /**
   * Events of each live topic a copy keeps for subscribers that resume with a cursor (gateway/replay.ts):
   * a dashboard away for fewer events than this gets what it missed; one away longer re-queries.
   */
  LIVE_REPLAY_EVENTS: z.coerce.number().int().min(0).max(1_000_000).default(6000),
});
export type GatewayConfig = z.infer<typeof gatewayConfig>;

interface GatewayContext {
  identity: Identity;
  /** The identity's access scope: identical queries in flight for the same scope share one execution. */
  scope: string;
  authorization: string;
  /** The request's span (W3C traceparent): every subgraph call is a child of it. */
  traceparent: string;
  requestId: string;
  /**
   * Filled in once the operation has run (labelOperations). A holder, because Apollo Server hands
   * plugins a shallow copy of the context.
   */
  ran: { labels?: OperationLabels };
}

/** How an operation is counted: its name (bounded, so labels stay few), its type and its outcome. */
type OperationLabels = { operation: string; type: string; outcome: 'ok' | 'error' };

/** Names each executed operation in its context, for the metrics the HTTP handler records. */
const labelOperations: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ request, operation, document, errors, response, contextValue }) {
        // The named operation, also for one that failed validation (parsed, but not resolved).
        const parsed = document?.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
        const name = request.operationName ?? operation?.name?.value ?? parsed?.name?.value ?? 'anonymous';
        const hasErrors =
          (errors?.length ?? 0) > 0 ||
          (response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0);
        contextValue.ran.labels = {
          operation: /^[A-Za-z0-9_]{1,64}$/.test(name) ? name : 'other',
          type: operation?.operation ?? 'unknown',
          outcome: hasErrors ? 'error' : 'ok',
        };
      },
    };
  },
};

/**
 * Refuses, before any subgraph is asked, a literal with a control character or a number that is not
 * finite (`1e999`): 400 BAD_USER_INPUT (variables are checked before the request enters Apollo).
 */
const checkLiterals: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ document }) {
        const problem = literalsProblem(document);
        if (problem) throw new GraphQLError(problem.message, { extensions: { ...problem.extensions, http: { status: 400 } } });
      },
    };
  },
};

/** A subgraph fetch that, when the subgraph does not answer, fails with an error that names it. */
class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly subgraph: string,
    options: ConstructorParameters<typeof RemoteGraphQLDataSource<GatewayContext>>[0],
  ) {
    super(options);
  }

  override async process(options: Parameters<RemoteGraphQLDataSource<GatewayContext>['process']>[0]) {
    try {
      return await super.process(options);
    } catch (err) {
      if (err instanceof GraphQLError) throw err;
      throw new GraphQLError(`子图 ${this.subgraph} 暂不可用 (subgraph ${this.subgraph} unavailable: ${(err as Error).message})`, {
        extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: this.subgraph },
      });
    }
  }

  /** A subgraph's refusal of the client's input (a 400 with `BAD_USER_INPUT` …) keeps its message and code. */
  override async errorFromResponse(response: Parameters<RemoteGraphQLDataSource<GatewayContext>['errorFromResponse']>[0]) {
    const generic = await super.errorFromResponse(response);
    const first = (generic.extensions.response as { body?: { errors?: Array<{ message?: unknown; extensions?: { code?: unknown } }> } } | undefined)
      ?.body?.errors?.[0];
    const code = first?.extensions?.code;
    if (typeof first?.message !== 'string' || typeof code !== 'string' || code === 'INTERNAL_SERVER_ERROR') return generic;
    return new GraphQLError(first.message, { extensions: { code, serviceName: this.subgraph } });
  }
}

export async function startGateway(config: GatewayConfig) {
  // Apollo reads this from the environment: never any telemetry (loadConfig pins it as well).
  process.env.APOLLO_TELEMETRY_DISABLED = '1';
  // At the public edge the gateway makes its own request ids (a client's is logged beside, sanitized).
  const service = new Service({ name: 'gateway', config, adoptRequestId: false });
  const verify = createVerifier(config);
  const urls: Record<string, string> = {
    calls: config.CALLS_URL,
    evaluation: config.EVALUATION_URL,
    'party-map': config.PARTY_MAP_URL,
    enterprise: config.ENTERPRISE_URL,
  };
  const readSupergraph = () => readFileSync(config.SUPERGRAPH_PATH, 'utf8');
  const allowList = config.PERSISTED_QUERIES_MANIFEST ? loadAllowList(config.PERSISTED_QUERIES_MANIFEST) : undefined;
  const subgraphFetch = sharedSubgraphFetch(config.SUBGRAPH_TIMEOUT_MS, service.metrics);
  const shareRequest = shareInFlightRequests(service.metrics);
  const operationDuration = new Histogram({
    name: 'huying_graphql_operation_duration_seconds',
    help: 'GraphQL operations through the gateway, by operation name, type and outcome',
    labelNames: ['operation', 'type', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [service.metrics],
  });

  const gateway = new ApolloGateway({
    supergraphSdl: async ({ update }) => {
      // Hot reload: a newly composed supergraph replaces the running one without a restart.
      const watcher = watch(config.SUPERGRAPH_PATH, () => {
        try {
          update(readSupergraph());
          service.logger.info({ path: config.SUPERGRAPH_PATH }, 'supergraph reloaded');
        } catch (err) {
          service.logger.error({ err }, 'supergraph reload failed; keeping the running one');
        }
      });
      return { supergraphSdl: readSupergraph(), cleanup: async () => watcher.close() };
    },
    buildService: ({ name, url }) =>
      new SubgraphSource(name, {
        url: urls[name] ?? url,
        // Kept-alive connections; a subgraph that hangs fails its part after the timeout.
        fetcher: subgraphFetch,
        willSendRequest: ({ request, context }) => {
          const { authorization, scope, traceparent, requestId } = context as Partial<GatewayContext>;
          if (authorization) request.http?.headers.set('authorization', authorization);
          if (scope && request.query && isQueryDocument(request.query)) request.http?.headers.set(SCOPE_HEADER, scope);
          // The subgraph's request continues the trace (a new span) and logs under the same request id.
          if (traceparent) request.http?.headers.set('traceparent', childTraceparent(traceparent));
          if (requestId) request.http?.headers.set('x-request-id', requestId);
        },
      }),
  });

  // The API schema the subscriptions extend; kept current when the supergraph reloads.
  let apiSchema: GraphQLSchema | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema: schema }) => {
    apiSchema = schema;
  });

  // Depth, alias, directive and cost limits (platform/limits.ts); tokens are counted by the parser
  // (parseOptions), so an over-long document is a 400. Field suggestions (which leak the schema) are
  // blocked in production, where introspection is off too.
  const armor = new ApolloArmor({
    maxDepth: { enabled: false },
    maxAliases: { enabled: false },
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    maxDirectives: { enabled: false },
    blockFieldSuggestion: { enabled: config.NODE_ENV === 'production' },
  });
  const protection = armor.protect();
  const limits = limitRules(config);
  const server = new ApolloServer<GatewayContext>({
    gateway,
    ...protection,
    // Armor's plugins read no context, so they serve any context type.
    plugins: [
      ...(protection.plugins as ApolloServerPlugin<GatewayContext>[]),
      checkLiterals,
      labelOperations,
      // Apollo's default landing page loads Apollo Sandbox from a CDN: government networks have no
      // internet, and nothing may load from outside.
      ApolloServerPluginLandingPageDisabled(),
    ],
    validationRules: limits,
    parseOptions: { maxTokens: config.MAX_TOKENS },
    introspection: config.NODE_ENV !== 'production',
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false,
    // Internal errors reach the client masked, with the request id to find them in the logs.
    formatError: (formatted, error) => {
      if (formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED' && TOKEN_LIMIT_REFUSAL.test(formatted.message)) {
        const refused = tokenLimitError(config.MAX_TOKENS);
        return { message: refused.message, extensions: refused.extensions };
      }
      if (formatted.extensions?.code !== 'INTERNAL_SERVER_ERROR' || formatted.extensions.serviceName) return formatted;
      service.logger.error({ err: error }, 'gateway error');
      return { message: '内部错误 (internal error)', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    },
  });
  // Apollo's own SIGTERM handler would stop the server and re-raise the signal about 20 ms later,
  // killing the process mid-request before the service's graceful shutdown (platform/service.ts) ran.
  await server.start();
  service.onShutdown('apollo server', () => server.stop());

  if (config.NODE_ENV !== 'production') serveExplorer(service.app);
  servePages(service.app, { production: config.NODE_ENV === 'production', auth: config, signInUrl: config.WEB_SIGN_IN_URL });

  // Per-client rate limits on /graphql. The client is the verified token's subject and unit; when
  // the token is missing or does not verify, the address: a forged token neither drains the budget
  // of the subject it names nor gets a fresh one per forged subject. Verified once per request.
  await service.app.register(rateLimit, { global: false });
  const verified = new WeakMap<FastifyRequest, Promise<Identity>>();
  const identityOf = (request: FastifyRequest): Promise<Identity> => {
    let identity = verified.get(request);
    if (!identity) {
      identity = verify(request.headers.authorization);
      identity.catch(() => undefined); // awaited by the handler; not an unhandled rejection meanwhile
      verified.set(request, identity);
    }
    return identity;
  };
  const clientOf = async (request: FastifyRequest): Promise<string> => {
    try {
      const { subject, unitId } = await identityOf(request);
      return `token:${subject}@${unitId}`;
    } catch {
      return `ip:${request.ip}`;
    }
  };

  service.app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    config: {
      rateLimit: {
        max: config.RATE_LIMIT_PER_MINUTE,
        timeWindow: 60_000,
        keyGenerator: clientOf,
        errorResponseBuilder: (_request, context) => ({
          statusCode: 429,
          data: null,
          errors: [
            {
              message: `请求过于频繁，请 ${context.after} 后重试 (rate limit: ${context.max} requests a minute)`,
              extensions: { code: 'RATE_LIMITED', retryAfter: context.after },
            },
          ],
        }),
      },
    },
    handler: async (request, reply) => {
      const started = performance.now();
      let identity: Identity;
      try {
        identity = await identityOf(request);
      } catch (err) {
        return reply.code(401).send({
          data: null,
          errors: [{ message: (err as Error).message, extensions: { code: 'UNAUTHENTICATED' } }],
        });
      }
      // Control characters, numbers that are not finite and nesting beyond the limit, in any value sent.
      const problem = variablesProblem(request.method === 'GET' ? getParams(request) : request.body);
      if (problem) return refuse(reply, request.headers.accept, { message: problem.message, extensions: problem.extensions });
      let body = request.body;
      let search = new URL(request.url, 'http://gateway').search;
      if (allowList) {
        const params = request.method === 'GET' ? Object.fromEntries(new URLSearchParams(search)) : ((body ?? {}) as Record<string, unknown>);
        const checked = allowListed(allowList, params);
        if ('refusal' in checked) {
          return refuse(reply, request.headers.accept, { message: checked.refusal, extensions: { code: 'PERSISTED_QUERY_NOT_ALLOWED' } });
        }
        if (request.method === 'GET') search = `?${new URLSearchParams(checked.params as Record<string, string>).toString()}`;
        else body = checked.params;
      }
      const scope = accessScope(identity);
      // The headers Apollo's CSRF prevention reads belong to the request's identity too: a request the
      // check would refuse must not take the answer of one it let through.
      // So does Accept: it picks the answer's media type and status (gateway/over-http.ts).
      const preflight = ['content-type', 'apollo-require-preflight', 'x-apollo-operation-name', 'accept'].map((name) => request.headers[name] ?? null);
      const answer = await shareRequest(JSON.stringify([scope, request.method, search, body, preflight]), async () => {
        const headers = new HeaderMap();
        for (const [key, value] of Object.entries(request.headers)) {
          if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
        }
        const context: GatewayContext = {
          identity,
          scope,
          authorization: request.headers.authorization ?? '',
          traceparent: childTraceparent(request.headers.traceparent as string | undefined),
          requestId: request.id,
          ran: {},
        };
        const response = await server.executeHTTPGraphQLRequest({
          httpGraphQLRequest: { method: request.method, headers, search, body },
          context: async () => context,
        });
        // Incremental delivery (@defer) is not enabled; keep the contract explicit.
        if (response.body.kind !== 'complete') throw new Error('chunked responses are not supported');
        const labels = context.ran.labels ?? { operation: 'anonymous', type: 'unknown', outcome: 'error' };
        const answer: HttpAnswer & { labels: OperationLabels } = {
          status: statusFor(response.status ?? 200, response.headers.get('content-type'), response.body.string),
          headers: [...response.headers],
          body: response.body.string,
          labels,
        };
        return { answer, query: labels.type === 'query' };
      });
      // Every request counts, also one answered by an identical one in flight.
      operationDuration.observe(answer.labels, (performance.now() - started) / 1000);
      for (const [key, value] of answer.headers) reply.header(key, value);
      return reply.code(answer.status).send(answer.body);
    },
  });

  // Live subscriptions: every gateway copy reads the event topics from the start of the retained
  // window (gateway/replay.ts), so it can resume a subscriber from its cursor, even one that was
  // served by another copy or by this one before it restarted.
  const { kafka, admin } = await serviceKafka(service, config, 'gateway');
  const names = { calls: topicName(config, TOPICS.callEvents), counters: topicName(config, TOPICS.counters), alerts: topicName(config, TOPICS.alerts) };
  const streams: LiveStreams = {
    calls: new EventHub(names.calls, config.LIVE_REPLAY_EVENTS),
    counters: new EventHub(names.counters, config.LIVE_REPLAY_EVENTS),
    alerts: new EventHub(names.alerts, config.LIVE_REPLAY_EVENTS),
  };
  // Alert areas and street command centres' jurisdictions need the unit tree.
  const directory = await followUnits({ kafka, admin, config, service, logger: service.logger, name: 'gateway' });
  await ensureTopics(admin, [
    { topic: names.calls, numPartitions: 6 },
    { topic: names.counters, numPartitions: 3 },
    { topic: names.alerts, numPartitions: 3 },
  ]);
  await followEventTopics({
    kafka,
    admin,
    hubs: { [names.calls]: streams.calls, [names.counters]: streams.counters, [names.alerts]: streams.alerts } as Record<string, EventHub<unknown>>,
    groupPrefix: topicName(config, 'gateway-events-'),
    retain: config.LIVE_REPLAY_EVENTS,
    logger: service.logger,
    onShutdown: (name, close) => service.onShutdown(name, close),
  });
  // Ready only while a calls subgraph answers: nearly every request and every call event needs it.
  const callsReady = new URL('/readyz', config.CALLS_URL).href;
  service.addReadinessCheck('calls', async () => {
    const response = await fetch(callsReady, { signal: AbortSignal.timeout(1500) });
    if (!response.ok) throw new Error(`calls answered ${response.status}`);
  });
  const subscriptions = serveSubscriptions(
    () => {
      if (!apiSchema) throw new Error('the supergraph is not loaded yet');
      return apiSchema;
    },
    streams,
    {
      server: service.app.server,
      verify,
      directory,
      allowList,
      validationRules: limits,
      limits: { maxTokens: config.MAX_TOKENS, perSocket: config.MAX_SUBSCRIPTIONS_PER_SOCKET, perIdentity: config.MAX_SUBSCRIPTIONS_PER_IDENTITY },
      production: config.NODE_ENV === 'production',
      logger: service.logger,
      query: async (query, variables, identity, authorization) => {
        const response = await server.executeOperation(
          { query, variables },
          { contextValue: { identity, scope: accessScope(identity), authorization, traceparent: childTraceparent(undefined), requestId: randomUUID(), ran: {} } },
        );
        return response.body.kind === 'single' ? response.body.singleResult : { data: null };
      },
    },
  );
  // Open sockets keep the HTTP server from closing: end the subscriptions before it closes.
  service.app.addHook('preClose', () => subscriptions.close());

  const url = await service.listen();
  return { service, url, gateway, events: streams.calls, streams };
}

/** Refuses a request before the GraphQL pipeline, in the media type and status its Accept header calls for. */
function refuse(reply: FastifyReply, accept: string | undefined, error: { message: string; extensions: Record<string, unknown> }) {
  const { status, contentType, body } = refusal(accept, [error]);
  return reply.code(status).header('content-type', contentType).send(body);
}

/** A GET request's parameters, its variables parsed from their JSON text (unparsable text stays as it is). */
function getParams(request: FastifyRequest): Record<string, unknown> {
  const params = { ...(request.query as Record<string, unknown>) };
  if (typeof params.variables === 'string') {
    try {
      params.variables = JSON.parse(params.variables) as unknown;
    } catch {
      // Apollo answers that the variables are not JSON
    }
  }
  return params;
}
