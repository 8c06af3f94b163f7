// ReindexJobStore on PostgreSQL (table reindex_job, migrations/0006) for one tenant, inside its
// transaction (row-level security applies). Workers use the owner-role queue in reindex-jobs.ts.
import type pg from 'pg';
import type { ReindexJob, ReindexJobStore } from '../reindex-job-store.js';

interface JobRow {
  id: string;
  status: ReindexJob['status'];
  resource_types: string[];
  search_params: ReindexJob['searchParams'];
  total: string | number | null;
  processed: string | number;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const CREATE = 'INSERT INTO reindex_job (tenant_id, id, status, resource_types) VALUES ($1, $2, $3, $4)';
const FIND =
  'SELECT id, status, resource_types, search_params, total, processed, error, created_at, started_at, finished_at ' +
  'FROM reindex_job WHERE tenant_id = $1 AND id = $2';
const CANCEL =
  "UPDATE reindex_job SET status = 'cancelled', finished_at = now(), lease_until = NULL WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')";

export class PgReindexJobStore implements ReindexJobStore {
  constructor(
    private readonly client: pg.ClientBase,
    private readonly tenantId: string,
  ) {}

  async create(id: string, resourceTypes: readonly string[]): Promise<void> {
    await this.client.query(CREATE, [this.tenantId, id, 'queued', [...resourceTypes]]);
  }

  async find(id: string): Promise<ReindexJob | undefined> {
    const { rows } = await this.client.query<JobRow>(FIND, [this.tenantId, id]);
    return rows[0] && toJob(rows[0]);
  }

  async cancel(id: string): Promise<void> {
    await this.client.query(CANCEL, [this.tenantId, id]);
  }
}

function toJob(row: JobRow): ReindexJob {
  return {
    id: row.id,
    status: row.status,
    resourceTypes: row.resource_types,
    searchParams: row.search_params,
    ...(row.total === null ? {} : { total: Number(row.total) }),
    processed: Number(row.processed),
    ...(row.error === null ? {} : { error: row.error }),
    createdAt: row.created_at,
    ...(row.started_at ? { startedAt: row.started_at } : {}),
    ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
  };
}
