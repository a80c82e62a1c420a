// The local FerretDB's start-up clean-up (infra/local.ts): only a database file FerretDB left with no
// table is removed; a database of any size is left alone and never read whole.
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyDatabaseFiles } from '../../infra/local.ts';

const dir = mkdtempSync(join(tmpdir(), 'huying-ferretdb-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('database files removed before FerretDB starts', () => {
  it('an empty file goes; one with its write-ahead log and one larger than a buffer can hold stay', () => {
    writeFileSync(join(dir, 'left_empty.sqlite'), '');
    writeFileSync(join(dir, 'open.sqlite'), '');
    writeFileSync(join(dir, 'open.sqlite-wal'), '');
    // A kept history of millions of calls: 3 GiB, sparse (no disk taken), past Node's 2 GiB buffer limit.
    writeFileSync(join(dir, 'history.sqlite'), 'SQLite format 3\0');
    truncateSync(join(dir, 'history.sqlite'), 3 * 1024 ** 3);
    expect(emptyDatabaseFiles(dir)).toEqual(['left_empty.sqlite']);
  });
});
