// The hash of one audit trail row (issue 11 "Integrity"; docs/adr/0013-audit-trail-storage.md):
// SHA-256 (FIPS 180-4) over a canonical serialization of the row's immutable columns — a JSON
// array of a version tag, tenant, id, `recorded` in UTC with microseconds (PostgreSQL's
// precision, so a value read back from the database serializes identically), the content text
// exactly as stored and the patient references in order. `sp` is left out: it is an index
// derived from the content, which is covered.
import { createHash } from 'node:crypto';

export const ROW_HASH_VERSION = 'hearth-audit-row-v1';

export interface HashedRowFields {
  tenantId: string;
  id: string;
  /** UTC instant, canonical form `YYYY-MM-DDTHH:MM:SS.ffffffZ` (see canonicalInstant). */
  recorded: string;
  content: string;
  patients: readonly string[];
}

/** `recorded` as the canonical microsecond UTC string; a Date has milliseconds, padded with 000. */
export function canonicalInstant(value: Date): string {
  if (Number.isNaN(value.getTime())) throw new Error('Invalid recorded time');
  return `${value.toISOString().slice(0, 23)}000Z`;
}

export function rowHash(row: HashedRowFields): Buffer {
  const canonical = JSON.stringify([ROW_HASH_VERSION, row.tenantId, row.id, row.recorded, row.content, [...row.patients]]);
  return createHash('sha256').update(canonical, 'utf8').digest();
}
