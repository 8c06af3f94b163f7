// Benchmark of the auditors' NDJSON export (issue 11 "Auditor access": "returns NDJSON without
// holding the result in memory (measure RSS on 1M events)"). Fills a scratch database with
// BENCH_EXPORT_EVENTS (default 1,000,000) AuditEvents in one tenant and BENCH_EXPORT_SMALL
// (default 10,000) in another, appended through PgAuditStore in multi-row batches by several
// writers; starts the server in its own process (bench/support.ts; dist/src/cli.js of this
// checkout, or of BENCH_SERVER_CWD), streams GET AuditEvent/$export-ndjson over HTTP to a
// consumer that counts lines, and reports events/s and the server's resident memory
// (/proc/<pid>/status VmRSS sampled every 20 ms, and VmHWM reset before each export through
// /proc/<pid>/clear_refs) before and at peak during each export: the peak must not grow with
// the export's size. BENCH_DATABASE_URL default postgresql://postgres@127.0.0.1:5432/hearth_bench_audit_export
// (a fresh pair of tenants per run; BENCH_EXPORT_TENANTS=<big>,<small> exports those of an
// earlier run instead of filling). BENCH_SERVER_NODE_OPTIONS (e.g. --max-old-space-size=64)
// goes to the server only: an export completing under a small heap cap shows that nothing
// accumulates with its size. BENCH_EXPORT_GZIP=1 asks for it gzipped.
import { benchAuditEvent as event, fillAuditTrail } from './audit-fill.js';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createGunzip } from 'node:zlib';
import pg from 'pg';
import { migrate } from '../src/storage/pg/migrate.js';
import { createTenant } from '../src/storage/pg/tenant-admin.js';
import { ensureDatabase, startBenchServer } from './support.js';

const url = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/hearth_bench_audit_export';
const large = Number(process.env.BENCH_EXPORT_EVENTS ?? 1_000_000);
const small = Number(process.env.BENCH_EXPORT_SMALL ?? 10_000);
const batch = Number(process.env.BENCH_EXPORT_BATCH ?? 2000);
const writers = Number(process.env.BENCH_EXPORT_WRITERS ?? 4);
const port = Number(process.env.BENCH_PORT ?? 8093);
/** BENCH_EXPORT_GZIP=1: ask for the export gzipped (Accept-Encoding), as most clients do. */
const gzip = process.env.BENCH_EXPORT_GZIP === '1';

/** Recorded times over the two hours before now. */
const fill = (pool: pg.Pool, tenantId: string, total: number): Promise<number> =>
  fillAuditTrail(pool, tenantId, { total, writers, batch, start: Date.now() - 7_200_000, spanMs: 7_000_000, event });

const kib = (field: string, pid: number): number => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
};
const mib = (k: number) => `${(k / 1024).toFixed(1)} MiB`;

/** Streams the export, counting lines, while sampling the server's VmRSS. */
async function exportOnce(base: string, tenantId: string, pid: number | undefined) {
  if (pid) writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  const before = pid ? kib('VmRSS', pid) : Number.NaN;
  let peakSampled = before;
  const sampler = pid ? setInterval(() => (peakSampled = Math.max(peakSampled, kib('VmRSS', pid))), 20) : undefined;
  const t0 = performance.now();
  const { lines, bytes } = await new Promise<{ lines: number; bytes: number }>((resolve, reject) => {
    const headers = gzip ? { 'accept-encoding': 'gzip' } : {};
    request(`${base.replace('/fhir', `/t/${tenantId}/fhir`)}/AuditEvent/$export-ndjson`, { headers }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`export answered ${res.statusCode}`));
      if (gzip && res.headers['content-encoding'] !== 'gzip') reject(new Error('the export was not gzipped'));
      let lines = 0;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      // Lines are counted in the decoded text; `bytes` is what crossed the wire.
      const text = gzip ? res.pipe(createGunzip()) : res;
      text.on('data', (chunk: Buffer) => {
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      });
      text.on('end', () => (res.complete ? resolve({ lines, bytes }) : reject(new Error('export cut short'))));
      res.on('error', reject);
      text.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
  const seconds = (performance.now() - t0) / 1000;
  if (sampler) clearInterval(sampler);
  const hwm = pid ? kib('VmHWM', pid) : Number.NaN;
  return { lines, bytes, seconds, before, peak: Math.max(peakSampled, hwm), hwm };
}

async function main(): Promise<void> {
  await ensureDatabase(url);
  const pool = new pg.Pool({ connectionString: url, max: writers + 1 });
  await migrate(pool);
  const run = randomUUID().slice(0, 8);
  const reuse = process.env.BENCH_EXPORT_TENANTS?.split(',');
  const [bigTenant, smallTenant] = reuse ?? [`exp-big-${run}`, `exp-small-${run}`];
  if (!reuse) {
    for (const id of [bigTenant, smallTenant]) await createTenant(pool, { id, name: id, dedicatedPartition: false });
    console.log(`filling: ${large.toLocaleString('en-US')} + ${small.toLocaleString('en-US')} events, ${writers} writers, ${batch} rows per INSERT`);
    const fillRate = await fill(pool, bigTenant, large);
    await fill(pool, smallTenant, small);
    await pool.query('ANALYZE audit_trail');
    console.log(`  insert ${Math.round(fillRate).toLocaleString('en-US')} rows/s (tenants ${bigTenant},${smallTenant})`);
  }
  await pool.end();

  // No background sealing in the server: it would walk the million rows in the same process.
  const server = await startBenchServer(url, port, {
    cwd: process.env.BENCH_SERVER_CWD,
    env: {
      HEARTH_AUDIT_SEAL_INTERVAL_MS: '0',
      LOG_LEVEL: 'error',
      ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
    },
  });
  try {
    const pid = server.pid;
    const idle = pid ? kib('VmRSS', pid) : Number.NaN;
    await exportOnce(server.base, smallTenant, pid); // warm-up: code paths and pools
    console.log(`\nserver pid ${pid ?? '(BENCH_BASE: not measured)'}, RSS after start ${mib(idle)}${process.env.BENCH_SERVER_NODE_OPTIONS ? `, NODE_OPTIONS ${process.env.BENCH_SERVER_NODE_OPTIONS}` : ''}`);
    console.log('| export | events | MB sent | s | events/s | RSS before | RSS peak (sampled / VmHWM) | growth |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [label, tenant, expected] of [['small', smallTenant, small], ['large', bigTenant, large], ['small again', smallTenant, small]] as const) {
      const r = await exportOnce(server.base, tenant, pid);
      if (r.lines < expected) throw new Error(`${label}: ${r.lines} lines, expected at least ${expected}`);
      console.log(
        `| ${label} | ${r.lines.toLocaleString('en-US')} | ${(r.bytes / 1e6).toFixed(0)} | ${r.seconds.toFixed(1)} | ${Math.round(r.lines / r.seconds).toLocaleString('en-US')} | ` +
          `${mib(r.before)} | ${mib(r.peak)} (${mib(r.hwm)}) | ${mib(r.peak - r.before)} |`,
      );
    }
  } finally {
    await server.stop();
  }
}

await main();
