// SMART Backend Services over HTTP: client_credentials with private_key_jwt (RFC 7523, SMART
// backend-services.html): the happy path with ES384 and RS384 assertions, and every refusal an
// attacker would try (alg none, HS256 with the public key as secret, wrong aud, exp too far,
// expired, missing or replayed jti, iss != sub, unknown client, key not registered, jku not on
// the allow-list, scope beyond the client's).
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { verifyAccessToken } from '../../src/auth/token-side.js';
import { newTenant } from '../support/database.js';
import { requireServices } from '../support/services.js';
import {
  generateClientKeys, hs256Jwt, postForm, registerClient, serveJwks, signClientAssertion, startTokenSideServer, unsignedJwt,
  type ClientKeys, type TokenSideServer,
} from '../support/smart-clients.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('SMART token endpoint: client_credentials (e2e)', function () {
  let server: TokenSideServer;
  let jkuKeys: ClientKeys;
  let jku: Awaited<ReturnType<typeof serveJwks>>;
  let unlisted: Awaited<ReturnType<typeof serveJwks>>;
  let tenant: string;
  let base: string;
  let tokenUrl: string;
  let es: ClientKeys;
  let rs: ClientKeys;

  before(async function () {
    await requireServices(this);
    jkuKeys = await generateClientKeys('ES384');
    jku = await serveJwks(jkuKeys.jwks);
    unlisted = await serveJwks(jkuKeys.jwks);
    server = await startTokenSideServer({ jkuAllowlist: [jku.url] });
    es = await generateClientKeys('ES384');
    rs = await generateClientKeys('RS384');
  });
  after(async () => {
    await server?.close();
    await jku?.close();
    await unlisted?.close();
  });
  beforeEach(async () => {
    tenant = await newTenant(server.database.pool);
    base = server.baseOf(tenant);
    tokenUrl = `${base}/auth/token`;
    await registerClient(server.database, tenant, {
      clientId: 'backend', name: 'Backend', kind: 'backend-service', scope: 'system/Observation.rs system/Patient.read',
      jwks: { keys: [es.publicJwk, rs.publicJwk] },
    });
  });

  const request = (assertion: string, scope = 'system/Observation.rs', extra: Record<string, string> = {}) =>
    postForm(tokenUrl, { grant_type: 'client_credentials', scope, client_assertion_type: ASSERTION_TYPE, client_assertion: assertion, ...extra });

  const refused = async (assertion: string, code = 'invalid_client', scope?: string) => {
    const res = await request(assertion, scope);
    assert.equal(res.body?.error, code, JSON.stringify(res.body));
    assert.equal(res.status, code === 'invalid_client' ? 401 : 400);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(typeof res.body.error_description, 'string');
    assert.equal(res.body.access_token, undefined);
    return res;
  };

  for (const alg of ['ES384', 'RS384'] as const) {
    it(`issues an access token for an ${alg} assertion, verifiable for this tenant`, async () => {
      const keys = alg === 'ES384' ? es : rs;
      const res = await request(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys }), 'system/Observation.rs system/Patient.rs');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('pragma'), 'no-cache');
      assert.equal(res.body.token_type, 'Bearer');
      assert.equal(res.body.scope, 'system/Observation.rs system/Patient.rs');
      assert.equal(res.body.expires_in, server.config.accessTokenTtlSeconds);
      assert.equal(res.body.refresh_token, undefined);
      const header = decodeProtectedHeader(res.body.access_token);
      assert.equal(header.alg, 'ES384');
      assert.equal(header.typ, 'at+jwt');
      const claims = await verifyAccessToken(res.body.access_token, { tenantId: tenant, audience: base });
      assert.equal(claims.sub, 'backend');
      assert.equal(claims.client_id, 'backend');
      assert.equal(claims.tid, tenant);
      assert.equal(claims.iss, base);
      assert.equal(claims.aud, base);
      assert.equal(typeof claims.gid, 'string');
      assert.equal(claims.exp - claims.iat, server.config.accessTokenTtlSeconds);
    });
  }

  it('refuses alg none', async () => {
    await refused(unsignedJwt({ iss: 'backend', sub: 'backend', aud: tokenUrl, exp: Math.floor(Date.now() / 1000) + 60, jti: 'n1' }));
  });

  it('refuses HS256 signed with the public key as the secret (algorithm confusion)', async () => {
    const payload = { iss: 'backend', sub: 'backend', aud: tokenUrl, exp: Math.floor(Date.now() / 1000) + 60, jti: 'h1' };
    await refused(hs256Jwt(payload, JSON.stringify(es.publicJwk), { kid: es.kid }));
    await refused(hs256Jwt(payload, Buffer.from(String(rs.publicJwk.n), 'base64url'), { kid: rs.kid }));
  });

  it('refuses another aud (another endpoint, another tenant, a prefix)', async () => {
    for (const aud of [`${base}/auth/introspect`, server.baseOf('default') + '/auth/token', base, `${tokenUrl}/`, [tokenUrl, 'https://other.example/token']]) {
      await refused(await signClientAssertion({ clientId: 'backend', aud, keys: es }));
    }
  });

  it('refuses exp more than five minutes ahead, a missing exp and an expired assertion', async () => {
    await refused(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: es, expiresIn: 600 }));
    await refused(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: es, noExp: true }));
    await refused(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: es, expiresIn: -120 }));
  });

  it('refuses a missing jti and a replayed one', async () => {
    await refused(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: es, jti: null }));
    const once = await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: es, jti: 'only-once' });
    assert.equal((await request(once)).status, 200);
    await refused(once);
    // A new assertion reusing the jti is a replay too.
    await refused(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: rs, jti: 'only-once' }));
  });

  it('refuses iss != sub, client_id != iss, an unknown client, and a key not in the JWKS', async () => {
    await refused(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: es, claims: { sub: 'someone-else' } }));
    const ok = await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: es });
    assert.equal((await request(ok, undefined, { client_id: 'other' })).status, 401);
    await refused(await signClientAssertion({ clientId: 'nobody', aud: tokenUrl, keys: es }));
    const stranger = await generateClientKeys('ES384', es.kid);
    await refused(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: stranger }));
  });

  it('ignores a key embedded in the assertion header (jwk) and other header tricks', async () => {
    const attacker = await generateClientKeys('ES384', es.kid);
    await refused(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: attacker, header: { jwk: attacker.publicJwk } }));
    await refused(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: attacker, header: { x5u: 'https://attacker.example/cert.pem' } }));
  });

  it('takes keys from an allow-listed jku that is the client\'s JWKS URL, and refuses one off the allow-list', async () => {
    await registerClient(server.database, tenant, { clientId: 'remote', name: 'Remote', kind: 'backend-service', scope: 'system/*.rs', jwksUri: jku.url });
    const viaJku = await signClientAssertion({ clientId: 'remote', aud: tokenUrl, keys: jkuKeys, header: { jku: jku.url } });
    const ok = await request(viaJku);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const viaRegistered = await signClientAssertion({ clientId: 'remote', aud: tokenUrl, keys: jkuKeys });
    assert.equal((await request(viaRegistered)).status, 200);
    await refused(await signClientAssertion({ clientId: 'remote', aud: tokenUrl, keys: jkuKeys, header: { jku: unlisted.url } }));
    assert.equal(unlisted.requests(), 0, 'a URL off the allow-list is never fetched');
    // The allow-listed URL is not the registered JWKS of this client: refused.
    await refused(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: jkuKeys, header: { jku: jku.url } }));
  });

  it('refuses a client whose registered JWKS URL is off the allow-list', async () => {
    await registerClient(server.database, tenant, { clientId: 'offlist', name: 'Off list', kind: 'backend-service', scope: 'system/*.rs', jwksUri: unlisted.url });
    await refused(await signClientAssertion({ clientId: 'offlist', aud: tokenUrl, keys: jkuKeys }));
    assert.equal(unlisted.requests(), 0);
  });

  it('refuses scopes beyond the client\'s, non-system scopes and a missing scope (invalid_scope)', async () => {
    for (const scope of ['system/Observation.cruds', 'system/Condition.rs', 'system/*.rs', 'patient/Observation.rs', 'system/Observation.rs openid', '']) {
      const res = await request(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: es }), scope);
      assert.equal(res.status, 400, scope);
      assert.equal(res.body.error, 'invalid_scope', scope);
    }
    // v1 read of a v2-registered type is covered (read = rs).
    const v1 = await request(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: es }), 'system/Observation.read');
    assert.equal(v1.status, 200, JSON.stringify(v1.body));
  });

  it('only backend-service clients may use client_credentials (unauthorized_client)', async () => {
    const keys = await generateClientKeys('ES384');
    await registerClient(server.database, tenant, {
      clientId: 'app', name: 'App', kind: 'confidential-asymmetric', scope: 'system/*.rs', redirectUris: ['https://app.example/cb'], jwks: keys.jwks,
    });
    const res = await request(await signClientAssertion({ clientId: 'app', aud: tokenUrl, keys }));
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'unauthorized_client');
  });

  it('answers RFC 6749 errors for a bad request: unsupported grant type, missing grant type, no client authentication, wrong media type, duplicate parameters', async () => {
    const unsupported = await postForm(tokenUrl, { grant_type: 'password', username: 'a', password: 'b' });
    assert.equal(unsupported.status, 400);
    assert.equal(unsupported.body.error, 'unsupported_grant_type');
    const missing = await postForm(tokenUrl, { scope: 'system/Observation.rs' });
    assert.equal(missing.body.error, 'invalid_request');
    const anonymous = await postForm(tokenUrl, { grant_type: 'client_credentials', scope: 'system/Observation.rs' });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error, 'invalid_client');
    const json = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' });
    assert.equal(json.status, 400);
    assert.equal((await json.json()).error, 'invalid_request');
    const twice = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&grant_type=client_credentials' });
    assert.equal((await twice.json()).error, 'invalid_request');
    const basic = await postForm(tokenUrl, { grant_type: 'client_credentials', scope: 'system/Observation.rs' }, { authorization: 'Basic YmFja2VuZDpzZWNyZXQ=' });
    assert.equal(basic.status, 401);
    assert.equal(basic.body.error, 'invalid_client');
    assert.match(basic.headers.get('www-authenticate') ?? '', /^Basic /);
  });

  it('404s an unknown tenant', async () => {
    const res = await postForm(`${server.origin}/t/no-such-tenant/fhir/auth/token`, { grant_type: 'client_credentials' });
    assert.equal(res.status, 404);
  });

  it('a token of this tenant is refused on another tenant', async () => {
    const res = await request(await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys: es }));
    const other = await newTenant(server.database.pool);
    await assert.rejects(verifyAccessToken(res.body.access_token, { tenantId: other, audience: server.baseOf(other) }), { name: 'InvalidTokenError' });
    await assert.rejects(verifyAccessToken(res.body.access_token, { tenantId: other, audience: base }), { name: 'InvalidTokenError' });
    assert.equal(decodeJwt(res.body.access_token).tid, tenant);
  });
});
