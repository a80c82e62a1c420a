// Relay connections over in-memory lists. A list is ordered by a key (a tuple compared element by
// element); the cursor is the key of the last item seen, so a page stays right when items are added
// or removed before it.
import { userError } from '../../platform/errors.ts';
import { decodeCursor, encodeCursor, pageSize } from '../../platform/pagination.ts';

export type Key = Array<string | number>;

export function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/** The key in a cursor of this list (its tag names the list, so another list's cursor is refused). */
export function keyOfCursor(after: string | null | undefined, tag: string): Key | undefined {
  if (!after) return undefined;
  const [first, ...key] = decodeCursor(after);
  if (first !== tag) throw userError('BAD_USER_INPUT', '分页游标不属于此列表或排序方式 (cursor is from another list or sort)', { field: 'after' });
  return key;
}

export const cursorOf = (tag: string, key: Key) => encodeCursor([tag, ...key]);

/** What a client asks of a page (`first`, `after`). */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface Page<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number;
}

/** A page of `items` in key order (sorted here), after the cursor's key. */
export function pageOf<T>(
  items: T[],
  keyOf: (item: T) => Key,
  args: PageArgs,
  tag: string,
): Page<T> {
  const size = pageSize(args.first);
  const after = keyOfCursor(args.after, tag);
  const keyed = items.map((item) => ({ item, key: keyOf(item) })).sort((a, b) => compareKeys(a.key, b.key));
  const start = after ? keyed.findIndex((k) => compareKeys(k.key, after) > 0) : 0;
  const from = start < 0 ? keyed.length : start;
  const slice = keyed.slice(from, from + size);
  const edges = slice.map(({ item, key }) => ({ cursor: cursorOf(tag, key), node: item }));
  return {
    edges,
    pageInfo: {
      hasNextPage: from + size < keyed.length,
      hasPreviousPage: after !== undefined,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: keyed.length,
  };
}
