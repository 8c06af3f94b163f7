// The hash of one audit trail row (issue 11 "Integrity"; docs/adr/0013-audit-trail-storage.md):
// SHA-256 (FIPS 180-4) over a canonical serialization of the row's immutable columns — a JSON
// array of a version tag, tenant, id, `recorded` in UTC with microseconds (PostgreSQL's
// precision, so a value read back from the database serializes identically), the content text
// exactly as stored and the patient references in order. `sp` is left out: it is an index
// derived from the content, which is covered.
import { createHash } from 'node:crypto';
import type { AuditRowFields } from '../../storage/audit-store.js';

export { canonicalInstant } from '../../storage/audit-store.js';

export const ROW_HASH_VERSION = 'hearth-audit-row-v1';

export function rowHash(row: AuditRowFields): Buffer {
  const canonical = JSON.stringify([ROW_HASH_VERSION, row.tenantId, row.id, row.recorded, row.content, [...row.patients]]);
  return createHash('sha256').update(canonical, 'utf8').digest();
}
