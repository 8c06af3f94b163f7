// The server seals audit trails in the background (HEARTH_AUDIT_SEAL_INTERVAL_MS; ADR 0013):
// rows appended to a tenant's trail and recorded before the sealer's margin end up sealed, and
// the trail verifies intact.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import { PgAuditStore } from '../../src/storage/pg/audit-store.js';
import { verifyAuditTrail } from '../../src/storage/pg/audit-verify.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { useTestServer } from '../support/test-server.js';

describe('audit trail sealing in the server (e2e)', function () {
  this.timeout(60_000);
  const fixture = useTestServer('postgres', { auditSealIntervalMs: 100, reindexWorker: false });

  it('seals what was recorded before the margin, and the trail verifies intact', async () => {
    const base = await fixture.server.newTenantBase();
    const tenantId = /\/t\/([^/]+)\/fhir$/.exec(base)![1];
    const pool = fixture.server.server.database.pool;
    const recorded = new Date(Date.now() - 5 * 60_000);
    const rows = Array.from({ length: 3 }, () => {
      const id = randomUUID();
      return { tenantId, id, recorded, content: JSON.stringify({ resourceType: 'AuditEvent', id, recorded: recorded.toISOString() }), sp: null, patients: [] };
    });
    await inTenantTransaction(pool, tenantId, (client) => new PgAuditStore(client, tenantId, auditHasher).appendAuditEvents(rows));
    let report = await verifyAuditTrail(pool, auditHasher, { tenantId });
    for (let i = 0; i < 200 && !(report.intact && report.sealed === 3); i++) {
      await new Promise((r) => setTimeout(r, 50));
      report = await verifyAuditTrail(pool, auditHasher, { tenantId });
    }
    assert.ok(report.intact, JSON.stringify(report));
    assert.equal(report.sealed, 3, JSON.stringify(report));
    assert.equal(report.pending, 0);
  });
});
