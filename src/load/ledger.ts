// hearth load (docs/loading.md): the resumability ledger, table load_ledger (migration 0009).
// It records, per tenant, each source file whose last transaction committed (a re-run skips it)
// and, for an NDJSON file part-way through, the last line of its committed prefix (a re-run
// resumes after it). Read and written through the repository's tenant transactions, so
// row-level security applies as it does to resources.
import type { FhirRepository } from '../storage/resource-store.js';
import type { SourceKey } from './sources.js';

export interface LedgerEntry {
  completed: boolean;
  /** NDJSON: lines of the file already committed (0 when none or not NDJSON). */
  linesDone: number;
  /** Resources committed from the file so far. */
  resources: number;
}

export interface LoadLedger {
  find(tenantId: string, key: SourceKey): Promise<LedgerEntry | undefined>;
  /** Part-way progress; never moves backwards (units may commit out of order). */
  progress(tenantId: string, key: SourceKey, linesDone: number, resources: number): Promise<void>;
  /** The file's last transaction committed. */
  complete(tenantId: string, key: SourceKey, resources: number): Promise<void>;
}

interface Row {
  completed: boolean;
  lines_done: number;
  resources: number;
}

const FIND =
  'SELECT completed_at IS NOT NULL AS completed, lines_done, resources FROM load_ledger ' +
  'WHERE tenant_id = $1 AND path = $2 AND size_bytes = $3 AND sha256 = $4';

// GREATEST: two units' progress writes may arrive in either order.
const PROGRESS =
  'INSERT INTO load_ledger (tenant_id, path, size_bytes, sha256, lines_done, resources) VALUES ($1, $2, $3, $4, $5, $6) ' +
  'ON CONFLICT (tenant_id, path, size_bytes, sha256) DO UPDATE SET lines_done = GREATEST(load_ledger.lines_done, EXCLUDED.lines_done), ' +
  'resources = GREATEST(load_ledger.resources, EXCLUDED.resources), updated_at = now()';

const COMPLETE =
  'INSERT INTO load_ledger (tenant_id, path, size_bytes, sha256, resources, completed_at) VALUES ($1, $2, $3, $4, $5, now()) ' +
  'ON CONFLICT (tenant_id, path, size_bytes, sha256) DO UPDATE SET resources = EXCLUDED.resources, ' +
  'completed_at = now(), updated_at = now()';

const keyValues = (tenantId: string, key: SourceKey) => [tenantId, key.name, key.size, key.sha256];

export class RepositoryLedger implements LoadLedger {
  constructor(private readonly repository: FhirRepository) {}

  async find(tenantId: string, key: SourceKey): Promise<LedgerEntry | undefined> {
    const rows = await this.repository.withTenant(tenantId, (store) => store.query<Row>(FIND, keyValues(tenantId, key)), { readOnly: true });
    const row = rows[0];
    return row && { completed: row.completed, linesDone: Number(row.lines_done), resources: Number(row.resources) };
  }

  async progress(tenantId: string, key: SourceKey, linesDone: number, resources: number): Promise<void> {
    await this.repository.withTenant(tenantId, (store) => store.query(PROGRESS, [...keyValues(tenantId, key), linesDone, resources]));
  }

  async complete(tenantId: string, key: SourceKey, resources: number): Promise<void> {
    await this.repository.withTenant(tenantId, (store) => store.query(COMPLETE, [...keyValues(tenantId, key), resources]));
  }
}

/** The ledger kept in memory: for tests, and for loads that need not survive the process. */
export class MemoryLedger implements LoadLedger {
  readonly entries = new Map<string, LedgerEntry>();

  private id = (tenantId: string, key: SourceKey) => JSON.stringify(keyValues(tenantId, key));

  async find(tenantId: string, key: SourceKey): Promise<LedgerEntry | undefined> {
    const entry = this.entries.get(this.id(tenantId, key));
    return entry && { ...entry };
  }

  async progress(tenantId: string, key: SourceKey, linesDone: number, resources: number): Promise<void> {
    const old = this.entries.get(this.id(tenantId, key)) ?? { completed: false, linesDone: 0, resources: 0 };
    this.entries.set(this.id(tenantId, key), {
      completed: old.completed,
      linesDone: Math.max(old.linesDone, linesDone),
      resources: Math.max(old.resources, resources),
    });
  }

  async complete(tenantId: string, key: SourceKey, resources: number): Promise<void> {
    const old = this.entries.get(this.id(tenantId, key));
    this.entries.set(this.id(tenantId, key), { completed: true, linesDone: old?.linesDone ?? 0, resources });
  }
}
