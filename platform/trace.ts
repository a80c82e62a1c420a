// W3C Trace Context (https://www.w3.org/TR/trace-context/) across HTTP and Kafka: a request's or a
// record's `traceparent` continues into what it causes as a new span of the same trace, and the
// trace of the work in progress is at hand anywhere below it (AsyncLocalStorage), so a stored event
// can carry it into its Kafka headers.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';

// version-traceid-parentid-flags; version ff is invalid, and a later version is read as 00 is.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/;

/** The trace id and flags of a valid traceparent. */
function parse(traceparent: string | undefined): { traceId: string; flags: string } | undefined {
  const match = TRACEPARENT.exec(traceparent?.trim() ?? '');
  if (!match) return undefined;
  const [, version, traceId, parentId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, flags };
}

/** The trace id of a valid traceparent. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return parse(traceparent)?.traceId;
}

// Random ids from a pool filled a few hundred spans at a time, as Node's randomUUID does: a request
// makes several spans (one per subgraph fetch), and asking the kernel for 8 bytes each time cost the
// gateway about 2 % of its CPU (bench:gateway --profile).
const pool = Buffer.alloc(4096);
let used = pool.length;

/** `bytes` random bytes as hex. */
function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += bytes;
  return pool.toString('hex', used - bytes, used);
}

/** A new span of the parent's trace, or of a new (sampled) trace when there is no valid parent. */
export function childTraceparent(parent: string | undefined): string {
  const { traceId, flags } = parse(parent) ?? { traceId: randomHex(16), flags: '01' };
  return `00-${traceId}-${randomHex(8)}-${flags}`;
}

const current = new AsyncLocalStorage<string>();

/** Runs the rest of this request or record under the trace (a child span of `parent`). */
export function enterTrace(parent: string | undefined): string {
  const traceparent = childTraceparent(parent);
  current.enterWith(traceparent);
  return traceparent;
}

/** The traceparent of the work in progress, if any. */
export function currentTraceparent(): string | undefined {
  return current.getStore();
}
