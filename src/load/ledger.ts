// hearth load (docs/loading.md): the resumability ledger, table load_ledger (migration 0009).
// It records, per tenant, each source file whose last transaction committed (a re-run skips it)
// and, for an NDJSON file part-way through, the last line of its committed prefix (a re-run
// resumes after it). Read and written through the repository's tenant transactions
// (ResourceStore.loadLedger), so row-level security applies as it does to resources.
import type { LoadLedgerEntry, LoadSourceKey } from '../storage/load-ledger-store.js';
import type { FhirRepository } from '../storage/resource-store.js';
import type { SourceKey } from './sources.js';

export type LedgerEntry = LoadLedgerEntry;

export interface LoadLedger {
  find(tenantId: string, key: SourceKey): Promise<LedgerEntry | undefined>;
  /** Part-way progress; never moves backwards (units may commit out of order). */
  progress(tenantId: string, key: SourceKey, linesDone: number, resources: number): Promise<void>;
  /** The file's last transaction committed. */
  complete(tenantId: string, key: SourceKey, resources: number): Promise<void>;
}

/** The storage key of a source file. */
const storageKey = (key: SourceKey): LoadSourceKey => ({ path: key.name, sizeBytes: key.size, sha256: key.sha256 });

export class RepositoryLedger implements LoadLedger {
  constructor(private readonly repository: FhirRepository) {}

  find(tenantId: string, key: SourceKey): Promise<LedgerEntry | undefined> {
    return this.repository.withTenant(tenantId, (store) => store.loadLedger.find(storageKey(key)), { readOnly: true });
  }

  progress(tenantId: string, key: SourceKey, linesDone: number, resources: number): Promise<void> {
    return this.repository.withTenant(tenantId, (store) => store.loadLedger.progress(storageKey(key), linesDone, resources));
  }

  complete(tenantId: string, key: SourceKey, resources: number): Promise<void> {
    return this.repository.withTenant(tenantId, (store) => store.loadLedger.complete(storageKey(key), resources));
  }
}

/** The ledger kept in memory: for tests, and for loads that need not survive the process. */
export class MemoryLedger implements LoadLedger {
  readonly entries = new Map<string, LedgerEntry>();

  private id = (tenantId: string, key: SourceKey) => JSON.stringify([tenantId, key.name, key.size, key.sha256]);

  async find(tenantId: string, key: SourceKey): Promise<LedgerEntry | undefined> {
    const entry = this.entries.get(this.id(tenantId, key));
    return entry && { ...entry };
  }

  async progress(tenantId: string, key: SourceKey, linesDone: number, resources: number): Promise<void> {
    const old = this.entries.get(this.id(tenantId, key)) ?? { completed: false, linesDone: 0, resources: 0 };
    this.entries.set(this.id(tenantId, key), {
      completed: old.completed,
      linesDone: Math.max(old.linesDone, linesDone),
      resources: Math.max(old.resources, resources),
    });
  }

  async complete(tenantId: string, key: SourceKey, resources: number): Promise<void> {
    const old = this.entries.get(this.id(tenantId, key));
    this.entries.set(this.id(tenantId, key), { completed: true, linesDone: old?.linesDone ?? 0, resources });
  }
}
