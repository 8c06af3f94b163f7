// The audit journal's entries (issue 11; docs/adr/0016-audit-journal.md): what the request path
// commits for one interaction is the AuditEvent builder's input (balp/input.ts: who, when, the
// outcome, the references read or written, the patients; no bodies, no names, no tokens) as JSON
// text. The expander builds the AuditEvents from it later, exactly as the request path would
// have: the events do not depend on when they are built, only on the input.
import { uuidV7 } from '../core/uuid-v7.js';
import type { JsonObject } from '../core/types.js';
import type { AuditJournalEntry, NewAuditRow, TakenJournalEntry } from '../storage/audit-store.js';
import { buildAuditEvents, type AuditInput } from './balp/index.js';
import { interactionRowsOf } from './balp/record-rows.js';

/** The journal entry recording `input` for `tenantId`. */
export function journalEntryOf(tenantId: string, input: AuditInput): AuditJournalEntry {
  return { tenantId, id: uuidV7(input.recorded.getTime()), recorded: input.recorded, entry: JSON.stringify(input) };
}

function instant(value: unknown, field: string): Date {
  const date = typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new Error(`Audit journal entry: ${field} is not an instant`);
  return date;
}

/** The builder input an entry holds (its instants as Dates again). */
export function auditInputOf(entry: string): AuditInput {
  const parsed = JSON.parse(entry) as AuditInput & { period: { start: unknown; end: unknown }; recorded: unknown };
  if (!parsed || typeof parsed !== 'object' || !parsed.event || !parsed.outcome || !parsed.server) throw new Error('Audit journal entry: not an AuditEvent builder input');
  return {
    ...parsed,
    period: { start: instant(parsed.period?.start, 'period.start'), end: instant(parsed.period?.end, 'period.end') },
    recorded: instant(parsed.recorded, 'recorded'),
  };
}

/** The trail rows (AuditEvents with their search index, or records: ADR 0017) of the entries taken from the journal. */
export function expandJournalEntries(tenantId: string, taken: readonly TakenJournalEntry[], index: (resource: JsonObject) => JsonObject | null): NewAuditRow[] {
  return taken.flatMap((entry) => interactionRowsOf(tenantId, buildAuditEvents(auditInputOf(entry.entry)), index));
}
