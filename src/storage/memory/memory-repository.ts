// FhirRepository in memory (docs/adr/0009-layers-and-composition.md): what interactions and
// FhirService are unit-tested against, with no database. Each withTenant() is a transaction:
// its writes stay in its MemoryResourceStore until `work` resolves, then are applied at once
// (none if it throws). A resource another transaction committed meanwhile makes the commit a
// WriteConflict, as PostgreSQL's version guard and unique keys do, so FhirService retries.
// Search SQL (ResourceStore.query) is not supported: searches are tested on PostgreSQL.
import type { FhirRepository, ResourceStore, TenantInfo } from '../resource-store.js';
import { WriteConflict } from '../resource-store.js';
import { MemoryResourceStore } from './memory-resource-store.js';
import { emptyTenantState, type TenantState } from './memory-state.js';

export class MemoryRepository implements FhirRepository {
  private readonly tenants = new Map<string, TenantInfo>();
  private readonly states = new Map<string, TenantState>();

  /** Starts with the `default` tenant, as migrations/0001 does. */
  constructor(tenantIds: readonly string[] = ['default']) {
    for (const id of tenantIds) this.addTenant(id);
  }

  addTenant(id: string, name = id): TenantInfo {
    const info: TenantInfo = { id, name, dedicatedPartition: false, createdAt: new Date() };
    this.tenants.set(id, info);
    return info;
  }

  async findTenant(id: string): Promise<TenantInfo | undefined> {
    const info = this.tenants.get(id);
    return info && { ...info };
  }

  async ping(): Promise<void> {}

  async withTenant<T>(tenantId: string, work: (store: ResourceStore) => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
    let state = this.states.get(tenantId);
    if (!state) this.states.set(tenantId, (state = emptyTenantState()));
    const store = new MemoryResourceStore(tenantId, state, options.readOnly ?? false);
    const result = await work(store);
    commit(state, store);
    return result;
  }
}

/** Applies a transaction's writes, all or none (no await in between, so nothing interleaves). */
function commit(state: TenantState, store: MemoryResourceStore): void {
  for (const [key, pending] of store.pending) {
    if ((state.current.get(key)?.versionId ?? 0) !== pending.baseVersionId) {
      throw new WriteConflict(`${key} changed concurrently`);
    }
  }
  for (const [key, pending] of store.pending) {
    state.current.set(key, pending.current);
    state.history.set(key, [...(state.history.get(key) ?? []), ...pending.added]);
  }
  // Reindex jobs and ledger entries: the last writer of a key wins, as a plain UPDATE would.
  for (const [id, job] of store.pendingJobs) state.reindexJobs.set(id, job);
  for (const [key, entry] of store.pendingLedger) state.loadLedger.set(key, entry);
  if (store.pendingAudit.length > 0) state.auditTrail = [...state.auditTrail, ...store.pendingAudit];
  if (store.pendingJournal.length > 0 || store.takenJournal.size > 0) {
    state.auditJournal = [...state.auditJournal.filter((e) => !store.takenJournal.has(e.id)), ...store.pendingJournal];
  }
}
