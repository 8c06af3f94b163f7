// Delivery survives its infrastructure (issue 13 "Tests"): Redis stopped and started again
// mid-stream (without persistence, as CI runs it: the queue's data is lost) and a `hearth worker`
// process killed with SIGKILL in the middle of a delivery. The tests run a Redis server of their
// own on a free port, so stopping it disturbs nothing else.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { PartnerServer } from '../support/partner-server.js';
import { requireRedis } from '../support/redis-service.js';
import { TEST_DATABASE_URL } from '../support/services.js';
import { useTestServer } from '../support/test-server.js';
import { addDestination, FAST_DELIVERY, immunization, outboxOf, tenantOf, waitFor } from '../support/sync-fixtures.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A Redis server of the test's own, without persistence (its data is gone when it stops). */
class PrivateRedis {
  private child?: ChildProcess;
  constructor(readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await waitFor(async () => probe.connect().then(() => probe.ping(), () => 'down').catch(() => 'down'), (answer) => answer === 'PONG', 10_000, 'redis-server to start');
    probe.disconnect();
  }
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

const countImmunizations = (partner: PartnerServer) => [...partner.resources.keys()].filter((k) => k.startsWith('Immunization/')).length;

describe('delivery survives a Redis restart (e2e, BullMQ)', function () {
  this.timeout(90_000);
  const redis = new PrivateRedis(0);
  let partner: PartnerServer;
  before(async function () {
    await requireRedis(this);
    (redis as { port: number }).port = await freePort();
    await redis.start();
  });
  const hearth = useTestServer('postgres', { ...FAST_DELIVERY, get redisUrl() { return redis.url; } } as never);
  const tenant = hearth.useTenant();
  beforeEach(async () => {
    partner = await new PartnerServer().start();
  });
  afterEach(async () => {
    await partner.stop();
  });
  after(async () => {
    await redis.stop();
  });

  it('loses nothing when Redis stops mid-stream and comes back empty', async () => {
    const pool = hearth.server.server.database.pool;
    const tenantId = tenantOf(tenant.base);
    await addDestination(pool, tenantId, { id: 'iis', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'] });
    const ids: string[] = [];
    const createSome = async (n: number) => {
      for (let i = 0; i < n; i++) ids.push(((await tenant.client.create({ resourceType: 'Immunization', body: immunization(`p${ids.length}`) })) as unknown as { id: string }).id);
    };
    await createSome(5);
    await partner.until(() => countImmunizations(partner) >= 1);
    await redis.stop();
    // Writes do not depend on Redis: the outbox keeps what is owed.
    await createSome(10);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(countImmunizations(partner) < 15, 'not everything went while Redis was down');
    await redis.start();
    await partner.until(() => ids.every((id) => partner.resources.has(`Immunization/${id}`)), 45_000, 'every Immunization');
    await waitFor(() => outboxOf(pool, tenantId), (rows) => rows.length === 0, 10_000, 'the outbox to drain');
    for (const id of ids) assert.equal(partner.resources.get(`Immunization/${id}`)!.writes, 1, `Immunization/${id} applied once`);
  });
});

describe('delivery survives a worker killed mid-delivery (e2e, hearth worker processes)', function () {
  this.timeout(120_000);
  const redis = new PrivateRedis(0);
  let partner: PartnerServer;
  const workers: ChildProcess[] = [];
  before(async function () {
    await requireRedis(this);
    (redis as { port: number }).port = await freePort();
    await redis.start();
  });
  // The API process runs no relay or worker: `hearth worker` processes do.
  const hearth = useTestServer('postgres', { ...FAST_DELIVERY, deliveryWorker: false, get redisUrl() { return redis.url; } } as never);
  const tenant = hearth.useTenant();
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await partner?.stop();
    await redis.stop();
  });

  const startWorker = (extra: NodeJS.ProcessEnv = {}): ChildProcess => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'worker'], {
      env: {
        ...process.env,
        DATABASE_URL: TEST_DATABASE_URL,
        REDIS_URL: redis.url,
        LOG_LEVEL: 'silent',
        HEARTH_RELAY_POLL_MS: '100',
        HEARTH_RELAY_STALE_MS: '1500',
        HEARTH_DELIVERY_LEASE_MS: '2000',
        HEARTH_DELIVERY_TIMEOUT_MS: '60000',
        HEARTH_AUDIT_SEAL_INTERVAL_MS: '0',
        ...extra,
      },
      stdio: 'ignore',
    });
    workers.push(child);
    return child;
  };

  it('delivers again after SIGKILL, and the partner applies it once', async () => {
    partner = await new PartnerServer().start();
    const pool = hearth.server.server.database.pool;
    const tenantId = tenantOf(tenant.base);
    await addDestination(pool, tenantId, { id: 'iis', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'] });
    partner.answer = () => 'hang';
    const first = startWorker();
    const created = (await tenant.client.create({ resourceType: 'Immunization', body: immunization('p1') })) as unknown as { id: string };
    await partner.until(() => partner.requests.length === 1, 60_000, 'the first worker to start sending');
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await exited;
    partner.answer = () => 'ok';
    startWorker();
    await partner.until(() => partner.resources.has(`Immunization/${created.id}`), 60_000, 'the second worker to deliver');
    await waitFor(() => outboxOf(pool, tenantId), (rows) => rows.length === 0, 10_000, 'the outbox to drain');
    const stored = partner.resources.get(`Immunization/${created.id}`)!;
    assert.equal(stored.writes, 1, 'applied once');
    assert.equal(stored.versionId, '1');
    assert.equal(partner.requests.filter((r) => r.method === 'PUT').length, 2, 'the hung attempt and the redelivery');
  });

  it('serves its delivery metrics on HEARTH_WORKER_METRICS_PORT, to the metrics token only', async () => {
    partner = await new PartnerServer().start();
    const pool = hearth.server.server.database.pool;
    const tenantId = tenantOf(tenant.base);
    await addDestination(pool, tenantId, { id: 'metered-worker', endpoint: `${partner.origin}/fhir`, resourceTypes: ['Immunization'] });
    // The earlier test's worker stops, so this one makes every delivery.
    for (const w of workers.splice(0)) if (w.exitCode === null && w.signalCode === null) await new Promise((resolve) => (w.once('exit', resolve), w.kill('SIGTERM')));
    const port = await freePort();
    const token = 'worker-metrics-token-0123456789';
    startWorker({ HEARTH_WORKER_METRICS_PORT: String(port), HEARTH_METRICS_TOKEN: token, HEARTH_HOST: '127.0.0.1' });
    const scrape = (headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${port}/metrics`, { headers });
    await waitFor(() => scrape().then((r) => r.status, () => 0), (status) => status === 401, 60_000, 'the worker to listen');
    const created = (await tenant.client.create({ resourceType: 'Immunization', body: immunization('p1') })) as unknown as { id: string };
    await partner.until(() => partner.resources.has(`Immunization/${created.id}`), 60_000, 'the worker to deliver');
    assert.equal((await scrape()).status, 401);
    assert.equal((await scrape({ authorization: 'Bearer wrong-token-0123456789' })).status, 401);
    const text = await waitFor(async () => (await scrape({ authorization: `Bearer ${token}` })).text(), (t) => /outcome="delivered"/.test(t), 10_000, 'the delivery counted');
    assert.match(text, /hearth_delivery_attempts_total\{destination="sync:metered-worker",outcome="delivered"\} 1/);
    assert.match(text, /hearth_queue_depth\{state="waiting"\}/);
  });
});
