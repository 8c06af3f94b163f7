// src/jobs/queue/in-process-queue.ts: the embedded mode's delivery queue (delays, concurrency,
// dedupe while pending or running, re-running a job whose handler threw, close).
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveryJob } from '../../src/jobs/delivery/contracts.js';
import { InProcessQueue } from '../../src/jobs/queue/in-process-queue.js';

const job = (outboxId: string, hand = 1, tenantId = 't1'): DeliveryJob => ({ tenantId, outboxId, hand });

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('InProcessQueue', () => {
  let queue: InProcessQueue;
  afterEach(() => queue.close());

  it('runs added jobs, including those added before consume()', async () => {
    queue = new InProcessQueue();
    const seen: DeliveryJob[] = [];
    await queue.add([{ job: job('1'), delayMs: 0 }]);
    assert.deepEqual(await queue.depth(), { waiting: 1, delayed: 0, active: 0 });
    queue.consume(async (j) => void seen.push(j), 2);
    await queue.add([{ job: job('2'), delayMs: 0 }]);
    await until(() => seen.length === 2);
    assert.deepEqual(seen, [job('1'), job('2')]);
    assert.deepEqual(await queue.depth(), { waiting: 0, delayed: 0, active: 0 });
  });

  it('respects the delay', async () => {
    queue = new InProcessQueue();
    let ranAt = 0;
    const start = Date.now();
    queue.consume(async () => void (ranAt = Date.now()), 1);
    await queue.add([{ job: job('1'), delayMs: 80 }]);
    assert.deepEqual(await queue.depth(), { waiting: 0, delayed: 1, active: 0 });
    await sleep(30);
    assert.equal(ranAt, 0, 'not before its time');
    await until(() => ranAt > 0);
    assert.ok(ranAt - start >= 75, `ran after ${ranAt - start} ms`);
  });

  it('ignores a job already pending or running; runs it again once it is done; another hand is another job', async () => {
    queue = new InProcessQueue();
    const calls: string[] = [];
    let finished = 0;
    const gate = deferred();
    queue.consume(async (j) => {
      calls.push(`${j.outboxId}/${j.hand}`);
      await gate.promise;
      finished++;
    }, 4);
    await queue.add([
      { job: job('1'), delayMs: 20 },
      { job: job('1'), delayMs: 0 }, // pending (delayed): ignored
    ]);
    await queue.add([{ job: job('1'), delayMs: 0 }]);
    await until(() => calls.length === 1);
    await queue.add([{ job: job('1'), delayMs: 0 }]); // running: ignored
    await queue.add([{ job: job('1', 2), delayMs: 0 }]); // a new hand
    await queue.add([{ job: job('1', 1, 't2'), delayMs: 0 }]); // another tenant
    await until(() => calls.length === 3);
    await sleep(20);
    assert.deepEqual(calls, ['1/1', '1/2', '1/1']);
    gate.resolve();
    await until(() => finished === 3);
    await sleep(1);
    // Done: the same job may be scheduled again (the relay decides; the hand says if it is stale).
    await queue.add([{ job: job('1'), delayMs: 0 }]);
    await until(() => calls.length === 4);
  });

  it('never runs more handlers at once than the concurrency', async () => {
    queue = new InProcessQueue();
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
    await queue.add(Array.from({ length: 10 }, (_, i) => ({ job: job(String(i)), delayMs: 0 })));
    await until(() => active === 3);
    assert.deepEqual(await queue.depth(), { waiting: 7, delayed: 0, active: 3 });
    gate.resolve();
    await until(() => done === 10);
    assert.equal(peak, 3);
  });

  it('a handler that throws gets the same job again after a doubling backoff', async () => {
    const errors: string[] = [];
    queue = new InProcessQueue({ retryBaseMs: 20, retryMaxMs: 1000, onError: (e) => errors.push((e as Error).message) });
    const times: number[] = [];
    queue.consume(async (j) => {
      assert.deepEqual(j, job('1'));
      times.push(Date.now());
      if (times.length < 3) throw new Error(`down ${times.length}`);
    }, 1);
    await queue.add([{ job: job('1'), delayMs: 0 }]);
    await until(() => times.length === 1);
    // While it waits for its retry it is still pending: adding it again does nothing.
    assert.equal((await queue.depth()).delayed, 1);
    await queue.add([{ job: job('1'), delayMs: 0 }]);
    await until(() => times.length === 3);
    await sleep(60);
    assert.equal(times.length, 3, 'ran until it succeeded, then no more');
    assert.deepEqual(errors, ['down 1', 'down 2']);
    assert.ok(times[1] - times[0] >= 18, `first wait ${times[1] - times[0]}`);
    assert.ok(times[2] - times[1] >= 38, `second wait ${times[2] - times[1]}`);
  });

  it('the backoff after throws is capped', async () => {
    queue = new InProcessQueue({ retryBaseMs: 10, retryMaxMs: 15 });
    const times: number[] = [];
    queue.consume(async () => {
      times.push(Date.now());
      if (times.length < 5) throw new Error('down');
    }, 1);
    await queue.add([{ job: job('1'), delayMs: 0 }]);
    await until(() => times.length === 5);
    // Uncapped the waits would be 10, 20, 40, 80 ms (150 in all).
    assert.ok(times[4] - times[0] < 120, `took ${times[4] - times[0]} ms`);
  });

  it('close() stops the timers and waits for the running handlers; add() then rejects', async () => {
    queue = new InProcessQueue();
    const ran: string[] = [];
    const gate = deferred();
    queue.consume(async (j) => {
      if (j.outboxId === 'slow') await gate.promise;
      ran.push(j.outboxId);
    }, 2);
    await queue.add([
      { job: job('slow'), delayMs: 0 },
      { job: job('later'), delayMs: 30 },
    ]);
    await sleep(5);
    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    await sleep(20);
    assert.equal(closed, false, 'waits for the running handler');
    gate.resolve();
    await closing;
    assert.deepEqual(ran, ['slow']);
    await sleep(40);
    assert.deepEqual(ran, ['slow'], 'the delayed job never ran');
    await assert.rejects(queue.add([{ job: job('x'), delayMs: 0 }]), /closed/);
  });

  it('a second consumer is refused', () => {
    queue = new InProcessQueue();
    queue.consume(async () => undefined, 1);
    assert.throws(() => queue.consume(async () => undefined, 1), /already/);
  });
});
