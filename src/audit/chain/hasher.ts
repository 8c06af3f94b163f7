// The audit trail's integrity functions bundled as the storage layer's AuditHasher
// (src/storage/audit-store.ts): row hash (row-hash.ts), RFC 6962 §2.1 Merkle root (merkle.ts),
// chained seal hash (seal-hash.ts). The composition (CLI, server) hands it to src/storage/pg.
import type { AuditHasher } from '../../storage/audit-store.js';
import { merkleRoot } from './merkle.js';
import { rowHash } from './row-hash.js';
import { GENESIS_SEAL_HASH, sealHash } from './seal-hash.js';

export const auditHasher: AuditHasher = { rowHash, merkleRoot, sealHash, genesisSealHash: GENESIS_SEAL_HASH };
