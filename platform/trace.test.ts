import { describe, expect, it } from 'vitest';
import { childTraceparent, traceIdOf } from './trace.ts';

describe('childTraceparent', () => {
  it('starts a sampled trace with fresh ids when there is no valid parent, never the same twice (across pool refills)', () => {
    const spans = Array.from({ length: 2000 }, () => childTraceparent(undefined));
    for (const span of spans) expect(span).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(new Set(spans.map((s) => traceIdOf(s))).size).toBe(spans.length);
    expect(new Set(spans.map((s) => s.split('-')[2])).size).toBe(spans.length);
  });

  it("continues a valid parent's trace as a new span with its flags", () => {
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    const child = childTraceparent(parent);
    expect(child).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/);
    expect(child).not.toContain('00f067aa0ba902b7');
    expect(traceIdOf(childTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'))).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });
});
