// A federated subgraph on the service runtime: Fastify + mercurius serving a schema built by
// @apollo/subgraph from the SDL in schemas/<name>.graphql. Every request to the GraphQL route, however
// its path is spelled (`/%67raphql`, `/graphql?x`), must carry a valid identity, and execution refuses
// to run without one; introspection and `_service` answer the gateway's own identity only; the
// platform's limits and input checks hold here too, since a subgraph can be reached directly. Errors
// keep their `extensions.code`, and anything unexpected is masked with the request id.
import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { type DocumentNode, GraphQLError, Kind, parse, type SelectionSetNode } from 'graphql';
import mercurius from 'mercurius';
import type { FastifyRequest } from 'fastify';
import { type Identity, isGatewayIdentity, type Verifier } from './auth.ts';
import { errorCode, isUserError, userError } from './errors.ts';
import { literalsProblem, variablesProblem } from './input.ts';
import { limitRules, subgraphLimits, TOKEN_LIMIT_REFUSAL, tokenLimitError, withoutSuggestions } from './limits.ts';
import { enterTrace } from './trace.ts';
import type { Logger } from './logger.ts';
import { REQUEST_LIMIT, type Service } from './service.ts';

export interface SubgraphContext {
  identity: Identity;
  requestId: string;
  logger: Logger;
}

export interface SubgraphOptions {
  /** Path of the subgraph's SDL, e.g. `schemas/calls.graphql`. */
  sdlPath: string;
  /**
   * The subgraph's resolvers, typed by the `Resolvers` generated from its SDL (`npm run codegen`).
   * `__resolveReference` must sit here (buildSubgraphSchema), never in mercurius' own `resolvers`
   * option, where it would be silently ignored.
   */
  resolvers: Record<string, object | undefined>;
  verifier: Verifier;
}

const identities = new WeakMap<object, Identity>();

const GRAPHQL_PATH = '/graphql';

/**
 * Whether Fastify routed the request to the GraphQL route: decided by the matched route, never by the
 * URL's spelling (Fastify decodes `/%67raphql` to `/graphql` before routing).
 */
const toGraphQL = (request: FastifyRequest) => request.routeOptions.url === GRAPHQL_PATH;

/** Fields that describe the schema rather than the data: for the gateway's own identity only. */
const SCHEMA_FIELDS = new Set(['__schema', '__type', '_service']);

const asksSchemaMemo = new WeakMap<DocumentNode, boolean>();

/** Whether an operation selects __schema, __type or _service anywhere (fragments included). */
function asksSchema(document: DocumentNode): boolean {
  const known = asksSchemaMemo.get(document);
  if (known !== undefined) return known;
  const pending: SelectionSetNode[] = document.definitions.flatMap((d) =>
    d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION ? [d.selectionSet] : [],
  );
  let found = false;
  for (let set = pending.pop(); set && !found; set = pending.pop()) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD && SCHEMA_FIELDS.has(selection.name.value)) found = true;
      if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) pending.push(selection.selectionSet);
    }
  }
  asksSchemaMemo.set(document, found);
  return found;
}

/** The identity the request was authenticated with; execution never runs without one (fail closed). */
function requireIdentity(context: unknown): Identity {
  const identity = (context as Partial<SubgraphContext> | undefined)?.identity;
  if (!identity) throw userError('UNAUTHENTICATED', '缺少身份令牌 (missing bearer token)');
  return identity;
}

const refusal = (error: GraphQLError) => ({ data: null, errors: [{ message: error.message, extensions: error.extensions }] });

export async function mountSubgraph(service: Service, options: SubgraphOptions): Promise<void> {
  const production = service.config.NODE_ENV === 'production';
  const limits = subgraphLimits(service.config);
  // A body over the limit gets a plain GraphQL answer (Fastify's own 413 would surface as an internal error).
  service.app.addHook('onRequest', async (request, reply) => {
    const length = Number(request.headers['content-length'] ?? 0);
    if (!toGraphQL(request) || length <= REQUEST_LIMIT) return;
    return reply.code(413).send({
      data: null,
      errors: [
        {
          message: `请求过大：${length} 字节，上限 ${REQUEST_LIMIT} 字节；大批量导入请用文件导入 (request too large)`,
          extensions: { code: 'BAD_USER_INPUT' },
        },
      ],
    });
  });

  // Identity first: a request without a valid token never reaches GraphQL execution.
  service.app.addHook('preHandler', async (request, reply) => {
    if (!toGraphQL(request)) return;
    // Before any await: what this request stores (events) carries its trace on to Kafka.
    enterTrace(request.headers.traceparent as string | undefined);
    try {
      identities.set(request, await options.verifier(request.headers.authorization));
    } catch (err) {
      const message = err instanceof Error ? err.message : 'unauthenticated';
      return reply.code(401).send({ data: null, errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] });
    }
    // Control characters, numbers that are not finite and nesting beyond the limit, in any value sent.
    const problem = variablesProblem(request.method === 'GET' ? request.query : request.body) ?? getVariablesProblem(request);
    if (problem) return reply.code(400).send(refusal(problem));
  });

  // Apollo's GraphQLResolverMap types `__resolveReference` like a field resolver, while
  // buildSubgraphSchema calls it as (reference, context, info), as the generated types say.
  const resolvers = options.resolvers as GraphQLResolverMap<SubgraphContext>;
  const schema = buildSubgraphSchema([{ typeDefs: parse(readFileSync(options.sdlPath, 'utf8')), resolvers }]);
  await service.app.register(mercurius, {
    schema,
    path: GRAPHQL_PATH,
    graphiql: false,
    graphql: { parseOptions: { maxTokens: limits.MAX_TOKENS } },
    validationRules: limitRules(limits),
    context: (request): SubgraphContext => ({
      identity: identities.get(request) as Identity,
      requestId: request.id,
      logger: request.log as unknown as Logger,
    }),
    errorFormatter: (execution, context) => {
      const requestId = (context as { reply?: { request?: { id?: string } } }).reply?.request?.id ?? 'unknown';
      // Mercurius wraps parse and validation failures in one error that carries them in `errors`.
      // A value a scalar refuses (an invalid DateTime), as a variable or a literal, is the client's
      // input: BAD_USER_INPUT; an over-long document is refused as the other limits are.
      const flat = (execution.errors ?? []).flatMap((error) => {
        const inner = (error.originalError as { errors?: unknown } | undefined)?.errors;
        return Array.isArray(inner)
          ? inner.map((e: { message: string; originalError?: unknown }) => {
              const tokens = TOKEN_LIMIT_REFUSAL.exec(e.message);
              if (tokens) return tokenLimitError(tokens[1] as string);
              const input = [errorCode(e), errorCode(e.originalError)].includes('BAD_USER_INPUT');
              const message = production ? withoutSuggestions(e.message) : e.message;
              return new GraphQLError(message, { extensions: { code: input ? 'BAD_USER_INPUT' : 'GRAPHQL_VALIDATION_FAILED' } });
            })
          : [error];
      });
      const errors = flat.map((error) => {
        const original = error.originalError;
        const deliberate = isUserError(original) ? original : original ? undefined : error;
        // Deliberate errors, and parse and validation errors (no original error), keep their message.
        if (deliberate) {
          return new GraphQLError(error.message, {
            nodes: error.nodes,
            path: error.path,
            extensions: { ...deliberate.extensions, code: deliberate.extensions.code ?? 'GRAPHQL_VALIDATION_FAILED' },
          });
        }
        service.logger.error({ err: original, requestId, path: error.path }, 'resolver failed');
        return new GraphQLError(`内部错误，请求编号 ${requestId} (internal error)`, {
          nodes: error.nodes,
          path: error.path,
          extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
        });
      });
      const unauthenticated = errors.some((e) => e.extensions.code === 'UNAUTHENTICATED');
      // GraphQL over HTTP: a request that could not be executed (parse, validation, bad input) is a
      // 400, a refused introspection a 403; an executed one is a 200 whatever its errors, so the
      // gateway passes their codes on to the client.
      const codes = new Set(errors.map((e) => e.extensions.code));
      const unexecuted = execution.data === undefined && [...codes].every((c) => c === 'GRAPHQL_VALIDATION_FAILED' || c === 'BAD_USER_INPUT');
      const forbidden = execution.data === undefined && codes.size === 1 && codes.has('FORBIDDEN');
      return {
        statusCode: unauthenticated ? 401 : unexecuted ? 400 : forbidden ? 403 : 200,
        response: { data: execution.data ?? null, errors },
      };
    },
  });
  // Fail closed: whatever routed here without an identity (a hook skipped, a new route) is refused
  // before the document is read and again before it runs.
  service.app.graphql.addHook('preParsing', async (_schema, _source, context) => {
    requireIdentity(context);
  });
  service.app.graphql.addHook('preExecution', async (_schema, document, context) => {
    const identity = requireIdentity(context);
    const problem = literalsProblem(document);
    if (problem) throw problem;
    if (!isGatewayIdentity(identity) && asksSchema(document)) {
      throw userError('FORBIDDEN', '子图不对外提供结构查询，请经网关访问 (introspection and _service are for the gateway only)');
    }
  });
}

/** A GET request's variables arrive as JSON text: checked once parsed. */
function getVariablesProblem(request: FastifyRequest): GraphQLError | undefined {
  const text = request.method === 'GET' ? (request.query as { variables?: unknown } | undefined)?.variables : undefined;
  if (typeof text !== 'string') return undefined;
  try {
    return variablesProblem(JSON.parse(text) as unknown);
  } catch {
    return undefined; // mercurius answers that the variables are not JSON
  }
}
