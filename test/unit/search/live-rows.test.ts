// src/search/live-rows.ts is the only place search SQL spells out which rows of a resource table
// a statement may see (tenant, live rows, and the caller's data constraint for the type: SMART
// scopes): a builder that writes its own `NOT x.deleted` would leave the constraint out.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { liveRows } from '../../../src/search/live-rows.js';
import { FULL_READ_SCOPE, NONE, type ReadScope } from '../../../src/search/reach.js';
import { Binds } from '../../../src/search/where-sql.js';
import { createSearchRegistry } from '../../../src/search/registry/registry.js';
import { projectRoot } from '../../../src/core/project-root.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Code without its comments, so prose about `NOT deleted` does not count. */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

describe('live rows (src/search/live-rows.ts)', () => {
  it('gives the tenant and live-row condition for an alias', () => {
    assert.equal(liveRows('r', 'Patient', { tenant: '$1', binds: new Binds(), scope: FULL_READ_SCOPE }, 's'), 'r.tenant_id = $1 AND NOT r.deleted');
  });

  it('adds the data constraint of the type, with bound values, and FALSE for a type out of reach', () => {
    const registry = createSearchRegistry();
    const defs = ['subject', 'performer'].map((code) => registry.get('Observation', code)!);
    const scope: ReadScope = {
      unrestricted: false,
      reach: (type, letters) =>
        type === 'Observation' && letters.includes('s') ? { kind: 'some', any: [[{ kind: 'compartment', defs, reference: 'Patient/a' }]] } : NONE,
    };
    const binds = new Binds();
    binds.add('tenant');
    const sql = liveRows('o', 'Observation', { tenant: '$1', binds, scope }, 's');
    const probe = (k: number) => `o.sp @> jsonb_build_object($${k}::text, jsonb_build_array($${k + 1}::text))`;
    assert.equal(sql, `o.tenant_id = $1 AND NOT o.deleted AND ((${probe(2)} OR ${probe(4)}))`);
    assert.deepEqual(binds.values, ['tenant', 'subject', 'Patient/a', 'performer', 'Patient/a']);
    assert.equal(liveRows('o', 'Observation', { tenant: '$1', binds, scope }, 'r'), 'o.tenant_id = $1 AND NOT o.deleted AND (FALSE)');
    assert.equal(liveRows('p', 'Patient', { tenant: '$1', binds, scope }, 's'), 'p.tenant_id = $1 AND NOT p.deleted AND (FALSE)');
  });

  it('is called with a type and a context in every search module (the constraint cannot be left out)', () => {
    const calls = sources(join(projectRoot(), 'src', 'search'))
      .filter((file) => !file.endsWith('live-rows.ts'))
      .flatMap((file) => [...code(readFileSync(file, 'utf8')).matchAll(/liveRows\(([^()]*(?:\([^()]*\)[^()]*)*)\)/g)].map((m) => `${file}: ${m[1]}`));
    assert.ok(calls.length >= 10, `expected the search statements to use liveRows, found ${calls.length}`);
    for (const call of calls) assert.match(call, /, '(r|s)'$/, call);
  });

  it('is the only place in src/search that writes a deleted-row condition', () => {
    const offenders = sources(join(projectRoot(), 'src', 'search'))
      .filter((file) => !file.endsWith('live-rows.ts'))
      .filter((file) => /NOT\s+(\$\{[^}]+\}|[A-Za-z_]\w*)\.deleted/.test(code(readFileSync(file, 'utf8'))));
    assert.deepEqual(offenders, []);
  });
});
