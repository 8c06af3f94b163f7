// src/jobs/audit-maintenance.ts: the background sealing of every tenant's audit trail and the
// partitions created ahead, with the database work faked.
import assert from 'node:assert/strict';
import { AuditMaintenance, type AuditMaintenanceWork } from '../../../src/jobs/audit-maintenance.js';

function fakes(failing: string[] = []) {
  const sealed: string[] = [];
  const errors: string[] = [];
  let partitionRuns = 0;
  const work: AuditMaintenanceWork = {
    tenants: async () => ['a', 'b', 'c'],
    seal: async (tenantId) => {
      if (failing.includes(tenantId)) throw new Error(`boom ${tenantId}`);
      sealed.push(tenantId);
      return { seals: 1, rows: 3 };
    },
    ensurePartitions: async () => {
      partitionRuns++;
      return [];
    },
  };
  const logger = { info: () => undefined, error: (_obj: unknown, msg?: string) => void errors.push(String(msg)) };
  return { work, logger, sealed, errors, partitions: () => partitionRuns };
}

describe('AuditMaintenance', () => {
  it('a round seals every tenant; a failing tenant is logged and does not stop the others', async () => {
    const f = fakes(['b']);
    const job = new AuditMaintenance(f.work, { sealIntervalMs: 60_000 }, f.logger as never);
    await job.sealAll();
    assert.deepEqual(f.sealed, ['a', 'c']);
    assert.deepEqual(f.errors, ['audit: sealing failed']);
  });

  it('rounds do not overlap: a second call joins the running one', async () => {
    const f = fakes();
    const job = new AuditMaintenance(f.work, { sealIntervalMs: 60_000 }, f.logger as never);
    await Promise.all([job.sealAll(), job.sealAll()]);
    assert.deepEqual(f.sealed, ['a', 'b', 'c']);
  });

  it('start creates partitions at once and seals on its interval; stop ends it', async () => {
    const f = fakes();
    const job = new AuditMaintenance(f.work, { sealIntervalMs: 20 }, f.logger as never);
    job.start();
    for (let i = 0; i < 100 && f.sealed.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    await job.stop();
    assert.equal(f.partitions(), 1);
    assert.ok(f.sealed.length >= 3, `sealed ${f.sealed.length}`);
    const after = f.sealed.length;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(f.sealed.length, after, 'nothing sealed after stop');
  });
});
