// W3C Trace Context (https://www.w3.org/TR/trace-context/): a source record's `traceparent` header
// continues into everything the connector writes for it, as a new span of the same trace; a record
// without one (or with a malformed one) starts a new trace.
import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

/** The traceparent's parts, or undefined when it is not a valid version-00 header. */
export function parseTraceparent(value: string | undefined): { traceId: string; parentId: string; flags: string } | undefined {
  const match = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!match) return undefined;
  const [, version, traceId, parentId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

/** A child span of the record's trace (or a new sampled trace) for what the connector writes. */
export function childTrace(headers: Record<string, Buffer>): TraceHeaders {
  const parent = parseTraceparent(headers.traceparent?.toString('utf8'));
  const spanId = randomBytes(8).toString('hex');
  if (!parent) return { traceparent: `00-${randomBytes(16).toString('hex')}-${spanId}-01` };
  const tracestate = headers.tracestate?.toString('utf8');
  return {
    traceparent: `00-${parent.traceId}-${spanId}-${parent.flags}`,
    ...(tracestate && tracestate.length <= 512 ? { tracestate } : {}),
  };
}
