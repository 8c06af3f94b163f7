// Retention of the audit trail (issue 11 "Storage and retention": configurable, default six
// years; HEARTH_AUDIT_RETENTION_MONTHS). A month leaves the database only after `hearth audit
// archive` wrote it to a file and detached it: retention drops those detached tables once the
// month is older than the retention. A month past retention that was never archived is kept and
// reported (the maintenance job logs it): deleting audit records nobody archived is not a
// decision a timer should take. Owner-role maintenance, like archival.
import type pg from 'pg';
import { dropArchivedAuditPartition } from './audit-archive.js';

export interface RetentionResult {
  /** Archived months (YYYY-MM) whose detached tables were dropped. */
  dropped: string[];
  /** Months past retention still attached: archive them (hearth audit archive --before …). */
  unarchived: string[];
}

const MONTHLY = /^audit_trail_p(\d{4})(\d{2})$/;

/** The first month (YYYY-MM) inside retention: months before it are past retention. */
export function retentionCutoff(now: Date, months: number): string {
  const cutoff = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 1));
  return cutoff.toISOString().slice(0, 7);
}

export async function applyAuditRetention(pool: pg.Pool, months: number, now: Date = new Date()): Promise<RetentionResult> {
  const cutoff = retentionCutoff(now, months);
  const { rows } = await pool.query<{ name: string; attached: boolean }>(
    `SELECT c.relname AS name, EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) AS attached
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname ~ '^audit_trail_p[0-9]{6}$'
      ORDER BY c.relname`,
  );
  const result: RetentionResult = { dropped: [], unarchived: [] };
  for (const { name, attached } of rows) {
    const m = MONTHLY.exec(name);
    if (!m) continue;
    const month = `${m[1]}-${m[2]}`;
    if (month >= cutoff) continue;
    if (attached) result.unarchived.push(month);
    else if (await dropArchivedAuditPartition(pool, month)) result.dropped.push(month);
  }
  return result;
}
