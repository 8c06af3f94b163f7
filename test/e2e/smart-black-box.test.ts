// SMART end to end on the real server (issue 10, "Tests"): tokens issued by Hearth's own token
// endpoint, presented to its FHIR API with HEARTH_AUTH=required. Every rule is met by the
// request that tries to break it: another tenant's token, a revoked token, a scope too narrow,
// and the leaks other servers shipped (_revinclude pulling another patient's data, _include of
// a type outside the scopes, a chain on another patient's name, _has on a type outside the
// scopes, a transaction mixing allowed and forbidden entries).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Bundle } from 'fhir/r4.js';
import { createAuthorizationServerApi } from '../../src/auth/token-side.js';
import { loadConfig } from '../../src/core/config.js';
import { assertOutcome, http, type HttpResult } from '../support/http.js';
import { generateClientKeys, pkcePair, postForm, registerClient, signClientAssertion } from '../support/smart-clients.js';
import { useTestServer } from '../support/test-server.js';

const REDIRECT = 'http://127.0.0.1:9/callback';

describe('SMART on the real server (HEARTH_AUTH=required)', () => {
  const fixture = useTestServer('postgres', { auth: 'required', reindexWorker: false });
  const tenantOf = (base: string) => /\/t\/([^/]+)\/fhir$/.exec(base)![1];

  /** A backend-service client and a token for `scope` on `base` (SMART Backend Services). */
  async function systemToken(base: string, scope: string, clientScope = scope): Promise<string> {
    const keys = await generateClientKeys('ES384');
    const client = await registerClient(fixture.server.server.database, tenantOf(base), { name: 'backend', kind: 'backend-service', jwks: keys.jwks, scope: clientScope });
    const assertion = await signClientAssertion({ clientId: client.clientId, aud: `${base}/auth/token`, keys });
    const result = await postForm(`${base}/auth/token`, {
      grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return result.body.access_token as string;
  }

  /** A token from an authorization code (the front channel's part done through its API). */
  async function launchToken(base: string, scope: string, patient: string): Promise<{ access_token: string; refresh_token?: string; patient?: string; client_id: string }> {
    const tenantId = tenantOf(base);
    const database = fixture.server.server.database;
    const client = await registerClient(database, tenantId, { name: 'app', kind: 'public', redirectUris: [REDIRECT], scope });
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const api = createAuthorizationServerApi({ config, database, service: undefined as never, logger: undefined as never, baseUrlFor: () => base });
    const pkce = pkcePair();
    const code = await api.issueAuthorizationCode({
      tenantId, clientId: client.clientId, redirectUri: REDIRECT, codeChallenge: pkce.challenge, scope, userId: 'user-1', patient, authTime: Math.floor(Date.now() / 1000),
    });
    const result = await postForm(`${base}/auth/token`, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: client.clientId, code_verifier: pkce.verifier });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return { ...result.body, client_id: client.clientId };
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const ids = (bundle: Bundle) => (bundle.entry ?? []).map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();

  /** Two patients with Observations and an Encounter each, written as the administrator would. */
  async function seed(base: string): Promise<{ a: string; b: string }> {
    const admin = await systemToken(base, 'system/*.cruds');
    const a = `a-${randomUUID().slice(0, 8)}`;
    const b = `b-${randomUUID().slice(0, 8)}`;
    const put = async (resource: { resourceType: string; id: string; [k: string]: unknown }) => {
      const r = await http(`${base}/${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource, headers: bearer(admin) });
      assert.ok(r.status === 201 || r.status === 200, `${resource.resourceType}/${resource.id}: ${r.text}`);
    };
    for (const [p, family] of [[a, 'Alpha'], [b, 'Bravo']]) {
      await put({ resourceType: 'Patient', id: p, name: [{ family }] });
      await put({ resourceType: 'Encounter', id: `${p}-enc`, status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${p}` } });
      await put({
        resourceType: 'Observation', id: `${p}-obs`, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: `Patient/${p}` }, encounter: { reference: `Encounter/${p}-enc` },
      });
    }
    return { a, b };
  }

  it('backend services: a token reads what its system scope names, and a 403 names the scope a write needs', async () => {
    const base = await fixture.server.newTenantBase();
    await seed(base);
    const token = await systemToken(base, 'system/Patient.rs');
    const search = await http<Bundle>(`${base}/Patient`, { headers: bearer(token) });
    assert.equal(search.status, 200);
    assert.equal(search.body.entry?.length, 2);
    const create = await http(`${base}/Patient`, { method: 'POST', json: { resourceType: 'Patient' }, headers: bearer(token) });
    assert.equal(create.status, 403);
    assert.match(assertOutcome(create.body, 'forbidden').issue[0].diagnostics ?? '', /system\/Patient\.c/);
    const other = await http(`${base}/Observation`, { headers: bearer(token) });
    assert.equal(other.status, 403, 'Observation is outside system/Patient.rs');
  });

  it('a token of tenant X is a 401 on tenant Y (and on the default base)', async () => {
    const x = await fixture.server.newTenantBase();
    const y = await fixture.server.newTenantBase();
    const token = await systemToken(x, 'system/*.rs');
    assert.equal((await http(`${x}/Patient`, { headers: bearer(token) })).status, 200);
    for (const base of [y, `${fixture.server.origin}/fhir`]) {
      const result = await http(`${base}/Patient`, { headers: bearer(token) });
      assert.equal(result.status, 401, base);
      assert.match(result.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    }
  });

  it('a revoked token stops working at once (RFC 7009)', async () => {
    const base = await fixture.server.newTenantBase();
    const { access_token: token, client_id } = await launchToken(base, 'launch/patient patient/*.rs', 'p1');
    assert.equal((await http(`${base}/Observation`, { headers: bearer(token) })).status, 200);
    const revoke = await postForm(`${base}/auth/revoke`, { token, client_id });
    assert.equal(revoke.status, 200);
    assert.equal((await http(`${base}/Observation`, { headers: bearer(token) })).status, 401);
  });

  describe('under a patient scope (patient A)', () => {
    let base: string;
    let a: string;
    let b: string;
    let token: string;
    beforeEach(async () => {
      base = await fixture.server.newTenantBase();
      ({ a, b } = await seed(base));
      token = (await launchToken(base, 'launch/patient openid fhirUser patient/Patient.rs patient/Observation.rs patient/Encounter.rs', a)).access_token;
    });
    const get = (path: string): Promise<HttpResult<Bundle>> => http<Bundle>(`${base}/${path}`, { headers: bearer(token) });

    it('search returns only A\'s data; B\'s resources read like unknown ones (404)', async () => {
      assert.deepEqual(ids((await get('Observation')).body), [`Observation/${a}-obs`]);
      const hidden = await get(`Observation/${b}-obs`);
      const unknown = await get('Observation/never-existed');
      assert.equal(hidden.status, 404);
      assert.equal(unknown.status, 404);
    });

    it('_revinclude does not pull another patient\'s resources', async () => {
      const result = await get('Encounter?_revinclude=Observation:encounter');
      assert.equal(result.status, 200);
      assert.deepEqual(ids(result.body), [`Encounter/${a}-enc`, `Observation/${a}-obs`]);
      const all = await get('Patient?_revinclude=Observation:subject');
      assert.deepEqual(ids(all.body), [`Observation/${a}-obs`, `Patient/${a}`]);
    });

    it('_include of a type outside the scopes is a 403', async () => {
      const result = await get('Observation?_include=Observation:performer:Practitioner');
      assert.equal(result.status, 403, result.text);
      assertOutcome(result.body, 'forbidden');
    });

    it('a chain on another patient\'s name answers as if that patient did not exist', async () => {
      const result = await get('Observation?subject:Patient.name=Bravo');
      assert.equal(result.status, 200);
      assert.deepEqual(ids(result.body), []);
    });

    it('_has on a type outside the scopes is a 403', async () => {
      const result = await get('Patient?_has:Condition:patient:code=x');
      assert.equal(result.status, 403, result.text);
    });

    it('a transaction mixing allowed and forbidden entries is refused whole, and nothing is written', async () => {
      const writer = (await launchToken(base, 'launch/patient patient/Observation.cruds patient/Patient.rs', a)).access_token;
      const observation = (patient: string) => ({
        resourceType: 'Observation', status: 'final', code: { text: 'tx' }, subject: { reference: `Patient/${patient}` },
      });
      const bundle = {
        resourceType: 'Bundle', type: 'transaction',
        entry: [
          { request: { method: 'POST', url: 'Observation' }, resource: observation(a) },
          { request: { method: 'POST', url: 'Observation' }, resource: observation(b) },
        ],
      };
      const result = await http(base, { method: 'POST', json: bundle, headers: bearer(writer) });
      assert.equal(result.status, 403, result.text);
      const after = await http<Bundle>(`${base}/Observation?code:text=tx`, { headers: bearer(writer) });
      assert.deepEqual(ids(after.body), [], 'the allowed entry was not written either');
    });
  });
});
