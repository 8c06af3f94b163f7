// Circuit breakers for outbound delivery, one per destination key (issue 13 "Failure handling",
// docs/adr/0020-outbox-and-delivery.md), on opossum. A partner that keeps failing is left alone
// for a while instead of being hit by every queued delivery: after `failureThreshold`
// CONSECUTIVE failed attempts the circuit opens; while open no attempt is made; after `resetMs`
// it is half-open and lets exactly one probe through (everyone else is still refused); the
// probe's success closes it, its failure opens it for another `resetMs`.
//
// opossum trips on an error percentage over a rolling window, which does not say "N failures
// in a row" (one success among many failures keeps the rate under 100%, and a quiet partner's
// window may hold too few calls). So its own tripping is switched off (a threshold of 100%
// can never be exceeded) and a counter per key, reset by every success, opens the circuit
// through opossum's open(). opossum keeps the rest: the open/half-open/closed states, the reset
// timer, refusing calls while open, letting a single call through when half-open (its
// pendingClose flag is cleared by the first call) and re-opening when that call fails.
import CircuitBreaker from 'opossum';
import type { BreakerState, Breakers, DeliveryResult } from './contracts.js';

export interface BreakerOptions {
  /** Consecutive failed attempts that open a circuit (config breakerFailureThreshold). */
  failureThreshold: number;
  /** How long an open circuit refuses attempts before a probe, ms (config breakerResetMs). */
  resetMs: number;
}

/** What the admin API and metrics show about one destination's circuit. */
export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  remainingOpenMs: number;
  /** opossum's rolling window (10 s): attempts made, failed, succeeded, refused while open. */
  window: { fires: number; failures: number; successes: number; rejects: number };
}

type Attempt = () => Promise<DeliveryResult>;

interface Entry {
  breaker: CircuitBreaker<[Attempt], DeliveryResult>;
  consecutiveFailures: number;
  openedAt: number;
}

/** A 'retry' answer travels through opossum as a failure (a rejection) and is unwrapped in run(). */
class RetryAnswer extends Error {
  constructor(readonly result: DeliveryResult) {
    super('delivery attempt asks for a retry');
  }
}

/** While the half-open probe is in flight, others are told to come back after this long. */
const PROBE_WAIT_MS = 1000;

export function breakerOptionsFrom(config: { breakerFailureThreshold: number; breakerResetMs: number }): BreakerOptions {
  return { failureThreshold: config.breakerFailureThreshold, resetMs: config.breakerResetMs };
}

export class OpossumBreakers implements Breakers {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners: ((key: string, state: BreakerState) => void)[] = [];

  constructor(private readonly options: BreakerOptions) {
    if (!(options.failureThreshold >= 1)) throw new RangeError('failureThreshold must be at least 1');
  }

  async run(key: string, attempt: Attempt): Promise<DeliveryResult | 'open'> {
    const { breaker } = this.entry(key);
    try {
      return await breaker.fire(attempt);
    } catch (error) {
      if (error instanceof RetryAnswer) return error.result;
      if (isOpenRefusal(error)) return 'open';
      throw error; // the attempt itself threw: counted as a failure, and the caller hears of it
    }
  }

  state(key: string): BreakerState {
    const entry = this.entries.get(key);
    if (!entry) return 'closed';
    if (entry.breaker.opened) return 'open';
    if (entry.breaker.halfOpen) return 'half-open';
    return 'closed';
  }

  remainingOpenMs(key: string): number {
    const entry = this.entries.get(key);
    if (!entry) return 0;
    if (entry.breaker.opened) return Math.max(0, entry.openedAt + this.options.resetMs - Date.now());
    // Half-open with the probe taken: the circuit still refuses until the probe answers.
    if (entry.breaker.halfOpen && !entry.breaker.pendingClose) return Math.min(PROBE_WAIT_MS, this.options.resetMs);
    return 0;
  }

  onStateChange(listener: (key: string, state: BreakerState) => void): void {
    this.listeners.push(listener);
  }

  snapshot(key: string): BreakerSnapshot {
    const entry = this.entries.get(key);
    const stats = entry?.breaker.stats;
    return {
      state: this.state(key),
      consecutiveFailures: entry?.consecutiveFailures ?? 0,
      remainingOpenMs: this.remainingOpenMs(key),
      window: { fires: stats?.fires ?? 0, failures: stats?.failures ?? 0, successes: stats?.successes ?? 0, rejects: stats?.rejects ?? 0 },
    };
  }

  /** The keys that have a breaker (every destination attempted since start). */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Stops every breaker's timers (process shutdown). */
  shutdown(): void {
    for (const entry of this.entries.values()) entry.breaker.shutdown();
    this.entries.clear();
  }

  /** The key's breaker, made on first use. */
  private entry(key: string): Entry {
    let entry = this.entries.get(key);
    if (entry) return entry;
    const breaker = new CircuitBreaker<[Attempt], DeliveryResult>(
      async (attempt: Attempt) => {
        const result = await attempt();
        if (result.kind === 'retry') throw new RetryAnswer(result);
        return result; // 'delivered' or 'reject': the partner answered, it is up
      },
      {
        name: key,
        // The transport bounds each attempt itself (deliveryTimeoutMs); an opossum timeout
        // would reject while the request carries on in the background.
        timeout: false,
        resetTimeout: this.options.resetMs,
        errorThresholdPercentage: 100, // never exceeded: the consecutive counter below opens it
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
      },
    );
    const created: Entry = { breaker, consecutiveFailures: 0, openedAt: 0 };
    breaker.on('success', () => {
      created.consecutiveFailures = 0;
    });
    breaker.on('failure', () => {
      created.consecutiveFailures++;
      if (breaker.closed && created.consecutiveFailures >= this.options.failureThreshold) breaker.open();
      // (half-open: opossum re-opens the circuit itself when the probe fails)
    });
    breaker.on('open', () => {
      created.openedAt = Date.now();
      this.emit(key, 'open');
    });
    breaker.on('halfOpen', () => this.emit(key, 'half-open'));
    breaker.on('close', () => {
      created.consecutiveFailures = 0;
      this.emit(key, 'closed');
    });
    entry = created;
    this.entries.set(key, entry);
    return entry;
  }

  /** Listeners run inside opossum's event emission: one that throws must not break the breaker. */
  private emit(key: string, state: BreakerState): void {
    for (const listener of this.listeners) {
      try {
        listener(key, state);
      } catch {
        // a listener's failure (metrics, a state row) is its own business
      }
    }
  }
}

function isOpenRefusal(error: unknown): boolean {
  return error instanceof Error && CircuitBreaker.isOurError(error) && (error as { code?: string }).code === 'EOPENBREAKER';
}
