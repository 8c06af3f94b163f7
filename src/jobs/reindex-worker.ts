// Runs queued $reindex jobs in the background (docs/search.md "Custom search parameters"):
// polls the reindex_job queue, and for a claimed job indexes every live resource of its types
// in batches with the tenant's current indexing registry, recording progress per batch. A
// job is started only after it has been queued for `startDelayMs`, so a write that began before
// a new SearchParameter committed has finished (and is then covered by the job or indexed by
// its own writer). A crashed worker's job is picked up again when its lease expires.
import type { Logger } from 'pino';
import type { JsonObject } from '../core/types.js';
import { baseTypes } from '../search/custom-params.js';
import type { CustomParam } from '../search/tenant-params.js';
import type { ClaimedJob, ReindexJobQueue } from '../storage/pg/reindex-jobs.js';

export interface ReindexWorkerOptions {
  pollMs: number;
  startDelayMs: number;
  batchSize: number;
}

/** The tenant's indexer and active custom parameters, read in its own transaction. */
export type TenantIndexing = (tenantId: string) => Promise<{ indexer: (resource: JsonObject) => object; custom: readonly CustomParam[] }>;

export class ReindexWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly queue: ReindexJobQueue,
    private readonly tenantIndexing: TenantIndexing,
    private readonly options: ReindexWorkerOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
  }

  /** Stops polling and waits for the batch in progress (the job resumes elsewhere or on restart). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Runs jobs until none is claimable; one poll at a time. */
  poll(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      const job = await this.queue.claim(this.options.startDelayMs).catch((error: unknown) => {
        this.logger.error({ err: error }, 'reindex: claiming a job failed');
        return undefined;
      });
      if (!job) return;
      await this.run(job);
    }
  }

  private async run(job: ClaimedJob): Promise<void> {
    const log = this.logger.child({ tenant: job.tenantId, job: job.id });
    try {
      const { indexer, custom } = await this.tenantIndexing(job.tenantId);
      if (job.total === null) {
        const covered = custom
          .map((p) => ({ id: p.id, versionId: p.versionId, types: job.resourceTypes.filter((t) => baseTypes(p.resource).includes(t)) }))
          .filter((p) => p.types.length > 0);
        job.searchParams = covered;
        job.total = await this.queue.start(job, covered);
        log.info({ types: job.resourceTypes.length, total: job.total }, 'reindex job started');
      }
      let typeIndex = job.cursorType === null ? 0 : job.resourceTypes.indexOf(job.cursorType) + (job.cursorId === null ? 1 : 0);
      let after = job.cursorId ?? '';
      for (; typeIndex < job.resourceTypes.length; typeIndex++) {
        const type = job.resourceTypes[typeIndex];
        for (;;) {
          if (this.stopped) return;
          const last = await this.queue.indexBatch(job, type, after, this.options.batchSize, indexer);
          if (last === 'stopped') {
            log.info('reindex job stopped (cancelled or taken over)');
            return;
          }
          if (last === undefined) break;
          after = last;
        }
        after = '';
      }
      await this.queue.finish(job, {});
      log.info('reindex job completed');
    } catch (error) {
      log.error({ err: error }, 'reindex job failed');
      await this.queue.finish(job, { error: (error as Error).message }).catch(() => undefined);
    }
  }
}
