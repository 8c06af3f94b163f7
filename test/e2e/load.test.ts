// `hearth load` as an operator runs it (docs/loading.md): a separate process on the test
// database loads a directory holding a Synthea transaction bundle, NDJSON and a collection bundle
// into a tenant; the data is then found by search on a running server; a re-run skips every file;
// broken files fail the run with a message naming the file and the entry or line.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { readSyntheaFixture, SMALLEST_SYNTHEA_FIXTURE, syntheaFixturePath } from '../support/fixtures.js';
import { http } from '../support/http.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const run = promisify(execFile);

// The smallest Synthea fixture (61 resources).
const SYNTHEA = syntheaFixturePath(SMALLEST_SYNTHEA_FIXTURE);

async function hearth(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: 'silent' },
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const lines = (...resources: object[]) => resources.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Resource counts by type in the Synthea bundle. */
function syntheaCounts(): Map<string, number> {
  const bundle = readSyntheaFixture<{ entry: { resource: { resourceType: string } }[] }>(SMALLEST_SYNTHEA_FIXTURE);
  const counts = new Map<string, number>();
  for (const { resource } of bundle.entry) counts.set(resource.resourceType, (counts.get(resource.resourceType) ?? 0) + 1);
  return counts;
}

describe('hearth load (e2e)', function () {
  this.timeout(180_000);
  let server: TestServer;
  let base: string;
  let tenant: string;
  let dir: string;

  before(async function () {
    await requireServices(this);
    server = await startTestServer('postgres', { reindexWorker: false });
    base = await server.newTenantBase();
    tenant = new URL(base).pathname.split('/')[2];
    dir = mkdtempSync(join(tmpdir(), 'hearth-load-e2e-'));
    copyFileSync(SYNTHEA, join(dir, 'synthea.json.gz'));
    // 5 lines, loaded as 3 transactions with --chunk 2; 1.50 must keep its trailing zero.
    writeFileSync(join(dir, 'bulk.ndjson'), lines(
      { resourceType: 'Patient', id: 'nd-1', name: [{ family: 'Ndjson' }] },
      { resourceType: 'Patient', id: 'nd-2', name: [{ family: 'Ndjson' }] },
      { resourceType: 'Patient', id: 'nd-3', name: [{ family: 'Ndjson' }] },
      { resourceType: 'Observation', id: 'nd-obs', status: 'final', code: { text: 'weight' }, subject: { reference: 'Patient/nd-1' } },
      { resourceType: 'Observation', status: 'final', code: { text: 'no id' }, subject: { reference: 'Patient/nd-2' } },
    ).replace('"code":{"text":"weight"}', '"code":{"text":"weight"},"valueQuantity":{"value":1.50,"unit":"kg"}'));
    writeFileSync(join(dir, 'collection.json'), JSON.stringify({
      resourceType: 'Bundle', type: 'collection',
      entry: [
        { fullUrl: 'urn:uuid:7d0c1c2e-0d4b-4c5e-9d61-3d2b1d8a0001', resource: { resourceType: 'Patient', name: [{ family: 'Collectionson' }] } },
        { fullUrl: 'urn:uuid:7d0c1c2e-0d4b-4c5e-9d61-3d2b1d8a0002', resource: { resourceType: 'Observation', status: 'final', code: { text: 'c' }, subject: { reference: 'urn:uuid:7d0c1c2e-0d4b-4c5e-9d61-3d2b1d8a0001' } } },
      ],
    }));
  });

  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const count = async (query: string) => {
    const res = await http(`${base}/${query}${query.includes('?') ? '&' : '?'}_summary=count&_total=accurate`);
    assert.equal(res.status, 200, res.text);
    return res.body.total as number;
  };

  it('loads a Synthea bundle, NDJSON and a collection bundle, then skips them all on a re-run', async () => {
    const synthea = syntheaCounts();
    const total = [...synthea.values()].reduce((a, b) => a + b, 0) + 5 + 2;
    const first = await hearth(['load', '--tenant', tenant, '--chunk', '2', '--concurrency', '2', dir]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`Files: 3 loaded, 0 skipped \\(already loaded\\), 0 failed\\. Resources: ${total} in`));
    assert.match(first.stderr, /100%/, 'the progress bar ends complete');
    // Each resource loaded is recorded as a transaction entry, and the command leaves no entry of
    // the audit journal unexpanded (ADR 0016): the trail holds them before it exits.
    const owner = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
    try {
      const { rows } = await owner.query<{ pending: number; entries: number }>(
        `SELECT (SELECT count(*) FROM audit_journal WHERE tenant_id = $1)::int AS pending,
                (SELECT count(DISTINCT content::jsonb #>> '{entity,0,what,reference}') FROM audit_events WHERE tenant_id = $1 AND content LIKE '%"transaction-entry"%')::int AS entries`,
        [tenant],
      );
      assert.equal(rows[0].pending, 0);
      assert.equal(rows[0].entries, total, 'one resource written per transaction entry recorded');
    } finally {
      await owner.end();
    }

    assert.equal(await count('Patient'), synthea.get('Patient')! + 3 + 1);
    assert.equal(await count('Observation'), synthea.get('Observation')! + 2 + 1);
    assert.equal(await count('Encounter'), synthea.get('Encounter'));
    // urn:uuid references resolved by the transactions: Synthea's and the collection's.
    assert.equal(await count('Encounter?subject:Patient.family=Wiegand'), synthea.get('Encounter'));
    assert.equal(await count('Observation?subject:Patient.family=Collectionson'), 1);
    assert.equal(await count('Observation?subject:Patient.family=Ndjson'), 2);
    const obs = await http(`${base}/Observation/nd-obs`);
    assert.equal(obs.status, 200);
    assert.match(obs.text, /"value":1\.50\b/, 'the decimal keeps the lexeme it was loaded with');

    const again = await hearth(['load', '--tenant', tenant, dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Files: 0 loaded, 3 skipped \(already loaded\), 0 failed\. Resources: 0 in/);
    assert.equal(await count('Patient'), synthea.get('Patient')! + 3 + 1, 'nothing loaded twice');
  });

  it('fails with a non-zero exit naming the file and the line or entry; files loaded before stay loaded', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'hearth-load-broken-'));
    try {
      writeFileSync(join(broken, 'a-good.ndjson'), lines({ resourceType: 'Patient', id: 'good-1' }));
      writeFileSync(join(broken, 'b-broken.ndjson'), lines({ resourceType: 'Patient', id: 'br-1' }, { resourceType: 'Patient', id: 'br-2', gender: 'robot' }));
      writeFileSync(join(broken, 'c-broken.json'), JSON.stringify({
        resourceType: 'Bundle', type: 'collection',
        entry: [{ resource: { resourceType: 'Patient', id: 'br-3' } }, { resource: { resourceType: 'Observation', status: 'bogus', code: { text: 'x' } } }],
      }));
      const stopped = await hearth(['load', '--tenant', tenant, '--concurrency', '1', broken]);
      assert.equal(stopped.code, 1);
      assert.match(stopped.stderr, /b-broken\.ndjson line 2 \(Patient\): Patient\.gender: Value 'robot'/);
      assert.match(stopped.stdout, /Files: 1 loaded, 0 skipped \(already loaded\), 1 failed, 1 not attempted\./);

      const all = await hearth(['load', '--tenant', tenant, '--continue-on-error', broken]);
      assert.equal(all.code, 1);
      assert.match(all.stderr, /b-broken\.ndjson line 2 \(Patient\): Patient\.gender/);
      assert.match(all.stderr, /c-broken\.json entry 1 \(Observation\): Observation\.status: Value 'bogus'/);
      assert.match(all.stdout, /Files: 0 loaded, 1 skipped \(already loaded\), 2 failed\./);

      // Each transaction is atomic: nothing of the failing chunk or bundle was stored.
      assert.equal((await http(`${base}/Patient/good-1`)).status, 200);
      for (const id of ['br-1', 'br-2', 'br-3']) assert.equal((await http(`${base}/Patient/${id}`)).status, 404, id);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it('refuses an unknown tenant and bad options before loading anything', async () => {
    const unknown = await hearth(['load', '--tenant', 'no-such-tenant', dir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Tenant 'no-such-tenant' does not exist/);
    const bad = await hearth(['load', '--concurrency', '0', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--concurrency takes a positive integer/);
  });
});
