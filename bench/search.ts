// npm run bench:search — search latency on a loaded dataset (issue: Search).
// Loads the benchmarks' own deterministic workload (bench/workload.ts, seed 42: per bundle
// 1 Patient, 5 Encounters, 40 vital-sign Observations, 5 MedicationRequests) into a running
// Hearth on PostgreSQL, then runs each query shape with autocannon and prints req/s, p50, p99.
//   default        20,000 bundles (1,020,000 resources), 16 connections, 15 s per query
//   --shared       the size of the cross-server workload: 1,200 bundles (61,200 resources),
//                  8 connections, 10 s
// Resources are PUT one by one with the bundle's urn:uuid as id and references rewritten to
// Type/id (the same data a transaction would store).
// Beside the workload, the realistic population (bench/population.ts): BENCH_EXTRA_PATIENTS
// (default 15,000; 0 disables) Patients without clinical data, ids bench-extra-<n>, and BENCH_RARE
// (default 20) Observations of http://loinc.org|99999-9 on as many workload patients, ids
// bench-rare-<n>, in batch bundles; with them the shapes S2r (S2 for a patient without data),
// S6 (the rare code) and S5r (_has with the rare code).
// Re-running reuses a loaded database (BENCH_RELOAD=1 forces a reload; a database without the
// extra patients or rare-code Observations gets them added first); BENCH_ONLY=<regex> picks
// shapes by name; BENCH_BUNDLES, BENCH_CONNECTIONS, BENCH_SECONDS, BENCH_DATABASE_URL,
// BENCH_PORT override the defaults; BENCH_CROSSCHECK_GENERATOR (see bench/workload.ts) loads
// another generator's bundles instead. BENCH_VARIANTS compares server settings on the same data
// in one run (e.g. 'audit-off:HEARTH_AUDIT=off;audit-on:HEARTH_AUDIT=on', issue 11), BENCH_ROUNDS times (default
// 1 round; with variants 2), alternating their order each round. After each shape it waits for
// the audit journal to be expanded (ADR 0016) and prints how long that took.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { addExtraPatients, addRareObservations, envCount, RARE_CODE } from './population.js';
import { benchVariants, drainJournal, inParallel, printTable, runAutocannon, startBenchServer, type BenchRow, type BenchVariant } from './support.js';
import { workloadBundles, workloadFile } from './workload.js';

const shared = process.argv.includes('--shared');
const bundles = Number(process.env.BENCH_BUNDLES ?? (shared ? 1200 : 20000));
const connections = Number(process.env.BENCH_CONNECTIONS ?? (shared ? 8 : 16));
const seconds = Number(process.env.BENCH_SECONDS ?? (shared ? 10 : 15));
const databaseUrl = process.env.BENCH_DATABASE_URL ?? `postgresql://postgres@127.0.0.1:5432/hearth_bench_search_${bundles}`;
const port = Number(process.env.BENCH_PORT ?? 18183);
const extraCount = envCount('BENCH_EXTRA_PATIENTS', 15000);
const rareCount = envCount('BENCH_RARE', 20);
const EXTRA_PREFIX = 'bench-extra-';
const RARE_PREFIX = 'bench-rare-';

interface Loaded {
  /** Workload patients (every one has Observations of 8867-4). */
  patients: string[];
  encounters: string[];
  /** Patients without clinical data. */
  extras: string[];
}

type Json = Record<string, unknown>;

/** Rewrites urn:uuid references of a bundle to Type/id, ids taken from the fullUrls. */
function resolveBundle(bundle: { entry: { fullUrl: string; resource: Json }[] }): Json[] {
  const ids = new Map(bundle.entry.map((e) => [e.fullUrl, `${e.resource.resourceType}/${e.fullUrl.slice('urn:uuid:'.length)}`]));
  return bundle.entry.map((e) => {
    const text = JSON.stringify(e.resource).replace(/"urn:uuid:[0-9a-f-]+"/g, (m) => JSON.stringify(ids.get(m.slice(1, -1)) ?? m.slice(1, -1)));
    return { ...(JSON.parse(text) as Json), id: e.fullUrl.slice('urn:uuid:'.length) };
  });
}

/** The workload's bundles: generated in-process, or read from the cross-check generator's file. */
async function* generatedBundles(): AsyncGenerator<{ entry: { fullUrl: string; resource: Json }[] }> {
  if (!process.env.BENCH_CROSSCHECK_GENERATOR) {
    yield* workloadBundles(bundles);
    return;
  }
  const file = await workloadFile(bundles);
  for await (const line of createInterface({ input: createReadStream(file) })) if (line) yield JSON.parse(line);
}

async function load(base: string): Promise<Loaded> {
  const loaded: Loaded = { patients: [], encounters: [], extras: [] };
  const started = Date.now();
  let resources = 0;
  const batch: Json[] = [];
  const flush = async () => {
    await inParallel(batch.splice(0), 32, async (r) => {
      const res = await fetch(`${base}/${r.resourceType}/${r.id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
        body: JSON.stringify(r),
      });
      if (res.status >= 300) throw new Error(`PUT ${r.resourceType}/${r.id}: ${res.status} ${await res.text()}`);
      resources++;
    });
  };
  for await (const bundle of generatedBundles()) {
    for (const r of resolveBundle(bundle)) {
      if (r.resourceType === 'Patient') loaded.patients.push(r.id as string);
      if (r.resourceType === 'Encounter') loaded.encounters.push(r.id as string);
      batch.push(r);
    }
    if (batch.length >= 2000) {
      await flush();
      process.stderr.write(`\rloaded ${resources} resources, ${Math.round(resources / ((Date.now() - started) / 1000))}/s   `);
    }
  }
  await flush();
  process.stderr.write(`\rloaded ${resources} resources in ${Math.round((Date.now() - started) / 1000)} s\n`);
  return loaded;
}

/** Reuses a database that already holds the dataset; ids come from the database then. */
async function alreadyLoaded(): Promise<Loaded | undefined> {
  if (process.env.BENCH_RELOAD === '1') return undefined;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const workload = "tenant_id = 'default' AND id NOT LIKE 'bench-extra-%'";
    const count = await client.query(`SELECT count(*)::int AS n FROM patient WHERE ${workload}`).catch(() => ({ rows: [{ n: 0 }] }));
    if (count.rows[0].n < bundles) return undefined;
    const patients = (await client.query(`SELECT id FROM patient WHERE ${workload} LIMIT 5000`)).rows.map((r) => r.id);
    const encounters = (await client.query("SELECT id FROM encounter WHERE tenant_id = 'default' LIMIT 5000")).rows.map((r) => r.id);
    return { patients, encounters, extras: [] };
  } finally {
    await client.end();
  }
}

/**
 * Adds the extra patients and the rare-code Observations unless the database holds them all
 * (counted by their ids' prefixes); the data counts as loaded only with them.
 */
async function addPopulation(base: string, data: Loaded): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let present: { extras: number; rare: number };
  try {
    const { rows } = await client.query<{ extras: number; rare: number }>(
      `SELECT (SELECT count(*)::int FROM patient WHERE tenant_id = 'default' AND id LIKE '${EXTRA_PREFIX}%' AND NOT deleted) AS extras,
              (SELECT count(*)::int FROM observation WHERE tenant_id = 'default' AND id LIKE '${RARE_PREFIX}%' AND NOT deleted) AS rare`,
    );
    present = rows[0];
  } finally {
    await client.end();
  }
  if (present.extras < extraCount) await addExtraPatients(base, extraCount, { idPrefix: EXTRA_PREFIX });
  if (present.rare < rareCount) await addRareObservations(base, data.patients, rareCount, { idPrefix: RARE_PREFIX });
  if (present.extras > extraCount || present.rare > rareCount) {
    console.log(`note: the database holds ${present.extras} extra patients and ${present.rare} rare-code Observations, more than asked (${extraCount}, ${rareCount}); drop ${new URL(databaseUrl).pathname.slice(1)} for exactly that population`);
  }
  data.extras = Array.from({ length: extraCount }, (_, i) => `${EXTRA_PREFIX}${i}`);
}

async function analyze(): Promise<{ resources: number; bytes: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('VACUUM ANALYZE');
  const { rows } = await client.query("SELECT pg_database_size(current_database())::bigint AS bytes, (SELECT count(*) FROM observation) + (SELECT count(*) FROM patient) + (SELECT count(*) FROM encounter) + (SELECT count(*) FROM medication_request) AS n");
  await client.end();
  return { resources: Number(rows[0].n), bytes: Number(rows[0].bytes) };
}

async function main(): Promise<void> {
  const variants = benchVariants();
  const rounds = Number(process.env.BENCH_ROUNDS ?? (variants.length > 1 ? 2 : 1));
  let data: Loaded | undefined;
  for (let round = 1; round <= rounds; round++) {
    for (const variant of round % 2 ? variants : [...variants].reverse()) {
      const server = await startBenchServer(databaseUrl, port, { env: variant.env });
      try {
        if (!data) {
          data = (await alreadyLoaded()) ?? (await load(server.base));
          await addPopulation(server.base, data);
        }
        await measure(server.base, data, variant, round, variants.length > 1 || rounds > 1);
      } finally {
        await server.stop();
      }
    }
  }
}

async function measure(base: string, data: Loaded, variant: BenchVariant, round: number, labelled: boolean): Promise<void> {
  const server = { base };
  {
    const { resources, bytes } = await analyze();
    const path = new URL(server.base).pathname;
    const pick = (ids: string[]) => ids[Math.floor(Math.random() * ids.length)];
    const rows: BenchRow[] = [];
    // BENCH_ONLY=<regex> runs only the shapes whose name matches (e.g. BENCH_ONLY='name|_has').
    const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
    const shape = async (name: string, query: () => string) => {
      if (only && !only.test(name)) return;
      rows.push(await runAutocannon(name, {
        url: server.base,
        connections,
        duration: seconds,
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `${path}/${query()}` }) }],
      }));
      // The next shape starts with the audit journal expanded (ADR 0016): each is measured alike.
      const drained = await drainJournal(databaseUrl);
      if (drained?.left) console.log(`  ${name}: ${drained.left} audit journal entries expanded in ${drained.seconds.toFixed(1)} s after the load`);
    };
    await shape('Observation?patient=X&code=8867-4&_sort=-date&_count=20', () => `Observation?patient=${pick(data.patients)}&code=http://loinc.org|8867-4&_sort=-date&_count=20`);
    await shape('Patient?name=smi (prefix)', () => 'Patient?name=smi');
    await shape('Patient?name=Smith', () => 'Patient?name=Smith');
    await shape('Patient?identifier=sys|val', () => 'Patient?identifier=urn:bench:mrn|MRN-0000000000');
    // The 1M shape asks for 50 per page; the cross-server workload's uses the default
    // page size, as the peer's figure does.
    const valueCount = shared ? '' : '&_count=50';
    await shape(`Observation?code=8867-4&value-quantity=gt100${valueCount}`, () => `Observation?code=http://loinc.org|8867-4&value-quantity=gt100${valueCount}`);
    await shape('Encounter?patient=X&_revinclude=Observation:encounter', () => `Encounter?patient=${pick(data.patients)}&_revinclude=Observation:encounter`);
    await shape('Patient?_has:Observation:patient:code=8867-4', () => 'Patient?_has:Observation:patient:code=8867-4');
    await shape('Observation?subject:Patient.name=Smith', () => 'Observation?subject:Patient.name=Smith');
    // The realistic population's shapes: most patients have no data, one code is rare.
    if (data.extras.length) {
      await shape('S2r Observation?patient=X(no data)&code=8867-4&_sort=-date&_count=20', () => `Observation?patient=${pick(data.extras)}&code=http://loinc.org|8867-4&_sort=-date&_count=20`);
    }
    if (rareCount) {
      await shape('S6 Observation?code=99999-9 (rare)', () => `Observation?code=${RARE_CODE}`);
      await shape('S5r Patient?_has:Observation:patient:code=99999-9 (rare)', () => `Patient?_has:Observation:patient:code=${RARE_CODE.split('|')[1]}`);
    }
    const arm = labelled ? ` — ${variant.name || 'as configured'}, round ${round}` : '';
    const population = ` + ${extraCount} patients without clinical data, ${rareCount} rare-code Observations`;
    printTable(`bench:search — ${resources} resources (${bundles} bundles${population}), ${(bytes / 1e6).toFixed(0)} MB database (${((bytes / resources) * 1000 / 1e6).toFixed(1)} MB per 1,000), ${connections} connections, ${seconds} s each${arm}`, rows);
    for (const [name, url] of [
      ['_summary=count, Observation?code=8867-4', 'Observation?code=http://loinc.org|8867-4&_summary=count'],
      ['_total=accurate, value-quantity search', 'Observation?code=http://loinc.org|8867-4&value-quantity=gt100&_count=50&_total=accurate'],
    ]) {
      const times: number[] = [];
      let total: unknown;
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        total = ((await (await fetch(`${server.base}/${url}`)).json()) as { total?: number }).total;
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      console.log(`${name}: total ${total}, median ${times[2].toFixed(0)} ms, max ${times[4].toFixed(0)} ms (5 runs)`);
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
