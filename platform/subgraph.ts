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
import type { Logger } from './logger.ts';
import type { Service } from './service.ts';

export interface SubgraphContext {
  identity: Identity;
  requestId: string;
  logger: Logger;
}

export interface SubgraphOptions {
  /** Path of the subgraph's SDL, e.g. `schemas/calls.graphql`. */
  sdlPath: string;
  // `__resolveReference` must sit in these resolvers (buildSubgraphSchema), never in mercurius' own
  // `resolvers` option, where it would be silently ignored.
  resolvers: GraphQLResolverMap<SubgraphContext>;
  verifier: Verifier;
}

export async function mountSubgraph(service: Service, options: SubgraphOptions): Promise<void> {
  const schema = buildSubgraphSchema([{ typeDefs: parse(readFileSync(options.sdlPath, 'utf8')), resolvers: options.resolvers }]);
  await service.app.register(mercurius, {
    schema,
    path: '/graphql',
    graphiql: false,
    context: async (request): Promise<SubgraphContext> => ({
      identity: await options.verifier(request.headers.authorization),
      requestId: request.id,
      logger: request.log as unknown as Logger,
    }),
    errorFormatter: (execution, context) => {
      const requestId = (context as { reply?: { request?: { id?: string } } }).reply?.request?.id ?? 'unknown';
      const errors = (execution.errors ?? []).map((error) => {
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
      return {
        statusCode: unauthenticated ? 401 : execution.data ? 200 : 400,
        response: { data: execution.data ?? null, errors },
      };
    },
  });
}
