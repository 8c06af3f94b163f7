// Keeps the audit trail sealed and partitioned in the background (issue 11; ADR 0013): every
// interval, each tenant's rows recorded before the sealer's margin get sealed (Merkle root,
// chained), so a deleted or altered row is detectable soon after it was written; once a day,
// and at start, the coming months' partitions are created (the default partition catches
// anything in between) and retention is applied (archived months past it are dropped). Concurrent sealers on several nodes are safe: the sealer locks per
// tenant. The database work is handed in by the composition root (server.ts), so this module
// knows neither pg nor the hashing.
import type { Logger } from 'pino';

export interface AuditMaintenanceWork {
  tenants(): Promise<string[]>;
  seal(tenantId: string): Promise<{ seals: number; rows: number }>;
  ensurePartitions(): Promise<string[]>;
  /** Drops archived months past retention; reports months past retention never archived. */
  applyRetention?(): Promise<{ dropped: string[]; unarchived: string[] }>;
}

export interface AuditMaintenanceOptions {
  sealIntervalMs: number;
  /** How often partitions are created ahead (default a day). */
  partitionIntervalMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export class AuditMaintenance {
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly work: AuditMaintenanceWork,
    private readonly options: AuditMaintenanceOptions,
    private readonly logger: Pick<Logger, 'info' | 'error'>,
  ) {}

  start(): void {
    void this.partitions();
    const seal = setInterval(() => void this.sealAll(), this.options.sealIntervalMs);
    const partitions = setInterval(() => void this.partitions(), this.options.partitionIntervalMs ?? DAY_MS);
    for (const timer of [seal, partitions]) timer.unref();
    this.timers = [seal, partitions];
  }

  /** Stops the timers and waits for a sealing round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.running;
  }

  /** One sealing round over every tenant; one round at a time, a failing tenant does not stop the others. */
  sealAll(): Promise<void> {
    this.running ??= this.sealEach().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sealEach(): Promise<void> {
    let tenants: string[];
    try {
      tenants = await this.work.tenants();
    } catch (error) {
      this.logger.error({ err: error }, 'audit: listing tenants to seal failed');
      return;
    }
    for (const tenantId of tenants) {
      if (this.stopped) return;
      try {
        const sealed = await this.work.seal(tenantId);
        if (sealed.seals > 0) this.logger.info({ tenantId, seals: sealed.seals, rows: sealed.rows }, 'audit: sealed');
      } catch (error) {
        this.logger.error({ err: error, tenantId }, 'audit: sealing failed');
      }
    }
  }

  private async partitions(): Promise<void> {
    try {
      const created = await this.work.ensurePartitions();
      if (created.length > 0) this.logger.info({ created }, 'audit: partitions created');
      const retention = await this.work.applyRetention?.();
      if (retention?.dropped.length) this.logger.info({ dropped: retention.dropped }, 'audit: archived months past retention dropped');
      if (retention?.unarchived.length) this.logger.error({ months: retention.unarchived }, 'audit: months past retention were never archived (hearth audit archive --before YYYY-MM)');
    } catch (error) {
      this.logger.error({ err: error }, 'audit: creating partitions failed');
    }
  }
}
