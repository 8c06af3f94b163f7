// Rate limiting and lockout for the SMART login page and token endpoint (issue 10; OWASP
// Authentication Cheat Sheet, "Account lockout"; RFC 6749 section 10.10 on guessing), built on
// rate-limiter-flexible: in Redis when REDIS_URL is set (every API process sees the same counts),
// in process memory otherwise. A Redis outage falls back to the in-memory counters rather than
// letting every attempt through.
//   - AttemptLimiter (per key: an account, a client): after config.loginMaxFailures failures the
//     key is locked for config.loginLockoutSeconds, whatever is presented meanwhile (even the
//     right password); a success clears the count.
//   - RequestLimiter (per IP address): at most N login POSTs a minute, failed or not.
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../core/config.js';

export interface AttemptLimiter {
  check(key: string): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
  fail(key: string): Promise<void>;
  succeed(key: string): Promise<void>;
}

export interface RequestLimiter {
  /** Counts one request for `key`; allowed false once the key used up its budget for the window. */
  take(key: string): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
}

export interface AttemptLimiters {
  /** Per account at the login page (key: tenant and username). */
  login: AttemptLimiter;
  /** Per client at the token endpoint (key: tenant and client_id). */
  client: AttemptLimiter;
  /** Per IP address: login POSTs a minute. */
  loginRequests: RequestLimiter;
  close(): Promise<void>;
}

/** Login POSTs one IP address may send a minute. */
export const LOGIN_REQUESTS_PER_MINUTE = 60;

type Store = (options: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract;

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** An AttemptLimiter on `limiter`, whose points are the failures allowed before a lockout. */
export function attemptLimiter(limiter: RateLimiterAbstract, maxFailures: number, lockoutSeconds: number): AttemptLimiter {
  return {
    async check(key) {
      const state = await limiter.get(key);
      if (!state || state.consumedPoints < maxFailures) return { allowed: true, retryAfterSeconds: 0 };
      return { allowed: false, retryAfterSeconds: seconds(state.msBeforeNext) };
    },
    async fail(key) {
      let state: RateLimiterRes;
      try {
        state = await limiter.consume(key, 1);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return; // already locked
        throw rejection;
      }
      // The lockout runs from the failure that reached the limit, not from the first failure.
      if (state.consumedPoints >= maxFailures) await limiter.block(key, lockoutSeconds);
    },
    async succeed(key) {
      await limiter.delete(key);
    },
  };
}

/** A RequestLimiter allowing `points` requests per `duration` seconds per key. */
export function requestLimiter(limiter: RateLimiterAbstract): RequestLimiter {
  return {
    async take(key) {
      try {
        await limiter.consume(key, 1);
        return { allowed: true, retryAfterSeconds: 0 };
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return { allowed: false, retryAfterSeconds: seconds(rejection.msBeforeNext) };
        throw rejection;
      }
    },
  };
}

function memoryStore(): Store {
  return (options) => new RateLimiterMemory(options);
}

function redisStore(redis: Redis): Store {
  return (options) => new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: new RateLimiterMemory(options) });
}

/** The limiters of one process; `prefix` separates independent sets sharing one Redis (tests). */
export function createAttemptLimiters(config: Config, options: { prefix?: string; loginRequestsPerMinute?: number } = {}): AttemptLimiters {
  const redis = config.redisUrl ? new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false }) : undefined;
  redis?.on('error', () => undefined); // the insurance limiter answers while Redis is away
  const store = redis ? redisStore(redis) : memoryStore();
  const prefix = options.prefix ?? 'hearth';
  // Failures are counted over the lockout period: N failures within it lock the key for that long.
  const failures = (name: string) =>
    store({ keyPrefix: `${prefix}:${name}`, points: config.loginMaxFailures + 1, duration: config.loginLockoutSeconds });
  return {
    login: attemptLimiter(failures('login-failures'), config.loginMaxFailures, config.loginLockoutSeconds),
    client: attemptLimiter(failures('client-failures'), config.loginMaxFailures, config.loginLockoutSeconds),
    loginRequests: requestLimiter(
      store({ keyPrefix: `${prefix}:login-requests`, points: options.loginRequestsPerMinute ?? LOGIN_REQUESTS_PER_MINUTE, duration: 60 }),
    ),
    async close() {
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
