// The distributed mode on a Citus coordinator (issue 15; src/storage/pg/distributed.ts, ADR 0024).
// Only in `npm run test:citus` (test/citus/run.ts), against CITUS_DATABASE_URL: a coordinator with
// workers, the database's `citus` extension created on every node. What it holds to:
//  - the migrations distribute every tenant table by tenant_id in one colocation group, make the
//    shared tables reference tables, keep the cross-tenant queue on the coordinator, and do
//    nothing more when run again;
//  - the workers have what the app needs: hearth_app may log in, jsonb_contains is LEAKPROOF;
//  - a tenant's session reaches the workers with its tenant set: row-level security holds on the
//    shards (another tenant's rows are invisible and cannot be written), and a multi-shard
//    statement sees only the session's tenant;
//  - a tenant's searches run as one router task on its shard.
import assert from 'node:assert/strict';
import type { OperationOutcome } from 'fhir/r4.js';
import type pg from 'pg';
import { COORDINATOR_TABLES } from '../../src/storage/pg/distributed.js';
import { migrate } from '../../src/storage/pg/migrate.js';
import { inTenantTransaction, isDistributed } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { http } from '../support/http.js';
import { hearth } from '../support/cli.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';
import { useTestServer } from '../support/test-server.js';

interface TableRow {
  name: string;
  method: string | null;
  column: string | null;
  colocation: number | null;
}

/** Every table of the schema (partitions left out) with its Citus distribution, if any. */
async function tables(pool: pg.Pool): Promise<TableRow[]> {
  const { rows } = await pool.query<TableRow & { tenant: boolean }>(
    `SELECT c.relname AS name, p.partmethod::text AS method, p.colocationid AS colocation,
            CASE WHEN p.partmethod = 'h' THEN column_to_column_name(p.logicalrelid, p.partkey) END AS column,
            EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id') AS tenant
       FROM pg_class c LEFT JOIN pg_dist_partition p ON p.logicalrelid = c.oid
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      ORDER BY c.relname`,
  );
  return rows;
}

describe('distributed mode on Citus (citus tier)', function () {
  this.timeout(120_000);
  let pool: pg.Pool;

  before(async function () {
    await requireServices(this);
    pool = await testPool();
    assert.equal(await isDistributed(pool), true, 'CITUS_DATABASE_URL must name a Citus coordinator');
  });

  it('distributes every tenant table by tenant_id, all in one colocation group', async () => {
    const all = await tables(pool);
    const tenantTables = all.filter((t) => (t as TableRow & { tenant: boolean }).tenant && !COORDINATOR_TABLES.includes(t.name));
    assert.ok(tenantTables.length > 290, `${tenantTables.length} tenant tables`);
    const undistributed = tenantTables.filter((t) => t.method !== 'h' || t.column !== 'tenant_id').map((t) => t.name);
    assert.deepEqual(undistributed, []);
    for (const name of ['patient', 'observation_history', 'audit_trail', 'audit_journal', 'outbox', 'tenant_concept', 'value_set_expansion']) {
      assert.ok(tenantTables.some((t) => t.name === name), `${name} is distributed`);
    }
    assert.equal(new Set(tenantTables.map((t) => t.colocation)).size, 1, 'one colocation group: a tenant\'s rows of every table on one worker');
  });

  it('makes the shared tables reference tables and keeps the cross-tenant queue on the coordinator', async () => {
    const all = new Map((await tables(pool)).map((t) => [t.name, t]));
    for (const name of ['tenant', 'terminology_code_system', 'terminology_concept', 'terminology_closure', 'terminology_generation']) {
      assert.equal(all.get(name)?.method, 'n', `${name} is a reference table`);
    }
    assert.equal(all.get('reindex_job')?.method, null, 'reindex_job stays a local table (claimed FOR UPDATE SKIP LOCKED across tenants)');
    assert.equal(all.get('schema_migrations')?.method, null);
  });

  it('gives the workers what the app needs: hearth_app logs in, jsonb_contains is LEAKPROOF', async () => {
    const { rows: leak } = await pool.query<{ success: boolean; result: string }>(
      "SELECT success, result FROM run_command_on_workers($$SELECT proleakproof FROM pg_proc WHERE oid = 'pg_catalog.jsonb_contains(jsonb, jsonb)'::regprocedure$$)",
    );
    assert.ok(leak.length >= 2, `${leak.length} workers`);
    assert.deepEqual(leak.map((r) => [r.success, r.result]), leak.map(() => [true, 't']));
    const { rows: login } = await pool.query<{ success: boolean; result: string }>("SELECT success, result FROM run_command_on_workers($$SELECT rolcanlogin FROM pg_roles WHERE rolname = 'hearth_app'$$)");
    assert.deepEqual(login.map((r) => r.result), login.map(() => 't'));
  });

  it('is idempotent: migrating again distributes nothing', async () => {
    const again = await migrate(pool);
    assert.deepEqual(again.applied, []);
    assert.deepEqual(again.distribution, { distributed: [], referenced: [], workers: again.distribution?.workers });
  });

  it('`hearth migrate` on the coordinator says what it distributed', async () => {
    const run = await hearth(['migrate'], { DATABASE_URL: TEST_DATABASE_URL });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Citus: 0 table\(s\) distributed by tenant_id, 0 made reference tables; jsonb_contains LEAKPROOF on [2-9]\d* worker\(s\)/);
  });

  describe('a tenant session on the workers', () => {
    let mine: string;
    let theirs: string;

    before(async () => {
      mine = await newTenant(pool);
      theirs = await newTenant(pool);
      for (const [tenant, id] of [[mine, 'm1'], [theirs, 't1']]) {
        await inTenantTransaction(pool, tenant, (c) =>
          c.query("INSERT INTO patient (tenant_id, id, version_id, last_updated, deleted, content, sp) VALUES ($1, $2, 1, now(), false, '{}', '{}')", [tenant, id]),
        );
      }
    });

    it('sees only its tenant, even in a statement over every shard', async () => {
      const ids = await inTenantTransaction(pool, mine, async (c) => (await c.query<{ id: string }>('SELECT id FROM patient ORDER BY id')).rows.map((r) => r.id), { readOnly: true });
      assert.deepEqual(ids, ['m1']);
    });

    it("cannot read another tenant's rows by naming its tenant", async () => {
      const { rows } = await inTenantTransaction(pool, mine, (c) => c.query('SELECT id FROM patient WHERE tenant_id = $1', [theirs]), { readOnly: true });
      assert.deepEqual(rows, []);
    });

    it("cannot write a row into another tenant's shard", async () => {
      await assert.rejects(
        inTenantTransaction(pool, mine, (c) =>
          c.query("INSERT INTO patient (tenant_id, id, version_id, last_updated, deleted, content, sp) VALUES ($1, 'forged', 1, now(), false, '{}', '{}')", [theirs]),
        ),
        /row-level security/,
      );
      const { rows } = await pool.query('SELECT 1 FROM patient WHERE tenant_id = $1 AND id = $2', [theirs, 'forged']);
      assert.equal(rows.length, 0);
    });

    it('sees nothing on any worker without a tenant: the policy has no tenant to match', async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query("SELECT set_config('role', 'hearth_app', true)");
        // A connection that never had a tenant fails on the unknown setting; one that had (its
        // SET LOCAL ended with its transaction) reads it as '' and matches no row. Never a row.
        const rows = await client.query<{ id: string }>('SELECT id FROM patient WHERE tenant_id = ANY($1)', [[mine, theirs]]).then(
          (r) => r.rows,
          (error: Error) => {
            assert.match(error.message, /app\.tenant_id/);
            return [];
          },
        );
        assert.deepEqual(rows, []);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });
  });

  describe('searches on the tenant shard', () => {
    const hearth = useTestServer('postgres');
    let base: string;

    const shapes: [string, string][] = [
      ['S1 name', 'Patient?name=Smith'],
      ['S2 patient and code, sorted', 'Observation?patient=Patient/p1&code=http://loinc.org|8867-4&_sort=-date&_count=20'],
      ['S3 code and quantity', 'Observation?code=http://loinc.org|8867-4&value-quantity=gt100'],
      ['S4 _revinclude', 'Encounter?patient=Patient/p1&_revinclude=Observation:encounter'],
      ['S5 _has', 'Patient?_has:Observation:patient:code=http://loinc.org|8867-4'],
    ];

    before(async () => {
      base = await hearth.server.newTenantBase();
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Patient', id: 'p1', name: [{ family: 'Smith' }] }, request: { method: 'PUT', url: 'Patient/p1' } },
          { resource: { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' } }, request: { method: 'PUT', url: 'Encounter/e1' } },
          {
            resource: {
              resourceType: 'Observation', id: 'o1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
              subject: { reference: 'Patient/p1' }, encounter: { reference: 'Encounter/e1' }, effectiveDateTime: '2024-01-01', valueQuantity: { value: 120, unit: '/min' },
            },
            request: { method: 'PUT', url: 'Observation/o1' },
          },
        ],
      };
      const res = await http(base, { method: 'POST', json: bundle });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    });

    for (const [name, query] of shapes) {
      it(`${name} finds its match, and its page statement is one router task`, async () => {
        const found = await http<{ total?: number; entry?: unknown[] }>(`${base}/${query}`);
        assert.equal(found.status, 200, JSON.stringify(found.body));
        assert.ok((found.body.entry ?? []).length >= 1, `${query} found nothing`);
        const res = await http<OperationOutcome>(`${base}/${query}&_explain=true`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const plan = res.body.issue.map((i) => i.diagnostics ?? '').join('\n');
        assert.match(plan, /Custom Scan \(Citus Adaptive\)/);
        const counts = [...plan.matchAll(/Task Count: (\d+)/g)].map((m) => Number(m[1]));
        assert.ok(counts.length > 0, plan);
        assert.deepEqual(counts, counts.map(() => 1), `every distributed scan is one task:\n${plan}`);
      });
    }
  });
});
