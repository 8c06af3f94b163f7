// The storage contract the FHIR layer sees (ARCHITECTURE.md "Layers"): tenant-scoped,
// transactional, no pg types. One ResourceStore lives for one database transaction, so a
// transaction bundle runs many interactions through the same store. Tables other than the
// resource tables are reached through typed stores on it (docs/storage.md "Typed stores").
import type { AuditJournalEntry, AuditStore } from './audit-store.js';
import type { LoadLedgerStore } from './load-ledger-store.js';
import type { OutboxEntry, OutboxStore } from './outbox-store.js';
import type { ReindexJobStore } from './reindex-job-store.js';
import type { SearchParameterStore } from './search-parameter-store.js';
import type { SearchSql } from './search-sql.js';
import type { TerminologyStore } from './terminology-store.js';

export type { SearchSql } from './search-sql.js';

export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: Date;
  deleted: boolean;
  /** Exact JSON text served for this version; null for a delete (tombstone). */
  content: string | null;
  /** The interaction that made this version and the status it answered (history rows only). */
  method?: WriteMethod;
  status?: number;
}

export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A version to write: how it was made is recorded with it, and the search index entries of
 * its content (the `sp` column; null for a tombstone) go with the current row.
 */
export type NewVersion = StoredVersion & { method: WriteMethod; status: number; searchIndex: object | null };

/**
 * The caller's data constraint on reads (SMART scopes, issue 10; built by src/search/reach.ts):
 * which current rows of a type a read, vread or history may reach. A row out of reach reads as
 * one that does not exist. History versions are reached through their resource's current row
 * (history tables have no search index; docs/adr/0011-access-constraint.md).
 */
export interface RowReach {
  /**
   * A condition on the current row `alias` of `type` (its `id` and `sp` columns), values through
   * `bind`: undefined when every row is reached, false when none is.
   */
  sql(type: string, alias: string, bind: (value: unknown) => string): string | undefined | false;
  /** The same decision on a current row in memory (its search index; null for a tombstone). */
  matches(type: string, id: string, searchIndex: object | null): boolean;
}

/** Options of the reads: `reach` constrains what they may see (absent: everything, e.g. the write path). */
export interface ReadOptions {
  reach?: RowReach;
}

export interface HistoryCursor {
  lastUpdated: Date;
  resourceType: string;
  id: string;
  versionId: number;
}

export interface HistoryQuery {
  /** Omit for system history. */
  resourceType?: string;
  /** With resourceType: instance history. */
  id?: string;
  /** Only versions updated at or after this instant (per _since). */
  since?: Date;
  /** Only versions current at some point within [start, end) (per _at). */
  at?: { start: Date; end: Date };
  /** Page size; the store returns up to count + 1 rows so callers know if there is more. */
  count: number;
  /** Continue strictly after this position (newest first). */
  after?: HistoryCursor;
  /** Only versions of resources whose current row the caller reaches. */
  reach?: RowReach;
}

export interface ResourceStore {
  readonly tenantId: string;
  /**
   * The current row (including a tombstone). `forUpdate` locks it until the transaction ends.
   * With `reach`, a row out of reach (a tombstone is, under any constraint) is undefined.
   */
  readCurrent(type: string, id: string, options?: { forUpdate?: boolean } & ReadOptions): Promise<StoredVersion | undefined>;
  /** One version; with `reach`, only when the resource's current row is within it. */
  readVersion(type: string, id: string, versionId: number, options?: ReadOptions): Promise<StoredVersion | undefined>;
  /** Current rows of many resources of one type in one statement (absent ones are left out). */
  readCurrentMany(type: string, ids: readonly string[], options?: { forUpdate?: boolean }): Promise<StoredVersion[]>;
  /** Writes a new version: history row plus current row, atomically within the transaction. */
  writeVersion(version: NewVersion): Promise<void>;
  /**
   * Writes many new versions, at most one per resource, with one statement per resource type:
   * what bundles use so that a thousand resources do not cost a thousand round trips. `audit`
   * rows are appended with them, atomically, by the same statements (what `audit` would append).
   */
  writeVersions(versions: readonly NewVersion[], audit?: readonly AuditJournalEntry[], outbox?: readonly OutboxEntry[]): Promise<void>;
  /**
   * Serializes units of work that take the same keys until the transaction ends (used so two
   * concurrent conditional creates with the same criteria cannot both create).
   */
  lockKeys(keys: string[]): Promise<void>;
  history(query: HistoryQuery): Promise<StoredVersion[]>;
  /**
   * Runs a statement generated by the search engine (search/sql.ts) inside this transaction.
   * Only the search layer can make a SearchSql: its identifiers come from the type registry
   * and every value is a bind parameter. Other SQL belongs in a typed store below.
   */
  query<T extends object>(text: SearchSql, values: unknown[]): Promise<T[]>;
  /** The tenant's SearchParameters and reindex coverage (search/tenant-params.ts). */
  readonly searchParameters: SearchParameterStore;
  /** The tenant's $reindex jobs. */
  readonly reindexJobs: ReindexJobStore;
  /** hearth load's resumability ledger. */
  readonly loadLedger: LoadLedgerStore;
  /** The tenant's audit trail (append-only): audit rows of a write commit with it (issue 11). */
  readonly audit: AuditStore;
  /** Code systems, concepts and cached expansions the tenant sees (issue 12). */
  readonly terminology: TerminologyStore;
  /** Sync rules, Subscriptions and the outbox rows of this transaction's changes (issue 13). */
  readonly outbox: OutboxStore;
}

export interface TenantInfo {
  id: string;
  name: string;
  dedicatedPartition: boolean;
  createdAt: Date;
}

export interface FhirRepository {
  /** Runs `work` in one database transaction as the app role, scoped to `tenantId`. */
  withTenant<T>(tenantId: string, work: (store: ResourceStore) => Promise<T>, options?: { readOnly?: boolean }): Promise<T>;
  findTenant(id: string): Promise<TenantInfo | undefined>;
  /** Succeeds when the database answers (readiness). */
  ping(): Promise<void>;
}

/**
 * Raised inside a READ ONLY transaction by a read that must first store something it derives
 * (a ValueSet expansion that search SQL joins, issue 12): the caller re-runs the whole unit once
 * in a read-write transaction, where the derived rows are stored and later reads find them.
 */
export class NeedsWritableTransaction extends Error {
  override name = 'NeedsWritableTransaction';
}

/** Raised by a store when a concurrent writer won; the caller retries the whole unit. */
export class WriteConflict extends Error {
  override name = 'WriteConflict';
}
