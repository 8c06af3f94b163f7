// npm run bench:crud — loopback load on create, read by id and update (issue: foundation).
// Starts Hearth (built, in its own process) on real PostgreSQL unless BENCH_BASE points at a
// running server, seeds patients one by one, adds the realistic population's patients without
// clinical data in batch bundles (bench/population.ts), then runs autocannon per interaction and
// prints req/s, p50 and p99; reads and updates pick among all of them. Loopback only.
//   BENCH_DATABASE_URL  default postgresql://postgres@127.0.0.1:5432/hearth_bench
//   BENCH_CONNECTIONS   default 32;  BENCH_SECONDS default 15;  BENCH_SEED default 2000
//   BENCH_EXTRA_PATIENTS default 15000 (0: none)
import type autocannon from 'autocannon';
import { benchPatient as patient, seedPatients } from './patients.js';
import { addExtraPatients, envCount } from './population.js';
import { printTable, runAutocannon, startBenchServer, type BenchRow } from './support.js';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const seedCount = Number(process.env.BENCH_SEED ?? 2000);
const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/hearth_bench';
const port = Number(process.env.BENCH_PORT ?? 18181);
const extraCount = envCount('BENCH_EXTRA_PATIENTS', 15000);
const JSON_HEADERS = { 'content-type': 'application/fhir+json' };

async function main(): Promise<void> {
  const server = await startBenchServer(databaseUrl, port);
  const { base } = server;
  const run = (name: string, options: autocannon.Options) => runAutocannon(name, { connections, duration: seconds, ...options });
  try {
    const ids = await seedPatients(base, seedCount);
    ids.push(...(await addExtraPatients(base, extraCount, { first: seedCount })));
    const pick = () => ids[Math.floor(Math.random() * ids.length)];
    let n = seedCount + extraCount;
    const rows: BenchRow[] = [];
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
    printTable(`bench:crud — ${connections} connections, ${seconds} s each, ${seedCount} seeded patients + ${extraCount} without clinical data, ${base}`, rows);
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
