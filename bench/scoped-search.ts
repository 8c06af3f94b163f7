// npm run bench:scoped-search — the cost of the SMART read constraint (issue 10; docs/adr/
// 0011-access-constraint.md): `Observation?patient=X&code=…&_sort=-date` under a patient scope
// for X (the constraint: X's Patient compartment, inside the statement) against the same search
// unscoped (an administrator), in the same run, through FhirService in this process (no HTTP:
// the figure is the search's own cost). Target: scoped >= 85% of unscoped req/s.
// Population (generated, deterministic, loaded once and reused): BENCH_PATIENTS patients
// (default 300), each with 40 Observations over 8 LOINC codes and a date each, so 12,000
// Observations. Rounds alternate unscoped and scoped blocks of one second each for BENCH_SECONDS
// per side (default 12), BENCH_CONCURRENCY requests in flight (default 4): under a minute.
// BENCH_DATABASE_URL overrides the database (created if missing).
import pg from 'pg';
import { createFhirService } from '../src/compose.js';
import { loadConfig } from '../src/core/config.js';
import { ANONYMOUS_ACCESS, type AccessContext, type FhirRequest, type JsonObject } from '../src/core/types.js';
import { migrate } from '../src/storage/pg/migrate.js';
import { ensureDatabase } from './support.js';

const patients = Number(process.env.BENCH_PATIENTS ?? 300);
const seconds = Number(process.env.BENCH_SECONDS ?? 12);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
const databaseUrl = process.env.BENCH_DATABASE_URL ?? `postgresql://postgres@127.0.0.1:5432/hearth_bench_scoped_${patients}`;
const CODES = ['8867-4', '8480-6', '8462-4', '8310-5', '9279-1', '2708-6', '29463-7', '8302-2'];

/** A small deterministic generator (mulberry32). */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function patientBundle(n: number, random: () => number): JsonObject {
  const id = `p${n}`;
  const entry: JsonObject[] = [{ resource: { resourceType: 'Patient', id, name: [{ family: `Family${n}` }] }, request: { method: 'PUT', url: `Patient/${id}` } }];
  for (let i = 0; i < 40; i++) {
    const code = CODES[i % CODES.length];
    const day = 1 + Math.floor(random() * 28);
    const month = 1 + Math.floor(random() * 12);
    entry.push({
      resource: {
        resourceType: 'Observation', id: `${id}-o${i}`, status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
        code: { coding: [{ system: 'http://loinc.org', code }] },
        subject: { reference: `Patient/${id}` },
        effectiveDateTime: `2024-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
        valueQuantity: { value: Math.round(random() * 1000) / 10, unit: '1', system: 'http://unitsofmeasure.org', code: '1' },
      },
      request: { method: 'PUT', url: `Observation/${id}-o${i}` },
    });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

async function main(): Promise<void> {
  await ensureDatabase(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: concurrency + 2 });
  await migrate(pool);
  const composition = createFhirService(loadConfig({}), { pool, mode: 'postgres', close: async () => undefined });
  const request = (access: AccessContext, path: string, extra: Partial<FhirRequest> = {}): FhirRequest => {
    const [p, q = ''] = path.split('?');
    return { method: 'GET', tenantId: 'default', baseUrl: 'http://localhost/fhir', path: p.split('/').filter(Boolean), query: new URLSearchParams(q), prefer: {}, access, requestId: 'bench', ...extra };
  };
  const have = await composition.service.handle(request(ANONYMOUS_ACCESS, 'Patient?_summary=count'));
  const count = have.body?.kind === 'raw' ? (JSON.parse(have.body.text) as { total: number }).total : 0;
  if (count < patients) {
    const started = Date.now();
    const random = prng(42);
    for (let n = 0; n < patients; n++) {
      await composition.service.handle(request(ANONYMOUS_ACCESS, '', { method: 'POST', body: patientBundle(n, random), bodyKind: 'resource' }));
    }
    await pool.query('ANALYZE');
    console.log(`loaded ${patients} patients, ${patients * 40} Observations in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  const random = prng(7);
  const query = () => {
    const n = Math.floor(random() * patients);
    const code = CODES[Math.floor(random() * CODES.length)];
    return { patient: `p${n}`, path: `Observation?patient=Patient/p${n}&code=http://loinc.org|${code}&_sort=-date` };
  };
  const run = async (scoped: boolean, ms: number): Promise<number> => {
    const until = Date.now() + ms;
    let done = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < until) {
          const q = query();
          const access: AccessContext = scoped ? { subject: 'app', scopes: ['patient/*.rs'], isAdmin: false, patient: q.patient } : ANONYMOUS_ACCESS;
          const response = await composition.service.handle(request(access, q.path));
          if (response.status !== 200 || response.body?.kind !== 'raw' || !response.body.text.includes('"entry"')) throw new Error(`unexpected answer ${response.status}`);
          done++;
        }
      }),
    );
    return done;
  };
  await run(false, 1000); // warm up both paths (prepared statements, caches)
  await run(true, 1000);
  const totals = { unscoped: 0, scoped: 0 };
  for (let round = 0; round < seconds; round++) {
    totals.unscoped += await run(false, 1000);
    totals.scoped += await run(true, 1000);
  }
  const rate = (n: number) => n / seconds;
  console.log(`Observation?patient=X&code=…&_sort=-date, ${patients * 40} Observations, ${concurrency} in flight, ${seconds} s each, in process`);
  console.log(`  unscoped (administrator):      ${rate(totals.unscoped).toFixed(0)} req/s`);
  console.log(`  scoped (patient/*.rs, X):      ${rate(totals.scoped).toFixed(0)} req/s`);
  console.log(`  scoped / unscoped:             ${((100 * totals.scoped) / totals.unscoped).toFixed(1)}% (target >= 85%)`);
  await composition.maintenance.close();
  await pool.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
