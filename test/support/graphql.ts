// A minimal GraphQL-over-HTTP client for tests, with the bearer token of a demo identity.
import { mintToken, type Role } from '../../platform/auth.ts';

export interface GraphQLResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } & Record<string, unknown> }>;
}

export async function tokenFor(unitId: string, role: Role, subject = `${role}@${unitId}`, scopes: string[] = []) {
  return mintToken({ subject, unitId, role, scopes });
}

export async function gql<T = Record<string, any>>(
  url: string,
  token: string | undefined,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResult<T>> {
  const response = await fetch(url, {
    method: 'POST',
    // As Apollo Client and graphql-http's client ask: a refused document is then a 400 (gateway/over-http.ts).
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResult<T>, 'status'>;
  return { status: response.status, ...body };
}

/** The data of a result that must have succeeded; its errors otherwise, in the failure message. */
export function ok<T>(result: GraphQLResult<T>): T {
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** The code of the first error. */
export function codeOf(result: GraphQLResult): string | undefined {
  return result.errors?.[0]?.extensions?.code;
}
