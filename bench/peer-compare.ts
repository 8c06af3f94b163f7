// npm run bench:peer — Hearth beside a peer FHIR server (e.g. Medplum) on the same machine, the
// same content in both, measured interleaved (issue 14).
//
// Starts Hearth (built, in its own process) on a database dropped and recreated for the run,
// unless BENCH_BASE points at a running Hearth; takes the peer by its FHIR base URL. Without a
// peer it runs Hearth alone. Both servers get exactly the same content, in this order:
//   1. ingest      the shared workload (bench/workload.ts, seed 42): BENCH_BUNDLES transaction
//                  bundles of 51 resources POSTed to [base], 8 at a time (the ingest figure at
//                  concurrency 8), then BENCH_C1_BUNDLES more (seed 43: new resources) one at a
//                  time (the figure at concurrency 1); Patient and Encounter ids are taken from
//                  the transaction responses' locations
//   2. population  BENCH_EXTRA_PATIENTS Patients without clinical data in batch bundles of 100,
//                  and BENCH_RARE Observations of http://loinc.org|99999-9 on as many distinct
//                  workload patients (bench/population.ts): most patients match nothing, the
//                  common code 8867-4 is on every workload patient, the rare one on few
// No VACUUM or ANALYZE follows (a peer's database is not ours to tidy): searches run right after
// the load, as a user has it. Then BENCH_RUNS runs, each figure taken on Hearth and on the peer in
// turn, which goes first alternating per run; the tables report the median req/s and p99:
//   read Patient/{id}: one hot id, rotating ids over all patients (32 connections)
//   searches (8 connections): S1 Patient?name=Smith; S2 Observation?patient=X&code=8867-4&
//     _sort=-date&_count=20; S3 Observation?code=8867-4&value-quantity=gt100; S4 Encounter?
//     patient=X&_revinclude=Observation:encounter; S5 Patient?_has:Observation:patient:code=8867-4;
//     S2r S2 for a patient without clinical data; S6 Observation?code=99999-9 (rare);
//     S5r Patient?_has:Observation:patient:code=99999-9 (X rotating)
//   BENCH_VACUUM=1: VACUUM ANALYZE on Hearth's database (and the peer's with --peer-database-url)
//     and the searches again, a second table
//   create Patient and update Patient/{id} (PUT on the extra patients; 32 connections) last, as
//     they grow the databases the searches compare
// and the peak RSS (VmHWM) of Hearth's server process and, with --peer-pid, of the peer's.
// A response outside 2xx counts as an error; the first of each measurement is printed.
// Calibration: pgbench -S -c 32 -j 2 -T 10 on a scale-10 pgbench database (initialised with
// pgbench -i -s 10 -q when missing) at the start and at the end; without a peer, the peer column
// holds Medplum's recorded figures scaled by this run's pgbench -S tps (the mean of both) / 16,000.
// A better calibration for a Node server: the reference build ff79e3d, the Hearth that was measured
// beside Medplum in the recorded run, is built under bench-builds/ (git archive, npm ci) and run
// here on the same content, interleaved like the peer; Medplum's figures are then scaled per
// figure by (ff79e3d now ÷ ff79e3d then). BENCH_REFERENCE names another ref, or '' for none.
// After the load, and after every figure, Hearth's audit journal (ADR 0016) is let expand before the
// next is measured (the time after the load is printed): that work belongs to what recorded it.
// Also printed: Hearth's rotating read / pgbench -S tps (goal >= 0.35).
//   --peer URL | BENCH_PEER                    the peer's FHIR base, e.g. http://127.0.0.1:8103/fhir/R4
//   --peer-token TOKEN | BENCH_PEER_TOKEN      sent to the peer as Authorization: Bearer TOKEN
//   --peer-pid N | BENCH_PEER_PID              the peer's server process, for its peak RSS
//   --peer-database-url URL | BENCH_PEER_DATABASE_URL  the peer's database, for BENCH_VACUUM=1
//   BENCH_BASE           a running Hearth instead of starting one (its database is left as it is;
//                        BENCH_DATABASE_URL names it for BENCH_VACUUM, BENCH_HEARTH_PID its process)
//   BENCH_DATABASE_URL   default postgresql://postgres@127.0.0.1:5432/hearth_bench_peer (dropped and
//                        recreated when this run starts Hearth);  BENCH_PORT default 18197
//   BENCH_BUNDLES default 1200 (61,200 resources);  BENCH_C1_BUNDLES default 100
//   BENCH_EXTRA_PATIENTS default 15000;  BENCH_RARE default 20
//   BENCH_RUNS default 3;  BENCH_SECONDS default 10 (per figure, run and server)
//   BENCH_VACUUM=1 as above
//   BENCH_PGBENCH_DB default pgbench_cal;  BENCH_PGBENCH_SECONDS default 10 (0 skips the calibration)
//   BENCH_ADMIN_URL default postgresql://postgres@127.0.0.1:5432/postgres (the server pgbench and
//                        the database drop use)
// Loopback only.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { benchPatient } from './patients.js';
import { addExtraPatients, addRareObservations, COMMON_CODE, envCount, idFromLocation, median, RARE_CODE } from './population.js';
import { drainJournal, inParallel, prepareBuild, runAutocannon, startBenchServer } from './support.js';
import { WORKLOAD_SEED, workloadBundles } from './workload.js';

// ---- settings ---------------------------------------------------------------------------------

const FLAGS = ['--peer', '--peer-token', '--peer-pid', '--peer-database-url'];
const argv = process.argv.slice(2);
for (const a of argv) {
  if (a.startsWith('--') && !FLAGS.includes(a.split('=')[0])) throw new Error(`unknown flag ${a} (known: ${FLAGS.join(', ')})`);
}
function flag(name: string): string | undefined {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  if (argv[i].includes('=')) return argv[i].slice(name.length + 1);
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

const peerBase = (flag('--peer') ?? process.env.BENCH_PEER)?.replace(/\/+$/, '') || undefined;
const peerToken = flag('--peer-token') ?? process.env.BENCH_PEER_TOKEN;
const peerPid = Number(flag('--peer-pid') ?? process.env.BENCH_PEER_PID) || undefined;
const peerDatabaseUrl = flag('--peer-database-url') ?? process.env.BENCH_PEER_DATABASE_URL;
const adminUrl = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const runningHearth = Boolean(process.env.BENCH_BASE);
const databaseUrl = process.env.BENCH_DATABASE_URL ?? (runningHearth ? undefined : withDatabase(adminUrl, 'hearth_bench_peer'));
const port = envCount('BENCH_PORT', 18197);
const bundles = envCount('BENCH_BUNDLES', 1200);
const c1Bundles = envCount('BENCH_C1_BUNDLES', 100);
const extraCount = envCount('BENCH_EXTRA_PATIENTS', 15000);
const rareCount = envCount('BENCH_RARE', 20);
const runs = Math.max(1, envCount('BENCH_RUNS', 3));
const seconds = envCount('BENCH_SECONDS', 10);
const vacuum = process.env.BENCH_VACUUM === '1';
const pgbenchDb = process.env.BENCH_PGBENCH_DB ?? 'pgbench_cal';
const pgbenchSeconds = envCount('BENCH_PGBENCH_SECONDS', 10);

/** Medplum's figures recorded in issue 14 (after ANALYZE), req/s unless noted. */
const RECORDED_DATE = '2026-12-04';
const RECORDED: Record<string, number> = {
  'ingest-c8': 287, 'ingest-c1': 183, 'create': 168, 'update': 172, 'read-hot': 1411, 'read-rotating': 1176,
  S1: 290, S2: 580, S3: 285, S4: 196, S5: 303,
};
/** The same, after VACUUM (issue 14's second search table). */
const RECORDED_VACUUMED: Record<string, number> = { S1: 362, S2: 281, S3: 231, S4: 168, S5: 278 };
/**
 * The Hearth build measured beside Medplum in that hour (the issue's Hearth column; main at the
 * time) and its figures. Run again here, it calibrates the recorded Medplum figures by a server of
 * the same kind on the same workload: Medplum × (reference now ÷ reference then). pgbench -S,
 * which costs PostgreSQL alone, moves with the machine differently from a Node server.
 */
const REFERENCE_REF = 'ff79e3d';
const RECORDED_REFERENCE: Record<string, number> = {
  'ingest-c8': 2309, 'ingest-c1': 1829, 'create': 474, 'update': 542, 'read-hot': 1735, 'read-rotating': 1603,
  S1: 320, S2: 492, S3: 486, S4: 195, S5: 85,
};
const RECORDED_REFERENCE_VACUUMED: Record<string, number> = { S1: 947, S2: 914, S3: 485, S4: 455, S5: 586 };
/** BENCH_REFERENCE: another ref for the reference build, or empty for none. */
const referenceRef = process.env.BENCH_REFERENCE ?? REFERENCE_REF;
/** The pgbench -S tps of the machine the recorded figures were taken on. */
const RECORDED_PGBENCH_TPS = 16_000;
const READ_GOAL = 0.35;

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

// ---- servers and their content ------------------------------------------------------------------

interface Target {
  label: 'Hearth' | 'peer' | 'reference';
  base: string;
  path: string;
  headers: Record<string, string>;
  pid?: number;
  databaseUrl?: string;
  /** Workload patients, in bundle order (the concurrency-8 set, then the concurrency-1 slice). */
  patients: string[];
  encounters: string[];
  /** Patients without clinical data. */
  extras: string[];
  /** benchPatient's number for the next create or update body. */
  next: number;
}

function target(label: Target['label'], base: string, headers: Record<string, string>, pid?: number, db?: string): Target {
  return { label, base, path: new URL(base).pathname, headers, pid, databaseUrl: db, patients: [], encounters: [], extras: [], next: extraCount };
}

const JSON_CONTENT = { 'content-type': 'application/fhir+json' };

interface Ingest {
  resources: number;
  seconds: number;
  perSecond: number;
}

/**
 * POSTs the transaction bundles to `t.base`, `concurrency` at a time, and records the Patient and
 * Encounter ids by bundle. Any failure ends the run: both servers must hold the same content.
 */
async function ingest(t: Target, bodies: string[], concurrency: number): Promise<Ingest> {
  const patients: string[] = new Array(bodies.length);
  const encounters: string[][] = new Array(bodies.length);
  let resources = 0;
  const started = performance.now();
  await inParallel(bodies.keys(), concurrency, async (b) => {
    const res = await fetch(t.base, { method: 'POST', headers: { ...JSON_CONTENT, ...t.headers }, body: bodies[b] });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${t.label}: POST transaction: ${res.status} ${text.slice(0, 500)}`);
    const entries = (JSON.parse(text) as { entry?: { response?: { status?: string; location?: string } }[] }).entry ?? [];
    encounters[b] = [];
    for (const e of entries) {
      if (!e.response?.status?.startsWith('2')) throw new Error(`${t.label}: transaction entry: ${JSON.stringify(e).slice(0, 500)}`);
      const location = e.response.location ?? '';
      if (/(?:^|\/)Patient\//.test(location)) patients[b] = idFromLocation(location, 'Patient');
      else if (/(?:^|\/)Encounter\//.test(location)) encounters[b].push(idFromLocation(location, 'Encounter'));
    }
    resources += entries.length;
  });
  const elapsed = (performance.now() - started) / 1000;
  if (patients.some((p) => !p)) throw new Error(`${t.label}: a transaction response named no Patient location`);
  t.patients.push(...patients);
  t.encounters.push(...encounters.flat());
  return { resources, seconds: elapsed, perSecond: resources / elapsed };
}

/** The extra patients and the rare-code Observations. */
async function populate(t: Target): Promise<void> {
  t.extras = await addExtraPatients(t.base, extraCount, { headers: t.headers });
  await addRareObservations(t.base, t.patients, rareCount, { headers: t.headers });
}

/** `total` of `[base]/<query>&_summary=count`, to show both servers hold the same content. */
async function countOf(t: Target, query: string): Promise<number | undefined> {
  const res = await fetch(`${t.base}/${query}${query.includes('?') ? '&' : '?'}_summary=count`, { headers: t.headers });
  if (!res.ok) return undefined;
  return ((await res.json()) as { total?: number }).total;
}

async function describeContent(targets: Target[]): Promise<void> {
  const queries = ['Patient', 'Encounter', 'Observation', `Observation?code=${RARE_CODE}`];
  const counts = await Promise.all(targets.map(async (t) => Promise.all(queries.map((q) => countOf(t, q)))));
  for (const [i, t] of targets.entries()) {
    console.log(`${t.label} holds ${queries.map((q, k) => `${counts[i][k] ?? '?'} ${q}`).join(', ')}; ${t.patients.length} workload patients, ${t.encounters.length} encounters, ${t.extras.length} without clinical data`);
  }
  if (counts.length > 1 && JSON.stringify(counts[0]) !== JSON.stringify(counts[1])) console.log('WARNING: the servers report different counts');
}

/** Audit journal entries Hearth has still to expand (ADR 0016), when its database is known. */
async function journalBacklog(url: string | undefined): Promise<number | undefined> {
  if (!url) return undefined;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    if (!(await client.query("SELECT to_regclass('audit_journal') IS NOT NULL AS present")).rows[0].present) return undefined;
    return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_journal')).rows[0].n;
  } finally {
    await client.end();
  }
}

async function vacuumAnalyze(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

/** Peak resident set (VmHWM) of a process in MB, or undefined when it cannot be read. */
function peakRssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

// ---- calibration ----------------------------------------------------------------------------------

function pgEnvironment(): NodeJS.ProcessEnv {
  const u = new URL(adminUrl);
  return {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username) || 'postgres',
    ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}),
  };
}

/** Creates and initialises the scale-10 pgbench database when it is missing. */
async function ensurePgbenchDatabase(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    if (!(await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [pgbenchDb])).rowCount) await admin.query(`CREATE DATABASE ${quote(pgbenchDb)}`);
  } finally {
    await admin.end();
  }
  const db = new pg.Client({ connectionString: withDatabase(adminUrl, pgbenchDb) });
  await db.connect();
  let branches: number | undefined;
  try {
    if ((await db.query("SELECT to_regclass('pgbench_branches') IS NOT NULL AS present")).rows[0].present) {
      branches = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pgbench_branches')).rows[0].n;
    }
  } finally {
    await db.end();
  }
  if (branches === 10) return;
  if (branches !== undefined) throw new Error(`${pgbenchDb} holds a pgbench database of scale ${branches}, not 10: drop it or name another with BENCH_PGBENCH_DB`);
  console.error(`initialising ${pgbenchDb} (pgbench -i -s 10 -q)`);
  execFileSync('pgbench', ['-i', '-s', '10', '-q', pgbenchDb], { env: pgEnvironment(), stdio: ['ignore', 'ignore', 'inherit'] });
}

/** pgbench -S tps (select only, 32 clients, 2 threads). */
function pgbenchTps(): number {
  const out = execFileSync('pgbench', ['-S', '-c', '32', '-j', '2', '-T', String(pgbenchSeconds), pgbenchDb], {
    env: pgEnvironment(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tps = /tps = ([\d.]+) \((?:without|excluding)/.exec(out) ?? /tps = ([\d.]+)/.exec(out);
  if (!tps) throw new Error(`no tps in pgbench's output: ${out}`);
  return Number(tps[1]);
}

// ---- measuring ------------------------------------------------------------------------------------

interface Shape {
  key: string;
  name: string;
  connections: number;
  request(t: Target): { method: 'GET' | 'POST' | 'PUT'; path: string; body?: string };
}

interface Sample {
  rps: number;
  p99: number;
  non2xx: number;
  errors: number;
}

const pick = (ids: string[]) => ids[Math.floor(Math.random() * ids.length)];
const get = (path: string) => ({ method: 'GET' as const, path });
const rareCode = RARE_CODE.split('|')[1];

const READS: Shape[] = [
  { key: 'read-hot', name: 'read Patient/{id}, one hot id', connections: 32, request: (t) => get(`Patient/${t.patients[0]}`) },
  { key: 'read-rotating', name: 'read Patient/{id}, rotating ids', connections: 32, request: (t) => get(`Patient/${Math.random() * (t.patients.length + t.extras.length) < t.patients.length ? pick(t.patients) : pick(t.extras)}`) },
];

const SEARCHES: Shape[] = [
  { key: 'S1', name: 'S1 Patient?name=Smith', connections: 8, request: () => get('Patient?name=Smith') },
  { key: 'S2', name: 'S2 Observation?patient=X&code=8867-4&_sort=-date&_count=20', connections: 8, request: (t) => get(`Observation?patient=${pick(t.patients)}&code=${COMMON_CODE}&_sort=-date&_count=20`) },
  { key: 'S3', name: 'S3 Observation?code=8867-4&value-quantity=gt100', connections: 8, request: () => get(`Observation?code=${COMMON_CODE}&value-quantity=gt100`) },
  { key: 'S4', name: 'S4 Encounter?patient=X&_revinclude=Observation:encounter', connections: 8, request: (t) => get(`Encounter?patient=${pick(t.patients)}&_revinclude=Observation:encounter`) },
  { key: 'S5', name: 'S5 Patient?_has:Observation:patient:code=8867-4', connections: 8, request: () => get('Patient?_has:Observation:patient:code=8867-4') },
  ...(extraCount
    ? [{ key: 'S2r', name: 'S2r S2 with X a patient without clinical data', connections: 8, request: (t: Target) => get(`Observation?patient=${pick(t.extras)}&code=${COMMON_CODE}&_sort=-date&_count=20`) }]
    : []),
  ...(rareCount
    ? [
        { key: 'S6', name: 'S6 Observation?code=99999-9 (rare)', connections: 8, request: () => get(`Observation?code=${RARE_CODE}`) },
        { key: 'S5r', name: 'S5r Patient?_has:Observation:patient:code=99999-9', connections: 8, request: () => get(`Patient?_has:Observation:patient:code=${rareCode}`) },
      ]
    : []),
];

const WRITES: Shape[] = [
  { key: 'create', name: 'create Patient', connections: 32, request: (t) => ({ method: 'POST', path: 'Patient', body: benchPatient(t.next++) }) },
  {
    key: 'update',
    name: 'update Patient/{id} (PUT, extra patients)',
    connections: 32,
    request: (t) => {
      const id = pick(t.extras.length ? t.extras : t.patients);
      return { method: 'PUT', path: `Patient/${id}`, body: benchPatient(t.next++, id) };
    },
  },
];

async function sample(t: Target, shape: Shape): Promise<Sample> {
  let failure: string | undefined;
  const row = await runAutocannon(`${t.label} ${shape.name}`, {
    url: t.base,
    connections: shape.connections,
    duration: seconds,
    headers: t.headers,
    requests: [{
      setupRequest: (req) => {
        const { method, path, body } = shape.request(t);
        return { ...req, method, path: `${t.path}/${path}`, headers: { ...req.headers, ...t.headers, ...(body ? JSON_CONTENT : {}) }, ...(body ? { body } : {}) };
      },
      onResponse: (status, body) => {
        if ((status < 200 || status > 299) && !failure) failure = `${status} ${String(body).slice(0, 300)}`;
      },
    }],
  });
  if (row.non2xx || row.errors) {
    console.log(`  ERROR ${t.label} ${shape.name}: ${row.non2xx} responses outside 2xx, ${row.errors} connection errors/timeouts${failure ? `; first: ${failure}` : ''}`);
  }
  return { rps: row.rps, p99: row.p99, non2xx: row.non2xx, errors: row.errors };
}

type Samples = Map<string, Map<Target['label'], Sample[]>>;

/** BENCH_RUNS runs of every shape on every target; the first target alternates per run. */
async function measure(group: string, shapes: Shape[], targets: Target[]): Promise<Samples> {
  const samples: Samples = new Map(shapes.map((s) => [s.key, new Map()]));
  for (let run = 1; run <= runs; run++) {
    const order = run % 2 ? targets : [...targets].reverse();
    for (const shape of shapes) {
      for (const t of order) {
        const s = await sample(t, shape);
        // Hearth expands the shape's audit journal entries after it (ADR 0016): let that finish
        // here, so that the next figure is not taken under this one's deferred work.
        if (t.label !== 'peer' && t.databaseUrl) await drainJournal(t.databaseUrl);
        const list = samples.get(shape.key)!.get(t.label) ?? [];
        list.push(s);
        samples.get(shape.key)!.set(t.label, list);
        process.stderr.write(`${group}, run ${run}/${runs}: ${t.label} ${shape.name}: ${s.rps} req/s, p99 ${s.p99} ms\n`);
      }
    }
  }
  return samples;
}

// ---- reporting ------------------------------------------------------------------------------------

interface Calibration {
  start?: number;
  end?: number;
}

const meanTps = (c: Calibration) => (c.start && c.end ? (c.start + c.end) / 2 : (c.start ?? c.end));

const fmt = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? `${(a / b).toFixed(2)}` : '–');

/** Recorded Medplum figures, and what they are scaled by (undefined: not scaled). */
interface Scales {
  /** This run's pgbench -S tps ÷ the recorded run's. */
  pgbench?: number;
  /** Whether the reference build ran: Medplum × (reference now ÷ reference recorded), per figure. */
  reference: boolean;
}

interface Row {
  name: string;
  /** Median req/s (resources/s for ingest) and p99 ms per target. */
  rps: Map<Target['label'], number>;
  p99: Map<Target['label'], number>;
  /** The recorded Medplum figure and the reference build's recorded figure for this row. */
  medplum?: number;
  referenceThen?: number;
  note?: string;
}

function printRows(title: string, rows: Row[], labels: Target['label'][], scales: Scales): void {
  const hasPeer = labels.includes('peer');
  const heads = ['figure', 'Hearth', 'Hearth p99 ms'];
  if (hasPeer) heads.push('peer', 'peer p99 ms', 'Hearth ÷ peer');
  if (scales.reference) heads.push(`${REFERENCE_REF} now`, `Medplum × ${REFERENCE_REF} now/then`, 'Hearth ÷ that');
  if (scales.pgbench !== undefined) heads.push('Medplum × pgbench now/then', 'Hearth ÷ that');
  console.log(`\n${title}`);
  console.log(`| ${heads.join(' | ')} |`);
  console.log(`|${heads.map(() => '---').join('|')}|`);
  for (const r of rows) {
    const hearth = r.rps.get('Hearth');
    const cells = [`${r.name}${r.note ? ` (${r.note})` : ''}`, fmt(hearth), fmt(r.p99.get('Hearth'))];
    if (hasPeer) cells.push(fmt(r.rps.get('peer')), fmt(r.p99.get('peer')), ratio(hearth, r.rps.get('peer')));
    if (scales.reference) {
      const now = r.rps.get('reference');
      const scaled = r.medplum !== undefined && now !== undefined && r.referenceThen ? (r.medplum * now) / r.referenceThen : undefined;
      cells.push(fmt(now), fmt(scaled), ratio(hearth, scaled));
    }
    if (scales.pgbench !== undefined) {
      const scaled = r.medplum === undefined ? undefined : r.medplum * scales.pgbench;
      cells.push(fmt(scaled), ratio(hearth, scaled));
    }
    console.log(`| ${cells.join(' | ')} |`);
  }
}

/** Table rows from samples: medians per target, beside the recorded figures. */
function rowsOf(shapes: Shape[], samples: Samples, labels: Target['label'][], vacuumed = false): Row[] {
  return shapes.map((shape) => {
    const rps = new Map<Target['label'], number>();
    const p99 = new Map<Target['label'], number>();
    const failures: string[] = [];
    for (const label of labels) {
      const list = samples.get(shape.key)?.get(label) ?? [];
      if (!list.length) continue;
      rps.set(label, median(list.map((s) => s.rps)));
      p99.set(label, median(list.map((s) => s.p99)));
      const n = list.reduce((sum, s) => sum + s.non2xx + s.errors, 0);
      if (n) failures.push(`${label}: ${n} errors`);
    }
    return {
      name: shape.name,
      rps,
      p99,
      medplum: (vacuumed ? RECORDED_VACUUMED : RECORDED)[shape.key],
      referenceThen: (vacuumed ? RECORDED_REFERENCE_VACUUMED : RECORDED_REFERENCE)[shape.key],
      note: failures.join(', ') || undefined,
    };
  });
}

// ---- main -----------------------------------------------------------------------------------------

async function recreateHearthDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  try {
    const name = quote(decodeURIComponent(new URL(url).pathname.slice(1)));
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

async function main(): Promise<void> {
  const calibration: Calibration = {};
  if (pgbenchSeconds) {
    await ensurePgbenchDatabase();
    calibration.start = pgbenchTps();
    console.log(`calibration (start): pgbench -S -c 32 -j 2 -T ${pgbenchSeconds} on ${pgbenchDb}: ${fmt(calibration.start)} tps`);
  }

  const peerHeaders: Record<string, string> = peerToken ? { authorization: `Bearer ${peerToken}` } : {};
  if (peerBase) {
    const res = await fetch(`${peerBase}/metadata`, { headers: peerHeaders }).catch((error: unknown) => {
      throw new Error(`the peer at ${peerBase} does not answer: ${String(error)}`);
    });
    if (!res.ok) throw new Error(`the peer's ${peerBase}/metadata answered ${res.status}`);
  }

  if (!runningHearth) await recreateHearthDatabase(databaseUrl!);
  const server = await startBenchServer(databaseUrl ?? '', port);
  // The reference build (the Hearth of the recorded run), on its own database, when asked for.
  const reference = referenceRef ? prepareBuild(referenceRef) : undefined;
  const referenceDb = reference ? withDatabase(adminUrl, 'hearth_bench_peer_reference') : undefined;
  if (referenceDb) await recreateHearthDatabase(referenceDb);
  const referenceServer = reference ? await startBenchServer(referenceDb!, port + 1, { cwd: reference.dir }) : undefined;
  try {
    const hearth = target('Hearth', server.base, {}, server.pid ?? (Number(process.env.BENCH_HEARTH_PID) || undefined), databaseUrl);
    const targets = [
      hearth,
      ...(peerBase ? [target('peer', peerBase, peerHeaders, peerPid, peerDatabaseUrl)] : []),
      ...(referenceServer ? [target('reference', referenceServer.base, {}, referenceServer.pid, referenceDb)] : []),
    ];
    const labels = targets.map((t) => t.label);
    const hasPeer = labels.includes('peer');
    console.log(`bench:peer — Hearth ${hearth.base}${hasPeer ? `, peer ${peerBase}` : ', no peer'}${reference ? `, reference build ${reference.sha}` : ''}; ${bundles} + ${c1Bundles} bundles, ${extraCount} patients without clinical data, ${rareCount} rare-code Observations; ${runs} run(s) of ${seconds} s per figure`);

    // 1. ingest: the full set at concurrency 8, then a new slice at concurrency 1.
    const main8 = Array.from(workloadBundles(bundles), (b) => JSON.stringify(b));
    const slice1 = Array.from(workloadBundles(c1Bundles, WORKLOAD_SEED + 1), (b) => JSON.stringify(b));
    const ingest8 = new Map<Target['label'], Ingest>();
    const ingest1 = new Map<Target['label'], Ingest>();
    for (const t of targets) {
      ingest8.set(t.label, await ingest(t, main8, 8));
      process.stderr.write(`${t.label}: ingested ${bundles} bundles at concurrency 8: ${fmt(ingest8.get(t.label)!.perSecond)} resources/s\n`);
    }
    for (const t of [...targets].reverse()) {
      if (!c1Bundles) continue;
      ingest1.set(t.label, await ingest(t, slice1, 1));
      process.stderr.write(`${t.label}: ingested ${c1Bundles} bundles at concurrency 1: ${fmt(ingest1.get(t.label)!.perSecond)} resources/s\n`);
    }

    // 2. the realistic population; then Hearth's deferred audit work (the journal's expansion,
    // ADR 0016) is let finish, and its duration reported: it belongs to the load, and measured
    // under it the first figures would be the expansion's, not the searches'.
    for (const t of targets) await populate(t);
    await describeContent(targets);
    const backlog = await journalBacklog(hearth.databaseUrl);
    if (backlog && hearth.databaseUrl) {
      const drained = await drainJournal(hearth.databaseUrl);
      console.log(`Hearth's audit journal held ${backlog} entries after the load; expanded in ${drained?.seconds.toFixed(1) ?? '?'} s before the measurements (ADR 0016)`);
    }

    // 3. reads and searches on equal content, [VACUUM ANALYZE and searches again], then writes.
    const readsAndSearches = await measure('reads and searches', [...READS, ...SEARCHES], targets);
    let vacuumed: { samples: Samples; which: string } | undefined;
    if (vacuum) {
      const tidied = targets.filter((t) => t.databaseUrl);
      for (const t of tidied) await vacuumAnalyze(t.databaseUrl!);
      vacuumed = { samples: await measure('searches after VACUUM ANALYZE', SEARCHES, targets), which: tidied.map((t) => t.label).join(' and ') };
    }
    const writes = await measure('writes', WRITES, targets);

    const rss = new Map(targets.map((t) => [t.label, peakRssMb(t.pid)]));
    if (pgbenchSeconds) {
      calibration.end = pgbenchTps();
      console.log(`calibration (end): ${fmt(calibration.end)} tps`);
    }

    // 4. the report.
    const tps = meanTps(calibration);
    const scales: Scales = { pgbench: tps ? tps / RECORDED_PGBENCH_TPS : undefined, reference: Boolean(reference) };
    console.log(`\nbench:peer — ${bundles} workload bundles (${bundles * 51} resources) + ${c1Bundles} at concurrency 1, ${extraCount} patients without clinical data, ${rareCount} Observations of ${RARE_CODE}; median of ${runs} interleaved run(s), ${seconds} s each; searches right after the load (no VACUUM or ANALYZE)`);
    console.log(`Medplum: its figures recorded on ${RECORDED_DATE} (issue 14), scaled two ways: by the reference build ${REFERENCE_REF} (the Hearth measured beside it then) run again now, per figure; and by pgbench -S.`);
    if (tps) console.log(`pgbench -S tps: start ${fmt(calibration.start)}, end ${fmt(calibration.end)}; then ${fmt(RECORDED_PGBENCH_TPS)}; factor ${scales.pgbench!.toFixed(2)}`);
    const ingestRow = (name: string, key: string, results: Map<Target['label'], Ingest>): Row => ({
      name,
      rps: new Map([...results].map(([label, r]) => [label, r.perSecond])),
      p99: new Map(),
      medplum: RECORDED[key],
      referenceThen: RECORDED_REFERENCE[key],
    });
    printRows('Ingest (resources/s)', [
      ingestRow(`ingest, concurrency 8 (${bundles} transaction bundles)`, 'ingest-c8', ingest8),
      ...(c1Bundles ? [ingestRow(`ingest, concurrency 1 (${c1Bundles} transaction bundles)`, 'ingest-c1', ingest1)] : []),
    ], labels, scales);
    printRows('Reads and searches (req/s), as loaded', rowsOf([...READS, ...SEARCHES], readsAndSearches, labels), labels, scales);
    if (vacuumed) printRows(`Searches (req/s) after VACUUM ANALYZE of ${vacuumed.which}`, rowsOf(SEARCHES, vacuumed.samples, labels, true), labels, scales);
    printRows('Writes (req/s), after the searches', rowsOf(WRITES, writes, labels), labels, scales);

    console.log(`\n| peak RSS (VmHWM) | ${labels.join(' | ')} |`);
    console.log(`|---|${labels.map(() => '---').join('|')}|`);
    console.log(`| MB | ${labels.map((l) => fmt(rss.get(l)) + (l === 'peer' && !peerPid ? ' (no --peer-pid)' : '')).join(' | ')} |`);

    const rotating = readsAndSearches.get('read-rotating')?.get('Hearth');
    if (tps && rotating?.length) {
      const share = median(rotating.map((s) => s.rps)) / tps;
      console.log(`\nHearth rotating read / pgbench -S tps = ${share.toFixed(2)} (goal >= ${READ_GOAL}${share >= READ_GOAL ? ', met' : ', not met'})`);
    }
  } finally {
    await server.stop();
    await referenceServer?.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
