// npm run bench:fuzz — the property-based fuzz of test/e2e/fuzz.test.ts (issue 9 §5), run for
// FUZZ_MINUTES (default 10) against a Hearth server of its own, in a fresh tenant seeded with a
// few linked resources. Every failure (a 5xx, a 4xx without an OperationOutcome, stored data
// changed) is recorded and the run goes on; the summary prints cases run and each failure.
//   BENCH_DATABASE_URL  default postgresql://postgres@127.0.0.1:5432/hearth_bench_fuzz
//   BENCH_PORT          default 18190 (BENCH_BASE: use a running server's /fhir instead)
//   FUZZ_SEED           replay a run's sequence of cases
// Needs `npm run build` first (the server runs from dist/). Loopback only; stops by itself.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import { createTenant } from '../src/storage/pg/tenant-admin.js';
import { describeRequest, fingerprint, fuzzRegistry, fuzzRequest, seedTenant, sendFuzz, violation, wroteSomething } from '../test/support/fuzz.js';
import { startBenchServer } from './support.js';

const minutes = Number(process.env.FUZZ_MINUTES ?? 10);
const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/hearth_bench_fuzz';
const port = Number(process.env.BENCH_PORT ?? 18190);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

async function tenantBase(serverBase: string): Promise<string> {
  if (process.env.BENCH_BASE) return serverBase;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const id = `fuzz-${randomUUID().slice(0, 8)}`;
    await createTenant(pool, { id, name: id, dedicatedPartition: false });
    return serverBase.replace(/\/fhir$/, `/t/${id}/fhir`);
  } finally {
    await pool.end();
  }
}

async function main(): Promise<void> {
  const server = await startBenchServer(databaseUrl, port);
  try {
    const base = await tenantBase(server.base);
    await seedTenant(base);
    const params = fuzzRegistry();
    let before = await fingerprint(base);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let cases = 0;
    const started = Date.now();
    const deadline = started + minutes * 60_000;
    let nextReport = started + 30_000;
    // Failures are collected, not thrown, so one run finds as many as it can.
    await fc.assert(
      fc.asyncProperty(fuzzRequest(params), async (request) => {
        cases++;
        let reply;
        try {
          reply = await sendFuzz(base, request);
        } catch (error) {
          failures.push(`no answer (${(error as Error).message}): ${describeRequest(request)}`);
          return;
        }
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        const problem = violation(reply);
        if (problem) failures.push(`${problem}: ${describeRequest(request)} -> ${reply.text.slice(0, 300)}`);
        const after = await fingerprint(base);
        if (after.seeded !== before.seeded) failures.push(`seeded data changed: ${describeRequest(request)}`);
        else if (after.newest !== before.newest && !wroteSomething(request, reply)) failures.push(`data changed: ${describeRequest(request)}`);
        before = after;
        if (Date.now() > nextReport) {
          nextReport += 30_000;
          console.log(`${Math.round((Date.now() - started) / 1000)} s: ${cases} cases, ${failures.length} failures`);
        }
      }),
      { numRuns: Number.MAX_SAFE_INTEGER, seed, interruptAfterTimeLimit: deadline - Date.now(), markInterruptAsFailure: false },
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`\nbench:fuzz seed ${seed}: ${cases} cases in ${seconds.toFixed(0)} s (${(cases / seconds).toFixed(1)}/s), ${failures.length} failures`);
    console.log('statuses', JSON.stringify([...statuses].sort((a, b) => a[0] - b[0])));
    for (const failure of failures.slice(0, 50)) console.log(`- ${failure}`);
    if (failures.length > 50) console.log(`… and ${failures.length - 50} more`);
    process.exitCode = failures.length > 0 ? 1 : 0;
  } finally {
    await server.stop();
  }
}

await main();
