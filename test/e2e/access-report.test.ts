// A patient's access report (issue 11 "Auditor access"; src/fhir/operations/access-report.ts):
// GET [base]/Patient/{id}/$access-report?_since=&_count= lists the AuditEvents about the
// patient, newest first, paged by keyset; bad input is a 400 naming the parameter; and reading
// the trail — the report and AuditEvent searches alike — needs an AuditEvent search scope
// (system/AuditEvent.rs), which a token for Observations only does not have (403).
import assert from 'node:assert/strict';
import type { AuditEvent, Bundle, OperationDefinition, OperationOutcome } from 'fhir/r4.js';
import { allIds, appendEvents, auditEvents, newestFirst, tenantOf } from '../support/audit-search-events.js';
import { http, type HttpResult } from '../support/http.js';
import { generateClientKeys, postForm, registerClient, signClientAssertion } from '../support/smart-clients.js';
import { useTestServer } from '../support/test-server.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');

/** Reads of Patient/{patient} at T0 + each of `seconds`, by Practitioner/pr1. */
const readsOf = (patient: string, seconds: readonly number[]): AuditEvent[] =>
  seconds.map((s) => auditEvents({ event: { kind: 'rest', interaction: 'read' }, recorded: new Date(T0 + s * 1000), entities: [{ reference: `Patient/${patient}` }], patients: [`Patient/${patient}`] })[0]);

describe('$access-report (e2e)', function () {
  this.timeout(120_000);
  const fixture = useTestServer('postgres', { audit: 'off' });

  it('lists the AuditEvents about the patient, newest first, paged without duplicate or gap; _since keeps the later ones', async () => {
    const base = await fixture.server.newTenantBase();
    const mine = readsOf('p1', [1, 2, 2, 3, 5, 8, 13, 21, 34]);
    const others = readsOf('p2', [1, 4, 9]);
    await appendEvents(fixture.server, base, [...mine, ...others]);

    const { ids, pages } = await allIds(`${base}/Patient/p1/$access-report?_count=2`);
    assert.deepEqual(ids, newestFirst(mine));
    assert.equal(pages, 5);

    const first = await http<Bundle>(`${base}/Patient/p1/$access-report?_count=2&_since=2026-11-20T10:00:05Z`);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.resourceType, 'Bundle');
    assert.equal(first.body.type, 'searchset');
    assert.equal(first.body.entry![0].fullUrl, `${base}/AuditEvent/${first.body.entry![0].resource!.id}`);
    const next = first.body.link!.find((l) => l.relation === 'next')!.url;
    assert.ok(next.startsWith(`${base}/Patient/p1/$access-report?`), next);
    assert.match(next, /_since=2026-11-20T10%3A00%3A05Z/);
    const since = await allIds(`${base}/Patient/p1/$access-report?_count=2&_since=2026-11-20T10:00:05Z`);
    assert.deepEqual(since.ids, newestFirst(mine.filter((e) => e.recorded >= '2026-11-20T10:00:05')));
    // An offset instant means the same moment.
    const offset = await allIds(`${base}/Patient/p1/$access-report?_since=${encodeURIComponent('2026-11-20T11:00:13+01:00')}`);
    assert.deepEqual(offset.ids, newestFirst(mine.filter((e) => e.recorded >= '2026-11-20T10:00:13')));

    assert.deepEqual((await allIds(`${base}/Patient/p2/$access-report`)).ids, newestFirst(others));
    assert.deepEqual((await allIds(`${base}/Patient/nobody/$access-report`)).ids, []);
    // POST with the parameters in the query string answers the same (a read-only operation).
    const posted = await http<Bundle>(`${base}/Patient/p2/$access-report`, { method: 'POST', json: { resourceType: 'Parameters' } });
    assert.equal(posted.status, 200, posted.text);
    assert.deepEqual(posted.body.entry!.map((e) => e.resource!.id), newestFirst(others));
  });

  it('refuses a bad _since, a repeated _since and an unknown parameter with 400 naming it', async () => {
    const base = await fixture.server.newTenantBase();
    for (const [query, expression] of [
      ['_since=yesterday', '_since'],
      ['_since=2026-11-20', '_since'], // an instant needs a time and a zone
      ['_since=2026-11-20T10:00:00', '_since'],
      ['_since=2026-02-30T10:00:00Z', '_since'],
      ['_since=2026-11-20T10:00:00Z&_since=2026-11-21T10:00:00Z', '_since'],
      ['_count=-1', '_count'],
      ['patient=Patient/other', 'patient'],
    ] as const) {
      const res = await http<OperationOutcome>(`${base}/Patient/p1/$access-report?${query}`);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      assert.ok(res.body.issue.some((i) => i.expression?.includes(expression)), `${query}: ${res.text}`);
    }
  });

  it('is a read-only instance operation on Patient, with its OperationDefinition', async () => {
    const base = await fixture.server.newTenantBase();
    assert.equal((await http(`${base}/Patient/$access-report`)).status, 400, 'type level');
    assert.equal((await http(`${base}/Observation/o1/$access-report`)).status, 400, 'another type');
    assert.equal((await http(`${base}/Patient/p1/$access-report`, { method: 'DELETE' })).status, 405);
    const definition = await http<OperationDefinition>(`${base}/OperationDefinition/hearth-access-report`);
    assert.equal(definition.status, 200, definition.text);
    assert.equal(definition.body.code, 'access-report');
    assert.equal(definition.body.affectsState, false);
    assert.deepEqual(definition.body.resource, ['Patient']);
  });
});

describe('reading the audit trail needs an AuditEvent scope (e2e, HEARTH_AUTH=required)', function () {
  this.timeout(120_000);
  const fixture = useTestServer('postgres', { auth: 'required', audit: 'off', reindexWorker: false });

  async function token(base: string, scope: string): Promise<Record<string, string>> {
    const keys = await generateClientKeys('ES384');
    const client = await registerClient(fixture.server.server.database, tenantOf(base), { name: `svc ${scope}`, kind: 'backend-service', jwks: keys.jwks, scope });
    const assertion = await signClientAssertion({ clientId: client.clientId, aud: `${base}/auth/token`, keys });
    const result = await postForm(`${base}/auth/token`, {
      grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return { authorization: `Bearer ${result.body.access_token as string}` };
  }

  const assertForbidden = (res: HttpResult<OperationOutcome>, what: string) => {
    assert.equal(res.status, 403, `${what}: ${res.text}`);
    assert.equal(res.body.resourceType, 'OperationOutcome', what);
    assert.match(res.body.issue[0].diagnostics ?? '', /AuditEvent/, what);
  };

  it('system/AuditEvent.rs searches, reads and gets the report; system/Observation.rs gets 403 on each', async () => {
    const base = await fixture.server.newTenantBase();
    const events = readsOf('p1', [1, 2]);
    await appendEvents(fixture.server, base, events);
    const auditor = await token(base, 'system/AuditEvent.rs');
    const observer = await token(base, 'system/Observation.rs');

    assert.deepEqual(sortedIds((await http<Bundle>(`${base}/AuditEvent?patient=Patient/p1`, { headers: auditor })).body), events.map((e) => e.id!).sort());
    assert.equal((await http(`${base}/AuditEvent/${events[0].id}`, { headers: auditor })).status, 200);
    const report = await http<Bundle>(`${base}/Patient/p1/$access-report`, { headers: auditor });
    assert.equal(report.status, 200, report.text);
    assert.deepEqual(report.body.entry!.map((e) => e.resource!.id), newestFirst(events));

    assertForbidden(await http(`${base}/AuditEvent?patient=Patient/p1`, { headers: observer }), 'search');
    assertForbidden(await http(`${base}/AuditEvent/_search`, { method: 'POST', body: 'patient=Patient/p1', headers: { ...observer, 'content-type': 'application/x-www-form-urlencoded' } }), 'POST _search');
    assertForbidden(await http(`${base}/AuditEvent/${events[0].id}`, { headers: observer }), 'read');
    assertForbidden(await http(`${base}/Patient/p1/$access-report`, { headers: observer }), '$access-report');
    assert.equal((await http(`${base}/Observation?code=x`, { headers: observer })).status, 200, 'the token works for what it grants');
  });
});

const sortedIds = (bundle: Bundle) => (bundle.entry ?? []).map((e) => e.resource!.id!).sort();
