// What the FHIR layer's audit operations need from the audit trail beyond one tenant
// transaction (issue 11 "Integrity", "Auditor access"): verifying the tenant's chain and
// streaming its events page by page, each page in its own short transaction so that an export
// of millions of events holds neither memory nor a transaction open for its whole duration.
// Implemented at the composition root (src/compose-audit-trail.ts: src/audit may not import
// storage/pg) and handed in by src/compose.ts.

/** The result of verifying one tenant's trail (hearth audit verify prints the same). */
export type AuditVerifyReport =
  | { intact: true; sealed: number; pending: number; seals: number; archivedSeals: number }
  | { intact: false; firstBreak: { sealSeq?: number; recordId?: string; reason: string } };

export interface AuditTrailService {
  verify(tenantId: string, options?: { since?: Date }): Promise<AuditVerifyReport>;
  /**
   * The tenant's AuditEvents recorded in [since, until), oldest first, as NDJSON lines (each
   * ending in a newline), read lazily page by page as the consumer pulls.
   */
  exportNdjson(tenantId: string, range: { since?: Date; until?: Date }): AsyncIterable<string>;
}
