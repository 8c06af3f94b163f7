// Verification of the audit trail (issue 11 "Integrity"; docs/adr/0013-audit-trail-storage.md):
// per tenant, inside its READ ONLY transaction as the app role (so a tenant's verify sees only its
// rows and seals), checks that the seals form an unbroken chain (seq 1, 2, …; each
// prev_seal_hash is the previous seal_hash; each seal_hash recomputes), then walks the rows in
// (recorded, id) order through a cursor, page by page (never the whole trail in memory) and checks that every
// row's stored hash recomputes from its columns, that every row inside the sealed ranges belongs
// to a seal, and that each seal's rows are as many as sealed with the same Merkle root. Seals of
// archived months (audit_archive) are counted as covered by the archive's manifest; their rows
// are no longer in the table. The first break is reported with the seal seq or the row id.
import type pg from 'pg';
import { canonicalInstant, type AuditHasher } from '../audit-store.js';
import { auditTenants } from './audit-seal.js';
import { BEFORE_ALL, recordedText } from './audit-sql.js';
import { Broken, SEALS, SealWalker, type SealRow, type WalkedRow } from './audit-walk.js';
import { inTenantTransaction } from './tenant-session.js';

export interface AuditBreak {
  tenantId: string;
  /** The seal where the break was found (chain or batch check). */
  sealSeq?: number;
  /** The row where the break was found (hash or placement check). */
  recordId?: string;
  reason: string;
}

export type VerifyResult =
  | { intact: true; sealed: number; pending: number; seals: number; archivedSeals: number }
  | { intact: false; firstBreak: AuditBreak };

export interface VerifyOptions {
  /** One tenant; default every tenant. */
  tenantId?: string;
  /** Check rows of seals ending at or after this instant (the seal chain is always checked whole). */
  since?: Date;
  /** Rows per page read (default 5,000). */
  pageSize?: number;
}

const ARCHIVED = `SELECT to_char(month, 'YYYY-MM') AS month FROM audit_archive WHERE tenant_id = $1`;
// One cursor over the tenant's rows in (recorded, id) order, fetched in pages: a single plan
// (a cursor is planned for fast start, so it walks the primary key in order even when the
// statistics do not know the rows yet). ORDER BY names t's columns: the output `recorded` is text.
const DECLARE =
  `DECLARE audit_rows NO SCROLL CURSOR FOR SELECT id, ${recordedText('recorded')} AS recorded, content, patients, hash FROM audit_trail t ` +
  'WHERE tenant_id = $1 AND (recorded, id) >= ($2::timestamptz, $3::text) ORDER BY t.recorded, t.id';

function checkChain(hasher: AuditHasher, seals: SealRow[], tenantId: string): void {
  let prev: Buffer = hasher.genesisSealHash;
  seals.forEach((seal, index) => {
    const seq = Number(seal.seq);
    if (seq !== index + 1) throw new Broken({ sealSeq: index + 1, reason: `seal ${index + 1} is missing (found seq ${seq} next)` });
    if (!seal.prev_seal_hash.equals(prev)) throw new Broken({ sealSeq: seq, reason: `seal ${seq} does not link to the previous seal's hash` });
    const recomputed = hasher.sealHash({
      tenantId,
      seq,
      firstRecorded: seal.first_recorded,
      firstId: seal.first_id,
      lastRecorded: seal.last_recorded,
      lastId: seal.last_id,
      rowCount: seal.row_count,
      merkleRoot: seal.merkle_root,
      prevSealHash: seal.prev_seal_hash,
    });
    if (!recomputed.equals(seal.seal_hash)) throw new Broken({ sealSeq: seq, reason: `seal ${seq} was altered: its hash does not recompute` });
    prev = seal.seal_hash;
  });
}

async function verifyTenant(client: pg.ClientBase, hasher: AuditHasher, tenantId: string, options: VerifyOptions) {
  const seals = (await client.query<SealRow>(SEALS, [tenantId])).rows;
  checkChain(hasher, seals, tenantId);
  const archivedMonths = new Set((await client.query<{ month: string }>(ARCHIVED, [tenantId])).rows.map((r) => r.month));
  const since = options.since ? canonicalInstant(options.since) : undefined;
  const archivedSeals = seals.filter((s) => archivedMonths.has(s.first_recorded.slice(0, 7))).length;
  const toCheck = seals.filter((s) => !archivedMonths.has(s.first_recorded.slice(0, 7)) && (since === undefined || s.last_recorded >= since));
  let start = BEFORE_ALL;
  if (toCheck.length > 0 && since !== undefined) start = { recorded: toCheck[0].first_recorded, id: toCheck[0].first_id };
  else if (since !== undefined) start = { recorded: since, id: '' };

  const walker = new SealWalker(hasher, tenantId, toCheck);
  const pageSize = Math.max(1, Math.trunc(options.pageSize ?? 5000));
  await client.query(DECLARE, [tenantId, start.recorded, start.id]);
  for (;;) {
    const rows = (await client.query<WalkedRow>(`FETCH ${pageSize} FROM audit_rows`)).rows;
    for (const row of rows) walker.add(row);
    if (rows.length < pageSize) break;
  }
  await client.query('CLOSE audit_rows');
  walker.finish();
  return { sealed: walker.sealed, pending: walker.pending, seals: toCheck.length, archivedSeals };
}

/** Verifies the trail of one tenant or of all; the first break found, or the counts checked. */
export async function verifyAuditTrail(pool: pg.Pool, hasher: AuditHasher, options: VerifyOptions = {}): Promise<VerifyResult> {
  const tenants = options.tenantId ? [options.tenantId] : await auditTenants(pool);
  const total = { sealed: 0, pending: 0, seals: 0, archivedSeals: 0 };
  for (const tenantId of tenants) {
    try {
      const counts = await inTenantTransaction(pool, tenantId, (client) => verifyTenant(client, hasher, tenantId, options), { readOnly: true });
      total.sealed += counts.sealed;
      total.pending += counts.pending;
      total.seals += counts.seals;
      total.archivedSeals += counts.archivedSeals;
    } catch (error) {
      if (error instanceof Broken) return { intact: false, firstBreak: { tenantId, ...error.detail } };
      throw error;
    }
  }
  return { intact: true, ...total };
}
