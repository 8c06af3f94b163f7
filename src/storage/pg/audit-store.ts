// AuditStore on PostgreSQL (table audit_trail, migrations/0013; docs/adr/0013-audit-trail-storage.md)
// for one tenant, inside its transaction as the app role (row-level security applies; the role
// may only INSERT and SELECT). Appending is ONE statement whatever the number of rows: the
// columns go as arrays and are unnested, so a group commit of many requests' events costs one
// round trip. Each row's hash is computed here with the AuditHasher handed in
// (src/audit/chain/hasher.ts).
import type pg from 'pg';
import { AuditAppendFailed, canonicalInstant, type AuditHasher, type AuditStore, type NewAuditRow, type StoredAuditRow } from '../audit-store.js';

const APPEND =
  'INSERT INTO audit_trail (tenant_id, id, version_id, last_updated, deleted, content, sp, recorded, patients, hash) ' +
  'SELECT r.tenant_id, r.id, 1, r.recorded, false, r.content, r.sp, r.recorded, ' +
  'ARRAY(SELECT jsonb_array_elements_text(r.patients)), r.hash ' +
  'FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::jsonb[], $6::jsonb[], $7::bytea[]) ' +
  'AS r(tenant_id, id, recorded, content, sp, patients, hash)';

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
    const tenants: string[] = [];
    const ids: string[] = [];
    const recorded: string[] = [];
    const contents: string[] = [];
    const sps: (string | null)[] = [];
    const patients: string[] = [];
    const hashes: Buffer[] = [];
    for (const row of rows) {
      if (row.tenantId !== this.tenantId) throw new Error(`Audit row for tenant ${row.tenantId} in a transaction of tenant ${this.tenantId}`);
      const instant = canonicalInstant(row.recorded);
      tenants.push(row.tenantId);
      ids.push(row.id);
      recorded.push(instant);
      contents.push(row.content);
      sps.push(row.sp === null ? null : JSON.stringify(row.sp));
      patients.push(JSON.stringify(row.patients));
      hashes.push(this.hasher.rowHash({ tenantId: row.tenantId, id: row.id, recorded: instant, content: row.content, patients: row.patients }));
    }
    try {
      // Named: parsed and planned once per connection, whatever the number of rows.
      await this.client.query({ name: 'hearth_audit_append', text: APPEND, values: [tenants, ids, recorded, contents, sps, patients, hashes] });
    } catch (error) {
      throw new AuditAppendFailed(error);
    }
  }

  async readAuditEvent(id: string): Promise<StoredAuditRow | undefined> {
    const { rows } = await this.client.query<Row>(`SELECT ${COLUMNS} FROM audit_trail WHERE tenant_id = $1 AND id = $2 LIMIT 1`, [this.tenantId, id]);
    return rows[0] && stored(rows[0]);
  }

}
