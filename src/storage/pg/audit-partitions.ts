// Monthly partitions of the audit trail (issue 11 "Storage and retention";
// docs/adr/0013-audit-trail-storage.md): creates the partitions of the month of `from` and the
// `monthsAhead` months after it (SQL function hearth_audit_ensure_partitions, migrations/0013),
// moving rows the DEFAULT partition took for those months. Owner-role maintenance (the pool's
// connecting role), run at migrate time and by `hearth audit partitions` / a periodic job.
import type pg from 'pg';

export async function ensureAuditPartitions(pool: pg.Pool, from: Date = new Date(), monthsAhead = 3): Promise<string[]> {
  const { rows } = await pool.query<{ part: string }>('SELECT hearth_audit_ensure_partitions($1, $2) AS part', [from, monthsAhead]);
  return rows.map((r) => r.part);
}

export interface AuditPartition {
  name: string;
  /** YYYY-MM, or 'default'. */
  month: string;
  rows: number;
}

/** The attached partitions of audit_trail with their (estimated-free, exact) row counts. */
export async function listAuditPartitions(pool: pg.Pool): Promise<AuditPartition[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_trail'::regclass ORDER BY c.relname`,
  );
  const result: AuditPartition[] = [];
  for (const { name } of rows) {
    const count = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(name)}`);
    const m = /^audit_trail_p(\d{4})(\d{2})$/.exec(name);
    result.push({ name, month: m ? `${m[1]}-${m[2]}` : 'default', rows: count.rows[0].n });
  }
  return result;
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`Unexpected identifier ${JSON.stringify(name)}`);
  return `"${name}"`;
}
