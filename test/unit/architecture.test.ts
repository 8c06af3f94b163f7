// Architecture rules that fail the build when broken (docs/adr/0009-layers-and-composition.md):
// imports point down the layers only, Express stays in src/http, the pg driver in src/storage.
// Every static import/export, dynamic import() and createRequire require() of src/**/*.ts is
// read from the source text (comments removed), type-only imports included.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

/** Bottom to top. A module may import its own layer and those below it. */
const LAYERS = ['core', 'storage', 'terminology', 'search', 'fhir', 'jobs', 'load', 'audit', 'auth', 'http', 'cli', 'top'] as const;
type Layer = (typeof LAYERS)[number];
/**
 * jobs, load and audit (the audit trail, issue 11) are siblings above fhir: none may import
 * another. auth (the SMART
 * authorization server: its own endpoints, pages and tables) sits below http, whose
 * authentication reads auth's token contracts; src/cli holds the commands src/cli.ts dispatches.
 * terminology (issue 12: UCUM, code systems) sits under search, which asks it what codes and
 * units mean, and over storage, where concepts will be kept.
 */
const RANK: Record<Layer, number> = { core: 0, storage: 1, terminology: 1.5, search: 2, fhir: 3, jobs: 4, load: 4, audit: 4, auth: 5, http: 6, cli: 7, top: 8 };

/** Packages that belong to one layer (and its own subtree) only. */
const PACKAGE_HOMES: { pattern: RegExp; home: string; why: string }[] = [
  { pattern: /^(express|cors|helmet|compression)(\/|$)/, home: 'src/http/', why: 'Express and its middleware live in src/http (and the authorization server\'s routes in src/auth) only' },
  { pattern: /^(express)(\/|$)/, home: 'src/auth/', why: 'Express and its middleware live in src/http (and the authorization server\'s routes in src/auth) only' },
  { pattern: /^(pg|pg-[a-z-]+|@electric-sql\/.+)(\/|$)/, home: 'src/storage/', why: 'the PostgreSQL driver lives in src/storage only' },
];

/**
 * src/storage/pg is the implementation: above storage, only the composition root (top-level
 * src/*.ts) wires it. Everything else sees the interfaces in src/storage/*.ts.
 */
const STORAGE_IMPL = 'src/storage/pg/';

/**
 * Besides the composition root, these open tenant transactions on the pool themselves: the
 * authorization server's tables (clients, keys, codes, grants, users, sessions) are not FHIR
 * resources and have their own small stores in src/auth, and the CLI commands that manage them.
 */
const STORAGE_IMPL_USERS = ['src/auth/', 'src/cli/'];

/**
 * Known exceptions, each with the reason it is tolerated; a new one needs an entry here
 * (and a reviewer). Key: `importer -> imported`.
 */
const ALLOWED: Record<string, string> = {
  'src/jobs/reindex-worker.ts -> src/storage/pg/reindex-jobs.ts':
    'type-only: the worker is handed the pg-backed queue by server.ts; replace with an interface in src/storage when the queue gets one',
};

export interface ImportRef {
  specifier: string;
  line: number;
}

/** Removes comments, keeping strings, template literals and line numbers intact. */
export function stripComments(source: string): string {
  let out = '';
  let i = 0;
  let lastSignificant = '';
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
      lastSignificant = c;
      continue;
    }
    // A regular expression literal may hold quotes or slashes: copy it whole.
    if (c === '/' && (lastSignificant === '' || '(,=:[!&|?{};+-*%<>~^'.includes(lastSignificant))) {
      let j = i + 1;
      let inClass = false;
      while (j < source.length && source[j] !== '\n' && (inClass || source[j] !== '/')) {
        if (source[j] === '\\') j++;
        else if (source[j] === '[') inClass = true;
        else if (source[j] === ']') inClass = false;
        j++;
      }
      out += source.slice(i, j + 1);
      i = j + 1;
      lastSignificant = '/';
      continue;
    }
    out += c;
    if (!/\s/.test(c)) lastSignificant = c;
    i++;
  }
  return out;
}

/** Every module specifier the file names: import/export ... from, import 'x', import('x'), require('x'). */
export function importsOf(source: string): ImportRef[] {
  const code = stripComments(source);
  const lineAt = (index: number) => code.slice(0, index).split('\n').length;
  const refs: ImportRef[] = [];
  const patterns = [
    /(?:^|[;\n}])\s*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"]+)\1/g,
    /(?:^|[;\n}])\s*import\s*(['"])([^'"]+)\1/g,
    /\b(?:import|require)\s*\(\s*(['"`])([^'"`]+)\1\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) refs.push({ specifier: match[2], line: lineAt(match.index + match[0].indexOf(match[2])) });
  }
  // A computed specifier cannot be checked: refuse it rather than let it through unseen.
  for (const match of code.matchAll(/\bimport\s*\(\s*(?!['"`][^'"`$]*['"`]\s*\))/g)) {
    refs.push({ specifier: '<computed>', line: lineAt(match.index) });
  }
  return refs.sort((a, b) => a.line - b.line);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const repoPath = (absolute: string) => relative(ROOT, absolute).split(sep).join('/');

export function layerOf(path: string): Layer {
  const parts = path.split('/');
  if (parts.length === 2) return 'top';
  const layer = parts[1] as Layer;
  if (!LAYERS.includes(layer) || layer === 'top') throw new Error(`${path}: src/${parts[1]} is in no layer; add it to LAYERS in test/unit/architecture.test.ts`);
  return layer;
}

/** The rule an import breaks, or undefined. `importer` and a relative target are repo paths (src/...). */
export function violation(importer: string, specifier: string): string | undefined {
  if (specifier === '<computed>') return 'a dynamic import() with a computed specifier cannot be checked';
  if (!specifier.startsWith('.')) {
    if (specifier.startsWith('node:')) return undefined;
    const rules = PACKAGE_HOMES.filter((p) => p.pattern.test(specifier));
    if (rules.length > 0 && !rules.some((rule) => importer.startsWith(rule.home))) return rules[0].why;
    return undefined;
  }
  const target = posix.normalize(posix.join(posix.dirname(importer), specifier)).replace(/\.js$/, '.ts');
  if (!target.startsWith('src/')) return 'src/ imports nothing outside src/';
  if (ALLOWED[`${importer} -> ${target}`]) return undefined;
  const from = layerOf(importer);
  const to = layerOf(target);
  if (RANK[to] > RANK[from] || (RANK[to] === RANK[from] && from !== to)) {
    return `layer ${from} may not import layer ${to} (order: core < storage < search < fhir < jobs | load | audit < auth < http < cli < src/*.ts)`;
  }
  if (target.startsWith(STORAGE_IMPL) && !importer.startsWith(STORAGE_IMPL) && from !== 'top' && !STORAGE_IMPL_USERS.some((p) => importer.startsWith(p))) {
    return `${STORAGE_IMPL} is wired only by the composition root (src/*.ts); import the interfaces in src/storage/*.ts`;
  }
  return undefined;
}

function violations(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const importer = repoPath(file);
    for (const ref of importsOf(readFileSync(file, 'utf8'))) {
      const broken = violation(importer, ref.specifier);
      if (broken) found.push(`${importer}:${ref.line} imports '${ref.specifier}': ${broken}`);
    }
  }
  return found;
}

describe('architecture rules', () => {
  it('src/ imports only downward, Express only in src/http, pg only in src/storage', () => {
    const found = violations();
    assert.deepEqual(found, [], `Architecture rules broken:\n  ${found.join('\n  ')}`);
  });

  it('every allowed exception is still used (stale entries are removed)', () => {
    for (const key of Object.keys(ALLOWED)) {
      const [importer, target] = key.split(' -> ');
      const refs = importsOf(readFileSync(join(ROOT, importer), 'utf8'));
      const used = refs.some((r) => r.specifier.startsWith('.') && posix.normalize(posix.join(posix.dirname(importer), r.specifier)).replace(/\.js$/, '.ts') === target);
      assert.ok(used, `ALLOWED entry '${key}' no longer matches an import: remove it`);
    }
  });

  describe('the scanner and the rules themselves', () => {
    it('finds static, multi-line, type-only, re-export, side-effect, dynamic and require specifiers', () => {
      const source = [
        "import a from './a.js';",
        'import {',
        '  b,',
        "} from './b.js';",
        "import type { C } from './c.js';",
        "export { d } from './d.js';",
        "export * from './e.js';",
        "import './f.js';",
        "const g = await import('./g.js');",
        "const h = require('h-package');",
      ].join('\n');
      assert.deepEqual(
        importsOf(source).map((r) => `${r.line}:${r.specifier}`),
        ['1:./a.js', '4:./b.js', '5:./c.js', '6:./d.js', '7:./e.js', '8:./f.js', '9:./g.js', '10:h-package'],
      );
    });

    it('ignores comments and strings that only look like imports, refuses computed import()', () => {
      const source = [
        "// import x from 'express';",
        "/* import('pg') */",
        "const re = /'/; // import y from 'pg'",
        "const s = 'import z from \"pg\"';",
        'const m = await import(name);',
      ].join('\n');
      assert.deepEqual(importsOf(source).map((r) => r.specifier), ['<computed>']);
    });

    it('names the broken rule for imports that point up or leak a driver', () => {
      assert.match(violation('src/storage/pg/pg-repository.ts', '../../search/engine.js') ?? '', /layer storage may not import layer search/);
      assert.match(violation('src/search/engine.ts', '../storage/pg/pg-resource-store.js') ?? '', /wired only by the composition root/);
      assert.match(violation('src/fhir/service.ts', '../http/app.js') ?? '', /layer fhir may not import layer http/);
      assert.match(violation('src/jobs/x.ts', '../load/runner.js') ?? '', /layer jobs may not import layer load/);
      assert.match(violation('src/fhir/router.ts', 'express') ?? '', /Express/);
      assert.match(violation('src/fhir/router.ts', 'pg') ?? '', /PostgreSQL driver/);
      assert.match(violation('src/http/app.ts', '@electric-sql/pglite') ?? '', /PostgreSQL driver/);
      assert.equal(violation('src/search/engine.ts', '../storage/resource-store.js'), undefined);
      assert.equal(violation('src/server.ts', './storage/pg/database.js'), undefined);
      assert.equal(violation('src/http/app.ts', 'express'), undefined);
      assert.equal(violation('src/storage/pg/database.ts', 'pg'), undefined);
    });
  });
});
