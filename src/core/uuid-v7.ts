// UUID version 7 (RFC 9562 §5.7): 48 bits of Unix time in milliseconds, then random bits. Ids
// made this way sort by creation time, so a B-tree index of them grows at its right edge
// instead of touching a random leaf page per insert (and writing that page whole to the WAL
// after each checkpoint): what the audit trail's id index needs, one insert per request.
import { randomFillSync } from 'node:crypto';

/** Random bytes drawn in blocks: one system call per 256 ids rather than per id. */
const pool = Buffer.alloc(16 * 256);
let offset = pool.length;

export function uuidV7(now: number = Date.now()): string {
  if (offset >= pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 16);
  offset += 16;
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70; // version 7
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // variant 10
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
