// Unit tests for src/search/include.ts (FHIR R4 search.html#include, #revinclude, #iterate):
// the round logic, de-duplication, the cap on included resources, the round limit and
// the number of statements, against an in-memory ResourceStore that answers the three
// statement shapes include.ts generates (index load, include by ids, revinclude by probes)
// from their bind values. Real SQL is covered by test/e2e/search-include.test.ts.
import assert from 'node:assert/strict';
import { createIndexer } from '../../../src/search/indexer.js';
import { DEFAULT_INCLUDE_LIMITS, includeStatement, resolveIncludes, revincludeStatement, type IncludeLimits } from '../../../src/search/include.js';
import { jsonContains } from '../../../src/search/params/shared.js';
import { parseSearchQuery } from '../../../src/search/parse-query.js';
import { createSearchRegistry } from '../../../src/search/registry/registry.js';
import type { SearchIndex } from '../../../src/search/types.js';
import type { ResourceStore, SearchSql, StoredVersion } from '../../../src/storage/resource-store.js';
import { snakeCase } from '../../../src/storage/table-names.js';

const registry = createSearchRegistry();
const indexer = createIndexer(registry);

interface Row {
  type: string;
  id: string;
  deleted: boolean;
  content: string;
  sp: SearchIndex;
}

/** Answers include.ts statements from `rows`; records every statement. */
class MemoryStore implements ResourceStore {
  readonly tenantId = 't1';
  readonly statements: string[] = [];
  constructor(private readonly rows: Row[]) {}

  get searchParameters(): never {
    throw new Error('not used by include.ts');
  }

  get reindexJobs(): never {
    throw new Error('not used by include.ts');
  }

  get loadLedger(): never {
    throw new Error('not used by include.ts');
  }

  get audit(): never {
    throw new Error('not used by include.ts');
  }
  get outbox(): never {
    throw new Error('not used');
  }
  get terminology(): never {
    throw new Error('not used by include.ts');
  }

  async query<T extends object>(text: SearchSql, values: unknown[]): Promise<T[]> {
    this.statements.push(text);
    assert.equal(values[0], this.tenantId, 'the tenant is the first bind');
    assert.ok(!/'[^']*'/.test(text), `no literals in ${text}`);
    const live = this.rows.filter((r) => !r.deleted);
    const out = (r: Row, withType = false) =>
      ({ ...(withType ? { resource_type: r.type } : {}), id: r.id, version_id: 1, last_updated: new Date(0), content: r.content, sp: r.sp }) as unknown as T;
    if (text.startsWith('SELECT r.id, r.sp FROM')) {
      const type = this.typeOf(/FROM "(\w+)" r/.exec(text)?.[1]);
      const ids = values[1] as string[];
      return live.filter((r) => r.type === type && ids.includes(r.id)).map((r) => ({ id: r.id, sp: r.sp }) as unknown as T);
    }
    if (text.includes('unnest(')) {
      const type = this.typeOf(/FROM "(\w+)" s/.exec(text)?.[1]);
      const probes = (values[1] as string[]).map((p) => JSON.parse(p) as unknown);
      const exclude = values.length === 4 ? (values[2] as string[]) : [];
      const limit = values[values.length - 1] as number;
      const found: T[] = [];
      for (const probe of probes) {
        for (const r of live) if (r.type === type && !exclude.includes(r.id) && jsonContains(r.sp, probe)) found.push(out(r));
      }
      return found.slice(0, limit);
    }
    // include: [tenant, type1, ids1, type2, ids2, ..., limit]
    const limit = values[values.length - 1] as number;
    const found: T[] = [];
    for (let i = 1; i < values.length - 1; i += 2) {
      const [type, ids] = [values[i] as string, values[i + 1] as string[]];
      for (const r of live) if (r.type === type && ids.includes(r.id)) found.push(out(r, true));
    }
    return found.slice(0, limit);
  }

  private typeOf(table: string | undefined): string {
    const type = [...new Set(this.rows.map((r) => r.type))].find((t) => snakeCase(t) === table);
    assert.ok(type, `table ${table}`);
    return type;
  }

  readCurrent(): never {
    throw new Error('not used');
  }
  readVersion(): never {
    throw new Error('not used');
  }
  writeVersion(): never {
    throw new Error('not used');
  }
  writeVersions(): never {
    throw new Error('not used');
  }
  readCurrentMany(): never {
    throw new Error('not used');
  }
  lockKeys(): never {
    throw new Error('not used');
  }
  history(): never {
    throw new Error('not used');
  }
}

function row(resource: Record<string, unknown> & { resourceType: string; id: string }, deleted = false): Row {
  return { type: resource.resourceType, id: resource.id, deleted, content: JSON.stringify(resource), sp: indexer(resource) };
}

const CODE = { coding: [{ system: 'http://loinc.org', code: '8867-4' }] };
const obs = (id: string, fields: Record<string, unknown> = {}) => row({ resourceType: 'Observation', id, status: 'final', code: CODE, ...fields });
const ref = (reference: string) => ({ reference });

async function include(store: MemoryStore, type: string, search: string, matchIds: string[], limits: IncludeLimits = DEFAULT_INCLUDE_LIMITS) {
  const query = parseSearchQuery(registry, type, new URLSearchParams(search), { lenient: false, defaultCount: 10, maxCount: 100 });
  const matches: StoredVersion[] = matchIds.map((id) => ({ resourceType: type, id, versionId: 1, lastUpdated: new Date(0), deleted: false, content: '{}' }));
  const result = await resolveIncludes(store, registry, query.includes, matches, limits);
  const keys = result.included.map((r) => `${r.resourceType}/${r.id}`);
  assert.equal(new Set(keys).size, keys.length, `no duplicates in ${keys.join(', ')}`);
  return { keys: keys.sort(), warnings: result.warnings.map((w) => `${w.severity}:${w.code}:${w.diagnostics}`) };
}

describe('search _include / _revinclude resolution (src/search/include.ts)', () => {
  it('follows every include spec of a round in one statement, after one index load', async () => {
    const store = new MemoryStore([
      row({ resourceType: 'Patient', id: 'p1' }),
      row({ resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' } }),
      obs('o1', { subject: ref('Patient/p1'), encounter: ref('Encounter/e1') }),
      obs('o2', { subject: ref('Patient/p1'), encounter: ref('Encounter/e1') }),
    ]);
    const r = await include(store, 'Observation', '_include=Observation:subject&_include=Observation:encounter', ['o1', 'o2']);
    assert.deepEqual(r.keys, ['Encounter/e1', 'Patient/p1']);
    assert.deepEqual(r.warnings, []);
    assert.equal(store.statements.length, 2, store.statements.join('\n'));
  });

  it('revinclude: one statement per spec and round; excludes matches and deleted resources', async () => {
    const store = new MemoryStore([
      row({ resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' } }),
      obs('o1', { encounter: ref('Encounter/e1') }),
      obs('o2', { encounter: ref('Encounter/e1'), hasMember: [ref('Observation/o1')] }),
      obs('o3', { encounter: ref('Encounter/e1') }),
      { ...obs('o4', { encounter: ref('Encounter/e1') }), deleted: true },
    ]);
    const r = await include(store, 'Encounter', '_revinclude=Observation:encounter', ['e1']);
    assert.deepEqual(r.keys, ['Observation/o1', 'Observation/o2', 'Observation/o3']);
    assert.equal(store.statements.length, 1);
    const self = await include(store, 'Observation', '_revinclude=Observation:has-member', ['o1', 'o2']);
    assert.deepEqual(self.keys, []); // o2 refers to o1 but is itself a match
  });

  it('stops at the cap and says so in an OperationOutcome warning', async () => {
    const rows = [row({ resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' } })];
    for (let i = 0; i < 5; i++) rows.push(obs(`o${i}`, { encounter: ref('Encounter/e1') }));
    const store = new MemoryStore(rows);
    const capped = await include(store, 'Encounter', '_revinclude=Observation:encounter', ['e1'], { maxRounds: 3, maxIncluded: 3 });
    assert.equal(capped.keys.length, 3);
    assert.equal(capped.warnings.length, 1);
    assert.match(capped.warnings[0], /^warning:incomplete:.*3/);
    const exact = await include(store, 'Encounter', '_revinclude=Observation:encounter', ['e1'], { maxRounds: 3, maxIncluded: 5 });
    assert.equal(exact.keys.length, 5);
    assert.deepEqual(exact.warnings, []);
  });

  it('the cap counts across specs and rounds', async () => {
    const store = new MemoryStore([
      row({ resourceType: 'Patient', id: 'p1' }),
      row({ resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: ref('Patient/p1') }),
      obs('o1', { subject: ref('Patient/p1'), encounter: ref('Encounter/e1') }),
      obs('o2', { subject: ref('Patient/p1'), encounter: ref('Encounter/e1') }),
    ]);
    const r = await include(store, 'Encounter', '_include=Encounter:subject&_revinclude=Observation:encounter', ['e1'], { maxRounds: 3, maxIncluded: 2 });
    assert.equal(r.keys.length, 2);
    assert.ok(r.keys.includes('Patient/p1'), 'includes run before revincludes within a round');
    assert.equal(r.warnings.length, 1);
  });

  it('duplicate rows (one resource matching several probes) neither count twice nor hide the cap', async () => {
    const rows = [row({ resourceType: 'Patient', id: 'p1' })];
    // subject and patient both index Patient/p1: `Observation:*` probes hit every Observation twice.
    for (let i = 0; i < 4; i++) rows.push(obs(`o${i}`, { subject: ref('Patient/p1') }));
    const store = new MemoryStore(rows);
    const r = await include(store, 'Patient', '_revinclude=Observation:*', ['p1'], { maxRounds: 3, maxIncluded: 4 });
    assert.deepEqual(r.keys, ['Observation/o0', 'Observation/o1', 'Observation/o2', 'Observation/o3']);
    assert.deepEqual(r.warnings, []);
    assert.equal(store.statements.length, 2, 'one retry with a larger LIMIT');
    const capped = await include(store, 'Patient', '_revinclude=Observation:*', ['p1'], { maxRounds: 3, maxIncluded: 3 });
    assert.equal(capped.keys.length, 3);
    assert.equal(capped.warnings.length, 1);
  });

  it(':iterate runs at most maxRounds rounds and warns when it stops early; cycles end', async () => {
    const chain = ['o1', 'o2', 'o3', 'o4', 'o5'].map((id, i, all) => obs(id, all[i + 1] ? { hasMember: [ref(`Observation/${all[i + 1]}`)] } : {}));
    const store = new MemoryStore(chain);
    const limited = await include(store, 'Observation', '_include:iterate=Observation:has-member', ['o1'], { maxRounds: 3, maxIncluded: 1000 });
    assert.deepEqual(limited.keys, ['Observation/o2', 'Observation/o3', 'Observation/o4']);
    assert.equal(limited.warnings.length, 1);
    assert.match(limited.warnings[0], /3 rounds/);
    const all = await include(store, 'Observation', '_include:iterate=Observation:has-member', ['o1'], { maxRounds: 10, maxIncluded: 1000 });
    assert.deepEqual(all.keys, ['Observation/o2', 'Observation/o3', 'Observation/o4', 'Observation/o5']);
    assert.deepEqual(all.warnings, []);
    const cycle = new MemoryStore([obs('a', { hasMember: [ref('Observation/b')] }), obs('b', { hasMember: [ref('Observation/a')] })]);
    const c = await include(cycle, 'Observation', '_include:iterate=Observation:has-member', ['a']);
    assert.deepEqual(c.keys, ['Observation/b']);
    assert.deepEqual(c.warnings, []);
  });

  it('non-iterate specs apply to the matches only; :iterate ones also to included resources', async () => {
    const store = new MemoryStore([
      row({ resourceType: 'Practitioner', id: 'pr' }),
      row({ resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, participant: [{ individual: ref('Practitioner/pr') }] }),
      obs('o1', { encounter: ref('Encounter/e1') }),
      obs('o2', { encounter: ref('Encounter/e1') }),
    ]);
    const forward = await include(store, 'Observation', '_include=Observation:encounter&_include:iterate=Encounter:participant', ['o1']);
    assert.deepEqual(forward.keys, ['Encounter/e1', 'Practitioner/pr']);
    // e1 is included, not matched: a plain _revinclude does not look for its referrers ...
    const flat = await include(store, 'Observation', '_include=Observation:encounter&_revinclude=Observation:encounter', ['o1']);
    assert.deepEqual(flat.keys, ['Encounter/e1']);
    // ... an :iterate one does (o1 is a match, so only o2 is added).
    const iterate = await include(store, 'Observation', '_include=Observation:encounter&_revinclude:iterate=Observation:encounter', ['o1']);
    assert.deepEqual(iterate.keys, ['Encounter/e1', 'Observation/o2']);
  });

  it('statements bind every value and take table names from tablesFor()', () => {
    const rev = revincludeStatement('t1', 'MedicationRequest', ['{"encounter":["Encounter/x\'"]}'], ["o'1"], 11, true);
    assert.match(rev.text, /FROM "medication_request" s/);
    assert.ok(!rev.text.includes("'"), rev.text);
    assert.deepEqual(rev.values, ['t1', ['{"encounter":["Encounter/x\'"]}'], ["o'1"], 11]);
    const inc = includeStatement('t1', new Map([['Patient', ["p'1"]], ['Encounter', ['e1']]]), 5, false);
    assert.match(inc.text, /FROM "encounter" r .* UNION ALL .*FROM "patient" r/);
    assert.ok(!inc.text.includes("'"), inc.text);
    assert.deepEqual(inc.values, ['t1', 'Encounter', ['e1'], 'Patient', ["p'1"], 5]);
  });
});
