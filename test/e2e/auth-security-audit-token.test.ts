// The token side's security events over HTTP (issue 11 "Recording"; IHE BALP, RFC 6749, RFC
// 7009): every token response is a token-issued event (client, sub, fhirUser, the access
// token's jti) recorded before the token is signed; every error answer is a token-refused event
// with its RFC 6749 code, naming the client only when it is registered; revoking a user's grant
// is a logout. No entry holds a token, a code or text the client made up. A failing audit trail
// turns an issuance into a 503 that grants nothing, and leaves refusals refusals.
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import type { AuthorizationGrant } from '../../src/auth/contracts.js';
import { createAccessTokenVerifier } from '../../src/auth/token-side.js';
import type { SecurityAuditEntry } from '../../src/audit/security-sink.js';
import { startAuditedAuthServer, type AuditedAuthServer } from '../support/auth-security-audit.js';
import { requireServices } from '../support/services.js';
import { generateClientKeys, pkcePair, postForm, registerClient, signClientAssertion, type ClientKeys } from '../support/smart-clients.js';

const REDIRECT = 'https://app.example/callback';
const SCOPE = 'launch/patient openid fhirUser patient/*.rs offline_access';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('Security audit events of the token endpoint (e2e)', function () {
  this.timeout(60_000);
  let server: AuditedAuthServer;
  let keys: ClientKeys;
  let tenant: string;
  let base: string;
  let tokenUrl: string;

  before(async function () {
    await requireServices(this);
    server = await startAuditedAuthServer();
    keys = await generateClientKeys('ES384');
  });
  after(async () => server?.close());
  beforeEach(async () => {
    server.sink.failing = false;
    tenant = await server.newTenant();
    base = server.baseOf(tenant);
    tokenUrl = `${base}/auth/token`;
    await registerClient(server.database, tenant, { clientId: 'app', name: 'App', kind: 'public', redirectUris: [REDIRECT], scope: SCOPE });
    await registerClient(server.database, tenant, {
      clientId: 'backend', name: 'Backend', kind: 'backend-service', scope: 'system/Observation.rs', jwks: keys.jwks,
    });
  });

  const entries = () => server.sink.of(tenant);
  const last = (): SecurityAuditEntry => {
    const all = entries();
    assert.ok(all.length > 0, 'an entry was recorded');
    return all[all.length - 1];
  };

  async function issueCode(overrides: Partial<AuthorizationGrant> = {}) {
    const pkce = pkcePair();
    const grant: AuthorizationGrant = {
      tenantId: tenant, clientId: 'app', redirectUri: REDIRECT, codeChallenge: pkce.challenge, scope: SCOPE,
      userId: 'user-1', fhirUser: 'Practitioner/7', patient: 'p1', authTime: Math.floor(Date.now() / 1000) - 5, ...overrides,
    };
    return { code: await server.api.issueAuthorizationCode(grant), verifier: pkce.verifier };
  }

  const redeem = (code: string, verifier: string, headers: Record<string, string> = {}) =>
    postForm(tokenUrl, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: 'app' }, headers);
  const refresh = (token: string) => postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: token, client_id: 'app' });
  const backend = async (scope = 'system/Observation.rs', jti?: string) =>
    postForm(tokenUrl, {
      grant_type: 'client_credentials', scope, client_assertion_type: ASSERTION_TYPE,
      client_assertion: await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys, jti }),
    });

  function assertNoSecrets(...secrets: (string | undefined)[]) {
    const text = JSON.stringify(server.sink.captured);
    for (const secret of secrets) if (secret) assert.ok(!text.includes(secret), `the audit entries hold ${secret.slice(0, 12)}...`);
  }

  it('records a redeemed code as token-issued: client, sub, fhirUser, the jti, the request; before the response', async () => {
    const { code, verifier } = await issueCode();
    const before = Date.now();
    const res = await redeem(code, verifier, { 'x-request-id': 'req-token-1' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const all = entries();
    assert.equal(all.length, 1);
    const entry = all[0];
    assert.equal(entry.event, 'token-issued');
    assert.equal(entry.status, 200);
    assert.equal(entry.code, undefined);
    assert.deepEqual(entry.caller, { clientId: 'app', subject: 'user-1', fhirUser: 'Practitioner/7', tokenId: decodeJwt(res.body.access_token).jti });
    assert.deepEqual(entry.request, { id: 'req-token-1', method: 'POST', path: 'auth/token' });
    assert.match(entry.network ?? '', /127\.0\.0\.1/);
    assert.ok(entry.started.getTime() >= before - 5 && entry.started.getTime() <= Date.now());
    assert.equal(server.sink.captured.at(-1)!.tenantBase, base);
    assertNoSecrets(res.body.access_token, res.body.refresh_token, res.body.id_token, code, verifier);
  });

  it('records a refresh and a client_credentials issuance with their jti (sub of a backend token: the client)', async () => {
    const { code, verifier } = await issueCode();
    const first = await redeem(code, verifier);
    const renewed = await refresh(first.body.refresh_token);
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.deepEqual(last().caller, { clientId: 'app', subject: 'user-1', fhirUser: 'Practitioner/7', tokenId: decodeJwt(renewed.body.access_token).jti });
    assert.equal(last().event, 'token-issued');

    const system = await backend();
    assert.equal(system.status, 200, JSON.stringify(system.body));
    assert.deepEqual(last().caller, { clientId: 'backend', subject: 'backend', tokenId: decodeJwt(system.body.access_token).jti });
    assert.equal(entries().length, 3);
    assertNoSecrets(first.body.access_token, first.body.refresh_token, renewed.body.access_token, renewed.body.refresh_token, system.body.access_token);
  });

  it('records every refusal with its RFC 6749 code and status, the client only when registered', async () => {
    const refusals: [() => Promise<{ status: number; body: any }>, number, string, string | undefined][] = [
      [() => postForm(tokenUrl, { grant_type: 'authorization_code', code: 'no-such-code-0123', redirect_uri: REDIRECT, code_verifier: pkcePair().verifier, client_id: 'app' }), 400, 'invalid_grant', 'app'],
      [() => postForm(tokenUrl, { grant_type: 'password', username: 'u', password: 'p', client_id: 'app' }), 400, 'unsupported_grant_type', 'app'],
      [() => postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: 'made-up-refresh-token-42', client_id: 'nobody-at-all-77' }), 401, 'invalid_client', undefined],
      [() => backend('system/Patient.rs'), 400, 'invalid_scope', 'backend'],
      [() => postForm(tokenUrl, { client_id: 'app' }), 400, 'invalid_request', 'app'],
    ];
    for (const [send, status, code, clientId] of refusals) {
      const res = await send();
      assert.equal(res.body.error, code);
      const entry = last();
      assert.equal(entry.event, 'token-refused');
      assert.equal(entry.status, status);
      assert.equal(entry.code, code);
      assert.deepEqual(entry.caller, clientId ? { clientId } : {});
      assert.equal(entry.request?.path, 'auth/token');
    }
    assert.equal(entries().length, refusals.length);
    assertNoSecrets('nobody-at-all-77', 'made-up-refresh-token-42', 'no-such-code-0123');
  });

  it('records a replayed code and a replayed client assertion as refusals', async () => {
    const { code, verifier } = await issueCode();
    const first = await redeem(code, verifier);
    assert.equal(first.status, 200);
    const replay = await redeem(code, verifier);
    assert.equal(replay.body.error, 'invalid_grant');
    assert.deepEqual({ event: last().event, code: last().code, caller: last().caller }, { event: 'token-refused', code: 'invalid_grant', caller: { clientId: 'app' } });

    const jti = 'assertion-jti-1';
    assert.equal((await backend(undefined, jti)).status, 200);
    const again = await backend(undefined, jti);
    assert.equal(again.body.error, 'invalid_client');
    assert.deepEqual({ event: last().event, status: last().status, code: last().code, caller: last().caller }, { event: 'token-refused', status: 401, code: 'invalid_client', caller: { clientId: 'backend' } });
    assertNoSecrets(code, first.body.access_token, first.body.refresh_token);
  });

  it('answers 503 temporarily_unavailable and grants nothing when the token-issued event cannot be recorded', async () => {
    const { code, verifier } = await issueCode();
    server.sink.failing = true;
    const res = await redeem(code, verifier);
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { error: 'temporarily_unavailable' });
    assert.equal(res.headers.get('cache-control'), 'no-store');
    server.sink.failing = false;
    // The code was spent on the failed issuance: nothing can be had from it any more.
    assert.equal((await redeem(code, verifier)).body.error, 'invalid_grant');
    assert.ok(server.logger.errors.some((m) => /could not be recorded/.test(m)));

    // A refresh stopped the same way: the grant behind it is revoked, its tokens dead.
    const other = await issueCode();
    const tokens = await redeem(other.code, other.verifier);
    assert.equal(tokens.status, 200);
    server.sink.failing = true;
    assert.equal((await refresh(tokens.body.refresh_token)).status, 503);
    server.sink.failing = false;
    const verify = createAccessTokenVerifier({ database: server.database, config: server.config });
    await assert.rejects(verify(tokens.body.access_token, { tenantId: tenant, audience: base }), { reason: 'token revoked' });
    assert.equal((await refresh(tokens.body.refresh_token)).body.error, 'invalid_grant');

    server.sink.failing = true;
    const system = await backend();
    assert.equal(system.status, 503);
    assert.equal(system.body.access_token, undefined);
  });

  it('keeps a refusal a refusal when its event cannot be recorded (and logs that)', async () => {
    server.sink.failing = true;
    const logged = server.logger.errors.length;
    const res = await postForm(tokenUrl, { grant_type: 'password', client_id: 'app' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'unsupported_grant_type');
    assert.ok(server.logger.errors.length > logged);
  });

  it('records revoking a user grant as a logout (with the jti of a revoked access token); other revocations record nothing', async () => {
    const { code, verifier } = await issueCode();
    const tokens = await redeem(code, verifier);
    const revokeUrl = `${base}/auth/revoke`;
    const revoked = await postForm(revokeUrl, { token: tokens.body.refresh_token, client_id: 'app' }, { 'x-request-id': 'req-logout' });
    assert.equal(revoked.status, 200);
    const entry = last();
    assert.equal(entry.event, 'logout');
    assert.equal(entry.status, 200);
    assert.deepEqual(entry.caller, { clientId: 'app', subject: 'user-1', fhirUser: 'Practitioner/7' });
    assert.deepEqual(entry.request, { id: 'req-logout', method: 'POST', path: 'auth/revoke' });
    const count = entries().length;
    // Already revoked: nothing ended, nothing recorded.
    await postForm(revokeUrl, { token: tokens.body.access_token, client_id: 'app' });
    assert.equal(entries().length, count);

    const second = await issueCode();
    const more = await redeem(second.code, second.verifier);
    await postForm(revokeUrl, { token: more.body.access_token, client_id: 'app' });
    assert.deepEqual(last().caller, { clientId: 'app', subject: 'user-1', fhirUser: 'Practitioner/7', tokenId: decodeJwt(more.body.access_token).jti });
    assert.equal(last().event, 'logout');

    // A backend service's token is no user session.
    const system = await backend();
    const before = entries().length;
    const assertion = await signClientAssertion({ clientId: 'backend', aud: tokenUrl, keys });
    assert.equal((await postForm(revokeUrl, { token: system.body.access_token, client_assertion_type: ASSERTION_TYPE, client_assertion: assertion })).status, 200);
    assert.equal(entries().length, before);
    assertNoSecrets(tokens.body.access_token, tokens.body.refresh_token, more.body.access_token, more.body.refresh_token, system.body.access_token);
  });

  it('revokes anyway when the logout cannot be recorded (200, the token is dead, the failure logged)', async () => {
    const { code, verifier } = await issueCode();
    const tokens = await redeem(code, verifier);
    server.sink.failing = true;
    const logged = server.logger.errors.length;
    const res = await postForm(`${base}/auth/revoke`, { token: tokens.body.refresh_token, client_id: 'app' });
    assert.equal(res.status, 200);
    assert.ok(server.logger.errors.length > logged);
    server.sink.failing = false;
    const verify = createAccessTokenVerifier({ database: server.database, config: server.config });
    await assert.rejects(verify(tokens.body.access_token, { tenantId: tenant, audience: base }), { reason: 'token revoked' });
  });
});
