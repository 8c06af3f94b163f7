// The audit trail store the FHIR layer writes AuditEvents through (issue 11 "Recording";
// docs/adr/0013-audit-trail-storage.md): append-only, one multi-row INSERT per call, inside the
// caller's tenant transaction. The request path appends journal entries (ADR 0016), which the
// expander turns into the trail's AuditEvents. Reading here is by id; searches (the access report included) go
// through the search engine over the same table. The
// integrity functions (row hash, Merkle root, seal hash) are implemented in src/audit/chain and
// handed to the storage implementation as an AuditHasher (storage may not import the audit layer).
import type { JsonObject } from '../core/types.js';

/** Appending to the trail failed: the caller's transaction is lost and the request must fail (503). */
export class AuditAppendFailed extends Error {
  override name = 'AuditAppendFailed';
  constructor(cause: unknown) {
    super(`Appending to the audit trail failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.cause = cause;
  }
}

/** One AuditEvent to append. */
export interface NewAuditRow {
  tenantId: string;
  /** The AuditEvent's id (a UUID). */
  id: string;
  /** AuditEvent.recorded. */
  recorded: Date;
  /** The AuditEvent resource as JSON text, stored and hashed exactly as given. */
  content: string;
  /** Search index entries (src/search/types.ts), as the resource tables' `sp` column. */
  sp: JsonObject | null;
  /** References (Patient/x) of the patients the event is about. */
  patients: readonly string[];
}

/**
 * One interaction's audit record as the request path commits it (ADR 0016): the AuditEvent
 * builder's input as JSON text, expanded into the trail's AuditEvents later, in bulk
 * (src/audit/journal.ts writes and reads `entry`).
 */
export interface AuditJournalEntry {
  tenantId: string;
  /** A UUID version 7 taken from `recorded`. */
  id: string;
  recorded: Date;
  entry: string;
}

/** Journal entries as the expander takes them (oldest first). */
export interface TakenJournalEntry {
  id: string;
  recorded: Date;
  entry: string;
}

export interface StoredAuditRow {
  tenantId: string;
  id: string;
  recorded: Date;
  content: string;
  patients: string[];
}

export interface AuditStore {
  /** The request path: interactions' journal entries, committed with the caller's transaction. */
  appendAuditJournal(entries: readonly AuditJournalEntry[]): Promise<void>;
  /** The trail itself: AuditEvents built from the journal (the expander), or by tests. */
  appendAuditEvents(rows: readonly NewAuditRow[]): Promise<void>;
  /**
   * Removes and returns up to `limit` of the oldest journal entries (waiting for those another
   * transaction holds): the caller appends their AuditEvents in the same transaction.
   */
  takeAuditJournal(limit: number): Promise<TakenJournalEntry[]>;
  /** When the oldest journal entry (committed, or being expanded by another transaction) was recorded. */
  oldestAuditJournalEntry(): Promise<Date | undefined>;
  /** The stored row `id` (a whole AuditEvent, a record or a patient row: migrations/0019), as appended. */
  readAuditEvent(id: string): Promise<StoredAuditRow | undefined>;
}

/** A row's immutable columns as they are hashed. */
export interface AuditRowFields {
  tenantId: string;
  id: string;
  /** UTC instant, canonical form `YYYY-MM-DDTHH:MM:SS.ffffffZ` (see canonicalInstant). */
  recorded: string;
  content: string;
  patients: readonly string[];
}

/** A seal's columns as they are hashed. */
export interface AuditSealFields {
  tenantId: string;
  seq: number;
  /** Canonical microsecond UTC instants (canonicalInstant). */
  firstRecorded: string;
  firstId: string;
  lastRecorded: string;
  lastId: string;
  rowCount: number;
  merkleRoot: Buffer;
  prevSealHash: Buffer;
}

/** The integrity functions (src/audit/chain/hasher.ts implements them). */
export interface AuditHasher {
  rowHash(row: AuditRowFields): Buffer;
  /** Merkle root over the rows' hashes, in (recorded, id) order. */
  merkleRoot(rowHashes: readonly Buffer[]): Buffer;
  sealHash(seal: AuditSealFields): Buffer;
  /** What seal 1 links to as its previous seal hash. */
  genesisSealHash: Buffer;
}

/** `recorded` as the canonical microsecond UTC string; a Date has milliseconds, padded with 000. */
export function canonicalInstant(value: Date): string {
  if (Number.isNaN(value.getTime())) throw new Error('Invalid recorded time');
  return `${value.toISOString().slice(0, 23)}000Z`;
}
