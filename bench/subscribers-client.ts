// One client process of `npm run bench:subscribers` (forked by bench/subscribers.ts, never run by
// hand): opens its share of graphql-ws sockets, one subscription each, speaking the protocol
// (graphql-transport-ws) directly over `ws` so the client's own cost stays small beside the gateway's.
// It stamps each message when it arrives, checks that the call it names lies in the subscriber's area,
// and answers the bench's questions over IPC.
import { demoUnits } from '../demo/district.ts';
import { mintToken, type Role } from '../platform/auth.ts';
import { WebSocket } from 'ws';

/** One subscriber: its identity and the area whose calls it may see (a unit on the call's origin path). */
export interface SubscriberPlan {
  subject: string;
  unitId: string;
  role: Role;
  area: string;
}

export type ToClient =
  | { type: 'start'; url: string; query: string; subscribers: SubscriberPlan[]; secret?: string }
  | { type: 'waiting' }
  | { type: 'expect'; callId: string; gridId: string; sentAt: number; timeoutMs: number }
  | { type: 'totals' };

export type FromClient =
  | { type: 'connected'; open: number; refused: string[] }
  | { type: 'waiting'; silent: number }
  | { type: 'arrived'; callId: string; expected: number; latencies: number[] }
  | { type: 'totals'; messages: number; outsideArea: number; errors: string[]; closed: number };

const now = () => performance.timeOrigin + performance.now();
const send = (message: FromClient) => process.send?.(message);

/** Each grid's path (district, street, community, grid): whether an area may see a call raised there. */
const pathOf = new Map(demoUnits().map((u) => [u.id, u.path]));
const within = (area: string, gridId: string) => pathOf.get(gridId)?.includes(area) === true;

interface Subscriber extends SubscriberPlan {
  socket?: WebSocket;
  /** call id → arrival time of its first message. */
  arrived: Map<string, number>;
}

const subscribers: Subscriber[] = [];
let messages = 0;
let outsideArea = 0;
let closed = 0;
const errors: string[] = [];
/** Calls the bench is waiting for: resolved when every subscriber that should see it has. */
const waiting = new Map<string, () => void>();

function connect(url: string, query: string, subscriber: Subscriber, token: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    subscriber.socket = socket;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', (data: Buffer) => {
      const at = now();
      const message = JSON.parse(data.toString('utf8')) as { type: string; payload?: any };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
        resolve(undefined);
      } else if (message.type === 'next') {
        messages++;
        const call = message.payload?.data?.callUpdated as { id: string; originUnit: { id: string } } | undefined;
        if (!call) {
          if (errors.length < 5) errors.push(JSON.stringify(message.payload).slice(0, 300));
          return;
        }
        if (!within(subscriber.area, call.originUnit.id)) outsideArea++;
        if (!subscriber.arrived.has(call.id)) subscriber.arrived.set(call.id, at);
        waiting.get(call.id)?.();
      } else if (message.type === 'error' && errors.length < 5) {
        errors.push(JSON.stringify(message.payload).slice(0, 300));
      }
    });
    socket.on('error', (err) => resolve(err.message));
    socket.on('close', (code, reason) => {
      closed++;
      resolve(`closed ${code} ${reason.toString()}`);
    });
  });
}

async function answer(message: ToClient): Promise<void> {
  if (message.type === 'start') {
    const tokens = await Promise.all(message.subscribers.map((s) => mintToken({ subject: s.subject, unitId: s.unitId, role: s.role }, { secret: message.secret })));
    const refused: string[] = [];
    // A few hundred handshakes at a time: the gateway's listen backlog is finite.
    for (let from = 0; from < message.subscribers.length; from += 200) {
      const batch = message.subscribers.slice(from, from + 200).map((plan, k) => {
        const subscriber: Subscriber = { ...plan, arrived: new Map() };
        subscribers.push(subscriber);
        return connect(message.url, message.query, subscriber, tokens[from + k] as string);
      });
      for (const outcome of await Promise.all(batch)) if (outcome && refused.length < 5) refused.push(outcome);
    }
    send({ type: 'connected', open: subscribers.filter((s) => s.socket?.readyState === WebSocket.OPEN).length, refused });
  } else if (message.type === 'waiting') {
    send({ type: 'waiting', silent: subscribers.filter((s) => s.arrived.size === 0).length });
  } else if (message.type === 'expect') {
    const expected = subscribers.filter((s) => within(s.area, message.gridId));
    const done = () => expected.every((s) => s.arrived.has(message.callId));
    if (!done()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, message.timeoutMs);
        waiting.set(message.callId, () => {
          if (!done()) return;
          clearTimeout(timer);
          resolve();
        });
      });
      waiting.delete(message.callId);
    }
    const latencies = expected.filter((s) => s.arrived.has(message.callId)).map((s) => (s.arrived.get(message.callId) as number) - message.sentAt);
    send({ type: 'arrived', callId: message.callId, expected: expected.length, latencies });
  } else if (message.type === 'totals') {
    send({ type: 'totals', messages, outsideArea, errors, closed });
    for (const s of subscribers) s.socket?.terminate();
    process.disconnect?.();
  }
}

process.on('message', (message: ToClient) => void answer(message));
