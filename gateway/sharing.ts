// Shared in-flight work. Dashboards and agency apps send many identical operations at once: a
// request identical to one already executing (same document, operation name and variables) for the
// same access scope waits for that execution instead of running again, and so does an identical
// subgraph fetch. Nothing is cached after it completes, and nothing is shared across access scopes.
import type { Fetcher, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import { Kind, parse } from 'graphql';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import { Agent, request } from 'undici';

/**
 * The header that carries the access scope on a subgraph query (never a mutation), so identical query
 * fetches share one request keyed on it.
 */
export const SCOPE_HEADER = 'x-huying-access-scope';

const operationTypes = new LRUCache<string, string>({ max: 2000 });

/** Whether a subgraph operation's text is a query (plans repeat, so the answer is remembered per text). */
export function isQueryDocument(text: string): boolean {
  let type = operationTypes.get(text);
  if (type === undefined) {
    try {
      const operations = parse(text).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
      type = operations.length === 1 ? (operations[0]?.operation ?? 'unknown') : 'unknown';
    } catch {
      type = 'unknown';
    }
    operationTypes.set(text, type);
  }
  return type === 'query';
}

function sharedCounter(registry: Registry, name: string, help: string): Counter {
  return new Counter({ name, help, registers: [registry] });
}

/** A gateway answer as sent over HTTP: what identical requests in flight may share. */
export interface HttpAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

/**
 * Identical requests in flight for the same access scope (same method, query string and body) run
 * once: the first executes and those arriving meanwhile send its answer, without going through the
 * GraphQL pipeline at all. Only a query's answer is shared; when the first turns out to be a mutation
 * (or fails), each waiting request executes itself.
 */
export function shareInFlightRequests(registry: Registry) {
  const inFlight = new Map<string, Promise<HttpAnswer | undefined>>();
  const shared = sharedCounter(registry, 'huying_gateway_shared_operations_total', 'Operations answered by an identical one in flight');
  return async <A extends HttpAnswer>(key: string, execute: () => Promise<{ answer: A; query: boolean }>): Promise<A> => {
    const running = inFlight.get(key);
    if (running) {
      const answer = (await running) as A | undefined;
      if (answer) {
        shared.inc();
        return answer;
      }
      return (await execute()).answer;
    }
    let settle: (answer: HttpAnswer | undefined) => void = () => undefined;
    inFlight.set(key, new Promise((resolve) => (settle = resolve)));
    try {
      const { answer, query } = await execute();
      settle(query ? answer : undefined);
      return answer;
    } catch (err) {
      settle(undefined);
      throw err;
    } finally {
      inFlight.delete(key);
    }
  };
}

/** A subgraph's answer, read whole: the part of a fetch Response the gateway's data sources use. */
function subgraphResponse(url: string, status: number, headers: Headers, body: string): FetcherResponse {
  return {
    url,
    status,
    statusText: '',
    ok: status >= 200 && status < 300,
    redirected: false,
    bodyUsed: false,
    headers,
    text: async () => body,
    json: async (): Promise<unknown> => JSON.parse(body),
    arrayBuffer: async () => new TextEncoder().encode(body).buffer,
    clone: () => subgraphResponse(url, status, headers, body),
  };
}

/**
 * The gateway's fetch for subgraph requests, over kept-alive connections (undici's request, without
 * the WHATWG fetch machinery, which cost the gateway more CPU than planning and shaping together). A
 * subgraph that sends nothing for `timeoutMs` fails its part. Identical query fetches in flight (same
 * URL, body and access scope) are sent once.
 */
export function sharedSubgraphFetch(timeoutMs: number, registry: Registry): Fetcher {
  const agent = new Agent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const inFlight = new Map<string, Promise<FetcherResponse>>();
  const shared = sharedCounter(registry, 'huying_gateway_shared_subgraph_fetches_total', 'Subgraph fetches answered by an identical one in flight');
  const fetchOnce = async (url: string, init: FetcherRequestInit | undefined): Promise<FetcherResponse> => {
    const response = await request(url, {
      dispatcher: agent,
      method: init?.method ?? 'GET',
      headers: init?.headers,
      body: init?.body,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    return subgraphResponse(url, response.statusCode, headers, await response.body.text());
  };
  return async (url, init) => {
    const body = typeof init?.body === 'string' ? init.body : undefined;
    // Only queries carry the scope (see SCOPE_HEADER): a mutation is never shared.
    const scope = init?.headers?.[SCOPE_HEADER];
    if (!scope || body === undefined) return fetchOnce(url, init);
    const key = `${url}\n${scope}\n${body}`;
    let running = inFlight.get(key);
    if (running) shared.inc();
    else {
      running = fetchOnce(url, init);
      inFlight.set(key, running);
      void running.then(
        () => inFlight.delete(key),
        () => inFlight.delete(key),
      );
    }
    return running;
  };
}
