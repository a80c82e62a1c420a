// A federated subgraph on the service runtime: Fastify + mercurius serving a schema built by
// @apollo/subgraph from the SDL in schemas/<name>.graphql. Every request must carry a valid identity;
// errors keep their `extensions.code`, and anything unexpected is masked with the request id.
import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { GraphQLError, parse } from 'graphql';
import mercurius from 'mercurius';
import type { Identity, Verifier } from './auth.ts';
import { isUserError } from './errors.ts';
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

export async function mountSubgraph(service: Service, options: SubgraphOptions): Promise<void> {
  // A body over the limit gets a plain GraphQL answer (Fastify's own 413 would surface as an internal error).
  service.app.addHook('onRequest', async (request, reply) => {
    const length = Number(request.headers['content-length'] ?? 0);
    if (!request.url.startsWith('/graphql') || length <= REQUEST_LIMIT) return;
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
    if (!request.url.startsWith('/graphql')) return;
    // Before any await: what this request stores (events) carries its trace on to Kafka.
    enterTrace(request.headers.traceparent as string | undefined);
    try {
      identities.set(request, await options.verifier(request.headers.authorization));
    } catch (err) {
      const message = err instanceof Error ? err.message : 'unauthenticated';
      return reply.code(401).send({ data: null, errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] });
    }
  });

  // Apollo's GraphQLResolverMap types `__resolveReference` like a field resolver, while
  // buildSubgraphSchema calls it as (reference, context, info), as the generated types say.
  const resolvers = options.resolvers as GraphQLResolverMap<SubgraphContext>;
  const schema = buildSubgraphSchema([{ typeDefs: parse(readFileSync(options.sdlPath, 'utf8')), resolvers }]);
  await service.app.register(mercurius, {
    schema,
    path: '/graphql',
    graphiql: false,
    context: (request): SubgraphContext => ({
      identity: identities.get(request) as Identity,
      requestId: request.id,
      logger: request.log as unknown as Logger,
    }),
    errorFormatter: (execution, context) => {
      const requestId = (context as { reply?: { request?: { id?: string } } }).reply?.request?.id ?? 'unknown';
      // Mercurius wraps parse and validation failures in one error that carries them in `errors`.
      const flat = (execution.errors ?? []).flatMap((error) => {
        const inner = (error.originalError as { errors?: unknown } | undefined)?.errors;
        return Array.isArray(inner)
          ? inner.map(
              (e: { message: string; locations?: unknown }) =>
                new GraphQLError(e.message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
            )
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
      // GraphQL over HTTP: a request that could not be executed (parse, validation) is a 400; an
      // executed one is a 200 whatever its errors, so the gateway passes their codes on to the client.
      const unexecuted = execution.data === undefined && errors.every((e) => e.extensions.code === 'GRAPHQL_VALIDATION_FAILED');
      return {
        statusCode: unauthenticated ? 401 : unexecuted ? 400 : 200,
        response: { data: execution.data ?? null, errors },
      };
    },
  });
}
