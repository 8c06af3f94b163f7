// SQL fragments shared by the audit trail's maintenance modules (docs/adr/0013-audit-trail-storage.md):
// `recorded` read back in the canonical microsecond UTC form the hashes use (row-hash.ts).
export const recordedText = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The lowest (recorded, id) key, before every row. */
export const BEFORE_ALL = { recorded: '-infinity', id: '' };

/** Keys (canonical recorded, id) compare as the database's (recorded, id COLLATE "C") order does. */
export function compareKeys(a: { recorded: string; id: string }, b: { recorded: string; id: string }): number {
  if (a.recorded !== b.recorded) return a.recorded < b.recorded ? -1 : 1;
  if (a.id === b.id) return 0;
  return Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8'));
}
