// W3C Trace Context (https://www.w3.org/TR/trace-context/) across HTTP and Kafka: a request's or a
// record's `traceparent` continues into what it causes as a new span of the same trace, and the
// trace of the work in progress is at hand anywhere below it (AsyncLocalStorage), so a stored event
// can carry it into its Kafka headers.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The trace id of a valid version-00 traceparent. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const match = TRACEPARENT.exec(traceparent?.trim() ?? '');
  if (!match || /^0+$/.test(match[1] as string) || /^0+$/.test(match[2] as string)) return undefined;
  return match[1];
}

/** A new span of the parent's trace, or of a new (sampled) trace when there is no valid parent. */
export function childTraceparent(parent: string | undefined): string {
  const traceId = traceIdOf(parent) ?? randomBytes(16).toString('hex');
  const flags = parent && traceIdOf(parent) ? (parent.trim().slice(-2)) : '01';
  return `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
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
