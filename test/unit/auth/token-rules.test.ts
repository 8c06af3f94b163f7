// Pure rules of the token side: scope coverage (SMART scopes), PKCE S256 (RFC 7636), client
// registration checks (RFC 6749 section 3.1.2, RFC 8252 loopback, RFC 7517), OAuth error bodies
// (RFC 6749 section 5.2), discovery documents, the mount path -> tenant mapping, the live-grant cache.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { checkJwks, checkRedirectUri, checkRegistration, ClientRegistrationError } from '../../../src/auth/clients/client-validation.js';
import { publicOnly } from '../../../src/auth/keys/signing-keys.js';
import { openidConfiguration, smartConfiguration } from '../../../src/auth/tokens/discovery.js';
import { GrantCache } from '../../../src/auth/tokens/grant-cache.js';
import { absoluteFhirUser } from '../../../src/auth/tokens/id-token.js';
import { OAuthError } from '../../../src/auth/tokens/oauth-error.js';
import { s256, verifierMatches } from '../../../src/auth/tokens/pkce.js';
import { isSystemScope, scopeCovers, splitScope, uncoveredScopes, wellFormedScope } from '../../../src/auth/tokens/scope-rules.js';
import { tenantFromBasePath } from '../../../src/auth/tenants.js';

describe('token side rules (unit)', () => {
  describe('scope coverage', () => {
    it('covers same or narrower resource scopes of the same context', () => {
      assert.ok(scopeCovers('system/*.rs', 'system/Observation.rs'));
      assert.ok(scopeCovers('system/*.rs', 'system/Observation.r'));
      assert.ok(scopeCovers('system/Observation.rs', 'system/Observation.read'));
      assert.ok(scopeCovers('system/*.*', 'system/Patient.cruds'));
      assert.ok(scopeCovers('patient/Observation.rs', 'patient/Observation.rs?category=laboratory'));
      assert.ok(scopeCovers('patient/Observation.rs?category=laboratory', 'patient/Observation.s?category=laboratory'));
      assert.ok(scopeCovers('openid', 'openid'));
    });

    it('does not cover wider permissions, other types, other contexts, other constraints, or unlisted non-resource scopes', () => {
      assert.ok(!scopeCovers('system/Observation.rs', 'system/Observation.cruds'));
      assert.ok(!scopeCovers('system/Observation.rs', 'system/*.rs'));
      assert.ok(!scopeCovers('system/Observation.rs', 'system/Patient.rs'));
      assert.ok(!scopeCovers('patient/*.rs', 'system/*.rs'));
      assert.ok(!scopeCovers('user/*.rs', 'patient/*.rs'));
      assert.ok(!scopeCovers('patient/Observation.rs?category=laboratory', 'patient/Observation.rs'));
      assert.ok(!scopeCovers('patient/Observation.rs?category=laboratory', 'patient/Observation.rs?category=vital-signs'));
      assert.ok(!scopeCovers('system/*.rs', 'openid'));
      assert.ok(!scopeCovers('system/*.rs', 'system/NotAType.rs'));
    });

    it('lists the requested scopes nothing allowed covers; splits and checks scope strings', () => {
      assert.deepEqual(uncoveredScopes('system/Observation.rs system/Patient.r', 'system/Observation.r system/Patient.rs system/Condition.r'), ['system/Patient.rs', 'system/Condition.r']);
      assert.deepEqual(splitScope('  a  b a '), ['a', 'b']);
      assert.deepEqual(splitScope(null), []);
      assert.ok(isSystemScope('system/Observation.rs'));
      assert.ok(!isSystemScope('patient/Observation.rs'));
      assert.ok(!isSystemScope('system/Observation.xyz'));
      assert.ok(wellFormedScope('a b/c.rs?x=1'));
      assert.ok(!wellFormedScope('a "b"'));
    });
  });

  describe('PKCE S256', () => {
    it('matches BASE64URL(SHA256(verifier)) and nothing else', () => {
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      assert.equal(s256(verifier), challenge);
      assert.ok(verifierMatches(verifier, challenge));
      assert.ok(!verifierMatches(null, challenge));
      assert.ok(!verifierMatches(challenge, challenge), 'plain: the challenge itself is no verifier');
      assert.ok(!verifierMatches(randomBytes(32).toString('base64url'), challenge));
    });

    it('refuses verifiers outside RFC 7636 section 4.1 (43-128 unreserved characters)', () => {
      const short = 'a'.repeat(42);
      assert.ok(!verifierMatches(short, s256(short)));
      const long = 'a'.repeat(129);
      assert.ok(!verifierMatches(long, s256(long)));
      const bad = `${'a'.repeat(43)}+`;
      assert.ok(!verifierMatches(bad, s256(bad)));
      const ok = 'a'.repeat(43);
      assert.ok(verifierMatches(ok, s256(ok)));
    });
  });

  describe('client registration', () => {
    it('accepts https redirect URIs and http only on loopback', () => {
      for (const uri of ['https://app.example/cb', 'https://app.example:8443/cb?x=1', 'http://localhost:3000/cb', 'http://127.0.0.1/cb', 'http://[::1]:9/cb']) checkRedirectUri(uri);
      for (const uri of ['http://app.example/cb', 'https://app.example/cb#frag', 'app.example/cb', '/cb', 'javascript:alert(1)', 'https://user:pw@app.example/cb', 'ftp://x/cb', 'http://127.0.0.1.evil.example/cb']) {
        assert.throws(() => checkRedirectUri(uri), ClientRegistrationError, uri);
      }
    });

    it('accepts public RSA/EC JWKS with kids only', () => {
      checkJwks({ keys: [{ kty: 'EC', crv: 'P-384', x: 'a', y: 'b', kid: '1' }, { kty: 'RSA', n: 'n', e: 'AQAB', kid: '2' }] });
      for (const jwks of [null, {}, { keys: [] }, { keys: [{ kty: 'oct', k: 'x', kid: '1' }] }, { keys: [{ kty: 'EC', crv: 'P-384', x: 'a', y: 'b' }] },
        { keys: [{ kty: 'EC', crv: 'P-384', x: 'a', y: 'b', d: 'secret', kid: '1' }] }, { keys: [{ kty: 'RSA', e: 'AQAB', kid: '1' }] }, { keys: ['x'] }]) {
        assert.throws(() => checkJwks(jwks), ClientRegistrationError, JSON.stringify(jwks));
      }
    });

    it('holds each kind of client to what it needs', () => {
      const jwks = { keys: [{ kty: 'EC', crv: 'P-384', x: 'a', y: 'b', kid: '1' }] };
      checkRegistration({ name: 'a', kind: 'public', redirectUris: ['https://a.example/cb'] });
      checkRegistration({ name: 'a', kind: 'confidential-asymmetric', redirectUris: ['https://a.example/cb'], jwks });
      checkRegistration({ name: 'a', kind: 'backend-service', jwksUri: 'https://keys.example/jwks.json' });
      const bad = [
        { name: 'a', kind: 'public' },
        { name: 'a', kind: 'public', redirectUris: ['https://a.example/cb'], jwks },
        { name: 'a', kind: 'confidential-asymmetric', redirectUris: ['https://a.example/cb'] },
        { name: 'a', kind: 'backend-service', jwks, redirectUris: ['https://a.example/cb'] },
        { name: 'a', kind: 'backend-service', jwks, jwksUri: 'https://keys.example/jwks.json' },
        { name: 'a', kind: 'backend-service', jwksUri: 'http://keys.example/jwks.json' },
        { name: ' ', kind: 'public', redirectUris: ['https://a.example/cb'] },
        { name: 'a', kind: 'public', redirectUris: ['https://a.example/cb'], clientId: 'has space' },
        { name: 'a', kind: 'other', redirectUris: ['https://a.example/cb'] },
      ];
      for (const input of bad) assert.throws(() => checkRegistration(input as never), ClientRegistrationError, JSON.stringify(input));
    });
  });

  describe('OAuth errors', () => {
    it('map to RFC 6749 statuses and bodies', () => {
      assert.equal(new OAuthError('invalid_client', 'x').status, 401);
      for (const code of ['invalid_request', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'] as const) assert.equal(new OAuthError(code, 'x').status, 400);
      assert.equal(new OAuthError('slow_down', 'x').status, 429);
      assert.deepEqual(new OAuthError('invalid_grant', 'bad "code"\n\\').body(), { error: 'invalid_grant', error_description: 'bad ?code???' });
    });
  });

  describe('discovery', () => {
    it('builds endpoint URLs below the base and names the base as issuer', () => {
      const smart = smartConfiguration('https://h.example/t/acme/fhir');
      assert.equal(smart.issuer, 'https://h.example/t/acme/fhir');
      assert.equal(smart.token_endpoint, 'https://h.example/t/acme/fhir/auth/token');
      assert.equal(smart.authorization_endpoint, 'https://h.example/t/acme/fhir/auth/authorize');
      assert.equal(smart.capabilities.length, 12);
      const oidc = openidConfiguration('https://h.example/fhir');
      assert.equal(oidc.issuer, 'https://h.example/fhir');
      assert.equal(oidc.jwks_uri, 'https://h.example/fhir/auth/jwks');
    });

    it('makes fhirUser absolute under the base', () => {
      assert.equal(absoluteFhirUser('https://h.example/fhir', 'Practitioner/1'), 'https://h.example/fhir/Practitioner/1');
      assert.equal(absoluteFhirUser('https://h.example/fhir/', '/Patient/2'), 'https://h.example/fhir/Patient/2');
      assert.equal(absoluteFhirUser('https://h.example/fhir', 'https://other.example/fhir/Patient/2'), 'https://other.example/fhir/Patient/2');
    });

    it('publishes only the public members of a key', () => {
      assert.deepEqual(publicOnly({ kty: 'EC', crv: 'P-384', x: 'x', y: 'y', d: 'secret', kid: 'k', alg: 'ES384' }), { kty: 'EC', crv: 'P-384', x: 'x', y: 'y', kid: 'k', alg: 'ES384' });
    });
  });

  describe('tenant of a mount path', () => {
    it('maps /fhir to default and /t/{id}/fhir to id; refuses anything else', () => {
      assert.equal(tenantFromBasePath('/fhir'), 'default');
      assert.equal(tenantFromBasePath('/t/acme/fhir'), 'acme');
      assert.equal(tenantFromBasePath('/t/a.b-c/fhir/'), 'a.b-c');
      for (const path of ['', '/', '/t/fhir', '/t/a/b/fhir', '/t/%2e%2e/fhirx', '/t/a%2Fb/fhir', '/t/bad!/fhir', '/t/%zz/fhir', '/other']) {
        assert.equal(tenantFromBasePath(path), undefined, path);
      }
    });
  });

  describe('live-grant cache', () => {
    it('remembers live grants briefly, revoked ones for good, and forgets a removed client\'s', () => {
      const cache = new GrantCache(60_000);
      assert.equal(cache.lookup('t', 'g'), undefined);
      cache.rememberLive('t', 'g', 'c');
      cache.rememberLive('t', 'h', 'd');
      assert.equal(cache.lookup('t', 'g'), true);
      assert.equal(cache.lookup('u', 'g'), undefined, 'per tenant');
      cache.rememberRevoked('t', 'g');
      assert.equal(cache.lookup('t', 'g'), false);
      cache.rememberLive('t', 'g', 'c');
      assert.equal(cache.lookup('t', 'g'), false, 'a revoked grant never comes back');
      cache.forgetClient('t', 'd');
      assert.equal(cache.lookup('t', 'h'), undefined);
      const off = new GrantCache(0);
      off.rememberLive('t', 'g', 'c');
      assert.equal(off.lookup('t', 'g'), undefined);
    });
  });
});
