// The SMART registrations as an operator makes them (issue 10, "CLI and admin API"): `hearth
// client add` registers a backend service from a JWKS file, which then gets a token from a
// running server and reads with it; `hearth user add` and `hearth launch create` print what an
// EHR needs. Separate processes, configured by environment, like cli.test.ts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hearth as runHearth } from '../support/cli.js';
import { http } from '../support/http.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';
import { generateClientKeys, postForm, signClientAssertion } from '../support/smart-clients.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** The CLI on the test database. */
const hearth = (args: string[], env: NodeJS.ProcessEnv = {}) => runHearth(args, { DATABASE_URL: TEST_DATABASE_URL, ...env });

describe('hearth client|user|launch (e2e)', function () {
  this.timeout(120_000);
  let server: TestServer;
  let dir: string;
  before(async function () {
    await requireServices(this);
    server = await startTestServer('postgres', { auth: 'required', reindexWorker: false });
    dir = await mkdtemp(join(tmpdir(), 'hearth-smart-cli-'));
  });
  after(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a backend service registered with `hearth client add` gets a token and reads; `client remove` ends it', async () => {
    const base = await server.newTenantBase();
    const tenant = /\/t\/([^/]+)\/fhir$/.exec(base)![1];
    const keys = await generateClientKeys('RS384');
    const jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(keys.jwks));
    const added = await hearth(['client', 'add', '--tenant', tenant, '--name', 'Registry feed', '--kind', 'backend-service', '--scope', 'system/Patient.rs', '--jwks', jwksFile]);
    assert.equal(added.code, 0, added.stderr);
    const clientId = /[A-Za-z0-9._~-]{8,}/.exec(added.stdout.trim().split('\n').pop()!)?.[0];
    assert.ok(clientId, added.stdout);
    const listed = await hearth(['client', 'list', '--tenant', tenant]);
    assert.ok(listed.stdout.includes(clientId!), listed.stdout);

    const token = async () => postForm(`${base}/auth/token`, {
      grant_type: 'client_credentials', scope: 'system/Patient.rs',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await signClientAssertion({ clientId: clientId!, aud: `${base}/auth/token`, keys }),
    });
    const issued = await token();
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    const read = await http(`${base}/Patient`, { headers: { authorization: `Bearer ${issued.body.access_token}` } });
    assert.equal(read.status, 200);

    const removed = await hearth(['client', 'remove', clientId!, '--tenant', tenant]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal((await token()).status, 401, 'a removed client gets no token');
  });

  it('`hearth user add` and `hearth launch create` for a tenant; an unknown tenant is refused', async () => {
    const base = await server.newTenantBase();
    const tenant = /\/t\/([^/]+)\/fhir$/.exec(base)![1];
    const user = await hearth(['user', 'add', '--tenant', tenant, '--username', `dr-${randomUUID().slice(0, 6)}`, '--fhir-user', 'Practitioner/1'], {
      HEARTH_NEW_USER_PASSWORD: 'correct horse battery staple',
    });
    assert.equal(user.code, 0, user.stderr);
    const launch = await hearth(['launch', 'create', '--tenant', tenant, '--patient', 'p-1']);
    assert.equal(launch.code, 0, launch.stderr);
    assert.match(launch.stdout.trim(), /[A-Za-z0-9_-]{16,}/);
    const unknown = await hearth(['launch', 'create', '--tenant', 'no-such-tenant', '--patient', 'p-1']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no-such-tenant/);
  });
});
