// Verification of an audit archive file (docs/adr/0013-audit-trail-storage.md "Archive"): the
// file's sha256 must be one that audit_archive recorded when the month was detached; its lines
// (streamed through gunzip, one at a time) must re-hash to their hashes and match, tenant by
// tenant, the seals of that month exactly as verify matches the table's rows (audit-walk.ts);
// each tenant's line count must be the manifest's. Owner-role maintenance: reads every tenant's
// seals of the month.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type pg from 'pg';
import type { AuditHasher } from '../audit-store.js';
import { Broken, SEALS, SealWalker, type SealRow } from './audit-walk.js';

export type ArchiveVerifyResult =
  | { intact: true; month: string; rows: number; sealed: number; pending: number; seals: number }
  | { intact: false; tenantId?: string; sealSeq?: number; recordId?: string; reason: string };

interface ArchiveRow {
  tenant_id: string;
  month: string;
  row_count: number;
}

interface Line {
  tenantId: string;
  id: string;
  recorded: string;
  content: string;
  patients: string[];
  hash: string;
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function verifyAuditArchive(pool: pg.Pool, hasher: AuditHasher, path: string): Promise<ArchiveVerifyResult> {
  const sha256 = await fileSha256(path);
  const manifest = (
    await pool.query<ArchiveRow>(`SELECT tenant_id, to_char(month, 'YYYY-MM') AS month, row_count::int AS row_count FROM audit_archive WHERE file_sha256 = $1`, [sha256])
  ).rows;
  if (manifest.length === 0) return { intact: false, reason: `no archived month has a file with sha256 ${sha256} (file altered or unknown)` };
  const month = manifest[0].month;
  const expected = new Map(manifest.map((m) => [m.tenant_id, m.row_count]));
  const sealsOf = async (tenantId: string): Promise<SealRow[]> =>
    (await pool.query<SealRow>(SEALS, [tenantId])).rows.filter((s) => s.first_recorded.slice(0, 7) === month);

  let walker: SealWalker | undefined;
  let tenant: string | undefined;
  let rows = 0;
  let tenantRows = 0;
  const total = { sealed: 0, pending: 0, seals: 0 };
  const done = new Set<string>();
  const finishTenant = () => {
    if (!walker || tenant === undefined) return;
    walker.finish();
    if (tenantRows !== expected.get(tenant)) throw Object.assign(new Broken({ reason: `the archive holds ${tenantRows} rows of the tenant, its manifest ${expected.get(tenant)}` }), { tenant });
    total.sealed += walker.sealed;
    total.pending += walker.pending;
    done.add(tenant);
  };
  try {
    const lines = createInterface({ input: createReadStream(path).pipe(createGunzip()), crlfDelay: Infinity });
    for await (const text of lines) {
      if (text === '') continue;
      const line = JSON.parse(text) as Line;
      if (line.tenantId !== tenant) {
        finishTenant();
        if (done.has(line.tenantId) || !expected.has(line.tenantId)) throw Object.assign(new Broken({ recordId: line.id, reason: `row ${line.id}: tenant out of order or not in the manifest` }), { tenant: line.tenantId });
        tenant = line.tenantId;
        tenantRows = 0;
        const seals = await sealsOf(tenant);
        total.seals += seals.length;
        walker = new SealWalker(hasher, tenant, seals);
      }
      rows += 1;
      tenantRows += 1;
      try {
        walker!.add({ id: line.id, recorded: line.recorded, content: line.content, patients: line.patients, hash: Buffer.from(line.hash, 'hex') });
      } catch (error) {
        throw Object.assign(error as Error, { tenant });
      }
    }
    finishTenant();
    for (const t of expected.keys()) if (!done.has(t)) throw Object.assign(new Broken({ reason: 'the manifest names rows of this tenant the archive does not hold' }), { tenant: t });
  } catch (error) {
    if (error instanceof Broken) return { intact: false, tenantId: (error as Broken & { tenant?: string }).tenant ?? tenant, ...error.detail };
    throw error;
  }
  return { intact: true, month, rows, ...total };
}
