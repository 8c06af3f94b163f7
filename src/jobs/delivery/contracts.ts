// The contracts of outbound delivery (issue 13, docs/sync.md, docs/adr/0020-outbox-and-delivery.md):
// what the delivery worker hands a transport, what a transport answers, the queue that schedules
// deliveries and the breakers and metrics around them. PostgreSQL holds the state of every
// delivery (the outbox row); the queue only says when to look at it, so a queue that loses its
// data (Redis restarted without persistence) loses nothing: the relay hands stale rows again.

// Destinations are stored rows: their types live with the store (src/storage/delivery-store.ts).
import type { DestinationAuth, SyncDestination, SyncMode } from '../../storage/delivery-store.js';

export type { DestinationAuth, SyncDestination, SyncMode };

/** One resource version to send to a sync destination. */
export interface SyncItem {
  destination: SyncDestination;
  resourceType: string;
  id: string;
  versionId: number;
  /** The JSON text of the version; null when the resource is deleted. */
  content: string | null;
  /** For a delete: the JSON text of the last version before it (conditional mode needs its identifier). */
  previousContent?: string | null;
}

/** What one Subscription notification carries (R4 subscription.html#channel, `channel.payload`). */
export type SubscriptionPayload = 'empty' | 'id-only' | 'full-resource';

/** One rest-hook notification (R4 `Subscription.channel` type rest-hook). */
export interface RestHookItem {
  endpoint: string;
  /** `channel.header` lines, "Name: value". */
  headers: string[];
  payload: SubscriptionPayload;
  /** The payload's MIME type (channel.payload), e.g. application/fhir+json. */
  contentType: string;
  /** 'handshake': the check made when a Subscription is requested (POST, no body). */
  kind: 'notification' | 'handshake';
  resourceType: string;
  id: string;
  versionId: number;
  /** The resource's JSON text (full-resource); null for a delete. */
  content: string | null;
  /** Absolute URL of the version on this server (sent as Content-Location with id-only). */
  resourceUrl: string;
}

/** What a transport made of one attempt. */
export type DeliveryResult =
  | { kind: 'delivered'; status: number }
  /** Worth trying again: network error, timeout, 408, 409, 429, 5xx. `retryAfterMs` from Retry-After on 429/503. */
  | { kind: 'retry'; status?: number; reason: string; retryAfterMs?: number }
  /** The partner refused it for good (other 4xx, or an address that may not be reached): dead letter without retry. */
  | { kind: 'reject'; status?: number; reason: string; outcome?: unknown };

export interface SyncTransport {
  send(item: SyncItem): Promise<DeliveryResult>;
}

export interface RestHookTransport {
  send(item: RestHookItem): Promise<DeliveryResult>;
}

/** One scheduled look at an outbox row. `hand` changes every time the row is (re)scheduled: a job whose hand is stale is ignored. */
export interface DeliveryJob {
  tenantId: string;
  outboxId: string;
  hand: number;
}

export interface DeliveryQueue {
  /** Schedules jobs; idempotent per (tenantId, outboxId, hand). Rejects when the queue cannot take them (Redis down). */
  add(jobs: readonly { job: DeliveryJob; delayMs: number }[]): Promise<void>;
  /**
   * Runs `handler` for each job when due, `concurrency` at once. A handler that throws has the
   * same job run again later (a short backoff): delivery failures never throw, they reschedule
   * through add(); only the infrastructure (database down, a lease still held) does.
   */
  consume(handler: (job: DeliveryJob) => Promise<void>, concurrency: number): void;
  /** Jobs waiting (due), delayed (not yet due) and running. */
  depth(): Promise<{ waiting: number; delayed: number; active: number }>;
  close(): Promise<void>;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Circuit breakers, one per destination key (opossum). */
export interface Breakers {
  /**
   * Runs `attempt` through the key's breaker: 'open' without calling it while the circuit is
   * open (or while the half-open probe is in flight). A 'retry' result counts as a failure; 'delivered'
   * and 'reject' (the partner answered) as successes.
   */
  run(key: string, attempt: () => Promise<DeliveryResult>): Promise<DeliveryResult | 'open'>;
  state(key: string): BreakerState;
  /** ms until an open circuit lets a probe through (0 when not open). */
  remainingOpenMs(key: string): number;
  /** Called on every state change (the worker records it in PostgreSQL and metrics). */
  onStateChange(listener: (key: string, state: BreakerState) => void): void;
}

/** What delivery reports to Prometheus (src/core/metrics.ts implements it). */
export interface DeliveryMetrics {
  /** An attempt finished: `destination` is `sync:<id>` or `subscription:<id>`. */
  attempt(destination: string, outcome: 'delivered' | 'retry' | 'reject' | 'open', seconds: number): void;
  /** A delivery completed: seconds from the outbox row's creation to the partner's answer. */
  delivered(destination: string, lagSeconds: number): void;
  deadLettered(destination: string): void;
  breakerState(destination: string, state: BreakerState): void;
}

export const NO_DELIVERY_METRICS: DeliveryMetrics = Object.freeze({
  attempt: () => undefined,
  delivered: () => undefined,
  deadLettered: () => undefined,
  breakerState: () => undefined,
});
