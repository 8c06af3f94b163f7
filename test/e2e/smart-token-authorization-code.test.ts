// SMART App Launch 2.x token endpoint, authorization_code and refresh_token grants over HTTP
// (RFC 6749 section 4.1.3 and 6, RFC 7636, OAuth Security BCP 4.14): codes are issued through
// createAuthorizationServerApi (what the front channel does after consent) and redeemed here.
// Attacks: PKCE missing / plain / wrong, another redirect_uri, a replayed code (which revokes what
// the first use issued), an expired code, another client's code; refresh rotation and reuse,
// scope widening, another client's refresh token, an expired one.
import assert from 'node:assert/strict';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { AuthorizationGrant } from '../../src/auth/contracts.js';
import { verifyAccessToken } from '../../src/auth/token-side.js';
import { newTenant } from '../support/database.js';
import { requireServices } from '../support/services.js';
import {
  generateClientKeys, pkcePair, postForm, registerClient, signClientAssertion, startTokenSideServer, type ClientKeys, type TokenSideServer,
} from '../support/smart-clients.js';

const REDIRECT = 'https://app.example/callback';
const FULL_SCOPE = 'launch/patient openid fhirUser patient/*.rs offline_access';

describe('SMART token endpoint: authorization_code and refresh_token (e2e)', function () {
  let server: TokenSideServer;
  let tenant: string;
  let base: string;
  let tokenUrl: string;
  let confidentialKeys: ClientKeys;

  before(async function () {
    await requireServices(this);
    server = await startTokenSideServer();
    confidentialKeys = await generateClientKeys('RS384');
  });
  after(async () => server?.close());
  beforeEach(async () => {
    tenant = await newTenant(server.database.pool);
    base = server.baseOf(tenant);
    tokenUrl = `${base}/auth/token`;
    await registerClient(server.database, tenant, { clientId: 'app', name: 'App', kind: 'public', redirectUris: [REDIRECT], scope: FULL_SCOPE });
    await registerClient(server.database, tenant, { clientId: 'other-app', name: 'Other', kind: 'public', redirectUris: [REDIRECT], scope: FULL_SCOPE });
    await registerClient(server.database, tenant, {
      clientId: 'conf', name: 'Confidential', kind: 'confidential-asymmetric', redirectUris: [REDIRECT], scope: FULL_SCOPE, jwks: confidentialKeys.jwks,
    });
  });

  async function issueCode(overrides: Partial<AuthorizationGrant> = {}) {
    const pkce = pkcePair();
    const grant: AuthorizationGrant = {
      tenantId: tenant, clientId: 'app', redirectUri: REDIRECT, codeChallenge: pkce.challenge, scope: FULL_SCOPE,
      userId: 'user-1', fhirUser: 'Practitioner/7', patient: 'p1', nonce: 'nonce-1', authTime: Math.floor(Date.now() / 1000) - 5, ...overrides,
    };
    return { code: await server.api.issueAuthorizationCode(grant), verifier: pkce.verifier, challenge: pkce.challenge };
  }

  const redeem = (code: string, verifier: string | undefined, extra: Record<string, string | undefined> = {}) =>
    postForm(tokenUrl, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: 'app', ...extra });

  const refresh = (token: string, extra: Record<string, string | undefined> = {}) =>
    postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: token, client_id: 'app', ...extra });

  function assertError(res: { status: number; body: any; headers: Headers }, error: string) {
    assert.equal(res.body?.error, error, JSON.stringify(res.body));
    assert.equal(res.status, error === 'invalid_client' ? 401 : 400);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.body.access_token, undefined);
  }

  it('redeems a code: access token with the launch context, id_token, refresh token, no-store', async () => {
    const { code, verifier } = await issueCode();
    const res = await redeem(code, verifier);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('pragma'), 'no-cache');
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.scope, FULL_SCOPE);
    assert.equal(res.body.patient, 'p1');
    assert.equal(res.body.need_patient_banner, true);
    assert.equal(typeof res.body.refresh_token, 'string');
    const claims = await verifyAccessToken(res.body.access_token, { tenantId: tenant, audience: base });
    assert.equal(claims.sub, 'user-1');
    assert.equal(claims.patient, 'p1');
    assert.equal(claims.fhirUser, 'Practitioner/7');
    assert.equal(claims.client_id, 'app');
    // The id_token verifies against the published JWKS.
    const jwks = await (await fetch(`${base}/auth/jwks`)).json();
    const { payload, protectedHeader } = await jwtVerify(res.body.id_token, createLocalJWKSet(jwks), { issuer: base, audience: 'app', algorithms: ['ES384'] });
    assert.equal(protectedHeader.alg, 'ES384');
    assert.equal(payload.sub, 'user-1');
    assert.equal(payload.nonce, 'nonce-1');
    assert.equal(typeof payload.auth_time, 'number');
    assert.equal(payload.fhirUser, `${base}/Practitioner/7`);
  });

  it('gives no refresh token without offline_access/online_access and no id_token without openid', async () => {
    const { code, verifier } = await issueCode({ scope: 'launch/patient patient/*.rs' });
    const res = await redeem(code, verifier);
    assert.equal(res.status, 200);
    assert.equal(res.body.refresh_token, undefined);
    assert.equal(res.body.id_token, undefined);
    const online = await issueCode({ scope: 'patient/*.rs online_access' });
    assert.equal(typeof (await redeem(online.code, online.verifier)).body.refresh_token, 'string');
  });

  it('refuses a missing, plain or wrong code_verifier (invalid_grant), and the code is then used up', async () => {
    const missing = await issueCode();
    assertError(await redeem(missing.code, undefined), 'invalid_grant');
    assertError(await redeem(missing.code, missing.verifier), 'invalid_grant');
    const plain = await issueCode();
    assertError(await redeem(plain.code, plain.challenge), 'invalid_grant');
    const wrong = await issueCode();
    assertError(await redeem(wrong.code, pkcePair().verifier), 'invalid_grant');
  });

  it('refuses a redirect_uri other than the authorization request\'s', async () => {
    for (const uri of [`${REDIRECT}/`, 'https://app.example:8443/callback', 'https://APP.example/callback']) {
      const { code, verifier } = await issueCode();
      assertError(await redeem(code, verifier, { redirect_uri: uri }), 'invalid_grant');
    }
    const { code, verifier } = await issueCode();
    assertError(await redeem(code, verifier, { redirect_uri: undefined }), 'invalid_request');
  });

  it('a replayed code is refused and revokes the tokens the first use issued', async () => {
    const { code, verifier } = await issueCode();
    const first = await redeem(code, verifier);
    assert.equal(first.status, 200);
    await verifyAccessToken(first.body.access_token, { tenantId: tenant, audience: base });
    assertError(await redeem(code, verifier), 'invalid_grant');
    await assert.rejects(verifyAccessToken(first.body.access_token, { tenantId: tenant, audience: base }), { name: 'InvalidTokenError', reason: 'token revoked' });
    assertError(await refresh(first.body.refresh_token), 'invalid_grant');
  });

  it('refuses an expired code', async () => {
    const { code, verifier } = await issueCode();
    await server.database.pool.query(`UPDATE authorization_code SET expires_at = now() - interval '1 second' WHERE tenant_id = $1`, [tenant]);
    assertError(await redeem(code, verifier), 'invalid_grant');
  });

  it('refuses another client\'s code without using it up, and an unknown client', async () => {
    const { code, verifier } = await issueCode();
    assertError(await redeem(code, verifier, { client_id: 'other-app' }), 'invalid_grant');
    assertError(await redeem(code, verifier, { client_id: 'nobody' }), 'invalid_client');
    assert.equal((await redeem(code, verifier)).status, 200);
    assertError(await redeem('not-a-code', verifier), 'invalid_grant');
  });

  it('a confidential client must authenticate with its key; a backend service may not use codes', async () => {
    const { code, verifier } = await issueCode({ clientId: 'conf' });
    assertError(await redeem(code, verifier, { client_id: 'conf' }), 'invalid_client');
    const assertion = await signClientAssertion({ clientId: 'conf', aud: tokenUrl, keys: confidentialKeys });
    const ok = await redeem(code, verifier, { client_id: 'conf', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(decodeJwt(ok.body.access_token).client_id, 'conf');
    const backendKeys = await generateClientKeys('ES384');
    await registerClient(server.database, tenant, { clientId: 'svc', name: 'Svc', kind: 'backend-service', scope: 'system/*.rs', jwks: backendKeys.jwks });
    const svc = await issueCode({ clientId: 'svc' });
    const res = await redeem(svc.code, svc.verifier, {
      client_id: undefined, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await signClientAssertion({ clientId: 'svc', aud: tokenUrl, keys: backendKeys }),
    });
    assertError(res, 'unauthorized_client');
  });

  describe('refresh_token', () => {
    async function tokens() {
      const { code, verifier } = await issueCode();
      const res = await redeem(code, verifier);
      assert.equal(res.status, 200);
      return res.body as { access_token: string; refresh_token: string };
    }

    it('rotates: a new access and refresh token; the old refresh token is spent', async () => {
      const first = await tokens();
      const second = await refresh(first.refresh_token);
      assert.equal(second.status, 200, JSON.stringify(second.body));
      assert.equal(second.headers.get('cache-control'), 'no-store');
      assert.notEqual(second.body.refresh_token, first.refresh_token);
      assert.equal(second.body.scope, FULL_SCOPE);
      assert.equal(second.body.patient, 'p1');
      const claims = await verifyAccessToken(second.body.access_token, { tenantId: tenant, audience: base });
      assert.equal(claims.gid, decodeJwt(first.access_token).gid, 'same grant');
      const third = await refresh(second.body.refresh_token);
      assert.equal(third.status, 200);
    });

    it('reuse of a rotated refresh token revokes the grant: every token of it stops working', async () => {
      const first = await tokens();
      const second = await refresh(first.refresh_token);
      assertError(await refresh(first.refresh_token), 'invalid_grant');
      await assert.rejects(verifyAccessToken(second.body.access_token, { tenantId: tenant, audience: base }), { reason: 'token revoked' });
      await assert.rejects(verifyAccessToken(first.access_token, { tenantId: tenant, audience: base }), { reason: 'token revoked' });
      assertError(await refresh(second.body.refresh_token), 'invalid_grant');
    });

    it('may narrow the scope, never widen it (invalid_scope, the token stays usable)', async () => {
      const first = await tokens();
      for (const wider of ['patient/*.cruds', 'patient/*.rs user/*.rs', 'system/*.rs']) {
        assertError(await refresh(first.refresh_token, { scope: wider }), 'invalid_scope');
      }
      const narrow = await refresh(first.refresh_token, { scope: 'patient/*.rs offline_access' });
      assert.equal(narrow.status, 200, JSON.stringify(narrow.body));
      assert.equal(narrow.body.scope, 'patient/*.rs offline_access');
      assert.equal((await verifyAccessToken(narrow.body.access_token, { tenantId: tenant, audience: base })).scope, 'patient/*.rs offline_access');
      assert.equal(narrow.body.id_token, undefined);
      const typed = await refresh(narrow.body.refresh_token, { scope: 'patient/Observation.r offline_access' });
      assert.equal(typed.status, 200, JSON.stringify(typed.body));
      assert.equal(typed.body.scope, 'patient/Observation.r offline_access');
      // The grant keeps what was approved: a later refresh may ask for it again, never more.
      assert.equal((await refresh(typed.body.refresh_token, { scope: 'patient/*.rs' })).status, 200);
    });

    it('is bound to its client: another client gets invalid_grant and the token stays usable', async () => {
      const first = await tokens();
      assertError(await refresh(first.refresh_token, { client_id: 'other-app' }), 'invalid_grant');
      assert.equal((await refresh(first.refresh_token)).status, 200);
    });

    it('refuses an expired or unknown refresh token', async () => {
      const first = await tokens();
      await server.database.pool.query(`UPDATE refresh_token SET expires_at = now() - interval '1 second' WHERE tenant_id = $1`, [tenant]);
      assertError(await refresh(first.refresh_token), 'invalid_grant');
      assertError(await refresh('garbage'), 'invalid_grant');
      assertError(await refresh(''), 'invalid_request');
    });
  });
});
