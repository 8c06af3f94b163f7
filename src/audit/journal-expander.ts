// Turns the audit journal into the trail (issue 11; docs/adr/0016-audit-journal.md): takes a
// tenant's oldest entries and appends their AuditEvents (one per patient, with their search
// index) in the transaction that deletes them, a batch at a time, so an entry is either still in
// the journal or in the trail. Runs
//  - in the background, for the tenants this process recorded for: at the first interval in which
//    nothing was recorded (requests come first: expanding costs about as much CPU as the requests
//    it records), and at the latest once the oldest entry is `maxLagMs` old;
//  - on demand (drain): before an auditor reads the trail (reads-trail.ts), in the audit CLI and
//    at the end of `hearth load`; a drain returns once every entry committed before it began is in
//    the trail;
//  - before the sealer seals a tenant, for entries older than the lag bound (catchUp): those of a
//    process that is gone.
// One pass per tenant at a time in this process; passes of several processes never take one entry
// twice (the take's DELETE locks it), and a drain waits for entries another process is expanding.
import type { AuditEvent } from 'fhir/r4.js';
import type { JsonObject } from '../core/types.js';
import type { NewAuditRow, TakenJournalEntry } from '../storage/audit-store.js';
import { WriteConflict, type FhirRepository } from '../storage/resource-store.js';
import type { SearchRegistry } from '../search/registry/registry.js';
import { AuditEventIndexer } from './event-index.js';
import { expandJournalEntries } from './journal.js';

/** The longest the expander builds events before letting the event loop serve requests. */
const SLICE_MS = 10;

/** How long a drain waits before looking again at entries another process is expanding. */
/** Concurrent-expander conflicts (deadlocks) a pass retries before it gives up. */
const MAX_CONFLICTS = 10;
const OTHERS_POLL_MS = 20;

export interface AuditJournalExpanderOptions {
  repository: Pick<FhirRepository, 'withTenant'>;
  /** The R4 search parameters: the trail's rows carry AuditEvent's search index. */
  registry: SearchRegistry;
  /** Entries per transaction (default 100: a search's entry makes an event per patient, each about 3 kB). */
  batchSize?: number;
  /** The background round's period in ms (default 1,000); 0: only on demand. */
  intervalMs?: number;
  /** A round is deferred while entries were recorded this recently (default: the interval). */
  quietMs?: number;
  /** ...but not once a tenant's entries have waited this long (default 30 s). */
  maxLagMs?: number;
  logger?: { warn(details: object, message: string): void };
  now?: () => Date;
}

export class AuditJournalExpander {
  private readonly eventIndex: AuditEventIndexer;
  private readonly batchSize: number;
  private readonly now: () => Date;
  /** Tenants this process appended entries for since their last pass, with when the first was. */
  private readonly dirty = new Map<string, number>();
  /** When this process last appended an entry (ms). */
  private lastAppend = 0;
  private readonly quietMs: number;
  private readonly maxLagMs: number;
  /** The pass in progress per tenant, and one queued behind it for those who must see later entries. */
  private readonly passes = new Map<string, Promise<number>>();
  private readonly queued = new Map<string, Promise<number>>();
  private timer: NodeJS.Timeout | undefined;
  private background: Promise<void> | undefined;

  constructor(private readonly options: AuditJournalExpanderOptions) {
    this.eventIndex = new AuditEventIndexer(options.registry);
    this.batchSize = Math.max(1, Math.trunc(options.batchSize ?? 100));
    this.now = options.now ?? (() => new Date());
    this.quietMs = options.quietMs ?? options.intervalMs ?? 1000;
    this.maxLagMs = options.maxLagMs ?? 30_000;
  }

  /** The recorder appended entries for `tenantId`: a background round expands them. */
  noteAppended(tenantId: string): void {
    this.lastAppend = this.now().getTime();
    if (!this.dirty.has(tenantId)) this.dirty.set(tenantId, this.lastAppend);
  }

  /**
   * Expands every entry of `tenantId` committed before this call (and any later ones the pass
   * reaches); the number of entries expanded. Rejects when the trail cannot be written.
   */
  drain(tenantId: string): Promise<number> {
    const running = this.passes.get(tenantId);
    if (!running) return this.startPass(tenantId);
    // A pass that started earlier may have passed entries committed since: run one more after it.
    let next = this.queued.get(tenantId);
    if (!next) {
      next = running.catch(() => 0).then(() => {
        this.queued.delete(tenantId);
        return this.startPass(tenantId);
      });
      this.queued.set(tenantId, next);
    }
    return next;
  }

  /**
   * Expands `tenantId`'s entries if the oldest has waited longer than the lag bound — recorded by
   * a process that is gone, or lagging — and otherwise leaves them to the process that recorded
   * them (the sealer's round: it must not expand a busy server's entries early). The number expanded.
   */
  async catchUp(tenantId: string): Promise<number> {
    const oldest = await this.options.repository.withTenant(tenantId, (store) => store.audit.oldestAuditJournalEntry(), { readOnly: true });
    if (!oldest || this.now().getTime() - oldest.getTime() < this.maxLagMs) return 0;
    return this.drain(tenantId);
  }

  start(): void {
    const interval = this.options.intervalMs ?? 1000;
    if (interval <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.expandDirty(), interval);
    this.timer.unref();
  }

  /** Stops the background passes and waits for the one in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.background;
  }

  /**
   * One background round over the tenants this process recorded for: each is expanded if nothing
   * was recorded in the last `quietMs`, or if its entries have waited `maxLagMs`.
   */
  expandDirty(): Promise<void> {
    this.background ??= (async () => {
      const now = this.now().getTime();
      const busy = now - this.lastAppend < this.quietMs;
      for (const [tenantId, since] of [...this.dirty]) {
        if (busy && now - since < this.maxLagMs) continue;
        this.dirty.delete(tenantId);
        try {
          await this.drain(tenantId);
        } catch (error) {
          if (!this.dirty.has(tenantId)) this.dirty.set(tenantId, since); // retried next round; the entries stay in the journal meanwhile
          this.options.logger?.warn({ err: error, tenantId }, 'audit: expanding the journal failed; retrying next round');
        }
      }
    })().finally(() => {
      this.background = undefined;
    });
    return this.background;
  }

  private startPass(tenantId: string): Promise<number> {
    const pass = this.pass(tenantId).finally(() => this.passes.delete(tenantId));
    this.passes.set(tenantId, pass);
    return pass;
  }

  private async pass(tenantId: string): Promise<number> {
    const began = this.now().getTime();
    let total = 0;
    for (let conflicts = 0; ; ) {
      let round: { taken: readonly TakenJournalEntry[]; oldest?: Date };
      try {
        round = await this.options.repository.withTenant(tenantId, async (store) => {
          const entries = await store.audit.takeAuditJournal(this.batchSize);
          if (entries.length > 0) await store.audit.appendAuditEvents(await this.expand(tenantId, entries));
          // Nothing taken: is another process expanding entries recorded before this pass began?
          return { taken: entries, oldest: entries.length === 0 ? await store.audit.oldestAuditJournalEntry() : undefined };
        });
      } catch (error) {
        // Another expander (a server's sealer, a load's last drain) took part of the same rows in
        // another order: the batch rolled back, its entries are still in the journal; take again.
        if (!(error instanceof WriteConflict) || ++conflicts > MAX_CONFLICTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * conflicts));
        continue;
      }
      const { taken, oldest } = round;
      total += taken.length;
      // Done once entries recorded after the pass began are reached (under sustained load a pass
      // would otherwise never end; the next one takes those), or when nothing older is left — not
      // merely when nothing was taken: the take skips what another process has just taken.
      if (taken.length > 0 ? taken[taken.length - 1].recorded.getTime() > began : !oldest || oldest.getTime() > began) return total;
      if (taken.length === 0) await new Promise((resolve) => setTimeout(resolve, OTHERS_POLL_MS));
    }
  }

  /**
   * The entries' trail rows, built a slice at a time: this runs on the server's event loop, and a
   * search's entry can make twenty events of 0.4 ms each, so requests get their turn between slices.
   */
  private async expand(tenantId: string, entries: readonly TakenJournalEntry[]): Promise<NewAuditRow[]> {
    const rows: NewAuditRow[] = [];
    let sliceStart = performance.now();
    for (const entry of entries) {
      rows.push(...expandJournalEntries(tenantId, [entry], this.indexOf));
      if (performance.now() - sliceStart >= SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    return rows;
  }

  private readonly indexOf = (resource: JsonObject): JsonObject => this.eventIndex.index(resource as unknown as AuditEvent) as unknown as JsonObject;
}
