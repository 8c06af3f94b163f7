// The trail rows of one interaction's AuditEvents (issue 11; docs/adr/0017-audit-records-per-
// interaction.md; migrations/0019): an interaction about two patients or more is stored as ONE
// record — the event without its patient entity — and one small row per patient, from which the
// view audit_events derives each patient's AuditEvent byte for byte; an interaction about at most
// one patient is stored whole, as before. The events of one interaction differ only in their id
// and their last entity, the patient's (build.ts), which is what makes the derivation exact.
import type { AuditEvent } from 'fhir/r4.js';
import { uuidV7 } from '../../core/uuid-v7.js';
import type { JsonObject } from '../../core/types.js';
import type { NewAuditRow } from '../../storage/audit-store.js';
import { patientsOf } from './build.js';
import { auditRowsOf } from './rows.js';

/** The search parameters whose entries are each served event's own (table-names.ts indexColumns). */
const EVENT_CODES: ReadonlySet<string> = new Set(['patient', 'entity']);

const ownsKey = (key: string) => EVENT_CODES.has(key.split(':')[0]);

function pick(index: JsonObject | null, own: boolean): JsonObject | null {
  if (!index) return null;
  return Object.fromEntries(Object.entries(index).filter(([key]) => ownsKey(key) === own));
}

/** What the view prefixes every event with; the record's content starts with it and its own id. */
const EVENT_PREFIX = '{"resourceType":"AuditEvent","id":"';

/**
 * The served text of the event of patient row `rowId` (content `patientRow`) of a record whose
 * content is `record` and id `recordId`: what the view audit_events computes in SQL, in
 * TypeScript, so that tests can hold the two to each other.
 */
export function derivedEventText(record: string, recordId: string, rowId: string, patientRow: string): string {
  const entity = (JSON.parse(patientRow) as { entity: unknown }).entity;
  return `${EVENT_PREFIX}${rowId}${record.slice(EVENT_PREFIX.length + recordId.length, -2)},${JSON.stringify(entity)}]}`;
}

/** The record of `events` (one interaction's, one per patient), or undefined when they cannot be derived from one. */
function recordOf(events: readonly AuditEvent[], recordId: string): { content: string; patients: string[] } | undefined {
  if (events.length < 2) return undefined;
  const [first] = events;
  const shared = (first.entity ?? []).slice(0, -1);
  const patients = events.map((event) => patientsOf(event));
  // Each event's last entity must be its one patient, and something must precede it (the view appends after it).
  if (shared.length === 0 || patients.some((p, i) => p.length !== 1 || events[i].entity?.[events[i].entity!.length - 1]?.what?.reference !== p[0])) return undefined;
  const content = JSON.stringify({ ...first, id: recordId, entity: shared });
  if (!content.startsWith(`${EVENT_PREFIX}${recordId}"`) || !content.endsWith(']}')) return undefined;
  return { content, patients: patients.map((p) => p[0]) };
}

/**
 * The rows storing one interaction's `events` (all from buildAuditEvents on one input): a record
 * and a row per patient when there are two patients or more, else the events whole.
 */
export function interactionRowsOf(tenantId: string, events: readonly AuditEvent[], index: (resource: JsonObject) => JsonObject | null): NewAuditRow[] {
  const recorded = new Date(events[0]?.recorded ?? Number.NaN);
  const recordId = uuidV7(recorded.getTime());
  const record = recordOf(events, recordId);
  if (!record) return auditRowsOf(tenantId, events, index);
  const indexes = events.map((event) => index(event as unknown as JsonObject));
  const rows: NewAuditRow[] = [{ tenantId, id: recordId, recorded, content: record.content, sp: pick(indexes[0], false), patients: record.patients }];
  events.forEach((event, i) => {
    if (!event.id) throw new Error('An AuditEvent to store needs its id');
    const entity = event.entity![event.entity!.length - 1];
    rows.push({
      tenantId,
      id: event.id,
      recorded,
      content: `{"record":${JSON.stringify(recordId)},"entity":${JSON.stringify(entity)}}`,
      sp: pick(indexes[i], true),
      patients: [record.patients[i]],
    });
  });
  return rows;
}
