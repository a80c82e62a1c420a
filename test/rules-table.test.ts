// docs/rules.md is the single list of the hub's rules: every row names where the code applies it and
// the test named after it. This checks the table against the code, without any service: each row
// names at least one test and one code file, every test it names is an `it(…)` / `test(…)` whose
// title is exactly the one written (a string or template literal), in the file named, and every
// code file it names exists. With the full suite passing, every row has a passing test.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TABLE = 'docs/rules.md';

interface Row {
  id: string;
  line: number;
  code: string;
  tests: string;
}

/** Splits a table line into its cells; a `|` inside backticks belongs to the cell. */
function cellsOf(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (const ch of line.trim().replace(/^\|/, '').replace(/\|$/, '')) {
    if (ch === '`') quoted = !quoted;
    if (ch === '|' && !quoted) {
      cells.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

/** The numbered rows (D1, T1, …, PD3) of every table in the document. */
function rowsOf(markdown: string): Row[] {
  const rows: Row[] = [];
  markdown.split('\n').forEach((text, index) => {
    if (!text.startsWith('|')) return;
    const cells = cellsOf(text);
    if (!/^[A-Z]+\d+$/.test(cells[0] ?? '')) return;
    rows.push({ id: cells[0] as string, line: index + 1, code: cells[3] ?? '', tests: cells[4] ?? '' });
  });
  return rows;
}

const spans = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => (m[1] as string).trim());

/** `file › title` entries of a Test cell; `… › title` repeats the file named before it. */
function testsOf(cell: string): Array<{ file: string; title: string } | { problem: string }> {
  let previous: string | undefined;
  return spans(cell).map((span) => {
    const at = span.indexOf(' › ');
    if (at < 0) return { problem: `\`${span}\` is not "file › test name"` };
    const named = span.slice(0, at).trim();
    const title = span.slice(at + 3).trim();
    const file = named === '…' ? previous : named;
    if (!file) return { problem: `\`${span}\` repeats a file ("…") but none was named before it` };
    previous = file;
    return { file, title };
  });
}

const FILE = /^[\w.@-]+(?:\/[\w.@-]+)*\.(?:ts|tsx|js|mjs|cjs|json|md|ya?ml|graphql)$/;

/** The files a Where-in-code cell names (`file:function`, or a file alone). */
function codeFilesOf(cell: string): string[] {
  return spans(cell)
    .map((span) => span.split(':')[0]?.trim() ?? '')
    .filter((file) => file.includes('/') && FILE.test(file));
}

// Test calls that run and must pass: `it`, `test` and their plain modifiers (not skip, todo, each…).
const RUNNING = new Set(['it', 'test', 'it.only', 'test.only', 'it.concurrent', 'test.concurrent', 'it.sequential', 'test.sequential']);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A matcher per test title in a file: exact for a string literal, `${…}` as a wildcard in a template. */
function titlesIn(path: string): Array<(title: string) => boolean> {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const titles: Array<(title: string) => boolean> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && RUNNING.has(node.expression.getText(source))) {
      const first = node.arguments[0];
      if (first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first))) {
        const text = first.text;
        titles.push((title) => title === text);
      } else if (first && ts.isTemplateExpression(first)) {
        const pattern = new RegExp(
          `^${escapeRegExp(first.head.text)}${first.templateSpans.map((s) => `.*?${escapeRegExp(s.literal.text)}`).join('')}$`,
          's',
        );
        titles.push((title) => pattern.test(title));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return titles;
}

describe('docs/rules.md', () => {
  it('names, on every row, code files that exist and tests that exist by their exact title', () => {
    const rows = rowsOf(readFileSync(join(ROOT, TABLE), 'utf8'));
    const cache = new Map<string, Array<(title: string) => boolean>>();
    const titles = (file: string) => {
      let found = cache.get(file);
      if (!found) cache.set(file, (found = titlesIn(join(ROOT, file))));
      return found;
    };
    const problems: string[] = [];
    const seen = new Map<string, number>();
    for (const row of rows) {
      const where = `${TABLE}:${row.line} ${row.id}`;
      const earlier = seen.get(row.id);
      if (earlier !== undefined) problems.push(`${where}: the number ${row.id} is also used on line ${earlier}`);
      seen.set(row.id, row.line);

      const files = codeFilesOf(row.code);
      if (files.length === 0) problems.push(`${where}: names no code file ("Where in code" as \`file:function\`)`);
      for (const file of files) if (!existsSync(join(ROOT, file))) problems.push(`${where}: code file ${file} does not exist`);

      const tests = testsOf(row.tests);
      if (tests.length === 0) problems.push(`${where}: names no test`);
      for (const test of tests) {
        if ('problem' in test) {
          problems.push(`${where}: ${test.problem}`);
        } else if (!/\.test\.ts$/.test(test.file) || !existsSync(join(ROOT, test.file))) {
          problems.push(`${where}: test file ${test.file} does not exist`);
        } else if (!titles(test.file).some((matches) => matches(test.title))) {
          problems.push(`${where}: no test "${test.title}" in ${test.file}`);
        }
      }
    }
    expect(rows.length, `${TABLE} has no numbered rows`).toBeGreaterThan(0);
    expect(problems, `${TABLE}: ${problems.length} problem(s):\n${problems.join('\n')}\n`).toEqual([]);
    console.log(`${TABLE}: ${rows.length} rules, every row names a test that exists`);
  });
});
