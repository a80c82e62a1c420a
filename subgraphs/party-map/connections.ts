// Relay-style connections (DESIGN.md: lists are never unbounded). Cursors are opaque to clients:
// a key (an id) for lists ordered by id, an offset for lists ordered by distance.
import { userError } from '../../platform/errors.ts';
import { MAX_PAGE, pageSize } from '../../platform/pagination.ts';

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T, E extends Edge<T> = Edge<T>> {
  edges: E[];
  pageInfo: PageInfo;
  totalCount: number;
}

const encode = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

function decode(cursor: string, prefix: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!raw.startsWith(prefix)) throw userError('BAD_USER_INPUT', '分页游标无效 (invalid cursor)', { argument: 'after' });
  return raw.slice(prefix.length);
}

export const keyCursor = (key: string) => encode(`k:${key}`);
export const afterKey = (after: string | null | undefined) => (after ? decode(after, 'k:') : undefined);

/** A page of a list sorted by `key`, starting after the key in `after`. */
export function pageByKey<T>(
  sorted: readonly T[],
  key: (item: T) => string,
  args: { first?: number | null; after?: string | null },
  max = MAX_PAGE,
): Connection<T> {
  const first = pageSize(args.first, { max });
  const after = afterKey(args.after);
  let start = 0;
  if (after !== undefined) {
    // Binary search for the first key greater than the cursor: the list may have changed since.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (key(sorted[mid] as T) <= after) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const slice = sorted.slice(start, start + first);
  return {
    edges: slice.map((node) => ({ cursor: keyCursor(key(node)), node })),
    pageInfo: {
      hasNextPage: start + first < sorted.length,
      hasPreviousPage: start > 0,
      startCursor: slice.length ? keyCursor(key(slice[0] as T)) : null,
      endCursor: slice.length ? keyCursor(key(slice[slice.length - 1] as T)) : null,
    },
    totalCount: sorted.length,
  };
}

export const offsetCursor = (offset: number) => encode(`o:${offset}`);

export function afterOffset(after: string | null | undefined): number {
  if (!after) return 0;
  const n = Number(decode(after, 'o:'));
  if (!Number.isInteger(n) || n < 0) throw userError('BAD_USER_INPUT', '分页游标无效 (invalid cursor)', { argument: 'after' });
  return n + 1;
}

/**
 * A page of a ranked list (nearest first): `ranked` holds the items from the start up to one past
 * the page when there are more (so hasNextPage is known), `offset` is where the page starts. Ranked
 * lists have no totalCount: counting would mean ranking everything.
 */
export function pageByOffset<T, E extends { cursor: string }>(
  ranked: readonly T[],
  offset: number,
  first: number,
  edge: (item: T, cursor: string) => E,
): { edges: E[]; pageInfo: PageInfo } {
  const slice = ranked.slice(offset, offset + first);
  const edges = slice.map((node, i) => edge(node, offsetCursor(offset + i)));
  return {
    edges,
    pageInfo: {
      hasNextPage: ranked.length > offset + first,
      hasPreviousPage: offset > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
