// npm run bench:ingest — ingest throughput and memory (issue: hearth load; docs/loading.md).
// Everything it loads is generated from the repository (nothing outside it is read):
// 1. The loader library in-process (what `hearth load` runs) on Synthea-like volume: the nine
//    Synthea fixtures (test/fixtures/synthea) varied into BENCH_VARIANTS x 270 patients (about
//    65,000 resources per variant, the volume one copy of the former 205-patient sample set had):
//    UUIDs remapped (references stay consistent), names redrawn, dates moved by whole leap
//    cycles, values scaled (bench/synthea-variants.ts), written as plain .json files like
//    Synthea's own output (kept in the temp directory and reused by later runs). Each
//    concurrency runs in its own process on a freshly created database, timing the load only
//    (not start-up or migrations), and reports its peak RSS.
// 2. The benchmarks' own workload (bench/workload.ts, 1200 bundles, seed 42, the shape of the
//    cross-server workload), posted as transactions over HTTP against `node dist/src/cli.js
//    serve` (run `npm run build` first), on a fresh database per concurrency.
// Environment: BENCH_VARIANTS (default 2, i.e. 540 patients), BENCH_PATIENTS (overrides it),
// BENCH_CONCURRENCY (default 1,4), BENCH_SHARED_CONCURRENCY (default 1,8), BENCH_SHARED_BUNDLES
// (default 1200), BENCH_SKIP_SHARED=1 (skip part 2), BENCH_DATABASE_URL,
// BENCH_CROSSCHECK_GENERATOR (see bench/workload.ts). Loopback only.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/core/config.js';
import { RepositoryLedger } from '../src/load/ledger.js';
import { formatProgress } from '../src/load/progress.js';
import { runLoad } from '../src/load/runner.js';
import { tenantBaseUrl } from '../src/load/base-url.js';
import { createFhirService } from '../src/compose.js';
import { expandSources } from '../src/load/sources.js';
import { projectRoot } from '../src/core/project-root.js';
import { openDatabase } from '../src/storage/pg/database.js';
import { migrate } from '../src/storage/pg/migrate.js';
import { inParallel, startBenchServer } from './support.js';
import { syntheaFixtureTexts, syntheaVariant } from './synthea-variants.js';
import { workloadFile } from './workload.js';

/** Patients per BENCH_VARIANTS unit: about 65,000 resources from the nine fixtures. */
const PATIENTS_PER_VARIANT = 270;
const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/hearth_bench_ingest';
const list = (value: string | undefined, fallback: number[]) => (value ? value.split(',').map(Number) : fallback);

interface LoaderResult {
  concurrency: number;
  files: number;
  resources: number;
  seconds: number;
  resourcesPerSecond: number;
  peakRssMb: number;
  failures: string[];
}

// ---- data -------------------------------------------------------------------------------------

/** `patients` varied fixture bundles as plain .json files; reused when already written. */
function generate(patients: number): string {
  const dir = join(tmpdir(), `hearth-bench-ingest-fixtures-${patients}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  mkdirSync(dir, { recursive: true });
  const texts = syntheaFixtureTexts();
  for (let n = 0; n < patients; n++) {
    writeFileSync(join(dir, `patient-${String(n).padStart(6, '0')}.json`), syntheaVariant(texts, n));
    if (n % 100 === 99) process.stderr.write(`\rgenerated ${n + 1}/${patients} patients   `);
  }
  process.stderr.write('\n');
  writeFileSync(join(dir, '.complete'), '');
  return dir;
}

async function recreateDatabase(): Promise<void> {
  const admin = new URL(databaseUrl);
  const name = decodeURIComponent(admin.pathname.slice(1));
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const quoted = `"${name.replace(/"/g, '""')}"`;
    await client.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${quoted}`);
  } finally {
    await client.end();
  }
}

// ---- 1. the loader, one process per measurement ---------------------------------------------------

/** In the child: migrate, then time runLoad over `dir`; prints the result as JSON on stdout. */
async function loaderChild(concurrency: number, dir: string): Promise<void> {
  // HEARTH_AUDIT=off|on passes through: the audit trail's cost on ingest (issue 11).
  const config = loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', DATABASE_POOL_SIZE: String(concurrency + 2), ...(process.env.HEARTH_AUDIT ? { HEARTH_AUDIT: process.env.HEARTH_AUDIT } : {}) });
  const db = await openDatabase(config);
  try {
    await migrate(db.pool);
    const { service, repository } = createFhirService(config, db);
    const files = await expandSources([dir]);
    let last = 0;
    const summary = await runLoad(files, {
      tenantId: 'default',
      baseUrl: tenantBaseUrl('default'),
      handle: (req) => service.handle(req),
      ledger: new RepositoryLedger(repository),
      concurrency,
      onProgress: (p) => {
        if (p.elapsedMs - last < 2000) return;
        last = p.elapsedMs;
        process.stderr.write(`\r  c=${concurrency} ${formatProgress(p)}`);
      },
    });
    process.stderr.write('\n');
    const result: LoaderResult = {
      concurrency,
      files: summary.filesLoaded,
      resources: summary.resources,
      seconds: +(summary.elapsedMs / 1000).toFixed(1),
      resourcesPerSecond: Math.round((summary.resources * 1000) / summary.elapsedMs),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      failures: summary.failures.slice(0, 3).map((f) => f.message),
    };
    console.log(JSON.stringify(result));
  } finally {
    await db.close();
  }
}

function runChild(concurrency: number, dir: string): Promise<LoaderResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'bench', 'ingest.ts'), '--child', String(concurrency), dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as LoaderResult) : reject(new Error(`loader exited with ${code}`))));
  });
}

// ---- 2. the shared workload over HTTP ----------------------------------------------------------------

interface SharedResult {
  bundles: number;
  ok: number;
  errors: number;
  concurrency: number;
  seconds: number;
  bundlesPerSec: number;
  resourcesPerSec: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

/** Posts each line of `file` (one transaction bundle) to `base`, `concurrency` at a time. */
async function postBundles(base: string, file: string, concurrency: number): Promise<SharedResult> {
  const bodies = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const latencies: number[] = [];
  let resources = 0;
  let errors = 0;
  const fail = (message: string) => {
    if (++errors <= 3) console.error(message.slice(0, 500));
  };
  const started = performance.now();
  await inParallel(bodies, concurrency, async (body) => {
    const t0 = performance.now();
    const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body });
    const text = await res.text();
    latencies.push(performance.now() - t0);
    if (res.status !== 200) return fail(`POST bundle: ${res.status} ${text}`);
    const entries = (JSON.parse(text) as { entry: { response: { status: string } }[] }).entry;
    const failed = entries.find((e) => !e.response.status.startsWith('201'));
    if (failed) return fail(`bundle entry: ${JSON.stringify(failed)}`);
    resources += entries.length;
  });
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const quantile = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]);
  const ok = bodies.length - errors;
  return {
    bundles: bodies.length,
    ok,
    errors,
    concurrency,
    seconds: +seconds.toFixed(2),
    bundlesPerSec: +(ok / seconds).toFixed(2),
    resourcesPerSec: +(resources / seconds).toFixed(1),
    latencyMs: { p50: quantile(0.5), p95: quantile(0.95), p99: quantile(0.99), max: Math.round(latencies[latencies.length - 1]) },
  };
}

async function sharedRun(file: string, concurrency: number, port: number): Promise<SharedResult> {
  await recreateDatabase();
  const server = await startBenchServer(databaseUrl, port);
  try {
    return await postBundles(server.base, file, concurrency);
  } finally {
    await server.stop();
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const variants = Number(process.env.BENCH_VARIANTS ?? 2);
  const patients = Number(process.env.BENCH_PATIENTS ?? variants * PATIENTS_PER_VARIANT);
  const dir = generate(patients);
  const loader: LoaderResult[] = [];
  for (const concurrency of list(process.env.BENCH_CONCURRENCY, [1, 4])) {
    await recreateDatabase();
    loader.push(await runChild(concurrency, dir));
  }
  console.log(`\nhearth load (loader library in-process), Synthea fixtures varied to ${patients} patients, one transaction per bundle, fresh database each`);
  console.log('| concurrency | files | resources | seconds | resources/s | peak RSS MB |');
  console.log('|---|---|---|---|---|---|');
  for (const r of loader) console.log(`| ${r.concurrency} | ${r.files} | ${r.resources} | ${r.seconds} | ${r.resourcesPerSecond} | ${r.peakRssMb} |`);
  for (const r of loader) for (const f of r.failures) console.log(`  failure (c=${r.concurrency}): ${f}`);
  if (process.env.BENCH_SKIP_SHARED === '1') return;

  const count = Number(process.env.BENCH_SHARED_BUNDLES ?? 1200);
  const file = await workloadFile(count);
  const shared: SharedResult[] = [];
  let port = Number(process.env.BENCH_PORT ?? 18190);
  for (const concurrency of list(process.env.BENCH_SHARED_CONCURRENCY, [1, 8])) shared.push(await sharedRun(file, concurrency, port++));
  const source = process.env.BENCH_CROSSCHECK_GENERATOR ? `${process.env.BENCH_CROSSCHECK_GENERATOR} ${count} 42` : `bench/workload.ts ${count} 42`;
  console.log(`\nShared workload (${source}, posted over HTTP), fresh database each; Medplum: 143 (c=1) and 299 (c=8) resources/s`);
  console.log('| concurrency | bundles ok | errors | seconds | bundles/s | resources/s | p50 ms | p95 ms | p99 ms |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of shared) {
    console.log(`| ${r.concurrency} | ${r.ok} | ${r.errors} | ${r.seconds} | ${r.bundlesPerSec} | ${r.resourcesPerSec} | ${r.latencyMs.p50} | ${r.latencyMs.p95} | ${r.latencyMs.p99} |`);
  }
}

const child = process.argv.indexOf('--child');
(child >= 0 ? loaderChild(Number(process.argv[child + 1]), process.argv[child + 2]) : main()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
