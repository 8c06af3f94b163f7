// Unit tests of the distributed mode's statement shapes (issue 15; ADR 0024): the opening of a
// tenant transaction on a Citus coordinator (tenant-session.ts) and the multi-row VALUES inserts
// (row-values.ts). The cluster behaviour itself is in test/citus (npm run test:citus).
import assert from 'node:assert/strict';
import { Binds, boundRows, MAX_BINDS, rowChunks, valuesInsert, valuesInserts } from '../../src/storage/pg/row-values.js';
import { distributedBeginQueries } from '../../src/storage/pg/tenant-session.js';

describe('distributedBeginQueries', () => {
  it('sets the tenant in a query of its own, which Citus replays on the workers by its text', () => {
    const queries = distributedBeginQueries('t-1.a');
    assert.equal(queries.length, 3);
    assert.match(queries[0], /^BEGIN; SELECT /);
    assert.match(queries[0], /set_config\('role', 'hearth_app', true\)/);
    assert.match(queries[0], /set_config\('citus\.propagate_set_commands', 'local', true\)/);
    assert.equal(queries[1], "SET LOCAL app.tenant_id = 't-1.a'");
    assert.match(queries[2], /^SELECT hearth_search_generation\('t-1\.a'\)/);
    for (const q of queries.slice(1)) assert.ok(!q.includes(';'), `one statement: ${q}`);
  });

  it('opens a read-only transaction for reads, without the generations', () => {
    const queries = distributedBeginQueries('t1', { readOnly: true, ginPendingListLimitKb: 512 });
    assert.deepEqual(queries.map((q) => q.split(';')[0]), ['BEGIN READ ONLY', "SET LOCAL app.tenant_id = 't1'"]);
    assert.ok(!queries[0].includes('gin_pending_list_limit'));
  });

  it('refuses a tenant id that could close the quoted literal', () => {
    for (const bad of ["x'; RESET ROLE; --", 'a b', '', 'é', 'x'.repeat(65)]) {
      assert.throws(() => distributedBeginQueries(bad), /Invalid tenant id/);
    }
  });
});

describe('row-values: INSERT … VALUES for the distributed mode', () => {
  const fields = [
    { name: 'id', type: 'text' },
    { name: 'sp', type: 'jsonb' },
    { name: 'patients', type: 'text[]' },
  ];

  it('binds each field of a row once, however often the statement uses it', () => {
    const binds = new Binds();
    const tenant = binds.add('t1');
    const rows = boundRows([{ id: 'a', sp: { x: [1] }, patients: ['p1'] }, { id: 'b', sp: null, patients: [] }], fields, binds);
    const text = valuesInsert('t', 'tenant_id, id, copy, sp, patients', rows, (r) => `${tenant}, ${r('id')}, ${r('id')}, ${r('sp')}, ${r('patients')}`);
    assert.equal(text, 'INSERT INTO t (tenant_id, id, copy, sp, patients) VALUES ($1, $2::text, $2::text, $3::jsonb, $4::text[]), ($1, $5::text, $5::text, $6::jsonb, $7::text[])');
    // json values go as their JSON text; arrays for array columns as arrays; null stays null.
    assert.deepEqual(binds.values, ['t1', 'a', '{"x":[1]}', ['p1'], 'b', null, []]);
  });

  it('refuses a field the row shape does not declare', () => {
    const [row] = boundRows([{ id: 'a' }], fields, new Binds());
    assert.throws(() => row('nope'), /No field nope/);
  });

  it('chunks rows so that no statement binds more than MAX_BINDS parameters', () => {
    const rows = Array.from({ length: 25_000 }, (_, i) => i);
    const chunks = rowChunks(rows, 8);
    assert.deepEqual(chunks.flat(), rows);
    for (const chunk of chunks) assert.ok(chunk.length * 8 + 1 <= MAX_BINDS);
    assert.equal(chunks.length, Math.ceil(25_000 / Math.floor((MAX_BINDS - 1) / 8)));
    assert.deepEqual(rowChunks([], 8), []);
  });

  it('valuesInserts binds the lead once per statement, casts it, and appends the suffix to every chunk', () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ child: `c${i}`, parent: 'p' }));
    const fields = [{ name: 'child', type: 'text' }, { name: 'parent', type: 'text' }];
    const inserts = valuesInserts('t', 'tenant_id, version, child, parent', fields, rows, { lead: [{ value: 't1' }, { value: '7', type: 'bigint' }], suffix: 'ON CONFLICT DO NOTHING' });
    assert.equal(inserts.length, 2);
    for (const insert of inserts) {
      assert.ok(insert.values!.length <= MAX_BINDS);
      assert.deepEqual(insert.values!.slice(0, 2), ['t1', '7']);
      assert.match(insert.text, /^INSERT INTO t \(tenant_id, version, child, parent\) VALUES \(\$1, \$2::bigint, \$3::text, \$4::text\), /);
      assert.match(insert.text, / ON CONFLICT DO NOTHING$/);
    }
    assert.equal(inserts.reduce((n, i) => n + (i.values!.length - 2) / 2, 0), 20_000);
    const [projected] = valuesInserts('t', 'a, b', fields, rows.slice(0, 1), { lead: [{ value: 't1' }], project: (r, [tenant]) => `${r('child')}, ${tenant}` });
    assert.equal(projected.text, 'INSERT INTO t (a, b) VALUES ($2::text, $1)');
  });
});

