// Persisted queries. Automatic persisted queries (APQ: a client sends a query's SHA-256 and, the first
// time, its text) are Apollo Server's own. For production agency apps the gateway can also run in
// allow-list mode: it executes only the operations of a persisted-query manifest (Apollo's
// `apollo-persisted-query-manifest` format, made by the apps' build), named by hash or by exact text.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const manifestSchema = z.object({
  format: z.literal('apollo-persisted-query-manifest'),
  version: z.literal(1),
  operations: z.array(z.object({ id: z.string().min(1), body: z.string().min(1), name: z.string().optional(), type: z.string().optional() })),
});

export type AllowList = Map<string, string>;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The manifest's operations by SHA-256 of their text (the id APQ clients send). */
export function loadAllowList(path: string): AllowList {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`PERSISTED_QUERIES_MANIFEST ${path}: ${(err as Error).message}`, { cause: err });
  }
  const manifest = manifestSchema.safeParse(parsed);
  if (!manifest.success) throw new Error(`PERSISTED_QUERIES_MANIFEST ${path}: not a persisted-query manifest (${manifest.error.issues[0]?.message})`);
  return new Map(manifest.data.operations.map((op) => [sha256(op.body), op.body]));
}

interface GraphQLParams {
  query?: unknown;
  extensions?: unknown;
}

/**
 * The request's parameters with the listed operation's text, or the refusal to send. GET requests
 * carry `extensions` as JSON text.
 */
export function allowListed(list: AllowList, params: GraphQLParams): { params: GraphQLParams } | { refusal: string } {
  let extensions = params.extensions;
  if (typeof extensions === 'string') {
    try {
      extensions = JSON.parse(extensions);
    } catch {
      return { refusal: 'extensions 不是合法的 JSON (extensions is not JSON)' };
    }
  }
  const sent = (extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery?.sha256Hash;
  const hash = typeof sent === 'string' ? sent : typeof params.query === 'string' ? sha256(params.query) : undefined;
  const listed = hash ? list.get(hash) : undefined;
  if (!listed || (typeof params.query === 'string' && params.query !== listed)) {
    return { refusal: '该查询未在允许清单中登记 (operation not on the allow-list)' };
  }
  return { params: { ...params, query: listed } };
}
