// Real Redis for the integration tier (issue 13: the BullMQ delivery queue). Like PostgreSQL in
// services.ts: with HEARTH_REQUIRE_SERVICES=1 (CI) an unreachable Redis fails the run, elsewhere
// the tests that need it are skipped with a message.
import { Redis } from 'ioredis';
import { SERVICES_REQUIRED } from './services.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let availability: Promise<string | undefined> | undefined;

/** undefined when Redis answers PING, else the reason. */
export function redisUnavailable(): Promise<string | undefined> {
  availability ??= (async () => {
    const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return undefined;
    } catch (error) {
      return (error as Error).message;
    } finally {
      client.disconnect();
    }
  })();
  return availability;
}

/** For a describe() that needs real Redis: fail in CI, skip elsewhere. */
export async function requireRedis(ctx: Mocha.Context): Promise<void> {
  const reason = await redisUnavailable();
  if (!reason) return;
  if (SERVICES_REQUIRED) throw new Error(`Redis required (HEARTH_REQUIRE_SERVICES=1) but unavailable at ${TEST_REDIS_URL}: ${reason}`);
  console.warn(`Skipping: Redis unavailable at ${TEST_REDIS_URL} (${reason}). Set HEARTH_REQUIRE_SERVICES=1 to fail instead.`);
  ctx.skip();
}
