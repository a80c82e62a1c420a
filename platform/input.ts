// One check of everything a client puts into an operation, at every edge (the gateway, each subgraph,
// graphql-ws), before any resolver or recursive walk sees it: no string with a control character
// (C0 except tab, newline and carriage return: a NUL would be stored in a title), no number that is
// not finite (`1e999` parses to Infinity), and no value nested deeper than MAX_INPUT_DEPTH (a GeoJSON
// nested 50,000 deep overflowed the stack). Each refusal is BAD_USER_INPUT and names the input.
import { type ASTNode, BREAK, type DocumentNode, GraphQLError, Kind, visit } from 'graphql';

/**
 * How deep a variable's value may nest (objects and lists). A MultiPolygon's coordinates are 4 deep
 * and the deepest input type of the schemas about 4 more; 32 leaves ample room.
 */
export const MAX_INPUT_DEPTH = 32;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

function badInput(message: string, field: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field } });
}

function controlCharacter(field: string): GraphQLError {
  return badInput(`${field} 含有控制字符，请删除后重试 (control character in ${field})`, field);
}

/** The first problem in an operation's variables (JSON), or undefined. Iterative: any depth is safe. */
export function variablesProblem(variables: unknown): GraphQLError | undefined {
  if (variables === null || typeof variables !== 'object') return undefined;
  // Every request passes through here: a value's path is spelled out only when it is refused.
  interface Item {
    value: unknown;
    /** A list index, or an object key. */
    key: number | string;
    parent: Item | undefined;
    depth: number;
  }
  const pathOf = (item: Item): string => {
    const keys: string[] = [];
    for (let at: Item | undefined = item; at?.parent; at = at.parent) keys.push(typeof at.key === 'number' ? `[${at.key}]` : `.${at.key}`);
    return keys.reverse().join('').replace(/^\./, '') || 'input';
  };
  const stack: Item[] = [{ value: variables, key: '', parent: undefined, depth: 0 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value, depth } = item;
    if (typeof value === 'string') {
      if (CONTROL.test(value)) return controlCharacter(pathOf(item));
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        const path = pathOf(item);
        return badInput(`${path} 不是有限数值 (not a finite number: ${path})`, path);
      }
    } else if (value !== null && typeof value === 'object') {
      if (depth >= MAX_INPUT_DEPTH) {
        const path = pathOf(item);
        return badInput(`${path} 嵌套超过 ${MAX_INPUT_DEPTH} 层 (input nested deeper than ${MAX_INPUT_DEPTH} levels)`, path);
      }
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) stack.push({ value: value[i] as unknown, key: i, parent: item, depth: depth + 1 });
      } else {
        for (const key in value) {
          if (!Object.hasOwn(value, key)) continue;
          if (CONTROL.test(key)) return controlCharacter(pathOf(item));
          stack.push({ value: (value as Record<string, unknown>)[key], key, parent: item, depth: depth + 1 });
        }
      }
    }
  }
  return undefined;
}

/** The argument or input field a literal belongs to, e.g. `raiseCall.input.title`. */
function literalPath(ancestors: ReadonlyArray<ASTNode | ReadonlyArray<ASTNode>>): string {
  const names: string[] = [];
  for (const node of ancestors) {
    if (Array.isArray(node)) continue;
    const n = node as ASTNode;
    if (n.kind === Kind.FIELD || n.kind === Kind.ARGUMENT || n.kind === Kind.OBJECT_FIELD) names.push(n.name.value);
  }
  return names.join('.') || 'query';
}

const checkedDocuments = new WeakMap<DocumentNode, GraphQLError | null>();

/**
 * The first problem in an operation's literal values (string arguments, numbers), or undefined. A
 * parsed document is checked once (the GraphQL servers keep parsed documents of repeated queries).
 */
export function literalsProblem(document: DocumentNode): GraphQLError | undefined {
  const known = checkedDocuments.get(document);
  if (known !== undefined) return known ?? undefined;
  let problem: GraphQLError | undefined;
  const found = (error: GraphQLError) => {
    problem = error;
    return BREAK;
  };
  visit(document, {
    enter(node, _key, parent, _path, ancestors) {
      const at = () => literalPath([...ancestors, ...(parent ? [parent] : [])]);
      if (node.kind === Kind.STRING && CONTROL.test(node.value)) return found(controlCharacter(at()));
      if ((node.kind === Kind.FLOAT || node.kind === Kind.INT) && !Number.isFinite(Number(node.value))) {
        const field = at();
        return found(badInput(`${field} 不是有限数值 (not a finite number: ${field})`, field));
      }
      return undefined;
    },
  });
  checkedDocuments.set(document, problem ?? null);
  return problem;
}
