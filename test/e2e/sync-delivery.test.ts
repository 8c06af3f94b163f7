// Outbound sync end to end (issue 13 "Transactional outbox", "Failure handling"): a real Hearth on
// PostgreSQL with its relay and in-process workers, and a real partner FHIR endpoint under the
// test's control. Each test has its own tenant and destination.
import assert from 'node:assert/strict';
import { PartnerServer } from '../support/partner-server.js';
import { useTestServer } from '../support/test-server.js';
import { addDestination, FAST_DELIVERY, immunization, outboxOf, tenantOf, waitFor } from '../support/sync-fixtures.js';

describe('outbound sync to a partner (e2e, PostgreSQL)', function () {
  this.timeout(60_000);
  const hearth = useTestServer('postgres', FAST_DELIVERY);
  const tenant = hearth.useTenant();
  let partner: PartnerServer;
  let tenantId: string;
  const pool = () => hearth.server.server.database.pool;

  beforeEach(async () => {
    partner = await new PartnerServer().start();
    tenantId = tenantOf(tenant.base);
  });
  afterEach(async () => {
    await partner.stop();
  });

  const puts = (path: string) => partner.requests.filter((r) => r.method === 'PUT' && r.url === path);
  const post = async (body: unknown) => {
    const res = await fetch(tenant.base, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('sends every Immunization created, over REST and inside transactions, once; a rolled-back transaction sends nothing', async () => {
    await addDestination(pool(), tenantId, { id: 'iis', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'] });
    const single = (await tenant.client.create({ resourceType: 'Immunization', body: immunization('p1') })) as unknown as { id: string };
    const bundle = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:0f4b4b65-8d2b-4f0e-9a51-6d5f1a3c0001', resource: { resourceType: 'Patient', name: [{ family: 'Ng' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: immunization('x', 'completed', { patient: { reference: 'urn:uuid:0f4b4b65-8d2b-4f0e-9a51-6d5f1a3c0001' } }), request: { method: 'POST', url: 'Immunization' } },
        { resource: immunization('p2'), request: { method: 'POST', url: 'Immunization' } },
      ],
    });
    assert.equal(bundle.status, 200);
    const ids = [single.id, ...bundle.body.entry.slice(1).map((e: any) => e.response.location.split('/')[1])];
    await partner.until(() => ids.every((id) => partner.resources.has(`Immunization/${id}`)));
    // The transaction fails on its last entry (a version conflict): its Immunization was never committed.
    const failed = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: immunization('p3'), request: { method: 'POST', url: 'Immunization' } },
        { resource: { resourceType: 'Patient', id: 'nobody' }, request: { method: 'PUT', url: 'Patient/nobody', ifMatch: 'W/"7"' } },
      ],
    });
    assert.ok(failed.status >= 400, `the transaction failed (${failed.status})`);
    await waitFor(() => outboxOf(pool(), tenantId), (rows) => rows.length === 0, 10_000, 'the outbox to drain');
    await new Promise((r) => setTimeout(r, 400)); // a poll or two: anything owed would have gone
    const sent = partner.requests.filter((r) => r.method === 'PUT');
    assert.equal(sent.length, 3, 'three Immunizations sent, none from the rolled-back transaction, no Patient');
    for (const id of ids) {
      const stored = partner.resources.get(`Immunization/${id}`)!;
      assert.equal(stored.writes, 1);
      assert.equal(stored.versionId, '1');
      assert.equal((stored.body as any).id, id);
    }
    assert.equal(partner.requests.every((r) => r.url.startsWith('/fhir/Immunization/')), true);
  });

  it('keeps per-resource order: never an older version after a newer one, and ends on the latest', async () => {
    await addDestination(pool(), tenantId, { id: 'iis', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'] });
    const created = (await tenant.client.create({ resourceType: 'Immunization', body: immunization('p1') })) as unknown as { id: string };
    for (let i = 0; i < 6; i++) {
      await tenant.client.update({ resourceType: 'Immunization', id: created.id, body: { ...immunization('p1'), id: created.id, lotNumber: `lot-${i}` } });
    }
    await partner.until(() => partner.resources.get(`Immunization/${created.id}`)?.versionId === '7');
    const versions = puts(`/fhir/Immunization/${created.id}`).map((r) => Number(JSON.parse(r.body).meta.versionId));
    assert.deepEqual(versions, [...versions].sort((a, b) => a - b), `sent in order: ${versions.join(',')}`);
    assert.equal(new Set(versions).size, versions.length, 'no version twice');
    assert.equal((partner.resources.get(`Immunization/${created.id}`)!.body as any).lotNumber, 'lot-5');
    await waitFor(() => outboxOf(pool(), tenantId), (rows) => rows.length === 0, 10_000, 'the outbox to drain');
  });

  it('sends only what matches the destination criteria, and a delete of what it sent', async () => {
    await addDestination(pool(), tenantId, { id: 'iis', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'], criteria: ['Immunization?status=completed'] });
    const done = (await tenant.client.create({ resourceType: 'Immunization', body: immunization('p1', 'completed') })) as unknown as { id: string };
    const notDone = (await tenant.client.create({ resourceType: 'Immunization', body: immunization('p1', 'not-done', { statusReason: { text: 'refused' } }) })) as unknown as { id: string };
    await partner.until(() => partner.resources.has(`Immunization/${done.id}`));
    await tenant.client.delete({ resourceType: 'Immunization', id: done.id });
    await partner.until(() => partner.requests.some((r) => r.method === 'DELETE' && r.url === `/fhir/Immunization/${done.id}`));
    await waitFor(() => outboxOf(pool(), tenantId), (rows) => rows.length === 0, 10_000, 'the outbox to drain');
    assert.equal(partner.requests.some((r) => r.url.includes(notDone.id)), false, 'the not-done Immunization went nowhere');
  });

  it('opens the circuit after repeated failures, sends nothing while open, then recovers and delivers everything', async () => {
    await addDestination(pool(), tenantId, { id: 'flaky', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'] });
    partner.failNext(4, { status: 503, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] } });
    // One resource first, so one call is in flight at a time: three failures open the circuit,
    // the probe after resetMs fails and re-opens it, the next probe succeeds and closes it.
    const first = ((await tenant.client.create({ resourceType: 'Immunization', body: immunization('p0') })) as unknown as { id: string }).id;
    await partner.until(() => partner.resources.has(`Immunization/${first}`), 20_000);
    const calls = puts(`/fhir/Immunization/${first}`).map((r) => r.at);
    assert.equal(calls.length, 5, 'three failures, a failed probe, a successful probe');
    const reset = FAST_DELIVERY.breakerResetMs!;
    assert.ok(calls[3] - calls[2] >= reset - 20, `no call while open (${calls[3] - calls[2]} ms after the third failure)`);
    assert.ok(calls[4] - calls[3] >= reset - 20, `open again after the failed probe (${calls[4] - calls[3]} ms)`);
    const ids: string[] = [];
    for (let i = 1; i < 4; i++) ids.push(((await tenant.client.create({ resourceType: 'Immunization', body: immunization(`p${i}`) })) as unknown as { id: string }).id);
    await partner.until(() => ids.every((id) => partner.resources.has(`Immunization/${id}`)), 20_000);
    const { rows } = await pool().query('SELECT state, opened_count FROM delivery_breaker WHERE tenant_id = $1 AND destination = $2', [tenantId, 'sync:flaky']);
    assert.equal(rows[0]?.opened_count, 2, `the circuit opened twice (${JSON.stringify(rows)})`);
    assert.equal(rows[0].state, 'closed', 'and closed again');
    await waitFor(() => outboxOf(pool(), tenantId), (r) => r.length === 0, 10_000, 'the outbox to drain');
  });

  it("honours a partner's Retry-After on 429", async () => {
    await addDestination(pool(), tenantId, { id: 'limited', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'] });
    partner.failNext(1, { status: 429, headers: { 'Retry-After': '1' } });
    const created = (await tenant.client.create({ resourceType: 'Immunization', body: immunization('p1') })) as unknown as { id: string };
    await partner.until(() => partner.resources.has(`Immunization/${created.id}`));
    const [first, second] = puts(`/fhir/Immunization/${created.id}`);
    assert.ok(second.at - first.at >= 950, `waited ${second.at - first.at} ms`);
  });

  it("dead-letters a 400 with the partner's OperationOutcome without retrying; a replay delivers it", async () => {
    await addDestination(pool(), tenantId, { id: 'strict', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'] });
    const outcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'required', diagnostics: 'lotNumber is required here', expression: ['Immunization.lotNumber'] }] };
    partner.answer = () => ({ status: 400, body: outcome });
    const created = (await tenant.client.create({ resourceType: 'Immunization', body: immunization('p1') })) as unknown as { id: string };
    const [dead] = await waitFor(() => outboxOf(pool(), tenantId), (rows) => rows[0]?.status === 'dead', 10_000, 'a dead letter');
    assert.equal(dead.attempts, 1, 'not retried');
    assert.equal(dead.last_status, 400);
    assert.deepEqual(dead.last_outcome, outcome);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(puts(`/fhir/Immunization/${created.id}`).length, 1, 'one call only');
    partner.answer = () => 'ok';
    // Through the admin API, as an operator replays it (the open mode's caller is an administrator).
    const replay = await fetch(`${tenant.base}/admin/sync/dead-letters/${dead.id}/replay`, { method: 'POST' });
    assert.equal(replay.status, 202);
    await partner.until(() => partner.resources.has(`Immunization/${created.id}`));
    await waitFor(() => outboxOf(pool(), tenantId), (rows) => rows.length === 0, 10_000, 'the outbox to drain');
  });

  it('reports deliveries, dead letters, the outbox backlog and the queue at /metrics', async () => {
    await addDestination(pool(), tenantId, { id: 'metered', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'] });
    const created = (await tenant.client.create({ resourceType: 'Immunization', body: immunization('p1') })) as unknown as { id: string };
    await partner.until(() => partner.resources.has(`Immunization/${created.id}`));
    partner.answer = () => ({ status: 422, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] } });
    await tenant.client.create({ resourceType: 'Immunization', body: immunization('p2') });
    await waitFor(() => outboxOf(pool(), tenantId), (rows) => rows[0]?.status === 'dead', 10_000, 'a dead letter');
    const text = await (await fetch(`${hearth.server.origin}/metrics`)).text();
    assert.match(text, /hearth_delivery_attempts_total\{destination="sync:metered",outcome="delivered"\} [1-9]/);
    assert.match(text, /hearth_delivery_attempts_total\{destination="sync:metered",outcome="reject"\} 1/);
    assert.match(text, /hearth_delivery_dead_letters_total\{destination="sync:metered"\} 1/);
    assert.match(text, /hearth_delivery_lag_seconds_count\{destination="sync:metered"\} [1-9]/);
    assert.match(text, /hearth_outbox_oldest_age_seconds [0-9.e+-]+/);
    assert.match(text, /hearth_queue_depth\{state="waiting"\} \d+/);
  });

  it('writes no outbox row for a tenant without destinations, and none for types no destination takes', async () => {
    await tenant.client.create({ resourceType: 'Immunization', body: immunization('p1') });
    await addDestination(pool(), tenantId, { id: 'iis', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'] });
    await tenant.client.create({ resourceType: 'Observation', body: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } });
    const { rows } = await pool().query('SELECT count(*)::int AS n FROM outbox WHERE tenant_id = $1', [tenantId]);
    assert.equal(rows[0].n, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(partner.requests.length, 0);
  });
});

describe('outbound sync to a partner (e2e, embedded PGlite, in-process queue, no LISTEN)', function () {
  this.timeout(60_000);
  const hearth = useTestServer('embedded', FAST_DELIVERY);
  const tenant = hearth.useTenant();
  let partner: PartnerServer;
  beforeEach(async () => {
    partner = await new PartnerServer().start();
  });
  afterEach(async () => {
    await partner.stop();
  });

  it('delivers, retries a 503 and dead-letters a 400, with its one connection', async () => {
    const pool = hearth.server.server.database.pool;
    const tenantId = tenantOf(tenant.base);
    await addDestination(pool, tenantId, { id: 'iis', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'] });
    partner.failNext(1, { status: 503 });
    const ok = (await tenant.client.create({ resourceType: 'Immunization', body: immunization('p1') })) as unknown as { id: string };
    await partner.until(() => partner.resources.has(`Immunization/${ok.id}`));
    assert.equal(partner.requests.length, 2, 'the 503, then the retry');
    partner.answer = () => ({ status: 400, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] } });
    await tenant.client.create({ resourceType: 'Immunization', body: immunization('p2') });
    const [dead] = await waitFor(() => outboxOf(pool, tenantId), (rows) => rows.length === 1 && rows[0].status === 'dead', 15_000, 'a dead letter');
    assert.equal(dead.attempts, 1);
  });
});
