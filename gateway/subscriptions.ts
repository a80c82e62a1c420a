// Live subscriptions over graphql-ws on the gateway's own port and path. @apollo/gateway cannot
// execute subscriptions, so the gateway serves them itself from the Kafka event stream: each event is
// resolved through the federated graph as a query with the subscriber's own identity (the pattern of
// Apollo's federation-subscription-tools), so a subscriber sees exactly what the same query shows
// them, and never a call outside their scope. The work for one event is shared by the subscribers
// with the same selection and scope, down to the message's bytes (see "Fan-out" below). Every
// subscription meets the HTTP path's protections: the token and cost limits, introspection and
// suggestions off in production, the same input checks, a frame size cap, and a cap on
// subscriptions per socket and per identity.
import type { Server } from 'node:http';
import {
  execute,
  type ExecutionResult,
  extendSchema,
  isObjectType,
  Kind,
  type FieldNode,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  NoSchemaIntrospectionCustomRule,
  parse,
  print,
  specifiedRules,
  validate,
  type ValidationRule,
} from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { decodeJwt } from 'jose';
import { type WebSocket, WebSocketServer } from 'ws';
import { accessScope, type Identity, type Verifier } from '../platform/auth.ts';
import { userError } from '../platform/errors.ts';
import { literalsProblem, variablesProblem } from '../platform/input.ts';
import { TOKEN_LIMIT_REFUSAL, tokenLimitError, withoutSuggestions } from '../platform/limits.ts';
import { REQUEST_LIMIT } from '../platform/service.ts';
import { jurisdictionOf, type UnitDirectory } from '../platform/unit-directory.ts';
import { actionOfField, allowed, fitsUnit, mayEver } from '../platform/policy.ts';
import type { Logger } from '../platform/logger.ts';
import type { CallEvent } from '../platform/call-event.ts';
import { type AllowList, allowListed } from './persisted.ts';
import { decodeCursor, encodeCursor, EventHub, type Place, type Position } from './replay.ts';

export { EventHub } from './replay.ts';

export const SUBSCRIPTION_SDL = /* GraphQL */ `
  extend schema {
    subscription: Subscription
  }

  type Subscription {
    """
    A call changed: the one with this id, or every call the subscriber may see, optionally by status or tier.
    Every message carries a resume cursor (extensions.cursor); subscribing again with after: <cursor> first
    delivers, in order, what was missed, then the live stream (CURSOR_EXPIRED when it is too old: re-query).
    """
    callUpdated(id: ID, status: [CallStatus!], tier: [Tier!], after: String): Call!
    "A call in the subscriber's inbox changed: one their unit handles, co-handles or must confirm, or just passed on. Resumable with after, as callUpdated."
    inboxChanged(after: String): Call!
    "A scope's dashboard counters changed (at most once a second a scope); period defaults to the current month. Resumable with after."
    dashboardCounters(scope: ID!, period: String, after: String): DashboardCounters!
    "三防 alerts (warnings raised and lifted, incidents) for an area: a street or below, or the district (default: the subscriber's own unit). Resumable with after."
    floodAlerts(area: ID, after: String): FloodAlert!
  }

  enum FloodAlertKind {
    WARNING
    WARNING_LIFTED
    INCIDENT
  }

  type FloodAlertPoint {
    lng: Float!
    lat: Float!
  }

  "A 三防 alert as the flood-prevention connector publishes it (hub.alerts)."
  type FloodAlert {
    alertId: ID!
    kind: FloodAlertKind!
    "RAINSTORM, TYPHOON, FLOOD … (warnings)"
    hazard: String
    "signal colour (warnings)"
    colour: String
    "emergency response level I–IV (warnings)"
    level: String
    "WATERLOGGING, DANGER, EVACUATION (incidents)"
    incidentType: String
    severity: String
    title: String!
    "the streets concerned"
    areaUnitIds: [ID!]!
    location: FloodAlertPoint
    inspectBy: String
    callId: ID
    orderId: ID
    occurredAt: String!
  }
`;

/** A hub.counters record (schemas/events/counter-event.schema.json), as far as the gateway reads it. */
export interface CounterEvent {
  scope: string;
  period: string;
  updatedAt: string;
}

/** A hub.alerts record (schemas/events/alert-event.schema.json). */
export interface AlertEvent {
  eventId: string;
  alertId: string;
  kind: string;
  areaUnitIds: string[];
  [field: string]: unknown;
}

/** The event streams subscriptions are served from, one hub per Kafka topic. */
export interface LiveStreams {
  calls: EventHub<CallEvent>;
  counters: EventHub<CounterEvent>;
  alerts: EventHub<AlertEvent>;
}

export interface SubscriptionOptions {
  server: Server;
  verify: Verifier;
  logger: Logger;
  directory: UnitDirectory;
  /** Runs a query through the federated graph with a subscriber's identity. */
  query: (
    document: string,
    variables: Record<string, unknown>,
    identity: Identity,
    authorization: string,
  ) => Promise<{ data?: Record<string, unknown> | null; errors?: readonly unknown[] }>;
  /** Rules every subscription document must pass besides GraphQL's own (the gateway's limits). */
  validationRules?: readonly ValidationRule[];
  /** Allow-list mode (PERSISTED_QUERIES_MANIFEST): only the manifest's subscriptions may start. */
  allowList?: AllowList;
  /** Tokens per document (MAX_TOKENS), and subscriptions at once per socket and per identity. */
  limits?: { maxTokens: number; perSocket: number; perIdentity: number };
  /** Production: introspection and field suggestions are off, as over HTTP. */
  production?: boolean;
  /** Events waiting for a subscriber (being resolved, or held while it catches up) before it counts as too slow and is disconnected (256). */
  bufferLimit?: number;
  /** Bytes waiting unsent on a subscriber's socket before it counts as too slow (1 MiB, the largest frame). */
  bufferBytes?: number;
  /** How long an event whose subgraph does not answer is asked again before it is given up (60 s). */
  retryMs?: number;
  heartbeatMs?: number;
}

interface SubscriberContext {
  identity: Identity;
  authorization: string;
  /** The subscription's graphql-ws id: its messages are written to `socket` under this id. */
  id: string;
  socket: WebSocket;
  /** The variables as the client sent them. */
  variables: Record<string, unknown>;
}

/** One event on its way to a channel's members, in topic order. */
interface Delivery extends Place {
  /** The channel's count of events: a member is sent those from its joining on. */
  seq: number;
  /** The topic position after the event: the resume cursor that goes with it. */
  position: Position;
  settled: boolean;
  /** What the event shows the channel (null: nothing), once resolved and shaped. */
  result?: ExecutionResult | null;
  /** The graphql-ws `payload` (with the message's closing brace) as bytes, serialized once for the channel. */
  payload?: Buffer;
}

/** A subscription in a channel. */
interface Member {
  context: SubscriberContext;
  /** Its messages' own bytes: `{"id":<its id>,"type":"next","payload":`. */
  prefix: Buffer;
  /** The channel's first event it is sent (those before it subscribed are not). */
  fromSeq: number;
  /** While it is shown what it missed (resumed with a cursor): the channel's events, held back until then. */
  held?: Delivery[];
  /** A resume cursor ahead of this copy's position (from a copy that had read further), until this copy passes it. */
  ahead?: Position;
  left: boolean;
  leave: () => void;
}

/** The subscriptions sent the same events with the same payload. */
interface Channel<E> {
  key: string;
  members: Set<Member>;
  audience: Audience<E>;
  /** Events being resolved, in topic order. */
  pending: Delivery[];
  nextSeq: number;
  /** What an event shows the channel's members (null: nothing), resolved and shaped once. */
  show: (event: E) => Promise<ExecutionResult | null>;
  stop: () => void;
}

type Args = Record<string, unknown>;

/** Which events a subscription is sent: `wants` depends on nothing but what `key` names. */
interface Audience<E> {
  key: string;
  wants: (event: E) => boolean;
}

/** How one subscription field turns events into payloads. */
interface LiveField<E> {
  events: EventHub<E>;
  /** The audience of a subscription with these arguments, held by this identity. */
  audience: (args: Args, identity: Identity) => Audience<E>;
  /** Identifies the event: one resolution per event, selection, variables and access scope. */
  eventKey: (event: E) => string;
  /**
   * The query field that shows the event's subject, its arguments' GraphQL types, and their values
   * for an event. Without it the event itself is the payload.
   */
  through?: { field: string; types: Record<string, string>; values: (event: E) => Record<string, unknown> };
}

const AREA_KINDS = new Set(['district', 'street', 'community', 'grid']);
const SLOW_CONSUMER = 4410;
const TOKEN_EXPIRED = 4401;

/** The longest delay setTimeout keeps (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs `run` at the instant `at` (ms since the epoch), however far away; the result cancels it. */
export function runAt(at: number, run: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const wait = at - Date.now();
    if (wait <= 0) return run();
    timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
  };
  arm();
  return () => clearTimeout(timer);
}

/** Answers that are final: the subscriber may not see the call (or it is gone), or asked wrongly. */
const FINAL_CODES = new Set(['NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED', 'BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED']);

/**
 * Asks until the answer is final: when the event's subject did not come back and not for a final
 * reason (its subgraph is down or restarting: SUBGRAPH_UNAVAILABLE …), it is asked again, 250 ms, 500 ms … 2 s apart, for up to `retryMs`, so the event is shown late rather
 * than dropped (the subscriber's later events wait behind it, in order). Gives up with null.
 */
async function untilAnswered(
  ask: () => Promise<{ data?: Record<string, unknown> | null; errors?: readonly unknown[] }>,
  field: string,
  retryMs: number,
  warn: (errors: readonly unknown[]) => void,
): Promise<Record<string, unknown> | null | undefined> {
  const deadline = Date.now() + retryMs;
  for (let attempt = 0; ; attempt++) {
    const answer = await ask().catch((err: unknown) => ({ data: null, errors: [{ message: String(err) }] }));
    const errors = answer.errors ?? [];
    const transient = errors.some((e) => !FINAL_CODES.has(String((e as { extensions?: { code?: unknown } }).extensions?.code)));
    // A partial answer (the subject, with another subgraph's fields missing) is shown as it is.
    if (!transient || answer.data?.[field] != null || Date.now() >= deadline) {
      if (errors.length > 0) warn(errors);
      return answer.data;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 250 * 2 ** attempt)));
  }
}

/** Resolves nested fields from the inner query's result, which is keyed by response name (aliases). */
const byResponseKey: GraphQLFieldResolver<Record<string, unknown>, unknown> = (source, _args, _context, info) =>
  source?.[info.path.key as string];

export function serveSubscriptions(apiSchema: () => GraphQLSchema, streams: LiveStreams, options: SubscriptionOptions) {
  const bufferLimit = options.bufferLimit ?? 256;
  const bufferBytes = options.bufferBytes ?? REQUEST_LIMIT;
  const retryMs = options.retryMs ?? 60_000;
  const { directory } = options;
  // One resolution per (event, selection, scope), shared by every subscriber that asks the same.
  const shared = new Map<string, Promise<unknown>>();
  let schemaSource: GraphQLSchema | undefined;
  let schema: GraphQLSchema | undefined;

  const jurisdiction = (identity: Identity) => jurisdictionOf(identity, directory);
  /** The area a unit covers: itself for a grid, community, street or the district; else the nearest one above (a command centre's street, a department's district). */
  const areaOf = (unitId: string) => {
    const path = directory.get(unitId)?.path ?? [unitId];
    return [...path].reverse().find((id) => AREA_KINDS.has(directory.get(id)?.kind ?? '')) ?? unitId;
  };
  /** The area a floodAlerts subscription watches: the one asked for, or the subscriber's own. */
  const alertArea = (args: Args, identity: Identity) => areaOf(typeof args.area === 'string' ? args.area : identity.unitId);
  type Subscribe = (args: Args, context: SubscriberContext, info: GraphQLResolveInfo) => AsyncIterableIterator<unknown>;
  const subscribe =
    <E>(live: LiveField<E>): Subscribe =>
    (args, context, info) =>
      join(live, args, context, info);
  const list = (value: unknown) => ((value as string[] | undefined)?.length ? (value as string[]) : undefined);
  const throughCall = { field: 'call', types: { id: 'ID!' }, values: (event: CallEvent) => ({ id: event.callId }) };
  const fields: Record<string, Subscribe> = {
    callUpdated: subscribe<CallEvent>({
      events: streams.calls,
      audience: (args) => {
        const id = typeof args.id === 'string' ? args.id : undefined;
        const status = list(args.status);
        const tier = list(args.tier);
        return {
          key: JSON.stringify(['callUpdated', id, status, tier]),
          wants: (event) => (!id || event.callId === id) && (!status || status.includes(event.call.status)) && (!tier || tier.includes(event.call.tier)),
        };
      },
      eventKey: (event: CallEvent) => event.eventId,
      through: throughCall,
    }),
    inboxChanged: subscribe<CallEvent>({
      events: streams.calls,
      audience: (_args, identity) => {
        const unit = jurisdiction(identity);
        const own = identity.unitId;
        return {
          key: JSON.stringify(['inboxChanged', unit, own]),
          wants: (event) => {
            const { handlingUnitId, coHandlingUnitIds, callerUnitId } = event.call;
            return handlingUnitId === unit || coHandlingUnitIds?.includes(unit) === true || callerUnitId === unit || event.actor?.unitId === own;
          },
        };
      },
      eventKey: (event: CallEvent) => event.eventId,
      through: throughCall,
    }),
    dashboardCounters: subscribe<CounterEvent>({
      events: streams.counters,
      audience: (args) => {
        const period = typeof args.period === 'string' ? args.period : undefined;
        return {
          key: JSON.stringify(['dashboardCounters', args.scope, period]),
          wants: (event) => event.scope === args.scope && (!period || event.period === period),
        };
      },
      eventKey: (event: CounterEvent) => `${event.scope}|${event.period}|${event.updatedAt}`,
      // The evaluation subgraph checks that the subscriber may see the scope, as for the query.
      through: {
        field: 'dashboardCounters',
        types: { scope: 'ID!', period: 'String' },
        values: (event: CounterEvent) => ({ scope: event.scope, period: event.period }),
      },
    }),
    floodAlerts: subscribe<AlertEvent>({
      events: streams.alerts,
      audience: (args, identity) => {
        const area = alertArea(args, identity);
        return {
          key: JSON.stringify(['floodAlerts', area]),
          // A street's alert reaches the street and everything in it; a grid's subscriber sees its street's.
          wants: (event) => directory.get(area)?.kind === 'district' || event.areaUnitIds.some((street) => directory.isWithin(area, street) || directory.isWithin(street, area)),
        };
      },
      eventKey: (event: AlertEvent) => event.eventId,
    }),
  };

  function subscriptionSchema(): GraphQLSchema {
    const api = apiSchema();
    if (schema && schemaSource === api) return schema;
    const extended = extendSchema(api, parse(SUBSCRIPTION_SDL));
    // Every field of the federated types reads the inner query's result by response name (the
    // gateway's schema carries resolvers of its own, which know nothing of that result). The types
    // the gateway adds (FloodAlert) keep the default resolvers: their payload is the event.
    for (const type of Object.values(extended.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || !api.getType(type.name)) continue;
      for (const field of Object.values(type.getFields())) field.resolve = byResponseKey as GraphQLFieldResolver<unknown, unknown>;
    }
    const subscription = extended.getSubscriptionType()?.getFields() ?? {};
    for (const [name, start] of Object.entries(fields)) {
      const field = subscription[name];
      if (!field) throw new Error(`the subscription schema lost ${name}`);
      field.subscribe = (_source, args: Args, context: SubscriberContext, info) => {
        authorizeSubscription(name, args, context.identity);
        return start(args, context, info);
      };
      field.resolve = (payload: unknown) => payload;
    }
    schemaSource = api;
    schema = extended;
    return extended;
  }

  /**
   * The policy's decision when a subscription starts (platform/policy.ts): calls for a role that reads
   * calls at all (each event is then shown through the same query as for a request); counters and
   * alerts for the scope or area asked for. A refusal is FORBIDDEN, before anything is streamed.
   */
  function authorizeSubscription(name: string, args: Args, identity: Identity): void {
    if (name === 'floodAlerts' && typeof args.area === 'string' && !directory.get(args.area)) {
      throw userError('NOT_FOUND', `单位不存在：${args.area} (unknown area)`, { unitId: args.area });
    }
    const action = actionOfField('Subscription', name);
    const given = name === 'dashboardCounters' ? args.scope : undefined;
    // An alert subscription watches an area (the one asked for, or the subscriber's own).
    const place = name === 'floodAlerts' ? alertArea(args, identity) : typeof given === 'string' ? given : undefined;
    const ok =
      place === undefined
        ? mayEver(identity, action) && fitsUnit(identity, directory)
        : allowed(identity, action, { unitId: place }, directory);
    if (!ok) throw new GraphQLError(`无权订阅 ${name} (not allowed: ${action})`, { extensions: { code: 'FORBIDDEN', action } });
  }

  /** The subscription's variables that `text` uses. */
  const variablesIn = (info: GraphQLResolveInfo, text: string) =>
    (info.operation.variableDefinitions ?? []).filter((d) => new RegExp(`\\$${d.variable.name.value}\\b`).test(text));

  /** The subscription's selection as a query of `field`, declaring only the variables it uses. */
  function innerQuery(info: GraphQLResolveInfo, rootField: string, types: Record<string, string>): string {
    const field = info.fieldNodes[0] as FieldNode;
    const selection = field.selectionSet ? print(field.selectionSet) : '';
    const fragments = Object.values(info.fragments).map(print).join('\n');
    const used = variablesIn(info, `${selection} ${fragments}`);
    const names = Object.keys(types);
    const variables = [...names.map((n) => `$__${n}: ${types[n]}`), ...used.map(print)].join(', ');
    const args = names.map((n) => `${n}: $__${n}`).join(', ');
    return `query HuyingLive(${variables}) { ${rootField}(${args}) ${selection} }\n${fragments}`;
  }

  // Fan-out. Subscribers sent the same events with the same payload (one audience, one selection with
  // the variables it uses, one access scope) form a channel: the channel takes each event once, has it
  // resolved and shaped once, serializes its graphql-ws payload once, and writes those bytes to each
  // member's socket behind the member's own message prefix (its subscription id). graphql-ws still
  // runs the protocol (connection, subscribe, complete, errors); only the `next` messages bypass its
  // per-subscriber execution and serialization.
  const channels = new Map<string, Channel<unknown>>();
  // A reloaded supergraph starts new channels (the old ones keep shaping with the schema they began with).
  const schemaVersions = new WeakMap<GraphQLSchema, number>();
  let schemaCount = 0;
  const schemaVersion = (schema: GraphQLSchema) => {
    if (!schemaVersions.has(schema)) schemaVersions.set(schema, ++schemaCount);
    return schemaVersions.get(schema) as number;
  };

  /** The `payload` of a `next` message and the message's closing brace, as bytes. */
  const payloadBytes = (result: ExecutionResult, cursor: string) =>
    Buffer.from(`${JSON.stringify({ ...result, extensions: { ...result.extensions, cursor } })}}`);

  function write(member: Member, payload: Buffer): void {
    const { socket } = member.context;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > bufferBytes) return slow(member, `more than ${bufferBytes} bytes unsent`);
    // A text frame, as graphql-ws sends (a Buffer would go as a binary frame, which clients drop).
    socket.send(Buffer.concat([member.prefix, payload], member.prefix.length + payload.length), { binary: false });
  }

  function slow(member: Member, reason: string): void {
    member.context.socket.close(SLOW_CONSUMER, `too slow: ${reason}`);
    member.leave();
  }

  /** A channel's event to one member: skipped when it came before the member, held while it catches up. */
  function deliver(member: Member, delivery: Delivery): void {
    if (delivery.seq < member.fromSeq || !delivery.result || !delivery.payload) return;
    if (member.held) {
      if (member.held.length >= bufferLimit) return slow(member, `more than ${bufferLimit} events waiting`);
      member.held.push(delivery);
      return;
    }
    const ahead = member.ahead;
    if (!ahead) return write(member, delivery.payload);
    // Resumed from a copy that had read further: what that copy showed it is not shown again, and
    // its cursor never goes back.
    if (delivery.offset >= 0 && delivery.offset < (ahead[delivery.partition] ?? 0)) return;
    const position = delivery.position.map((offset, p) => Math.max(offset, ahead[p] ?? 0));
    if (position.every((offset, p) => offset === delivery.position[p])) member.ahead = undefined;
    write(member, payloadBytes(delivery.result, encodeCursor(position)));
  }

  /** Sends a channel's resolved events, in topic order, to its members. */
  function flush(channel: Channel<unknown>): void {
    while (channel.pending[0]?.settled) {
      const delivery = channel.pending.shift() as Delivery;
      if (delivery.payload) for (const member of channel.members) deliver(member, delivery);
    }
  }

  function openChannel<E>(key: string, live: LiveField<E>, audience: Audience<E>, info: GraphQLResolveInfo, context: SubscriberContext): Channel<E> {
    const scope = accessScope(context.identity);
    const through = live.through;
    const document = through ? innerQuery(info, through.field, through.types) : '';
    // Only the variables the inner query uses: subscribers resuming from different cursors (`after`) share.
    const variables = Object.fromEntries(Object.entries(info.variableValues).filter(([name]) => new RegExp(`\\$${name}\\b`).test(document)));
    const variablesKey = JSON.stringify(variables);
    // The subscription as its first subscriber sent it: shaping a payload with it gives what graphql-js
    // gives each subscriber (the root field's arguments decide nothing there).
    const shaping = {
      schema: info.schema,
      document: { kind: Kind.DOCUMENT, definitions: [info.operation, ...Object.values(info.fragments)] } as DocumentNode,
      operationName: info.operation.name?.value,
      variableValues: context.variables,
    };
    const members = new Set<Member>();
    const resolve = (event: E): Promise<unknown> => {
      if (!through) return Promise.resolve(event);
      const sharedKey = `${live.eventKey(event)}|${scope}|${document}|${variablesKey}`;
      let result = shared.get(sharedKey);
      if (!result) {
        // Asked with the identity of a member still connected (its token has not expired).
        const asker = members.values().next().value?.context ?? context;
        const inner = Object.fromEntries(Object.entries(through.values(event)).map(([n, value]) => [`__${n}`, value]));
        const ask = () => options.query(document, { ...variables, ...inner }, asker.identity, asker.authorization);
        result = untilAnswered(ask, through.field, retryMs, (errors) => options.logger.warn({ errors, field: through.field }, 'subscription query failed'))
          .then((data) => data?.[through.field] ?? null)
          .catch(() => null);
        shared.set(sharedKey, result);
        void result.finally(() => setTimeout(() => shared.delete(sharedKey), 1000));
      }
      return result;
    };
    const channel: Channel<E> = {
      key,
      members,
      audience,
      pending: [],
      nextSeq: 0,
      // Not visible to this scope (or gone): the same query would show nothing, and nothing is sent.
      show: async (event) => {
        const value = await resolve(event);
        if (value === null || value === undefined) return null;
        return (await execute({ ...shaping, rootValue: value }));
      },
      stop: () => undefined,
    };
    const hub = live.events;
    channel.stop = hub.listen((entry) => {
      if (!audience.wants(entry.event)) return;
      if (channel.pending.length >= bufferLimit) {
        for (const member of [...members]) slow(member, `more than ${bufferLimit} events waiting`);
        return;
      }
      const delivery: Delivery = { seq: channel.nextSeq++, partition: entry.partition, offset: entry.offset, position: hub.position, settled: false };
      channel.pending.push(delivery);
      void channel
        .show(entry.event)
        .then(
          (result) => {
            delivery.result = result;
            if (result) delivery.payload = payloadBytes(result, encodeCursor(delivery.position));
          },
          (err: unknown) => options.logger.warn({ err }, 'subscription payload failed'),
        )
        .finally(() => {
          delivery.settled = true;
          flush(channel as Channel<unknown>);
        });
    });
    channels.set(key, channel as Channel<unknown>);
    return channel;
  }

  /** A resuming member: what it missed, in topic order, each with the cursor after it; then what its channel sent meanwhile. */
  async function replay<E>(channel: Channel<E>, member: Member, missed: Array<{ event: E } & Place>, start: Position): Promise<void> {
    const admitted = [...start];
    const shown: Array<{ event: E; cursor: string; result?: Promise<ExecutionResult | null> }> = [];
    for (const entry of missed) {
      if (entry.offset < (admitted[entry.partition] ?? 0)) continue;
      admitted[entry.partition] = entry.offset + 1;
      if (channel.audience.wants(entry.event)) shown.push({ event: entry.event, cursor: encodeCursor(admitted) });
    }
    for (const [i, item] of shown.entries()) {
      // A few ahead of the one being sent are resolved at once.
      for (const next of shown.slice(i, i + 8)) next.result ??= channel.show(next.event).catch(() => null);
      const result = await item.result;
      if (member.left) return;
      if (result) write(member, payloadBytes(result, item.cursor));
    }
    const held = member.held ?? [];
    member.held = undefined;
    for (const delivery of held) deliver(member, delivery);
  }

  /** A subscription joins its channel; the iterator graphql-ws holds yields nothing and ends when it leaves. */
  function join<E>(live: LiveField<E>, args: Args, context: SubscriberContext, info: GraphQLResolveInfo): AsyncIterableIterator<unknown> {
    const hub = live.events;
    // Where this subscriber stands in the topic: resumed from its cursor, or from now on.
    const head = hub.position;
    const resumed = typeof args.after === 'string';
    const start = resumed ? decodeCursor(args.after as string) : head;
    const missed = resumed ? hub.since(start) : [];
    const audience = live.audience(args, context.identity);
    const field = info.fieldNodes[0] as FieldNode;
    // What the payload depends on: the field with its alias, directives and selection, the fragments, the variables they use.
    const shape = [print({ ...field, arguments: [] }), ...Object.values(info.fragments).map(print)].join('\n');
    const used = variablesIn(info, shape).map((d) => [d.variable.name.value, context.variables[d.variable.name.value]]);
    const key = [audience.key, accessScope(context.identity), schemaVersion(info.schema), shape, JSON.stringify(used)].join('\n');
    const channel = (channels.get(key) as Channel<E> | undefined) ?? openChannel(key, live, audience, info, context);
    const done = { value: undefined, done: true } as const;
    let finish: (() => void) | undefined;
    const member: Member = {
      context,
      prefix: Buffer.from(`{"id":${JSON.stringify(context.id)},"type":"next","payload":`),
      fromSeq: channel.nextSeq,
      held: missed.length > 0 ? [] : undefined,
      ahead: start.some((offset, p) => offset > (head[p] ?? 0)) ? start : undefined,
      left: false,
      leave: () => {
        if (member.left) return;
        member.left = true;
        channel.members.delete(member);
        hub.subscribed(-1);
        if (channel.members.size === 0 && channels.get(key) === channel) {
          channel.stop();
          channels.delete(key);
        }
        finish?.();
      },
    };
    channel.members.add(member);
    hub.subscribed(1);
    if (member.held) void replay(channel, member, missed, start);
    const iterator: AsyncIterableIterator<unknown> = {
      [Symbol.asyncIterator]: () => iterator,
      next: () =>
        new Promise((resolve) => {
          if (member.left) resolve(done);
          else finish = () => resolve(done);
        }),
      return: async () => {
        member.leave();
        return done;
      },
    };
    return iterator;
  }

  // The same limits as queries over HTTP (depth, aliases, cost …), refused with the same code; in
  // production no introspection and no field suggestions.
  const production = options.production === true;
  const rules = [...specifiedRules, ...(options.validationRules ?? []), ...(production ? [NoSchemaIntrospectionCustomRule] : [])];
  const check = (schema: GraphQLSchema, document: DocumentNode): GraphQLError[] =>
    validate(schema, document, rules).map(
      (error) =>
        new GraphQLError(production ? withoutSuggestions(error.message) : error.message, {
          nodes: error.nodes,
          extensions: { ...error.extensions, code: 'GRAPHQL_VALIDATION_FAILED' },
        }),
    );
  const parseLimited = (query: string): DocumentNode | GraphQLError => {
    try {
      return parse(query, { maxTokens: options.limits?.maxTokens });
    } catch (err) {
      if (TOKEN_LIMIT_REFUSAL.test((err as Error).message)) return tokenLimitError(options.limits?.maxTokens ?? 0);
      return new GraphQLError((err as Error).message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
    }
  };

  // Subscriptions open on each identity's sockets: a subscription counts from its subscribe message
  // until it ends (graphql-ws keeps each socket's in `subscriptions`).
  const socketsOf = new Map<string, Set<Context>>();
  const identityKey = (identity: Identity) => `${identity.subject}@${identity.unitId}`;
  const tooMany = (message: string) => [new GraphQLError(message, { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } })];

  // A frame may be as large as an HTTP request body, no larger (a bigger one closes the socket, 1009).
  const wsServer = new WebSocketServer({ server: options.server, path: '/graphql', maxPayload: REQUEST_LIMIT });
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
        // Verified above; its exp is required. The timer holds for any lifetime.
        const exp = decodeJwt(authorization.replace(/^Bearer\s+/i, '')).exp as number;
        const cancel = runAt(exp * 1000, () => ctx.extra.socket.close(TOKEN_EXPIRED, 'token expired'));
        const key = identityKey(ctx.extra.identity);
        const sockets = socketsOf.get(key) ?? new Set();
        sockets.add(ctx);
        socketsOf.set(key, sockets);
        ctx.extra.socket.once('close', () => {
          cancel();
          sockets.delete(ctx);
          if (sockets.size === 0 && socketsOf.get(key) === sockets) socketsOf.delete(key);
        });
        return true;
      },
      // Every subscription is read, checked and capped here: the token limit while parsing, the
      // allow-list (a client may send a listed operation's hash alone), validation, the input checks.
      onSubscribe: (ctx, _id, payload) => {
        const identity = ctx.extra.identity as Identity;
        const caps = options.limits;
        // graphql-ws has already entered this subscription in the socket's.
        if (caps && Object.keys(ctx.subscriptions).length > caps.perSocket) {
          return tooMany(`每个连接最多 ${caps.perSocket} 个订阅 (at most ${caps.perSocket} subscriptions per socket)`);
        }
        const held = [...(socketsOf.get(identityKey(identity)) ?? [])].reduce((sum, c) => sum + Object.keys(c.subscriptions).length, 0);
        if (caps && held > caps.perIdentity) {
          return tooMany(`每个身份最多 ${caps.perIdentity} 个订阅 (at most ${caps.perIdentity} subscriptions per identity)`);
        }
        let query = payload.query;
        if (options.allowList) {
          const checked = allowListed(options.allowList, payload);
          if ('refusal' in checked) return [new GraphQLError(checked.refusal, { extensions: { code: 'PERSISTED_QUERY_NOT_ALLOWED' } })];
          query = checked.params.query as string;
        }
        const document = parseLimited(query);
        if (document instanceof GraphQLError) return [document];
        const schema = subscriptionSchema();
        const invalid = check(schema, document);
        if (invalid.length > 0) return invalid;
        const problem = variablesProblem(payload.variables) ?? literalsProblem(document);
        if (problem) return [problem];
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
      },
      context: (ctx, id, _payload, args): SubscriberContext => ({
        identity: ctx.extra.identity as Identity,
        authorization: ctx.extra.authorization as string,
        id,
        socket: ctx.extra.socket,
        variables: (args.variableValues ?? {}),
      }),
      onError: (_ctx, _id, _payload, errors) => {
        options.logger.warn({ errors: errors.map((e) => e.message) }, 'subscription error');
      },
    },
    wsServer,
    // Heartbeats keep connections alive through proxies: each socket is pinged every heartbeatMs on a
    // timer of its own (spread over time, not all sockets at once), and dropped when no pong comes back
    // before the next.
    options.heartbeatMs ?? 15_000,
  );

  return {
    wsServer,
    async close() {
      await cleanup.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
