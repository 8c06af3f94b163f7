// npm run bench:auth — what SMART costs (issue 10, "Benchmark"), every figure beside its open
// counterpart in the same run, rounds alternating so that machine drift hits both sides:
//   1. read Patient/{id}: open (no token) vs a bearer token (system/*.rs)
//   2. Observation?patient=X&code=http://loinc.org|8867-4&_sort=-date: under a system scope
//      (unscoped: every row reachable) vs under patient scopes (X's compartment only), each
//      request a (patient, that patient's token) pair
//   3. client_credentials tokens issued per second (fresh signed assertions, RFC 7523)
// Starts Hearth (built, its own process, HEARTH_AUTH=off: tokens are verified and obeyed when
// presented, so open and token requests hit the same server) on real PostgreSQL, loads the
// benchmark workload (bench/workload.ts) into the default tenant, then measures. Loopback only.
//   BENCH_DATABASE_URL default postgresql://postgres@127.0.0.1:5432/hearth_bench_auth
//   BENCH_BUNDLES default 200;  BENCH_CONNECTIONS default 32;  BENCH_SECONDS default 10;
//   BENCH_ROUNDS default 2;  BENCH_TOKENS default 3000 (assertions signed for part 3, 0: skip);
//   BENCH_ONLY=<regex> picks the shapes of parts 1 and 2 by name
import autocannon from 'autocannon';
import pg from 'pg';
import { randomBytes, createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { addClient } from '../src/auth/clients/client-store.js';
import { createAuthorizationServerApi } from '../src/auth/token-side.js';
import { inTenant } from '../src/auth/tokens/sql.js';
import { loadConfig } from '../src/core/config.js';
import type { Database } from '../src/storage/pg/database.js';
import { seedPatients } from './patients.js';
import { cpuMs, inParallel, printTable, runAutocannon, startBenchServer, type BenchRow } from './support.js';
import { workloadBundles } from './workload.js';

const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/hearth_bench_auth';
const bundles = Number(process.env.BENCH_BUNDLES ?? 200);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const tokenCount = Number(process.env.BENCH_TOKENS ?? 3000);
const port = Number(process.env.BENCH_PORT ?? 18195);
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const REDIRECT = 'http://127.0.0.1:9/callback';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

async function resetDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  const name = decodeURIComponent(admin.pathname.slice(1));
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  await client.end();
}

/** Loads the workload; the ids of the patients it created. */
async function load(base: string): Promise<string[]> {
  const patients: string[] = [];
  await inParallel(workloadBundles(bundles), 4, async (bundle) => {
    const response = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(bundle) });
    if (!response.ok) throw new Error(`load: ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { entry: { response: { location: string } }[] };
    patients.push(body.entry[0].response.location.split('/')[1]);
  });
  return patients;
}

async function main(): Promise<void> {
  await resetDatabase(databaseUrl);
  const server = await startBenchServer(databaseUrl, port);
  const { base } = server;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const database: Database = { pool, mode: 'postgres', close: () => pool.end() };
  const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: databaseUrl });
  try {
    const patients = await load(base);
    const patientIds = await seedPatients(base, 500);

    // A backend service for system tokens and for part 3.
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const kid = randomUUID();
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' }] };
    const backend = await inTenant(database, 'default', (sql) => addClient(sql, 'default', { name: 'bench backend', kind: 'backend-service', jwks, scope: 'system/*.rs' }));
    const tokenUrl = `${base}/auth/token`;
    const assertion = () => new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'ES384', kid }).setIssuer(backend.clientId).setSubject(backend.clientId)
      .setAudience(tokenUrl).setIssuedAt().setExpirationTime('290s').sign(privateKey);
    const tokenForm = async () => new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion() }).toString();
    const systemToken = ((await (await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: await tokenForm() })).json()) as { access_token: string }).access_token;

    // Patient tokens: one authorization code per patient (the front channel's part done through its API).
    const app = await inTenant(database, 'default', (sql) => addClient(sql, 'default', { name: 'bench app', kind: 'public', redirectUris: [REDIRECT], scope: 'launch/patient patient/*.rs' }));
    const api = createAuthorizationServerApi({ config, database, service: undefined as never, logger: undefined as never, baseUrlFor: () => base });
    const scoped: { patient: string; token: string }[] = [];
    for (const patient of patients.slice(0, 50)) {
      const verifier = randomBytes(32).toString('base64url');
      const code = await api.issueAuthorizationCode({
        tenantId: 'default', clientId: app.clientId, redirectUri: REDIRECT, codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
        scope: 'launch/patient patient/*.rs', userId: 'bench', patient, authTime: Math.floor(Date.now() / 1000),
      });
      const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: app.clientId, code_verifier: verifier });
      const answer = (await (await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })).json()) as { access_token: string };
      scoped.push({ patient, token: answer.access_token });
    }

    const path = new URL(base).pathname;
    const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];
    const run = (name: string, options: autocannon.Options) => runAutocannon(name, { connections, duration: seconds, ...options });
    const search = (patient: string) => `${path}/Observation?patient=${patient}&code=http://loinc.org|8867-4&_sort=-date&_count=20`;
    const shapes: [string, () => Promise<BenchRow>][] = [
      ['read open', () => run('read Patient/{id}, open', { url: base, requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `${path}/Patient/${pick(patientIds)}` }) }] })],
      ['read token', () => run('read Patient/{id}, bearer token', {
        url: base, headers: { authorization: `Bearer ${systemToken}` },
        requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `${path}/Patient/${pick(patientIds)}` }) }],
      })],
      ['search system', () => run('Observation?patient=X&code&_sort=-date, system/*.rs', {
        url: base, headers: { authorization: `Bearer ${systemToken}` },
        requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: search(pick(scoped).patient) }) }],
      })],
      ['search patient', () => run('Observation?patient=X&code&_sort=-date, patient/*.rs (X)', {
        url: base,
        requests: [{ method: 'GET', setupRequest: (r) => {
          const { patient, token } = pick(scoped);
          return { ...r, path: search(patient), headers: { ...r.headers, authorization: `Bearer ${token}` } };
        } }],
      })],
    ];
    const chosen = shapes.filter(([name]) => !only || only.test(name));
    const rows: BenchRow[] = [];
    const cpu: string[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const [, measure] of round % 2 === 1 ? chosen : [...chosen].reverse()) {
        // The server's CPU per request drifts far less than req/s on this machine.
        const before = server.pid ? cpuMs(server.pid) : 0;
        const row = await measure();
        const requests = row.rps * seconds;
        if (server.pid && requests > 0) cpu.push(`| ${row.name} (round ${round}) | ${((cpuMs(server.pid) - before) / requests).toFixed(3)} |`);
        rows.push({ ...row, name: `${row.name} (round ${round})` });
      }
    }
    printTable(`bench:auth — ${connections} connections, ${seconds} s each, ${bundles} workload bundles + 500 patients, ${base}`, rows);
    if (cpu.length > 0) console.log(['\n| shape | server CPU ms/request |', '|---|---|', ...cpu].join('\n'));

    // Part 3: tokens issued per second, each from a fresh assertion (its jti is recorded).
    if (tokenCount === 0) return;
    const forms: string[] = [];
    for (let i = 0; i < tokenCount; i++) forms.push(await tokenForm());
    let next = 0;
    const issued = await runAutocannon('client_credentials token', {
      url: tokenUrl, connections: 8, amount: tokenCount,
      requests: [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, setupRequest: (r) => ({ ...r, body: forms[next++ % forms.length] }) }],
    });
    printTable(`client_credentials: ${tokenCount} tokens, 8 connections`, [issued]);
  } finally {
    await pool.end();
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
