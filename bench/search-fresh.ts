// npm run bench:search-fresh — searches as a user meets them: right after a load, while single
// writes go on, and after them, before anyone runs VACUUM or ANALYZE; then the same after a
// manual VACUUM ANALYZE, in the same run. Autovacuum stays on at its defaults.
//
// Per variant (server settings under comparison), on a fresh database:
//   1. load   the benchmark workload (bench/workload.ts, seed 42) as transaction bundles over
//             HTTP, 8 at a time, plus a few Observations of a rare code
//   2. fresh  every shape, at once
//   3. writes every shape again while BENCH_WRITERS connections create Patients one by one
//             (patients without observations: most rows match nothing), write rate reported
//   4. after  every shape once the writes stopped (statistics and pending lists as left)
//   5. tidy   every shape after VACUUM ANALYZE
// and prints req/s per shape and phase, and each untidy phase as a share of the tidy figure.
//   BENCH_VARIANTS  name:ENV=v,ENV=v;name:...  default compares Hearth's defaults with
//                   autovacuum alone and PostgreSQL's 4 MB pending lists (the previous build)
//   BENCH_BUNDLES default 1200;  BENCH_CONNECTIONS default 8;  BENCH_SECONDS default 5
//   BENCH_WRITERS default 4;  BENCH_ONLY=<regex> picks shapes;  BENCH_ADMIN_URL as bench:crud-ab
import pg from 'pg';
import { benchPatient } from './patients.js';
import { benchVariants, inParallel, runAutocannon, startBenchServer, type BenchRow, type BenchVariant } from './support.js';
import { workloadBundles } from './workload.js';

const bundles = Number(process.env.BENCH_BUNDLES ?? 1200);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const writers = Number(process.env.BENCH_WRITERS ?? 4);
const adminUrl = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const port = Number(process.env.BENCH_PORT ?? 18193);
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const JSON_HEADERS = { 'content-type': 'application/fhir+json' };
const RARE_CODE = 'http://example.org/rare|rare-1';
const PHASES = ['fresh', 'writes', 'after', 'tidy'] as const;
type Phase = (typeof PHASES)[number];

type Variant = BenchVariant;

const variants = (): Variant[] => benchVariants('hearth:;autovacuum-only:HEARTH_ANALYZE_AFTER_ROWS=0,HEARTH_GIN_PENDING_LIST_LIMIT_KB=4096');

interface Population {
  patients: string[];
  /** Patients created during the writes phase: none has an Observation. */
  bare: string[];
}

type Shape = [name: string, query: (p: Population) => string];

const pick = (ids: string[]) => ids[Math.floor(Math.random() * ids.length)];

// The shared workload's five shapes (S1-S5), then shapes where most rows match nothing.
const SHAPES: Shape[] = [
  ['S1 Patient?name=Smith', () => 'Patient?name=Smith'],
  ['S2 Observation?patient=X&code=8867-4&_sort=-date&_count=20', (p) => `Observation?patient=${pick(p.patients)}&code=http://loinc.org|8867-4&_sort=-date&_count=20`],
  ['S3 Observation?code=8867-4&value-quantity=gt100', () => 'Observation?code=http://loinc.org|8867-4&value-quantity=gt100'],
  ['S4 Encounter?patient=X&_revinclude=Observation:encounter', (p) => `Encounter?patient=${pick(p.patients)}&_revinclude=Observation:encounter`],
  ['S5 Patient?_has:Observation:patient:code=8867-4', () => 'Patient?_has:Observation:patient:code=8867-4'],
  ['S2 for a patient without observations', (p) => `Observation?patient=${pick(p.bare.length ? p.bare : p.patients)}&code=http://loinc.org|8867-4&_sort=-date&_count=20`],
  ['Observation?code=<rare>', () => `Observation?code=${RARE_CODE}`],
  ['Patient?_has:Observation:patient:code=<rare>', () => `Patient?_has:Observation:patient:code=${RARE_CODE}`],
  ['Observation?code=<absent>', () => 'Observation?code=http://loinc.org|0000-0'],
  ['Observation?category=vital-signs&_count=20 (every row)', () => 'Observation?category=vital-signs&_count=20'],
];

async function post(url: string, body: string, headers: Record<string, string> = JSON_HEADERS): Promise<Response> {
  const res = await fetch(url, { method: 'POST', headers, body });
  if (res.status >= 300) throw new Error(`POST ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return res;
}

/** The workload as transaction bundles, then a few Observations of a rare code. */
async function load(base: string): Promise<string[]> {
  const patients: string[] = [];
  const started = Date.now();
  await inParallel(workloadBundles(bundles), 8, async (bundle) => {
    const res = await post(base, JSON.stringify(bundle));
    const body = (await res.json()) as { entry: { response: { location: string } }[] };
    patients.push(body.entry[0].response.location.split('/')[1]);
  });
  for (const patient of patients.slice(0, 5)) {
    const [system, code] = RARE_CODE.split('|');
    await post(`${base}/Observation`, JSON.stringify({ resourceType: 'Observation', status: 'final', code: { coding: [{ system, code }] }, subject: { reference: `Patient/${patient}` } }));
  }
  process.stderr.write(`loaded ${bundles} bundles in ${Math.round((Date.now() - started) / 1000)} s\n`);
  return patients;
}

async function runShapes(base: string, population: Population, phase: Phase): Promise<Map<string, BenchRow>> {
  const path = new URL(base).pathname;
  const rows = new Map<string, BenchRow>();
  for (const [name, query] of SHAPES) {
    if (only && !only.test(name)) continue;
    rows.set(name, await runAutocannon(`${phase} ${name}`, {
      url: base,
      connections,
      duration: seconds,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `${path}/${query(population)}` }) }],
    }));
  }
  return rows;
}

/** Creates Patients one by one on `writers` connections until `stop` resolves. */
async function writeWhile(base: string, population: Population, stop: Promise<unknown>): Promise<{ created: number; seconds: number }> {
  let done = false;
  void stop.then(() => (done = true));
  const started = Date.now();
  let n = 0;
  await Promise.all(Array.from({ length: writers }, async () => {
    while (!done) {
      const res = await post(`${base}/Patient`, benchPatient(1_000_000 + n++), { ...JSON_HEADERS, prefer: 'return=minimal' });
      population.bare.push(res.headers.get('location')!.split('/').slice(-3)[0]);
    }
  }));
  return { created: population.bare.length, seconds: (Date.now() - started) / 1000 };
}

interface VariantResult {
  variant: string;
  phases: Map<Phase, Map<string, BenchRow>>;
  writes: { created: number; seconds: number };
}

async function measure(variant: Variant, admin: pg.Client): Promise<VariantResult> {
  const database = `hearth_bench_fresh_${variant.name.replace(/\W/g, '_')}`;
  await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${database}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const server = await startBenchServer(url.toString(), port, { env: variant.env });
  const phases = new Map<Phase, Map<string, BenchRow>>();
  try {
    const population: Population = { patients: await load(server.base), bare: [] };
    phases.set('fresh', await runShapes(server.base, population, 'fresh'));
    const searches = runShapes(server.base, population, 'writes');
    const writes = await writeWhile(server.base, population, searches);
    phases.set('writes', await searches);
    phases.set('after', await runShapes(server.base, population, 'after'));
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    await db.query('VACUUM ANALYZE');
    await db.end();
    phases.set('tidy', await runShapes(server.base, population, 'tidy'));
    return { variant: variant.name, phases, writes };
  } finally {
    await server.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  }
}

function report(results: VariantResult[]): void {
  console.log(`\nbench:search-fresh — ${bundles} bundles (${bundles * 51} resources), ${connections} connections, ${seconds} s per shape and phase, ${writers} writers in the writes phase`);
  for (const r of results) console.log(`${r.variant}: writes phase created ${r.writes.created} Patients in ${r.writes.seconds.toFixed(0)} s (${Math.round(r.writes.created / r.writes.seconds)}/s beside the searches)`);
  console.log('\n| shape | variant | fresh req/s | during writes | after writes | tidy (VACUUM ANALYZE) | worst untidy / tidy | p99 fresh / after / tidy ms |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name] of SHAPES) {
    for (const r of results) {
      const row = (phase: Phase) => r.phases.get(phase)?.get(name);
      if (!row('tidy')) continue;
      const tidy = row('tidy')!.rps;
      const worst = Math.min(...(['fresh', 'writes', 'after'] as const).map((p) => row(p)?.rps ?? Infinity));
      const errors = PHASES.reduce((n, p) => n + (row(p)?.non2xx ?? 0) + (row(p)?.errors ?? 0), 0);
      console.log(
        `| ${name} | ${r.variant} | ${row('fresh')?.rps} | ${row('writes')?.rps} | ${row('after')?.rps} | ${tidy} | ${Math.round((100 * worst) / tidy)}% | ` +
          `${row('fresh')?.p99} / ${row('after')?.p99} / ${row('tidy')?.p99}${errors ? ` (${errors} errors)` : ''} |`,
      );
    }
  }
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const results: VariantResult[] = [];
  try {
    for (const variant of variants()) results.push(await measure(variant, admin));
  } finally {
    await admin.end();
  }
  report(results);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
