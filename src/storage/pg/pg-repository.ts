// FhirRepository on PostgreSQL (or embedded PGlite): tenant transactions and the tenant registry.
import { AuditAppendFailed, type AuditHasher, type AuditJournalEntry } from '../audit-store.js';
import { auditJournalJson, auditJournalValuesInserts } from './audit-store.js';
import type pg from 'pg';
import type { FhirRepository, ResourceStore, TenantInfo } from '../resource-store.js';
import { PgResourceStore } from './pg-resource-store.js';
import type { TableMaintenance } from './table-maintenance.js';
import { inTenantTransaction, isDistributed } from './tenant-session.js';

interface TenantRow {
  id: string;
  name: string;
  dedicated_partition: boolean;
  created_at: Date;
}

export const toTenantInfo = (row: TenantRow): TenantInfo => ({
  id: row.id,
  name: row.name,
  dedicatedPartition: row.dedicated_partition,
  createdAt: row.created_at,
});

export interface PgRepositoryOptions {
  /** Told what each committed transaction wrote, so statistics and GIN lists stay fresh. */
  maintenance?: TableMaintenance;
  /** gin_pending_list_limit (kB) for writing transactions; undefined keeps PostgreSQL's. */
  ginPendingListLimitKb?: number;
  /** Hashes audit rows as they are appended (src/audit/chain/hasher.ts; storage may not import it). */
  auditHasher?: AuditHasher;
  /** Told, after the commit, of each transaction that appended outbox rows (relays are woken). */
  outboxCommitted?: (tenantId: string) => void;
  /**
   * Read-only units open no transaction block until a statement needs one; reads and searches
   * then take one round trip each (tenant-session.ts, ADR 0021). Default on; false restores
   * BEGIN … COMMIT around every read-only unit.
   */
  deferReadBegin?: boolean;
}

export class PgRepository implements FhirRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PgRepositoryOptions = {},
  ) {}

  async withTenant<T>(tenantId: string, work: (store: ResourceStore) => Promise<T>, options: { readOnly?: boolean } = {}) {
    let store: PgResourceStore | undefined;
    const result = await inTenantTransaction(
      this.pool,
      tenantId,
      (client, prefetch) => work((store = new PgResourceStore(client, tenantId, prefetch, this.options.auditHasher))),
      { readOnly: options.readOnly, deferBegin: options.readOnly && this.options.deferReadBegin !== false, ginPendingListLimitKb: this.options.ginPendingListLimitKb },
    );
    if (store && store.written.size > 0) this.options.maintenance?.recordWrites(store.written);
    if (store?.outboxAppended) this.options.outboxCommitted?.(tenantId);
    return result;
  }

  /**
   * Appends audit journal entries in a transaction of their own, in one round trip (the group
   * commit's; migrations/0018): a single statement outside a transaction block, run as the app
   * role with the tenant set, under row-level security.
   */
  async appendAuditJournal(tenantId: string, entries: readonly AuditJournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      if (await isDistributed(this.pool)) {
        // The function sets the tenant with set_config, which Citus does not pass to its workers.
        await inTenantTransaction(this.pool, tenantId, async (client) => {
          for (const insert of auditJournalValuesInserts(tenantId, entries)) await client.query(insert);
        });
        return;
      }
      await this.pool.query({ name: 'hearth_audit_journal_alone', text: 'SELECT hearth_audit_journal_append($1, $2::json)', values: [tenantId, auditJournalJson(tenantId, entries)] });
    } catch (error) {
      throw new AuditAppendFailed(error);
    }
  }

  async findTenant(id: string): Promise<TenantInfo | undefined> {
    const { rows } = await this.pool.query<TenantRow>({
      name: 'hearth_find_tenant',
      text: 'SELECT id, name, dedicated_partition, created_at FROM tenant WHERE id = $1',
      values: [id],
    });
    return rows[0] && toTenantInfo(rows[0]);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }
}
