// AuditStore on PostgreSQL (table audit_trail, migrations/0013; docs/adr/0013-audit-trail-storage.md)
// for one tenant, inside its transaction as the app role (row-level security applies; the role
// may only INSERT and SELECT). Appending is ONE statement whatever the number of rows, so a
// group commit of many requests' events costs one round trip; a single write carries its rows in
// its own version statement (auditInsert, docs/adr/0015-audit-rows-without-round-trips.md).
// Each row's hash is computed here with the AuditHasher handed in (src/audit/chain/hasher.ts).
import type pg from 'pg';
import { AuditAppendFailed, canonicalInstant, type AuditHasher, type AuditStore, type NewAuditRow, type StoredAuditRow } from '../audit-store.js';

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

/** The rows as the JSON document auditInsert reads, each hashed (ADR 0013). */
export function auditRecordsJson(tenantId: string, rows: readonly NewAuditRow[], hasher: AuditHasher): string {
  return JSON.stringify(
    rows.map((row) => {
      if (row.tenantId !== tenantId) throw new Error(`Audit row for tenant ${row.tenantId} in a transaction of tenant ${tenantId}`);
      const recorded = canonicalInstant(row.recorded);
      const hash = hasher.rowHash({ tenantId: row.tenantId, id: row.id, recorded, content: row.content, patients: row.patients }).toString('hex');
      return { id: row.id, recorded, content: row.content, sp: row.sp, patients: row.patients, hash };
    }),
  );
}

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
    const records = auditRecordsJson(this.tenantId, rows, this.hasher);
    try {
      // Named: parsed and planned once per connection, whatever the number of rows.
      await this.client.query({ name: 'hearth_audit_append', text: APPEND, values: [this.tenantId, records] });
    } catch (error) {
      throw new AuditAppendFailed(error);
    }
  }

  async readAuditEvent(id: string): Promise<StoredAuditRow | undefined> {
    const { rows } = await this.client.query<Row>(`SELECT ${COLUMNS} FROM audit_trail WHERE tenant_id = $1 AND id = $2 LIMIT 1`, [this.tenantId, id]);
    return rows[0] && stored(rows[0]);
  }
}
