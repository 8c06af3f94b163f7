// storage/search-sql.ts: ResourceStore.query takes only SQL the search layer built. The type
// refuses plain strings (checked by tsc through the @ts-expect-error below); this test keeps the
// one way to make a SearchSql, searchSql(), inside src/search, and casts to it out of src/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResourceStore } from '../../../src/storage/resource-store.js';

/** Source without comments (line comments and blocks; enough for the patterns below). */
const withoutComments = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const files = sourceFiles(join(ROOT, 'src')).map((file) => ({
  path: relative(ROOT, file).split(sep).join('/'),
  code: withoutComments(readFileSync(file, 'utf8')),
}));

describe('SearchSql: only the search layer writes SQL for ResourceStore.query', () => {
  it('plain strings do not type-check as a query', () => {
    // Never called: the point is that tsc rejects the argument.
    const typeCheckOnly = (store: ResourceStore) =>
      // @ts-expect-error hand-written SQL is not a SearchSql
      store.query('SELECT 1', []);
    assert.equal(typeof typeCheckOnly, 'function');
  });

  it('searchSql() is imported only by modules under src/search', () => {
    const importers = files.filter((f) => /from '[^']*\/search-sql\.js'/.test(f.code) && /\bsearchSql\b/.test(f.code)).map((f) => f.path);
    assert.ok(importers.includes('src/search/sql.ts'), 'sql.ts builds search statements');
    assert.deepEqual(importers.filter((p) => !p.startsWith('src/search/')), []);
  });

  it('nothing casts to SearchSql except searchSql() itself', () => {
    const casts = files.filter((f) => /\bas\s+SearchSql\b/.test(f.code)).map((f) => f.path);
    assert.deepEqual(casts, ['src/search/search-sql.ts']);
  });
});
