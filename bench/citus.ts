// npm run bench:citus — Hearth on single-node PostgreSQL beside Hearth on a Citus cluster, on the
// same machine and in the same run, interleaved (issue 15, ADR 0024).
//
// Starts two Hearth servers (built: npm run build), each in its own process: one on a single-node
// database dropped and recreated for the run, one on a database of a Citus coordinator, used as it
// is (it cannot be recreated from here: the workers hold their own copies). The Citus database is
// migrated first with `hearth migrate`, which distributes the schema (minutes on a fresh database).
// Each run creates its own tenants, the same ids on both servers (suffixed with the run's start
// time, so a Citus database can be reused), with the same content:
//   1. one tenant    the shared workload (bench/workload.ts, seed 42): BENCH_BUNDLES transaction
//                    bundles of 51 resources POSTed 8 at a time (the ingest figure, resources/s,
//                    taken once per server: single-node first), Patient ids taken from the
//                    transaction responses; then read Patient/{id}, one hot id and rotating ids
//                    (32 connections), and the searches (8 connections) S1 Patient?name=Smith;
//                    S2 Observation?patient=X&code=8867-4&_sort=-date&_count=20; S3 Observation?
//                    code=8867-4&value-quantity=gt100; S4 Encounter?patient=X&_revinclude=
//                    Observation:encounter; S5 Patient?_has:Observation:patient:code=8867-4
//                    (X rotating over the tenant's patients; the shapes of bench:peer)
//   2. two tenants   two more tenants whose shards Citus places on different workers (the second
//                    id is tried with -0, -1, ... until citus_shards puts it apart from the first);
//                    the workload loaded into both at once, 8 bundles in flight each (the figure:
//                    both tenants' resources over the wall time, taken once per server: Citus
//                    first); then rotating reads and S1–S5 with the load split across the tenants:
//                    two autocannon runs at once, one per tenant, each with half the connections
//                    (req/s summed, p99 the larger of the two)
// Reads and searches: BENCH_RUNS runs, each figure taken on both servers in turn, which goes first
// alternating per run; the tables report the median req/s and p99. After each load and after every
// figure the server's audit journal (ADR 0016) is let expand before the next figure is taken.
// No VACUUM or ANALYZE: searches run right after the load, on both servers alike.
//   CITUS_DATABASE_URL   required: a database on a Citus coordinator, with at least two workers added
//                        and the citus extension created on every node (docs/scaling.md)
//   BENCH_DATABASE_URL   default postgresql://postgres@127.0.0.1:5432/hearth_bench_single (dropped
//                        and recreated)
//   BENCH_BUNDLES default 600 (30,600 resources per tenant);  BENCH_RUNS default 3
//   BENCH_SECONDS default 10 (per figure, run and server)
//   BENCH_PORT default 18301 (the single-node server; the Citus one on BENCH_PORT + 1)
// Loopback only.
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { createTenant } from '../src/storage/pg/tenant-admin.js';
import { COMMON_CODE, envCount, idFromLocation, median } from './population.js';
import { drainJournal, inParallel, runAutocannon, startBenchServer, type BenchServer } from './support.js';
import { workloadBundles } from './workload.js';

// ---- settings ---------------------------------------------------------------------------------

const citusUrl = process.env.CITUS_DATABASE_URL;
const singleUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/hearth_bench_single';
const bundles = envCount('BENCH_BUNDLES', 600);
const runs = Math.max(1, envCount('BENCH_RUNS', 3));
const seconds = Math.max(1, envCount('BENCH_SECONDS', 10));
const port = envCount('BENCH_PORT', 18301);
/** Transaction bundles in flight per tenant while loading. */
const INGEST_CONCURRENCY = 8;
/** Candidate ids tried for the second tenant before giving up on placing it on another worker. */
const PLACEMENT_TRIES = 64;

type Label = 'single-node' | 'Citus';
const LABELS: readonly Label[] = ['single-node', 'Citus'];

/** A URL with its password hidden, for printing. */
function redacted(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

// ---- servers and tenants ----------------------------------------------------------------------

interface Server {
  label: Label;
  databaseUrl: string;
  origin: string;
  process: BenchServer;
  /** The owner's connection, for creating tenants and (on Citus) asking where shards are. */
  pool: pg.Pool;
}

interface Tenant {
  id: string;
  base: string;
  /** The base's path, prefixed to every autocannon request. */
  path: string;
  /** Workload patients, in bundle order. */
  patients: string[];
}

async function recreateDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  const name = decodeURIComponent(admin.pathname.slice(1)).replace(/"/g, '""');
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/** The Citus database must be ready for distribution before a server migrates it. */
async function checkCitus(url: string): Promise<{ version: string; workers: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const ext = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'citus'");
    if (!ext.rowCount) throw new Error(`CITUS_DATABASE_URL: ${redacted(url)} has no citus extension (create it on every node and add the workers)`);
    const version = (await client.query<{ v: string }>('SELECT citus_version() AS v')).rows[0].v;
    const { rows } = await client.query<{ node: string }>("SELECT node_name || ':' || node_port AS node FROM citus_get_active_worker_nodes() ORDER BY 1");
    if (rows.length < 2) throw new Error(`CITUS_DATABASE_URL: the cluster has ${rows.length} active worker(s); the two-tenant part needs two`);
    return { version, workers: rows.map((r) => r.node) };
  } finally {
    await client.end();
  }
}

/**
 * `hearth migrate` on the database, untimed: on a fresh Citus database distributing the ~350
 * tables takes minutes (each becomes shards on every worker), longer than startBenchServer waits
 * for a server to become ready. The server's own migration at start then finds nothing to do.
 */
function migrateFirst(databaseUrl: string): number {
  const started = performance.now();
  execFileSync(process.execPath, ['dist/src/cli.js', 'migrate'], { env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  return (performance.now() - started) / 1000;
}

async function startServer(label: Label, databaseUrl: string, serverPort: number): Promise<Server> {
  const started = await startBenchServer(databaseUrl, serverPort);
  return { label, databaseUrl, origin: new URL(started.base).origin, process: started, pool: new pg.Pool({ connectionString: databaseUrl, max: 2 }) };
}

async function addTenant(server: Server, id: string): Promise<Tenant> {
  await createTenant(server.pool, { id, name: `bench:citus ${id}`, dedicatedPartition: false });
  const base = `${server.origin}/t/${id}/fhir`;
  return { id, base, path: new URL(base).pathname, patients: [] };
}

/** The Citus worker (host:port) holding the shard of `tenantId` (every tenant table is colocated with patient). */
async function workerOf(citus: Server, tenantId: string): Promise<string> {
  const { rows } = await citus.pool.query<{ nodename: string; nodeport: number }>(
    `SELECT nodename, nodeport FROM citus_shards
      WHERE table_name = 'patient'::regclass AND shardid = get_shard_id_for_distribution_column('patient', $1::text)`,
    [tenantId],
  );
  if (rows.length !== 1) throw new Error(`citus_shards names ${rows.length} placements for tenant ${tenantId}`);
  return `${rows[0].nodename}:${rows[0].nodeport}`;
}

interface Placement {
  ids: string[];
  workers: string[];
}

/** `${prefix}-a`, and the first of `${prefix}-b-0`, `${prefix}-b-1`, ... that Citus places on another worker. */
async function tenantsApart(citus: Server, prefix: string): Promise<Placement> {
  const first = `${prefix}-a`;
  const firstWorker = await workerOf(citus, first);
  for (let k = 0; k < PLACEMENT_TRIES; k++) {
    const candidate = `${prefix}-b-${k}`;
    const worker = await workerOf(citus, candidate);
    if (worker !== firstWorker) return { ids: [first, candidate], workers: [firstWorker, worker] };
  }
  throw new Error(`no tenant id out of ${PLACEMENT_TRIES} tried lands on a worker other than ${firstWorker}`);
}

// ---- loading ----------------------------------------------------------------------------------

const JSON_CONTENT = { 'content-type': 'application/fhir+json' };

/**
 * POSTs the transaction bundles to the tenant, `concurrency` at a time, and records its Patient
 * ids by bundle; the resources written. Any failure ends the run: both servers must hold the same
 * content.
 */
async function ingest(label: Label, tenant: Tenant, bodies: string[], concurrency: number): Promise<number> {
  const patients: string[] = new Array(bodies.length);
  let resources = 0;
  await inParallel(bodies.keys(), concurrency, async (b) => {
    const res = await fetch(tenant.base, { method: 'POST', headers: JSON_CONTENT, body: bodies[b] });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${label} ${tenant.id}: POST transaction: ${res.status} ${text.slice(0, 500)}`);
    const entries = (JSON.parse(text) as { entry?: { response?: { status?: string; location?: string } }[] }).entry ?? [];
    for (const e of entries) {
      if (!e.response?.status?.startsWith('2')) throw new Error(`${label} ${tenant.id}: transaction entry: ${JSON.stringify(e).slice(0, 500)}`);
      const location = e.response.location ?? '';
      if (/(?:^|\/)Patient\//.test(location)) patients[b] = idFromLocation(location, 'Patient');
    }
    resources += entries.length;
  });
  if (patients.some((p) => !p)) throw new Error(`${label} ${tenant.id}: a transaction response named no Patient location`);
  tenant.patients.push(...patients);
  return resources;
}

/**
 * Loads the workload into every tenant of one server at once; resources/s over them all. The
 * server's audit journal is then let expand: that work belongs to the load, not to what follows.
 */
async function load(server: Server, tenants: Tenant[], bodies: string[]): Promise<number> {
  const started = performance.now();
  const written = await Promise.all(tenants.map((t) => ingest(server.label, t, bodies, INGEST_CONCURRENCY)));
  const perSecond = written.reduce((a, b) => a + b, 0) / ((performance.now() - started) / 1000);
  const drained = await drainJournal(server.databaseUrl);
  process.stderr.write(`${server.label}: loaded ${tenants.map((t) => t.id).join(' + ')}: ${fmt(perSecond)} resources/s; audit journal expanded in ${drained?.seconds.toFixed(1) ?? '?'} s\n`);
  return perSecond;
}

/** `total` of `[base]/<type>?_summary=count`. */
async function countOf(tenant: Tenant, type: string): Promise<number | undefined> {
  const res = await fetch(`${tenant.base}/${type}?_summary=count`);
  return res.ok ? ((await res.json()) as { total?: number }).total : undefined;
}

/** Prints what each tenant holds on each server, and warns when the servers differ. */
async function describeContent(tenantsBy: Map<Label, Tenant[]>): Promise<void> {
  const types = ['Patient', 'Encounter', 'Observation', 'MedicationRequest'];
  const seen = new Map<Label, string>();
  for (const [label, tenants] of tenantsBy) {
    const lines = await Promise.all(tenants.map(async (t) => `${t.id}: ${(await Promise.all(types.map((type) => countOf(t, type)))).map((n, k) => `${n ?? '?'} ${types[k]}`).join(', ')}`));
    seen.set(label, lines.join('; '));
    console.log(`${label} holds ${lines.join('; ')}`);
  }
  if (new Set(seen.values()).size > 1) console.log('WARNING: the servers report different counts');
}

// ---- measuring --------------------------------------------------------------------------------

interface Shape {
  key: string;
  name: string;
  /** Connections in all; split evenly over the tenants measured at once. */
  connections: number;
  /** The request path under the tenant's base. */
  path(t: Tenant): string;
}

interface Sample {
  rps: number;
  p99: number;
  failures: number;
}

const pick = (ids: string[]) => ids[Math.floor(Math.random() * ids.length)];

const HOT_READ: Shape = { key: 'read-hot', name: 'read Patient/{id}, one hot id', connections: 32, path: (t) => `Patient/${t.patients[0]}` };
const ROTATING_READ: Shape = { key: 'read-rotating', name: 'read Patient/{id}, rotating ids', connections: 32, path: (t) => `Patient/${pick(t.patients)}` };

// The shapes of bench:peer (bench/peer-compare.ts), requested exactly as it does.
const SEARCHES: Shape[] = [
  { key: 'S1', name: 'S1 Patient?name=Smith', connections: 8, path: () => 'Patient?name=Smith' },
  { key: 'S2', name: 'S2 Observation?patient=X&code=8867-4&_sort=-date&_count=20', connections: 8, path: (t) => `Observation?patient=${pick(t.patients)}&code=${COMMON_CODE}&_sort=-date&_count=20` },
  { key: 'S3', name: 'S3 Observation?code=8867-4&value-quantity=gt100', connections: 8, path: () => `Observation?code=${COMMON_CODE}&value-quantity=gt100` },
  { key: 'S4', name: 'S4 Encounter?patient=X&_revinclude=Observation:encounter', connections: 8, path: (t) => `Encounter?patient=${pick(t.patients)}&_revinclude=Observation:encounter` },
  { key: 'S5', name: 'S5 Patient?_has:Observation:patient:code=8867-4', connections: 8, path: () => 'Patient?_has:Observation:patient:code=8867-4' },
];

/** One autocannon run on one tenant; a response outside 2xx counts as a failure, the first printed. */
async function sampleTenant(label: Label, tenant: Tenant, shape: Shape, connections: number): Promise<Sample> {
  let first: string | undefined;
  const row = await runAutocannon(`${label} ${tenant.id} ${shape.name}`, {
    url: tenant.base,
    connections,
    duration: seconds,
    requests: [{
      setupRequest: (req) => ({ ...req, method: 'GET', path: `${tenant.path}/${shape.path(tenant)}` }),
      onResponse: (status, body) => {
        if ((status < 200 || status > 299) && !first) first = `${status} ${String(body).slice(0, 300)}`;
      },
    }],
  });
  const failures = row.non2xx + row.errors;
  if (failures) console.log(`  ERROR ${label} ${tenant.id} ${shape.name}: ${row.non2xx} responses outside 2xx, ${row.errors} connection errors/timeouts${first ? `; first: ${first}` : ''}`);
  return { rps: row.rps, p99: row.p99, failures };
}

/** The shape on all of a server's tenants at once, its connections split between them. */
async function sample(label: Label, tenants: Tenant[], shape: Shape): Promise<Sample> {
  const each = Math.max(1, Math.floor(shape.connections / tenants.length));
  const parts = await Promise.all(tenants.map((t) => sampleTenant(label, t, shape, each)));
  return {
    rps: parts.reduce((sum, s) => sum + s.rps, 0),
    p99: Math.max(...parts.map((s) => s.p99)),
    failures: parts.reduce((sum, s) => sum + s.failures, 0),
  };
}

type Samples = Map<string, Map<Label, Sample[]>>;

/** BENCH_RUNS runs of every shape on both servers; which goes first alternates per run. */
async function measure(group: string, shapes: Shape[], servers: Server[], tenantsBy: Map<Label, Tenant[]>): Promise<Samples> {
  const samples: Samples = new Map(shapes.map((s) => [s.key, new Map()]));
  for (let run = 1; run <= runs; run++) {
    const order = run % 2 ? servers : [...servers].reverse();
    for (const shape of shapes) {
      for (const server of order) {
        const s = await sample(server.label, tenantsBy.get(server.label)!, shape);
        // The figure's deferred audit work (ADR 0016) is done before the next figure is taken.
        await drainJournal(server.databaseUrl);
        const byServer = samples.get(shape.key)!;
        byServer.set(server.label, [...(byServer.get(server.label) ?? []), s]);
        process.stderr.write(`${group}, run ${run}/${runs}: ${server.label} ${shape.name}: ${s.rps} req/s, p99 ${s.p99} ms\n`);
      }
    }
  }
  return samples;
}

// ---- reporting --------------------------------------------------------------------------------

const fmt = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

interface Row {
  name: string;
  value: Map<Label, number>;
  p99: Map<Label, number>;
  note?: string;
}

function printComparison(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  console.log('| figure | single-node | Citus | Citus ÷ single | single-node p99 ms | Citus p99 ms |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const single = r.value.get('single-node');
    const citus = r.value.get('Citus');
    const ratio = single && citus !== undefined ? (citus / single).toFixed(2) : '–';
    console.log(`| ${r.name}${r.note ? ` (${r.note})` : ''} | ${fmt(single)} | ${fmt(citus)} | ${ratio} | ${fmt(r.p99.get('single-node'))} | ${fmt(r.p99.get('Citus'))} |`);
  }
}

function ingestRow(name: string, perSecond: Map<Label, number>): Row {
  return { name, value: perSecond, p99: new Map() };
}

/** Median req/s and p99 per server, with the failures counted over all runs. */
function rowsOf(shapes: Shape[], samples: Samples): Row[] {
  return shapes.map((shape) => {
    const value = new Map<Label, number>();
    const p99 = new Map<Label, number>();
    const failures: string[] = [];
    for (const label of LABELS) {
      const list = samples.get(shape.key)?.get(label) ?? [];
      if (!list.length) continue;
      value.set(label, median(list.map((s) => s.rps)));
      p99.set(label, median(list.map((s) => s.p99)));
      const n = list.reduce((sum, s) => sum + s.failures, 0);
      if (n) failures.push(`${label}: ${n} errors`);
    }
    return { name: shape.name, value, p99, note: failures.join(', ') || undefined };
  });
}

// ---- main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!citusUrl) throw new Error('CITUS_DATABASE_URL is required: a database on a Citus coordinator, with the workers added and the citus extension on every node');
  // startBenchServer would hand back a running server for both: this script needs its own two.
  if (process.env.BENCH_BASE) throw new Error('bench:citus starts its own servers: unset BENCH_BASE');
  if (new URL(citusUrl).toString() === new URL(singleUrl).toString()) throw new Error('CITUS_DATABASE_URL and BENCH_DATABASE_URL name the same database');
  const cluster = await checkCitus(citusUrl);
  await recreateDatabase(singleUrl);
  process.stderr.write(`migrating the Citus database (distributes the schema the first time; minutes) ...\n`);
  process.stderr.write(`migrated in ${migrateFirst(citusUrl).toFixed(1)} s\n`);

  const servers: Server[] = [];
  try {
    servers.push(await startServer('single-node', singleUrl, port));
    servers.push(await startServer('Citus', citusUrl, port + 1));
    const [single, citus] = servers;

    // Tenant ids, all chosen (and placed) before anything is measured.
    const prefix = `bench-${Date.now().toString(36)}`;
    const oneId = `${prefix}-one`;
    const apart = await tenantsApart(citus, prefix);
    const oneWorker = await workerOf(citus, oneId);

    console.log(`bench:citus — Hearth on single-node PostgreSQL beside Hearth on Citus (issue 15), same machine, interleaved`);
    console.log(`command: CITUS_DATABASE_URL=${redacted(citusUrl)} BENCH_DATABASE_URL=${redacted(singleUrl)} BENCH_BUNDLES=${bundles} BENCH_RUNS=${runs} BENCH_SECONDS=${seconds} BENCH_PORT=${port} npm run bench:citus`);
    console.log(`servers: node dist/src/cli.js serve (HEARTH_AUTH=off, HEARTH_HOST=127.0.0.1, LOG_LEVEL=warn), single-node on ${single.origin}, Citus on ${citus.origin}`);
    console.log(`cluster: ${cluster.version.split(' on ')[0]}, workers ${cluster.workers.join(', ')}`);
    console.log(`workload: ${bundles} transaction bundles of 51 resources (seed 42) per tenant, ${INGEST_CONCURRENCY} in flight per tenant; ${runs} run(s) of ${seconds} s per figure and server; reads 32 connections, searches 8 (split evenly over the tenants in part 2)`);

    const bodies = Array.from(workloadBundles(bundles), (b) => JSON.stringify(b));

    // 1. One tenant.
    console.log(`\npart 1: tenant ${oneId} (on Citus: worker ${oneWorker})`);
    const one = new Map<Label, Tenant[]>();
    for (const server of servers) one.set(server.label, [await addTenant(server, oneId)]);
    const ingestOne = new Map<Label, number>();
    for (const server of servers) ingestOne.set(server.label, await load(server, one.get(server.label)!, bodies));
    await describeContent(one);
    const partOneShapes = [HOT_READ, ROTATING_READ, ...SEARCHES];
    const partOne = await measure('one tenant', partOneShapes, servers, one);
    printComparison(`Part 1 — one tenant (ingest in resources/s, once per server, single-node first; reads and searches in req/s, median of ${runs})`, [
      ingestRow(`ingest, concurrency ${INGEST_CONCURRENCY} (${bundles} transaction bundles)`, ingestOne),
      ...rowsOf(partOneShapes, partOne),
    ]);

    // 2. Two tenants on different workers (the same ids on the single-node server).
    console.log(`\npart 2: tenants ${apart.ids.map((id, k) => `${id} (on Citus: worker ${apart.workers[k]})`).join(' and ')}`);
    const two = new Map<Label, Tenant[]>();
    for (const server of servers) two.set(server.label, await Promise.all(apart.ids.map((id) => addTenant(server, id))));
    const ingestTwo = new Map<Label, number>();
    for (const server of [...servers].reverse()) ingestTwo.set(server.label, await load(server, two.get(server.label)!, bodies));
    await describeContent(two);
    const partTwoShapes = [ROTATING_READ, ...SEARCHES];
    const partTwo = await measure('two tenants', partTwoShapes, servers, two);
    printComparison(`Part 2 — two tenants, on Citus workers ${apart.workers.join(' and ')} (ingest: both at once, combined resources/s, once per server, Citus first; reads and searches: one autocannon per tenant at once, half the connections each, req/s summed, p99 the larger, median of ${runs})`, [
      ingestRow(`ingest, both tenants at once, concurrency ${INGEST_CONCURRENCY} each (${bundles} bundles each)`, ingestTwo),
      ...rowsOf(partTwoShapes, partTwo),
    ]);
    console.log(`\nplacement on Citus: ${oneId} → ${oneWorker}; ${apart.ids.map((id, k) => `${id} → ${apart.workers[k]}`).join('; ')}`);
  } finally {
    for (const server of servers) {
      await server.process.stop();
      await server.pool.end();
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
