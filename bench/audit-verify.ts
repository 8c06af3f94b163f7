// Benchmark of the audit trail's storage (issue 11 "Benchmark"; docs/adr/0013-audit-trail-storage.md):
// N AuditEvent rows (BENCH_AUDIT_EVENTS, default 200,000) appended through PgAuditStore in
// multi-row batches (BENCH_AUDIT_BATCH, default 500) by several concurrent writers
// (BENCH_AUDIT_WRITERS, default 4), each batch one tenant transaction; then sealed (one tenant)
// and verified. Prints insert rows/s, seal rows/s and verify events/s. A fresh tenant per run on
// BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/hearth_bench_audit).
// Not in package.json: run it with `npx tsx bench/audit-verify.ts`.
import { benchAuditEvent as event, fillAuditTrail } from './audit-fill.js';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { auditHasher } from '../src/audit/chain/hasher.js';
import { sealAuditTrail } from '../src/storage/pg/audit-seal.js';
import { verifyAuditTrail } from '../src/storage/pg/audit-verify.js';
import { migrate } from '../src/storage/pg/migrate.js';
import { createTenant } from '../src/storage/pg/tenant-admin.js';
import { ensureDatabase } from './support.js';

const url = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/hearth_bench_audit';
const total = Number(process.env.BENCH_AUDIT_EVENTS ?? 200_000);
const batch = Number(process.env.BENCH_AUDIT_BATCH ?? 500);
const writers = Number(process.env.BENCH_AUDIT_WRITERS ?? 4);

async function main(): Promise<void> {
  await ensureDatabase(url);
  const pool = new pg.Pool({ connectionString: url, max: writers + 1 });
  await migrate(pool);
  const tenantId = `bench-${randomUUID().slice(0, 8)}`;
  await createTenant(pool, { id: tenantId, name: 'audit bench', dedicatedPartition: false });
  // Recorded times spread over the last hour, so the sealer's margin leaves none out.
  const t0 = performance.now();
  await fillAuditTrail(pool, tenantId, { total, writers, batch, start: Date.now() - 3_600_000, spanMs: 3_000_000, event });
  const t1 = performance.now();
  const sealed = await sealAuditTrail(pool, auditHasher, tenantId);
  const t2 = performance.now();
  const verified = await verifyAuditTrail(pool, auditHasher, { tenantId });
  const t3 = performance.now();
  if (!verified.intact || verified.sealed !== total) throw new Error(`verify: ${JSON.stringify(verified)}`);
  const rate = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en-US');
  console.log(`audit trail: ${total.toLocaleString('en-US')} events, ${writers} writers, ${batch} rows per INSERT`);
  console.log(`  insert  ${rate(total, t1 - t0)} rows/s   (${((t1 - t0) / 1000).toFixed(1)} s)`);
  console.log(`  seal    ${rate(sealed.rows, t2 - t1)} rows/s   (${sealed.seals} seals, ${((t2 - t1) / 1000).toFixed(1)} s)`);
  console.log(`  verify  ${rate(verified.sealed, t3 - t2)} events/s (${((t3 - t2) / 1000).toFixed(1)} s)`);
  await pool.end();
}

await main();
