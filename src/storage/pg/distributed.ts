// Distributed mode on Citus (issue 15; ADR 0024; docs/scaling.md). Run after the migrations,
// whenever the database has the `citus` extension, and idempotent: it distributes what the
// migrations created since the last run and leaves the rest.
//  - Every tenant table (a `tenant_id` column, row-level security) is distributed by
//    `tenant_id`. They share one colocation group, so a tenant's rows of every table are on one
//    worker and a tenant's statement (joins included) runs there as one router task.
//  - Shared tables (`tenant`, the shared terminology) become reference tables: a copy on every
//    node, joinable from any shard.
//  - Cross-tenant queues claimed with `FOR UPDATE SKIP LOCKED` over all tenants stay local
//    tables on the coordinator, where such a claim can lock (Citus refuses FOR UPDATE across
//    shards). Today that is `reindex_job`.
//  - The app role logs in: Citus opens its worker connections as the current role, which after
//    `SET LOCAL ROLE hearth_app` is hearth_app (CREATE/ALTER ROLE propagate to the workers).
//  - `jsonb_contains` is marked LEAKPROOF on every worker too (migration 0004 ran on the
//    coordinator only): without it the workers' GIN indexes are unusable under row-level security.
import type pg from 'pg';

/** Tenant tables kept on the coordinator: claimed across tenants with FOR UPDATE SKIP LOCKED. */
export const COORDINATOR_TABLES: readonly string[] = Object.freeze(['reindex_job']);

/** Tables without a tenant that stay local: the migration ledger is the coordinator's own. */
const LOCAL_SHARED_TABLES: readonly string[] = Object.freeze(['schema_migrations']);

const LEAKPROOF = 'ALTER FUNCTION pg_catalog.jsonb_contains(jsonb, jsonb) LEAKPROOF';

export interface DistributionReport {
  /** Tables distributed by tenant_id in this run. */
  distributed: string[];
  /** Tables made reference tables in this run. */
  referenced: string[];
  /** Workers on which jsonb_contains was marked LEAKPROOF (all of them, every run). */
  workers: number;
}

type Queryable = Pick<pg.Pool, 'query'>;

/** Whether the database has Citus (the distributed mode's switch). */
export async function citusInstalled(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ on: boolean }>("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') AS on");
  return rows[0]?.on === true;
}

interface TableRow {
  name: string;
  tenant: boolean;
  /** Tables this one references by foreign key (they are distributed first). */
  refs: string[] | null;
}

/** Orders tables so that each comes after the tables it references. */
function referencedFirst(tables: TableRow[]): TableRow[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const done = new Set<string>();
  const ordered: TableRow[] = [];
  const visit = (t: TableRow, path: Set<string>) => {
    if (done.has(t.name) || path.has(t.name)) return;
    path.add(t.name);
    for (const ref of t.refs ?? []) {
      const target = byName.get(ref);
      if (target) visit(target, path);
    }
    done.add(t.name);
    ordered.push(t);
  };
  for (const t of tables) visit(t, new Set());
  return ordered;
}

export async function distribute(client: pg.ClientBase): Promise<DistributionReport> {
  const { rows: tables } = await client.query<TableRow>(
    `SELECT c.relname AS name,
            EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS tenant,
            ARRAY(SELECT k.confrelid::regclass::text FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f') AS refs
       FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid)
        AND NOT EXISTS (SELECT 1 FROM pg_dist_shard s WHERE s.shardid::text = substring(c.relname FROM '_(\\d+)$'))
        AND c.relname <> ALL ($1::text[])`,
    [[...COORDINATOR_TABLES, ...LOCAL_SHARED_TABLES]],
  );
  const report: DistributionReport = { distributed: [], referenced: [], workers: 0 };

  // The generation bumps (search parameters, outbox rules) and the audit trail's append-only
  // guard are row triggers; each touches only its own tenant's rows, on the same shard group.
  // Citus allows triggers on distributed tables only with this setting, at distribution and for
  // every later DDL that creates one (tenant and audit partitions): set it for the database too.
  await client.query('SET citus.enable_unsafe_triggers = on');
  await client.query(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', current_database()); END $$`);

  const { rows: role } = await client.query<{ login: boolean }>("SELECT rolcanlogin AS login FROM pg_roles WHERE rolname = 'hearth_app'");
  if (role[0] && !role[0].login) await client.query('ALTER ROLE hearth_app LOGIN');

  const { rows: marked } = await client.query<{ success: boolean; result: string }>('SELECT success, result FROM run_command_on_workers($1)', [LEAKPROOF]);
  const failed = marked.filter((m) => !m.success);
  if (failed.length > 0) throw new Error(`Could not mark jsonb_contains LEAKPROOF on ${failed.length} worker(s): ${failed[0].result}`);
  report.workers = marked.length;

  for (const table of referencedFirst(tables)) {
    if (table.tenant) {
      await client.query('SELECT create_distributed_table($1::regclass, $2)', [table.name, 'tenant_id']);
      report.distributed.push(table.name);
    } else {
      await client.query('SELECT create_reference_table($1::regclass)', [table.name]);
      report.referenced.push(table.name);
    }
  }
  // Rows present before (the preloaded terminology) were copied to the shards; drop the
  // coordinator's stale local copies, referencing tables first (their foreign keys).
  for (const name of [...report.distributed, ...report.referenced].reverse()) {
    await client.query('SELECT truncate_local_data_after_distributing_table($1::regclass)', [name]);
  }
  return report;
}
