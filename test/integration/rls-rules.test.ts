// Tenancy rules of the schema, read from PostgreSQL's catalog after every migration
// (ARCHITECTURE.md "Storage model" tenancy; docs/adr/0009-layers-and-composition.md):
// every table holding tenant data has a tenant_id column, row-level security enabled and a
// tenant_id = current_setting('app.tenant_id') policy for the app role, which can neither
// own nor bypass it; partitions (tenant partitions included) keep RLS on; no foreign key
// crosses tenants; tables without tenant_id come only from the allow-list below.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

const APP_ROLE = 'hearth_app';

/** Tables that hold no tenant's data, and why. */
const WITHOUT_TENANT: Record<string, string> = {
  tenant: 'the tenant registry itself (read by id before any tenant is set)',
  schema_migrations: 'which migrations ran',
  terminology_code_system: 'shared terminology (ADR 0019): read-only to the app role, written by the operator',
  terminology_concept: 'shared terminology (ADR 0019): read-only to the app role, written by the operator',
  terminology_concept_parent: 'shared terminology (ADR 0019): read-only to the app role, written by the operator',
  terminology_closure: 'shared terminology (ADR 0019): read-only to the app role, written by the operator',
  terminology_resource: 'shared terminology definitions (ADR 0019): read-only to the app role, written by the operator',
  terminology_generation: 'the shared terminology generation counter (ADR 0019): read-only to the app role',
};

/** Of the tables above, those the app role may read but never write. */
const READ_ONLY_TO_APP = Object.keys(WITHOUT_TENANT).filter((name) => name.startsWith('terminology_'));

interface TableRow {
  name: string;
  kind: 'r' | 'p';
  rls: boolean;
  forced: boolean;
  is_partition: boolean;
  parent: string | null;
  owner: string;
  has_tenant_id: boolean;
}

interface PolicyRow {
  table_name: string;
  name: string;
  command: string;
  roles: string[];
  using_expr: string | null;
  check_expr: string | null;
}

interface ForeignKeyRow {
  name: string;
  from_table: string;
  to_table: string;
  from_columns: string[];
  to_columns: string[];
}

const TENANT_PREDICATE = /\btenant_id = current_setting\('app\.tenant_id'(::text)?\)/;

/** Every way the tables of `schema` break the tenancy rules, one sentence each. */
export async function tenancyProblems(db: Pick<pg.ClientBase, 'query'>, schema: string): Promise<string[]> {
  const tables = (
    await db.query<TableRow>(
      `SELECT c.relname AS name, c.relkind AS kind, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
              c.relispartition AS is_partition, p.relname AS parent, pg_get_userbyid(c.relowner) AS owner,
              EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS has_tenant_id
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
       LEFT JOIN pg_class p ON p.oid = i.inhparent
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
       ORDER BY c.relname`,
      [schema],
    )
  ).rows;
  const policies = (
    await db.query<PolicyRow>(
      `SELECT tablename AS table_name, policyname AS name, cmd AS command, roles::text[] AS roles, qual AS using_expr, with_check AS check_expr
       FROM pg_policies WHERE schemaname = $1`,
      [schema],
    )
  ).rows;
  const foreignKeys = (
    await db.query<ForeignKeyRow>(
      `SELECT con.conname AS name, src.relname AS from_table, dst.relname AS to_table,
              ARRAY(SELECT attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord)::text[] AS from_columns,
              ARRAY(SELECT attname FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord)::text[] AS to_columns
       FROM pg_constraint con
       JOIN pg_class src ON src.oid = con.conrelid
       JOIN pg_class dst ON dst.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = src.relnamespace
       WHERE con.contype = 'f' AND n.nspname = $1`,
      [schema],
    )
  ).rows;

  const problems: string[] = [];
  const byName = new Map(tables.map((t) => [t.name, t]));
  for (const table of tables) {
    const label = `${schema}.${table.name}${table.is_partition ? ` (partition of ${table.parent})` : ''}`;
    if (!table.has_tenant_id) {
      if (!WITHOUT_TENANT[table.name] || table.is_partition) problems.push(`${label} has no tenant_id column and is not in the allow-list`);
      continue;
    }
    if (!table.rls) problems.push(`${label} does not have ROW LEVEL SECURITY enabled`);
    // FORCE only binds the owner; what matters is that the role requests run as cannot bypass.
    if (table.owner === APP_ROLE && !table.forced) problems.push(`${label} is owned by ${APP_ROLE}, so its policies do not bind requests`);
    const own = policies.filter((p) => p.table_name === table.name);
    for (const policy of own) {
      const predicates = [policy.using_expr, policy.check_expr].filter((e): e is string => e !== null);
      if (predicates.length === 0 || !predicates.every((e) => TENANT_PREDICATE.test(e))) {
        problems.push(`${label}: policy ${policy.name} does not restrict rows to tenant_id = current_setting('app.tenant_id')`);
      }
    }
    // A partition read through its parent is filtered by the parent's policies; read directly,
    // RLS enabled with no policy of its own denies every row, which is what we want.
    if (table.is_partition && byName.get(table.parent ?? '')?.has_tenant_id) continue;
    const binding = own.filter((p) => p.command === 'ALL' && (p.roles.includes(APP_ROLE) || p.roles.includes('public')) && p.using_expr !== null);
    if (binding.length === 0) problems.push(`${label} has no policy for all commands binding ${APP_ROLE} on app.tenant_id`);
  }
  for (const fk of foreignKeys) {
    const from = byName.get(fk.from_table);
    const to = byName.get(fk.to_table);
    if (!from?.has_tenant_id || !to?.has_tenant_id) continue;
    const position = fk.from_columns.indexOf('tenant_id');
    if (position === -1 || fk.to_columns[position] !== 'tenant_id') {
      problems.push(`foreign key ${fk.name} from ${schema}.${fk.from_table} (${fk.from_columns}) to ${fk.to_table} (${fk.to_columns}) can cross tenants: pair tenant_id with tenant_id`);
    }
  }
  return problems;
}

describe('tenancy rules of the schema (integration)', function () {
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
    // Tenant partitions are made at run time: have at least one tenant's set in the catalog.
    await newTenant(pool, { dedicatedPartition: true });
  });

  it('every table of the migrated schema follows the tenancy rules', async () => {
    const problems = await tenancyProblems(pool, 'public');
    assert.deepEqual(problems, [], `Tenancy rules broken:\n  ${problems.join('\n  ')}`);
  });

  it('the catalog holds what the rules were checked against: partitions, tenant partitions, allow-listed tables', async () => {
    const { rows } = await pool.query<{ partitions: number; tenant_partitions: number; allowed: number }>(
      `SELECT count(*) FILTER (WHERE c.relispartition)::int AS partitions,
              count(*) FILTER (WHERE c.relispartition AND c.relname !~ '_p_default$')::int AS tenant_partitions,
              count(*) FILTER (WHERE c.relname = ANY ($1))::int AS allowed
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')`,
      [Object.keys(WITHOUT_TENANT)],
    );
    assert.ok(rows[0].partitions >= 12, `partitions: ${rows[0].partitions}`);
    assert.ok(rows[0].tenant_partitions >= 12, `tenant partitions: ${rows[0].tenant_partitions}`);
    assert.equal(rows[0].allowed, Object.keys(WITHOUT_TENANT).length);
  });

  it('the app role requests run as is neither superuser nor BYPASSRLS', async () => {
    const { rows } = await pool.query('SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
    assert.deepEqual(rows, [{ rolsuper: false, rolbypassrls: false }]);
  });

  it('the app role can read the shared terminology tables and write none of them', async () => {
    for (const table of READ_ONLY_TO_APP) {
      const { rows } = await pool.query<{ privilege: string }>(
        `SELECT privilege_type AS privilege FROM information_schema.role_table_grants WHERE grantee = $1 AND table_name = $2 ORDER BY 1`,
        [APP_ROLE, table],
      );
      assert.deepEqual(rows.map((r) => r.privilege), ['SELECT'], table);
    }
  });

  it('names each broken rule for scratch tables made to break them (rolled back)', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`CREATE SCHEMA rls_scratch`);
      await client.query(`SET LOCAL search_path = rls_scratch`);
      const policy = (table: string) =>
        `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY; CREATE POLICY tenant_isolation ON ${table} TO ${APP_ROLE} USING (tenant_id = current_setting('app.tenant_id'))`;
      await client.query(`
        CREATE TABLE good (tenant_id text NOT NULL, id text NOT NULL, PRIMARY KEY (tenant_id, id), UNIQUE (id)); ${policy('good')};
        CREATE TABLE good_child (tenant_id text NOT NULL, good_id text, FOREIGN KEY (tenant_id, good_id) REFERENCES good (tenant_id, id)); ${policy('good_child')};
        CREATE TABLE without_rls (tenant_id text NOT NULL, id text);
        CREATE TABLE without_policy (tenant_id text NOT NULL, id text); ALTER TABLE without_policy ENABLE ROW LEVEL SECURITY;
        CREATE TABLE wrong_policy (tenant_id text NOT NULL, id text); ALTER TABLE wrong_policy ENABLE ROW LEVEL SECURITY;
        CREATE POLICY open_door ON wrong_policy TO ${APP_ROLE} USING (true);
        CREATE TABLE without_tenant (id text);
        CREATE TABLE app_owned (tenant_id text NOT NULL); ${policy('app_owned')}; ALTER TABLE app_owned OWNER TO ${APP_ROLE};
        CREATE TABLE crossing (tenant_id text NOT NULL, good_id text REFERENCES good (id)); ${policy('crossing')};
        CREATE TABLE parted (tenant_id text NOT NULL, id text) PARTITION BY LIST (tenant_id); ${policy('parted')};
        CREATE TABLE parted_default PARTITION OF parted DEFAULT;
        CREATE TABLE parted_ok PARTITION OF parted FOR VALUES IN ('a'); ALTER TABLE parted_ok ENABLE ROW LEVEL SECURITY;
      `);
      assert.deepEqual((await tenancyProblems(client, 'rls_scratch')).sort(), [
        "foreign key crossing_good_id_fkey from rls_scratch.crossing (good_id) to good (id) can cross tenants: pair tenant_id with tenant_id",
        'rls_scratch.app_owned is owned by hearth_app, so its policies do not bind requests',
        'rls_scratch.parted_default (partition of parted) does not have ROW LEVEL SECURITY enabled',
        'rls_scratch.without_policy has no policy for all commands binding hearth_app on app.tenant_id',
        'rls_scratch.without_rls does not have ROW LEVEL SECURITY enabled',
        'rls_scratch.without_rls has no policy for all commands binding hearth_app on app.tenant_id',
        'rls_scratch.without_tenant has no tenant_id column and is not in the allow-list',
        "rls_scratch.wrong_policy: policy open_door does not restrict rows to tenant_id = current_setting('app.tenant_id')",
      ]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
