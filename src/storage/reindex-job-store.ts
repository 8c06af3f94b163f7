// A tenant's $reindex jobs as the FHIR layer sees them (fhir/operations/reindex.ts, R4
// async.html): queue one, read its status, cancel it. Workers claim and run jobs through the
// owner-role queue (storage/pg/reindex-jobs.ts), not through this store.
import type { ReindexCoverage } from './search-parameter-store.js';

export type ReindexJobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface ReindexJob {
  id: string;
  status: ReindexJobStatus;
  resourceTypes: string[];
  /** Custom parameter versions the job indexes (recorded when a worker starts it). */
  searchParams: ReindexCoverage[];
  /** Live resources to index; undefined until a worker has started the job. */
  total?: number;
  processed: number;
  error?: string;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
}

export interface ReindexJobStore {
  /** Queues a job over `resourceTypes`. */
  create(id: string, resourceTypes: readonly string[]): Promise<void>;
  find(id: string): Promise<ReindexJob | undefined>;
  /** Cancels the job if it is queued or running; otherwise leaves it as it is. */
  cancel(id: string): Promise<void>;
}
