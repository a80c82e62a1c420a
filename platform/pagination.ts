// Relay-style connections: every list is paged (first/after), never unbounded.
import { userError } from './errors.ts';

export const MAX_PAGE = 100;

/** `first` checked and bounded: 0..max (MAX_PAGE unless a list sets a lower one). */
export function pageSize(
  first: number | null | undefined,
  { max = MAX_PAGE, fallback = 20 }: { max?: number; fallback?: number } = {},
): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 0 || size > max) {
    throw userError('BAD_USER_INPUT', `first 须为 0 至 ${max} 的整数 (first must be a whole number from 0 to ${max})`, {
      field: 'first',
    });
  }
  return size;
}

/** An opaque cursor over the sort key of the last item seen. */
export function encodeCursor(values: Array<string | number>): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string): Array<string | number> {
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(values) && values.every((v) => typeof v === 'string' || typeof v === 'number')) {
      return values;
    }
  } catch {
    // fall through to the error below
  }
  throw userError('BAD_USER_INPUT', '分页游标无效 (invalid cursor)', { field: 'after' });
}

export interface Connection<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/**
 * Builds a connection from one page fetched with `size + 1` items (the extra says there is more).
 * Paging is forward only: `hasPreviousPage` says whether this page started after a cursor.
 */
export function connectionOf<T>(
  items: T[],
  size: number,
  cursorOf: (item: T) => string,
  after?: unknown,
): Connection<T> {
  const page = items.slice(0, size);
  const edges = page.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: items.length > size,
      hasPreviousPage: typeof after === 'string',
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
