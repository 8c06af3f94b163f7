// The token endpoint with a limiter plugged into its seam, over HTTP: successes and failures are
// reported per tenant and client, and a client the limiter stops gets 429 slow_down with
// Retry-After (and no-store), whatever it sends.
import assert from 'node:assert/strict';
import type { TokenLimiter } from '../../src/auth/token-side.js';
import { newTenant } from '../support/database.js';
import { requireServices } from '../support/services.js';
import { generateClientKeys, postForm, registerClient, signClientAssertion, startTokenSideServer, type TokenSideServer } from '../support/smart-clients.js';

describe('SMART token endpoint rate-limit seam (e2e)', function () {
  let server: TokenSideServer;
  const blocked = new Set<string>();
  const events: string[] = [];
  const limiter: TokenLimiter = {
    async check(key) {
      return { allowed: !blocked.has(key), retryAfterSeconds: 30 };
    },
    async fail(key) {
      events.push(`fail ${key}`);
    },
    async succeed(key) {
      events.push(`succeed ${key}`);
    },
  };

  before(async function () {
    await requireServices(this);
    server = await startTokenSideServer({}, limiter);
  });
  after(async () => server?.close());

  it('reports successes and failures, and answers 429 slow_down with Retry-After once the limiter says no', async () => {
    const tenant = await newTenant(server.database.pool);
    const tokenUrl = `${server.baseOf(tenant)}/auth/token`;
    const keys = await generateClientKeys('ES384');
    await registerClient(server.database, tenant, { clientId: 'svc', name: 'Svc', kind: 'backend-service', scope: 'system/*.rs', jwks: keys.jwks });
    const attempt = async (signWith = keys) => postForm(tokenUrl, {
      grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await signClientAssertion({ clientId: 'svc', aud: tokenUrl, keys: signWith }),
    });
    assert.equal((await attempt()).status, 200);
    assert.equal((await attempt(await generateClientKeys('ES384', keys.kid))).status, 401);
    assert.deepEqual(events, [`succeed ${tenant}:svc`, `fail ${tenant}:svc`]);
    blocked.add(`${tenant}:svc`);
    const res = await attempt();
    assert.equal(res.status, 429);
    assert.equal(res.body.error, 'slow_down');
    assert.equal(res.headers.get('retry-after'), '30');
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });
});
