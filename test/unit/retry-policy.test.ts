// src/jobs/delivery/retry-policy.ts: full-jitter exponential backoff, Retry-After, exhaustion.
import assert from 'node:assert/strict';
import { isExhausted, nextDelayMs } from '../../src/jobs/delivery/retry-policy.js';

const BELOW_ONE = 1 - Number.EPSILON;

describe('nextDelayMs', () => {
  it('attempt n is bounded by base * 2^(n-1): the top of the range doubles per attempt', () => {
    const top = (n: number) => nextDelayMs(n, { baseMs: 1000, maxMs: 1_000_000, random: () => BELOW_ONE });
    assert.deepEqual([1, 2, 3, 4, 5].map(top), [1000, 2000, 4000, 8000, 16000]);
  });

  it('full jitter: the wait is uniform from 0 up to the bound', () => {
    const at = (r: number) => nextDelayMs(3, { baseMs: 1000, maxMs: 1_000_000, random: () => r });
    assert.equal(at(0), 0);
    assert.equal(at(0.5), 2000);
    assert.equal(at(0.25), 1000);
    // Many draws cover the whole range, not a narrow band around the bound.
    let seed = 7;
    const lcg = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const draws = Array.from({ length: 2000 }, () => nextDelayMs(3, { baseMs: 1000, maxMs: 1_000_000, random: lcg }));
    assert.ok(Math.min(...draws) < 200, 'some waits are short');
    assert.ok(Math.max(...draws) > 3800, 'some waits are near the bound');
    assert.ok(draws.every((d) => d >= 0 && d <= 4000 && Number.isInteger(d)));
  });

  it('is capped at maxMs however many attempts were made', () => {
    for (const n of [11, 20, 100, 1000, 5000]) {
      assert.equal(nextDelayMs(n, { baseMs: 1000, maxMs: 600_000, random: () => BELOW_ONE }), 600_000);
    }
  });

  it('a positive Retry-After wins over the backoff: exactly that long, never earlier', () => {
    assert.equal(nextDelayMs(1, { baseMs: 1000, maxMs: 600_000, retryAfterMs: 120_000, random: () => 0 }), 120_000);
    // Even when the backoff alone would wait longer, the partner said when to come back.
    assert.equal(nextDelayMs(12, { baseMs: 1000, maxMs: 600_000, retryAfterMs: 2_000, random: () => BELOW_ONE }), 2_000);
  });

  it('Retry-After is capped at maxMs', () => {
    assert.equal(nextDelayMs(1, { baseMs: 1000, maxMs: 60_000, retryAfterMs: 3_600_000 }), 60_000);
  });

  it('a Retry-After of 0 or in the past falls back to the backoff', () => {
    assert.equal(nextDelayMs(2, { baseMs: 1000, maxMs: 60_000, retryAfterMs: 0, random: () => BELOW_ONE }), 2000);
    assert.equal(nextDelayMs(2, { baseMs: 1000, maxMs: 60_000, retryAfterMs: -500, random: () => BELOW_ONE }), 2000);
  });

  it('attempt counts below 1 are treated as the first attempt', () => {
    assert.equal(nextDelayMs(0, { baseMs: 1000, maxMs: 60_000, random: () => BELOW_ONE }), 1000);
  });

  it('a random source that returns 1 still stays within the bound', () => {
    assert.equal(nextDelayMs(1, { baseMs: 1000, maxMs: 60_000, random: () => 1 }), 1000);
  });
});

describe('isExhausted', () => {
  it('is true once the attempts reach the maximum', () => {
    assert.equal(isExhausted(9, 10), false);
    assert.equal(isExhausted(10, 10), true);
    assert.equal(isExhausted(11, 10), true);
    assert.equal(isExhausted(0, 1), false);
    assert.equal(isExhausted(1, 1), true);
  });
});
