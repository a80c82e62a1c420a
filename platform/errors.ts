// GraphQL errors that clients act on carry `extensions.code`; messages shown to staff are in Chinese.
import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'DEADLINE_RULE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'INTERNAL_SERVER_ERROR';

export function userError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/** True for errors raised on purpose (with a code); anything else is internal and gets masked. */
export function isUserError(err: unknown): err is GraphQLError {
  return err instanceof GraphQLError && errorCode(err) !== undefined;
}

/** The `extensions.code` of an error, if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { extensions?: { code?: unknown } } | undefined)?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}
