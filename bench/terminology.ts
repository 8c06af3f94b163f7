// npm run bench:terminology — issue 12's terminology figures, on a fresh database, loopback only:
//   1. generate  a SNOMED CT RF2 Snapshot of BENCH_CONCEPTS concepts (bench/terminology-rf2.ts:
//                polyhierarchy, ~10% two parents, depth 13, displays of a few words; seed
//                BENCH_SEED) in os.tmpdir(), reused when already written
//   2. import    `node dist/src/cli.js terminology import snomed <dir>` into the shared tables of a
//                fresh database (hearth_bench_terminology, dropped and created; `migrate` first,
//                which loads the R4/HL7 terminology preload), wall clock and the importer's summary
//   3. server    `node dist/src/cli.js serve` on 127.0.0.1 (bench/support.ts), HEARTH_AUTH=off
//   4. ops       CodeSystem $validate-code and $lookup of a random existing code; ValueSet $expand of
//                a stored ValueSet (compose: is-a a concept with ~10,000 concepts below it, or a
//                tenth of the code system when smaller) with filter=<a word or word start>; the
//                first (uncached) expansion timed on its own
//   5. load      BENCH_OBSERVATIONS Observations coded uniformly from the hierarchy, as NDJSON, with
//                `hearth load` (in-process on the database; faster than transactions over HTTP)
//   6. below     Observation?code:below=<sct>|<concept>&_count=20 for concepts whose subtrees hold
//                ~1% of the concepts (five, rotated) and for random leaves; right after the load
//                (no VACUUM or ANALYZE: autovacuum and Hearth as configured), then after a manual
//                VACUUM ANALYZE; _summary=count once each; the _explain plans printed
//   7. writes    Condition (clinicalStatus/verificationStatus: required bindings) and Observation
//                creates at 8 connections, servers with HEARTH_BINDING_CHECKS=on and =off
//                alternated over BENCH_ROUNDS rounds on the same database; req/s, server CPU
//                ms/request, and on/off per resource type
// then one table of every figure against its target. Steps 4 and 6 run at each of BENCH_CONNECTIONS.
// Latency percentiles are computed from every response's own time (autocannon's 'response'
// event, sub-millisecond), not autocannon's whole-millisecond histogram.
//
//   BENCH_CONCEPTS      default 100000 (350000: the RF2-scale run)
//   BENCH_OBSERVATIONS  default 1000000
//   BENCH_SECONDS       default 10 per shape
//   BENCH_CONNECTIONS   default 1,8 (the operations and searches); the writes use the last one
//   BENCH_ROUNDS        default 2 (binding checks on/off, alternated)
//   BENCH_ADMIN_URL     default postgresql://postgres@127.0.0.1:5432/postgres (the database is created beside it)
//   BENCH_ONLY          a regex of the steps to run: validate-code|lookup|expand|below|writes
//                       (the import always runs; the Observations are loaded for below and writes)
//   BENCH_SEED default 42;  BENCH_LOAD_CONCURRENCY default 4;  BENCH_PORT default 18195
// Run `npm run build` first: the import, load and server are dist/src/cli.js.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { cpuMs, startBenchServer, type BenchServer } from './support.js';
import { benchCondition, benchObservationBody, codedConcepts, writeObservationFiles } from './terminology-data.js';
import { conceptsWithSubtree, generateHierarchy, prng, SCT_URL, WORDS, writeRf2Release, type GeneratedHierarchy } from './terminology-rf2.js';

const conceptCount = Number(process.env.BENCH_CONCEPTS ?? 100_000);
const observationCount = Number(process.env.BENCH_OBSERVATIONS ?? 1_000_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connectionCounts = (process.env.BENCH_CONNECTIONS ?? '1,8').split(',').map(Number).filter((n) => n > 0);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const adminUrl = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const seed = Number(process.env.BENCH_SEED ?? 42);
const loadConcurrency = Number(process.env.BENCH_LOAD_CONCURRENCY ?? 4);
const port = Number(process.env.BENCH_PORT ?? 18195);
const DATABASE = 'hearth_bench_terminology';
const EFFECTIVE_TIME = '20250131';
const VALUE_SET_URL = 'http://example.org/fhir/ValueSet/hearth-bench-terminology';
const JSON_HEADERS = { 'content-type': 'application/fhir+json' };
const writeConnections = connectionCounts[connectionCounts.length - 1] ?? 8;
const runs = (step: string) => !only || only.test(step);

const databaseUrl = (() => {
  const url = new URL(adminUrl);
  url.pathname = `/${DATABASE}`;
  return url.toString();
})();

// ---- measuring --------------------------------------------------------------------------------

interface Measured {
  name: string;
  connections: number;
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  /** Server CPU per request (ms), when the server's pid is known. */
  cpuMsPerRequest?: number;
}

const percentile = (sorted: number[], q: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]);
const ms = (value: number) => (Number.isFinite(value) ? (value < 10 ? value.toFixed(2) : value.toFixed(1)) : '–');

/** autocannon for `seconds`, every 2xx response's time kept for exact percentiles. */
async function cannon(name: string, connections: number, options: autocannon.Options, pid?: number): Promise<Measured> {
  const times: number[] = [];
  const cpuBefore = pid ? cpuMs(pid) : 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ connections, duration: seconds, timeout: 60, ...options }, (error, res) => (error ? reject(error) : resolve(res)));
    instance.on('response', (_client, status, _bytes, time) => {
      if (status < 300) times.push(time);
    });
  });
  times.sort((a, b) => a - b);
  const measured: Measured = {
    name,
    connections,
    rps: Math.round(result.requests.average),
    requests: times.length,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    max: times[times.length - 1] ?? NaN,
    non2xx: result.non2xx,
    errors: result.errors,
  };
  if (pid && times.length > 0) measured.cpuMsPerRequest = (cpuMs(pid) - cpuBefore) / (result.requests.total || times.length);
  process.stderr.write(`  ${name} @${connections}: ${measured.rps} req/s, p50 ${ms(measured.p50)} ms, p99 ${ms(measured.p99)} ms${measured.non2xx ? `, ${measured.non2xx} non-2xx` : ''}\n`);
  return measured;
}

/** GETs of `path()` (a path under the base, a new one per request). */
const gets = (base: string, path: () => string): autocannon.Options => {
  const prefix = new URL(base).pathname;
  return { url: base, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `${prefix}/${path()}` }) }] };
};

async function timedGet(url: string): Promise<{ ms: number; status: number; body: string }> {
  const started = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  return { ms: performance.now() - started, status: res.status, body };
}

async function warmUp(base: string, path: () => string, n = 50): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${base}/${path()}`);
    await res.text();
    if (res.status >= 300) throw new Error(`warm-up GET ${path()}: ${res.status}`);
  }
}

function run(args: string[], env: Record<string, string>): Promise<{ seconds: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['dist/src/cli.js', ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      process.stderr.write(chunk); // progress lines (every 5 s when not on a terminal)
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, stdout, stderr });
      else reject(new Error(`hearth ${args.join(' ')} exited with ${code}:\n${stdout}\n${stderr.slice(-3000)}`));
    });
  });
}

// ---- the steps --------------------------------------------------------------------------------

interface Figures {
  generateSeconds: number;
  migrateSeconds?: number;
  importSeconds?: number;
  importSummary?: string;
  ops: Measured[];
  expandFirstMs?: number;
  expandTotal?: number;
  expandMatches?: number;
  loadSeconds?: number;
  loadSummary?: string;
  vacuumSeconds?: number;
  below: (Measured & { phase: 'fresh' | 'tidy' })[];
  counts: { phase: string; name: string; ms: number; total: number }[];
  plans: { phase: string; name: string; plan: string }[];
  writes: (Measured & { variant: string; round: number })[];
}

async function recreateDatabase(admin: pg.Client): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS "${DATABASE}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${DATABASE}"`);
}

/** Step 4: $validate-code, $lookup, $expand. */
async function operations(server: BenchServer, h: GeneratedHierarchy, bigConcept: { index: number; subtree: Set<number> }, figures: Figures): Promise<void> {
  const { base, pid } = server;
  const random = prng(seed ^ 0x0f5);
  const code = () => h.codes[1 + Math.floor(random() * (h.codes.length - 1))];
  const system = encodeURIComponent(SCT_URL);
  const shapes: [step: string, name: string, path: () => string][] = [];
  if (runs('validate-code')) shapes.push(['validate-code', 'CodeSystem/$validate-code?url=<sct>&code=<random>', () => `CodeSystem/$validate-code?url=${system}&code=${code()}`]);
  if (runs('lookup')) shapes.push(['lookup', 'CodeSystem/$lookup?system=<sct>&code=<random>', () => `CodeSystem/$lookup?system=${system}&code=${code()}`]);
  if (runs('expand')) {
    const valueSet = {
      resourceType: 'ValueSet',
      id: 'hearth-bench-terminology',
      url: VALUE_SET_URL,
      status: 'active',
      compose: { include: [{ system: SCT_URL, filter: [{ property: 'concept', op: 'is-a', value: h.codes[bigConcept.index] }] }] },
    };
    const put = await fetch(`${base}/ValueSet/${valueSet.id}`, { method: 'PUT', headers: JSON_HEADERS, body: JSON.stringify(valueSet) });
    if (put.status >= 300) throw new Error(`PUT ValueSet: ${put.status} ${await put.text()}`);
    // A filter word, or the start of one (4+ letters): each must start a word of the display.
    const filter = () => {
      const word = WORDS[Math.floor(random() * WORDS.length)];
      return random() < 0.5 || word.length < 6 ? word : word.slice(0, 4 + Math.floor(random() * (word.length - 4)));
    };
    const expandPath = () => `ValueSet/$expand?url=${encodeURIComponent(VALUE_SET_URL)}&filter=${filter()}`;
    const first = await timedGet(`${base}/${expandPath()}`);
    if (first.status !== 200) throw new Error(`first $expand: ${first.status} ${first.body.slice(0, 500)}`);
    figures.expandFirstMs = first.ms;
    const whole = JSON.parse((await timedGet(`${base}/ValueSet/$expand?url=${encodeURIComponent(VALUE_SET_URL)}&count=1`)).body) as { expansion: { total: number } };
    figures.expandTotal = whole.expansion.total;
    let matches = 0;
    for (let i = 0; i < 20; i++) matches += (JSON.parse((await timedGet(`${base}/${expandPath()}`)).body) as { expansion: { total: number } }).expansion.total;
    figures.expandMatches = matches / 20;
    process.stderr.write(`first $expand (computed and cached): ${first.ms.toFixed(0)} ms; ${figures.expandTotal} codes, a filter matches ${figures.expandMatches.toFixed(0)} on average\n`);
    shapes.push(['expand', `ValueSet/$expand?url=<${figures.expandTotal} concepts>&filter=<word>`, expandPath]);
    // For scale: a plain read on the same server at the same moment (no target).
    shapes.push(['expand', 'baseline: read ValueSet/{id}', () => `ValueSet/${valueSet.id}`]);
  }
  for (const [, name, path] of shapes) {
    await warmUp(base, path);
    for (const connections of connectionCounts) figures.ops.push(await cannon(name, connections, gets(base, path), pid));
  }
}

/** Step 6 for one phase: the searches, _summary=count once each, the plans. */
async function belowSearches(server: BenchServer, h: GeneratedHierarchy, percentConcepts: number[], leaves: number[], phase: 'fresh' | 'tidy', figures: Figures): Promise<void> {
  const { base, pid } = server;
  const random = prng(seed ^ (phase === 'fresh' ? 0xf1 : 0xf2));
  const below = (index: number) => `Observation?code:below=${encodeURIComponent(`${SCT_URL}|${h.codes[index]}`)}`;
  const pick = (list: number[]) => list[Math.floor(random() * list.length)];
  const shapes: [name: string, path: () => string, example: number][] = [
    [`Observation?code:below=<~1% of concepts>&_count=20`, () => `${below(pick(percentConcepts))}&_count=20`, percentConcepts[0]],
    [`Observation?code:below=<a leaf>&_count=20`, () => `${below(pick(leaves))}&_count=20`, leaves[0]],
  ];
  // The first request of each shape, its count and its plan, before any repetition warms it.
  for (const [name, , example] of shapes) {
    const short = name.replace('&_count=20', '');
    const counted = await timedGet(`${base}/${below(example)}&_summary=count`);
    if (counted.status !== 200) throw new Error(`${short}&_summary=count: ${counted.status} ${counted.body.slice(0, 300)}`);
    figures.counts.push({ phase, name: `${short}&_summary=count`, ms: counted.ms, total: (JSON.parse(counted.body) as { total: number }).total });
    const explained = await timedGet(`${base}/${below(example)}&_count=20&_explain=true`);
    const issues = (JSON.parse(explained.body) as { issue?: { diagnostics?: string }[] }).issue ?? [];
    figures.plans.push({ phase, name, plan: explained.status === 200 ? issues.map((i) => i.diagnostics ?? '').join('\n') : `(_explain answered ${explained.status}: ${explained.body.slice(0, 300)})` });
  }
  for (const [name, path] of shapes) {
    for (const connections of connectionCounts) figures.below.push({ ...(await cannon(`${phase} ${name}`, connections, gets(base, path), pid)), phase });
  }
}

/** Step 7: creates with binding checks on and off, alternated, a server per arm. */
async function writes(h: GeneratedHierarchy, figures: Figures): Promise<void> {
  const variants = [
    { name: 'on', env: { HEARTH_BINDING_CHECKS: 'on' } },
    { name: 'off', env: { HEARTH_BINDING_CHECKS: 'off' } },
  ];
  for (let round = 1; round <= rounds; round++) {
    for (const variant of round % 2 ? variants : [...variants].reverse()) {
      const server = await startBenchServer(databaseUrl, port, { env: variant.env });
      try {
        const random = prng(seed + round * 31 + (variant.name === 'on' ? 1 : 2));
        const shapes: [string, string, () => string][] = [
          ['create Condition (2 required bindings)', 'Condition', () => benchCondition(h, random)],
          ['create Observation (no required Coding binding)', 'Observation', () => benchObservationBody(h, random)],
        ];
        for (const [name, type, body] of shapes) {
          for (let i = 0; i < 50; i++) {
            const res = await fetch(`${server.base}/${type}`, { method: 'POST', headers: JSON_HEADERS, body: body() });
            if (res.status >= 300) throw new Error(`POST ${type}: ${res.status} ${(await res.text()).slice(0, 300)}`);
            await res.arrayBuffer();
          }
          const options: autocannon.Options = { url: `${server.base}/${type}`, requests: [{ method: 'POST', headers: JSON_HEADERS, setupRequest: (req) => ({ ...req, body: body() }) }] };
          figures.writes.push({ ...(await cannon(`${name} checks ${variant.name}`, writeConnections, options, server.pid)), name, variant: variant.name, round });
        }
      } finally {
        // Requests autocannon abandoned at the end finish first (else they fail against a closing pool and log).
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await server.stop();
      }
    }
  }
}

// ---- report -----------------------------------------------------------------------------------

function report(figures: Figures, h: GeneratedHierarchy, bigConcept: { index: number; subtree: Set<number> }, percent: { index: number; subtree: Set<number> }[], leaves: number): void {
  const coded = codedConcepts(h);
  console.log(`\nbench:terminology — ${conceptCount.toLocaleString('en-US')} generated concepts (RF2 Snapshot, seed ${seed}), ${observationCount.toLocaleString('en-US')} Observations, ${seconds} s per shape, connections ${connectionCounts.join(' and ')}`);
  console.log(`hierarchy: ${h.codes.length} active concepts (${h.inactive.length} inactive besides), ${h.parents.filter((p) => p.length === 2).length} with two parents, depth ${h.levels.reduce((a, b) => Math.max(a, b), 0)}, ${leaves} leaves`);
  console.log(`ValueSet: is-a ${h.codes[bigConcept.index]} (${bigConcept.subtree.size} concepts); ~1% concepts: ${percent.map((p) => `${h.codes[p.index]} (${p.subtree.size}, ${((100 * p.subtree.size) / coded).toFixed(2)}%)`).join(', ')}`);
  console.log(`generate RF2: ${figures.generateSeconds.toFixed(1)} s; migrate (with the terminology preload): ${figures.migrateSeconds?.toFixed(1)} s`);
  console.log(`import (wall clock, \`hearth terminology import snomed\`): ${figures.importSeconds?.toFixed(1)} s — ${figures.importSummary}`);
  if (figures.loadSeconds !== undefined) console.log(`load ${observationCount.toLocaleString('en-US')} Observations (\`hearth load --concurrency ${loadConcurrency}\`): ${figures.loadSeconds.toFixed(1)} s — ${figures.loadSummary}`);
  if (figures.vacuumSeconds !== undefined) console.log(`VACUUM ANALYZE: ${figures.vacuumSeconds.toFixed(1)} s`);
  if (figures.expandFirstMs !== undefined) console.log(`first $expand (computes and caches ${figures.expandTotal} codes): ${figures.expandFirstMs.toFixed(0)} ms; a filter matches ${figures.expandMatches?.toFixed(0)} codes on average`);

  const rows = [...figures.ops, ...figures.below];
  if (rows.length > 0) {
    console.log('\n| shape | connections | req/s | p50 ms | p99 ms | max ms | server CPU ms/req | non-2xx |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.name} | ${r.connections} | ${r.rps} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.cpuMsPerRequest?.toFixed(2) ?? '–'} | ${r.non2xx + r.errors} |`);
  }
  if (figures.counts.length > 0) {
    console.log('\n| _summary=count (one request, the first of its shape) | phase | total | ms |');
    console.log('|---|---|---|---|');
    for (const c of figures.counts) console.log(`| ${c.name} | ${c.phase} | ${c.total} | ${c.ms.toFixed(1)} |`);
  }
  for (const p of figures.plans) console.log(`\n_explain, ${p.phase}, ${p.name}:\n${p.plan}`);

  const ratios = new Map<string, number[]>();
  if (figures.writes.length > 0) {
    console.log(`\nwrites, ${writeConnections} connections, binding checks on/off alternated:`);
    console.log('| shape | round | checks | req/s | p50 ms | p99 ms | server CPU ms/req | non-2xx |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const w of figures.writes) console.log(`| ${w.name} | ${w.round} | ${w.variant} | ${w.rps} | ${ms(w.p50)} | ${ms(w.p99)} | ${w.cpuMsPerRequest?.toFixed(2) ?? '–'} | ${w.non2xx + w.errors} |`);
    for (const name of new Set(figures.writes.map((w) => w.name))) {
      for (let round = 1; round <= rounds; round++) {
        const on = figures.writes.find((w) => w.name === name && w.round === round && w.variant === 'on');
        const off = figures.writes.find((w) => w.name === name && w.round === round && w.variant === 'off');
        if (on && off) ratios.set(name, [...(ratios.get(name) ?? []), on.rps / off.rps]);
      }
      console.log(`${name}: on/off ${(ratios.get(name) ?? []).map((r) => r.toFixed(3)).join(', ')}`);
    }
  }

  // The summary: each figure against its target.
  const summary: [figure: string, value: string, target: string, met: string][] = [];
  const verdict = (ok: boolean) => (ok ? 'met' : 'not met');
  if (figures.importSeconds !== undefined) {
    const judged = conceptCount === 100_000 ? verdict(figures.importSeconds <= 60) : 'target is for 100k';
    summary.push([`import ${conceptCount.toLocaleString('en-US')} concepts (wall clock)`, `${figures.importSeconds.toFixed(1)} s`, '≤ 60 s for 100k', judged]);
  }
  const targets: [RegExp, number][] = [[/validate-code/, 5], [/\$lookup/, 5], [/\$expand/, 50], [/code:below/, 100]];
  for (const r of rows) {
    const target = targets.find(([re]) => re.test(r.name))?.[1];
    if (target === undefined) continue;
    const failures = r.non2xx + r.errors;
    summary.push([`${r.name} p99, ${r.connections} conn.`, `${ms(r.p99)} ms${failures ? ` (${failures} failed)` : ''}`, `≤ ${target} ms`, verdict(r.p99 <= target && failures === 0)]);
  }
  if (figures.expandFirstMs !== undefined) summary.push(['first $expand (uncached)', `${figures.expandFirstMs.toFixed(0)} ms`, '–', '–']);
  for (const c of figures.counts) summary.push([`${c.phase} ${c.name} (once)`, `${c.ms.toFixed(1)} ms, total ${c.total}`, '–', '–']);
  for (const [name, list] of ratios) {
    const mean = list.reduce((a, b) => a + b, 0) / list.length;
    summary.push([`binding checks: ${name}, req/s on/off`, `${list.map((r) => r.toFixed(2)).join(', ')} (mean ${mean.toFixed(2)})`, '≥ 0.90 (≤ 10% cost)', verdict(mean >= 0.9)]);
  }
  console.log('\n| figure | measured | target | |');
  console.log('|---|---|---|---|');
  for (const [figure, value, target, met] of summary) console.log(`| ${figure} | ${value} | ${target} | ${met} |`);
}

// ---- main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const figures: Figures = { generateSeconds: 0, ops: [], below: [], counts: [], plans: [], writes: [] };
  let started = performance.now();
  const h = generateHierarchy(conceptCount, seed);
  const release = await writeRf2Release(join(tmpdir(), `hearth-bench-terminology-rf2-${conceptCount}-${seed}`), h, EFFECTIVE_TIME, seed);
  figures.generateSeconds = (performance.now() - started) / 1000;
  const coded = codedConcepts(h);
  const bigConcept = conceptsWithSubtree(h, Math.min(10_000, Math.round(coded / 10)))[0];
  const percent = conceptsWithSubtree(h, Math.round(coded / 100), 5);
  const leaves = h.children.flatMap((c, i) => (c.length === 0 && h.levels[i] >= 2 ? [i] : []));
  process.stderr.write(`RF2 release in ${release} (${figures.generateSeconds.toFixed(1)} s)\n`);

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  let server: BenchServer | undefined;
  try {
    await recreateDatabase(admin);
    const env = { DATABASE_URL: databaseUrl };
    figures.migrateSeconds = (await run(['migrate'], env)).seconds;
    const imported = await run(['terminology', 'import', 'snomed', release], env);
    figures.importSeconds = imported.seconds;
    figures.importSummary = imported.stdout.trim().split('\n').pop();
    process.stderr.write(`import: ${imported.seconds.toFixed(1)} s — ${figures.importSummary}\n`);

    server = await startBenchServer(databaseUrl, port);
    await operations(server, h, bigConcept, figures);

    if (runs('below') || runs('writes')) {
      started = performance.now();
      const dir = await writeObservationFiles(join(tmpdir(), `hearth-bench-terminology-obs-${conceptCount}-${observationCount}-${seed}`), h, observationCount, seed);
      process.stderr.write(`Observation NDJSON in ${dir} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
      const loaded = await run(['load', '--concurrency', String(loadConcurrency), dir], env);
      figures.loadSeconds = loaded.seconds;
      figures.loadSummary = loaded.stdout.trim().split('\n').pop();
      process.stderr.write(`load: ${loaded.seconds.toFixed(1)} s — ${figures.loadSummary}\n`);
    }
    if (runs('below')) {
      await belowSearches(server, h, percent.map((p) => p.index), leaves, 'fresh', figures);
      const db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      started = performance.now();
      await db.query('VACUUM ANALYZE');
      figures.vacuumSeconds = (performance.now() - started) / 1000;
      await db.end();
      await belowSearches(server, h, percent.map((p) => p.index), leaves, 'tidy', figures);
    }
    await new Promise((resolve) => setTimeout(resolve, 3000)); // abandoned slow searches finish first
    await server.stop();
    server = undefined;
    if (runs('writes')) await writes(h, figures);
  } finally {
    await server?.stop();
    await admin.end();
  }
  report(figures, h, bigConcept, percent, leaves.length);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
