// ResourceStore in memory, for fast unit tests of interactions and FhirService: one instance per
// transaction, reading the tenant's committed state through its own pending writes
// (copy-on-write), which memory-repository.ts applies on commit or drops on rollback. Reads see
// other transactions' commits as they happen (READ COMMITTED, as PostgreSQL's default), and the
// version guard matches pg-resource-store.ts: a write whose base version moved is a WriteConflict.
// A read given a RowReach (SMART data constraint) decides it on the current row's search index,
// as the PostgreSQL store's SQL does (src/search/reach.ts gives both).
import { NO_OUTBOX, type OutboxStore } from '../outbox-store.js';
import type { AuditJournalEntry, AuditStore, StoredAuditRow } from '../audit-store.js';
import type { LoadLedgerEntry, LoadLedgerStore, LoadSourceKey } from '../load-ledger-store.js';
import type { ReindexJob, ReindexJobStore } from '../reindex-job-store.js';
import type { HistoryQuery, NewVersion, ReadOptions, ResourceStore, RowReach, SearchSql, StoredVersion } from '../resource-store.js';
import { WriteConflict } from '../resource-store.js';
import type { SearchParameterState, SearchParameterStore } from '../search-parameter-store.js';
import { copyVersion, historyPage, resourceKey, type CurrentRow, type TenantState } from './memory-state.js';
import type { TerminologyStore } from '../terminology-store.js';
import { emptyTerminologyStore } from './memory-terminology-store.js';

/** A resource written in this transaction: its new current row and versions, and what it replaced. */
export interface PendingResource {
  /** The committed version this transaction's first write replaced (0: none); checked on commit. */
  baseVersionId: number;
  current: CurrentRow;
  added: StoredVersion[];
}

export class MemoryResourceStore implements ResourceStore {
  readonly pending = new Map<string, PendingResource>();
  /** Reindex jobs and ledger entries this transaction wrote, by key. */
  readonly pendingJobs = new Map<string, ReindexJob>();
  readonly pendingLedger = new Map<string, LoadLedgerEntry>();
  /** Audit rows this transaction appended. */
  readonly pendingAudit: StoredAuditRow[] = [];
  /** Audit journal entries this transaction appended, and the ids of those it took. */
  readonly pendingJournal: AuditJournalEntry[] = [];
  readonly takenJournal = new Set<string>();

  constructor(
    readonly tenantId: string,
    private readonly committed: TenantState,
    private readonly readOnly: boolean,
  ) {}

  private currentRow(type: string, id: string): CurrentRow | undefined {
    const key = resourceKey(type, id);
    return this.pending.get(key)?.current ?? this.committed.current.get(key);
  }

  private versionsOf(key: string): readonly StoredVersion[] {
    const committed = this.committed.history.get(key) ?? [];
    const added = this.pending.get(key)?.added;
    return added ? [...committed, ...added] : committed;
  }

  private assertWritable(): void {
    if (this.readOnly) throw new Error('cannot write in a read-only transaction');
  }

  /** The current row when `reach` (if any) reaches it. */
  private reached(type: string, id: string, reach: RowReach | undefined): CurrentRow | undefined {
    const row = this.currentRow(type, id);
    if (!row || (reach && !reach.matches(type, id, row.searchIndex))) return undefined;
    return row;
  }

  async readCurrent(type: string, id: string, options: ReadOptions = {}): Promise<StoredVersion | undefined> {
    const row = this.reached(type, id, options.reach);
    return row && copyVersion(row, false);
  }

  async readCurrentMany(type: string, ids: readonly string[]): Promise<StoredVersion[]> {
    // In id order, as the SQL returns them.
    return [...new Set(ids)]
      .sort()
      .flatMap((id) => {
        const row = this.currentRow(type, id);
        return row ? [copyVersion(row, false)] : [];
      });
  }

  async readVersion(type: string, id: string, versionId: number, options: ReadOptions = {}): Promise<StoredVersion | undefined> {
    if (options.reach && !this.reached(type, id, options.reach)) return undefined;
    const found = this.versionsOf(resourceKey(type, id)).find((v) => v.versionId === versionId);
    return found && copyVersion(found, true);
  }

  async writeVersion(version: NewVersion): Promise<void> {
    this.assertWritable();
    const key = resourceKey(version.resourceType, version.id);
    const visible = this.currentRow(version.resourceType, version.id);
    // The SQL guard: replace only the version this write was based on; a first version needs
    // no row yet (PostgreSQL's unique key refuses a second first version: also a conflict).
    if (visible && visible.versionId !== version.versionId - 1) {
      throw new WriteConflict(`${version.resourceType}/${version.id} changed concurrently`);
    }
    const { searchIndex, method, status, ...stored } = version;
    const pending = this.pending.get(key) ?? { baseVersionId: visible?.versionId ?? 0, current: undefined as unknown as CurrentRow, added: [] };
    pending.current = { ...copyVersion(stored, false), searchIndex };
    pending.added.push({ ...copyVersion(stored, false), method, status });
    this.pending.set(key, pending);
  }

  async writeVersions(versions: readonly NewVersion[], audit: readonly AuditJournalEntry[] = []): Promise<void> {
    for (const version of versions) await this.writeVersion(version);
    if (audit.length > 0) await this.audit.appendAuditJournal(audit);
  }

  /** Nothing to serialize: a conflicting commit is refused (memory-repository.ts). */
  async lockKeys(): Promise<void> {}

  async history(query: HistoryQuery): Promise<StoredVersion[]> {
    const keys = [...new Set([...this.committed.history.keys(), ...this.pending.keys()])];
    const { reach } = query;
    const reachedKeys = reach
      ? keys.filter((key) => {
          const [type, id] = key.split('/');
          return this.reached(type, id, reach) !== undefined;
        })
      : keys;
    return historyPage(reachedKeys.map((key) => this.versionsOf(key)), query);
  }

  async query<T extends object>(_text: SearchSql, _values: unknown[]): Promise<T[]> {
    throw new Error('ResourceStore.query (search SQL) is not supported in memory: test searches against PostgreSQL (test/integration, test/e2e)');
  }

  readonly searchParameters: SearchParameterStore = {
    generation: async () => {
      const params = this.liveSearchParameters();
      const newest = params.reduce((max, row) => Math.max(max, row.lastUpdated.getTime()), 0);
      const completed = this.allJobs().filter((j) => j.status === 'completed');
      return `${params.length}/${newest}/${params.map((p) => p.versionId).join(',')} ${completed.length}`;
    },
    readState: async (): Promise<SearchParameterState> => ({
      parameters: this.liveSearchParameters().map((row) => ({ id: row.id, versionId: row.versionId, content: row.content as string })),
      coverage: this.allJobs().filter((j) => j.status === 'completed').flatMap((j) => j.searchParams),
    }),
  };

  private liveSearchParameters(): CurrentRow[] {
    const ids = new Set<string>();
    for (const key of [...this.committed.current.keys(), ...this.pending.keys()]) {
      if (key.startsWith('SearchParameter/')) ids.add(key.slice('SearchParameter/'.length));
    }
    return [...ids]
      .sort()
      .map((id) => this.currentRow('SearchParameter', id) as CurrentRow)
      .filter((row) => !row.deleted);
  }

  private job(id: string): ReindexJob | undefined {
    return this.pendingJobs.get(id) ?? this.committed.reindexJobs.get(id);
  }

  private allJobs(): ReindexJob[] {
    return [...new Map([...this.committed.reindexJobs, ...this.pendingJobs]).values()];
  }

  private writeJob(job: ReindexJob): void {
    this.assertWritable();
    this.pendingJobs.set(job.id, job);
  }

  readonly reindexJobs: ReindexJobStore = {
    create: async (id, resourceTypes) => {
      if (this.job(id)) throw new Error(`reindex job ${id} already exists`);
      this.writeJob({ id, status: 'queued', resourceTypes: [...resourceTypes], searchParams: [], processed: 0, createdAt: new Date() });
    },
    find: async (id) => {
      const job = this.job(id);
      return job && structuredClone(job);
    },
    cancel: async (id) => {
      const job = this.job(id);
      if (job && (job.status === 'queued' || job.status === 'running')) {
        this.writeJob({ ...job, status: 'cancelled', finishedAt: new Date() });
      }
    },
  };

  private ledgerEntry(key: LoadSourceKey): LoadLedgerEntry | undefined {
    return this.pendingLedger.get(ledgerKey(key)) ?? this.committed.loadLedger.get(ledgerKey(key));
  }

  private writeLedgerEntry(key: LoadSourceKey, entry: LoadLedgerEntry): void {
    this.assertWritable();
    this.pendingLedger.set(ledgerKey(key), entry);
  }

  readonly loadLedger: LoadLedgerStore = {
    find: async (key) => {
      const entry = this.ledgerEntry(key);
      return entry && { ...entry };
    },
    progress: async (key, linesDone, resources) => {
      const entry = this.ledgerEntry(key) ?? { completed: false, linesDone: 0, resources: 0 };
      // Never backwards: units may commit out of order.
      this.writeLedgerEntry(key, { ...entry, linesDone: Math.max(entry.linesDone, linesDone), resources: Math.max(entry.resources, resources) });
    },
    complete: async (key, resources) => {
      const entry = this.ledgerEntry(key) ?? { completed: false, linesDone: 0, resources: 0 };
      this.writeLedgerEntry(key, { ...entry, completed: true, resources });
    },
  };

  readonly terminology: TerminologyStore = emptyTerminologyStore;
  /** No sync destinations or Subscriptions are delivered from the in-memory store (unit tests). */
  readonly outbox: OutboxStore = NO_OUTBOX;

  readonly audit: AuditStore = {
    appendAuditJournal: async (entries) => {
      this.assertWritable();
      for (const entry of entries) {
        if (entry.tenantId !== this.tenantId) throw new Error(`Audit journal entry for tenant ${entry.tenantId} in a transaction of tenant ${this.tenantId}`);
        this.pendingJournal.push({ ...entry });
      }
    },
    takeAuditJournal: async (limit) => {
      this.assertWritable();
      const taken = this.committed.auditJournal.filter((e) => !this.takenJournal.has(e.id)).slice(0, limit);
      for (const e of taken) this.takenJournal.add(e.id);
      return taken.map(({ id, recorded, entry }) => ({ id, recorded, entry }));
    },
    oldestAuditJournalEntry: async () => {
      const times = this.committed.auditJournal.filter((e) => !this.takenJournal.has(e.id)).map((e) => e.recorded.getTime());
      return times.length > 0 ? new Date(Math.min(...times)) : undefined;
    },
    appendAuditEvents: async (rows) => {
      this.assertWritable();
      for (const row of rows) {
        if (row.tenantId !== this.tenantId) throw new Error(`Audit row for tenant ${row.tenantId} in a transaction of tenant ${this.tenantId}`);
        this.pendingAudit.push({ tenantId: row.tenantId, id: row.id, recorded: row.recorded, content: row.content, patients: [...row.patients] });
      }
    },
    readAuditEvent: async (id) => [...this.committed.auditTrail, ...this.pendingAudit].find((row) => row.id === id),
  };
}

/** The ledger's primary key (path, size, digest) as one string. */
export const ledgerKey = (key: LoadSourceKey): string => `${key.path} ${key.sizeBytes} ${key.sha256}`;
