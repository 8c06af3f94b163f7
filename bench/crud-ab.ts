// npm run bench:crud-ab — single writes and reads of two (or more) builds side by side, in one
// run, alternated, each round on a fresh database: the only fair comparison on a machine whose
// speed drifts two- to threefold between days (docs/benchmarks.md).
//
// Each build is a git ref exported with `git archive` into bench-builds/<sha> (ignored by git),
// installed with `npm ci` and built once. Per round and build: a fresh database, the server
// started from that build, BENCH_SEED patients, then create, update and read by id with
// autocannon. Besides req/s and latency it reports CPU milliseconds per request of the server
// process and of the database backends serving it (from /proc), which drift far less than
// throughput when the machine is shared. After each shape it waits for the audit journal to be
// expanded (ADR 0016) and counts that CPU with the shape's.
//   BENCH_REFS         default 0f63135,HEAD (the foundation build against this checkout);
//                      '.' is the working tree as built, uncommitted changes included
//   BENCH_ROUNDS       default 2;  BENCH_CONNECTIONS default 32;  BENCH_SECONDS default 10
//   BENCH_ONLY         a regex of the shapes to run (create|update|read)
//   BENCH_SEED         default 2000;  BENCH_ADMIN_URL default postgresql://postgres@127.0.0.1:5432/postgres
//   BENCH_VARIANTS     settings compared for every build, e.g. 'audit-off:HEARTH_AUDIT=off;audit-on:HEARTH_AUDIT=on'
//                      (issue 11: the audit trail's cost), alternated with the builds
import type autocannon from 'autocannon';
import pg from 'pg';
import { benchPatient, seedPatients } from './patients.js';
import { benchVariants, cpuMs, treeCpuMs, prepareBuild, drainJournal, runAutocannon, startBenchServer, type BenchRow, type BenchVariant } from './support.js';

const refs = (process.env.BENCH_REFS ?? '0f63135,HEAD').split(',').map((r) => r.trim()).filter(Boolean);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const seedCount = Number(process.env.BENCH_SEED ?? 2000);
const adminUrl = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const port = Number(process.env.BENCH_PORT ?? 18191);
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const JSON_HEADERS = { 'content-type': 'application/fhir+json' };

interface Build {
  ref: string;
  sha: string;
  dir: string;
  /** Server settings of this arm (BENCH_VARIANTS). */
  variant: BenchVariant;
}

async function backendPids(admin: pg.Client, database: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  return rows.map((r) => r.pid);
}

interface Row extends BenchRow {
  build: string;
  round: number;
  serverCpuMs: number;
  databaseCpuMs: number;
  /** Audit journal entries left when the load stopped, and the seconds until the expander had them all. */
  journalLeft?: number;
  drainSeconds?: number;
}

async function measure(build: Build, round: number, admin: pg.Client): Promise<Row[]> {
  const database = `hearth_bench_ab_${build.sha}`;
  await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${database}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const server = await startBenchServer(url.toString(), port, { cwd: build.dir, env: build.variant.env });
  const { base } = server;
  const pid = server.pid!;
  const path = new URL(base).pathname;
  try {
    const ids = await seedPatients(base, seedCount);
    await drainJournal(url.toString());
    const pick = () => ids[Math.floor(Math.random() * ids.length)];
    let n = seedCount;
    const shapes: [string, autocannon.Options][] = [
      ['create Patient', { url: `${base}/Patient`, requests: [{ method: 'POST', headers: JSON_HEADERS, setupRequest: (req) => ({ ...req, body: benchPatient(n++) }) }] }],
      ['update Patient/{id}', {
        url: base,
        requests: [{ method: 'PUT', headers: JSON_HEADERS, setupRequest: (req) => { const id = pick(); return { ...req, path: `${path}/Patient/${id}`, body: benchPatient(n++, id) }; } }],
      }],
      ['read Patient/{id}', { url: base, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `${path}/Patient/${pick()}` }) }] }],
      // Four patients per family among the seeded ones: a search that returns several patients' data.
      ['search Patient?family=', { url: base, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `${path}/Patient?family=Family${Math.floor(Math.random() * 500)}` }) }] }],
    ];
    const rows: Row[] = [];
    for (const [name, options] of shapes) {
      if (only && !only.test(name)) continue;
      const pids = await backendPids(admin, database);
      const before = { server: treeCpuMs(pid), db: pids.map(cpuMs) };
      const row = await runAutocannon(name, { connections, duration: seconds, ...options });
      const drained = await drainJournal(url.toString());
      const total = row.rps * seconds;
      const serverCpu = treeCpuMs(pid) - before.server;
      const dbCpu = pids.reduce((sum, pid, i) => sum + Math.max(0, cpuMs(pid) - before.db[i]), 0);
      const label = `${build.ref} (${build.sha})${build.variant.name ? ` ${build.variant.name}` : ''}`;
      rows.push({ ...row, build: label, round, serverCpuMs: serverCpu / total, databaseCpuMs: dbCpu / total, journalLeft: drained?.left, drainSeconds: drained?.seconds });
    }
    return rows;
  } finally {
    await server.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  }
}

async function main(): Promise<void> {
  const builds: Build[] = refs.map((ref) => prepareBuild(ref)).flatMap((b) => benchVariants().map((variant) => ({ ...b, variant })));
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const rows: Row[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const build of round % 2 ? builds : [...builds].reverse()) rows.push(...(await measure(build, round, admin)));
    }
  } finally {
    await admin.end();
  }
  console.log(`\nbench:crud-ab — ${connections} connections, ${seconds} s per shape, ${seedCount} seeded patients, ${rounds} rounds alternated`);
  console.log('CPU per request counts the audit journal\'s expansion after the load too (journal left: entries not yet expanded when it stopped; drain: seconds until they were).');
  console.log('| shape | build | round | req/s | p50 ms | p99 ms | server CPU ms/req | database CPU ms/req | non-2xx | journal left | drain s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const order = [...new Set(rows.map((r) => r.name))];
  for (const name of order) {
    for (const r of rows.filter((x) => x.name === name)) {
      const journal = r.journalLeft === undefined ? '– | –' : `${r.journalLeft} | ${r.drainSeconds!.toFixed(1)}`;
      console.log(`| ${r.name} | ${r.build} | ${r.round} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.serverCpuMs.toFixed(3)} | ${r.databaseCpuMs.toFixed(3)} | ${r.non2xx} | ${journal} |`);
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
