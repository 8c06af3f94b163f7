// The audit trail service the FHIR operations use ($verify, $export-ndjson; issue 11
// "Integrity", "Auditor access"), built on the PostgreSQL implementation. It lives at the
// composition root (src/*.ts) rather than in src/audit, where fhir/audit-trail.ts's comment
// first placed it: the layer rules (test/unit/architecture.test.ts, ADR 0009) let only the
// composition root, src/auth and src/cli import src/storage/pg, and this is pure wiring of
// storage/pg functions to the fhir contract. The hasher comes from src/audit/chain.
import type { AuditTrailService } from './fhir/audit-trail.js';
import type { AuditHasher } from './storage/audit-store.js';
import type { Database } from './storage/pg/database.js';
import { auditExportLines } from './storage/pg/audit-export.js';
import { verifyAuditTrail } from './storage/pg/audit-verify.js';

/** `pool`: the database's pool (the pg driver itself stays in src/storage). */
export function createAuditTrailService(pool: Database['pool'], hasher: AuditHasher): AuditTrailService {
  return {
    async verify(tenantId, options = {}) {
      const result = await verifyAuditTrail(pool, hasher, { tenantId, since: options.since });
      if (result.intact) return result;
      const { tenantId: _tenant, ...firstBreak } = result.firstBreak;
      return { intact: false, firstBreak };
    },
    exportNdjson: (tenantId, range) => auditExportLines(pool, tenantId, range),
  };
}
