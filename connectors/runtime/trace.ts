// W3C Trace Context (https://www.w3.org/TR/trace-context/): a source record's `traceparent` header
// continues into everything the connector writes for it, as a new span of the same trace; a record
// without one (or with a malformed one) starts a new trace.
import { childTraceparent, traceIdOf } from '../../platform/trace.ts';

export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

/** A child span of the record's trace (or a new sampled trace) for what the connector writes. */
export function childTrace(headers: Record<string, Buffer>): TraceHeaders {
  const parent = headers.traceparent?.toString('utf8');
  const tracestate = headers.tracestate?.toString('utf8');
  // Vendor state travels only with the trace it belongs to.
  const keepState = traceIdOf(parent) !== undefined && tracestate !== undefined && tracestate.length <= 512;
  return { traceparent: childTraceparent(parent), ...(keepState ? { tracestate } : {}) };
}
