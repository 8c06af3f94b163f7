// The storage contract the FHIR layer sees (ARCHITECTURE.md "Layers"): tenant-scoped,
// transactional, no pg types. One ResourceStore lives for one database transaction, so a
// transaction bundle runs many interactions through the same store.

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

/** A version to write: how it was made is recorded with it. */
export type NewVersion = StoredVersion & { method: WriteMethod; status: number };

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
}

/** A conditional-operation criterion the store can evaluate (see fhir/conditional-criteria.ts). */
export type Criterion =
  | { kind: 'id'; ids: string[] }
  | { kind: 'identifier'; system?: string; value?: string };

export interface ResourceStore {
  readonly tenantId: string;
  /** The current row (including a tombstone). `forUpdate` locks it until the transaction ends. */
  readCurrent(type: string, id: string, options?: { forUpdate?: boolean }): Promise<StoredVersion | undefined>;
  readVersion(type: string, id: string, versionId: number): Promise<StoredVersion | undefined>;
  /** Writes a new version: history row plus current row, atomically within the transaction. */
  writeVersion(version: NewVersion): Promise<void>;
  /**
   * Serializes conditional operations on the same criteria until the transaction ends, so two
   * concurrent conditional creates of one identifier cannot both create (http.html#ccreate).
   */
  lockCriteria(type: string, criteria: Criterion[]): Promise<void>;
  history(query: HistoryQuery): Promise<StoredVersion[]>;
  /** Ids of live resources matching every criterion, at most `limit`. */
  findMatching(type: string, criteria: Criterion[], limit: number): Promise<StoredVersion[]>;
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

/** Raised by a store when a concurrent writer won; the caller retries the whole unit. */
export class WriteConflict extends Error {
  override name = 'WriteConflict';
}
