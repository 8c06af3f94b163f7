// Group commit of audit journal entries written outside a write's own transaction (reads,
// failures, security events; docs/adr/0014-recording-in-the-request-path.md, 0016-audit-journal.md):
// every caller awaits its entries' commit, and the entries of concurrent callers of one tenant go
// in one multi-row INSERT, sent as one statement that is its own transaction (ADR 0015). While a
// tenant's insert is in flight, newcomers queue; when it commits, all of them go in the next one.
// An idle server therefore commits a lone read's entry at once (no timer adds latency) and a busy
// one amortizes the commit across the requests that arrived meanwhile. A failed insert fails
// every caller in it with AuditUnavailable (503).
import type { AuditJournalEntry } from '../storage/audit-store.js';
import { AuditUnavailable } from '../fhir/audit-unavailable.js';

/** Appends journal entries of one tenant durably in a transaction of their own (PgRepository's: one round trip). */
export interface AuditAppender {
  appendAuditJournal(tenantId: string, entries: readonly AuditJournalEntry[]): Promise<void>;
}

interface Waiting {
  rows: AuditJournalEntry[];
  callers: { resolve: () => void; reject: (error: unknown) => void }[];
}

export class AuditGroupCommit {
  private readonly waiting = new Map<string, Waiting>();
  private readonly inFlight = new Set<string>();

  constructor(private readonly appender: AuditAppender) {}

  /** Resolves once `rows` are committed; rejects with AuditUnavailable when they cannot be. */
  append(tenantId: string, rows: readonly AuditJournalEntry[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let batch = this.waiting.get(tenantId);
      if (!batch) this.waiting.set(tenantId, (batch = { rows: [], callers: [] }));
      batch.rows.push(...rows);
      batch.callers.push({ resolve, reject });
      if (!this.inFlight.has(tenantId)) void this.drain(tenantId);
    });
  }

  private async drain(tenantId: string): Promise<void> {
    this.inFlight.add(tenantId);
    try {
      for (let batch = this.waiting.get(tenantId); batch; batch = this.waiting.get(tenantId)) {
        this.waiting.delete(tenantId);
        try {
          const { rows } = batch;
          await this.appender.appendAuditJournal(tenantId, rows);
          for (const caller of batch.callers) caller.resolve();
        } catch (error) {
          const failure = error instanceof AuditUnavailable ? error : new AuditUnavailable(error);
          for (const caller of batch.callers) caller.reject(failure);
        }
      }
    } finally {
      this.inFlight.delete(tenantId);
    }
  }
}
