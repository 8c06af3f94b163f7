// npm run bench:crud — loopback load on create, read by id and update (issue: foundation).
// Starts Hearth (built, in its own process) on real PostgreSQL unless BENCH_BASE points at a
// running server, seeds patients, then runs autocannon per interaction and prints
// req/s, p50 and p99. Loopback only.
//   BENCH_DATABASE_URL  default postgresql://postgres@127.0.0.1:5432/hearth_bench
//   BENCH_CONNECTIONS   default 32;  BENCH_SECONDS default 15;  BENCH_SEED default 2000
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const seedCount = Number(process.env.BENCH_SEED ?? 2000);
const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/hearth_bench';
const port = Number(process.env.BENCH_PORT ?? 18181);
const JSON_HEADERS = { 'content-type': 'application/fhir+json' };

function patient(i: number, id?: string): string {
  return JSON.stringify({
    resourceType: 'Patient',
    ...(id ? { id } : {}),
    identifier: [{ system: 'urn:bench', value: `p-${i}-${randomUUID()}` }],
    name: [{ family: `Family${i % 500}`, given: [`Given${i}`] }],
    gender: i % 2 ? 'female' : 'male',
    birthDate: `19${String(40 + (i % 60)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
    address: [{ line: [`${i} Main St`], city: 'Springfield', postalCode: '12345' }],
  });
}

async function ensureDatabase(): Promise<void> {
  const admin = new URL(databaseUrl);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (!exists.rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  await client.end();
}

async function startServer(): Promise<{ base: string; child?: ChildProcess }> {
  if (process.env.BENCH_BASE) return { base: process.env.BENCH_BASE };
  await ensureDatabase();
  const child = spawn(process.execPath, ['dist/src/cli.js', 'serve'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, HEARTH_PORT: String(port), HEARTH_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    const ok = await fetch(`${origin}/readyz`).then((r) => r.ok, () => false);
    if (ok) return { base: `${origin}/fhir`, child };
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill();
  throw new Error('server did not become ready');
}

async function seed(base: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < seedCount; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, seedCount - i) }, (_, k) =>
        fetch(`${base}/Patient`, { method: 'POST', headers: { ...JSON_HEADERS, prefer: 'return=minimal' }, body: patient(i + k) }),
      ),
    );
    for (const r of batch) ids.push(r.headers.get('location')!.split('/').slice(-3)[0]);
  }
  return ids;
}

interface Row { name: string; rps: number; p50: number; p99: number; non2xx: number; errors: number }

async function run(name: string, options: autocannon.Options): Promise<Row> {
  const result = await autocannon({ connections, duration: seconds, ...options });
  return {
    name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

async function main(): Promise<void> {
  const { base, child } = await startServer();
  try {
    const ids = await seed(base);
    const pick = () => ids[Math.floor(Math.random() * ids.length)];
    let n = seedCount;
    const rows: Row[] = [];
    rows.push(await run('read Patient/{id}', {
      url: base,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `${new URL(base).pathname}/Patient/${pick()}` }) }],
    }));
    rows.push(await run('create Patient', {
      url: `${base}/Patient`,
      requests: [{ method: 'POST', headers: JSON_HEADERS, setupRequest: (req) => ({ ...req, body: patient(n++) }) }],
    }));
    rows.push(await run('update Patient/{id}', {
      url: base,
      requests: [{
        method: 'PUT',
        headers: JSON_HEADERS,
        setupRequest: (req) => {
          const id = pick();
          return { ...req, path: `${new URL(base).pathname}/Patient/${id}`, body: patient(n++, id) };
        },
      }],
    }));
    console.log(`\nbench:crud — ${connections} connections, ${seconds} s each, ${seedCount} seeded patients, ${base}`);
    console.log('| interaction | req/s | p50 ms | p99 ms | non-2xx | errors |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} |`);
  } finally {
    child?.kill('SIGTERM');
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
