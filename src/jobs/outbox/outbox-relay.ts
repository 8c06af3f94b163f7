// The outbox relay (issue 13 "Transactional outbox"; docs/adr/0020-outbox-and-delivery.md): hands
// outbox rows to the delivery queue and marks them handed over only once the queue has accepted
// them, so a queue that is down leaves them pending for the next round. It wakes on the commit of
// a write that appended rows (LISTEN/NOTIFY from other processes, a nudge from this one), and
// polls as a safety net; the poll also hands again rows whose job never ran (the queue lost it:
// Redis restarted without persistence). Rows are taken per tenant with FOR UPDATE SKIP LOCKED, so
// several relays share the work, and each statement stays on one tenant's shard on Citus.
import type { Logger } from '../../core/logger.js';
import type { DeliveryStore } from '../../storage/delivery-store.js';
import type { DeliveryQueue } from '../delivery/contracts.js';

export interface OutboxRelayOptions {
  pollMs: number;
  staleMs: number;
  /** Rows per hand-over transaction. */
  batchSize?: number;
}

/** Subscribes to commits that appended outbox rows (tenant per notification); resolves to an unsubscribe. */
export type OutboxListen = (onTenant: (tenantId: string) => void) => Promise<() => Promise<void>>;

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private stopped = false;
  /** Tenants to look at on the next run (undefined: every tenant with work). */
  private readonly wanted = new Set<string>();
  private sweepWanted = true;
  private running: Promise<void> | undefined;
  private nudgeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: DeliveryStore,
    private readonly queue: DeliveryQueue,
    private readonly options: OutboxRelayOptions,
    private readonly logger: Logger,
    private readonly listen?: OutboxListen,
  ) {}

  async start(): Promise<void> {
    if (this.listen) {
      try {
        this.unlisten = await this.listen((tenantId) => this.nudge(tenantId));
      } catch (error) {
        this.logger.warn({ err: error }, 'outbox relay: LISTEN failed; polling only');
      }
    }
    this.timer = setInterval(() => {
      this.sweepWanted = true;
      void this.run();
    }, this.options.pollMs);
    this.timer.unref();
    void this.run();
  }

  /** A commit appended rows for `tenantId`: look soon (coalesced). */
  nudge(tenantId: string): void {
    if (this.stopped) return;
    this.wanted.add(tenantId);
    this.nudgeTimer ??= setTimeout(() => {
      this.nudgeTimer = undefined;
      void this.run();
    }, 25);
  }

  /** One round: every wanted tenant until it has nothing left to hand over. */
  run(): Promise<void> {
    if (this.running) return this.running.then(() => (this.wanted.size > 0 || this.sweepWanted ? this.run() : undefined));
    this.running = this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<void> {
    const batch = this.options.batchSize ?? 500;
    let tenants: string[];
    try {
      if (this.sweepWanted) {
        this.sweepWanted = false;
        tenants = [...new Set([...this.wanted, ...(await this.store.tenantsWithWork(this.options.staleMs))])];
      } else tenants = [...this.wanted];
      this.wanted.clear();
      for (const tenantId of tenants) {
        while (!this.stopped) {
          const handed = await this.store.handOver(tenantId, batch, this.options.staleMs, (jobs) =>
            this.queue.add(jobs.map((j) => ({ job: { tenantId: j.tenantId, outboxId: j.outboxId, hand: j.hand }, delayMs: j.delayMs }))),
          );
          if (handed < batch) break;
        }
      }
    } catch (error) {
      // The queue or the database is down: the rows stay pending; the next poll tries again.
      this.logger.warn({ err: error }, 'outbox relay: hand-over failed; will retry');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.nudgeTimer);
    await this.unlisten?.().catch(() => undefined);
    await this.running;
  }
}
