// The resource server's authentication (src/http/auth-mode.ts, src/http/authenticate.ts,
// src/auth/external-issuer.ts): when a token is needed, how bearer headers are read, and that
// anything but a valid token for this tenant's base is a 401 with WWW-Authenticate.
import assert from 'node:assert/strict';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { ExternalIssuer } from '../../../src/auth/external-issuer.js';
import type { AccessTokenClaims } from '../../../src/auth/contracts.js';
import { loadConfig } from '../../../src/core/config.js';
import { FhirError } from '../../../src/core/errors.js';
import { decideAuthMode, isLoopbackHost } from '../../../src/http/auth-mode.js';
import { Authenticator, bearerToken } from '../../../src/http/authenticate.js';

const EXPECTED = { tenantId: 'acme', audience: 'http://127.0.0.1:8080/t/acme/fhir' };

async function rejects401(work: Promise<unknown>): Promise<FhirError> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof FhirError, `expected a FhirError, got ${String(error)}`);
    assert.equal(error.status, 401);
    assert.match(error.headers['WWW-Authenticate'] ?? '', /^Bearer realm="hearth", error="invalid_token"/);
    return error;
  }
  assert.fail('expected a 401');
}

describe('auth mode (HEARTH_AUTH)', () => {
  const decide = (env: NodeJS.ProcessEnv) => decideAuthMode(loadConfig(env));

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.org', '128.0.0.1']) assert.ok(!isLoopbackHost(host), host);
  });

  it('auto: open (with a warning) only for the embedded quick start on loopback', () => {
    const open = decide({});
    assert.equal(open.mode, 'open');
    assert.match(open.warning ?? '', /AUTHENTICATION IS OFF/);
    assert.equal(decide({ DATABASE_URL: 'postgresql://db/x' }).mode, 'required', 'an external database requires tokens');
    assert.equal(decide({ HEARTH_HOST: '0.0.0.0' }).mode, 'required', 'listening beyond loopback requires tokens');
  });

  it('required: always, even for the embedded quick start', () => {
    assert.deepEqual(decide({ HEARTH_AUTH: 'required' }), { mode: 'required' });
  });

  it('off: only on loopback, and said loudly', () => {
    const off = decide({ HEARTH_AUTH: 'off', DATABASE_URL: 'postgresql://db/x' });
    assert.equal(off.mode, 'open');
    assert.match(off.warning ?? '', /external database/);
    assert.throws(() => decide({ HEARTH_AUTH: 'off', HEARTH_HOST: '0.0.0.0' }), /HEARTH_AUTH=off is refused when listening on 0\.0\.0\.0/);
  });
});

describe('bearerToken', () => {
  it('reads "Bearer <token>" (scheme case-insensitive) and nothing else', () => {
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken('Bearer abc.def-ghi_j~k+l/m='), 'abc.def-ghi_j~k+l/m=');
    assert.equal(bearerToken('bearer x.y.z'), 'x.y.z');
    for (const bad of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'Bearer a"b', 'x.y.z']) {
      assert.throws(() => bearerToken(bad), (e: unknown) => e instanceof FhirError && e.status === 401, bad);
    }
  });
});

describe('Authenticator', () => {
  const claims: AccessTokenClaims = {
    iss: EXPECTED.audience, aud: EXPECTED.audience, sub: 'u1', client_id: 'app', scope: 'patient/*.rs openid', tid: 'acme',
    jti: 'j1', gid: 'g1', iat: 1, exp: 2, patient: 'p1', fhirUser: 'Practitioner/9',
  };
  const verifyHearthToken = async (token: string, expected: { tenantId: string; audience: string }) => {
    if (token !== 'h.e.ok' || expected.tenantId !== 'acme') throw new Error('bad');
    return claims;
  };

  it('open mode: no token is the anonymous administrator; a token is still verified', async () => {
    const auth = new Authenticator({ mode: 'open', verifyHearthToken });
    assert.equal((await auth.accessFor(undefined, EXPECTED)).isAdmin, true);
    await rejects401(auth.accessFor('Bearer not-a-jwt', EXPECTED));
  });

  it('required mode: no token, a malformed one, or one the verifier refuses is a 401', async () => {
    const auth = new Authenticator({ mode: 'required', verifyHearthToken });
    await rejects401(auth.accessFor(undefined, EXPECTED));
    await rejects401(auth.accessFor('Bearer abc', EXPECTED));
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"iss":"x"}').toString('base64url')}.`;
    await rejects401(auth.accessFor(`Bearer ${unsigned}`, EXPECTED));
  });

  it('maps verified claims to the access context (never an administrator unless said so)', async () => {
    const verify = async () => claims;
    const auth = new Authenticator({ mode: 'required', verifyHearthToken: verify });
    const token = `${Buffer.from('{"alg":"ES384"}').toString('base64url')}.${Buffer.from('{"iss":"x"}').toString('base64url')}.sig`;
    const access = await auth.accessFor(`Bearer ${token}`, EXPECTED);
    assert.deepEqual({ ...access, scopes: [...access.scopes] }, {
      subject: 'u1', scopes: ['patient/*.rs', 'openid'], isAdmin: false, tenantId: 'acme', clientId: 'app',
      patient: 'p1', encounter: undefined, fhirUser: 'Practitioner/9', tokenId: 'j1',
    });
    assert.equal(await auth.accessFor(`Bearer ${token}`, EXPECTED), access, 'the same verified claims give the same context (its scope decisions stay cached)');
    const admin = new Authenticator({ mode: 'required', verifyHearthToken: verify, isAdminToken: () => true });
    assert.equal((await admin.accessFor(`Bearer ${token}`, EXPECTED)).isAdmin, true);
  });
});

describe('ExternalIssuer (HEARTH_OIDC_ISSUER)', () => {
  const ISSUER = 'https://idp.example.org';
  let privateKey: CryptoKey;
  let otherKey: CryptoKey;
  let jwk: JWK;
  let auth: Authenticator;
  const hearthVerifier = async (): Promise<AccessTokenClaims> => {
    throw new Error('not a Hearth token');
  };

  before(async () => {
    ({ privateKey } = await generateKeyPair('RS256', { extractable: true }) as { privateKey: CryptoKey });
    const pair = await generateKeyPair('RS256', { extractable: true });
    otherKey = pair.privateKey as CryptoKey;
    // The public half of privateKey: export the private JWK and keep the public members.
    const full = await exportJWK(privateKey);
    jwk = { kty: full.kty, n: full.n, e: full.e, kid: 'k1', alg: 'RS256' };
    const server = await startJwksServer({ keys: [jwk] });
    after(() => server.close());
    const fetchJson = async (url: string) => {
      assert.equal(url, `${ISSUER}/.well-known/openid-configuration`);
      return { issuer: ISSUER, jwks_uri: server.url };
    };
    const external = new ExternalIssuer(ISSUER, { oidcScopeClaim: 'scp', oidcFhirUserClaim: 'fhir_user' }, fetchJson);
    auth = new Authenticator({ mode: 'required', verifyHearthToken: hearthVerifier, external });
  });

  const sign = (claims: Record<string, unknown>, key: CryptoKey = privateKey, alg = 'RS256') =>
    new SignJWT(claims).setProtectedHeader({ alg, kid: 'k1' }).setIssuer(ISSUER).setSubject('ext-user').setIssuedAt().setExpirationTime('5m').sign(key);

  it('accepts its tokens for the tenant base they name, mapping the configured claims', async () => {
    const token = await sign({ aud: EXPECTED.audience, scp: ['user/Observation.rs', 'openid'], fhir_user: 'Practitioner/7', azp: 'portal' });
    const access = await auth.accessFor(`Bearer ${token}`, EXPECTED);
    assert.equal(access.subject, 'ext-user');
    assert.deepEqual([...access.scopes], ['user/Observation.rs', 'openid']);
    assert.equal(access.fhirUser, 'Practitioner/7');
    assert.equal(access.clientId, 'portal');
    assert.equal(access.isAdmin, false);
  });

  it('refuses another tenant\'s audience, a foreign signature, an expired token', async () => {
    await rejects401(auth.accessFor(`Bearer ${await sign({ aud: 'http://127.0.0.1:8080/t/other/fhir', scp: 'user/*.rs' })}`, EXPECTED));
    await rejects401(auth.accessFor(`Bearer ${await sign({ aud: EXPECTED.audience }, otherKey)}`, EXPECTED));
    const expired = await new SignJWT({ aud: EXPECTED.audience }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setSubject('s')
      .setIssuedAt(1_000_000).setExpirationTime(1_000_060).sign(privateKey);
    await rejects401(auth.accessFor(`Bearer ${expired}`, EXPECTED));
  });

  it('refuses an HMAC token "signed" with the issuer\'s public key (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(jwk));
    const forged = await new SignJWT({ aud: EXPECTED.audience, scp: 'system/*.cruds' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(ISSUER).setSubject('attacker').setIssuedAt().setExpirationTime('5m').sign(secret);
    await rejects401(auth.accessFor(`Bearer ${forged}`, EXPECTED));
  });
});

/** A JWKS served on 127.0.0.1 for jose's remote key set. */
async function startJwksServer(jwks: unknown): Promise<{ url: string; close(): void }> {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/jwks`, close: () => server.close() };
}
