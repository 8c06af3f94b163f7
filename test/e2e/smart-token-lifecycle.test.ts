// The rest of the token side over HTTP: discovery documents (SMART App Launch 2.x
// conformance, OpenID Connect Discovery), the JWKS and key rotation, introspection (RFC 7662:
// anything not live is exactly {"active":false}), revocation (RFC 7009), and verifyAccessToken
// against forged, tampered, expired, misaddressed and foreign tokens.
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import type { AuthorizationGrant } from '../../src/auth/contracts.js';
import { signAccessToken } from '../../src/auth/tokens/access-token.js';
import { signIdToken } from '../../src/auth/tokens/id-token.js';
import { tokenRuntime } from '../../src/auth/tokens/runtime.js';
import { verifyAccessToken } from '../../src/auth/token-side.js';
import { newTenant } from '../support/database.js';
import { requireServices } from '../support/services.js';
import {
  generateClientKeys, hs256Jwt, pkcePair, postForm, registerClient, signClientAssertion, startTokenSideServer, unsignedJwt,
  type ClientKeys, type TokenSideServer,
} from '../support/smart-clients.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const REDIRECT = 'https://app.example/callback';

describe('SMART token side: discovery, JWKS, introspection, revocation, verification (e2e)', function () {
  let server: TokenSideServer;
  let tenant: string;
  let base: string;
  let tokenUrl: string;
  let adminKeys: ClientKeys;
  let svcKeys: ClientKeys;

  before(async function () {
    await requireServices(this);
    server = await startTokenSideServer();
    adminKeys = await generateClientKeys('ES384');
    svcKeys = await generateClientKeys('RS384');
  });
  after(async () => server?.close());
  beforeEach(async () => {
    tenant = await newTenant(server.database.pool);
    base = server.baseOf(tenant);
    tokenUrl = `${base}/auth/token`;
    await registerClient(server.database, tenant, { clientId: 'admin', name: 'Admin', kind: 'backend-service', scope: 'system/*.cruds', jwks: adminKeys.jwks, admin: true });
    await registerClient(server.database, tenant, { clientId: 'svc', name: 'Service', kind: 'backend-service', scope: 'system/*.rs', jwks: svcKeys.jwks });
    await registerClient(server.database, tenant, { clientId: 'app', name: 'App', kind: 'public', redirectUris: [REDIRECT], scope: 'patient/*.rs offline_access' });
  });

  const assertion = (clientId: string, keys: ClientKeys, aud = tokenUrl) => signClientAssertion({ clientId, aud, keys });
  const backendToken = async (clientId = 'svc', keys = svcKeys, scope = 'system/Observation.rs', onBase = tokenUrl) => {
    const res = await postForm(onBase, { grant_type: 'client_credentials', scope, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(clientId, keys, onBase) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.access_token as string;
  };
  const appTokens = async () => {
    const pkce = pkcePair();
    const grant: AuthorizationGrant = {
      tenantId: tenant, clientId: 'app', redirectUri: REDIRECT, codeChallenge: pkce.challenge, scope: 'patient/*.rs offline_access', userId: 'u1', patient: 'p9', authTime: 1,
    };
    const code = await server.api.issueAuthorizationCode(grant);
    const res = await postForm(tokenUrl, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pkce.verifier, client_id: 'app' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { access_token: string; refresh_token: string };
  };
  const verify = (token: string) => verifyAccessToken(token, { tenantId: tenant, audience: base });

  describe('discovery', () => {
    it('serves smart-configuration with exactly the SMART fields and capabilities, CORS-readable', async () => {
      const res = await fetch(`${base}/.well-known/smart-configuration`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      const doc = await res.json();
      assert.deepEqual(Object.keys(doc).sort(), [
        'authorization_endpoint', 'capabilities', 'code_challenge_methods_supported', 'grant_types_supported', 'introspection_endpoint', 'issuer',
        'jwks_uri', 'response_types_supported', 'revocation_endpoint', 'scopes_supported', 'token_endpoint', 'token_endpoint_auth_methods_supported',
        'token_endpoint_auth_signing_alg_values_supported',
      ]);
      assert.equal(doc.issuer, base);
      assert.equal(doc.authorization_endpoint, `${base}/auth/authorize`);
      assert.equal(doc.token_endpoint, tokenUrl);
      assert.equal(doc.jwks_uri, `${base}/auth/jwks`);
      assert.equal(doc.introspection_endpoint, `${base}/auth/introspect`);
      assert.equal(doc.revocation_endpoint, `${base}/auth/revoke`);
      assert.deepEqual(doc.response_types_supported, ['code']);
      assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(doc.token_endpoint_auth_methods_supported, ['private_key_jwt', 'none']);
      assert.deepEqual(doc.token_endpoint_auth_signing_alg_values_supported, ['RS384', 'ES384']);
      assert.deepEqual(doc.grant_types_supported, ['authorization_code', 'refresh_token', 'client_credentials']);
      assert.deepEqual([...doc.capabilities].sort(), [
        'client-confidential-asymmetric', 'client-public', 'context-ehr-patient', 'context-standalone-patient', 'launch-ehr', 'launch-standalone',
        'permission-offline', 'permission-patient', 'permission-user', 'permission-v1', 'permission-v2', 'sso-openid-connect',
      ]);
      for (const scope of ['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'system/*.rs']) assert.ok(doc.scopes_supported.includes(scope), scope);
    });

    it('serves openid-configuration for the tenant base as issuer', async () => {
      const res = await fetch(`${base}/.well-known/openid-configuration`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      const doc = await res.json();
      assert.equal(doc.issuer, base);
      assert.equal(doc.jwks_uri, `${base}/auth/jwks`);
      assert.deepEqual(doc.id_token_signing_alg_values_supported, ['ES384']);
      assert.deepEqual(doc.subject_types_supported, ['public']);
      assert.deepEqual(doc.response_types_supported, ['code']);
      assert.ok(doc.claims_supported.includes('fhirUser'));
      assert.ok(doc.scopes_supported.includes('openid'));
    });

    it('the default tenant is served at /fhir and an unknown tenant is a 404', async () => {
      const res = await fetch(`${server.origin}/fhir/.well-known/smart-configuration`);
      assert.equal(res.status, 200);
      assert.equal((await res.json()).issuer, `${server.origin}/fhir`);
      assert.equal((await fetch(`${server.origin}/t/nope/fhir/.well-known/smart-configuration`)).status, 404);
      assert.equal((await fetch(`${server.origin}/t/nope/fhir/auth/jwks`)).status, 404);
      assert.equal((await fetch(`${server.origin}/t/nope/fhir/admin/clients`)).status, 404);
    });

    it('leaves every other request below the base to the FHIR handler, whatever the tenant', async () => {
      for (const url of [`${base}/Patient`, `${base}/auth/unknown`, `${server.origin}/t/nope/fhir/Patient`, `${base}/auth/token`]) {
        const res = await fetch(url);
        assert.equal(res.status, 299, url);
        assert.deepEqual(await res.json(), { fellThrough: true });
      }
    });
  });

  describe('JWKS and key rotation', () => {
    it('publishes public ES384 keys only', async () => {
      const token = await backendToken();
      const jwks = await (await fetch(`${base}/auth/jwks`)).json();
      assert.equal(jwks.keys.length, 1);
      const [key] = jwks.keys;
      assert.equal(key.kid, decodeProtectedHeader(token).kid);
      assert.equal(key.kty, 'EC');
      assert.equal(key.crv, 'P-384');
      assert.equal(key.alg, 'ES384');
      assert.equal(key.d, undefined, 'no private key material');
    });

    it('after rotation the old key stays published and its tokens verify; new tokens use the new kid', async () => {
      const before = await backendToken();
      const oldKid = decodeProtectedHeader(before).kid;
      const newKid = await tokenRuntime(server.database, server.config).keys.rotate(tenant);
      assert.notEqual(newKid, oldKid);
      const kids = (await (await fetch(`${base}/auth/jwks`)).json()).keys.map((k: { kid: string }) => k.kid);
      assert.deepEqual(new Set(kids), new Set([oldKid, newKid]));
      await verify(before);
      const after = await backendToken();
      assert.equal(decodeProtectedHeader(after).kid, newKid);
      await verify(after);
    });

    it('keys are per tenant: another tenant publishes other keys', async () => {
      await backendToken();
      const other = await newTenant(server.database.pool);
      const mine = (await (await fetch(`${base}/auth/jwks`)).json()).keys.map((k: { kid: string }) => k.kid);
      const theirs = (await (await fetch(`${server.baseOf(other)}/auth/jwks`)).json()).keys.map((k: { kid: string }) => k.kid);
      assert.equal(theirs.length, 1);
      assert.ok(!mine.includes(theirs[0]));
    });
  });

  describe('verifyAccessToken', () => {
    it('refuses a tampered signature, a tampered payload, alg none, HS256 with the public key, and an id_token', async () => {
      const token = await backendToken();
      const [h, p, s] = token.split('.');
      const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
      await assert.rejects(verify(`${h}.${p}.${flipped}`), { name: 'InvalidTokenError' });
      const claims = decodeJwt(token);
      const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'system/*.cruds' })).toString('base64url');
      await assert.rejects(verify(`${h}.${widened}.${s}`), { name: 'InvalidTokenError', reason: 'signature invalid' });
      await assert.rejects(verify(unsignedJwt(claims, { typ: 'at+jwt', kid: decodeProtectedHeader(token).kid })), { reason: 'algorithm none not accepted' });
      const jwks = await (await fetch(`${base}/auth/jwks`)).json();
      await assert.rejects(verify(hs256Jwt(claims, JSON.stringify(jwks.keys[0]), { typ: 'at+jwt', kid: jwks.keys[0].kid })), { reason: 'algorithm HS256 not accepted' });
      const idToken = await signIdToken(tokenRuntime(server.database, server.config), { tenantId: tenant, issuer: base, userId: 'u1', clientId: 'app' });
      await assert.rejects(verify(idToken), { reason: 'not an access token (typ)' });
      await assert.rejects(verify('not.a.jwt'), { name: 'InvalidTokenError' });
      await assert.rejects(verify(''), { name: 'InvalidTokenError' });
    });

    it('refuses a wrong aud, an expired token, a foreign tenant\'s token, another tid, an unknown grant', async () => {
      const runtime = tokenRuntime(server.database, server.config);
      const claims = { iss: base, aud: base, sub: 'svc', client_id: 'svc', scope: 'system/Observation.rs', tid: tenant, gid: 'x' };
      const token = await backendToken();
      await assert.rejects(verifyAccessToken(token, { tenantId: tenant, audience: 'https://elsewhere.example/fhir' }), { name: 'InvalidTokenError' });
      const wrongAud = (await signAccessToken(runtime, { ...claims, aud: `${base}/other` })).token;
      await assert.rejects(verify(wrongAud), /aud/);
      const expired = (await signAccessToken(runtime, claims, -120)).token;
      await assert.rejects(verify(expired), { reason: 'token expired' });
      // Not yet valid: nbf ahead (beyond the clock skew), or issued in the future.
      const later = Math.floor(Date.now() / 1000) + 600;
      const notYet = (await signAccessToken(runtime, { ...claims, nbf: later } as typeof claims)).token;
      await assert.rejects(verify(notYet), /nbf/);
      const { kid, key } = await runtime.keys.signingKey(tenant);
      const issuedLater = await new SignJWT({ ...claims, jti: 'j-later', iat: later, exp: later + 600 })
        .setProtectedHeader({ alg: 'ES384', typ: 'at+jwt', kid }).sign(key);
      await assert.rejects(verify(issuedLater), { reason: 'issued in the future' });
      const otherTenant = await newTenant(server.database.pool);
      const foreign = await backendToken('svc', svcKeys, 'system/Observation.rs', tokenUrl);
      await assert.rejects(verifyAccessToken(foreign, { tenantId: otherTenant, audience: base }), { name: 'InvalidTokenError' });
      // A tenant signing a token claiming another tenant (tid) is refused too.
      const claimsOther = (await signAccessToken(runtime, { ...claims, tid: otherTenant })).token;
      await assert.rejects(verify(claimsOther), { name: 'InvalidTokenError' });
      // An unknown grant (gid) is refused even with a good signature.
      await assert.rejects(verify((await signAccessToken(runtime, claims)).token), { reason: 'token revoked' });
    });
  });

  describe('introspection', () => {
    const introspect = async (token: string, auth: 'assertion' | 'bearer' | 'none' | 'not-admin' = 'assertion') => {
      const form: Record<string, string> = { token };
      const headers: Record<string, string> = {};
      if (auth === 'assertion') Object.assign(form, { client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion('admin', adminKeys, `${base}/auth/introspect`) });
      if (auth === 'not-admin') Object.assign(form, { client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion('svc', svcKeys) });
      if (auth === 'bearer') headers.authorization = `Bearer ${await backendToken('admin', adminKeys, 'system/Patient.rs')}`;
      return postForm(`${base}/auth/introspect`, form, headers);
    };

    it('describes a live access token to an admin client (assertion or bearer)', async () => {
      const { access_token } = await appTokens();
      for (const auth of ['assertion', 'bearer'] as const) {
        const res = await introspect(access_token, auth);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.headers.get('cache-control'), 'no-store');
        const claims = decodeJwt(access_token);
        assert.equal(res.body.active, true);
        assert.equal(res.body.scope, 'patient/*.rs offline_access');
        assert.equal(res.body.client_id, 'app');
        assert.equal(res.body.sub, 'u1');
        assert.equal(res.body.patient, 'p9');
        assert.equal(res.body.exp, claims.exp);
        assert.equal(res.body.iat, claims.iat);
        assert.equal(res.body.iss, base);
        assert.equal(res.body.aud, base);
        assert.equal(res.body.token_type, 'Bearer');
      }
    });

    it('describes a live refresh token', async () => {
      const { refresh_token } = await appTokens();
      const res = await introspect(refresh_token);
      assert.equal(res.body.active, true);
      assert.equal(res.body.client_id, 'app');
      assert.equal(res.body.token_type, 'refresh_token');
    });

    it('answers exactly {"active":false} for garbage, expired, revoked and another tenant\'s tokens', async () => {
      const runtime = tokenRuntime(server.database, server.config);
      const expired = (await signAccessToken(runtime, { iss: base, aud: base, sub: 'svc', client_id: 'svc', scope: 's', tid: tenant, gid: 'g' }, -120)).token;
      const revoked = await appTokens();
      await postForm(`${base}/auth/revoke`, { token: revoked.access_token, client_id: 'app' });
      const other = await newTenant(server.database.pool);
      await registerClient(server.database, other, { clientId: 'svc', name: 'Service', kind: 'backend-service', scope: 'system/*.rs', jwks: svcKeys.jwks });
      const foreign = await backendToken('svc', svcKeys, 'system/Observation.rs', `${server.baseOf(other)}/auth/token`);
      for (const token of ['garbage', 'a.b.c', '', expired, revoked.access_token, revoked.refresh_token, foreign, 'x'.repeat(5000)]) {
        const res = await introspect(token);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('cache-control'), 'no-store');
        assert.deepEqual(res.body, { active: false }, token.slice(0, 20));
      }
    });

    it('refuses callers that are not admin clients of the tenant (401)', async () => {
      const { access_token } = await appTokens();
      const none = await introspect(access_token, 'none');
      assert.equal(none.status, 401);
      assert.equal(none.body.active, undefined);
      const notAdmin = await introspect(access_token, 'not-admin');
      assert.equal(notAdmin.status, 401);
      assert.equal(notAdmin.body.error, 'invalid_client');
      const badBearer = await postForm(`${base}/auth/introspect`, { token: access_token }, { authorization: 'Bearer garbage' });
      assert.equal(badBearer.status, 401);
      assert.match(badBearer.headers.get('www-authenticate') ?? '', /invalid_token/);
      const appBearer = await postForm(`${base}/auth/introspect`, { token: access_token }, { authorization: `Bearer ${access_token}` });
      assert.equal(appBearer.status, 401);
    });
  });

  describe('revocation', () => {
    it('revoking an access token revokes its grant: the access and refresh tokens stop working', async () => {
      const { access_token, refresh_token } = await appTokens();
      const res = await postForm(`${base}/auth/revoke`, { token: access_token, client_id: 'app' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      await assert.rejects(verify(access_token), { reason: 'token revoked' });
      const refreshed = await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token, client_id: 'app' });
      assert.equal(refreshed.body.error, 'invalid_grant');
    });

    it('revoking a refresh token revokes the access tokens of its grant', async () => {
      const { access_token, refresh_token } = await appTokens();
      await verify(access_token);
      assert.equal((await postForm(`${base}/auth/revoke`, { token: refresh_token, token_type_hint: 'refresh_token', client_id: 'app' })).status, 200);
      await assert.rejects(verify(access_token), { reason: 'token revoked' });
    });

    it('a backend service revokes its own token with a client assertion', async () => {
      const token = await backendToken();
      const res = await postForm(`${base}/auth/revoke`, { token, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion('svc', svcKeys) });
      assert.equal(res.status, 200);
      await assert.rejects(verify(token), { reason: 'token revoked' });
    });

    it('answers 200 for unknown tokens and leaves another client\'s token alone; unauthenticated callers get 401', async () => {
      assert.equal((await postForm(`${base}/auth/revoke`, { token: 'unknown', client_id: 'app' })).status, 200);
      const token = await backendToken();
      assert.equal((await postForm(`${base}/auth/revoke`, { token, client_id: 'app' })).status, 200);
      await verify(token);
      const anonymous = await postForm(`${base}/auth/revoke`, { token });
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.body.error, 'invalid_client');
      await verify(token);
      assert.equal((await postForm(`${base}/auth/revoke`, { client_id: 'app' })).body.error, 'invalid_request');
    });
  });
});
