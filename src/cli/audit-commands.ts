// `hearth audit verify|seal|archive|partitions` (issue 11 "Integrity", "Storage and retention";
// docs/adr/0013-audit-trail-storage.md). The integrator wires auditCommand into src/cli.ts inside
// its withDatabase(): it takes the open, migrated Database and the arguments after `audit`, and
// prints through `out`. verify exits non-zero (throws) when the trail is broken.
import { parseArgs } from 'node:util';
import { auditHasher } from '../audit/chain/hasher.js';
import { AuditJournalExpander } from '../audit/journal-expander.js';
import { createSearchRegistry } from '../search/registry/registry.js';
import { PgRepository } from '../storage/pg/pg-repository.js';
import type { AuditHasher } from '../storage/audit-store.js';
import { archiveAuditPartition, dropArchivedAuditPartition } from '../storage/pg/audit-archive.js';
import { verifyAuditArchive } from '../storage/pg/audit-archive-verify.js';
import { ensureAuditPartitions, listAuditPartitions } from '../storage/pg/audit-partitions.js';
import { auditTenants, sealAuditTrail } from '../storage/pg/audit-seal.js';
import { verifyAuditTrail } from '../storage/pg/audit-verify.js';
import type { Database } from '../storage/pg/database.js';

export const AUDIT_USAGE = `  hearth audit verify [--tenant T] [--since DATE]
                                                 check the audit trail's seals and rows; prints intact or the first break
  hearth audit verify --archive FILE             check an archived month's file against its manifest and seals
  hearth audit seal [--tenant T]                 seal the rows recorded more than a minute ago
  hearth audit partitions [--months-ahead N]     create the coming months' partitions (default 3)
  hearth audit archive --before YYYY-MM --dir D [--drop]
                                                 write each month before YYYY-MM to D as NDJSON.gz with a manifest and
                                                 detach it; --drop also drops the detached tables (retention: 6 years by default)`;

type Out = (line: string) => void;

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

function parseSince(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`--since needs a date, got ${JSON.stringify(value)}`);
  return date;
}

/** `hearth audit ...` */
export async function auditCommand(database: Database, args: string[], out: Out = console.log): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      archive: { type: 'string' },
      since: { type: 'string' },
      before: { type: 'string' },
      dir: { type: 'string' },
      drop: { type: 'boolean', default: false },
      'months-ahead': { type: 'string', default: '3' },
    },
  });
  const pool = database.pool;
  const [action] = positionals;
  if (values.tenant !== undefined && !(await auditTenants(pool)).includes(values.tenant)) throw new Error(`Unknown tenant '${values.tenant}'`);
  if (action === 'verify' && values.archive !== undefined) {
    const result = await verifyAuditArchive(pool, auditHasher, values.archive);
    if (!result.intact) {
      const where = [result.tenantId ? `tenant ${result.tenantId}` : '', result.sealSeq !== undefined ? `seal ${result.sealSeq}` : '', result.recordId ? `record ${result.recordId}` : '']
        .filter(Boolean)
        .join(', ');
      out(`BROKEN archive ${values.archive}${where ? ` at ${where}` : ''}: ${result.reason}`);
      throw new Error('The audit archive is not intact');
    }
    out(`intact: archive of ${result.month}, ${result.rows} events, ${result.sealed} sealed in ${result.seals} seals, ${result.pending} not sealed when archived`);
    return;
  }
  if (action === 'verify') {
    await expandJournal(pool, values.tenant);
    const started = Date.now();
    const result = await verifyAuditTrail(pool, auditHasher, { tenantId: values.tenant, since: parseSince(values.since) });
    if (!result.intact) {
      const where = [result.firstBreak.sealSeq !== undefined ? `seal ${result.firstBreak.sealSeq}` : '', result.firstBreak.recordId ? `record ${result.firstBreak.recordId}` : '']
        .filter(Boolean)
        .join(', ');
      out(`BROKEN tenant ${result.firstBreak.tenantId}${where ? ` at ${where}` : ''}: ${result.firstBreak.reason}`);
      throw new Error('The audit trail is not intact');
    }
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    out(
      `intact: ${result.sealed} sealed events in ${result.seals} seals verified, ${result.pending} pending (not sealed yet), ` +
        `${result.archivedSeals} seals of archived months (${Math.round(result.sealed / seconds)} events/s)`,
    );
    return;
  }
  if (action === 'seal') {
    const tenants = await expandJournal(pool, values.tenant);
    let rows = 0;
    let seals = 0;
    for (const tenant of tenants) {
      const r = await sealAuditTrail(pool, auditHasher, tenant);
      rows += r.rows;
      seals += r.seals;
    }
    out(`sealed ${rows} events in ${seals} seals`);
    return;
  }
  if (action === 'partitions') {
    const months = Number(values['months-ahead']);
    if (!Number.isInteger(months) || months < 0 || months > 120) throw new Error('--months-ahead needs a whole number 0..120');
    const created = await ensureAuditPartitions(pool, new Date(), months);
    out(created.length ? `created ${created.join(', ')}` : 'all partitions exist');
    return;
  }
  if (action === 'archive') {
    if (!values.before || !MONTH.test(values.before)) throw new Error('audit archive needs --before YYYY-MM');
    if (!values.dir) throw new Error('audit archive needs --dir D');
    await expandJournal(pool);
    const months = (await listAuditPartitions(pool)).filter((p) => p.month !== 'default' && p.month < values.before!);
    for (const p of months) {
      const manifest = await archiveAuditPartition(pool, auditHasher, p.month, values.dir);
      out(`archived ${p.month}: ${manifest.rows} events to ${manifest.file} (sha256 ${manifest.fileSha256})`);
      if (values.drop && (await dropArchivedAuditPartition(pool, p.month))) out(`dropped ${p.name}`);
    }
    if (months.length === 0) out(`no attached month before ${values.before}`);
    return;
  }
  throw new Error(`Usage:\n${AUDIT_USAGE}`);
}

/**
 * Expands what the audit journal holds (ADR 0016) for `tenant` or every tenant, so that verify,
 * seal and archive work on every interaction recorded so far; the tenants concerned.
 */
async function expandJournal(pool: Database['pool'], tenant?: string): Promise<string[]> {
  const tenants = tenant ? [tenant] : await auditTenants(pool);
  await expandAuditJournal(pool, auditHasher, tenants);
  return tenants;
}

/**
 * Expands the audit journal of `tenantIds` into the trail (ADR 0016) outside a server: the audit
 * commands before verify, seal and archive; tests that read the trail as the database owner. The
 * number of entries expanded.
 */
export async function expandAuditJournal(pool: Database['pool'], hasher: AuditHasher, tenantIds: readonly string[]): Promise<number> {
  const expander = new AuditJournalExpander({ repository: new PgRepository(pool, { auditHasher: hasher }), registry: createSearchRegistry(), intervalMs: 0 });
  let expanded = 0;
  for (const tenantId of tenantIds) expanded += await expander.drain(tenantId);
  return expanded;
}
