// src/jobs/queue/bullmq-queue.ts against real Redis: the DeliveryQueue contract (add, consume,
// idempotent ids, delays, re-running a throwing handler, concurrency, depth), bounded failure
// when Redis is unreachable, a worker that outlives a Redis outage (through a TCP proxy the test
// cuts: the shared Redis server itself is never stopped), and a job taken by a worker process
// killed with SIGKILL running again elsewhere. Each test uses its own queue name and
// obliterates it afterwards.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveryJob } from '../../src/jobs/delivery/contracts.js';
import { BullmqQueue, deliveryJobId, type BullmqQueueOptions } from '../../src/jobs/queue/bullmq-queue.js';
import { requireRedis, TEST_REDIS_URL } from '../support/redis-service.js';

const job = (outboxId: string, hand = 1, tenantId = 'default'): DeliveryJob => ({ tenantId, outboxId, hand });

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(10);
  }
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A TCP proxy to Redis that the test can cut (every connection dropped, new ones refused) and restore. */
class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
}

describe('BullmqQueue (real Redis)', function () {
  this.timeout(30_000);
  const opened: BullmqQueue[] = [];
  const names: string[] = [];
  const children: ChildProcess[] = [];

  before(async function () {
    await requireRedis(this);
  });

  /** A queue on a fresh name (or `name`), closed and obliterated after the test. */
  function open(options: BullmqQueueOptions = {}, name?: string, url = TEST_REDIS_URL): BullmqQueue {
    const queueName = name ?? `hearth-test-${randomUUID()}`;
    if (!names.includes(queueName)) names.push(queueName);
    const queue = new BullmqQueue(url, queueName, { lockDurationMs: 2000, ...options });
    opened.push(queue);
    return queue;
  }

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await Promise.all(opened.splice(0).map((q) => q.close()));
    for (const name of names.splice(0)) {
      const cleaner = new BullmqQueue(TEST_REDIS_URL, name);
      await cleaner.obliterate().catch(() => undefined);
      await cleaner.close();
    }
  });

  it('job ids are accepted by BullMQ and unambiguous', () => {
    assert.equal(deliveryJobId(job('42', 3)), 'default/42/3');
    assert.notEqual(deliveryJobId(job('b/c', 1, 'a')), deliveryJobId(job('c', 1, 'a/b')));
    assert.ok(!deliveryJobId(job('1', 1, 'x:y')).includes(':'));
  });

  it('runs added jobs with their data', async () => {
    const queue = open();
    const seen: DeliveryJob[] = [];
    queue.consume(async (j) => void seen.push(j), 2);
    await queue.add([
      { job: job('1'), delayMs: 0 },
      { job: job('2', 5, 'acme'), delayMs: 0 },
    ]);
    await until(() => seen.length === 2, 5000, 'both jobs run');
    assert.deepEqual(
      seen.sort((a, b) => a.outboxId.localeCompare(b.outboxId)),
      [job('1'), job('2', 5, 'acme')],
    );
  });

  it('adding the same job twice runs it once; another hand runs again', async () => {
    const queue = open();
    await queue.add([
      { job: job('1'), delayMs: 0 },
      { job: job('1'), delayMs: 0 },
    ]);
    await queue.add([{ job: job('1'), delayMs: 0 }]);
    assert.deepEqual(await queue.depth(), { waiting: 1, delayed: 0, active: 0 });
    const seen: string[] = [];
    queue.consume(async (j) => void seen.push(`${j.outboxId}/${j.hand}`), 2);
    await until(() => seen.length === 1, 5000, 'the job runs');
    await queue.add([{ job: job('1'), delayMs: 0 }]); // done, and its id is still held: no-op
    await queue.add([{ job: job('1', 2), delayMs: 0 }]);
    await until(() => seen.length === 2, 5000, 'the new hand runs');
    await sleep(300);
    assert.deepEqual(seen, ['1/1', '1/2']);
  });

  it('respects the delay, and counts delayed jobs', async () => {
    const queue = open();
    let ranAt = 0;
    const start = Date.now();
    queue.consume(async () => void (ranAt = Date.now()), 1);
    await queue.add([{ job: job('1'), delayMs: 800 }]);
    assert.deepEqual(await queue.depth(), { waiting: 0, delayed: 1, active: 0 });
    await sleep(400);
    assert.equal(ranAt, 0, 'not before its time');
    await until(() => ranAt > 0, 5000, 'the delayed job runs');
    assert.ok(ranAt - start >= 750, `ran after ${ranAt - start} ms`);
    await sleep(100); // BullMQ records the completion just after the handler returns
    assert.deepEqual(await queue.depth(), { waiting: 0, delayed: 0, active: 0 });
  });

  it('a handler that throws gets the same job again, after a backoff', async () => {
    const errors: unknown[] = [];
    const queue = open({ handlerBackoffMs: 100, onError: (e) => errors.push(e) });
    const runs: { job: DeliveryJob; at: number }[] = [];
    queue.consume(async (j) => {
      runs.push({ job: j, at: Date.now() });
      if (runs.length < 3) throw new Error('database down');
    }, 1);
    await queue.add([{ job: job('7', 4), delayMs: 0 }]);
    await until(() => runs.length === 3, 10_000, 'three runs');
    await sleep(400);
    assert.equal(runs.length, 3, 'no run after success');
    assert.ok(runs.every((r) => r.job.outboxId === '7' && r.job.hand === 4));
    assert.ok(runs[1].at - runs[0].at >= 90, `first backoff ${runs[1].at - runs[0].at} ms`);
    assert.ok(runs[2].at - runs[1].at >= 190, `second backoff ${runs[2].at - runs[1].at} ms`);
    assert.ok(errors.length >= 2, 'the throws were reported');
  });

  it('runs at most `concurrency` handlers at once, and depth counts them', async () => {
    const queue = open();
    let active = 0;
    let peak = 0;
    let done = 0;
    const gate = deferred();
    queue.consume(async () => {
      active++;
      peak = Math.max(peak, active);
      await gate.promise;
      active--;
      done++;
    }, 3);
    await queue.add(Array.from({ length: 8 }, (_, i) => ({ job: job(String(i)), delayMs: 0 })));
    await until(() => active === 3, 5000, 'three handlers running');
    await sleep(200);
    assert.equal(active, 3);
    assert.deepEqual(await queue.depth(), { waiting: 5, delayed: 0, active: 3 });
    gate.resolve();
    await until(() => done === 8, 5000, 'all done');
    assert.equal(peak, 3);
  });

  it('add, depth and close do not hang when Redis is unreachable', async () => {
    const queue = open({ commandTimeoutMs: 500, closeTimeoutMs: 500 }, undefined, 'redis://127.0.0.1:1');
    queue.consume(async () => undefined, 1);
    let start = Date.now();
    await assert.rejects(queue.add([{ job: job('1'), delayMs: 0 }]), /did not answer|Connection|ECONNREFUSED|writeable/i);
    assert.ok(Date.now() - start < 2000, `add rejected after ${Date.now() - start} ms`);
    start = Date.now();
    await assert.rejects(queue.depth());
    assert.ok(Date.now() - start < 2000, `depth rejected after ${Date.now() - start} ms`);
    start = Date.now();
    await queue.close();
    assert.ok(Date.now() - start < 3000, `close took ${Date.now() - start} ms`);
  });

  it('close() waits for a running handler; past closeTimeoutMs it returns anyway', async () => {
    const queue = open({ closeTimeoutMs: 5000 });
    const gate = deferred();
    let started = false;
    let finished = false;
    queue.consume(async () => {
      started = true;
      await gate.promise;
      finished = true;
    }, 1);
    await queue.add([{ job: job('1'), delayMs: 0 }]);
    await until(() => started, 5000, 'handler started');
    setTimeout(() => gate.resolve(), 300);
    await queue.close();
    assert.equal(finished, true, 'close waited for the handler');
    await assert.rejects(queue.add([{ job: job('2'), delayMs: 0 }]), /closed/);

    const stuck = open({ closeTimeoutMs: 300 });
    let stuckStarted = false;
    stuck.consume(async () => {
      stuckStarted = true;
      await new Promise(() => undefined);
    }, 1);
    await stuck.add([{ job: job('1'), delayMs: 0 }]);
    await until(() => stuckStarted, 5000, 'stuck handler started');
    const start = Date.now();
    await stuck.close();
    assert.ok(Date.now() - start < 3000, `close took ${Date.now() - start} ms`);
  });

  it('a worker carries on after Redis goes away and comes back; the producer fails fast meanwhile', async () => {
    const target = new URL(TEST_REDIS_URL);
    const proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 6379) });
    await proxy.start();
    try {
      const viaProxy = open({ commandTimeoutMs: 1000 }, undefined, proxy.url);
      const direct = open({}, names[names.length - 1]);
      const seen: string[] = [];
      viaProxy.consume(async (j) => void seen.push(j.outboxId), 2);
      await direct.add([{ job: job('before'), delayMs: 0 }]);
      await until(() => seen.length === 1, 5000, 'job before the outage');

      await proxy.cut();
      const start = Date.now();
      await assert.rejects(viaProxy.add([{ job: job('lost'), delayMs: 0 }]));
      assert.ok(Date.now() - start < 2500, `add rejected after ${Date.now() - start} ms`);
      await direct.add([{ job: job('during'), delayMs: 0 }]);
      await sleep(1000);
      assert.deepEqual(seen, ['before'], 'nothing runs while the worker cannot reach Redis');

      await proxy.start(); // same port
      await until(() => seen.length === 2, 10_000, 'job added during the outage runs after it');
      await direct.add([{ job: job('after'), delayMs: 0 }]);
      await until(() => seen.length === 3, 10_000, 'job added after the outage');
      // The producer's connection is back too.
      let added = false;
      for (let i = 0; i < 50 && !added; i++) {
        added = await viaProxy.add([{ job: job('producer-back'), delayMs: 0 }]).then(() => true, () => false);
        if (!added) await sleep(100);
      }
      assert.ok(added, 'the producer reconnected');
      await until(() => seen.length === 4, 10_000, 'job from the reconnected producer');
      assert.deepEqual(seen, ['before', 'during', 'after', 'producer-back']);
    } finally {
      await proxy.cut();
    }
  });

  it('a job held by a worker process killed with SIGKILL runs again in another worker', async () => {
    const lockDurationMs = 1000;
    const producer = open({ lockDurationMs });
    const queueName = names[names.length - 1];
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/bullmq-stuck-worker.ts', TEST_REDIS_URL, queueName, String(lockDurationMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await producer.add([{ job: job('k1', 9), delayMs: 0 }]);
    await until(() => output.includes('started k1'), 20_000, 'the child worker took the job');
    assert.deepEqual(await producer.depth(), { waiting: 0, delayed: 0, active: 1 });

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const killedAt = Date.now();
    const seen: DeliveryJob[] = [];
    const survivor = open({ lockDurationMs, stalledIntervalMs: 500 }, queueName);
    survivor.consume(async (j) => void seen.push(j), 1);
    await until(() => seen.length === 1, 8000, 'the job ran again after the kill');
    assert.deepEqual(seen, [job('k1', 9)]);
    assert.ok(Date.now() - killedAt < 8000);
  });
});
