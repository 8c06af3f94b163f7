// npm run bench:sync — outbound sync under load (issue 13 "Benchmark"): Immunizations created at
// full speed, in a tenant with a sync destination (a healthy partner on loopback) and in one
// without, interleaved in the same run (off, on, off, on ...). Two phases:
// 1. the write path alone: the API process delivers nothing (HEARTH_DELIVERY_WORKER=false), so
//    on vs off is what the outbox costs a write; then a `hearth worker` process drains what
//    accumulated (delivery throughput on its own);
// 2. everything in one process, as `hearth serve` runs by default: writes and deliveries share
//    the machine; delivery throughput and end-to-end lag (the create's response to the
//    partner's receipt) p50/p99.
// Then one transaction bundle of BENCH_BUNDLE Immunizations, on vs off.
// Starts Hearth (built: npm run build) on real PostgreSQL and Redis (BullMQ). Loopback only.
//   BENCH_DATABASE_URL  default postgresql://postgres@127.0.0.1:5432/hearth_bench_sync (dropped and recreated)
//   BENCH_REDIS_URL     default redis://127.0.0.1:6379 ('' : the in-process queue)
//   BENCH_COUNT default 10000 (creates per arm);  BENCH_ROUNDS default 2;  BENCH_CONCURRENCY default 8
//   BENCH_BUNDLE default 5000 (entries of the transaction bundle; 0: skip)
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createTenant } from '../src/storage/pg/tenant-admin.js';
import { startBenchServer } from './support.js';

const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/hearth_bench_sync';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const count = Number(process.env.BENCH_COUNT ?? 10000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const bundleSize = Number(process.env.BENCH_BUNDLE ?? 5000);
const port = Number(process.env.BENCH_PORT ?? 18191);
const JSON_HEADERS = { 'content-type': 'application/fhir+json' };

const immunization = (n: number) => ({
  resourceType: 'Immunization',
  status: 'completed',
  vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: n % 2 ? '207' : '208' }] },
  patient: { reference: `Patient/p${n % 500}` },
  occurrenceDateTime: '2026-11-30',
  lotNumber: `lot-${n}`,
});

/** The partner: answers every PUT at once and notes when each resource arrived. */
async function startPartner(): Promise<{ url: string; arrived: Map<string, number>; stop(): Promise<void> }> {
  const arrived = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = (req.url ?? '').split('/').pop() ?? '';
      if (!arrived.has(id)) arrived.set(id, performance.now());
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.end('{"resourceType":"Immunization"}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`, arrived, stop: () => new Promise((r) => server.close(() => r())) };
}

async function resetDatabase(): Promise<void> {
  const admin = new URL(databaseUrl);
  const name = decodeURIComponent(admin.pathname.slice(1));
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await client.query(`CREATE DATABASE "${name}"`);
  await client.end();
}

/** Creates `n` Immunizations with `concurrency` clients; the time each create answered, by id. */
async function createMany(base: string, n: number, offset: number): Promise<{ seconds: number; answered: Map<string, number> }> {
  const answered = new Map<string, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const res = await fetch(`${base}/Immunization`, { method: 'POST', headers: { ...JSON_HEADERS, prefer: 'return=minimal' }, body: JSON.stringify(immunization(offset + i)) });
        if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
        answered.set(res.headers.get('location')!.split('/')[res.headers.get('location')!.split('/').indexOf('Immunization') + 1], performance.now());
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, answered };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

interface Bases {
  off: string;
  on: string;
}

async function setUpTenants(pool: pg.Pool, partnerUrl: string, suffix: string): Promise<Bases> {
  await createTenant(pool, { id: `sync-off${suffix}`, name: 'sync off', dedicatedPartition: false });
  await createTenant(pool, { id: `sync-on${suffix}`, name: 'sync on', dedicatedPartition: false });
  await pool.query(`INSERT INTO sync_destination (tenant_id, id, endpoint, resource_types) VALUES ($1, 'iis', $2, '{Immunization}')`, [`sync-on${suffix}`, partnerUrl]);
  return { off: `/t/sync-off${suffix}/fhir`, on: `/t/sync-on${suffix}/fhir` };
}

type Partner = Awaited<ReturnType<typeof startPartner>>;

/** Resolves when every id has arrived at the partner; the time the last one did. */
async function arrivals(partner: Partner, ids: Iterable<string>): Promise<number> {
  const wanted = [...ids];
  while (wanted.some((id) => !partner.arrived.has(id))) await new Promise((r) => setTimeout(r, 20));
  return Math.max(...wanted.map((id) => partner.arrived.get(id)!));
}

/** Phase 1: the API process writes, delivers nothing; then a worker process drains. */
async function writePathPhase(pool: pg.Pool, partner: Partner): Promise<void> {
  const server = await startBenchServer(databaseUrl, port, { env: { REDIS_URL: redisUrl, HEARTH_AUDIT: process.env.HEARTH_AUDIT ?? 'on', HEARTH_AUDIT_SEAL_INTERVAL_MS: '0', HEARTH_DELIVERY_WORKER: 'false' } });
  const origin = new URL(server.base).origin;
  const pending: string[] = [];
  try {
    const paths = await setUpTenants(pool, partner.url, '-w');
    const bases = { off: origin + paths.off, on: origin + paths.on };
    await createMany(bases.off, 200, 0);
    await createMany(bases.on, 200, 0);
    console.log(`\nPhase 1 — the write path: the API process delivers nothing (${count} Immunizations per arm, ${concurrency} clients)`);
    console.log('| round | creates/s, sync off | creates/s, sync on | on ÷ off |');
    console.log('|---|---|---|---|');
    const ratios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      // ABBA: odd rounds run off first, even rounds on first, so drift during a round (the
      // tables growing, autovacuum, the machine) does not always favour the same arm.
      const first = round % 2 === 1 ? 'off' : 'on';
      const runs: Record<string, Awaited<ReturnType<typeof createMany>>> = {};
      for (const arm of first === 'off' ? (['off', 'on'] as const) : (['on', 'off'] as const)) runs[arm] = await createMany(bases[arm], count, round * count * 10);
      const { off, on } = runs;
      pending.push(...on.answered.keys());
      ratios.push(off.seconds / on.seconds);
      console.log(`| ${round} (${first} first) | ${Math.round(count / off.seconds)} | ${Math.round(count / on.seconds)} | ${(off.seconds / on.seconds).toFixed(2)} |`);
    }
    const sorted = [...ratios].sort((a, b) => a - b);
    console.log(`| median of ${rounds} | | | ${sorted[Math.floor((sorted.length - 1) / 2)].toFixed(2)}${sorted.length % 2 === 0 ? `–${sorted[sorted.length / 2].toFixed(2)}` : ''} |`);
  } finally {
    await server.stop();
  }
  const owed = pending.length + 200;
  partner.arrived.clear();
  const started = performance.now();
  const worker = spawn(process.execPath, ['dist/src/cli.js', 'worker'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, LOG_LEVEL: 'warn', HEARTH_AUDIT_SEAL_INTERVAL_MS: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    const last = await arrivals(partner, pending);
    console.log(`\n| a \`hearth worker\` process drains ${owed} deliveries | ${((last - started) / 1000).toFixed(1)} s (from its start) | ${Math.round(owed / ((last - started) / 1000))} deliveries/s |`);
  } finally {
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  }
}

async function main(): Promise<void> {
  await resetDatabase();
  const partner = await startPartner();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  try {
    if (process.env.BENCH_PHASES !== '2') await writePathPhase(pool, partner);
    if (process.env.BENCH_PHASES !== '1') await sharedPhase(pool, partner);
  } finally {
    await pool.end();
    await partner.stop();
  }
}

/** Phase 2: writes and deliveries in one process (the default `hearth serve`). */
async function sharedPhase(pool: pg.Pool, partner: Partner): Promise<void> {
  const server = await startBenchServer(databaseUrl, port, { env: { REDIS_URL: redisUrl, HEARTH_AUDIT: process.env.HEARTH_AUDIT ?? 'on', HEARTH_AUDIT_SEAL_INTERVAL_MS: '0' } });
  const origin = new URL(server.base).origin;
  try {
    const paths = await setUpTenants(pool, partner.url, '');
    const bases = { off: origin + paths.off, on: origin + paths.on };
    await createMany(bases.off, 200, 0); // warm-up of both arms
    await createMany(bases.on, 200, 0);
    await arrivals(partner, []);
    console.log(`\nPhase 2 — writes and deliveries in one process: ${count} Immunizations per arm, ${concurrency} concurrent clients, queue ${redisUrl || 'in-process'}, ${rounds} round(s)`);
    console.log('| round | arm | creates/s | delivered/s | drained after last write, s | lag p50 ms | lag p99 ms |');
    console.log('|---|---|---|---|---|---|---|');
    for (let round = 1; round <= rounds; round++) {
      for (const arm of ['off', 'on'] as const) {
        partner.arrived.clear();
        const started = performance.now();
        const { seconds, answered } = await createMany(bases[arm], count, round * count * 10);
        if (arm === 'off') {
          console.log(`| ${round} | off | ${Math.round(count / seconds)} | – | – | – | – |`);
          continue;
        }
        const writesDone = performance.now();
        const last = await arrivals(partner, answered.keys());
        const lags = [...answered.entries()].map(([id, t]) => partner.arrived.get(id)! - t).sort((a, b) => a - b);
        console.log(
          `| ${round} | on | ${Math.round(count / seconds)} | ${Math.round(count / ((last - started) / 1000))} | ${((last - writesDone) / 1000).toFixed(2)} | ${percentile(lags, 50).toFixed(1)} | ${percentile(lags, 99).toFixed(1)} |`,
        );
      }
    }
    if (bundleSize > 0) {
      console.log(`\n| transaction of ${bundleSize} Immunizations | off s | on s |`);
      console.log('|---|---|---|');
      const times: Record<string, number[]> = { off: [], on: [] };
      for (let round = 1; round <= rounds; round++) {
        for (const arm of ['off', 'on'] as const) {
          const bundle = { resourceType: 'Bundle', type: 'transaction', entry: Array.from({ length: bundleSize }, (_, i) => ({ resource: immunization(i), request: { method: 'POST', url: 'Immunization' } })) };
          const t = performance.now();
          const res = await fetch(bases[arm], { method: 'POST', headers: { ...JSON_HEADERS, prefer: 'return=minimal' }, body: JSON.stringify(bundle) });
          if (res.status !== 200) throw new Error(`transaction answered ${res.status}`);
          await res.arrayBuffer();
          times[arm].push((performance.now() - t) / 1000);
        }
      }
      console.log(`| seconds per round | ${times.off.map((s) => s.toFixed(2)).join(', ')} | ${times.on.map((s) => s.toFixed(2)).join(', ')} |`);
    }
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
