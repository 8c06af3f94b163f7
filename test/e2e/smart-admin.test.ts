// The token side's admin API over HTTP ({base}/admin/clients, {base}/admin/launch): the caller's
// AccessContext comes from res.locals.access (set here through the test server's header, as the
// server's authentication middleware would): none -> 401, not admin or another tenant's -> 403.
import assert from 'node:assert/strict';
import type { AccessContext } from '../../src/core/types.js';
import { newTenant } from '../support/database.js';
import { requireServices } from '../support/services.js';
import { verifyAccessToken } from '../../src/auth/token-side.js';
import { generateClientKeys, postForm, signClientAssertion, startTokenSideServer, TEST_ACCESS_HEADER, type TokenSideServer } from '../support/smart-clients.js';

describe('SMART admin API (e2e)', function () {
  let server: TokenSideServer;
  let tenant: string;
  let base: string;

  before(async function () {
    await requireServices(this);
    server = await startTokenSideServer();
  });
  after(async () => server?.close());
  beforeEach(async () => {
    tenant = await newTenant(server.database.pool);
    base = server.baseOf(tenant);
  });

  const admin = (): AccessContext => ({ subject: 'ops', scopes: ['system/*.cruds'], isAdmin: true, tenantId: tenant, clientId: 'ops' });
  const call = async (method: string, path: string, access: AccessContext | undefined, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (access) headers[TEST_ACCESS_HEADER] = JSON.stringify(access);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  it('401 without an access context, 403 when not admin or admin of another tenant', async () => {
    const none = await call('GET', '/admin/clients', undefined);
    assert.equal(none.status, 401);
    assert.ok(none.headers.get('www-authenticate'));
    for (const access of [{ ...admin(), isAdmin: false }, { ...admin(), tenantId: 'someone-else' }]) {
      assert.equal((await call('GET', '/admin/clients', access)).status, 403);
      assert.equal((await call('POST', '/admin/clients', access, { client_name: 'x', kind: 'public', redirect_uris: ['https://a.example/cb'] })).status, 403);
      assert.equal((await call('DELETE', '/admin/clients/any', access)).status, 403);
      assert.equal((await call('POST', '/admin/launch', access, { patient: 'p1' })).status, 403);
    }
    assert.equal((await call('GET', '/admin/clients', admin())).body.clients.length, 0, 'nothing was created');
  });

  it('registers, lists, reads and removes clients (200/201/204/404)', async () => {
    const created = await call('POST', '/admin/clients', admin(), {
      client_name: 'Growth chart', kind: 'public', redirect_uris: ['https://app.example/cb', 'http://127.0.0.1:9000/cb'], scope: 'launch patient/*.rs',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.client_id;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(created.body.redirect_uris, ['https://app.example/cb', 'http://127.0.0.1:9000/cb']);
    const keys = await generateClientKeys('ES384');
    const backend = await call('POST', '/admin/clients', admin(), { client_id: 'lab-feed', client_name: 'Lab feed', kind: 'backend-service', scope: 'system/Observation.cruds', jwks: keys.jwks, admin: true });
    assert.equal(backend.status, 201, JSON.stringify(backend.body));
    assert.equal(backend.body.client_id, 'lab-feed');
    assert.equal(backend.body.admin, true);
    const list = await call('GET', '/admin/clients', admin());
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.clients.map((c: { client_id: string }) => c.client_id).sort(), [id, 'lab-feed'].sort());
    assert.equal((await call('GET', `/admin/clients/${id}`, admin())).body.client_name, 'Growth chart');
    assert.equal((await call('DELETE', `/admin/clients/${id}`, admin())).status, 204);
    assert.equal((await call('GET', `/admin/clients/${id}`, admin())).status, 404);
    assert.equal((await call('DELETE', `/admin/clients/${id}`, admin())).status, 404);
  });

  it('refuses bad registrations: http redirect off loopback, fragment, no redirect for an app, private keys in a JWKS, duplicate id', async () => {
    const keys = await generateClientKeys('ES384');
    const bad = [
      { client_name: 'a', kind: 'public', redirect_uris: ['http://app.example/cb'] },
      { client_name: 'a', kind: 'public', redirect_uris: ['https://app.example/cb#x'] },
      { client_name: 'a', kind: 'public', redirect_uris: ['/relative'] },
      { client_name: 'a', kind: 'public' },
      { client_name: 'a', kind: 'backend-service', scope: 'system/*.rs' },
      { client_name: 'a', kind: 'backend-service', jwks: { keys: [{ ...keys.publicJwk, d: 'secret' }] } },
      { client_name: 'a', kind: 'backend-service', jwks: { keys: [{ kty: 'oct', k: 'abc', kid: '1' }] } },
      { client_name: 'a', kind: 'nonsense', redirect_uris: ['https://app.example/cb'] },
      { kind: 'public', redirect_uris: ['https://app.example/cb'] },
    ];
    for (const body of bad) {
      const res = await call('POST', '/admin/clients', admin(), body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error, 'invalid_client_metadata', JSON.stringify(body));
    }
    assert.equal((await call('POST', '/admin/clients', admin(), { client_id: 'dup', client_name: 'a', kind: 'public', redirect_uris: ['https://a.example/cb'] })).status, 201);
    assert.equal((await call('POST', '/admin/clients', admin(), { client_id: 'dup', client_name: 'b', kind: 'public', redirect_uris: ['https://a.example/cb'] })).status, 400);
    const notJson = await fetch(`${base}/admin/clients`, { method: 'POST', headers: { [TEST_ACCESS_HEADER]: JSON.stringify(admin()), 'content-type': 'application/json' }, body: '{' });
    assert.equal(notJson.status, 400);
  });

  it('creates launch contexts that the front channel resolves; other tenants cannot', async () => {
    const res = await call('POST', '/admin/launch', admin(), { patient: 'p1', encounter: 'e1', user: 'u1' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(typeof res.body.launch, 'string');
    assert.ok(res.body.launch.length >= 40);
    assert.deepEqual(await server.api.resolveLaunch(tenant, res.body.launch), { patient: 'p1', encounter: 'e1', userId: 'u1' });
    const other = await newTenant(server.database.pool);
    assert.equal(await server.api.resolveLaunch(other, res.body.launch), undefined);
    assert.equal(await server.api.resolveLaunch(tenant, 'made-up'), undefined);
    assert.equal((await call('POST', '/admin/launch', admin(), {})).status, 400);
    assert.equal((await call('POST', '/admin/launch', admin(), { patient: 'bad id!' })).status, 400);
  });

  it('removing a client revokes its tokens at once', async () => {
    const keys = await generateClientKeys('ES384');
    await call('POST', '/admin/clients', admin(), { client_id: 'feed', client_name: 'Feed', kind: 'backend-service', scope: 'system/*.rs', jwks: keys.jwks });
    const tokenUrl = `${base}/auth/token`;
    const res = await postForm(tokenUrl, {
      grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await signClientAssertion({ clientId: 'feed', aud: tokenUrl, keys }),
    });
    assert.equal(res.status, 200);
    await verifyAccessToken(res.body.access_token, { tenantId: tenant, audience: base });
    assert.equal((await call('DELETE', '/admin/clients/feed', admin())).status, 204);
    await assert.rejects(verifyAccessToken(res.body.access_token, { tenantId: tenant, audience: base }), { reason: 'token revoked' });
  });
});
