// AuditEvent is append-only over the API (issue 11; src/fhir/append-only.ts): create,
// conditional create, update, conditional update, patch and delete answer 405 with an Allow
// header and an OperationOutcome, for the open server's administrator too; a transaction
// holding such an entry is refused whole, a batch refuses only that entry; reads, searches
// and history of AuditEvent stay allowed, and the CapabilityStatement claims no write for it.
import assert from 'node:assert/strict';
import type { Bundle, CapabilityStatement, OperationOutcome } from 'fhir/r4.js';
import { http, type HttpResult } from '../support/http.js';
import { generateClientKeys, postForm, registerClient, signClientAssertion } from '../support/smart-clients.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

type Json = Record<string, any>;

/** A structurally valid AuditEvent a client might try to plant in the trail. */
const forged = (id?: string): Json => ({
  resourceType: 'AuditEvent',
  ...(id ? { id } : {}),
  type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
  recorded: '2026-01-01T00:00:00Z',
  agent: [{ requestor: true, who: { display: 'forger' } }],
  source: { observer: { display: 'forger' } },
});
const patient = (family: string): Json => ({ resourceType: 'Patient', name: [{ family }] });

function assertRefused(res: HttpResult<Json>, what: string): void {
  assert.equal(res.status, 405, `${what}: ${res.text}`);
  assert.equal(res.headers.get('allow'), 'GET', `${what}: Allow header`);
  const outcome = res.body as OperationOutcome;
  assert.equal(outcome.resourceType, 'OperationOutcome', what);
  assert.equal(outcome.issue[0].code, 'not-supported', what);
}

for (const mode of DATABASE_MODES) {
  describe(`AuditEvent is append-only over the API (e2e, ${mode})`, function () {
    this.timeout(120_000);
    const fixture = useTestServer(mode);
    const tenant = fixture.useTenant();
    const auditEventCount = async () => {
      // The forged events' recorded time: the server's own events (the refusals it recorded) are recorded now.
      const res = await http<Bundle>(`${tenant.base}/AuditEvent?date=2026-01-01&_summary=count`);
      assert.equal(res.status, 200, res.text);
      return res.body.total;
    };

    it('refuses POST, conditional POST, PUT, conditional PUT, PATCH, DELETE and conditional DELETE with 405, storing nothing', async () => {
      const base = tenant.base;
      assertRefused(await http(`${base}/AuditEvent`, { method: 'POST', json: forged() }), 'create');
      assertRefused(await http(`${base}/AuditEvent`, { method: 'POST', json: forged(), headers: { 'If-None-Exist': 'type=rest' } }), 'conditional create');
      assertRefused(await http(`${base}/AuditEvent/planted`, { method: 'PUT', json: forged('planted') }), 'update-as-create');
      assertRefused(await http(`${base}/AuditEvent?type=rest`, { method: 'PUT', json: forged() }), 'conditional update');
      const patch = [{ op: 'replace', path: '/recorded', value: '2020-01-01T00:00:00Z' }];
      assertRefused(await http(`${base}/AuditEvent/planted`, { method: 'PATCH', json: patch, contentType: 'application/json-patch+json' }), 'patch');
      assertRefused(await http(`${base}/AuditEvent/planted`, { method: 'DELETE' }), 'delete');
      assertRefused(await http(`${base}/AuditEvent?type=rest`, { method: 'DELETE' }), 'conditional delete');
      assertRefused(await http(`${base}/AuditEvent/planted`, { method: 'POST', json: forged('planted') }), 'POST on an instance');
      assert.equal((await http(`${base}/AuditEvent/planted`)).status, 404, 'nothing was stored under the id');
      assert.equal(await auditEventCount(), 0);
    });

    it('refuses a transaction holding an AuditEvent write whole: its other entries are not stored', async () => {
      for (const request of [{ method: 'POST', url: 'AuditEvent' }, { method: 'PUT', url: 'AuditEvent/tx-planted' }, { method: 'DELETE', url: 'AuditEvent/tx-planted' }] as const) {
        const res = await http<Json>(tenant.base, {
          method: 'POST',
          json: {
            resourceType: 'Bundle',
            type: 'transaction',
            entry: [
              { fullUrl: 'urn:uuid:7f1c2a2e-0000-4000-8000-000000000001', resource: patient('InTransaction'), request: { method: 'POST', url: 'Patient' } },
              { ...(request.method === 'DELETE' ? {} : { resource: forged(request.method === 'PUT' ? 'tx-planted' : undefined) }), request },
            ],
          },
        });
        assert.equal(res.status, 405, `${request.method} ${request.url}: ${res.text}`);
        assert.equal(res.body.resourceType, 'OperationOutcome');
      }
      assert.equal((await http<Bundle>(`${tenant.base}/Patient?_summary=count`)).body.total, 0, 'the Patient entry rolled back');
      assert.equal(await auditEventCount(), 0);
    });

    it('in a batch refuses only the AuditEvent entries (405); the other entries succeed', async () => {
      const res = await http<Json>(tenant.base, {
        method: 'POST',
        json: {
          resourceType: 'Bundle',
          type: 'batch',
          entry: [
            { resource: forged(), request: { method: 'POST', url: 'AuditEvent' } },
            { resource: patient('InBatch'), request: { method: 'POST', url: 'Patient' } },
            { resource: forged('batch-planted'), request: { method: 'PUT', url: 'AuditEvent/batch-planted' } },
            { request: { method: 'DELETE', url: 'AuditEvent/batch-planted' } },
          ],
        },
      });
      assert.equal(res.status, 200, res.text);
      const statuses = res.body.entry.map((e: Json) => String(e.response.status));
      assert.match(statuses[0], /^405/);
      assert.match(statuses[1], /^201/);
      assert.match(statuses[2], /^405/);
      assert.match(statuses[3], /^405/);
      assert.equal(res.body.entry[0].response.outcome.resourceType, 'OperationOutcome');
      assert.equal((await http<Bundle>(`${tenant.base}/Patient?_summary=count`)).body.total, 1);
      assert.equal(await auditEventCount(), 0);
    });

    it('still serves reads, searches (GET and POST _search) and history of AuditEvent', async () => {
      const base = tenant.base;
      const search = await http<Bundle>(`${base}/AuditEvent?type=rest`);
      assert.equal(search.status, 200, search.text);
      assert.equal(search.body.resourceType, 'Bundle');
      const posted = await http<Bundle>(`${base}/AuditEvent/_search`, { method: 'POST', body: 'type=rest', contentType: 'application/x-www-form-urlencoded' });
      assert.equal(posted.status, 200, posted.text);
      assert.equal((await http(`${base}/AuditEvent/unknown`)).status, 404);
      assert.equal((await http(`${base}/AuditEvent/_history`)).status, 200);
      assert.equal((await http(`${base}/AuditEvent/unknown/_history`)).status, 404);
    });

    it('the CapabilityStatement claims no create, update, patch or delete for AuditEvent, and still does for Patient', async () => {
      const res = await http<CapabilityStatement>(`${tenant.base}/metadata`);
      assert.equal(res.status, 200);
      const resources = res.body.rest![0].resource!;
      const audit = resources.find((r) => r.type === 'AuditEvent')!;
      const codes = audit.interaction!.map((i) => i.code);
      assert.deepEqual(codes, ['read', 'vread', 'history-instance', 'history-type', 'search-type']);
      assert.equal(audit.conditionalCreate, false);
      assert.equal(audit.conditionalUpdate, false);
      assert.equal(audit.conditionalDelete, 'not-supported');
      assert.equal(audit.updateCreate, false);
      const patientCodes = resources.find((r) => r.type === 'Patient')!.interaction!.map((i) => i.code);
      for (const code of ['create', 'update', 'patch', 'delete']) assert.ok(patientCodes.includes(code as never), code);
    });
  });
}

describe('AuditEvent is append-only for the broadest token too (e2e, HEARTH_AUTH=required)', function () {
  this.timeout(120_000);
  const fixture = useTestServer('postgres', { auth: 'required', reindexWorker: false });

  /** A backend service holding system/*.cruds: every SMART scope on every type, AuditEvent included. */
  async function fullToken(base: string): Promise<string> {
    const tenantId = /\/t\/([^/]+)\/fhir$/.exec(base)![1];
    const keys = await generateClientKeys('ES384');
    const client = await registerClient(fixture.server.server.database, tenantId, { name: 'admin-svc', kind: 'backend-service', jwks: keys.jwks, scope: 'system/*.cruds' });
    const assertion = await signClientAssertion({ clientId: client.clientId, aud: `${base}/auth/token`, keys });
    const result = await postForm(`${base}/auth/token`, {
      grant_type: 'client_credentials', scope: 'system/*.cruds', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return result.body.access_token as string;
  }

  it('system/*.cruds may read and search AuditEvent, and still cannot create, update, patch or delete one', async () => {
    const base = await fixture.server.newTenantBase();
    const headers = { authorization: `Bearer ${await fullToken(base)}` };
    assertRefused(await http(`${base}/AuditEvent`, { method: 'POST', json: forged(), headers }), 'create with a token');
    assertRefused(await http(`${base}/AuditEvent/planted`, { method: 'PUT', json: forged('planted'), headers }), 'update with a token');
    assertRefused(await http(`${base}/AuditEvent/planted`, { method: 'DELETE', headers }), 'delete with a token');
    const patch = [{ op: 'add', path: '/outcome', value: '0' }];
    assertRefused(await http(`${base}/AuditEvent/planted`, { method: 'PATCH', json: patch, contentType: 'application/json-patch+json', headers }), 'patch with a token');
    const transaction = await http<Json>(base, {
      method: 'POST',
      headers,
      json: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: forged('planted'), request: { method: 'PUT', url: 'AuditEvent/planted' } }] },
    });
    assert.equal(transaction.status, 405, transaction.text);
    const search = await http<Bundle>(`${base}/AuditEvent?date=2026-01-01&_summary=count`, { headers });
    assert.equal(search.status, 200, search.text);
    assert.equal(search.body.total, 0);
  });
});
