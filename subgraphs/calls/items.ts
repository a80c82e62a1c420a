// The callable-items list (呼应事项清单): what a street may call up to which department. 花都's list has
// 13 classes and 36 items, each with a lead department (承办) and a fallback (兜底); 越秀's has 51
// items. An operator loads the district's own list from a JSON file (CALLABLE_ITEMS_PATH), with a
// version id and an effective date; without one the demo list (demo/callable-items.json, ten classes,
// as the reports' simplified major classes) is used. A call matching no item goes to its class's
// fallback department.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { userError } from '../../platform/errors.ts';
import type { UnitDirectory } from '../../platform/unit-directory.ts';

export interface CallableItem {
  code: string;
  /** Major class (大类). */
  category: string;
  name: string;
  /** Lead department (承办 / 主办). */
  leadUnitId: string;
  /** Co-handling departments (协办). */
  coUnitIds: string[];
  /** Fallback department (兜底) for this item when the lead is disputed. */
  fallbackUnitId?: string;
}

/** A major class (大类) of the list and its fallback department (兜底), for calls no item matches. */
export interface CallableClass {
  category: string;
  fallbackUnitId: string;
}

export interface CallableItemsList {
  /** The operator's version id, recorded with every dispatch made under it. */
  version: string;
  /** The day the list applies from. */
  effectiveFrom: Date;
  classes: CallableClass[];
  items: CallableItem[];
}

/** Where a street's call to a department goes: an item's lead, or the class's fallback. */
export interface DepartmentRoute {
  item?: CallableItem;
  category: string;
  unitId: string;
  coUnitIds: string[];
  fallback: boolean;
}

/** The hub's ten major classes: the demo list's classes, and what the connectors map source categories to. */
export const CATEGORIES = [
  '城市管理',
  '综治维稳',
  '市场监管',
  '交通管理',
  '生态环境',
  '住房建设',
  '水务三防',
  '安全生产',
  '民生服务',
  '企业服务',
] as const;

export const DEMO_ITEMS_FILE = new URL('../../demo/callable-items.json', import.meta.url);

const text = (max: number) => z.string().trim().min(1).max(max);
const unitId = text(100);
const classRow = z.strictObject({ category: text(50), fallbackUnitId: unitId });
const itemRow = z.strictObject({
  code: text(32).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - or _'),
  category: text(50),
  name: text(100),
  leadUnitId: unitId,
  coUnitIds: z.array(unitId).max(20).default([]),
  fallbackUnitId: unitId.optional(),
});
const listFile = z.object({
  version: text(64),
  effectiveFrom: z.iso.date().or(z.iso.datetime({ offset: true })),
  description: z.string().optional(),
  classes: z.array(z.unknown()).min(1),
  items: z.array(z.unknown()).min(1),
});

/** A list file that failed validation: every problem found, each naming its row. */
export class CallableItemsError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`callable-items list ${source} is invalid (${problems.length} problems):\n  ${problems.join('\n  ')}`);
  }
}

function issues(where: string, error: z.ZodError): string[] {
  return error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`);
}

/**
 * A list file's content checked row by row: every bad row is reported, not just the first. With a
 * directory, every department named must be a department of the district.
 */
export function parseCallableItems(json: unknown, source: string, directory?: UnitDirectory): CallableItemsList {
  const head = listFile.safeParse(json);
  if (!head.success) throw new CallableItemsError(source, issues('list', head.error));
  const problems: string[] = [];
  const department = (where: string, id: string) => {
    if (directory && directory.get(id)?.kind !== 'department') problems.push(`${where}: ${id} is not a department of the district`);
  };
  const classes: CallableClass[] = [];
  head.data.classes.forEach((row, i) => {
    const parsed = classRow.safeParse(row);
    if (!parsed.success) return problems.push(...issues(`classes[${i}]`, parsed.error));
    if (classes.some((c) => c.category === parsed.data.category)) problems.push(`classes[${i}].category: ${parsed.data.category} is listed twice`);
    department(`classes[${i}].fallbackUnitId`, parsed.data.fallbackUnitId);
    classes.push(parsed.data);
  });
  const items: CallableItem[] = [];
  head.data.items.forEach((row, i) => {
    const parsed = itemRow.safeParse(row);
    if (!parsed.success) return problems.push(...issues(`items[${i}]`, parsed.error));
    const item = parsed.data;
    if (items.some((other) => other.code === item.code)) problems.push(`items[${i}].code: ${item.code} is listed twice`);
    if (!classes.some((c) => c.category === item.category)) problems.push(`items[${i}].category: ${item.category} is not a class of the list`);
    department(`items[${i}].leadUnitId`, item.leadUnitId);
    item.coUnitIds.forEach((id, j) => department(`items[${i}].coUnitIds[${j}]`, id));
    if (item.coUnitIds.includes(item.leadUnitId)) problems.push(`items[${i}].coUnitIds: the lead ${item.leadUnitId} is also a co-handler`);
    if (item.fallbackUnitId) department(`items[${i}].fallbackUnitId`, item.fallbackUnitId);
    items.push(item);
  });
  if (problems.length > 0) throw new CallableItemsError(source, problems);
  return { version: head.data.version, effectiveFrom: new Date(head.data.effectiveFrom), classes, items };
}

/** Reads and checks a list file. */
export function loadCallableItems(path: string | URL, directory?: UnitDirectory): CallableItemsList {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the callable-items list from ${String(path)}: ${(err as Error).message}`, { cause: err });
  }
  return parseCallableItems(json, String(path), directory);
}

let demoList: CallableItemsList | undefined;

export class CallableItems {
  private readonly byCode: Map<string, CallableItem>;
  private readonly byClass: Map<string, CallableClass>;
  readonly version: string;
  readonly effectiveFrom: Date;
  readonly classes: CallableClass[];
  readonly items: CallableItem[];

  constructor(list: CallableItemsList = (demoList ??= loadCallableItems(DEMO_ITEMS_FILE))) {
    ({ version: this.version, effectiveFrom: this.effectiveFrom, classes: this.classes, items: this.items } = list);
    this.byCode = new Map(list.items.map((i) => [i.code, i]));
    this.byClass = new Map(list.classes.map((c) => [c.category, c]));
  }

  get(code: string): CallableItem | undefined {
    return this.byCode.get(code);
  }

  /** The item, or BAD_USER_INPUT: a call to a department must match the list. */
  require(code: string): CallableItem {
    const item = this.byCode.get(code);
    if (!item) {
      throw userError('BAD_USER_INPUT', `事项 ${code} 不在呼应事项清单内 (not on the callable-items list)`, {
        field: 'itemCode',
      });
    }
    return item;
  }

  isCategory(category: string): boolean {
    return this.byClass.has(category);
  }

  /**
   * Where a street's call goes: the item's lead and co-handlers; with no item code, the fallback
   * department (兜底) of the call's class. An unknown code is refused, never sent to a fallback.
   */
  route(itemCode: string | undefined, category: string): DepartmentRoute {
    if (itemCode !== undefined) {
      const item = this.require(itemCode);
      return { item, category: item.category, unitId: item.leadUnitId, coUnitIds: item.coUnitIds, fallback: false };
    }
    const fallback = this.byClass.get(category);
    if (!fallback) {
      throw userError('BAD_USER_INPUT', `类别「${category}」没有兜底部门，请指定呼应事项 (no fallback department for this class)`, {
        field: 'itemCode',
      });
    }
    return { category, unitId: fallback.fallbackUnitId, coUnitIds: [], fallback: true };
  }
}
