// Live subscriptions over graphql-ws on the gateway's own port and path. @apollo/gateway cannot
// execute subscriptions, so the gateway serves them itself from the Kafka event stream: each event is
// resolved through the federated graph as a query with the subscriber's own identity (the pattern of
// Apollo's federation-subscription-tools), so a subscriber sees exactly what the same query shows
// them, and never a call outside their scope. The work for one event is shared by the subscribers
// with the same selection and scope.
import type { Server } from 'node:http';
import {
  extendSchema,
  isObjectType,
  type FieldNode,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  parse,
  print,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { decodeJwt } from 'jose';
import { WebSocketServer } from 'ws';
import { accessScope, type Identity, type Verifier } from '../platform/auth.ts';
import type { Logger } from '../platform/logger.ts';

export const SUBSCRIPTION_SDL = /* GraphQL */ `
  extend schema {
    subscription: Subscription
  }

  type Subscription {
    "A call changed: the one with this id, or every call the subscriber may see, optionally by status or tier."
    callUpdated(id: ID, status: [CallStatus!], tier: [Tier!]): Call!
  }
`;

/** What the gateway needs of a hub.call-events record. */
export interface CallEvent {
  eventId: string;
  type: string;
  callId: string;
  sequence: number;
  call: { status: string; tier: string };
}

export interface SubscriptionOptions {
  server: Server;
  verify: Verifier;
  logger: Logger;
  /** Runs a query through the federated graph with a subscriber's identity. */
  query: (
    document: string,
    variables: Record<string, unknown>,
    identity: Identity,
    authorization: string,
  ) => Promise<{ data?: Record<string, unknown> | null; errors?: readonly unknown[] }>;
  /** Events waiting for one subscriber before it counts as too slow and is disconnected. */
  bufferLimit?: number;
  heartbeatMs?: number;
}

interface SubscriberContext {
  identity: Identity;
  authorization: string;
  /** Closes the subscriber's connection (a slow consumer). */
  disconnect: (code: number, reason: string) => void;
}

const SLOW_CONSUMER = 4410;
const TOKEN_EXPIRED = 4401;

/** Resolves nested fields from the inner query's result, which is keyed by response name (aliases). */
const byResponseKey: GraphQLFieldResolver<Record<string, unknown>, unknown> = (source, _args, _context, info) =>
  source?.[info.path.key as string];

/** Fan-out of events to the subscriptions of this gateway copy. */
export class EventHub<T> {
  private readonly listeners = new Set<(event: T) => void>();
  publish(event: T): void {
    for (const listener of this.listeners) listener(event);
  }
  listen(listener: (event: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  get size(): number {
    return this.listeners.size;
  }
}

export function serveSubscriptions(apiSchema: () => GraphQLSchema, events: EventHub<CallEvent>, options: SubscriptionOptions) {
  const bufferLimit = options.bufferLimit ?? 256;
  // One resolution per (event, selection, scope), shared by every subscriber that asks the same.
  const shared = new Map<string, Promise<unknown>>();
  let schemaSource: GraphQLSchema | undefined;
  let schema: GraphQLSchema | undefined;

  function subscriptionSchema(): GraphQLSchema {
    const api = apiSchema();
    if (schema && schemaSource === api) return schema;
    const extended = extendSchema(api, parse(SUBSCRIPTION_SDL));
    // Every field below the subscription reads the inner query's result by response name (the
    // gateway's schema carries resolvers of its own, which know nothing of that result).
    for (const type of Object.values(extended.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) field.resolve = byResponseKey as GraphQLFieldResolver<unknown, unknown>;
    }
    const field = extended.getSubscriptionType()?.getFields().callUpdated;
    if (!field) throw new Error('the subscription schema lost callUpdated');
    field.subscribe = (_source, args, context: SubscriberContext, info) =>
      callUpdates(args as { id?: string; status?: string[]; tier?: string[] }, context, info);
    field.resolve = (payload: unknown) => payload;
    schemaSource = api;
    schema = extended;
    return extended;
  }

  /** The subscription's selection as a query of `call(id)`, declaring only the variables it uses. */
  function innerQuery(info: GraphQLResolveInfo): string {
    const field = info.fieldNodes[0] as FieldNode;
    const selection = field.selectionSet ? print(field.selectionSet) : '{ id }';
    const fragments = Object.values(info.fragments).map(print).join('\n');
    const used = (info.operation.variableDefinitions ?? []).filter((d) =>
      new RegExp(`\\$${d.variable.name.value}\\b`).test(`${selection} ${fragments}`),
    );
    const variables = ['$__callId: ID!', ...used.map(print)].join(', ');
    return `query HuyingCallUpdated(${variables}) { call(id: $__callId) ${selection} }\n${fragments}`;
  }

  function callUpdates(
    args: { id?: string; status?: string[]; tier?: string[] },
    context: SubscriberContext,
    info: GraphQLResolveInfo,
  ): AsyncIterableIterator<unknown> {
    const document = innerQuery(info);
    const { identity, authorization } = context;
    const scope = accessScope(identity);
    const pending: Array<Promise<unknown>> = [];
    let wake: (() => void) | undefined;
    let closed = false;

    const resolveEvent = (event: CallEvent) => {
      const key = `${event.eventId}|${scope}|${document}|${JSON.stringify(info.variableValues)}`;
      let result = shared.get(key);
      if (!result) {
        result = options
          .query(document, { ...info.variableValues, __callId: event.callId }, identity, authorization)
          .then((r) => {
            if (r.errors?.length) options.logger.warn({ errors: r.errors, callId: event.callId }, 'subscription query failed');
            return r.data?.call ?? null;
          });
        shared.set(key, result);
        void result.finally(() => setTimeout(() => shared.delete(key), 1000));
      }
      return result;
    };

    const stop = events.listen((event) => {
      if (args.id && event.callId !== args.id) return;
      if (args.status?.length && !args.status.includes(event.call.status)) return;
      if (args.tier?.length && !args.tier.includes(event.call.tier)) return;
      if (pending.length >= bufferLimit) {
        closeIterator();
        context.disconnect(SLOW_CONSUMER, `too slow: more than ${bufferLimit} events waiting`);
        return;
      }
      pending.push(resolveEvent(event).catch(() => null));
      wake?.();
    });

    function closeIterator() {
      closed = true;
      stop();
      wake?.();
    }

    const iterator: AsyncIterableIterator<unknown> = {
      [Symbol.asyncIterator]() {
        return iterator;
      },
      async next() {
        for (;;) {
          if (pending.length > 0) {
            const value = await (pending.shift() as Promise<unknown>);
            // Not visible to this subscriber (or gone): the same query would show nothing.
            if (value === null) continue;
            return { value, done: false };
          }
          if (closed) return { value: undefined, done: true };
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      },
      async return() {
        closeIterator();
        return { value: undefined, done: true };
      },
    };
    return iterator;
  }

  const wsServer = new WebSocketServer({ server: options.server, path: '/graphql' });
  const cleanup = useServer<Record<string, unknown>, { identity?: Identity; authorization?: string }>(
    {
      schema: () => subscriptionSchema(),
      // Tokens are checked when the connection opens, and the socket closes when the token expires.
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const authorization = typeof raw === 'string' ? raw : '';
        try {
          ctx.extra.identity = await options.verify(authorization);
        } catch {
          return false;
        }
        ctx.extra.authorization = authorization;
        const exp = decodeJwt(authorization.replace(/^Bearer\s+/i, '')).exp;
        if (exp) {
          const timer = setTimeout(() => ctx.extra.socket.close(TOKEN_EXPIRED, 'token expired'), exp * 1000 - Date.now());
          ctx.extra.socket.once('close', () => clearTimeout(timer));
        }
        return true;
      },
      context: (ctx): SubscriberContext => ({
        identity: ctx.extra.identity as Identity,
        authorization: ctx.extra.authorization as string,
        disconnect: (code, reason) => ctx.extra.socket.close(code, reason),
      }),
      onError: (_ctx, _id, _payload, errors) => {
        options.logger.warn({ errors: errors.map((e) => e.message) }, 'subscription error');
      },
    },
    wsServer,
  );

  // Heartbeats keep connections alive through proxies; a peer that stops answering is dropped.
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const alive = new WeakSet<object>();
  wsServer.on('connection', (socket) => {
    alive.add(socket);
    socket.on('pong', () => alive.add(socket));
  });
  const heartbeat = setInterval(() => {
    for (const socket of wsServer.clients) {
      if (!alive.has(socket)) {
        socket.terminate();
        continue;
      }
      alive.delete(socket);
      socket.ping();
    }
  }, heartbeatMs);
  heartbeat.unref();

  return {
    wsServer,
    async close() {
      clearInterval(heartbeat);
      await cleanup.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}

