// Every access recorded (issue 11 "Recording"; IHE BALP; docs/adr/0014): over HTTP against
// PostgreSQL, what each interaction leaves in the tenant's trail — read as the database owner,
// so that reading the trail does not add to it — and that a trail that cannot be written fails
// the request with 503 and no data, storing nothing.
import assert from 'node:assert/strict';
import type { AuditEvent, Bundle } from 'fhir/r4.js';
import pg from 'pg';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import { expandAuditJournal } from '../../src/cli/audit-commands.js';
import { http } from '../support/http.js';
import { TEST_DATABASE_URL } from '../support/services.js';
import { generateClientKeys, postForm, registerClient, signClientAssertion } from '../support/smart-clients.js';
import { useTestServer } from '../support/test-server.js';

type Json = Record<string, any>;

const tenantOf = (base: string): string => /\/t\/([^/]+)\/fhir$/.exec(base)![1];
const patient = (family: string): Json => ({ resourceType: 'Patient', name: [{ family }], birthDate: '1970-01-01' });
const observation = (patientId: string): Json => ({ resourceType: 'Observation', status: 'final', code: { text: 'weight' }, subject: { reference: `Patient/${patientId}` } });

const subtypeOf = (e: AuditEvent) => e.subtype?.[0]?.code;
const patientsOf = (e: AuditEvent) => (e.entity ?? []).filter((x) => x.role?.code === '1').map((x) => x.what?.reference);
const resourcesOf = (e: AuditEvent) => (e.entity ?? []).filter((x) => x.role?.code === '4').map((x) => x.what?.reference);
const queryOf = (e: AuditEvent) => {
  const q = (e.entity ?? []).find((x) => x.query !== undefined)?.query;
  return q === undefined ? undefined : Buffer.from(q, 'base64').toString('utf8');
};

describe('the audit trail records every access (e2e, postgres)', function () {
  this.timeout(120_000);
  const fixture = useTestServer('postgres', { reindexWorker: false });
  let owner: pg.Pool;

  before(() => {
    owner = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  });
  after(async () => {
    await owner?.end();
  });

  /** The tenant's events, oldest first (its journal expanded first, as an auditor's read does). */
  async function trail(base: string): Promise<AuditEvent[]> {
    await expandAuditJournal(owner, auditHasher, [tenantOf(base)]);
    const { rows } = await owner.query<{ content: string }>('SELECT content FROM audit_events WHERE tenant_id = $1 ORDER BY recorded, id', [tenantOf(base)]);
    return rows.map((r) => JSON.parse(r.content) as AuditEvent);
  }

  it('a create: one event (C, outcome 0) naming the version written and its patient, the client address, and no data of the patient', async () => {
    const base = await fixture.server.newTenantBase();
    const created = await http<Json>(`${base}/Patient`, { method: 'POST', json: patient('Unforgettable') });
    assert.equal(created.status, 201);
    const [event, ...more] = await trail(base);
    assert.equal(more.length, 0);
    assert.equal(event.type.code, 'rest');
    assert.equal(subtypeOf(event), 'create');
    assert.equal(event.action, 'C');
    assert.equal(event.outcome, '0');
    assert.deepEqual(resourcesOf(event), [`Patient/${created.body.id}/_history/1`]);
    assert.deepEqual(patientsOf(event), [`Patient/${created.body.id}`]);
    assert.match(event.agent.find((a) => a.network?.type === '2')?.network?.address ?? '', /127\.0\.0\.1/);
    assert.equal(event.agent[0].name, 'anonymous', 'the open mode records an anonymous agent');
    const text = JSON.stringify(event);
    assert.doesNotMatch(text, /Unforgettable|1970-01-01/, 'no name, no birth date: references only');
  });

  it('a search: one event per patient whose data it returned, each with the query as sent', async () => {
    const base = await fixture.server.newTenantBase();
    const a = (await http<Json>(`${base}/Patient`, { method: 'POST', json: patient('A') })).body.id;
    const b = (await http<Json>(`${base}/Patient`, { method: 'POST', json: patient('B') })).body.id;
    await http(`${base}/Observation`, { method: 'POST', json: observation(a) });
    await http(`${base}/Observation`, { method: 'POST', json: observation(b) });
    const before = (await trail(base)).length;
    const found = await http<Bundle>(`${base}/Observation?status=final&_count=10`);
    assert.equal(found.body.entry?.length, 2);
    const events = (await trail(base)).slice(before);
    assert.equal(events.length, 2);
    assert.deepEqual(events.map((e) => patientsOf(e)[0]).sort(), [`Patient/${a}`, `Patient/${b}`].sort());
    for (const e of events) {
      assert.equal(subtypeOf(e), 'search-type');
      assert.equal(e.action, 'E');
      assert.equal(queryOf(e), 'status=final&_count=10');
    }
  });

  it('a read records its version; a failed read records its outcome and no patient; the CapabilityStatement is not recorded', async () => {
    const base = await fixture.server.newTenantBase();
    const id = (await http<Json>(`${base}/Patient`, { method: 'POST', json: patient('R') })).body.id;
    const before = (await trail(base)).length;
    assert.equal((await http(`${base}/Patient/${id}`)).status, 200);
    assert.equal((await http(`${base}/Patient/absent`)).status, 404);
    assert.equal((await http(`${base}/metadata`)).status, 200);
    assert.equal((await http(`${base}/NoSuchType`)).status, 404);
    const [read, missing, unroutable, ...more] = (await trail(base)).slice(before);
    assert.equal(more.length, 0, 'metadata leaves nothing');
    assert.equal(read.action, 'R');
    assert.deepEqual(resourcesOf(read), [`Patient/${id}/_history/1`]);
    assert.deepEqual(patientsOf(read), [`Patient/${id}`]);
    assert.equal(missing.outcome, '4');
    assert.match(missing.outcomeDesc ?? '', /^404/);
    assert.deepEqual(patientsOf(missing), []);
    assert.equal(unroutable.outcome, '4');
    assert.equal(subtypeOf(unroutable), 'search-type');
  });

  it('a transaction: one event per entry, committed with it, naming the entry; a failed transaction: one event, and none of its entries', async () => {
    const base = await fixture.server.newTenantBase();
    const ok = await http<Json>(base, {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:p', resource: patient('T'), request: { method: 'POST', url: 'Patient' } },
          { resource: { ...observation('x'), subject: { reference: 'urn:uuid:p' } }, request: { method: 'POST', url: 'Observation' } },
        ],
      },
    });
    assert.equal(ok.status, 200, ok.text);
    const events = await trail(base);
    assert.equal(events.length, 2);
    const entryOf = (e: AuditEvent) => e.entity?.flatMap((x) => x.detail ?? []).find((d) => d.type === 'transaction-entry')?.valueString;
    assert.deepEqual(events.map(entryOf).sort(), ['0', '1']);
    const patientId = ok.body.entry[0].response.location.split('/')[1];
    for (const e of events) assert.deepEqual(patientsOf(e), [`Patient/${patientId}`]);

    const failed = await http(base, {
      method: 'POST',
      json: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patient('U'), request: { method: 'POST', url: 'Patient' } }, { resource: { resourceType: 'Patient', gender: 42 }, request: { method: 'POST', url: 'Patient' } }] },
    });
    assert.equal(failed.status, 400);
    const after = (await trail(base)).slice(2);
    assert.equal(after.length, 1);
    assert.equal(subtypeOf(after[0]), 'transaction');
    assert.equal(after[0].outcome, '4');
  });

  it('a request that does not parse is recorded as what it tried to be', async () => {
    const base = await fixture.server.newTenantBase();
    const bad = await http(`${base}/Patient`, { method: 'POST', body: '{"resourceType": "Patient", ', contentType: 'application/fhir+json' });
    assert.equal(bad.status, 400);
    const [event, ...more] = await trail(base);
    assert.equal(more.length, 0);
    assert.equal(subtypeOf(event), 'create');
    assert.equal(event.outcome, '4');
  });

  describe('when the trail cannot be written', () => {
    let base: string;
    beforeEach(async () => {
      base = await fixture.server.newTenantBase();
    });
    afterEach(async () => {
      await owner.query('DROP TRIGGER IF EXISTS test_refuse_audit ON audit_journal');
      await owner.query('DROP TRIGGER IF EXISTS test_refuse_audit ON audit_trail');
      await owner.query('DROP FUNCTION IF EXISTS test_refuse_audit()');
    });
    /**
     * Makes every insert of this tenant into `table` fail (only this tenant's: other tests run on):
     * audit_journal is what the request path writes, audit_trail what the expander writes.
     */
    async function breakTrail(table: 'audit_journal' | 'audit_trail' = 'audit_journal'): Promise<void> {
      const tenant = tenantOf(base).replace(/'/g, "''");
      await owner.query(`CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.tenant_id = '${tenant}' THEN RAISE EXCEPTION 'audit disk full'; END IF; RETURN NEW; END $$`);
      await owner.query(`CREATE TRIGGER test_refuse_audit BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()`);
    }

    it('when only the expansion fails, requests are served and recorded, auditors get 503, and nothing recorded is lost', async () => {
      await breakTrail('audit_trail');
      const id = (await http<Json>(`${base}/Patient`, { method: 'POST', json: patient('Kept') })).body.id;
      assert.equal((await http(`${base}/Patient/${id}`)).status, 200);
      const { rows: pending } = await owner.query('SELECT count(*)::int AS n FROM audit_journal WHERE tenant_id = $1', [tenantOf(base)]);
      assert.equal(pending[0].n, 2, 'the create and the read are in the journal');
      // An auditor would see an incomplete trail: refused, not answered with part of it.
      const search = await http(`${base}/AuditEvent?patient=Patient/${id}`);
      assert.equal(search.status, 503);
      await owner.query('DROP TRIGGER test_refuse_audit ON audit_trail');
      const found = await http<Json>(`${base}/AuditEvent?patient=Patient/${id}&_sort=date`);
      assert.equal(found.status, 200);
      assert.deepEqual(found.body.entry.map((e: Json) => e.resource.action), ['C', 'R'], 'both interactions reached the trail once repaired');
    });

    it('a read answers 503 with no data of the resource', async () => {
      const id = (await http<Json>(`${base}/Patient`, { method: 'POST', json: patient('Hidden') })).body.id;
      await breakTrail();
      const read = await http(`${base}/Patient/${id}`);
      assert.equal(read.status, 503);
      assert.equal((read.body as Json).resourceType, 'OperationOutcome');
      assert.doesNotMatch(read.text, /Hidden/);
      const search = await http(`${base}/Patient?name=Hidden`);
      assert.equal(search.status, 503);
      assert.doesNotMatch(search.text, /Hidden/);
    });

    it('a write answers 503 and stores nothing, alone or in a transaction', async () => {
      await breakTrail();
      assert.equal((await http(`${base}/Patient`, { method: 'POST', json: patient('Lost') })).status, 503);
      const tx = await http(base, { method: 'POST', json: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patient('Lost'), request: { method: 'POST', url: 'Patient' } }] } });
      assert.equal(tx.status, 503);
      const { rows } = await owner.query('SELECT count(*)::int AS n FROM patient WHERE tenant_id = $1', [tenantOf(base)]);
      assert.equal(rows[0].n, 0);
    });
  });
});

describe('the audit trail records callers and refusals with tokens (e2e, HEARTH_AUTH=required)', function () {
  this.timeout(120_000);
  const fixture = useTestServer('postgres', { auth: 'required', reindexWorker: false });
  let owner: pg.Pool;
  before(() => {
    owner = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  });
  after(async () => {
    await owner?.end();
  });
  const trail = async (base: string) =>
    (await expandAuditJournal(owner, auditHasher, [tenantOf(base)]), await owner.query<{ content: string }>('SELECT content FROM audit_events WHERE tenant_id = $1 ORDER BY recorded, id', [tenantOf(base)])).rows.map((r) => JSON.parse(r.content) as AuditEvent);

  async function token(base: string, scope: string): Promise<{ token: string; clientId: string }> {
    const keys = await generateClientKeys('ES384');
    const client = await registerClient(fixture.server.server.database, tenantOf(base), { name: 'svc', kind: 'backend-service', jwks: keys.jwks, scope });
    const assertion = await signClientAssertion({ clientId: client.clientId, aud: `${base}/auth/token`, keys });
    const result = await postForm(`${base}/auth/token`, { grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return { token: result.body.access_token as string, clientId: client.clientId };
  }

  it('token issue is a security event; a read names the client and the token by jti only; a scope refusal and a forged token are recorded as failures', async () => {
    const base = await fixture.server.newTenantBase();
    const { token: access, clientId } = await token(base, 'system/Observation.rs');
    const jti = JSON.parse(Buffer.from(access.split('.')[1], 'base64url').toString()).jti as string;
    assert.equal((await http(`${base}/Observation`, { headers: { authorization: `Bearer ${access}` } })).status, 200);
    assert.equal((await http(`${base}/Patient/x`, { headers: { authorization: `Bearer ${access}` } })).status, 403);
    assert.equal((await http(`${base}/Patient/x`, { headers: { authorization: 'Bearer not.a.token' } })).status, 401);
    const [issued, search, refused, forged, ...more] = await trail(base);
    assert.equal(more.length, 0);
    assert.equal(issued.type.code, '110114', 'security: user authentication');
    assert.equal(issued.outcome, '0');
    assert.equal(search.agent[0].who?.identifier?.value, clientId);
    assert.ok(search.agent.some((a) => a.policy?.includes(jti)), 'the token is named by its jti');
    for (const e of [issued, search, refused, forged]) assert.ok(!JSON.stringify(e).includes(access), 'never the token itself');
    assert.equal(refused.outcome, '4');
    assert.match(refused.outcomeDesc ?? '', /403.*forbidden/);
    assert.deepEqual(patientsOf(refused), []);
    assert.equal(forged.outcome, '4');
    assert.match(forged.outcomeDesc ?? '', /^401/);
    assert.equal(forged.agent[0].name, 'anonymous');
  });
});
