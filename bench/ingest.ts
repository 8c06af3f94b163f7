// npm run bench:ingest — ingest throughput and memory (issue: hearth load; docs/loading.md).
// 1. The loader library in-process (what `hearth load` runs) on Synthea-like volume: the shared
//    Synthea samples (../shared/data/synthea, 205 patients, 65,555 resources) plus variants with
//    every UUID remapped (so references stay consistent), family names suffixed and dates moved by
//    whole leap cycles, written as plain .json files like Synthea's own output (kept in the temp
//    directory, about 245 MB per copy, and reused by later runs). Each concurrency runs
//    in its own process on a freshly created database, timing the load only (not start-up or
//    migrations), and reports its peak RSS.
// 2. The fixed workload of ../shared/bench (gen-bundles.mjs 1200 42, posted by load.mjs as
//    transactions over HTTP) against `node dist/src/cli.js serve` (run `npm run build` first), on a
//    fresh database per concurrency.
// Environment: BENCH_VARIANTS (copies of the samples; default 2, i.e. 131,110 resources),
// BENCH_CONCURRENCY (default 1,4), BENCH_SHARED_CONCURRENCY (default 1,8), BENCH_SHARED_BUNDLES
// (default 1200), BENCH_SKIP_SHARED=1, BENCH_DATABASE_URL. Loopback only.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
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
import { startBenchServer } from './support.js';

const SHARED = join(projectRoot(), '..', 'shared');
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

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Variant `v` of a Synthea bundle's text: same shape, different ids, names and dates. */
function vary(text: string, v: number): string {
  if (v === 0) return text;
  const uuid = (u: string) => {
    const h = createHash('sha1').update(`${v}:${u}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  const suffix = String.fromCharCode(97 + ((v - 1) % 26)).repeat(1 + Math.floor((v - 1) / 26));
  const years = 4 * (1 + (v % 3)); // whole leap cycles, so 29 February stays a date
  return text
    .replace(UUID, uuid)
    .replace(/("family":\s*")([^"]+)"/g, (_m, open: string, name: string) => `${open}${name}${suffix}"`)
    .replace(/"(\d{4})-(\d\d-\d\d)/g, (_m, year: string, rest: string) => `"${Number(year) + years}-${rest}`);
}

/** The samples and their variants as plain .json files; reused when already written. */
function generate(variants: number): string {
  const dir = join(tmpdir(), `hearth-bench-ingest-${variants}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  const samples = readdirSync(join(SHARED, 'data', 'synthea')).filter((f) => f.endsWith('.json.gz')).sort();
  for (let v = 0; v < variants; v++) {
    const out = join(dir, `v${v}`);
    mkdirSync(out, { recursive: true });
    for (const sample of samples) {
      const text = gunzipSync(readFileSync(join(SHARED, 'data', 'synthea', sample))).toString('utf8');
      writeFileSync(join(out, `${basename(sample, '.json.gz')}-v${v}.json`), vary(text, v));
    }
    process.stderr.write(`\rgenerated variant ${v + 1}/${variants}   `);
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
  const config = loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', DATABASE_POOL_SIZE: String(concurrency + 2) });
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

async function sharedBundles(count: number): Promise<string> {
  const file = join(tmpdir(), `hearth-bench-bundles-${count}-42.ndjson`);
  if (existsSync(file)) return file;
  const { stdout } = await promisify(execFile)(process.execPath, [join(SHARED, 'bench', 'gen-bundles.mjs'), String(count), '42'], { maxBuffer: 1 << 30 });
  writeFileSync(`${file}.part`, stdout);
  renameSync(`${file}.part`, file);
  return file;
}

async function sharedRun(file: string, count: number, concurrency: number, port: number): Promise<SharedResult> {
  await recreateDatabase();
  const server = await startBenchServer(databaseUrl, port);
  try {
    const ids = join(tmpdir(), `hearth-bench-ingest-ids-${concurrency}.ndjson`);
    const { stdout } = await promisify(execFile)(process.execPath, [join(SHARED, 'bench', 'load.mjs'), file, '0', String(count), String(concurrency), ids], {
      env: { ...process.env, BASE: server.base },
      maxBuffer: 1 << 26,
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as SharedResult;
  } finally {
    server.stop();
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const variants = Number(process.env.BENCH_VARIANTS ?? 2);
  const dir = generate(variants);
  const loader: LoaderResult[] = [];
  for (const concurrency of list(process.env.BENCH_CONCURRENCY, [1, 4])) {
    await recreateDatabase();
    loader.push(await runChild(concurrency, dir));
  }
  console.log(`\nhearth load (loader library in-process), Synthea samples x${variants}, one transaction per bundle, fresh database each`);
  console.log('| concurrency | files | resources | seconds | resources/s | peak RSS MB |');
  console.log('|---|---|---|---|---|---|');
  for (const r of loader) console.log(`| ${r.concurrency} | ${r.files} | ${r.resources} | ${r.seconds} | ${r.resourcesPerSecond} | ${r.peakRssMb} |`);
  for (const r of loader) for (const f of r.failures) console.log(`  failure (c=${r.concurrency}): ${f}`);
  if (process.env.BENCH_SKIP_SHARED === '1') return;

  const count = Number(process.env.BENCH_SHARED_BUNDLES ?? 1200);
  const file = await sharedBundles(count);
  const shared: SharedResult[] = [];
  let port = Number(process.env.BENCH_PORT ?? 18190);
  for (const concurrency of list(process.env.BENCH_SHARED_CONCURRENCY, [1, 8])) shared.push(await sharedRun(file, count, concurrency, port++));
  console.log(`\nShared workload (../shared/bench: gen-bundles.mjs ${count} 42, load.mjs over HTTP), fresh database each; Medplum: 143 (c=1) and 299 (c=8) resources/s`);
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
