// The sync admin API over HTTP (issue 13, docs/sync-admin.md): {base}/admin/sync/destinations,
// /status and /dead-letters on the real server with HEARTH_AUTH=required and real tokens (an
// admin client's token works; none -> 401, a non-admin token -> 403, another tenant's token is
// refused), bad input -> 400 naming the field, secrets absent from every response; plus the
// guard's 403 for an admin context of another tenant, through an injected AccessContext.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { exportJWK, generateKeyPair } from 'jose';
import { createSyncAdminRouter } from '../../src/auth/admin/sync-admin-router.js';
import type { AccessContext } from '../../src/core/types.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';
import { generateClientKeys, postForm, registerClient, signClientAssertion } from '../support/smart-clients.js';
import { useTestServer } from '../support/test-server.js';

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function call(url: string, method: string, headers: Record<string, string>, body?: unknown, contentType = 'application/json'): Promise<Reply> {
  const h = { ...headers, ...(body !== undefined ? { 'content-type': contentType } : {}) };
  const res = await fetch(url, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

const tenantOf = (base: string) => /\/t\/([^/]+)\/fhir$/.exec(base)![1];

/** Every route of the API, with a body where it takes one. */
const ROUTES = (deadId: string): [string, string, unknown?][] => [
  ['POST', '/admin/sync/destinations', { id: 'iis', endpoint: 'https://iis.example.org/fhir', resourceTypes: ['Immunization'] }],
  ['GET', '/admin/sync/destinations'],
  ['GET', '/admin/sync/destinations/iis'],
  ['DELETE', '/admin/sync/destinations/iis'],
  ['GET', '/admin/sync/status'],
  ['GET', '/admin/sync/dead-letters'],
  ['GET', `/admin/sync/dead-letters/${deadId}`],
  ['POST', `/admin/sync/dead-letters/${deadId}/replay`],
  ['DELETE', `/admin/sync/dead-letters/${deadId}`],
];

describe('sync admin API (e2e, HEARTH_AUTH=required)', function () {
  this.timeout(120_000);
  // No delivery workers: replayed rows stay where the API left them.
  const fixture = useTestServer('postgres', { auth: 'required', reindexWorker: false, deliveryWorker: false });

  async function bearer(base: string, admin: boolean): Promise<Record<string, string>> {
    const keys = await generateClientKeys('ES384');
    const client = await registerClient(fixture.server.server.database, tenantOf(base), { name: admin ? 'ops' : 'feed', kind: 'backend-service', jwks: keys.jwks, scope: 'system/*.rs', admin });
    const result = await postForm(`${base}/auth/token`, {
      grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await signClientAssertion({ clientId: client.clientId, aud: `${base}/auth/token`, keys }),
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return { authorization: `Bearer ${result.body.access_token as string}` };
  }

  /** A row as the delivery workers leave a dead letter (written as the owner). */
  async function deadLetter(tenantId: string, target: string, resourceId = 'imm-1', deadAgeSeconds = 0): Promise<string> {
    const id = randomUUID();
    await fixture.server.server.database.pool.query(
      'INSERT INTO outbox (tenant_id, id, channel, target, resource_type, resource_id, version_id, action, status, attempts, last_status, last_error, last_outcome, dead_at) ' +
        `VALUES ($1, $2, 'sync', $3, 'Immunization', $4, 2, 'update', 'dead', 1, 422, 'HTTP 422 from the partner', $5::jsonb, now() - $6 * interval '1 second')`,
      [tenantId, id, target, resourceId, JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'unknown CVX 999' }] }), deadAgeSeconds],
    );
    return id;
  }

  it('401 without a token, 403 for a non-admin token, another tenant\'s admin token refused; nothing changes', async () => {
    const base = await fixture.server.newTenantBase();
    const otherBase = await fixture.server.newTenantBase();
    const dead = await deadLetter(tenantOf(base), 'iis');
    const user = await bearer(base, false);
    const otherAdmin = await bearer(otherBase, true);
    for (const [method, path, body] of ROUTES(dead)) {
      const none = await call(`${base}${path}`, method, {}, body);
      assert.equal(none.status, 401, `${method} ${path}`);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/, `${method} ${path}`);
      assert.equal((await call(`${base}${path}`, method, user, body)).status, 403, `non-admin ${method} ${path}`);
      const foreign = await call(`${base}${path}`, method, otherAdmin, body);
      assert.ok(foreign.status === 401 || foreign.status === 403, `another tenant's admin ${method} ${path}: ${foreign.status}`);
    }
    const admin = await bearer(base, true);
    assert.deepEqual((await call(`${base}/admin/sync/destinations`, 'GET', admin)).body, { destinations: [] });
    assert.equal((await call(`${base}/admin/sync/dead-letters/${dead}`, 'GET', admin)).body.status, 'dead', 'not replayed nor discarded');
  });

  it('creates, replaces, lists, reads and removes destinations, never showing a secret', async () => {
    const base = await fixture.server.newTenantBase();
    const admin = await bearer(base, true);
    const url = (p: string) => `${base}/admin/sync${p}`;
    const { privateKey } = await generateKeyPair('ES384', { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: 'hearth-2025' };
    const token = `tok-${randomUUID()}`;
    const secrets = [token, String(privateJwk.d)];
    const noSecret = (reply: Reply, what: string) => {
      for (const s of secrets) assert.ok(!reply.text.includes(s), `${what} shows a secret: ${reply.text}`);
    };

    const iis = await call(url('/destinations'), 'POST', admin, {
      id: 'iis', endpoint: 'https://iis.example.org/fhir/', resourceTypes: ['Immunization'], criteria: ['Immunization?status=completed'], auth: { kind: 'bearer', token },
    });
    assert.equal(iis.status, 201, iis.text);
    noSecret(iis, 'create');
    assert.deepEqual({ ...iis.body, createdAt: undefined }, {
      id: 'iis', endpoint: 'https://iis.example.org/fhir', resourceTypes: ['Immunization'], criteria: ['Immunization?status=completed'],
      auth: { kind: 'bearer' }, mode: 'put', transport: 'fhir', enabled: true, createdAt: undefined,
    });
    const smart = await call(url('/destinations'), 'POST', admin, {
      id: 'state.iis', endpoint: 'https://state.example.org/fhir', resourceTypes: ['Immunization', 'Patient'], mode: 'conditional', enabled: false,
      auth: { kind: 'smart-backend', tokenUrl: 'https://state.example.org/token', clientId: 'hearth', scope: 'system/Immunization.cu', privateJwk },
    });
    assert.equal(smart.status, 201, smart.text);
    noSecret(smart, 'create smart-backend');
    assert.equal(smart.body.auth.kind, 'smart-backend');
    assert.equal(smart.body.auth.kid, 'hearth-2025');
    assert.equal(smart.body.auth.tokenUrl, 'https://state.example.org/token');
    assert.equal(smart.body.auth.privateJwk, undefined);

    const replaced = await call(url('/destinations'), 'POST', admin, { id: 'iis', endpoint: 'https://iis2.example.org/fhir', resourceTypes: ['Immunization'], auth: { kind: 'bearer', token } });
    assert.equal(replaced.status, 201);
    assert.equal(replaced.body.endpoint, 'https://iis2.example.org/fhir');
    assert.deepEqual(replaced.body.criteria, []);
    assert.equal(replaced.body.createdAt, iis.body.createdAt);

    const list = await call(url('/destinations'), 'GET', admin);
    assert.equal(list.status, 200);
    noSecret(list, 'list');
    assert.deepEqual(list.body.destinations.map((d: { id: string }) => d.id), ['iis', 'state.iis']);
    const one = await call(url('/destinations/state.iis'), 'GET', admin);
    assert.equal(one.status, 200);
    noSecret(one, 'read');
    assert.equal(one.body.mode, 'conditional');
    assert.equal(one.body.enabled, false);
    assert.equal((await call(url('/destinations/nope'), 'GET', admin)).status, 404);
    assert.equal((await call(url('/destinations/bad%20id'), 'GET', admin)).status, 404);

    assert.equal((await call(url('/destinations/iis'), 'DELETE', admin)).status, 204);
    assert.equal((await call(url('/destinations/iis'), 'GET', admin)).status, 404);
    assert.equal((await call(url('/destinations/iis'), 'DELETE', admin)).status, 404);
    const status = await call(url('/status'), 'GET', admin);
    noSecret(status, 'status');
    assert.deepEqual(status.body, { destinations: [{ id: 'state.iis', backlog: 0, oldestAgeSeconds: null, deadLetters: 0, breaker: null }] });
  });

  it('refuses bad destinations with 400 naming the field, and bodies that are not JSON objects', async () => {
    const base = await fixture.server.newTenantBase();
    const admin = await bearer(base, true);
    const good = { id: 'iis', endpoint: 'https://iis.example.org/fhir', resourceTypes: ['Immunization'] };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, id: 'no spaces please' }, 'id'],
      [{ ...good, endpoint: 'mailto:iis@example.org' }, 'endpoint'],
      [{ ...good, resourceTypes: ['Immunisation'] }, 'resourceTypes[0]'],
      [{ ...good, criteria: ['Immunization?patient.name=smith'] }, 'criteria[0]'],
      [{ ...good, criteria: ['Observation?code=1234-5'] }, 'criteria[0]'],
      [{ ...good, auth: { kind: 'bearer' } }, 'auth.token'],
      [{ ...good, auth: { kind: 'smart-backend', tokenUrl: 'https://x.example/token', clientId: 'c', scope: 's', privateJwk: { kty: 'EC', crv: 'P-384', x: 'a', y: 'b' } } }, 'auth.privateJwk'],
      [{ ...good, mode: 'patch' }, 'mode'],
      [{ ...good, transport: 'vxu' }, 'transport'],
    ];
    for (const [body, field] of cases) {
      const res = await call(`${base}/admin/sync/destinations`, 'POST', admin, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.field, field, JSON.stringify(res.body));
      assert.ok(String(res.body.error_description).startsWith(`${field}: `), res.body.error_description);
    }
    assert.equal((await call(`${base}/admin/sync/destinations`, 'POST', admin, '{', 'application/json')).status, 400);
    assert.equal((await call(`${base}/admin/sync/destinations`, 'POST', admin, '[]', 'application/json')).status, 400);
    assert.equal((await call(`${base}/admin/sync/destinations`, 'POST', admin, 'id=iis', 'application/x-www-form-urlencoded')).status, 415);
    assert.equal((await call(`${base}/admin/sync/dead-letters?limit=0`, 'GET', admin)).status, 400);
    assert.equal((await call(`${base}/admin/sync/dead-letters?destination=a%20b`, 'GET', admin)).status, 400);
    assert.deepEqual((await call(`${base}/admin/sync/destinations`, 'GET', admin)).body, { destinations: [] });
  });

  it('reports status, lists, shows, replays and discards dead letters; other tenants\' rows are not found', async () => {
    const base = await fixture.server.newTenantBase();
    const tenant = tenantOf(base);
    const admin = await bearer(base, true);
    const url = (p: string) => `${base}/admin/sync${p}`;
    await call(url('/destinations'), 'POST', admin, { id: 'iis', endpoint: 'https://iis.example.org/fhir', resourceTypes: ['Immunization'] });
    const older = await deadLetter(tenant, 'iis', 'imm-1', 60);
    const newer = await deadLetter(tenant, 'iis', 'imm-2', 1);
    const lab = await deadLetter(tenant, 'lab', 'imm-3', 30);
    const theirs = await deadLetter(await newTenant(fixture.server.server.database.pool), 'iis');

    const status = await call(url('/status'), 'GET', admin);
    assert.equal(status.status, 200);
    assert.deepEqual(status.body.destinations.map((d: { id: string; deadLetters: number; backlog: number }) => [d.id, d.deadLetters, d.backlog]), [['iis', 2, 0]]);

    const all = await call(url('/dead-letters'), 'GET', admin);
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.deadLetters.map((r: { id: string }) => r.id), [newer, lab, older]);
    assert.deepEqual((await call(url('/dead-letters?destination=iis&limit=1'), 'GET', admin)).body.deadLetters.map((r: { id: string }) => r.id), [newer]);

    const shown = await call(url(`/dead-letters/${newer}`), 'GET', admin);
    assert.equal(shown.status, 200);
    assert.deepEqual({ ...shown.body, createdAt: undefined, deadAt: undefined }, {
      id: newer, channel: 'sync', target: 'iis', resource: { reference: 'Immunization/imm-2', versionId: 2 }, action: 'update', status: 'dead', attempts: 1,
      lastStatus: 422, lastError: 'HTTP 422 from the partner',
      lastOutcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'unknown CVX 999' }] },
      createdAt: undefined, deadAt: undefined,
    });

    const replay = await call(url(`/dead-letters/${newer}/replay`), 'POST', admin);
    assert.equal(replay.status, 202);
    assert.deepEqual(replay.body, { id: newer, status: 'pending' });
    const after = (await call(url(`/dead-letters/${newer}`), 'GET', admin)).body;
    assert.deepEqual([after.status, after.attempts, after.deadAt, after.lastStatus], ['pending', 0, null, 422]);
    assert.equal((await call(url(`/dead-letters/${newer}/replay`), 'POST', admin)).status, 404, 'no longer dead');
    assert.equal((await call(url('/status'), 'GET', admin)).body.destinations[0].backlog, 1);

    assert.equal((await call(url(`/dead-letters/${lab}`), 'DELETE', admin)).status, 204);
    assert.equal((await call(url(`/dead-letters/${lab}`), 'GET', admin)).status, 404);
    assert.equal((await call(url(`/dead-letters/${lab}`), 'DELETE', admin)).status, 404);
    assert.equal((await call(url(`/dead-letters/${newer}`), 'DELETE', admin)).status, 404, 'only dead letters are discarded');

    for (const id of ['not-a-uuid', randomUUID(), theirs]) {
      assert.equal((await call(url(`/dead-letters/${id}`), 'GET', admin)).status, 404, id);
      assert.equal((await call(url(`/dead-letters/${id}/replay`), 'POST', admin)).status, 404, id);
      assert.equal((await call(url(`/dead-letters/${id}`), 'DELETE', admin)).status, 404, id);
    }
    const row = await fixture.server.server.database.pool.query<{ status: string }>('SELECT status FROM outbox WHERE id = $1', [theirs]);
    assert.equal(row.rows[0].status, 'dead', "the other tenant's dead letter is untouched");
    assert.deepEqual((await call(url('/dead-letters'), 'GET', admin)).body.deadLetters.map((r: { id: string }) => r.id), [older]);
  });
});

describe('sync admin API guard (e2e, injected access context)', () => {
  let server: Server;
  let origin: string;
  let tenant: string;
  const HEADER = 'x-test-access';

  before(async function () {
    await requireServices(this);
    const pool = await testPool();
    const app = express();
    app.use((req, res, next) => {
      const access = req.get(HEADER);
      if (access) res.locals.access = JSON.parse(access) as AccessContext;
      next();
    });
    app.use(['/fhir', '/t/:tenant/fhir'], createSyncAdminRouter({ config: { tenantCacheTtlMs: 0 }, database: { pool, mode: 'postgres', close: async () => undefined } }));
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tenant = await newTenant(pool);
  });
  after(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it("403 for an admin of another tenant, 200 for this tenant's admin, 404 for an unknown tenant", async () => {
    const admin = (tenantId: string): Record<string, string> => ({ [HEADER]: JSON.stringify({ subject: 'ops', scopes: [], isAdmin: true, tenantId, clientId: 'ops' }) });
    for (const [method, path, body] of ROUTES(randomUUID())) {
      const res = await call(`${origin}/t/${tenant}/fhir${path}`, method, admin('someone-else'), body);
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.body.error, 'insufficient_scope');
    }
    assert.equal((await call(`${origin}/t/${tenant}/fhir/admin/sync/status`, 'GET', admin(tenant))).status, 200);
    assert.equal((await call(`${origin}/t/no-such-tenant/fhir/admin/sync/status`, 'GET', admin('no-such-tenant'))).status, 404);
  });
});
