// `hearth sync ...` (src/cli/sync-commands.ts) on the test database: the command function with its
// output captured (what it prints, stores and refuses; no secret printed), and once as the
// operator runs it (a separate process through src/cli.ts: exit codes, stderr).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { syncCommand } from '../../src/cli/sync-commands.js';
import type { Database } from '../../src/storage/pg/database.js';
import { PgSyncAdminStore } from '../../src/storage/pg/sync-admin-store.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { hearth } from '../support/cli.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';

describe('sync CLI commands (integration)', function () {
  this.timeout(120_000);
  let database: Database;
  let tenant: string;
  let dir: string;
  const run = async (args: string[]) => {
    const lines: string[] = [];
    await syncCommand(database, [...args, '--tenant', tenant], (l) => lines.push(l));
    return lines;
  };
  const stored = (id: string) => inTenantTransaction(database.pool, tenant, (c) => new PgSyncAdminStore(c, tenant).getDestination(id));

  async function deadLetter(target: string, resourceId: string, deadAgeSeconds: number): Promise<string> {
    const id = randomUUID();
    await database.pool.query(
      'INSERT INTO outbox (tenant_id, id, channel, target, resource_type, resource_id, version_id, action, status, attempts, last_status, last_error, last_outcome, dead_at) ' +
        `VALUES ($1, $2, 'sync', $3, 'Immunization', $4, 3, 'create', 'dead', 2, 400, 'HTTP 400 from the partner', '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid"}]}', now() - $5 * interval '1 second')`,
      [tenant, id, target, resourceId, deadAgeSeconds],
    );
    return id;
  }

  before(async function () {
    await requireServices(this);
    database = { pool: await testPool(), mode: 'postgres', close: async () => undefined };
    dir = await mkdtemp(join(tmpdir(), 'hearth-sync-cli-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    tenant = await newTenant(database.pool);
  });

  it('adds destinations with each kind of auth, lists them without secrets, replaces and removes them', async () => {
    const tokenFile = join(dir, `${tenant}.token`);
    await writeFile(tokenFile, 'file-secret-token\n');
    const [saved] = await run(['add', 'iis', '--endpoint', 'https://iis.example.org/fhir/', '--types', 'Immunization', '--criteria', 'Immunization?status=completed', '--token-file', tokenFile]);
    assert.equal(saved, 'Saved destination iis: Immunization -> https://iis.example.org/fhir (put, auth bearer)');
    assert.deepEqual((await stored('iis'))?.auth, { kind: 'bearer', token: 'file-secret-token' });
    assert.deepEqual((await stored('iis'))?.criteria, ['Immunization?status=completed']);

    const { privateKey } = await generateKeyPair('RS384', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'cli-key' };
    const keyFile = join(dir, `${tenant}.jwk.json`);
    await writeFile(keyFile, JSON.stringify(jwk));
    await run(['add', 'state', '--endpoint', 'https://state.example.org/fhir', '--types', 'Immunization,Patient', '--token-url', 'https://state.example.org/token',
      '--client-id', 'hearth', '--scope', 'system/Immunization.cu', '--key-file', keyFile, '--mode', 'conditional', '--disabled']);
    const state = await stored('state');
    assert.equal(state?.auth.kind, 'smart-backend');
    assert.equal(state?.mode, 'conditional');
    assert.equal(state?.enabled, false);
    assert.deepEqual(state?.resourceTypes, ['Immunization', 'Patient']);
    await run(['add', 'open', '--endpoint', 'http://partner.example.org/fhir', '--types', 'Observation', '--auth', 'none']);
    await run(['add', 'inline', '--endpoint', 'https://inline.example.org/fhir', '--types', 'Observation', '--token', 'inline-secret']);
    assert.deepEqual((await stored('inline'))?.auth, { kind: 'bearer', token: 'inline-secret' });

    const table = await run(['list']);
    assert.match(table[0], /^ID\s+ENDPOINT\s+TYPES\s+CRITERIA\s+AUTH\s+MODE\s+ENABLED$/);
    assert.deepEqual(table.slice(1).map((l) => l.split(/\s+/)[0]), ['iis', 'inline', 'open', 'state']);
    assert.match(table.find((l) => l.startsWith('state'))!, /smart-backend\s+conditional\s+no$/);
    const json = JSON.parse((await run(['list', '--json'])).join('\n'));
    assert.equal(json.length, 4);
    assert.equal(json.find((d: { id: string }) => d.id === 'state').auth.kid, 'cli-key');
    const printed = [...table, JSON.stringify(json)].join('\n');
    for (const secret of ['file-secret-token', 'inline-secret', String(jwk.d)]) assert.ok(!printed.includes(secret), `printed ${secret}`);

    await run(['add', 'iis', '--endpoint', 'https://iis2.example.org/fhir', '--types', 'Immunization']);
    assert.deepEqual((await stored('iis'))?.auth, { kind: 'none' });
    assert.equal((await stored('iis'))?.endpoint, 'https://iis2.example.org/fhir');
    assert.deepEqual(await run(['remove', 'iis']), ['Removed destination iis and its undelivered rows (its dead letters stay until discarded)']);
    assert.equal(await stored('iis'), undefined);
    await assert.rejects(run(['remove', 'iis']), /No destination 'iis'/);
  });

  it('refuses bad options and input with a message naming what is wrong', async () => {
    await assert.rejects(syncCommand(database, ['list', '--tenant', 'no-such-tenant'], () => undefined), /Unknown tenant/);
    await assert.rejects(run(['add', 'iis', '--types', 'Immunization']), /--endpoint/);
    await assert.rejects(run(['add', 'iis', '--endpoint', 'https://x.example/fhir']), /--types/);
    await assert.rejects(run(['add', 'iis', '--endpoint', 'https://x.example/fhir', '--types', 'Immunisation']), /resourceTypes\[0\]/);
    await assert.rejects(run(['add', 'iis', '--endpoint', 'https://x.example/fhir', '--types', 'Immunization', '--criteria', 'Patient?name=x']), /criteria\[0\]/);
    await assert.rejects(run(['add', 'iis', '--endpoint', 'https://x.example/fhir', '--types', 'Immunization', '--auth', 'bearer']), /--token/);
    await assert.rejects(run(['add', 'iis', '--endpoint', 'https://x.example/fhir', '--types', 'Immunization', '--auth', 'smart-backend']), /--key-file/);
    await assert.rejects(run(['add', 'iis', '--endpoint', 'https://x.example/fhir', '--types', 'Immunization', '--auth', 'basic']), /--auth/);
    await assert.rejects(run(['add', 'iis', '--endpoint', 'https://x.example/fhir', '--types', 'Immunization', '--token-file', join(dir, 'missing')]), /Cannot read the token/);
    await assert.rejects(run(['add', 'iis', '--endpoint', 'https://x.example/fhir', '--types', 'Immunization', '--mode', 'patch']), /mode/);
    await assert.rejects(run(['dead-letters', 'list', '--limit', '0']), /--limit/);
    await assert.rejects(run(['frobnicate']), /Usage/);
    assert.deepEqual(await run(['list']), [`No sync destinations in tenant ${tenant}`]);
  });

  it('shows status, and lists, shows, replays and discards dead letters', async () => {
    await run(['add', 'iis', '--endpoint', 'https://iis.example.org/fhir', '--types', 'Immunization']);
    const older = await deadLetter('iis', 'imm-1', 600);
    const newer = await deadLetter('iis', 'imm-2', 5);
    const other = await deadLetter('lab', 'imm-3', 60);
    await database.pool.query(
      "INSERT INTO outbox (tenant_id, id, channel, target, resource_type, resource_id, version_id, action, created_at) VALUES ($1, $2, 'sync', 'iis', 'Immunization', 'imm-4', 1, 'create', now() - interval '90 seconds')",
      [tenant, randomUUID()],
    );

    const status = await run(['status']);
    assert.match(status[0], /^DESTINATION\s+BACKLOG\s+OLDEST\s+DEAD\s+BREAKER\s+OPENED$/);
    assert.match(status[1], /^iis\s+1\s+9\ds\s+2\s+closed\s+0$/);
    const statusJson = JSON.parse((await run(['status', '--json'])).join('\n'));
    assert.deepEqual([statusJson[0].id, statusJson[0].backlog, statusJson[0].deadLetters, statusJson[0].breaker], ['iis', 1, 2, null]);

    const list = await run(['dead-letters']);
    assert.match(list[0], /^ID\s+DEAD AT\s+TARGET\s+RESOURCE\s+ATTEMPTS\s+STATUS\s+ERROR$/);
    assert.deepEqual(list.slice(1).map((l) => l.split(/\s+/)[0]), [newer, other, older]);
    assert.match(list[1], /sync:iis\s+Immunization\/imm-2\/_history\/3\s+2\s+400\s+HTTP 400 from the partner$/);
    assert.deepEqual((await run(['dead-letters', 'list', '--destination', 'iis', '--limit', '1'])).slice(1).map((l) => l.split(/\s+/)[0]), [newer]);
    const json = JSON.parse((await run(['dead-letters', '--json', '--destination', 'lab'])).join('\n'));
    assert.deepEqual(json.map((r: { id: string }) => r.id), [other]);

    const shown = JSON.parse((await run(['dead-letters', 'show', newer])).join('\n'));
    assert.deepEqual([shown.resource.reference, shown.resource.versionId, shown.lastStatus, shown.lastOutcome.resourceType], ['Immunization/imm-2', 3, 400, 'OperationOutcome']);
    assert.deepEqual(await run(['dead-letters', 'replay', newer]), [`Replaying ${newer}: it is pending delivery again`]);
    assert.equal(JSON.parse((await run(['dead-letters', 'show', newer])).join('\n')).status, 'pending');
    await assert.rejects(run(['dead-letters', 'replay', newer]), /No dead letter/);
    assert.deepEqual(await run(['dead-letters', 'discard', other]), [`Discarded dead letter ${other}`]);
    await assert.rejects(run(['dead-letters', 'discard', other]), /No dead letter/);
    await assert.rejects(run(['dead-letters', 'show', 'not-a-uuid']), /No dead letter/);
    await assert.rejects(run(['dead-letters', 'replay']), /Usage/);
    assert.deepEqual((await run(['dead-letters'])).slice(1).map((l) => l.split(/\s+/)[0]), [older]);
  });

  it('runs as `hearth sync` in its own process: output on stdout, errors on stderr with a non-zero exit', async () => {
    const env = { DATABASE_URL: TEST_DATABASE_URL };
    const added = await hearth(['sync', 'add', 'iis', '--endpoint', 'https://iis.example.org/fhir', '--types', 'Immunization', '--tenant', tenant], env);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /Saved destination iis/);
    const listed = await hearth(['sync', 'list', '--tenant', tenant, '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout)[0].endpoint, 'https://iis.example.org/fhir');
    const bad = await hearth(['sync', 'add', 'iis', '--endpoint', 'nowhere', '--types', 'Immunization', '--tenant', tenant], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /^hearth: endpoint: must be an absolute http or https URL/);
    const missing = await hearth(['sync', 'remove', 'nope', '--tenant', tenant], env);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No destination 'nope'/);
  });
});
