// Archival of one month of the audit trail (issue 11 "Storage and retention";
// docs/adr/0013-audit-trail-storage.md): seals what is left to seal; then, in ONE transaction as
// the owning role, locks the month's partition against inserts (SHARE), writes it to NDJSON.gz
// (one row per line: tenant, id, recorded, content, patients, hash; fetched from a cursor and
// piped through gzip with back-pressure, never the whole partition in memory), writes a manifest
// beside it (per tenant: rows, the seals covering the month and the last one's hash; the file's
// sha256), records the manifest in audit_archive and DETACHES the partition. The detached table
// stays in the database until retention drops it (`dropArchivedAuditPartition`).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type pg from 'pg';
import type { AuditHasher } from '../audit-store.js';
import { sealAuditTrail } from './audit-seal.js';
import { recordedText } from './audit-sql.js';
import { quoteIdent } from './audit-partitions.js';

export interface ArchiveTenantEntry {
  tenantId: string;
  rows: number;
  firstSeq: number | null;
  lastSeq: number | null;
  lastSealHash: string | null;
}

export interface ArchiveManifest {
  format: 'hearth-audit-archive-v1';
  month: string;
  partition: string;
  file: string;
  fileSha256: string;
  rows: number;
  tenants: ArchiveTenantEntry[];
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function partitionName(month: string): string {
  const m = MONTH.exec(month);
  if (!m) throw new Error(`Expected a month YYYY-MM, got ${JSON.stringify(month)}`);
  return `audit_trail_p${m[1]}${m[2]}`;
}

async function* lines(client: pg.ClientBase, partition: string, counts: Map<string, number>): AsyncGenerator<string> {
  await client.query(
    `DECLARE audit_archive_rows NO SCROLL CURSOR FOR SELECT tenant_id, id, ${recordedText('recorded')} AS recorded, content, patients, encode(hash, 'hex') AS hash ` +
      `FROM ${quoteIdent(partition)} t ORDER BY t.tenant_id, t.recorded, t.id`,
  );
  for (;;) {
    const { rows } = await client.query('FETCH 2000 FROM audit_archive_rows');
    if (rows.length === 0) break;
    let chunk = '';
    for (const r of rows) {
      counts.set(r.tenant_id, (counts.get(r.tenant_id) ?? 0) + 1);
      chunk += `${JSON.stringify({ tenantId: r.tenant_id, id: r.id, recorded: r.recorded, content: r.content, patients: r.patients, hash: r.hash })}\n`;
    }
    yield chunk;
  }
  await client.query('CLOSE audit_archive_rows');
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Archives the month `YYYY-MM` (which must be over) into `dir`; returns its manifest. */
export async function archiveAuditPartition(pool: pg.Pool, hasher: AuditHasher, month: string, dir: string, now: Date = new Date()): Promise<ArchiveManifest> {
  const partition = partitionName(month);
  const currentMonth = now.toISOString().slice(0, 7);
  if (month >= currentMonth) throw new Error(`Month ${month} is not over yet`);
  const exists = await pool.query<{ attached: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1) AND inhparent = 'audit_trail'::regclass) AS attached`,
    [partition],
  );
  if (!exists.rows[0].attached) throw new Error(`No attached audit partition for ${month}`);
  const tenants = (await pool.query<{ tenant_id: string }>(`SELECT DISTINCT tenant_id FROM ${quoteIdent(partition)}`)).rows.map((r) => r.tenant_id);
  for (const tenantId of tenants) await sealAuditTrail(pool, hasher, tenantId, { now });

  await mkdir(dir, { recursive: true });
  const file = `audit-${month}.ndjson.gz`;
  const path = join(dir, file);
  const counts = new Map<string, number>();
  // One transaction: the partition is locked against inserts (SHARE) before it is read, so the
  // file holds exactly the rows that are detached with it; other months' inserts go on.
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`LOCK TABLE ${quoteIdent(partition)} IN SHARE MODE`);
    await pipeline(Readable.from(lines(client, partition, counts)), createGzip(), createWriteStream(path));
    const sha256 = await fileSha256(path);
    const monthStart = `${month}-01T00:00:00Z`;
    const seals = await client.query<{ tenant_id: string; first_seq: string; last_seq: string; last_seal_hash: string }>(
      `SELECT s.tenant_id, min(s.seq) AS first_seq, max(s.seq) AS last_seq,
              (SELECT encode(x.seal_hash, 'hex') FROM audit_seal x WHERE x.tenant_id = s.tenant_id AND x.seq = max(s.seq)) AS last_seal_hash
       FROM audit_seal s WHERE s.first_recorded >= $1::timestamptz AND s.first_recorded < $1::timestamptz + interval '1 month' GROUP BY s.tenant_id`,
      [monthStart],
    );
    const sealsByTenant = new Map(seals.rows.map((r) => [r.tenant_id, r]));
    const entries: ArchiveTenantEntry[] = [...counts.keys()].sort().map((tenantId) => {
      const s = sealsByTenant.get(tenantId);
      return {
        tenantId,
        rows: counts.get(tenantId) ?? 0,
        firstSeq: s ? Number(s.first_seq) : null,
        lastSeq: s ? Number(s.last_seq) : null,
        lastSealHash: s ? s.last_seal_hash : null,
      };
    });
    const manifest: ArchiveManifest = {
      format: 'hearth-audit-archive-v1',
      month,
      partition,
      file,
      fileSha256: sha256,
      rows: [...counts.values()].reduce((a, b) => a + b, 0),
      tenants: entries,
    };
    for (const e of entries) {
      await client.query(
        `INSERT INTO audit_archive (tenant_id, month, row_count, first_seq, last_seq, last_seal_hash, file_name, file_sha256)
         VALUES ($1, $2::date, $3, $4, $5, decode($6, 'hex'), $7, $8)`,
        [e.tenantId, `${month}-01`, e.rows, e.firstSeq, e.lastSeq, e.lastSealHash, file, sha256],
      );
    }
    await client.query(`ALTER TABLE audit_trail DETACH PARTITION ${quoteIdent(partition)}`);
    // Standalone now: it keeps RLS and gets the tenant policy of its former parent (the app role
    // holds no privilege on it anyway), so it satisfies the tenancy rules until retention drops it.
    await client.query(
      `CREATE POLICY tenant_isolation ON ${quoteIdent(partition)} TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'))`,
    );
    await writeFile(join(dir, `audit-${month}.manifest.json`), `${JSON.stringify(manifest, null, 2)}\n`);
    await client.query('COMMIT');
    return manifest;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    await rm(path, { force: true });
    await rm(join(dir, `audit-${month}.manifest.json`), { force: true });
    throw error;
  } finally {
    client.release();
  }
}

/** Retention: drops the detached table of an archived month (its rows live on in the archive file). */
export async function dropArchivedAuditPartition(pool: pg.Pool, month: string): Promise<boolean> {
  const partition = partitionName(month);
  const { rows } = await pool.query<{ detached: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1)) AS detached`,
    [partition],
  );
  if (!rows[0].detached) return false;
  await pool.query(`DROP TABLE ${quoteIdent(partition)}`);
  return true;
}
