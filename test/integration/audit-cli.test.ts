// `hearth audit verify|seal|partitions|archive` (src/cli/audit-commands.ts) against the test
// database: what they print, and that verify fails on a broken trail.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import { AUDIT_USAGE, auditCommand } from '../../src/cli/audit-commands.js';
import { PgAuditStore } from '../../src/storage/pg/audit-store.js';
import type { Database } from '../../src/storage/pg/database.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

describe('hearth audit (integration)', function () {
  let database: Database;
  const run = async (args: string[]) => {
    const lines: string[] = [];
    await auditCommand(database, args, (l) => lines.push(l));
    return lines;
  };
  const append = async (tenant: string, times: string[]) => {
    const rows = times.map((t) => ({ tenantId: tenant, id: randomUUID(), recorded: new Date(t), content: '{"resourceType":"AuditEvent"}', sp: null, patients: [] }));
    await inTenantTransaction(database.pool, tenant, (c) => new PgAuditStore(c, tenant, auditHasher).appendAuditEvents(rows));
    return rows;
  };

  before(async function () {
    await requireServices(this);
    database = { pool: await testPool(), mode: 'postgres', close: async () => undefined };
  });

  it('seal then verify --tenant prints the counts; a tampered trail makes verify fail naming the break', async () => {
    const tenant = await newTenant(database.pool);
    const rows = await append(tenant, ['2026-11-01T00:00:00Z', '2026-11-01T00:00:01Z', '2026-11-01T00:00:02Z']);
    assert.deepEqual(await run(['seal', '--tenant', tenant]), ['sealed 3 events in 1 seals']);
    assert.deepEqual(await run(['seal', '--tenant', tenant]), ['sealed 0 events in 0 seals']);
    const [line] = await run(['verify', '--tenant', tenant]);
    assert.match(line, /^intact: 3 sealed events in 1 seals verified, 0 pending \(not sealed yet\), 0 seals of archived months \(\d+ events\/s\)$/);
    assert.match((await run(['verify', '--tenant', tenant, '--since', '2026-11-02']))[0], /^intact: 0 sealed events in 0 seals/);
    const client = await database.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query('DELETE FROM audit_trail WHERE tenant_id = $1 AND id = $2', [tenant, rows[1].id]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const lines: string[] = [];
    await assert.rejects(auditCommand(database, ['verify', '--tenant', tenant], (l) => lines.push(l)), /not intact/);
    assert.deepEqual(lines, [`BROKEN tenant ${tenant} at seal 1: seal 1 covers 3 rows but 2 are in its range (rows deleted or inserted)`]);
  });

  it('archive --before archives and, with --drop, drops the months before', async () => {
    const tenant = await newTenant(database.pool);
    const year = 1000 + Math.floor(Math.random() * 200);
    await database.pool.query('SELECT hearth_audit_ensure_partitions($1, 0)', [`${year}-02-01T00:00:00Z`]);
    await append(tenant, [`${year}-02-03T00:00:00Z`, `${year}-02-04T00:00:00Z`]);
    const dir = await mkdtemp(join(tmpdir(), 'hearth-audit-cli-'));
    try {
      const lines = await run(['archive', '--before', `${year}-03`, '--dir', dir, '--drop']);
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.match(lines[0], new RegExp(`^archived ${year}-02: 2 events to audit-${year}-02\\.ndjson\\.gz \\(sha256 [0-9a-f]{64}\\)$`));
      assert.equal(lines[1], `dropped audit_trail_p${year}02`);
      assert.deepEqual((await readdir(dir)).sort(), [`audit-${year}-02.manifest.json`, `audit-${year}-02.ndjson.gz`]);
      assert.deepEqual(await run(['verify', '--archive', join(dir, `audit-${year}-02.ndjson.gz`)]), [
        `intact: archive of ${year}-02, 2 events, 2 sealed in 1 seals, 0 not sealed when archived`,
      ]);
      const [verified] = await run(['verify', '--tenant', tenant]);
      assert.match(verified, /^intact: 0 sealed events in 0 seals verified, 0 pending \(not sealed yet\), 1 seals of archived months/);
      assert.deepEqual(await run(['archive', '--before', `${year}-03`, '--dir', dir]), [`no attached month before ${year}-03`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad arguments and unknown tenants', async () => {
    await assert.rejects(run(['verify', '--tenant', 'no-such-tenant']), /Unknown tenant/);
    await assert.rejects(run(['verify', '--since', 'yesterday-ish']), /--since/);
    await assert.rejects(run(['archive', '--before', '2026-13', '--dir', '/tmp']), /--before YYYY-MM/);
    await assert.rejects(run(['archive', '--before', '2026-01']), /--dir/);
    const lines: string[] = [];
    await assert.rejects(auditCommand(database, ['verify', '--archive', 'package.json'], (l) => lines.push(l)), /not intact/);
    assert.match(lines[0], /^BROKEN archive package\.json: no archived month has a file with sha256 [0-9a-f]{64}/);
    await assert.rejects(run(['frobnicate']), (e: Error) => e.message.includes(AUDIT_USAGE));
  });

  it('partitions creates the months ahead once', async () => {
    const first = await run(['partitions', '--months-ahead', '4']);
    assert.match(first[0], /^(created audit_trail_p\d{6}|all partitions exist)/);
    assert.deepEqual(await run(['partitions', '--months-ahead', '4']), ['all partitions exist']);
    await assert.rejects(run(['partitions', '--months-ahead', 'x']), /months-ahead/);
  });
});
