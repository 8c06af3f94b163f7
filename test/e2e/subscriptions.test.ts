// R4 rest-hook Subscriptions end to end (issue 13 "Subscriptions"; hl7.org/fhir/R4/subscription.html):
// criteria evaluated in memory on every write, the handshake of a requested Subscription, payloads,
// channel headers, status to error after failed deliveries, and the SSRF guard at creation and at
// every delivery after DNS resolution. DNS is the test's: `partner.test` resolves to the partner
// on loopback (allowed by name), `rebind.test` to whatever the test says at the moment.
import assert from 'node:assert/strict';
import { PartnerServer } from '../support/partner-server.js';
import { useTestServer } from '../support/test-server.js';
import { FAST_DELIVERY, outboxOf, tenantOf, waitFor } from '../support/sync-fixtures.js';

const dns = new Map<string, string[]>([['partner.test', ['127.0.0.1']]]);
const resolver = async (host: string): Promise<string[]> => {
  const found = dns.get(host);
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

const LOINC_HR = { coding: [{ system: 'http://loinc.org', code: '8867-4' }] };
const observation = (code = LOINC_HR) => ({ resourceType: 'Observation', status: 'final', code, valueQuantity: { value: 70, unit: '/min' } });

describe('Subscriptions (rest-hook, e2e, PostgreSQL)', function () {
  this.timeout(60_000);
  const hearth = useTestServer('postgres', { ...FAST_DELIVERY, deliveryMaxAttempts: 2, outboundAllow: ['partner.test'] }, { resolver });
  const tenant = hearth.useTenant();
  let partner: PartnerServer;
  let hook: string;

  beforeEach(async () => {
    partner = await new PartnerServer().start();
    hook = `http://partner.test:${new URL(partner.origin).port}/hook`;
  });
  afterEach(async () => {
    await partner.stop();
  });

  const subscription = (channel: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    resourceType: 'Subscription',
    status: 'active',
    reason: 'test',
    criteria: 'Observation?code=http://loinc.org|8867-4',
    channel: { type: 'rest-hook', endpoint: hook, payload: 'application/fhir+json', ...channel },
    ...extra,
  });
  const create = async (body: unknown) => {
    const res = await fetch(`${tenant.base}/Subscription`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const read = async (id: string) => (await (await fetch(`${tenant.base}/Subscription/${id}`)).json()) as Record<string, any>;

  it('refuses, with a 400 naming the element, endpoints on internal addresses and what it cannot deliver or evaluate', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [subscription({ endpoint: `${partner.origin}/hook` }), 'Subscription.channel.endpoint'], // 127.0.0.1, not allowed
      [subscription({ endpoint: 'http://169.254.169.254/latest/meta-data' }), 'Subscription.channel.endpoint'],
      [subscription({ endpoint: 'http://[::1]:8080/' }), 'Subscription.channel.endpoint'],
      [subscription({ endpoint: 'ftp://partner.test/x' }), 'Subscription.channel.endpoint'],
      [subscription({}, { criteria: 'Observation?subject.name=Smith' }), 'Subscription.criteria'],
      [subscription({ type: 'email', endpoint: 'mailto:a@example.org' }), 'Subscription.channel.type'],
      [subscription({ header: ['no colon here'] }), 'Subscription.channel.header[0]'],
    ];
    for (const [body, expression] of cases) {
      const res = await create(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.resourceType, 'OperationOutcome');
      assert.deepEqual(res.body.issue[0].expression, [expression], JSON.stringify(res.body));
    }
    const { rows } = await hearth.server.server.database.pool.query('SELECT count(*)::int AS n FROM "subscription" WHERE tenant_id = $1', [tenantOf(tenant.base)]);
    assert.equal(rows[0].n, 0, 'nothing stored');
  });

  it('handshakes a requested Subscription, then PUTs each matching resource with the channel headers', async () => {
    const created = await create(subscription({ header: ['Authorization: Bearer s3cret', 'X-Partner: hearth'] }, { status: 'requested' }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await partner.until(() => partner.requests.some((r) => r.method === 'POST' && r.url === '/hook'), 10_000, 'the handshake');
    await waitFor(() => read(id), (s) => s.status === 'active', 10_000, 'the Subscription to become active');
    const hr = (await tenant.client.create({ resourceType: 'Observation', body: observation() })) as unknown as { id: string };
    const other = (await tenant.client.create({ resourceType: 'Observation', body: observation({ coding: [{ system: 'http://loinc.org', code: '8310-5' }] }) })) as unknown as { id: string };
    await partner.until(() => partner.requests.some((r) => r.method === 'PUT' && r.url === `/hook/Observation/${hr.id}`));
    const put = partner.requests.find((r) => r.url === `/hook/Observation/${hr.id}`)!;
    assert.equal(put.headers.authorization, 'Bearer s3cret');
    assert.equal(put.headers['x-partner'], 'hearth');
    assert.equal(put.headers['content-type'], 'application/fhir+json');
    assert.equal(JSON.parse(put.body).id, hr.id);
    await waitFor(() => outboxOf(hearth.server.server.database.pool, tenantOf(tenant.base)), (rows) => rows.length === 0, 10_000, 'the outbox to drain');
    assert.equal(partner.requests.some((r) => r.url.includes(other.id)), false, 'a non-matching Observation is not notified');
  });

  it('sends an empty POST when the channel has no payload, and nothing once the client turns it off', async () => {
    const created = await create(subscription({ payload: undefined }));
    const id = created.body.id as string;
    await tenant.client.create({ resourceType: 'Observation', body: observation() });
    await partner.until(() => partner.requests.length === 1);
    assert.equal(partner.requests[0].method, 'POST');
    assert.equal(partner.requests[0].url, '/hook');
    assert.equal(partner.requests[0].body, '');
    await tenant.client.update({ resourceType: 'Subscription', id, body: { ...created.body, resourceType: 'Subscription', status: 'off' } as never });
    await tenant.client.create({ resourceType: 'Observation', body: observation() });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(partner.requests.length, 1, 'nothing after off');
  });

  it('sets status error, with the reason, when deliveries keep failing', async () => {
    partner.answer = () => ({ status: 500, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception' }] } });
    const created = await create(subscription({}));
    const id = created.body.id as string;
    await tenant.client.create({ resourceType: 'Observation', body: observation() });
    const failed = await waitFor(() => read(id), (s) => s.status === 'error', 15_000, 'status error');
    assert.match(String(failed.error), /500/);
    assert.equal(partner.requests.length, 2, 'deliveryMaxAttempts attempts');
  });

  it('refuses at delivery an endpoint whose name has come to resolve to an internal address (DNS rebinding)', async () => {
    dns.set('rebind.test', ['93.184.216.34']);
    const created = await create(subscription({ endpoint: 'http://rebind.test/hook' }));
    assert.equal(created.status, 201, 'a public address is accepted at creation');
    dns.set('rebind.test', ['10.0.0.7']);
    await tenant.client.create({ resourceType: 'Observation', body: observation() });
    const refused = await waitFor(() => read(created.body.id), (s) => s.status === 'error', 15_000, 'status error');
    assert.match(String(refused.error), /10\.0\.0\.7/);
    const rows = await outboxOf(hearth.server.server.database.pool, tenantOf(tenant.base));
    assert.equal(rows.length, 1);
    assert.equal(rows[0].status, 'dead');
    assert.equal(rows[0].attempts, 1, 'refused for good, not retried');
  });
});
