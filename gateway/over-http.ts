// GraphQL over HTTP (the GraphQL Foundation's specification, graphql.github.io/graphql-over-http): the
// response media type a request accepts, and the status code that media type calls for.
// - `application/graphql-response+json`: a request error (parse, validation, variable coercion) is a
//   4xx (400), so a client tells a refused document from a partial answer by the status alone.
// - `application/json` (legacy clients): every well-formed request gets 200, its errors in the body
//   (spec §"application/json": "The server SHOULD use the 200 status code for every response to a
//   well-formed GraphQL-over-HTTP request, independent of any GraphQL request error").
// - No Accept header, or `*/*`: `application/json` (spec: "SHOULD treat the request as if it had
//   Accept: application/json"; the audit checks it). Clients that want 4xx for refused documents ask
//   for `application/graphql-response+json`, as Apollo Client and graphql-http's client do.
import Negotiator from 'negotiator';

export const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json; charset=utf-8';
export const LEGACY_JSON = 'application/json; charset=utf-8';

/**
 * Codes of GraphQL request errors a well-formed request can get: the document does not parse or
 * validate (limits included), or a variable or literal is refused (coercion, the gateway's input checks),
 * or the allow-list does not hold the operation. A malformed HTTP request (`BAD_REQUEST`: no query, a
 * body that is not JSON, CSRF prevention), a missing identity and rate limits keep their 4xx.
 */
const REQUEST_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'PERSISTED_QUERY_NOT_ALLOWED']);

/** The response media type for an Accept header; undefined when it accepts neither JSON type (406). */
export function responseTypeFor(accept: string | undefined): string | undefined {
  if (!accept?.trim()) return LEGACY_JSON;
  // Listed as Apollo Server lists them, so `*/*` picks application/json there and here alike.
  return new Negotiator({ headers: { accept } }).mediaType([LEGACY_JSON, GRAPHQL_RESPONSE_JSON]);
}

/** The status an answer goes out with: a request error under `application/json` is a 200. */
export function statusFor(status: number, contentType: string | undefined, body: string): number {
  const legacy = contentType?.toLowerCase().startsWith('application/json') ?? false;
  if (!legacy || status !== 400) return status;
  const codes = errorCodesOf(body);
  return codes.length > 0 && codes.every((code) => typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) ? 200 : status;
}

/** The codes of a GraphQL response body's errors (none when the body is not a GraphQL response). */
function errorCodesOf(body: string): unknown[] {
  try {
    const parsed = JSON.parse(body) as { errors?: Array<{ extensions?: { code?: unknown } }> };
    return Array.isArray(parsed.errors) ? parsed.errors.map((e) => e.extensions?.code) : [];
  } catch {
    return [];
  }
}

/**
 * A refusal the gateway makes itself before the GraphQL pipeline (input checks, the allow-list), in
 * the media type and with the status the request's Accept header calls for.
 */
export function refusal(accept: string | undefined, errors: Array<{ message: string; extensions: Record<string, unknown> }>) {
  const contentType = responseTypeFor(accept) ?? LEGACY_JSON;
  // A request error: the response has no `data` entry (spec §"Response").
  const body = JSON.stringify({ errors });
  return { status: statusFor(400, contentType, body), contentType, body };
}
