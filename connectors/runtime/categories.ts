// Source category names to the hub's ten categories (subgraphs/calls/items.ts CATEGORIES). Each source
// has its default table; an operator adds or changes entries with a JSON file ({"燃气安全": "安全生产",
// "城乡建设/施工噪音": "城市管理"}) and re-drives the dead letters an unknown category left.
import { readFileSync } from 'node:fs';
import { CATEGORIES } from '../../subgraphs/calls/items.ts';
import { Rejected } from '../../platform/source-record.ts';

export type CategoryMap = Readonly<Record<string, string>>;

/** The hub category for a category path (most specific entry first), or Rejected naming the path. */
export function hubCategory(path: string[], map: CategoryMap): string {
  for (let depth = path.length; depth >= 1; depth--) {
    const category = map[path.slice(0, depth).join('/')];
    if (category) return category;
  }
  throw new Rejected('unknown_category', `unknown category: ${path.join('/')}`);
}

/** The default table with an operator's file over it; every target must be one of the hub's categories. */
export function loadCategoryMap(defaults: CategoryMap, path: string | undefined): CategoryMap {
  if (!path) return defaults;
  let extra: unknown;
  try {
    extra = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the category map ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (!extra || typeof extra !== 'object' || Array.isArray(extra)) throw new Error(`category map ${path}: expected a JSON object`);
  const known = new Set<string>(CATEGORIES);
  for (const [from, to] of Object.entries(extra)) {
    if (typeof to !== 'string' || !known.has(to)) {
      throw new Error(`category map ${path}: "${from}" maps to ${JSON.stringify(to)}, not one of ${CATEGORIES.join(', ')}`);
    }
  }
  return { ...defaults, ...(extra as Record<string, string>) };
}
