// The audit trail's sealer (issue 11 "Integrity"; docs/adr/0013-audit-trail-storage.md): per
// tenant, takes the rows after the last seal up to a horizon (now minus a safety margin, so
// rows of transactions still in flight are not skipped; and before the audit journal's oldest
// entry, whose events are not in the trail yet), in (recorded, id) order, at most one
// calendar month (UTC) and `maxRows` per seal, and appends an audit_seal row holding their
// Merkle root (RFC 6962 §2.1) chained to the previous seal. A per-tenant transaction-scoped
// advisory lock keeps two sealers from forking the chain; the (tenant_id, seq) primary key
// backs it. Runs as the app role in the tenant's transaction (INSERT/SELECT suffice).
import type pg from 'pg';
import type { AuditHasher } from '../audit-store.js';
import { BEFORE_ALL, recordedText } from './audit-sql.js';
import { OLDEST_JOURNAL_ENTRY } from './audit-store.js';
import { inTenantTransaction } from './tenant-session.js';

export interface SealOptions {
  /** The clock (tests move it); default the current time. */
  now?: Date;
  /** Only rows recorded at least this long before `now` are sealed (default 60 s). */
  marginMs?: number;
  /** Rows per seal at most (default 10,000). */
  maxRows?: number;
}

export interface SealResult {
  seals: number;
  rows: number;
}

const LOCK = `SELECT pg_advisory_xact_lock(hashtextextended('hearth-audit-seal:' || $1::text, 0))`;
const LAST_SEAL = `SELECT seq, ${recordedText('last_recorded')} AS last_recorded, last_id, seal_hash FROM audit_seal WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1`;
// A cursor is planned for fast start: it walks the primary key in order even when the statistics
// do not know the new rows yet (a LIMIT query then sorted every later row, for every seal).
// ORDER BY names t's columns: the output `recorded` is text.
const UNSEALED =
  `DECLARE audit_unsealed NO SCROLL CURSOR FOR SELECT id, ${recordedText('recorded')} AS recorded, content, patients FROM audit_trail t ` +
  'WHERE tenant_id = $1 AND (recorded, id) > ($2::timestamptz, $3::text) AND recorded <= $4 ORDER BY t.recorded, t.id';
const INSERT_SEAL =
  'INSERT INTO audit_seal (tenant_id, seq, first_recorded, first_id, last_recorded, last_id, row_count, merkle_root, prev_seal_hash, seal_hash) ' +
  'VALUES ($1, $2, $3::timestamptz, $4, $5::timestamptz, $6, $7, $8, $9, $10)';

interface UnsealedRow {
  id: string;
  recorded: string;
  content: string;
  patients: string[];
}

/** Appends one seal for `tenantId` if there are sealable rows; the number of rows sealed. */
async function sealOnce(client: pg.ClientBase, hasher: AuditHasher, tenantId: string, horizon: Date, maxRows: number): Promise<number> {
  await client.query(LOCK, [tenantId]);
  // The oldest entry still in the audit journal (ADR 0016): its events will be recorded at its
  // time, so nothing from that instant on may be sealed before it is expanded.
  const pending = (await client.query<{ recorded: Date | null }>(OLDEST_JOURNAL_ENTRY, [tenantId])).rows[0]?.recorded;
  if (pending && pending.getTime() <= horizon.getTime()) horizon = new Date(pending.getTime() - 1);
  const last = (await client.query<{ seq: string; last_recorded: string; last_id: string; seal_hash: Buffer }>(LAST_SEAL, [tenantId])).rows[0];
  const after = last ? { recorded: last.last_recorded, id: last.last_id } : BEFORE_ALL;
  await client.query(UNSEALED, [tenantId, after.recorded, after.id, horizon]);
  let rows = (await client.query<UnsealedRow>(`FETCH ${Math.max(1, Math.trunc(maxRows))} FROM audit_unsealed`)).rows;
  await client.query('CLOSE audit_unsealed');
  if (rows.length === 0) return 0;
  const month = rows[0].recorded.slice(0, 7);
  rows = rows.filter((r) => r.recorded.slice(0, 7) === month);
  const root = hasher.merkleRoot(rows.map((r) => hasher.rowHash({ tenantId, id: r.id, recorded: r.recorded, content: r.content, patients: r.patients })));
  const first = rows[0];
  const end = rows[rows.length - 1];
  const fields = {
    tenantId,
    seq: last ? Number(last.seq) + 1 : 1,
    firstRecorded: first.recorded,
    firstId: first.id,
    lastRecorded: end.recorded,
    lastId: end.id,
    rowCount: rows.length,
    merkleRoot: root,
    prevSealHash: last ? last.seal_hash : hasher.genesisSealHash,
  };
  await client.query(INSERT_SEAL, [
    tenantId,
    fields.seq,
    fields.firstRecorded,
    fields.firstId,
    fields.lastRecorded,
    fields.lastId,
    fields.rowCount,
    root,
    fields.prevSealHash,
    hasher.sealHash(fields),
  ]);
  return rows.length;
}

/** Seals every sealable row of `tenantId`, one transaction per seal. */
export async function sealAuditTrail(pool: pg.Pool, hasher: AuditHasher, tenantId: string, options: SealOptions = {}): Promise<SealResult> {
  const horizon = new Date((options.now ?? new Date()).getTime() - (options.marginMs ?? 60_000));
  const maxRows = options.maxRows ?? 10_000;
  const result: SealResult = { seals: 0, rows: 0 };
  for (;;) {
    const sealed = await inTenantTransaction(pool, tenantId, (client) => sealOnce(client, hasher, tenantId, horizon, maxRows));
    if (sealed === 0) return result;
    result.seals += 1;
    result.rows += sealed;
  }
}

/** The tenants (all of them, as the connecting role) with audit rows. */
export async function auditTenants(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM tenant ORDER BY id');
  return rows.map((r) => r.id);
}
