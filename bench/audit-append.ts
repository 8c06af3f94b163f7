// What recording costs PostgreSQL (issue 11 benchmark targets; docs/adr/0015-audit-rows-without-
// round-trips.md, 0016-audit-journal.md), per read, in its two steps:
//  - BENCH_AUDIT_SHAPE=journal (default): the request path. One journal entry per read (the
//    recorder's input as JSON), appended the way the group commit appends them —
//    `hearth_audit_journal_append`, one statement that is its own transaction.
//  - BENCH_AUDIT_SHAPE=trail: the expander's step. The AuditEvents of those reads (the BALP builder
//    and the search index of this build) appended to audit_trail in tenant transactions.
// BENCH_AUDIT_WRITERS concurrent writers (default 8) with BENCH_AUDIT_BATCH rows a statement
// (default 4, a busy server's group), BENCH_AUDIT_EVENTS in all (default 6,000). Prints the
// database backends' CPU per row and the WAL written per row, to set beside a read's whole cost in
// `npm run bench:crud-ab`. A fresh tenant per run on BENCH_DATABASE_URL (default
// postgresql://postgres@127.0.0.1:5432/hearth_bench_audit).
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { auditHasher } from '../src/audit/chain/hasher.js';
import { buildAuditEvents, auditRowsOf, type AuditInput } from '../src/audit/balp/index.js';
import { journalEntryOf } from '../src/audit/journal.js';
import { AuditEventIndexer } from '../src/audit/event-index.js';
import type { JsonObject } from '../src/core/types.js';
import { createSearchRegistry } from '../src/search/registry/registry.js';
import type { AuditJournalEntry, NewAuditRow } from '../src/storage/audit-store.js';
import { PgRepository } from '../src/storage/pg/pg-repository.js';
import { migrate } from '../src/storage/pg/migrate.js';
import { createTenant } from '../src/storage/pg/tenant-admin.js';
import type { AuditEvent } from 'fhir/r4.js';
import { cpuMs, ensureDatabase } from './support.js';

const url = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/hearth_bench_audit';
const total = Number(process.env.BENCH_AUDIT_EVENTS ?? 6000);
const batch = Number(process.env.BENCH_AUDIT_BATCH ?? 4);
const writers = Number(process.env.BENCH_AUDIT_WRITERS ?? 8);
const journal = (process.env.BENCH_AUDIT_SHAPE ?? 'journal') === 'journal';

/** What the recorder records for a read of Patient/p{n}. */
function readInput(tenantId: string, n: number): AuditInput {
  const at = new Date();
  return {
    event: { kind: 'rest', interaction: 'read' },
    outcome: { status: 200 },
    period: { start: at, end: at },
    recorded: at,
    caller: { subject: 'anonymous' },
    network: '127.0.0.1',
    server: { observer: 'urn:hearth:bench', tenantBase: `http://127.0.0.1:8080/t/${tenantId}/fhir` },
    request: { id: randomUUID(), method: 'GET', path: `Patient/p${n}`, query: '' },
    entities: [{ reference: `Patient/p${n}`, versionId: 1 }],
    patients: [`Patient/p${n}`],
  };
}

async function backendPids(pool: pg.Pool): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  return rows.map((r) => r.pid);
}

async function main(): Promise<void> {
  await ensureDatabase(url);
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  const pool = new pg.Pool({ connectionString: url, max: writers });
  await migrate(admin);
  const tenantId = `bench-${randomUUID().slice(0, 8)}`;
  await createTenant(admin, { id: tenantId, name: 'audit append bench', dedicatedPartition: false });
  const registry = createSearchRegistry();
  const indexer = new AuditEventIndexer(registry);
  const index = (r: JsonObject) => indexer.index(r as unknown as AuditEvent) as unknown as JsonObject;
  const repository = new PgRepository(pool, { auditHasher });
  // Open every writer's connection first, so that all their backends are measured.
  const clients = await Promise.all(Array.from({ length: writers }, () => pool.connect()));
  clients.forEach((c) => c.release());
  const pids = await backendPids(admin);
  const before = pids.map(cpuMs);
  const wal0 = (await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn() AS lsn')).rows[0].lsn;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < total) {
        const from = next;
        next = Math.min(total, from + batch);
        if (journal) {
          const entries: AuditJournalEntry[] = [];
          for (let i = from; i < next; i++) entries.push(journalEntryOf(tenantId, readInput(tenantId, i)));
          await repository.appendAuditJournal(tenantId, entries);
          continue;
        }
        const rows: NewAuditRow[] = [];
        for (let i = from; i < next; i++) rows.push(...auditRowsOf(tenantId, buildAuditEvents(readInput(tenantId, i)), index));
        await repository.withTenant(tenantId, (store) => store.audit.appendAuditEvents(rows));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const dbMs = pids.reduce((sum, pid, i) => sum + Math.max(0, cpuMs(pid) - before[i]), 0);
  const { rows: wal } = await admin.query<{ bytes: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS bytes', [wal0]);
  const { rows: size } = await admin.query<{ content: number; sp: number }>(
    journal
      ? 'SELECT avg(octet_length(entry))::int AS content, 0 AS sp FROM audit_journal WHERE tenant_id = $1'
      : 'SELECT avg(octet_length(content))::int AS content, avg(pg_column_size(sp))::int AS sp FROM audit_trail WHERE tenant_id = $1',
    [tenantId],
  );
  console.log(`audit append: ${total.toLocaleString('en-US')} read events, ${writers} writers, ${batch} rows per statement (${journal ? 'journal entries, hearth_audit_journal_append' : 'AuditEvents to audit_trail, as the expander appends them'})`);
  console.log(`  ${journal ? 'journal row' : 'event'}: ${size[0].content} bytes${journal ? '' : ` of AuditEvent, ${size[0].sp} bytes of search index`}`);
  console.log(`  ${Math.round(total / seconds).toLocaleString('en-US')} rows/s, database CPU ${(dbMs / total).toFixed(3)} ms per row, WAL ${Math.round(Number(wal[0].bytes) / total).toLocaleString('en-US')} bytes per row`);
  await pool.end();
  await admin.end();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
