// Unit tests for src/auth/authorize/validate-request.ts (RFC 6749 4.1.1/4.1.2.1, RFC 7636,
// SMART App Launch 2.x): which problems get an error page (no redirect) and which redirect back
// with error and state; scopes beyond the client's registration dropped; PKCE S256 only; aud.
import assert from 'node:assert/strict';
import type { AuthorizationServerApi, OAuthClient } from '../../../src/auth/contracts.js';
import { scopeAllowed, validateAuthorizeRequest } from '../../../src/auth/authorize/validate-request.js';

const BASE = 'http://127.0.0.1:8080/t/acme/fhir';
const CLIENT: OAuthClient = {
  tenantId: 'acme',
  clientId: 'app',
  name: 'App',
  kind: 'public',
  redirectUris: ['https://app.example/callback'],
  scope: 'launch launch/patient openid fhirUser offline_access patient/*.rs user/Observation.rs',
  admin: false,
};
const api: AuthorizationServerApi = {
  findClient: async (_t, id) => (id === 'app' ? CLIENT : id === 'backend' ? { ...CLIENT, clientId: 'backend', kind: 'backend-service', redirectUris: [] } : undefined),
  issueAuthorizationCode: async () => 'code',
  resolveLaunch: async (_t, launch) => (launch === 'L1' ? { patient: 'p1', encounter: 'e1', userId: 'alice' } : undefined),
};

const good = (): Record<string, string> => ({
  response_type: 'code',
  client_id: 'app',
  redirect_uri: 'https://app.example/callback',
  scope: 'launch/patient patient/*.rs openid fhirUser',
  state: 'st-123',
  aud: BASE,
  code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  code_challenge_method: 'S256',
});

const validate = (params: Record<string, string | undefined>, extra: [string, string][] = []) => {
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
  for (const [k, v] of extra) query.append(k, v);
  return validateAuthorizeRequest(query, { tenantId: 'acme', fhirBase: BASE, authServer: api });
};

async function redirected(params: Record<string, string | undefined>, extra: [string, string][] = []) {
  const outcome = await validate(params, extra);
  assert.equal(outcome.kind, 'redirect', JSON.stringify(outcome));
  const url = new URL((outcome as { location: string }).location);
  assert.equal(`${url.origin}${url.pathname}`, 'https://app.example/callback');
  return url.searchParams;
}

describe('front channel: authorize request validation', () => {
  it('accepts a good standalone request and keeps its parts', async () => {
    const outcome = await validate(good());
    assert.equal(outcome.kind, 'ok');
    if (outcome.kind !== 'ok') return;
    assert.equal(outcome.request.scope, 'launch/patient patient/*.rs openid fhirUser');
    assert.equal(outcome.request.needsPatient, true);
    assert.equal(outcome.request.state, 'st-123');
    assert.equal(outcome.request.clientName, 'App');
  });

  it('unknown client, a backend service, and every redirect_uri variant get a page, not a redirect', async () => {
    for (const change of [
      { client_id: 'nobody' },
      { client_id: undefined },
      { client_id: 'backend' },
      { redirect_uri: undefined },
      { redirect_uri: 'https://app.example/callback/' },
      { redirect_uri: 'https://app.example:8443/callback' },
      { redirect_uri: 'https://APP.example/callback' },
      { redirect_uri: 'https://app.example/Callback' },
      { redirect_uri: 'https://evil.example/callback' },
      { redirect_uri: 'https://app.example/callback?x=1' },
    ]) {
      const outcome = await validate({ ...good(), ...change });
      assert.equal(outcome.kind, 'page', JSON.stringify(change));
      assert.equal((outcome as { status: number }).status, 400);
    }
    const twice = await validate(good(), [['redirect_uri', 'https://evil.example/']]);
    assert.equal(twice.kind, 'page');
  });

  it('redirects with error and state once the client and redirect_uri are good', async () => {
    const cases: [Record<string, string | undefined>, string][] = [
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ response_type: undefined }, 'invalid_request'],
      [{ code_challenge: undefined }, 'invalid_request'],
      [{ code_challenge_method: undefined }, 'invalid_request'],
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge: 'short' }, 'invalid_request'],
      [{ aud: undefined }, 'invalid_request'],
      [{ aud: 'https://other.example/fhir' }, 'invalid_request'],
      [{ aud: `${BASE}/` }, 'invalid_request'],
      [{ scope: undefined }, 'invalid_scope'],
      [{ scope: 'patient/Observation.xyz' }, 'invalid_scope'],
      [{ scope: 'system/*.rs' }, 'invalid_scope'],
      [{ scope: 'user/Patient.cruds' }, 'invalid_scope'],
      [{ launch: 'unknown' }, 'invalid_request'],
      [{ scope: 'launch patient/*.rs' }, 'invalid_request'],
    ];
    for (const [change, error] of cases) {
      const params = await redirected({ ...good(), ...change });
      assert.equal(params.get('error'), error, JSON.stringify(change));
      assert.equal(params.get('state'), 'st-123');
      assert.equal(params.get('code'), null);
    }
    const missingState = await redirected({ ...good(), state: undefined });
    assert.equal(missingState.get('error'), 'invalid_request');
    assert.equal(missingState.has('state'), false);
    const repeated = await redirected(good(), [['scope', 'patient/*.cruds']]);
    assert.equal(repeated.get('error'), 'invalid_request');
  });

  it('drops scopes beyond the registration and keeps those within it', async () => {
    const outcome = await validate({ ...good(), scope: 'patient/Observation.rs patient/Observation.cruds user/Observation.r user/Patient.rs openid profile' });
    assert.equal(outcome.kind, 'ok');
    if (outcome.kind === 'ok') assert.equal(outcome.request.scope, 'patient/Observation.rs user/Observation.r openid');
    assert.equal(scopeAllowed('patient/Observation.rs?category=laboratory', ['patient/*.rs']), true);
    assert.equal(scopeAllowed('patient/Observation.rs', ['patient/Observation.rs?category=laboratory']), false);
    assert.equal(scopeAllowed('patient/*.rs', ['patient/Observation.rs']), false);
  });

  it('an EHR launch supplies patient, encounter and user; no picker is needed', async () => {
    const outcome = await validate({ ...good(), scope: 'launch patient/*.rs', launch: 'L1' });
    assert.equal(outcome.kind, 'ok');
    if (outcome.kind !== 'ok') return;
    assert.deepEqual(outcome.request.launch, { patient: 'p1', encounter: 'e1', userId: 'alice' });
    assert.equal(outcome.request.needsPatient, false);
  });
});
