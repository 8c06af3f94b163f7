// The hash of one audit seal (issue 11 "Integrity"; docs/adr/0013-audit-trail-storage.md):
// SHA-256 over a canonical JSON array of every column that defines the seal, including the
// previous seal's hash, so the seals of a tenant form a hash chain (seq 1 links to 32 zero bytes).
import { createHash } from 'node:crypto';
import type { AuditSealFields } from '../../storage/audit-store.js';

export const SEAL_HASH_VERSION = 'hearth-audit-seal-v1';
export const GENESIS_SEAL_HASH = Buffer.alloc(32);

export function sealHash(seal: AuditSealFields): Buffer {
  const canonical = JSON.stringify([
    SEAL_HASH_VERSION,
    seal.tenantId,
    seal.seq,
    seal.firstRecorded,
    seal.firstId,
    seal.lastRecorded,
    seal.lastId,
    seal.rowCount,
    seal.merkleRoot.toString('hex'),
    seal.prevSealHash.toString('hex'),
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest();
}
