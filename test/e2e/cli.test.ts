// The `hearth` CLI as an operator runs it: a separate process, configured by environment.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { hearth } from '../support/cli.js';
import { http } from '../support/http.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';
import { startTestServer } from '../support/test-server.js';

describe('hearth CLI (e2e)', function () {
  before(async function () {
    await requireServices(this);
  });

  it('tenant create --dedicated-partition, then tenant list shows it', async () => {
    const id = `cli-${randomUUID().slice(0, 8)}`;
    const created = await hearth(['tenant', 'create', id, '--name', 'CLI test', '--dedicated-partition'], { DATABASE_URL: TEST_DATABASE_URL });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`Created tenant ${id} \\(dedicated partitions\\); base /t/${id}/fhir`));
    const listed = await hearth(['tenant', 'list'], { DATABASE_URL: TEST_DATABASE_URL });
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.split('\n').includes(`${id}\tCLI test\tdedicated`), listed.stdout);
    const again = await hearth(['tenant', 'create', id], { DATABASE_URL: TEST_DATABASE_URL });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
  });

  it("reindex --all recomputes every row with its tenant's custom search parameters", async () => {
    const server = await startTestServer('postgres', { reindexWorker: false });
    try {
      const base = await server.newTenantBase();
      const tenant = new URL(base).pathname.split('/')[2];
      const sp = {
        resourceType: 'SearchParameter', id: 'nick', url: 'http://example.org/SearchParameter/nick', name: 'Nick', status: 'active',
        description: 'nickname', code: 'nick', base: ['Patient'], type: 'string', expression: "Patient.name.where(use = 'nickname').given",
      };
      assert.equal((await http(`${base}/SearchParameter/nick`, { method: 'PUT', json: sp })).status, 201);
      const patient = { resourceType: 'Patient', id: 'p', name: [{ use: 'nickname', given: ['Bobby'] }] };
      assert.equal((await http(`${base}/Patient/p`, { method: 'PUT', json: patient })).status, 201);
      const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL });
      const sp0 = async () => (await pool.query('SELECT sp FROM patient WHERE tenant_id = $1 AND id = $2', [tenant, 'p'])).rows[0].sp;
      try {
        assert.ok((await sp0()).nick, 'indexed on write');
        await pool.query("UPDATE patient SET sp = '{}' WHERE tenant_id = $1", [tenant]);
        const result = await hearth(['reindex', 'Patient', '--all'], { DATABASE_URL: TEST_DATABASE_URL });
        assert.equal(result.code, 0, result.stderr);
        assert.ok((await sp0()).nick, 'the custom parameter survives a full reindex');
      } finally {
        await pool.end();
      }
    } finally {
      await server.stop();
    }
  });

  it('an invalid tenant id is refused', async () => {
    const result = await hearth(['tenant', 'create', 'bad id!'], { DATABASE_URL: TEST_DATABASE_URL });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Tenant id 'bad id!' is invalid/);
  });

  it('migrate reports an up-to-date database', async () => {
    const result = await hearth(['migrate'], { DATABASE_URL: TEST_DATABASE_URL });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /up to date/);
  });

  it('a bad setting stops start-up with a message naming the variable', async () => {
    const result = await hearth(['serve'], { HEARTH_PORT: 'eighty', DATABASE_URL: TEST_DATABASE_URL });
    assert.equal(result.code, 78);
    assert.match(result.stderr, /HEARTH_PORT="eighty" is invalid/);
  });

  it('an unknown command prints the usage and fails', async () => {
    const result = await hearth(['frobnicate']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Usage:/);
  });

  it('audit verify reports a fresh tenant\'s trail intact, and the usage lists the audit commands', async () => {
    // A tenant of its own: other tests tamper with their tenants' trails on purpose.
    const id = `cli-${randomUUID().slice(0, 8)}`;
    assert.equal((await hearth(['tenant', 'create', id], { DATABASE_URL: TEST_DATABASE_URL })).code, 0);
    const verified = await hearth(['audit', 'verify', '--tenant', id], { DATABASE_URL: TEST_DATABASE_URL });
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /^intact: /);
    const usage = await hearth(['help']);
    assert.match(usage.stdout, /hearth audit verify/);
  });
});
