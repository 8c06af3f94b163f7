// LoadLedgerStore on PostgreSQL (table load_ledger, migrations/0009) for one tenant, inside its
// transaction (row-level security applies).
import type pg from 'pg';
import type { LoadLedgerEntry, LoadLedgerStore, LoadSourceKey } from '../load-ledger-store.js';

const FIND =
  'SELECT completed_at IS NOT NULL AS completed, lines_done, resources FROM load_ledger ' +
  'WHERE tenant_id = $1 AND path = $2 AND size_bytes = $3 AND sha256 = $4';

// GREATEST: two units' progress writes may arrive in either order. now() goes in VALUES and
// DO UPDATE takes it from EXCLUDED: Citus refuses functions that are not IMMUTABLE there.
const PROGRESS =
  'INSERT INTO load_ledger (tenant_id, path, size_bytes, sha256, lines_done, resources, updated_at) VALUES ($1, $2, $3, $4, $5, $6, now()) ' +
  'ON CONFLICT (tenant_id, path, size_bytes, sha256) DO UPDATE SET lines_done = GREATEST(load_ledger.lines_done, EXCLUDED.lines_done), ' +
  'resources = GREATEST(load_ledger.resources, EXCLUDED.resources), updated_at = EXCLUDED.updated_at';

const COMPLETE =
  'INSERT INTO load_ledger (tenant_id, path, size_bytes, sha256, resources, completed_at, updated_at) VALUES ($1, $2, $3, $4, $5, now(), now()) ' +
  'ON CONFLICT (tenant_id, path, size_bytes, sha256) DO UPDATE SET resources = EXCLUDED.resources, ' +
  'completed_at = EXCLUDED.completed_at, updated_at = EXCLUDED.updated_at';

export class PgLoadLedgerStore implements LoadLedgerStore {
  constructor(
    private readonly client: pg.ClientBase,
    private readonly tenantId: string,
  ) {}

  private keyValues(key: LoadSourceKey): unknown[] {
    return [this.tenantId, key.path, key.sizeBytes, key.sha256];
  }

  async find(key: LoadSourceKey): Promise<LoadLedgerEntry | undefined> {
    const { rows } = await this.client.query<{ completed: boolean; lines_done: string | number; resources: string | number }>(FIND, this.keyValues(key));
    const row = rows[0];
    return row && { completed: row.completed, linesDone: Number(row.lines_done), resources: Number(row.resources) };
  }

  async progress(key: LoadSourceKey, linesDone: number, resources: number): Promise<void> {
    await this.client.query(PROGRESS, [...this.keyValues(key), linesDone, resources]);
  }

  async complete(key: LoadSourceKey, resources: number): Promise<void> {
    await this.client.query(COMPLETE, [...this.keyValues(key), resources]);
  }
}
