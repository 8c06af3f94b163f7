// The audit trail's storage and integrity (issue 11; docs/adr/0013-audit-trail-storage.md):
// appending through the tenant transaction, append-only for the app role and the owner,
// sealing into a chain of Merkle-rooted batches, verification that catches and locates each
// kind of tampering done as the database owner, tenant isolation, partitions made on demand
// and rows at a month with no partition yet, archival of a month.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type pg from 'pg';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import { canonicalInstant, rowHash } from '../../src/audit/chain/row-hash.js';
import type { NewAuditRow } from '../../src/storage/audit-store.js';
import { archiveAuditPartition, dropArchivedAuditPartition } from '../../src/storage/pg/audit-archive.js';
import { verifyAuditArchive } from '../../src/storage/pg/audit-archive-verify.js';
import { ensureAuditPartitions } from '../../src/storage/pg/audit-partitions.js';
import { sealAuditTrail } from '../../src/storage/pg/audit-seal.js';
import { PgAuditStore } from '../../src/storage/pg/audit-store.js';
import { verifyAuditTrail } from '../../src/storage/pg/audit-verify.js';
import { beginStatement, inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

const BASE = Date.parse('2026-11-10T08:00:00Z');

function events(tenantId: string, count: number, startMs = BASE, stepMs = 1000): NewAuditRow[] {
  return Array.from({ length: count }, (_, i) => {
    const id = randomUUID();
    return {
      tenantId,
      id,
      recorded: new Date(startMs + i * stepMs),
      content: JSON.stringify({ resourceType: 'AuditEvent', id, recorded: new Date(startMs + i * stepMs).toISOString() }),
      sp: { type: [{ code: 'rest' }] },
      patients: i % 3 === 0 ? [] : [`Patient/p${i % 3}`],
    };
  });
}

async function append(pool: pg.Pool, tenantId: string, rows: NewAuditRow[]): Promise<void> {
  await inTenantTransaction(pool, tenantId, (client) => new PgAuditStore(client, tenantId, auditHasher).appendAuditEvents(rows));
}

/** Runs `sql` as the database owner with triggers off (session_replication_role = replica). */
async function asOwnerBypassingTriggers(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    const result = await client.query(sql, params);
    await client.query('COMMIT');
    return result.rowCount ?? 0;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

const NOW = new Date(BASE + 86_400_000);

describe('audit trail storage and integrity (integration)', function () {
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });

  describe('appending and reading', () => {
    it('appends many events in one statement and reads them back by id', async () => {
      const tenant = await newTenant(pool);
      const rows = events(tenant, 30);
      await append(pool, tenant, rows);
      await inTenantTransaction(pool, tenant, async (client) => {
        const store = new PgAuditStore(client, tenant, auditHasher);
        const one = await store.readAuditEvent(rows[4].id);
        assert.equal(one?.content, rows[4].content);
        assert.deepEqual(one?.patients, ['Patient/p1']);
      });
      const { rows: stored } = await pool.query('SELECT version_id, deleted, last_updated = recorded AS same, sp FROM audit_trail WHERE tenant_id = $1 LIMIT 1', [tenant]);
      assert.deepEqual(stored[0], { version_id: 1, deleted: false, same: true, sp: { type: [{ code: 'rest' }] } });
    });

    it('stores text exactly (quotes, backslashes, braces, NULL-like and non-ASCII text) so hashes recompute', async () => {
      const tenant = await newTenant(pool);
      const [row] = events(tenant, 1);
      const tricky = { ...row, content: JSON.stringify({ resourceType: 'AuditEvent', note: 'a "q" \\ {x,y} NULL\nü 𝄞' }), patients: ['Patient/a,b', 'Patient/"c"', 'NULL'] };
      const empty = { ...events(tenant, 1, BASE + 5000)[0], sp: null, patients: [] };
      await append(pool, tenant, [tricky, empty]);
      await inTenantTransaction(pool, tenant, async (client) => {
        const store = new PgAuditStore(client, tenant, auditHasher);
        const back = await store.readAuditEvent(tricky.id);
        assert.equal(back?.content, tricky.content);
        assert.deepEqual(back?.patients, tricky.patients);
        assert.deepEqual((await store.readAuditEvent(empty.id))?.patients, []);
      });
      await sealAuditTrail(pool, auditHasher, tenant, { now: NOW });
      assert.deepEqual(await verifyAuditTrail(pool, auditHasher, { tenantId: tenant }), { intact: true, sealed: 2, pending: 0, seals: 1, archivedSeals: 0 });
    });

    it('refuses rows of another tenant than the transaction, in the store and under RLS', async () => {
      const tenant = await newTenant(pool);
      const other = await newTenant(pool);
      await assert.rejects(append(pool, tenant, events(other, 1)), /tenant/);
      await assert.rejects(
        inTenantTransaction(pool, tenant, (client) =>
          client.query(`INSERT INTO audit_trail (tenant_id, id, last_updated, content, recorded, hash) VALUES ($1, 'x', now(), '{}', now(), $2)`, [other, Buffer.alloc(32)]),
        ),
        /row-level security/,
      );
    });

    it("a tenant sees none of another tenant's events or seals", async () => {
      const a = await newTenant(pool);
      const b = await newTenant(pool);
      await append(pool, b, events(b, 5));
      await sealAuditTrail(pool, auditHasher, b, { now: NOW });
      const counts = await inTenantTransaction(pool, a, async (client) => {
        const rows = await client.query('SELECT count(*)::int AS n FROM audit_trail');
        const seals = await client.query('SELECT count(*)::int AS n FROM audit_seal');
        return [rows.rows[0].n, seals.rows[0].n];
      });
      assert.deepEqual(counts, [0, 0]);
    });
  });

  describe('append-only', () => {
    it('the app role may not UPDATE or DELETE events or seals (no privilege)', async () => {
      const tenant = await newTenant(pool);
      await append(pool, tenant, events(tenant, 2));
      await sealAuditTrail(pool, auditHasher, tenant, { now: NOW });
      for (const sql of [
        `UPDATE audit_trail SET content = '{}'`,
        'DELETE FROM audit_trail',
        'UPDATE audit_seal SET row_count = 1',
        'DELETE FROM audit_seal',
        'TRUNCATE audit_trail',
        'DELETE FROM audit_archive',
      ]) {
        await assert.rejects(inTenantTransaction(pool, tenant, (client) => client.query(sql)), /permission denied/, sql);
      }
    });

    it('the owner is refused UPDATE and DELETE by the trigger, on every partition', async () => {
      const tenant = await newTenant(pool);
      await append(pool, tenant, [...events(tenant, 2), ...events(tenant, 1, Date.parse('2027-01-15T00:00:00Z'))]);
      await sealAuditTrail(pool, auditHasher, tenant, { now: new Date('2027-02-01T00:00:00Z') });
      for (const sql of [
        `UPDATE audit_trail SET content = '{}' WHERE tenant_id = $1`,
        'DELETE FROM audit_trail WHERE tenant_id = $1',
        `DELETE FROM audit_trail WHERE tenant_id = $1 AND recorded >= '2027-01-01'`,
        'UPDATE audit_seal SET row_count = 1 WHERE tenant_id = $1',
        'DELETE FROM audit_seal WHERE tenant_id = $1',
      ]) {
        await assert.rejects(pool.query(sql, [tenant]), /append-only/, sql);
      }
      assert.equal((await pool.query('SELECT count(*)::int AS n FROM audit_trail WHERE tenant_id = $1', [tenant])).rows[0].n, 3);
    });
  });

  describe('sealing and verifying', () => {
    it('seals in batches of at most maxRows, leaves the safety margin unsealed, and verifies intact', async () => {
      const tenant = await newTenant(pool);
      await append(pool, tenant, events(tenant, 25));
      const now = new Date(BASE + 30_000); // rows at BASE + 0..24 s; margin 10 s seals the first 21 (0..20 s)
      const result = await sealAuditTrail(pool, auditHasher, tenant, { now, marginMs: 10_000, maxRows: 10 });
      assert.deepEqual(result, { seals: 3, rows: 21 });
      assert.deepEqual(await verifyAuditTrail(pool, auditHasher, { tenantId: tenant }), { intact: true, sealed: 21, pending: 4, seals: 3, archivedSeals: 0 });
      assert.deepEqual(await sealAuditTrail(pool, auditHasher, tenant, { now: NOW }), { seals: 1, rows: 4 });
      assert.deepEqual(await sealAuditTrail(pool, auditHasher, tenant, { now: NOW }), { seals: 0, rows: 0 });
      assert.deepEqual(await verifyAuditTrail(pool, auditHasher, { tenantId: tenant }), { intact: true, sealed: 25, pending: 0, seals: 4, archivedSeals: 0 });
      assert.deepEqual(await verifyAuditTrail(pool, auditHasher, { tenantId: tenant, pageSize: 3 }), { intact: true, sealed: 25, pending: 0, seals: 4, archivedSeals: 0 });
      const since = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant, since: new Date(BASE + 22_000) });
      assert.deepEqual(since, { intact: true, sealed: 4, pending: 0, seals: 1, archivedSeals: 0 }); // seal 4 holds 21..24 s
    });

    it('a row committed after a seal passed its recorded time is reported; the margin keeps the sealer behind in-flight rows', async () => {
      const tenant = await newTenant(pool);
      const clock = Date.now();
      await append(pool, tenant, events(tenant, 3, clock - 30_000));
      const late = events(tenant, 1, clock - 20_000)[0];
      const client = await pool.connect();
      try {
        // A request's transaction: its row is written but not committed while the sealer runs.
        await client.query(beginStatement(tenant));
        await new PgAuditStore(client, tenant, auditHasher).appendAuditEvents([late]);
        await append(pool, tenant, events(tenant, 2, clock - 10_000));
        // With the default 60 s margin nothing recorded in the last minute is sealed.
        assert.deepEqual(await sealAuditTrail(pool, auditHasher, tenant, { now: new Date(clock) }), { seals: 0, rows: 0 });
        // Without a margin the sealer passes the in-flight row...
        assert.deepEqual(await sealAuditTrail(pool, auditHasher, tenant, { now: new Date(clock), marginMs: 0 }), { seals: 1, rows: 5 });
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      // ...which verify then reports, located.
      const result = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
      assert.equal(!result.intact && result.firstBreak.sealSeq, 1, JSON.stringify(result));
    });

    it('never lets a seal span two months', async () => {
      const tenant = await newTenant(pool);
      await append(pool, tenant, events(tenant, 6, Date.parse('2026-11-30T23:59:57Z')));
      assert.deepEqual(await sealAuditTrail(pool, auditHasher, tenant, { now: new Date('2026-12-02T00:00:00Z') }), { seals: 2, rows: 6 });
      const { rows } = await pool.query(
        `SELECT seq::int AS seq, row_count, to_char(first_recorded AT TIME ZONE 'UTC', 'YYYY-MM') AS first_month, to_char(last_recorded AT TIME ZONE 'UTC', 'YYYY-MM') AS last_month FROM audit_seal WHERE tenant_id = $1 ORDER BY seq`,
        [tenant],
      );
      assert.deepEqual(rows, [
        { seq: 1, row_count: 3, first_month: '2026-11', last_month: '2026-11' },
        { seq: 2, row_count: 3, first_month: '2026-12', last_month: '2026-12' },
      ]);
    });

    it('concurrent sealers do not fork the chain: contiguous seqs, every row sealed once', async () => {
      const tenant = await newTenant(pool);
      await append(pool, tenant, events(tenant, 200));
      const results = await Promise.all([1, 2, 3, 4].map(() => sealAuditTrail(pool, auditHasher, tenant, { now: NOW, maxRows: 7 })));
      assert.equal(results.reduce((n, r) => n + r.rows, 0), 200);
      const seals = results.reduce((n, r) => n + r.seals, 0);
      assert.equal(seals, Math.ceil(200 / 7));
      assert.deepEqual(await verifyAuditTrail(pool, auditHasher, { tenantId: tenant }), { intact: true, sealed: 200, pending: 0, seals, archivedSeals: 0 });
    });

    it('verifies every tenant when none is named: a break in any of them is reported', async () => {
      const tenant = await newTenant(pool);
      const rows = events(tenant, 3);
      await append(pool, tenant, rows);
      await sealAuditTrail(pool, auditHasher, tenant, { now: NOW });
      await asOwnerBypassingTriggers(pool, 'DELETE FROM audit_trail WHERE tenant_id = $1 AND id = $2', [tenant, rows[1].id]);
      const result = await verifyAuditTrail(pool, auditHasher);
      assert.equal(result.intact, false, JSON.stringify(result));
    });
  });

  describe('tampering as the database owner is caught and located', () => {
    let tenant: string;
    let rows: NewAuditRow[];
    beforeEach(async () => {
      tenant = await newTenant(pool);
      rows = events(tenant, 30);
      await append(pool, tenant, rows);
      await sealAuditTrail(pool, auditHasher, tenant, { now: NOW, maxRows: 10 });
      assert.equal((await verifyAuditTrail(pool, auditHasher, { tenantId: tenant })).intact, true);
    });

    it('a row altered', async () => {
      await asOwnerBypassingTriggers(pool, `UPDATE audit_trail SET content = '{"resourceType":"AuditEvent"}' WHERE tenant_id = $1 AND id = $2`, [tenant, rows[14].id]);
      const result = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
      assert.deepEqual(result, { intact: false, firstBreak: { tenantId: tenant, recordId: rows[14].id, reason: `row ${rows[14].id} was altered: its hash does not recompute` } });
    });

    it('a row altered with its hash recomputed', async () => {
      const row = rows[14];
      const patients = ['Patient/someone-else'];
      const hash = rowHash({ tenantId: tenant, id: row.id, recorded: canonicalInstant(row.recorded), content: row.content, patients });
      await asOwnerBypassingTriggers(pool, 'UPDATE audit_trail SET patients = $3, hash = $4 WHERE tenant_id = $1 AND id = $2', [tenant, row.id, patients, hash]);
      const result = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
      assert.equal(result.intact, false);
      assert.equal(!result.intact && result.firstBreak.sealSeq, 2);
      assert.match(!result.intact ? result.firstBreak.reason : '', /Merkle root/);
    });

    it('a row deleted', async () => {
      await asOwnerBypassingTriggers(pool, 'DELETE FROM audit_trail WHERE tenant_id = $1 AND id = $2', [tenant, rows[25].id]);
      const result = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
      assert.deepEqual(result, {
        intact: false,
        firstBreak: { tenantId: tenant, sealSeq: 3, reason: 'seal 3 covers 10 rows but 9 are in its range (rows deleted or inserted)' },
      });
    });

    it('the last row of a seal deleted', async () => {
      await asOwnerBypassingTriggers(pool, 'DELETE FROM audit_trail WHERE tenant_id = $1 AND id = $2', [tenant, rows[29].id]);
      const result = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
      assert.equal(!result.intact && result.firstBreak.sealSeq, 3);
    });

    it('a forged row (with a valid hash) inserted inside a sealed batch', async () => {
      const forged = events(tenant, 1, BASE + 5_500)[0];
      await append(pool, tenant, [forged]); // as the app role: the INSERT itself is allowed
      const result = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
      assert.deepEqual(result, {
        intact: false,
        firstBreak: { tenantId: tenant, sealSeq: 1, reason: 'seal 1 covers 10 rows but 11 are in its range (rows deleted or inserted)' },
      });
    });

    it('a forged row inserted between two seals, and one before the first', async () => {
      // Seal 1 ends at BASE + 9 s, seal 2 starts at BASE + 10 s.
      const between = events(tenant, 1, BASE + 9_500)[0];
      await append(pool, tenant, [between]);
      const result = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
      assert.deepEqual(result, {
        intact: false,
        firstBreak: { tenantId: tenant, recordId: between.id, reason: `row ${between.id} lies inside the sealed range but belongs to no seal (inserted after sealing)` },
      });
      const other = await newTenant(pool);
      await append(pool, other, events(other, 3, BASE));
      await sealAuditTrail(pool, auditHasher, other, { now: NOW });
      const before = events(other, 1, BASE - 1000)[0];
      await append(pool, other, [before]);
      const second = await verifyAuditTrail(pool, auditHasher, { tenantId: other });
      assert.equal(!second.intact && second.firstBreak.recordId, before.id);
    });

    it('two rows reordered (recorded times swapped)', async () => {
      await asOwnerBypassingTriggers(
        pool,
        'UPDATE audit_trail t SET recorded = s.recorded, last_updated = s.recorded FROM (VALUES ($2::text, $5::timestamptz), ($3::text, $4::timestamptz)) AS s(id, recorded) WHERE t.tenant_id = $1 AND t.id = s.id',
        [tenant, rows[3].id, rows[6].id, rows[3].recorded, rows[6].recorded],
      );
      const result = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
      assert.equal(result.intact, false);
      assert.ok(!result.intact && [rows[3].id, rows[6].id].includes(result.firstBreak.recordId ?? ''), JSON.stringify(result));
    });

    it('two rows reordered with their hashes recomputed', async () => {
      for (const [row, other] of [
        [rows[3], rows[6]],
        [rows[6], rows[3]],
      ]) {
        const hash = rowHash({ tenantId: tenant, id: row.id, recorded: canonicalInstant(other.recorded), content: row.content, patients: row.patients });
        await asOwnerBypassingTriggers(pool, 'UPDATE audit_trail SET recorded = $3, last_updated = $3, hash = $4 WHERE tenant_id = $1 AND id = $2', [tenant, row.id, other.recorded, hash]);
      }
      const result = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
      assert.deepEqual(result, { intact: false, firstBreak: { tenantId: tenant, sealSeq: 1, reason: 'seal 1: the Merkle root of its rows differs (rows altered or reordered)' } });
    });

    it('a seal altered', async () => {
      await asOwnerBypassingTriggers(pool, 'UPDATE audit_seal SET row_count = 9 WHERE tenant_id = $1 AND seq = 2', [tenant]);
      assert.deepEqual(await verifyAuditTrail(pool, auditHasher, { tenantId: tenant }), {
        intact: false,
        firstBreak: { tenantId: tenant, sealSeq: 2, reason: 'seal 2 was altered: its hash does not recompute' },
      });
    });

    it('a seal deleted, and a seal replaced by a rehashed one', async () => {
      await asOwnerBypassingTriggers(pool, 'DELETE FROM audit_seal WHERE tenant_id = $1 AND seq = 2', [tenant]);
      const result = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
      assert.equal(!result.intact && result.firstBreak.sealSeq, 2);
      assert.match(!result.intact ? result.firstBreak.reason : '', /missing/);
      await asOwnerBypassingTriggers(pool, 'UPDATE audit_seal SET seq = 2 WHERE tenant_id = $1 AND seq = 3', [tenant]);
      const renumbered = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
      assert.equal(!renumbered.intact && renumbered.firstBreak.sealSeq, 2);
    });

    it("another tenant's verify is not affected by this tenant's break", async () => {
      await asOwnerBypassingTriggers(pool, 'DELETE FROM audit_trail WHERE tenant_id = $1 AND id = $2', [tenant, rows[0].id]);
      const other = await newTenant(pool);
      await append(pool, other, events(other, 4));
      await sealAuditTrail(pool, auditHasher, other, { now: NOW });
      assert.deepEqual(await verifyAuditTrail(pool, auditHasher, { tenantId: other }), { intact: true, sealed: 4, pending: 0, seals: 1, archivedSeals: 0 });
      assert.equal((await verifyAuditTrail(pool, auditHasher, { tenantId: tenant })).intact, false);
    });
  });

  describe('partitions', () => {
    it('an insert into a month with no partition yet succeeds (default partition); making the partition moves it there', async () => {
      const tenant = await newTenant(pool);
      const year = 2100 + Math.floor(Math.random() * 800);
      const month = `${year}-05`;
      const clock = Date.parse(`${month}-31T23:59:59.999Z`);
      const rows = events(tenant, 3, clock - 1, 1); // the last millisecond of May and the first of June
      await append(pool, tenant, rows);
      const where = async () =>
        (await pool.query(`SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM audit_trail WHERE tenant_id = $1 GROUP BY 1 ORDER BY 1`, [tenant])).rows;
      assert.deepEqual(await where(), [{ part: 'audit_trail_p_default', n: 3 }]);
      const created = await ensureAuditPartitions(pool, new Date(clock), 1);
      assert.deepEqual(created, [`audit_trail_p${year}05`, `audit_trail_p${year}06`]);
      assert.deepEqual(await where(), [
        { part: `audit_trail_p${year}05`, n: 2 },
        { part: `audit_trail_p${year}06`, n: 1 },
      ]);
      assert.deepEqual(await ensureAuditPartitions(pool, new Date(clock), 1), []);
      const { rows: flags } = await pool.query(`SELECT relname, relrowsecurity FROM pg_class WHERE relname IN ($1, $2, 'audit_trail_p_default') ORDER BY relname`, [
        `audit_trail_p${year}05`,
        `audit_trail_p${year}06`,
      ]);
      assert.ok(flags.length === 3 && flags.every((f) => f.relrowsecurity), JSON.stringify(flags));
      await assert.rejects(pool.query('DELETE FROM audit_trail WHERE tenant_id = $1', [tenant]), /append-only/);
      await sealAuditTrail(pool, auditHasher, tenant, { now: new Date(clock + 86_400_000) });
      assert.deepEqual(await verifyAuditTrail(pool, auditHasher, { tenantId: tenant }), { intact: true, sealed: 3, pending: 0, seals: 2, archivedSeals: 0 });
      for (const m of ['05', '06']) await pool.query(`ALTER TABLE audit_trail DETACH PARTITION audit_trail_p${year}${m}`);
      for (const m of ['05', '06']) await pool.query(`DROP TABLE audit_trail_p${year}${m}`);
    });

    it('migrating made the current month and three ahead', async () => {
      const { rows } = await pool.query(`SELECT to_regclass('audit_trail_p' || to_char(now() AT TIME ZONE 'UTC' + interval '3 months', 'YYYYMM')) IS NOT NULL AS ok`);
      assert.equal(rows[0].ok, true);
    });
  });

  describe('archive', () => {
    it('writes a month to NDJSON.gz with a manifest, detaches it, and verify counts its seals as archived', async () => {
      const tenant = await newTenant(pool);
      const year = 1200 + Math.floor(Math.random() * 700);
      const month = `${year}-03`;
      await ensureAuditPartitions(pool, new Date(`${month}-01T00:00:00Z`), 1);
      const march = events(tenant, 12, Date.parse(`${month}-10T00:00:00Z`));
      const april = events(tenant, 3, Date.parse(`${year}-04-10T00:00:00Z`));
      await append(pool, tenant, [...march, ...april]);
      await sealAuditTrail(pool, auditHasher, tenant, { now: new Date(`${year}-03-20T00:00:00Z`), maxRows: 5 });
      const dir = await mkdtemp(join(tmpdir(), 'hearth-audit-'));
      try {
        const manifest = await archiveAuditPartition(pool, auditHasher, month, dir, new Date(`${year}-05-01T00:00:00Z`));
        assert.equal(manifest.rows, 12);
        assert.deepEqual(manifest.tenants.map((t) => [t.tenantId, t.rows, t.firstSeq, t.lastSeq]), [[tenant, 12, 1, 3]]);
        const bytes = await readFile(join(dir, manifest.file));
        assert.equal(createHash('sha256').update(bytes).digest('hex'), manifest.fileSha256);
        const lines = gunzipSync(bytes).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
        assert.deepEqual(lines.map((l) => l.id), march.map((r) => r.id));
        for (const l of lines) assert.equal(rowHash(l).toString('hex'), l.hash);
        assert.deepEqual(JSON.parse(await readFile(join(dir, `audit-${month}.manifest.json`), 'utf8')), manifest);
        const attached = await pool.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhrelid = to_regclass($1)`, [`audit_trail_p${year}03`]);
        assert.equal(attached.rows[0].n, 0);
        // Detached, the table keeps RLS and gets the tenant policy (the tenancy rules of rls-rules.test.ts).
        const guarded = await pool.query(
          `SELECT c.relrowsecurity AS rls, (SELECT count(*)::int FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = 'tenant_isolation') AS policies FROM pg_class c WHERE c.relname = $1`,
          [`audit_trail_p${year}03`],
        );
        assert.deepEqual(guarded.rows, [{ rls: true, policies: 1 }]);
        // The April rows were sealed by the archive run (its clock is May): the chain continues.
        assert.deepEqual(await verifyAuditTrail(pool, auditHasher, { tenantId: tenant }), { intact: true, sealed: 3, pending: 0, seals: 1, archivedSeals: 3 });
        const archived = join(dir, manifest.file);
        assert.deepEqual(await verifyAuditArchive(pool, auditHasher, archived), { intact: true, month, rows: 12, sealed: 12, pending: 0, seals: 3 });
        // A file with one row dropped: its sha256 is unknown; recorded as the owner, the seal breaks.
        const forged = join(dir, 'forged.ndjson.gz');
        const kept = gunzipSync(bytes).toString('utf8').trim().split('\n').filter((_, i) => i !== 6);
        await writeFile(forged, gzipSync(`${kept.join('\n')}\n`));
        const unknown = await verifyAuditArchive(pool, auditHasher, forged);
        assert.equal(unknown.intact, false);
        assert.match(!unknown.intact ? unknown.reason : '', /no archived month has a file/);
        const forgedSha = createHash('sha256').update(await readFile(forged)).digest('hex');
        await asOwnerBypassingTriggers(pool, 'UPDATE audit_archive SET file_sha256 = $2, row_count = 11 WHERE tenant_id = $1', [tenant, forgedSha]);
        assert.deepEqual(await verifyAuditArchive(pool, auditHasher, forged), {
          intact: false,
          tenantId: tenant,
          sealSeq: 2,
          reason: 'seal 2 covers 5 rows but 4 are in its range (rows deleted or inserted)',
        });
        await assert.rejects(archiveAuditPartition(pool, auditHasher, month, dir, new Date(`${year}-05-01T00:00:00Z`)), /No attached/);
        await assert.rejects(archiveAuditPartition(pool, auditHasher, `${year}-04`, dir, new Date(`${year}-04-20T00:00:00Z`)), /not over/);
        assert.equal(await dropArchivedAuditPartition(pool, month), true);
        assert.equal(await dropArchivedAuditPartition(pool, `${year}-04`), false, 'an attached month is not dropped');
        await pool.query(`ALTER TABLE audit_trail DETACH PARTITION audit_trail_p${year}04`);
        await pool.query(`DROP TABLE audit_trail_p${year}04`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
