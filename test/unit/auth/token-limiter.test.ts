// The token endpoint's rate-limiting seam (src/auth/tokens/token-endpoint.ts): the limiter is
// asked per tenant and client_id before anything else, a refusal is a 429 slow_down with
// Retry-After, and failed client authentication is reported to it.
import assert from 'node:assert/strict';
import { OAuthError } from '../../../src/auth/tokens/oauth-error.js';
import type { TokenRuntime } from '../../../src/auth/tokens/runtime.js';
import { handleTokenRequest, type TokenLimiter } from '../../../src/auth/tokens/token-endpoint.js';

/** Any use of the runtime fails the test: these requests must stop before the database. */
const NO_RUNTIME = new Proxy({}, { get: () => assert.fail('the runtime must not be used') }) as TokenRuntime;

function recordingLimiter(allowed: boolean) {
  const calls: string[] = [];
  const limiter: TokenLimiter = {
    async check(key) {
      calls.push(`check ${key}`);
      return { allowed, retryAfterSeconds: 42.2 };
    },
    async fail(key) {
      calls.push(`fail ${key}`);
    },
    async succeed(key) {
      calls.push(`succeed ${key}`);
    },
  };
  return { limiter, calls };
}

const request = (form: Record<string, string>) => ({ tenantId: 't1', base: 'https://h.example/t/t1/fhir', tokenUrl: 'https://h.example/t/t1/fhir/auth/token', form: new URLSearchParams(form) });

describe('token endpoint rate-limit seam (unit)', () => {
  it('refuses with 429 slow_down and Retry-After when the limiter says no, before any other work', async () => {
    const { limiter, calls } = recordingLimiter(false);
    const error = await handleTokenRequest(NO_RUNTIME, request({ grant_type: 'authorization_code', client_id: 'app' }), limiter).then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof OAuthError);
    assert.equal(error.status, 429);
    assert.equal(error.code, 'slow_down');
    assert.equal(error.headers['Retry-After'], '43');
    assert.deepEqual(calls, ['check t1:app']);
  });

  it('reports failed client authentication to the limiter, keyed by the assertion issuer when there is no client_id', async () => {
    const { limiter, calls } = recordingLimiter(true);
    await assert.rejects(handleTokenRequest(NO_RUNTIME, request({ grant_type: 'client_credentials', client_secret: 'guess', client_id: 'app' }), limiter), { code: 'invalid_client' });
    assert.deepEqual(calls, ['check t1:app', 'fail t1:app']);
    const header = Buffer.from('{"alg":"none"}').toString('base64url');
    const payload = Buffer.from('{"iss":"svc"}').toString('base64url');
    calls.length = 0;
    await assert.rejects(handleTokenRequest(NO_RUNTIME, request({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: `${header}.${payload}.` }), limiter), { code: 'invalid_client' });
    assert.deepEqual(calls, ['check t1:svc', 'fail t1:svc']);
  });

  it('does not count a malformed request against the client', async () => {
    const { limiter, calls } = recordingLimiter(true);
    await assert.rejects(handleTokenRequest(NO_RUNTIME, request({ grant_type: 'password', client_id: 'app' }), limiter), { code: 'unsupported_grant_type' });
    assert.deepEqual(calls, ['check t1:app']);
  });
});
