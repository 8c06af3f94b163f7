// src/jobs/delivery/breakers.ts: one opossum circuit per destination key, opened by N consecutive
// failures, a single probe when half-open. The reset timeout is 50 ms so the real timers of
// opossum run; every wait below is a few tens of ms.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { OpossumBreakers, breakerOptionsFrom } from '../../src/jobs/delivery/breakers.js';
import type { BreakerState, DeliveryResult } from '../../src/jobs/delivery/contracts.js';

const RESET_MS = 50;
const delivered: DeliveryResult = { kind: 'delivered', status: 200 };
const retry: DeliveryResult = { kind: 'retry', status: 503, reason: 'unavailable' };
const rejected: DeliveryResult = { kind: 'reject', status: 400, reason: 'bad request' };

/** An attempt that counts its calls and answers `result`. */
function counting(result: DeliveryResult) {
  const fn = async () => {
    fn.calls++;
    return result;
  };
  fn.calls = 0;
  return fn;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Waits until `key` reaches `state` (opossum's reset timer fires after RESET_MS). */
async function until(breakers: OpossumBreakers, key: string, state: BreakerState): Promise<void> {
  for (let i = 0; i < 40 && breakers.state(key) !== state; i++) await sleep(10);
  assert.equal(breakers.state(key), state);
}

describe('OpossumBreakers', () => {
  let breakers: OpossumBreakers;
  let changes: [string, BreakerState][];

  beforeEach(() => {
    breakers = new OpossumBreakers(breakerOptionsFrom({ breakerFailureThreshold: 3, breakerResetMs: RESET_MS }));
    changes = [];
    breakers.onStateChange((key, state) => changes.push([key, state]));
  });
  afterEach(() => breakers.shutdown());

  it('passes answers through and stays closed while the partner answers', async () => {
    assert.deepEqual(await breakers.run('a', async () => delivered), delivered);
    assert.deepEqual(await breakers.run('a', async () => rejected), rejected);
    assert.equal(breakers.state('a'), 'closed');
    assert.equal(breakers.remainingOpenMs('a'), 0);
    assert.equal(breakers.state('never-used'), 'closed');
  });

  it('opens after N consecutive failures, not before; a retry answer is still returned', async () => {
    const failing = counting(retry);
    assert.deepEqual(await breakers.run('a', failing), retry);
    assert.deepEqual(await breakers.run('a', failing), retry);
    assert.equal(breakers.state('a'), 'closed');
    assert.deepEqual(await breakers.run('a', failing), retry);
    assert.equal(breakers.state('a'), 'open');
    assert.deepEqual(changes, [['a', 'open']]);
    assert.equal(breakers.snapshot('a').consecutiveFailures, 3);
  });

  it('a success in between resets the count (consecutive, not a rate); reject counts as success', async () => {
    for (const result of [retry, retry, delivered, retry, retry, rejected, retry, retry]) {
      await breakers.run('a', async () => result);
    }
    assert.equal(breakers.state('a'), 'closed');
    await breakers.run('a', async () => retry);
    assert.equal(breakers.state('a'), 'open');
  });

  it('makes no call while open and answers "open", with the time left', async () => {
    for (let i = 0; i < 3; i++) await breakers.run('a', async () => retry);
    const attempt = counting(delivered);
    assert.equal(await breakers.run('a', attempt), 'open');
    assert.equal(await breakers.run('a', attempt), 'open');
    assert.equal(attempt.calls, 0);
    const remaining = breakers.remainingOpenMs('a');
    assert.ok(remaining > 0 && remaining <= RESET_MS, `remaining ${remaining}`);
  });

  it('half-open lets exactly one probe through; its success closes the circuit', async () => {
    for (let i = 0; i < 3; i++) await breakers.run('a', async () => retry);
    await until(breakers, 'a', 'half-open');
    assert.equal(breakers.remainingOpenMs('a'), 0, 'a probe may go now');

    const probe = deferred<DeliveryResult>();
    let probeCalls = 0;
    const probing = breakers.run('a', () => {
      probeCalls++;
      return probe.promise;
    });
    const others = counting(delivered);
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => breakers.run('a', others)));
    assert.deepEqual(answers, ['open', 'open', 'open', 'open', 'open']);
    assert.equal(others.calls, 0);
    assert.equal(probeCalls, 1);
    assert.equal(breakers.state('a'), 'half-open');
    assert.ok(breakers.remainingOpenMs('a') > 0, 'others are told to wait while the probe is out');

    probe.resolve(delivered);
    assert.deepEqual(await probing, delivered);
    assert.equal(breakers.state('a'), 'closed');
    assert.deepEqual(await breakers.run('a', others), delivered);
    assert.equal(others.calls, 1);
    assert.deepEqual(changes, [
      ['a', 'open'],
      ['a', 'half-open'],
      ['a', 'closed'],
    ]);
    assert.equal(breakers.snapshot('a').consecutiveFailures, 0);
  });

  it('a probe answered with reject closes it too (the partner is up)', async () => {
    for (let i = 0; i < 3; i++) await breakers.run('a', async () => retry);
    await until(breakers, 'a', 'half-open');
    assert.deepEqual(await breakers.run('a', async () => rejected), rejected);
    assert.equal(breakers.state('a'), 'closed');
  });

  it('a failed probe opens the circuit again for another reset period', async () => {
    for (let i = 0; i < 3; i++) await breakers.run('a', async () => retry);
    await until(breakers, 'a', 'half-open');
    assert.deepEqual(await breakers.run('a', async () => retry), retry);
    assert.equal(breakers.state('a'), 'open');
    assert.ok(breakers.remainingOpenMs('a') > RESET_MS / 2);
    const attempt = counting(delivered);
    assert.equal(await breakers.run('a', attempt), 'open');
    assert.equal(attempt.calls, 0);
    // And a later probe can still close it.
    await until(breakers, 'a', 'half-open');
    assert.deepEqual(await breakers.run('a', attempt), delivered);
    assert.equal(breakers.state('a'), 'closed');
    assert.deepEqual(changes.map(([, s]) => s), ['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('an attempt that throws counts as a failure and the error reaches the caller', async () => {
    const boom = async (): Promise<DeliveryResult> => {
      throw new Error('boom');
    };
    for (let i = 0; i < 3; i++) await assert.rejects(breakers.run('a', boom), /boom/);
    assert.equal(breakers.state('a'), 'open');
  });

  it('keys are independent', async () => {
    for (let i = 0; i < 3; i++) await breakers.run('a', async () => retry);
    await breakers.run('b', async () => retry);
    assert.equal(breakers.state('a'), 'open');
    assert.equal(breakers.state('b'), 'closed');
    const b = counting(delivered);
    assert.deepEqual(await breakers.run('b', b), delivered);
    assert.equal(b.calls, 1);
    assert.deepEqual(changes, [['a', 'open']]);
    assert.deepEqual(breakers.keys().sort(), ['a', 'b']);
  });

  it('a listener that throws does not break the breaker or the other listeners', async () => {
    const seen: BreakerState[] = [];
    breakers.onStateChange(() => {
      throw new Error('listener failed');
    });
    breakers.onStateChange((_key, state) => seen.push(state));
    for (let i = 0; i < 3; i++) await breakers.run('a', async () => retry);
    assert.equal(breakers.state('a'), 'open');
    assert.deepEqual(seen, ['open']);
  });

  it('snapshot shows the rolling counts', async () => {
    await breakers.run('a', async () => delivered);
    await breakers.run('a', async () => retry);
    const snap = breakers.snapshot('a');
    assert.equal(snap.state, 'closed');
    assert.equal(snap.consecutiveFailures, 1);
    assert.equal(snap.window.fires, 2);
    assert.equal(snap.window.failures, 1);
    assert.equal(snap.window.successes, 1);
  });

  it('refuses a threshold below 1', () => {
    assert.throws(() => new OpossumBreakers({ failureThreshold: 0, resetMs: 10 }), RangeError);
  });
});
