// The subscription fan-out (gateway/subscriptions.ts) over real graphql-ws sockets, in process: the
// events are published into the hub by hand and each is resolved through a small graph that answers
// as the calls subgraph does (a call outside the asker's street is FORBIDDEN). What reaches the
// sockets is read as raw frames.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema, graphql, GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { demoUnits } from '../demo/district.ts';
import { createVerifier, type Identity, mintToken, type Role } from '../platform/auth.ts';
import type { CallEvent } from '../platform/call-event.ts';
import { createLogger } from '../platform/logger.ts';
import { UnitDirectory } from '../platform/unit-directory.ts';
import { waitFor } from '../test/support/wait.ts';
import { EventHub } from './replay.ts';
import { type AlertEvent, type CounterEvent, serveSubscriptions } from './subscriptions.ts';

const API = buildSchema(/* GraphQL */ `
  enum CallStatus { RAISED DISPATCHED }
  enum Tier { GRID COMMUNITY STREET DEPARTMENT LEADERSHIP }
  type Call { id: ID! title: String! status: CallStatus! tier: Tier! street: String! }
  type DashboardCounters { raised: Int! }
  type Query { call(id: ID!): Call dashboardCounters(scope: ID!, period: String): DashboardCounters }
`);
const directory = new UnitDirectory(demoUnits());
const calls = new Map<string, { id: string; title: string; status: string; tier: string; street: string }>();
/** The inner queries the gateway asked, by the asker's unit. */
const asked: string[] = [];

let server: Server;
let fanout: ReturnType<typeof serveSubscriptions>;
const streams = { calls: new EventHub<CallEvent>('calls'), counters: new EventHub<CounterEvent>('counters'), alerts: new EventHub<AlertEvent>('alerts') };
let url: string;

beforeAll(async () => {
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  fanout = serveSubscriptions(() => API, streams, {
    server,
    verify: createVerifier({ JWT_ISSUER: 'huying', JWT_AUDIENCE: 'huying', NODE_ENV: 'test' }),
    logger: createLogger('fanout-test', 'error'),
    directory,
    query: async (document, variables, identity: Identity) => {
      asked.push(identity.unitId);
      // A subgraph that never answers (the slow-consumer case).
      if (String(variables.__id).startsWith('stuck')) return new Promise(() => undefined);
      const result = await graphql({
        schema: API,
        source: document,
        variableValues: variables,
        rootValue: {
          call: ({ id }: { id: string }) => {
            const call = calls.get(id);
            if (!call) return null;
            if (identity.role !== 'district_command' && identity.unitId !== call.street) {
              throw new GraphQLError('无权查看 (not allowed)', { extensions: { code: 'FORBIDDEN' } });
            }
            return call;
          },
        },
      });
      return { data: result.data as Record<string, unknown> | null, errors: result.errors?.map((e) => e.toJSON()) };
    },
  });
});

afterAll(async () => {
  await fanout.close();
  await new Promise((resolve) => server.close(resolve));
});

/** A raw graphql-ws subscriber: every frame it receives, as text, and how its socket closed. */
async function subscriber(unitId: string, role: Role, query: string, variables: Record<string, unknown> = {}, subject = `fanout-${Math.random()}`) {
  const token = await mintToken({ subject, unitId, role });
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const frames: string[] = [];
  const closed: number[] = [];
  socket.on('close', (code) => closed.push(code));
  const id = `sub-${Math.random().toString(36).slice(2)}`;
  socket.on('message', (data: Buffer, binary: boolean) => {
    // graphql-ws speaks in text frames only.
    const text = binary ? '<binary frame>' : data.toString('utf8');
    if (JSON.parse(text).type === 'connection_ack') socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    else frames.push(text);
  });
  socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
  return { id, frames, socket, closed };
}

let eventCount = 0;
function raise(street: string, title: string, id = `call-${eventCount + 1}`): string {
  eventCount++;
  calls.set(id, { id, title, status: 'RAISED', tier: 'GRID', street });
  const event = { eventId: `e-${eventCount}`, callId: id, call: { status: 'RAISED', tier: 'GRID', handlingUnitId: `${street}-c1-g1` } } as unknown as CallEvent;
  streams.calls.publish(event, { partition: 0, offset: eventCount });
  return id;
}

describe('subscription fan-out', () => {
  it('sends every subscriber of one selection and scope the same bytes, resolved once, and nothing to another scope', async () => {
    const selection = 'subscription { callUpdated(status: [RAISED]) { id title status } }';
    const district = await Promise.all([1, 2, 3].map(() => subscriber('huangpu-command', 'district_command', selection)));
    const street = await Promise.all([1, 2].map(() => subscriber('changzhou', 'street', selection)));
    const otherStreet = await subscriber('lianhe', 'street', selection);
    // Another selection in the same scope is a payload of its own.
    const titled = await subscriber('huangpu-command', 'district_command', 'subscription { callUpdated { name: title } }');
    await waitFor('seven subscriptions live', () => (streams.calls.size === 7 ? true : undefined));

    asked.length = 0;
    const id = raise('changzhou', '井盖缺失');
    const everyone = [...district, ...street, titled];
    await waitFor('the call at every subscriber of its street and the district', () => (everyone.every((s) => s.frames.length === 1) ? true : undefined));

    // The same bytes but for each subscription's own id.
    const own = (s: { id: string; frames: string[] }) => (s.frames[0] as string).replace(JSON.stringify(s.id), '"<id>"');
    expect(new Set(district.map(own)).size).toBe(1);
    expect(new Set(street.map(own)).size).toBe(1);
    const message = JSON.parse(district[0]?.frames[0] as string);
    expect(message).toEqual({ id: district[0]?.id, type: 'next', payload: { data: { callUpdated: { id, title: '井盖缺失', status: 'RAISED' } }, extensions: { cursor: '2' } } });
    expect(JSON.parse(titled.frames[0] as string).payload.data).toEqual({ callUpdated: { name: '井盖缺失' } });
    // Once per scope and selection: the district (twice: two selections), changzhou and lianhe (refused).
    expect(asked.sort()).toEqual(['changzhou', 'huangpu-command', 'huangpu-command', 'lianhe']);
    expect(otherStreet.frames).toEqual([]);

    // The other street's own call reaches it, and no subscriber of changzhou.
    const theirs = raise('lianhe', '路灯不亮');
    await waitFor('the other street’s call', () => (otherStreet.frames.length === 1 ? true : undefined));
    expect(JSON.parse(otherStreet.frames[0] as string).payload.data.callUpdated.id).toBe(theirs);
    await waitFor('the district has it too', () => (district.every((s) => s.frames.length === 2) ? true : undefined));
    expect(street.every((s) => s.frames.length === 1)).toBe(true);

    for (const s of [...everyone, otherStreet]) s.socket.close();
    await waitFor('every subscription ended', () => (streams.calls.size === 0 ? true : undefined));
  });

  it('keeps apart subscribers whose selections differ only by a variable', async () => {
    const selection = 'subscription($titled: Boolean!) { callUpdated { id title @include(if: $titled) } }';
    const titled = await subscriber('huangpu-command', 'district_command', selection, { titled: true });
    const plain = await subscriber('huangpu-command', 'district_command', selection, { titled: false });
    await waitFor('both subscribed', () => (streams.calls.size === 2 ? true : undefined));
    const id = raise('lianhe', '占道经营');
    await waitFor('both', () => (titled.frames.length === 1 && plain.frames.length === 1 ? true : undefined));
    expect(JSON.parse(titled.frames[0] as string).payload.data.callUpdated).toEqual({ id, title: '占道经营' });
    expect(JSON.parse(plain.frames[0] as string).payload.data.callUpdated).toEqual({ id });
    titled.socket.close();
    plain.socket.close();
    await waitFor('both ended', () => (streams.calls.size === 0 ? true : undefined));
  });

  it('resumes a cursor from a copy that had read further without showing again what that copy showed, its cursor never going back', async () => {
    const selection = 'subscription($after: String) { callUpdated(after: $after) { id } }';
    const head = streams.calls.position[0] as number;
    const fresh = await subscriber('huangpu-command', 'district_command', selection);
    const resumed = await subscriber('huangpu-command', 'district_command', selection, { after: String(head + 2) });
    await waitFor('both subscribed', () => (streams.calls.size === 2 ? true : undefined));
    const ids = [raise('changzhou', '甲'), raise('changzhou', '乙'), raise('changzhou', '丙')];
    await waitFor('three calls at the fresh subscriber', () => (fresh.frames.length === 3 ? true : undefined));
    await waitFor('the third at the resumed one', () => (resumed.frames.length === 1 ? true : undefined));
    const payload = (frame: string) => JSON.parse(frame).payload;
    expect(fresh.frames.map((f) => payload(f).data.callUpdated.id)).toEqual(ids);
    expect(fresh.frames.map((f) => payload(f).extensions.cursor)).toEqual([head + 1, head + 2, head + 3].map(String));
    expect(payload(resumed.frames[0] as string)).toEqual({ data: { callUpdated: { id: ids[2] } }, extensions: { cursor: String(head + 3) } });
    fresh.socket.close();
    resumed.socket.close();
    await waitFor('both ended', () => (streams.calls.size === 0 ? true : undefined));
  });

  it('disconnects the subscribers of a channel with 4410 when more than 256 of its events wait to be resolved', async () => {
    const stuck = await subscriber('huangpu-command', 'district_command', 'subscription { callUpdated(id: "stuck-1") { id } }');
    const other = await subscriber('huangpu-command', 'district_command', 'subscription { callUpdated(id: "fine-1") { id } }');
    await waitFor('both subscribed', () => (streams.calls.size === 2 ? true : undefined));
    for (let i = 0; i <= 256; i++) raise('changzhou', '卡住', 'stuck-1');
    await waitFor('the stuck subscriber disconnected', () => stuck.closed[0]);
    expect(stuck.closed).toEqual([4410]);
    // The channel next to it goes on.
    raise('changzhou', '正常', 'fine-1');
    await waitFor('the other channel still serving', () => (other.frames.length === 1 ? true : undefined));
    expect(other.closed).toEqual([]);
    other.socket.close();
    await waitFor('every subscription ended', () => (streams.calls.size === 0 ? true : undefined));
  });
});
