// Reading the audit trail for the auditors' NDJSON export (issue 11 "Auditor access": "returns
// NDJSON without holding the result in memory"; docs/adr/0013-audit-trail-storage.md). Keyset
// pages on the primary key's (recorded, id) order, each page in its own short READ ONLY tenant
// transaction: a slow client holds neither a transaction (which would hold back vacuum and a
// pool connection) nor more than one page in memory. Each page reads through a cursor, planned
// for fast start, so it walks the primary key in order even when the statistics of a new
// partition lag (a LIMIT query sorted every later row then; see the ADR's measurements).
import type pg from 'pg';
import { recordedText } from './audit-sql.js';
import { inTenantTransaction } from './tenant-session.js';

/** A position in the trail's (recorded, id) order; `recorded` canonical microsecond text. */
export interface AuditExportKey {
  recorded: string;
  id: string;
}

export interface AuditExportPage {
  /** Each row's stored AuditEvent text, as stored. */
  contents: string[];
  /** The key of the last row; undefined when the page is empty. */
  last?: AuditExportKey;
}

export interface AuditExportRange {
  /** Inclusive lower bound on `recorded`. */
  since?: Date;
  /** Exclusive upper bound on `recorded`. */
  until?: Date;
}

export const DEFAULT_EXPORT_PAGE_SIZE = 1000;

// `after` absent: from `since` inclusive; present: strictly after that key. The upper bound is
// exclusive. ORDER BY names t's columns: the output `recorded` is text.
const declare = (strictlyAfter: boolean) =>
  `DECLARE audit_export NO SCROLL CURSOR FOR SELECT id, ${recordedText('recorded')} AS recorded, content FROM audit_events t ` +
  `WHERE tenant_id = $1 AND (recorded, id) ${strictlyAfter ? '>' : '>='} ($2::timestamptz, $3::text) AND recorded < $4::timestamptz ` +
  'ORDER BY t.recorded, t.id';

/** One page of the tenant's events in [since, until), after `after` when given, oldest first. */
export async function readAuditExportPage(
  pool: pg.Pool,
  tenantId: string,
  range: AuditExportRange,
  after: AuditExportKey | undefined,
  pageSize = DEFAULT_EXPORT_PAGE_SIZE,
): Promise<AuditExportPage> {
  const size = Math.max(1, Math.trunc(pageSize));
  const start = after ?? { recorded: range.since ? range.since.toISOString() : '-infinity', id: '' };
  const until = range.until ? range.until.toISOString() : 'infinity';
  const rows = await inTenantTransaction(
    pool,
    tenantId,
    async (client) => {
      await client.query(declare(after !== undefined), [tenantId, start.recorded, start.id, until]);
      const fetched = (await client.query<{ id: string; recorded: string; content: string }>(`FETCH ${size} FROM audit_export`)).rows;
      await client.query('CLOSE audit_export');
      return fetched;
    },
    { readOnly: true },
  );
  const lastRow = rows[rows.length - 1];
  return { contents: rows.map((r) => r.content), last: lastRow ? { recorded: lastRow.recorded, id: lastRow.id } : undefined };
}

/**
 * The tenant's events in [since, until) as NDJSON lines (stored text + '\n'), read lazily: the
 * next page is read only when the consumer has taken every line of the previous one, and
 * return() (the consumer stopping) reads no further page.
 */
export async function* auditExportLines(
  pool: pg.Pool,
  tenantId: string,
  range: AuditExportRange,
  pageSize = DEFAULT_EXPORT_PAGE_SIZE,
): AsyncGenerator<string, void, undefined> {
  let after: AuditExportKey | undefined;
  for (;;) {
    const page = await readAuditExportPage(pool, tenantId, range, after, pageSize);
    for (const content of page.contents) yield `${content}\n`;
    if (page.contents.length < pageSize || !page.last) return;
    after = page.last;
  }
}
