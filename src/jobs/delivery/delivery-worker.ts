// The delivery worker (issue 13 "Failure handling"; docs/sync.md): runs one queue job, i.e. one
// look at one outbox row. The row is claimed in PostgreSQL with a lease on its resource, so
// versions of one resource go out in order and one at a time (a job for an older version finds a
// later one delivered and ends; skipping straight to the latest is allowed); the attempt goes
// through the destination's circuit breaker; the outcome is recorded before the next job is
// scheduled. Everything is idempotent on (outbox row, hand): a job run twice (a worker killed
// mid-delivery, a queue that re-delivers) finds the row delivered, rescheduled or leased.
import type { Logger } from '../../core/logger.js';
import type { JsonObject } from '../../core/types.js';
import type { Claim, DeliveryStore, OutboxRow } from '../../storage/delivery-store.js';
import type { Breakers, DeliveryJob, DeliveryMetrics, DeliveryQueue, DeliveryResult, RestHookTransport, SyncTransport } from './contracts.js';
import { isExhausted, nextDelayMs } from './retry-policy.js';
import { readSubscription } from '../subscriptions/subscription-channel.js';

/** Thrown when another worker holds the resource's lease: the queue runs the job again shortly. */
export class LeaseBusy extends Error {
  override name = 'LeaseBusy';
}

export interface DeliveryWorkerOptions {
  leaseMs: number;
  maxAttempts: number;
  backoffMs: number;
  backoffMaxMs: number;
}

/** Sets a Subscription's status (and error) through the FHIR service, so the change is versioned and audited. */
export type SubscriptionStatusWriter = (tenantId: string, id: string, status: 'active' | 'error', error?: string) => Promise<void>;

export interface DeliveryWorkerDeps {
  store: DeliveryStore;
  queue: DeliveryQueue;
  breakers: Breakers;
  /** Sync transports by name (SyncDestination.transport): 'fhir' today. */
  syncTransports: Readonly<Record<string, SyncTransport>>;
  restHook: RestHookTransport;
  metrics: DeliveryMetrics;
  setSubscriptionStatus: SubscriptionStatusWriter;
  /** Absolute URL of a resource version on this server (id-only notifications). */
  resourceUrl: (tenantId: string, type: string, id: string, versionId: number) => string;
  logger: Logger;
}

type Deliverable = Extract<Claim, { kind: 'deliver' }>;

/** Metrics and breaker label of a row's destination. */
export const destinationLabel = (row: Pick<OutboxRow, 'channel' | 'target'>): string => `${row.channel}:${row.target}`;

export class DeliveryWorker {
  /** Breaker key -> (tenant, destination label), to record state changes. */
  private readonly keys = new Map<string, { tenantId: string; destination: string }>();

  constructor(
    private readonly deps: DeliveryWorkerDeps,
    private readonly options: DeliveryWorkerOptions,
  ) {
    deps.breakers.onStateChange((key, state) => {
      const known = this.keys.get(key);
      if (!known) return;
      deps.metrics.breakerState(known.destination, state);
      deps.store.recordBreaker(known.tenantId, known.destination, state).catch((error: unknown) => deps.logger.warn({ err: error }, 'delivery: recording a breaker state failed'));
    });
  }

  start(concurrency: number): void {
    this.deps.queue.consume((job) => this.handle(job), concurrency);
  }

  async handle(job: DeliveryJob): Promise<void> {
    const claim = await this.deps.store.claim(job.tenantId, job.outboxId, job.hand, this.options.leaseMs);
    if (claim.kind === 'busy') throw new LeaseBusy(`another delivery of this resource is in flight (outbox ${job.outboxId})`);
    if (claim.kind !== 'deliver') return;
    const { row, lease } = claim;
    const destination = destinationLabel(row);
    const key = `${row.tenantId}/${destination}`;
    this.keys.set(key, { tenantId: row.tenantId, destination });
    const started = process.hrtime.bigint();
    let result: DeliveryResult | 'open';
    try {
      result = await this.deps.breakers.run(key, () => this.send(claim));
    } catch (error) {
      result = { kind: 'retry', reason: `delivery failed: ${(error as Error).message}` };
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result === 'open') {
      this.deps.metrics.attempt(destination, 'open', seconds);
      const delayMs = Math.max(100, this.deps.breakers.remainingOpenMs(key));
      const hand = await this.deps.store.postpone(row, lease, delayMs);
      await this.schedule(row, hand, delayMs);
      return;
    }
    this.deps.metrics.attempt(destination, result.kind, seconds);
    if (result.kind === 'delivered') {
      await this.deps.store.complete(row, lease, claim.resource.versionId);
      this.deps.metrics.delivered(destination, (Date.now() - row.createdAt.getTime()) / 1000);
      if (row.action === 'handshake') await this.subscriptionStatus(row, 'active');
      return;
    }
    await this.failed(claim, result);
  }

  private async failed(claim: Deliverable, result: Extract<DeliveryResult, { kind: 'retry' | 'reject' }>): Promise<void> {
    const { row, lease } = claim;
    const attempts = row.attempts + 1;
    const dead = result.kind === 'reject' || isExhausted(attempts, this.options.maxAttempts);
    const delayMs = dead ? 0 : nextDelayMs(attempts, { baseMs: this.options.backoffMs, maxMs: this.options.backoffMaxMs, retryAfterMs: result.kind === 'retry' ? result.retryAfterMs : undefined });
    const hand = await this.deps.store.fail(row, lease, {
      ...(result.status !== undefined ? { status: result.status } : {}),
      reason: result.reason,
      ...(result.kind === 'reject' && result.outcome !== undefined ? { outcome: result.outcome } : {}),
      dead,
      delayMs,
    });
    if (!dead) {
      await this.schedule(row, hand, delayMs);
      return;
    }
    this.deps.metrics.deadLettered(destinationLabel(row));
    this.deps.logger.warn({ tenant: row.tenantId, destination: destinationLabel(row), resource: `${row.resourceType}/${row.resourceId}`, attempts, status: result.status }, 'delivery dead-lettered');
    if (row.channel === 'subscription') await this.subscriptionStatus(row, 'error', `${result.reason}${result.status ? ` (HTTP ${result.status})` : ''} after ${attempts} attempt(s)`);
  }

  /** The next look at the row; if the queue is down, the relay hands it again once it is overdue. */
  private async schedule(row: OutboxRow, hand: number, delayMs: number): Promise<void> {
    try {
      await this.deps.queue.add([{ job: { tenantId: row.tenantId, outboxId: row.id, hand }, delayMs }]);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'delivery: scheduling a retry failed; the relay will hand it again');
    }
  }

  private async subscriptionStatus(row: OutboxRow, status: 'active' | 'error', error?: string): Promise<void> {
    try {
      await this.deps.setSubscriptionStatus(row.tenantId, row.target, status, error);
    } catch (failure) {
      this.deps.logger.warn({ err: failure, subscription: row.target }, 'delivery: updating the Subscription status failed');
    }
  }

  private send(claim: Deliverable): Promise<DeliveryResult> {
    const { row, resource } = claim;
    if (claim.destination) {
      const transport = this.deps.syncTransports[claim.destination.transport];
      if (!transport) return Promise.resolve({ kind: 'reject', reason: `no transport named '${claim.destination.transport}'` });
      return transport.send({
        destination: claim.destination,
        resourceType: row.resourceType,
        id: row.resourceId,
        versionId: resource.versionId,
        content: resource.deleted ? null : resource.content,
        ...(resource.deleted ? { previousContent: resource.previousContent } : {}),
      });
    }
    const channel = readSubscription(row.target, JSON.parse(claim.subscription!.content) as JsonObject);
    return this.deps.restHook.send({
      endpoint: channel.endpoint,
      headers: channel.headers,
      payload: channel.payload,
      contentType: channel.contentType,
      kind: row.action === 'handshake' ? 'handshake' : 'notification',
      resourceType: row.resourceType,
      id: row.resourceId,
      versionId: resource.versionId,
      content: resource.deleted ? null : resource.content,
      resourceUrl: this.deps.resourceUrl(row.tenantId, row.resourceType, row.resourceId, resource.versionId),
    });
  }
}
