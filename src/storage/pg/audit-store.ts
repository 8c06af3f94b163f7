// AuditStore on PostgreSQL (tables audit_trail, migrations/0013, and audit_journal, 0018;
// docs/adr/0013-audit-trail-storage.md, 0016-audit-journal.md) for one tenant, inside its
// transaction as the app role (row-level security applies; on the trail the role may only INSERT
// and SELECT). Appending is ONE statement whatever the number of rows, so a group commit of many
// requests' entries costs one round trip; a single write carries its journal entry in its own
// version statement (auditJournalInsert, docs/adr/0015-audit-rows-without-round-trips.md).
// Each row's hash is computed here with the AuditHasher handed in (src/audit/chain/hasher.ts).
import type pg from 'pg';
import { valuesInserts, type RowField } from './row-values.js';
import { onCoordinator } from './tenant-session.js';
import { AuditAppendFailed, canonicalInstant, type AuditHasher, type AuditJournalEntry, type AuditStore, type NewAuditRow, type StoredAuditRow, type TakenJournalEntry } from '../audit-store.js';

// The rows go as ONE JSON document read by json_to_recordset (like the resource tables'
// writeVersions): one native JSON.stringify in Node, where binding text arrays would escape every
// content string in JavaScript.
/** The INSERT of the rows in bind parameter `rows` (auditRecordsJson) for tenant `tenant`. */
export function auditInsert(tenant: string, rows: string): string {
  return (
    'INSERT INTO audit_trail (tenant_id, id, version_id, last_updated, deleted, content, sp, recorded, patients, hash) ' +
    `SELECT ${tenant}, r.id, 1, r.recorded, false, r.content, r.sp, r.recorded, ` +
    "ARRAY(SELECT json_array_elements_text(r.patients)), decode(r.hash, 'hex') " +
    `FROM json_to_recordset(${rows}::json) AS r(id text, recorded timestamptz, content text, sp jsonb, patients json, hash text)`
  );
}

const APPEND = auditInsert('$1', '$2');

/** The rows as auditInsert reads them, each hashed (ADR 0013). */
export function auditRecordRows(tenantId: string, rows: readonly NewAuditRow[], hasher: AuditHasher): Record<string, unknown>[] {
  return rows.map((row) => {
    if (row.tenantId !== tenantId) throw new Error(`Audit row for tenant ${row.tenantId} in a transaction of tenant ${tenantId}`);
    const recorded = canonicalInstant(row.recorded);
    const hash = hasher.rowHash({ tenantId: row.tenantId, id: row.id, recorded, content: row.content, patients: row.patients }).toString('hex');
    return { id: row.id, recorded, content: row.content, sp: row.sp, patients: row.patients, hash };
  });
}

/** The rows as the JSON document auditInsert reads. */
export function auditRecordsJson(tenantId: string, rows: readonly NewAuditRow[], hasher: AuditHasher): string {
  return JSON.stringify(auditRecordRows(tenantId, rows, hasher));
}

/** The same rows as a multi-row INSERT … VALUES (distributed mode; row-values.ts). */
const RECORD_FIELDS: readonly RowField[] = [
  { name: 'id', type: 'text' }, { name: 'recorded', type: 'timestamptz' }, { name: 'content', type: 'text' },
  { name: 'sp', type: 'jsonb' }, { name: 'patients', type: 'text[]' }, { name: 'hash', type: 'text' },
];
/** The rows as INSERT … VALUES statements (distributed mode), as auditInsert stores them. */
function auditValuesInserts(tenantId: string, rows: readonly Record<string, unknown>[]): pg.QueryConfig[] {
  return valuesInserts('audit_trail', 'tenant_id, id, version_id, last_updated, deleted, content, sp, recorded, patients, hash', RECORD_FIELDS, rows, {
    lead: [{ value: tenantId }],
    project: (r, [tenant]) => `${tenant}, ${r('id')}, 1, ${r('recorded')}, false, ${r('content')}, ${r('sp')}, ${r('recorded')}, ${r('patients')}, decode(${r('hash')}, 'hex')`,
  });
}

/** The INSERT of the journal entries in bind parameter `entries` (auditJournalJson) for tenant `tenant` (ADR 0016). */
export function auditJournalInsert(tenant: string, entries: string): string {
  return (
    'INSERT INTO audit_journal (tenant_id, id, recorded, entry) ' +
    `SELECT ${tenant}, e.id, e.recorded, e.entry FROM json_to_recordset(${entries}::json) AS e(id text, recorded timestamptz, entry text)`
  );
}

const APPEND_JOURNAL = auditJournalInsert('$1', '$2');

/** The entries as auditJournalInsert reads them. */
export function auditJournalRows(tenantId: string, entries: readonly AuditJournalEntry[]): Record<string, unknown>[] {
  return entries.map((e) => {
    if (e.tenantId !== tenantId) throw new Error(`Audit journal entry for tenant ${e.tenantId} in a transaction of tenant ${tenantId}`);
    return { id: e.id, recorded: canonicalInstant(e.recorded), entry: e.entry };
  });
}

/** The entries as the JSON document auditJournalInsert reads. */
export function auditJournalJson(tenantId: string, entries: readonly AuditJournalEntry[]): string {
  return JSON.stringify(auditJournalRows(tenantId, entries));
}

const JOURNAL_FIELDS: readonly RowField[] = [{ name: 'id', type: 'text' }, { name: 'recorded', type: 'timestamptz' }, { name: 'entry', type: 'text' }];

/** The journal entries as multi-row INSERTs … VALUES (distributed mode; row-values.ts), chunked. */
export function auditJournalValuesInserts(tenantId: string, entries: readonly AuditJournalEntry[]): pg.QueryConfig[] {
  return valuesInserts('audit_journal', 'tenant_id, id, recorded, entry', JOURNAL_FIELDS, auditJournalRows(tenantId, entries), { lead: [{ value: tenantId }] });
}

// Oldest first, deleted by the same statement: the caller inserts their events in this
// transaction, so each entry ends up either still here or in the trail. Rows another expander is
// deleting are waited for (the DELETE locks them; SELECT … FOR UPDATE would need UPDATE, which the
// app role does not have) and, once it has committed, found gone: two takes never return one entry.
const TAKE_JOURNAL =
  'DELETE FROM audit_journal WHERE tenant_id = $1 AND id IN (SELECT id FROM audit_journal WHERE tenant_id = $1 ORDER BY id LIMIT $2) ' +
  'RETURNING id, recorded, entry';

/** The recorded time of the tenant's oldest journal entry ($1), or null (the sealer's bound too). */
export const OLDEST_JOURNAL_ENTRY = 'SELECT min(recorded) AS recorded FROM audit_journal WHERE tenant_id = $1';

const COLUMNS = 'tenant_id, id, recorded, content, patients';

interface Row {
  tenant_id: string;
  id: string;
  recorded: Date;
  content: string;
  patients: string[];
}

function stored(row: Row): StoredAuditRow {
  return { tenantId: row.tenant_id, id: row.id, recorded: row.recorded, content: row.content, patients: row.patients };
}

export class PgAuditStore implements AuditStore {
  constructor(
    private readonly client: pg.ClientBase,
    private readonly tenantId: string,
    private readonly hasher: AuditHasher,
  ) {}

  async appendAuditEvents(rows: readonly NewAuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (onCoordinator(this.client)) {
      try {
        for (const insert of auditValuesInserts(this.tenantId, auditRecordRows(this.tenantId, rows, this.hasher))) await this.client.query(insert);
      } catch (error) {
        throw new AuditAppendFailed(error);
      }
      return;
    }
    const records = auditRecordsJson(this.tenantId, rows, this.hasher);
    try {
      // Named: parsed and planned once per connection, whatever the number of rows.
      await this.client.query({ name: 'hearth_audit_append', text: APPEND, values: [this.tenantId, records] });
    } catch (error) {
      throw new AuditAppendFailed(error);
    }
  }

  async appendAuditJournal(entries: readonly AuditJournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      if (onCoordinator(this.client)) {
        for (const insert of auditJournalValuesInserts(this.tenantId, entries)) await this.client.query(insert);
        return;
      }
      await this.client.query({ name: 'hearth_audit_journal_append', text: APPEND_JOURNAL, values: [this.tenantId, auditJournalJson(this.tenantId, entries)] });
    } catch (error) {
      throw new AuditAppendFailed(error);
    }
  }

  async takeAuditJournal(limit: number): Promise<TakenJournalEntry[]> {
    const { rows } = await this.client.query<TakenJournalEntry>({ name: 'hearth_audit_journal_take', text: TAKE_JOURNAL, values: [this.tenantId, limit] });
    return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async oldestAuditJournalEntry(): Promise<Date | undefined> {
    const { rows } = await this.client.query<{ recorded: Date | null }>({ name: 'hearth_audit_journal_oldest', text: OLDEST_JOURNAL_ENTRY, values: [this.tenantId] });
    return rows[0]?.recorded ?? undefined;
  }

  async readAuditEvent(id: string): Promise<StoredAuditRow | undefined> {
    const { rows } = await this.client.query<Row>(`SELECT ${COLUMNS} FROM audit_trail WHERE tenant_id = $1 AND id = $2 LIMIT 1`, [this.tenantId, id]);
    return rows[0] && stored(rows[0]);
  }
}
