// The reindex_job queue (migrations/0006) for background workers: claim with a lease
// (FOR UPDATE SKIP LOCKED, so several API nodes can run workers), index one batch and record
// progress in ONE transaction (so a resumed job continues exactly after its last batch), and
// finish. Runs as the owning role because a worker serves every tenant; every statement names
// its tenant explicitly.
import type pg from 'pg';
import type { JsonObject } from '../../core/types.js';
import { reindexRefusal, tablesFor } from '../table-names.js';
import { writeIndexes } from './reindex.js';

export interface ClaimedJob {
  tenantId: string;
  id: string;
  resourceTypes: string[];
  searchParams: { id: string; versionId: number; types: string[] }[];
  total: number | null;
  cursorType: string | null;
  cursorId: string | null;
}

export class ReindexJobQueue {
  constructor(
    private readonly pool: pg.Pool,
    private readonly leaseMs: number,
  ) {}

  /** The oldest claimable job: queued for at least `delayMs`, or running with an expired lease. */
  async claim(delayMs: number): Promise<ClaimedJob | undefined> {
    const { rows } = await this.pool.query(
      `UPDATE reindex_job j SET status = 'running', started_at = coalesce(j.started_at, now()), lease_until = now() + $1 * interval '1 millisecond' ` +
        `WHERE (j.tenant_id, j.id) = (SELECT tenant_id, id FROM reindex_job ` +
        `WHERE (status = 'queued' AND created_at <= now() - $2 * interval '1 millisecond') OR (status = 'running' AND lease_until < now()) ` +
        `ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) ` +
        'RETURNING tenant_id, id, resource_types, search_params, total, cursor_type, cursor_id',
      [this.leaseMs, delayMs],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      tenantId: r.tenant_id,
      id: r.id,
      resourceTypes: r.resource_types,
      searchParams: r.search_params,
      total: r.total === null ? null : Number(r.total),
      cursorType: r.cursor_type,
      cursorId: r.cursor_id,
    };
  }

  /** Records what the job will index and how many live resources that is (first claim only). */
  async start(job: ClaimedJob, searchParams: ClaimedJob['searchParams']): Promise<number> {
    let total = 0;
    for (const type of job.resourceTypes) {
      if (reindexRefusal(type)) continue; // nothing to do: indexed once at append (table-names.ts)
      const { rows } = await this.pool.query(`SELECT count(*)::bigint AS n FROM ${tablesFor(type).current} WHERE tenant_id = $1 AND NOT deleted`, [job.tenantId]);
      total += Number(rows[0].n);
    }
    await this.pool.query('UPDATE reindex_job SET total = $3, search_params = $4 WHERE tenant_id = $1 AND id = $2', [
      job.tenantId,
      job.id,
      total,
      JSON.stringify(searchParams),
    ]);
    return total;
  }

  /**
   * Indexes the next `batchSize` live resources of `type` after `afterId` and advances the
   * job's cursor, in one transaction. Returns the last id done (undefined when the type is
   * finished) or 'stopped' when the job is no longer running (cancelled, or lost its lease).
   */
  async indexBatch(
    job: ClaimedJob,
    type: string,
    afterId: string,
    batchSize: number,
    indexer: (resource: JsonObject) => object,
  ): Promise<string | undefined | 'stopped'> {
    // An append-only type (AuditEvent) is done at once: its index was computed at append and
    // its rows may not be updated (the audit trail's trigger refuses it).
    if (reindexRefusal(type)) return undefined;
    const table = tablesFor(type).current;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const owned = await client.query(
        `UPDATE reindex_job SET lease_until = now() + $3 * interval '1 millisecond' WHERE tenant_id = $1 AND id = $2 AND status = 'running' RETURNING id`,
        [job.tenantId, job.id, this.leaseMs],
      );
      if (owned.rowCount === 0) {
        await client.query('ROLLBACK');
        return 'stopped';
      }
      const { rows } = await client.query<{ id: string; version_id: number; content: string }>(
        `SELECT id, version_id, content FROM ${table} WHERE tenant_id = $1 AND NOT deleted AND id > $2 ORDER BY id LIMIT $3`,
        [job.tenantId, afterId, batchSize],
      );
      const last = rows.length === batchSize ? rows[rows.length - 1].id : undefined;
      if (rows.length > 0) {
        const indexes = rows.map((r) => JSON.stringify(indexer(JSON.parse(r.content) as JsonObject)));
        await writeIndexes(client, type, rows.map((r) => ({ ...r, tenant_id: job.tenantId })), indexes);
      }
      await client.query('UPDATE reindex_job SET processed = processed + $3, cursor_type = $4, cursor_id = $5 WHERE tenant_id = $1 AND id = $2', [
        job.tenantId,
        job.id,
        rows.length,
        type,
        last ?? null,
      ]);
      await client.query('COMMIT');
      return last;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async finish(job: ClaimedJob, outcome: { error?: string }): Promise<void> {
    await this.pool.query(
      `UPDATE reindex_job SET status = $3, error = $4, finished_at = now(), lease_until = NULL WHERE tenant_id = $1 AND id = $2 AND status = 'running'`,
      [job.tenantId, job.id, outcome.error ? 'failed' : 'completed', outcome.error ?? null],
    );
  }
}
