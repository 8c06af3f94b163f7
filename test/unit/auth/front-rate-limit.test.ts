// Unit tests for src/auth/rate-limit.ts: lockout after N failures (even for the right password
// meanwhile: the caller checks before verifying), a success resets the count, keys are
// independent, and the per-IP request budget. In memory; the Redis store is exercised when
// TEST_REDIS_URL (or a local Redis) answers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../../src/core/config.js';
import { createAttemptLimiters, type AttemptLimiters } from '../../../src/auth/rate-limit.js';
import { SERVICES_REQUIRED } from '../../support/services.js';

const config = (extra: Record<string, string> = {}) => loadConfig({ HEARTH_LOGIN_MAX_FAILURES: '3', HEARTH_LOGIN_LOCKOUT_SECONDS: '600', ...extra });

function behaves(name: string, make: () => Promise<AttemptLimiters | undefined>) {
  describe(name, () => {
    let limiters: AttemptLimiters | undefined;
    before(async function () {
      limiters = await make();
      if (!limiters) this.skip();
    });
    after(async () => limiters?.close());

    it('locks a key after the configured failures, with a retry-after of the lockout', async () => {
      const { login } = limiters!;
      const key = `acme:${randomUUID()}`;
      for (let i = 0; i < 2; i++) {
        assert.equal((await login.check(key)).allowed, true);
        await login.fail(key);
      }
      assert.equal((await login.check(key)).allowed, true, 'two failures of three');
      await login.fail(key);
      const locked = await login.check(key);
      assert.equal(locked.allowed, false);
      assert.ok(locked.retryAfterSeconds > 500 && locked.retryAfterSeconds <= 600, `retry after ${locked.retryAfterSeconds}`);
      await login.fail(key);
      assert.equal((await login.check(key)).allowed, false, 'more failures keep it locked');
    });

    it('a success resets the failures', async () => {
      const { login } = limiters!;
      const key = `acme:${randomUUID()}`;
      await login.fail(key);
      await login.fail(key);
      await login.succeed(key);
      await login.fail(key);
      await login.fail(key);
      assert.equal((await login.check(key)).allowed, true);
    });

    it('keys and limiters are independent', async () => {
      const { login, client } = limiters!;
      const key = `acme:${randomUUID()}`;
      for (let i = 0; i < 3; i++) await login.fail(key);
      assert.equal((await login.check(key)).allowed, false);
      assert.equal((await login.check(`${key}-other`)).allowed, true);
      assert.equal((await client.check(key)).allowed, true);
    });
  });
}

describe('front channel: attempt limiters', () => {
  behaves('in memory', async () => createAttemptLimiters(config(), { prefix: `t-${randomUUID()}` }));

  behaves('in Redis', async () => {
    const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const limiters = createAttemptLimiters(config({ REDIS_URL: url }), { prefix: `t-${randomUUID()}` });
    // Wait for the connection, so the counts go to Redis and not the in-memory insurance.
    const { Redis } = await import('ioredis');
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
    probe.on('error', () => undefined);
    const up = await probe.connect().then(() => true, () => false);
    probe.disconnect();
    if (!up) {
      await limiters.close();
      // Like PostgreSQL in services.ts: an explicitly configured Redis must answer.
      if (process.env.TEST_REDIS_URL && SERVICES_REQUIRED) throw new Error(`Redis required (TEST_REDIS_URL) but unavailable at ${url}`);
      console.warn(`Skipping the Redis store: no Redis at ${url} (set TEST_REDIS_URL to require one)`);
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 200));
    return limiters;
  });

  it('with Redis unreachable, lockout still works through the in-memory insurance limiter', async () => {
    const limiters = createAttemptLimiters(config({ REDIS_URL: 'redis://127.0.0.1:1' }), { prefix: `t-${randomUUID()}` });
    try {
      const key = `acme:${randomUUID()}`;
      for (let i = 0; i < 3; i++) await limiters.login.fail(key);
      assert.equal((await limiters.login.check(key)).allowed, false);
    } finally {
      await limiters.close();
    }
  });

  it('limits requests per key per minute', async () => {
    const limiters = createAttemptLimiters(config(), { prefix: `t-${randomUUID()}`, loginRequestsPerMinute: 2 });
    assert.equal((await limiters.loginRequests.take('10.0.0.1')).allowed, true);
    assert.equal((await limiters.loginRequests.take('10.0.0.1')).allowed, true);
    const third = await limiters.loginRequests.take('10.0.0.1');
    assert.equal(third.allowed, false);
    assert.ok(third.retryAfterSeconds > 0 && third.retryAfterSeconds <= 60);
    assert.equal((await limiters.loginRequests.take('10.0.0.2')).allowed, true);
    await limiters.close();
  });
});
