// The resource server with HEARTH_AUTH=required, black-box over HTTP (issue 10): without a
// valid token nothing but the public discovery endpoints answers, whatever the entry point
// (read, search, batch, transaction, operations, the admin API).
import assert from 'node:assert/strict';
import { assertOutcome, http } from '../support/http.js';
import { useTestServer } from '../support/test-server.js';

describe('resource server: tokens required (HEARTH_AUTH=required)', () => {
  const fixture = useTestServer('postgres', { auth: 'required', reindexWorker: false });

  const assert401 = (result: { status: number; headers: Headers; body: unknown }, label: string) => {
    assert.equal(result.status, 401, label);
    assert.match(result.headers.get('www-authenticate') ?? '', /^Bearer realm="hearth", error="invalid_token"/, label);
    assertOutcome(result.body);
  };

  it('refuses every FHIR interaction without a token, on the default base and a tenant base', async () => {
    const tenantBase = await fixture.server.newTenantBase();
    for (const base of [`${fixture.server.origin}/fhir`, tenantBase]) {
      assert401(await http(`${base}/Patient`), `search ${base}`);
      assert401(await http(`${base}/Patient/123`), `read ${base}`);
      assert401(await http(`${base}/Patient/123/_history`), `history ${base}`);
      assert401(await http(`${base}/Patient`, { method: 'POST', json: { resourceType: 'Patient' } }), `create ${base}`);
      assert401(await http(base, { method: 'POST', json: { resourceType: 'Bundle', type: 'transaction', entry: [] } }), `transaction ${base}`);
      assert401(await http(base, { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: [] } }), `batch ${base}`);
      assert401(await http(`${base}/$reindex`, { method: 'POST', json: { resourceType: 'Parameters' } }), `operation ${base}`);
      assert401(await http(`${base}/admin/clients`), `admin API ${base}`);
    }
  });

  it('refuses malformed and forged tokens with 401 (never 403, never data)', async () => {
    const base = await fixture.server.newTenantBase();
    const header = (alg: string) => Buffer.from(JSON.stringify({ alg, typ: 'at+jwt' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ iss: base, aud: base, sub: 'x', scope: 'system/*.cruds', tid: 'default', exp: 4102444800 })).toString('base64url');
    for (const token of ['garbage', 'a.b.c', `${header('none')}.${payload}.`, `${header('HS256')}.${payload}.c2lnbmF0dXJl`, `${header('ES384')}.${payload}.c2lnbmF0dXJl`]) {
      assert401(await http(`${base}/Patient`, { headers: { authorization: `Bearer ${token}` } }), token);
    }
    assert401(await http(`${base}/Patient`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 'Basic');
  });

  it('answers the CapabilityStatement without a token, pointing at the authorization server', async () => {
    const base = await fixture.server.newTenantBase();
    const result = await http(`${base}/metadata`);
    assert.equal(result.status, 200);
    const uris = result.body.rest[0].security.extension[0];
    assert.equal(uris.url, 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
    assert.ok(uris.extension.some((e: { url: string; valueUri: string }) => e.url === 'token' && e.valueUri === `${base}/auth/token`));
  });
});
