// A ResourceStore that holds writes back and sends them as multi-row statements
// (writeVersions), for bundles (FHIR R4 http.html#transaction): a Synthea patient of a
// thousand resources costs a few statements rather than a thousand round trips. Every read,
// search, lock or history call first sends what is held, so the unit of work always sees its
// own writes; reading one resource sends them only when that resource is among them. The
// owner calls flush() before the transaction commits. prefetch() reads ahead the rows a
// bundle's updates will read, in one statement per type.
//
// Typed stores: the SearchParameter state reads the search_parameter table, so it sends held
// writes first when a SearchParameter is among them (and only then: every write of a bundle
// reads the tenant's generation). Reindex jobs and the load ledger are tables no buffered write
// touches; they pass through without sending anything. Audit journal entries (issue 11) are held
// like versions and appended by the statement that sends the versions (ADRs 0015, 0016): a bundle
// of a thousand entries records a thousand interactions in one INSERT, and a single write
// (FhirService runs each through a buffer) costs no round trip for its entry. Reading the trail
// sends them first.
import type { AuditJournalEntry, AuditStore } from './audit-store.js';
import type { LoadLedgerStore } from './load-ledger-store.js';
import type { OutboxEntry, OutboxStore } from './outbox-store.js';
import type { ReindexJobStore } from './reindex-job-store.js';
import type { HistoryQuery, NewVersion, ResourceStore, SearchSql, StoredVersion } from './resource-store.js';
import type { SearchParameterState, SearchParameterStore } from './search-parameter-store.js';
import type { TerminologyStore } from './terminology-store.js';

/** Writes held at most before they are sent (bounds memory for big bundles). */
const MAX_HELD = 500;

export class WriteBuffer implements ResourceStore {
  private held: NewVersion[] = [];
  private readonly heldKeys = new Set<string>();
  /** Current rows read ahead by prefetch(), each handed out once (undefined: known absent). */
  private readonly prefetched = new Map<string, StoredVersion | undefined>();

  /** Held writes per resource type, so a read of one type sends them only when it must. */
  private readonly heldTypes = new Set<string>();

  /** Audit journal entries held until the next flush. */
  private heldAudit: AuditJournalEntry[] = [];

  /** Outbox rows held until the next flush (issue 13): they ride on the versions' last statement. */
  private heldOutbox: OutboxEntry[] = [];

  readonly searchParameters: SearchParameterStore;
  readonly audit: AuditStore;
  readonly outbox: OutboxStore;

  constructor(private readonly inner: ResourceStore, private readonly maxHeld = MAX_HELD) {
    this.searchParameters = {
      generation: async (): Promise<string> => {
        await this.flushIfHolding('SearchParameter');
        return this.inner.searchParameters.generation();
      },
      readState: async (): Promise<SearchParameterState> => {
        await this.flushIfHolding('SearchParameter');
        return this.inner.searchParameters.readState();
      },
    };
    this.audit = {
      appendAuditJournal: async (entries): Promise<void> => {
        this.heldAudit.push(...entries);
        if (this.heldAudit.length >= this.maxHeld) await this.flush();
      },
      // The trail's own rows and the expander's takes pass through, after what is held.
      appendAuditEvents: async (rows): Promise<void> => {
        await this.flush();
        return this.inner.audit.appendAuditEvents(rows);
      },
      takeAuditJournal: async (limit) => {
        await this.flush();
        return this.inner.audit.takeAuditJournal(limit);
      },
      oldestAuditJournalEntry: async () => {
        await this.flush();
        return this.inner.audit.oldestAuditJournalEntry();
      },
      readAuditEvent: async (id) => {
        await this.flush();
        return this.inner.audit.readAuditEvent(id);
      },
    };
    this.outbox = {
      // Destinations and Subscriptions: a held Subscription goes first, so the rules see it.
      rulesGeneration: async () => {
        await this.flushIfHolding('Subscription');
        return this.inner.outbox.rulesGeneration();
      },
      readRules: async () => {
        await this.flushIfHolding('Subscription');
        return this.inner.outbox.readRules();
      },
      append: async (entries) => {
        this.heldOutbox.push(...entries);
        if (this.heldOutbox.length >= this.maxHeld) await this.flush();
      },
    };
  }

  get tenantId(): string {
    return this.inner.tenantId;
  }

  get reindexJobs(): ReindexJobStore {
    return this.inner.reindexJobs;
  }

  get loadLedger(): LoadLedgerStore {
    return this.inner.loadLedger;
  }

  /** Terminology rows are written at once, not buffered (a bundle's CodeSystem loads its concepts in the transaction). */
  get terminology(): TerminologyStore {
    return this.inner.terminology;
  }

  private async flushIfHolding(type: string): Promise<void> {
    if (this.heldTypes.has(type)) await this.flush();
  }

  /**
   * Reads ahead, locked, the current rows of resources the unit will read for update, so that
   * a bundle of updates costs one read per type rather than one per resource.
   */
  async prefetch(type: string, ids: readonly string[]): Promise<void> {
    const wanted = ids.filter((id) => !this.heldKeys.has(`${type}/${id}`));
    const found = new Map((await this.inner.readCurrentMany(type, wanted, { forUpdate: true })).map((v) => [v.id, v]));
    for (const id of wanted) this.prefetched.set(`${type}/${id}`, found.get(id));
  }

  async writeVersion(version: NewVersion): Promise<void> {
    const key = `${version.resourceType}/${version.id}`;
    this.prefetched.delete(key);
    // A second write of one resource must follow the first: send the first now.
    if (this.heldKeys.has(key)) await this.flush();
    this.held.push(version);
    this.heldKeys.add(key);
    this.heldTypes.add(version.resourceType);
    if (this.held.length >= this.maxHeld) await this.flush();
  }

  async writeVersions(versions: readonly NewVersion[], audit: readonly AuditJournalEntry[] = [], outbox: readonly OutboxEntry[] = []): Promise<void> {
    for (const v of versions) await this.writeVersion(v);
    if (audit.length > 0) await this.audit.appendAuditJournal(audit);
    if (outbox.length > 0) await this.outbox.append(outbox);
  }

  /** Sends every held write; held audit entries ride with the versions' last statement. */
  async flush(): Promise<void> {
    const batch = this.held;
    const rows = this.heldAudit;
    const outbox = this.heldOutbox;
    this.held = [];
    this.heldAudit = [];
    this.heldOutbox = [];
    this.heldKeys.clear();
    this.heldTypes.clear();
    if (batch.length > 0) await this.inner.writeVersions(batch, rows, outbox);
    else {
      if (rows.length > 0) await this.inner.audit.appendAuditJournal(rows);
      if (outbox.length > 0) await this.inner.outbox.append(outbox);
    }
  }

  async readCurrent(type: string, id: string, options?: { forUpdate?: boolean }): Promise<StoredVersion | undefined> {
    const key = `${type}/${id}`;
    if (this.prefetched.has(key)) {
      const version = this.prefetched.get(key);
      this.prefetched.delete(key);
      return version;
    }
    if (this.heldKeys.has(key)) await this.flush();
    return this.inner.readCurrent(type, id, options);
  }

  async readCurrentMany(type: string, ids: readonly string[], options?: { forUpdate?: boolean }): Promise<StoredVersion[]> {
    if (ids.some((id) => this.heldKeys.has(`${type}/${id}`))) await this.flush();
    return this.inner.readCurrentMany(type, ids, options);
  }

  async readVersion(type: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    if (this.heldKeys.has(`${type}/${id}`)) await this.flush();
    return this.inner.readVersion(type, id, versionId);
  }

  /** Locks order this unit against others; held writes are this unit's own and need not go first. */
  async lockKeys(keys: string[]): Promise<void> {
    return this.inner.lockKeys(keys);
  }

  async history(query: HistoryQuery): Promise<StoredVersion[]> {
    await this.flush();
    return this.inner.history(query);
  }

  async query<T extends object>(text: SearchSql, values: unknown[]): Promise<T[]> {
    await this.flush();
    return this.inner.query<T>(text, values);
  }
}
