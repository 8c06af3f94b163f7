// The audit trail is analyzed as it doubles, other tables every `fraction`
// (src/storage/pg/table-maintenance.ts; issue 11's benchmark: on a young trail, analyzing it every
// 10% was a fifth of the database's CPU). A stub pool records the statements maintenance sends.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { TableMaintenance } from '../../src/storage/pg/table-maintenance.js';

/** A pool whose tables all hold `rows` rows after an analysis; records every ANALYZE. */
function stubPool(rows: number, analyzed: string[]): pg.Pool {
  const client = {
    query: async (text: string) => {
      if (text.startsWith('ANALYZE')) analyzed.push(text.slice('ANALYZE '.length));
      if (text.includes('pg_try_advisory_lock')) return { rows: [{ ok: true }] };
      if (text.includes('reltuples')) return { rows: [{ n: rows }] };
      return { rows: [] };
    },
    release: () => undefined,
  };
  return { connect: async () => client } as unknown as pg.Pool;
}

describe('table maintenance thresholds', () => {
  it('analyzes a resource table after minRows + 10% of it, the append-only audit trail only once it doubled', async () => {
    const analyzed: string[] = [];
    const maintenance = new TableMaintenance(stubPool(1000, analyzed), { minRows: 100, fraction: 0.1, quietMs: 0 });
    maintenance.recordWrites(new Map([['Patient', 1000], ['AuditEvent', 1000]]));
    await maintenance.idle();
    assert.deepEqual(analyzed, ['"patient"', '"audit_trail"'], 'both analyzed once past minRows');
    analyzed.length = 0;
    // 300 more rows: past 100 + 10% of 1000 for the patient table, short of 100 + 1000 for the trail.
    maintenance.recordWrites(new Map([['Patient', 300], ['AuditEvent', 300]]));
    await maintenance.idle();
    assert.deepEqual(analyzed, ['"patient"']);
    analyzed.length = 0;
    maintenance.recordWrites(new Map([['AuditEvent', 800]]));
    await maintenance.idle();
    assert.deepEqual(analyzed, ['"audit_trail"'], 'the trail once 1,100 rows more were written');
    await maintenance.close();
  });
});
