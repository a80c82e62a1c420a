import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, EventHub, RETAINED } from './replay.ts';

/** A hub over two partitions, started at offsets 10 and 20, holding `retain` events. */
function hub(retain = 100) {
  const events = new EventHub<string>('hub.call-events', retain);
  events.startAt([10, 20]);
  return events;
}

describe('resume cursors (gateway/replay.ts)', () => {
  it('gives a resuming subscriber exactly what it missed, in topic order, after its cursor', () => {
    const events = hub();
    events.publish('a', { partition: 0, offset: 10 });
    const cursor = encodeCursor(events.position);
    events.publish('b', { partition: 1, offset: 20 });
    events.publish('c', { partition: 0, offset: 11 });
    events.publish('d', { partition: 1, offset: 21 });
    expect(cursor).toBe('11.20');
    expect(events.since(decodeCursor(cursor)).map((e) => e.event)).toEqual(['b', 'c', 'd']);
    expect(events.since(events.position)).toEqual([]);
  });

  it('drops a record Kafka delivers again, so no subscriber sees an event twice', () => {
    const events = hub();
    const seen: string[] = [];
    events.listen((e) => seen.push(e.event));
    events.publish('a', { partition: 0, offset: 10 });
    events.publish('a again', { partition: 0, offset: 10 });
    events.publish('b', { partition: 0, offset: 11 });
    expect(seen).toEqual(['a', 'b']);
  });

  it('refuses a cursor older than the retained window with CURSOR_EXPIRED, and accepts one inside it', () => {
    const events = hub(4);
    for (let i = 0; i < 10; i++) events.publish(`e${i}`, { partition: 0, offset: 10 + i });
    expect(() => events.since([10, 20])).toThrowError(expect.objectContaining({ extensions: { code: 'CURSOR_EXPIRED' } }));
    expect(events.since([16, 20]).map((e) => e.event)).toEqual(['e6', 'e7', 'e8', 'e9']);
    // Before the copy's start (it read nothing earlier) is as old as evicted.
    expect(() => hub().since([9, 20])).toThrowError(expect.objectContaining({ extensions: { code: 'CURSOR_EXPIRED' } }));
    // A topic whose partitions changed cannot be resumed either.
    expect(() => events.since([16])).toThrowError(expect.objectContaining({ extensions: { code: 'CURSOR_EXPIRED' } }));
  });

  it('accepts a cursor ahead of this copy (another copy read further) and refuses garbled ones as bad input', () => {
    expect(hub().since([500, 20])).toEqual([]);
    for (const bad of ['', 'abc', '1..2', '-1.2', '1.2.', `${'9'.repeat(16)}.1`, 'RETAINED', 'retained.1', ' retained']) {
      expect(() => decodeCursor(bad)).toThrowError(expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', argument: 'after' } }));
    }
  });

  it('gives a subscriber asking for the retained window (after: "retained") all it holds, then positions naming every partition', () => {
    const events = hub(4);
    for (let i = 0; i < 10; i++) events.publish(`e${i}`, { partition: 0, offset: 10 + i });
    const from = decodeCursor(RETAINED);
    expect(events.since(from).map((e) => e.event)).toEqual(['e6', 'e7', 'e8', 'e9']);
    // The subscriber now stands at the window's start, every partition named: its cursors resume.
    expect(from).toEqual([16, 20]);
    expect(() => events.since([16, 20])).not.toThrow();
    // An empty window (nothing issued yet): nothing, and the copy's start.
    const quiet = hub();
    const start = decodeCursor(RETAINED);
    expect(quiet.since(start)).toEqual([]);
    expect(start).toEqual([10, 20]);
  });
});
