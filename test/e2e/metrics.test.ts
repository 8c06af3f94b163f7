// GET /metrics on the real server (issue 13, docs/metrics.md): HTTP requests counted by FHIR
// interaction and status with their duration histogram, no path, id or tenant in any label;
// open when the server runs open, and with HEARTH_AUTH=required only for the metrics token or a
// token of an administrator of the default tenant (401 without, 403 for a non-admin token).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Patient } from 'fhir/r4.js';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { createFhirService } from '../../src/compose.js';
import { createApp } from '../../src/http/app.js';
import { Authenticator } from '../../src/http/authenticate.js';
import { http } from '../support/http.js';
import { sampleOf } from '../support/metrics-text.js';
import { generateClientKeys, postForm, registerClient, signClientAssertion } from '../support/smart-clients.js';
import { useTestServer } from '../support/test-server.js';

async function scrape(origin: string, authorization?: string): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${origin}/metrics`, { headers: authorization ? { authorization } : {} });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The sample's value, 0 when the series does not exist yet (counters start there). */
const count = (text: string, series: string) => sampleOf(text, series) ?? 0;

describe('GET /metrics: HTTP request metrics (open server)', () => {
  const fixture = useTestServer('postgres', { reindexWorker: false });
  const tenant = fixture.useTenant();

  it('counts a create and a read by interaction and status, with their durations', async () => {
    const origin = fixture.server.origin;
    const before = (await scrape(origin)).text;
    const created = (await tenant.client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Metric' }] } })) as Patient;
    await tenant.client.read({ resourceType: 'Patient', id: created.id! });
    assert.equal((await http(`${tenant.base}/Patient/does-not-exist`)).status, 404);
    const after = await scrape(origin);
    assert.equal(after.status, 200);
    assert.match(after.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const delta = (series: string) => count(after.text, series) - count(before, series);
    assert.equal(delta('hearth_http_requests_total{interaction="create",status="201"}'), 1);
    assert.equal(delta('hearth_http_requests_total{interaction="read",status="200"}'), 1);
    assert.equal(delta('hearth_http_requests_total{interaction="read",status="404"}'), 1);
    assert.equal(delta('hearth_http_request_duration_seconds_count{interaction="create"}'), 1);
    assert.equal(delta('hearth_http_request_duration_seconds_count{interaction="read"}'), 2);
    assert.equal(delta('hearth_http_request_duration_seconds_bucket{le="+Inf",interaction="read"}'), 2);
    assert.ok(count(after.text, 'hearth_http_request_duration_seconds_sum{interaction="create"}') > 0);
    // Bounded labels: neither the resource's id nor the tenant appears anywhere.
    const tenantId = /\/t\/([^/]+)\/fhir$/.exec(tenant.base)![1];
    assert.ok(!after.text.includes(created.id!), 'no resource id in the metrics');
    assert.ok(!after.text.includes(tenantId), 'no tenant in the metrics');
    // The process metrics come along under their standard names.
    assert.match(after.text, /^process_cpu_user_seconds_total /m);
  });

  it('names transactions, batches, searches, capabilities and non-FHIR paths; scrapes are not counted', async () => {
    const origin = fixture.server.origin;
    const before = (await scrape(origin)).text;
    const bundle = (type: string) => ({ resourceType: 'Bundle', type, entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }] });
    assert.equal((await http(tenant.base, { method: 'POST', json: bundle('transaction') })).status, 200);
    assert.equal((await http(tenant.base, { method: 'POST', json: bundle('batch') })).status, 200);
    assert.equal((await http(`${tenant.base}/Patient?name=x`)).status, 200);
    assert.equal((await http(`${tenant.base}/metadata`)).status, 200);
    assert.equal((await http(`${origin}/healthz`)).status, 200);
    await scrape(origin);
    const after = (await scrape(origin)).text;
    const delta = (series: string) => count(after, series) - count(before, series);
    assert.equal(delta('hearth_http_requests_total{interaction="transaction",status="200"}'), 1);
    // The batch's entry is not a request of its own: one batch, no create.
    assert.equal(delta('hearth_http_requests_total{interaction="batch",status="200"}'), 1);
    assert.equal(delta('hearth_http_requests_total{interaction="create",status="201"}'), 0);
    assert.equal(delta('hearth_http_requests_total{interaction="search-type",status="200"}'), 1);
    assert.equal(delta('hearth_http_requests_total{interaction="capabilities",status="200"}'), 1);
    assert.equal(delta('hearth_http_requests_total{interaction="other",status="200"}'), 1, '/healthz only, not the scrapes');
  });

  it('reads the outbox gauges through the probe the server registers', async () => {
    const { metrics } = fixture.server.server;
    metrics.registerOutboxProbe(async () => ({ backlog: [{ channel: 'sync', count: 3 }], oldestAgeSeconds: 9, queue: { waiting: 2, delayed: 1, active: 0 } }));
    const text = (await scrape(fixture.server.origin)).text;
    assert.equal(sampleOf(text, 'hearth_outbox_backlog{channel="sync"}'), 3);
    assert.equal(sampleOf(text, 'hearth_outbox_oldest_age_seconds'), 9);
    assert.equal(sampleOf(text, 'hearth_queue_depth{state="waiting"}'), 2);
    metrics.registerOutboxProbe(async () => {
      throw new Error('database unreachable');
    });
    const failed = await scrape(fixture.server.origin);
    assert.equal(failed.status, 200, 'a failing probe does not fail the scrape');
    assert.equal(sampleOf(failed.text, 'hearth_outbox_backlog{channel="sync"}'), undefined);
  });
});

describe('GET /metrics with HEARTH_AUTH=required', () => {
  const METRICS_TOKEN = 'scrape-secret-0123456789/+=';
  const fixture = useTestServer('postgres', { auth: 'required', reindexWorker: false, metricsToken: METRICS_TOKEN });

  /** A token from the default tenant's token endpoint for a backend client (admin or not). */
  async function defaultTenantToken(admin: boolean): Promise<string> {
    const base = `${fixture.server.origin}/fhir`;
    const keys = await generateClientKeys('ES384');
    const client = await registerClient(fixture.server.server.database, 'default', { name: `metrics e2e ${admin ? 'admin' : 'reader'}`, kind: 'backend-service', jwks: keys.jwks, scope: 'system/Patient.rs', admin });
    const result = await postForm(`${base}/auth/token`, {
      grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await signClientAssertion({ clientId: client.clientId, aud: `${base}/auth/token`, keys }),
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return result.body.access_token as string;
  }

  it('401 with WWW-Authenticate without a token or with a wrong one', async () => {
    const origin = fixture.server.origin;
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${METRICS_TOKEN}x`, `Basic ${Buffer.from('a:b').toString('base64')}`]) {
      const res = await scrape(origin, authorization);
      assert.equal(res.status, 401, String(authorization));
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /, String(authorization));
      assert.ok(!res.text.includes('hearth_http_requests_total'), 'no metrics in the refusal');
    }
  });

  it('200 with the metrics token', async () => {
    const res = await scrape(fixture.server.origin, `Bearer ${METRICS_TOKEN}`);
    assert.equal(res.status, 200);
    assert.match(res.text, /^# TYPE hearth_http_requests_total counter/m);
  });

  it('403 for a valid token without administrator rights; 200 for an administrator of the default tenant', async () => {
    const origin = fixture.server.origin;
    const reader = await defaultTenantToken(false);
    // The token is valid: it reads Patients on the default base.
    assert.equal((await http(`${origin}/fhir/Patient?_count=1`, { headers: { authorization: `Bearer ${reader}` } })).status, 200);
    const refused = await scrape(origin, `Bearer ${reader}`);
    assert.equal(refused.status, 403);
    assert.ok(!refused.text.includes('hearth_http_requests_total'));
    const admin = await defaultTenantToken(true);
    const res = await scrape(origin, `Bearer ${admin}`);
    assert.equal(res.status, 200);
    // The reader's search above was counted.
    assert.ok(count(res.text, 'hearth_http_requests_total{interaction="search-type",status="200"}') >= 1);
  });

  it('counts FHIR requests refused for want of a token by their interaction, status 401', async () => {
    const origin = fixture.server.origin;
    const before = (await scrape(origin, `Bearer ${METRICS_TOKEN}`)).text;
    assert.equal((await http(`${origin}/fhir/Patient/123`)).status, 401);
    const after = (await scrape(origin, `Bearer ${METRICS_TOKEN}`)).text;
    const series = 'hearth_http_requests_total{interaction="read",status="401"}';
    assert.equal(count(after, series) - count(before, series), 1);
  });
});

describe('GET /metrics without metrics in the application', () => {
  it('is absent (404)', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent', HEARTH_HOST: '127.0.0.1', HEARTH_AUTH: 'off' });
    const database = { pool: undefined as never, mode: 'postgres' as const, close: async () => undefined };
    const { service } = createFhirService(config, database, undefined, { analyzeAsWritten: false });
    const authenticator = new Authenticator({ mode: 'open', verifyHearthToken: async () => Promise.reject(new Error('no tokens here')) });
    const app = createApp({ config, service, logger: createLogger('silent'), ready: async () => undefined, authenticator });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
      assert.equal(res.status, 404);
      await res.text();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
