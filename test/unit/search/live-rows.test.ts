// src/search/live-rows.ts is the only place search SQL spells out which rows of a resource table
// a statement may see (tenant, live rows; the access scope of the SMART issue joins them there):
// a builder that writes its own `NOT x.deleted` could leave out whatever liveRows adds later.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { liveRows } from '../../../src/search/live-rows.js';
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
    assert.equal(liveRows('r', '$1'), 'r.tenant_id = $1 AND NOT r.deleted');
  });

  it('is the only place in src/search that writes a deleted-row condition', () => {
    const offenders = sources(join(projectRoot(), 'src', 'search'))
      .filter((file) => !file.endsWith('live-rows.ts'))
      .filter((file) => /NOT\s+(\$\{[^}]+\}|[A-Za-z_]\w*)\.deleted/.test(code(readFileSync(file, 'utf8'))));
    assert.deepEqual(offenders, []);
  });
});
