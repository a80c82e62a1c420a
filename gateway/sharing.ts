// Shared in-flight work. Dashboards and agency apps send many identical operations at once: an
// operation identical to one already executing (same document, operation name and variables) for
// the same access scope waits for that execution instead of running again, and so does an identical
// subgraph fetch. Nothing is cached after it completes, and nothing is shared across access scopes.
import type { ApolloServerPlugin, BaseContext, GraphQLResponse } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { OperationTypeNode } from 'graphql';
import { Counter, type Registry } from 'prom-client';

/** The header that carries the access scope on a subgraph request, so a shared fetch keys on it. */
export const SCOPE_HEADER = 'x-huying-access-scope';

function sharedCounter(registry: Registry, name: string, help: string): Counter {
  return new Counter({ name, help, registers: [registry] });
}

/**
 * Queries (never mutations) identical to one in flight for the same scope take its result. The
 * context's `scope` names the access scope (platform/auth.ts accessScope).
 */
export function shareInFlightOperations<C extends BaseContext & { scope: string }>(registry: Registry): ApolloServerPlugin<C> {
  const inFlight = new Map<string, Promise<GraphQLResponse['body']>>();
  const shared = sharedCounter(registry, 'huying_gateway_shared_operations_total', 'Operations answered by an identical one in flight');
  return {
    async requestDidStart() {
      let settle: ((body: GraphQLResponse['body']) => void) | undefined;
      let key: string | undefined;
      return {
        async responseForOperation({ operation, request, source, contextValue }) {
          if (operation.operation !== OperationTypeNode.QUERY) return null;
          key = JSON.stringify([contextValue.scope, request.operationName ?? null, request.variables ?? null, source]);
          const running = inFlight.get(key);
          if (running) {
            shared.inc();
            key = undefined;
            return { http: { headers: new HeaderMap() }, body: await running };
          }
          inFlight.set(key, new Promise((resolve) => (settle = resolve)));
          return null;
        },
        async willSendResponse({ response }) {
          if (!key || !settle) return;
          inFlight.delete(key);
          settle(response.body);
        },
      };
    },
  };
}

interface FetchedResponse {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: string;
}

/**
 * A fetch for subgraph requests that shares identical query fetches in flight (same URL, body and
 * access scope) and gives up after `timeoutMs`.
 */
export function sharedSubgraphFetch(timeoutMs: number, registry: Registry): typeof fetch {
  const inFlight = new Map<string, Promise<FetchedResponse>>();
  const shared = sharedCounter(registry, 'huying_gateway_shared_subgraph_fetches_total', 'Subgraph fetches answered by an identical one in flight');
  const fetchOnce = async (input: string | URL | Request, init: RequestInit | undefined): Promise<FetchedResponse> => {
    const response = await fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    return {
      status: response.status,
      statusText: response.statusText,
      headers: [...response.headers.entries()],
      body: await response.text(),
    };
  };
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const body = typeof init?.body === 'string' ? init.body : undefined;
    const scope = headers.get(SCOPE_HEADER);
    // Query plans send `query …` documents; a mutation is never shared.
    const isQuery = body !== undefined && /^\{"query":"(query\b|\{)/.test(body);
    if (!scope || !isQuery) return fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const key = `${input instanceof Request ? input.url : input.toString()}\n${scope}\n${body}`;
    let running = inFlight.get(key);
    if (running) shared.inc();
    else {
      running = fetchOnce(input, init);
      inFlight.set(key, running);
      void running.then(
        () => inFlight.delete(key),
        () => inFlight.delete(key),
      );
    }
    const fetched = await running;
    return new Response(fetched.body, { status: fetched.status, statusText: fetched.statusText, headers: fetched.headers });
  });
}
