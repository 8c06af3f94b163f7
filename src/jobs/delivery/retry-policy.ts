// When to try a failed delivery again (issue 13, docs/adr/0020-outbox-and-delivery.md):
// exponential backoff with "full jitter" (each attempt waits a uniformly random time between 0
// and the capped exponential bound, which spreads the retries of many deliveries that failed
// together instead of sending them back in waves), and the partner's own Retry-After
// (RFC 9110 section 10.2.3, sent with 429 by RFC 6585 section 4 and with 503) when it gave one.
// Pure: the caller passes the attempt count and, in tests, the random source.

export interface RetryDelayOptions {
  /** The bound of the first retry, ms (config deliveryBackoffMs). */
  baseMs: number;
  /** No wait is longer than this, ms (config deliveryBackoffMaxMs). */
  maxMs: number;
  /** From the partner's Retry-After, ms from now; ignored unless positive. */
  retryAfterMs?: number;
  /** Uniform in [0, 1); Math.random by default. */
  random?: () => number;
}

/**
 * ms to wait before the next attempt after `attempts` attempts have failed (1 for the first).
 * Without Retry-After: uniform integer in [0, min(maxMs, baseMs * 2^(attempts-1))].
 * With a positive Retry-After the partner decides: exactly that long, capped at maxMs, so we
 * never come back before it asked (unless it asked for longer than we are willing to wait).
 * A Retry-After of 0 or in the past says nothing useful and would invite a tight loop, so
 * the backoff applies then.
 */
export function nextDelayMs(attempts: number, options: RetryDelayOptions): number {
  const maxMs = Math.max(0, finiteOr(options.maxMs, 0));
  const retryAfterMs = options.retryAfterMs;
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0) {
    return Math.min(Math.ceil(retryAfterMs), maxMs);
  }
  const n = Math.max(1, Math.floor(finiteOr(attempts, 1)));
  const baseMs = Math.max(0, finiteOr(options.baseMs, 0));
  // 2 ** large is Infinity, and Math.min caps it: no overflow to guard against.
  const bound = Math.floor(Math.min(maxMs, baseMs * 2 ** (n - 1)));
  const random = options.random ?? Math.random;
  // Clamped so that a random source returning 1 (out of contract) still stays within the bound.
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.floor(r * (bound + 1));
}

/** True when `attempts` attempts have been made and no more are allowed (dead letter). */
export function isExhausted(attempts: number, maxAttempts: number): boolean {
  return attempts >= maxAttempts;
}

function finiteOr(value: number, fallback: number): number {
  return Number.isFinite(value) ? value : fallback;
}
