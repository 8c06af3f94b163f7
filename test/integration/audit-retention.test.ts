// Retention of the audit trail (issue 11 "Storage and retention"; src/storage/pg/audit-retention.ts):
// archived (detached) months past retention are dropped, months inside it are kept, and a month
// past retention that was never archived stays and is reported. Months of 1990 with a clock set
// in 1990, so nothing another test uses is touched.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { applyAuditRetention, retentionCutoff } from '../../src/storage/pg/audit-retention.js';
import { testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

const exists = async (pool: pg.Pool, table: string) => (await pool.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [table])).rows[0].ok;

describe('audit trail retention (PostgreSQL)', function () {
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });
  after(async () => {
    for (const month of ['199001', '199002', '199004']) {
      const table = `audit_trail_p${month}`;
      const attached = await pool.query('SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1)', [table]);
      if (attached.rowCount) await pool.query(`ALTER TABLE audit_trail DETACH PARTITION ${table}`);
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });

  it('the cutoff is the first month inside retention', () => {
    assert.equal(retentionCutoff(new Date('2026-12-04T10:00:00Z'), 72), '2020-12');
    assert.equal(retentionCutoff(new Date('1990-06-30T23:59:59Z'), 3), '1990-03');
  });

  it('drops archived months past retention, keeps those inside it, and reports unarchived ones past it', async () => {
    await pool.query('SELECT hearth_audit_ensure_partitions($1, 3)', [new Date('1990-01-01T00:00:00Z')]);
    // Archival detaches a month (hearth audit archive): 1990-01 (past retention) and 1990-04 (inside).
    await pool.query('ALTER TABLE audit_trail DETACH PARTITION audit_trail_p199001');
    await pool.query('ALTER TABLE audit_trail DETACH PARTITION audit_trail_p199004');
    const result = await applyAuditRetention(pool, 3, new Date('1990-06-15T00:00:00Z'));
    assert.ok(result.dropped.includes('1990-01'), JSON.stringify(result));
    assert.ok(!result.dropped.includes('1990-04'));
    assert.ok(result.unarchived.includes('1990-02'), 'attached past retention: reported');
    assert.equal(await exists(pool, 'audit_trail_p199001'), false);
    assert.equal(await exists(pool, 'audit_trail_p199002'), true, 'never archived: kept');
    assert.equal(await exists(pool, 'audit_trail_p199004'), true, 'inside retention: kept');
  });
});
