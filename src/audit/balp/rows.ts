// AuditEvents as the rows the audit store appends (issue 11; src/storage/audit-store.ts
// NewAuditRow): the content is the JSON text stored and hashed as is (resourceType first, as
// built), `patients` the events' Patient-role entities for the access report, `sp` the search
// index entries the caller's indexer computes for AuditEvent (the same indexer as the
// resource tables', so the search engine can serve AuditEvent searches from the audit table).
import type { AuditEvent } from 'fhir/r4.js';
import type { JsonObject } from '../../core/types.js';
import type { NewAuditRow } from '../../storage/audit-store.js';
import { patientsOf } from './build.js';

export function auditRowsOf(tenantId: string, events: readonly AuditEvent[], index: (resource: JsonObject) => JsonObject | null = () => null): NewAuditRow[] {
  return events.map((event) => {
    if (!event.id) throw new Error('An AuditEvent to store needs its id');
    return {
      tenantId,
      id: event.id,
      recorded: new Date(event.recorded),
      content: JSON.stringify(event),
      sp: index(event as unknown as JsonObject),
      patients: patientsOf(event),
    };
  });
}
