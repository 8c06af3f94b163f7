// The committed data of one tenant in the in-memory store (memory-repository.ts), and the
// history ordering and filters the PostgreSQL store applies (pg-resource-store.ts history()).
import type { AuditJournalEntry, StoredAuditRow } from '../audit-store.js';
import type { LoadLedgerEntry } from '../load-ledger-store.js';
import type { ReindexJob } from '../reindex-job-store.js';
import type { HistoryCursor, HistoryQuery, StoredVersion } from '../resource-store.js';

/** A current row: the version plus its search index (the `sp` column). */
export interface CurrentRow extends StoredVersion {
  searchIndex: object | null;
}

export interface TenantState {
  /** Keyed by `${type}/${id}`. Rows are never mutated, only replaced. */
  current: Map<string, CurrentRow>;
  /** Every version of a resource, oldest first; arrays are replaced, never appended to. */
  history: Map<string, readonly StoredVersion[]>;
  reindexJobs: Map<string, ReindexJob>;
  /** Keyed by `${path} ${sizeBytes} ${sha256}`. */
  loadLedger: Map<string, LoadLedgerEntry>;
  /** Appended audit rows, oldest first (the array is replaced, never appended to). */
  auditTrail: readonly StoredAuditRow[];
  /** Audit journal entries not yet expanded, oldest first (replaced, never appended to). */
  auditJournal: readonly AuditJournalEntry[];
}

export const emptyTenantState = (): TenantState => ({ current: new Map(), history: new Map(), reindexJobs: new Map(), loadLedger: new Map(), auditTrail: [], auditJournal: [] });

export const resourceKey = (type: string, id: string): string => `${type}/${id}`;

/** A copy the caller may change without changing the store. */
export function copyVersion(v: StoredVersion, withOutcome: boolean): StoredVersion {
  const copy: StoredVersion = {
    resourceType: v.resourceType,
    id: v.id,
    versionId: v.versionId,
    lastUpdated: new Date(v.lastUpdated),
    deleted: v.deleted,
    content: v.content,
  };
  if (withOutcome && v.method) Object.assign(copy, { method: v.method, status: v.status });
  return copy;
}

/** Newest first: (lastUpdated, resourceType, id, versionId) descending, as the SQL orders. */
export function compareNewestFirst(a: HistoryCursor, b: HistoryCursor): number {
  return (
    b.lastUpdated.getTime() - a.lastUpdated.getTime() ||
    compareText(b.resourceType, a.resourceType) ||
    compareText(b.id, a.id) ||
    b.versionId - a.versionId
  );
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One page of history (http.html#history): `count + 1` versions at most, newest first, with
 * `_since` inclusive, `_at` meaning "current at some point in [start, end)", continuing strictly
 * after `after`.
 */
export function historyPage(versionsByResource: Iterable<readonly StoredVersion[]>, query: HistoryQuery): StoredVersion[] {
  const page: StoredVersion[] = [];
  for (const versions of versionsByResource) {
    const first = versions[0];
    if (!first) continue;
    if (query.resourceType !== undefined && first.resourceType !== query.resourceType) continue;
    if (query.id !== undefined && first.id !== query.id) continue;
    for (const [index, v] of versions.entries()) {
      if (query.since && v.lastUpdated < query.since) continue;
      if (query.at) {
        const next = versions[index + 1];
        if (v.lastUpdated >= query.at.end) continue;
        if (next && next.lastUpdated <= query.at.start) continue;
      }
      if (query.after && compareNewestFirst(v, query.after) <= 0) continue;
      page.push(v);
    }
  }
  return page.sort(compareNewestFirst).slice(0, query.count + 1).map((v) => copyVersion(v, true));
}
