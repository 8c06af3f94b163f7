// SearchParameterStore on PostgreSQL: the tenant's SearchParameter rows (table search_parameter)
// and completed reindex jobs (reindex_job, migrations/0006), inside the tenant transaction, so
// row-level security scopes every read as well as the explicit tenant_id.
import type pg from 'pg';
import type { ReindexCoverage, SearchParameterState, SearchParameterStore, StoredSearchParameter } from '../search-parameter-store.js';

// A counter per tenant that triggers bump on every SearchParameter or reindex job change
// (migration 0010); writing transactions already read it with BEGIN.
const GENERATION = 'SELECT hearth_search_generation($1) AS generation';

const PARAMETERS = 'SELECT id, version_id, content FROM search_parameter WHERE tenant_id = $1 AND NOT deleted ORDER BY id';

const COVERAGE = "SELECT search_params FROM reindex_job WHERE tenant_id = $1 AND status = 'completed'";

export class PgSearchParameterStore implements SearchParameterStore {
  constructor(
    private readonly client: pg.ClientBase,
    private readonly tenantId: string,
    /** Read with BEGIN (tenant-session.ts); good until the transaction writes a SearchParameter. */
    private prefetched?: string,
    /**
     * Runs a self-contained statement: in a read-only session, alone in one round trip, without
     * opening a transaction block (tenant-session.ts, ADR 0021). The generation is one.
     */
    private readonly alone: (config: pg.QueryConfig) => Promise<pg.QueryResult> = (config) => this.client.query(config),
  ) {}

  /** The transaction wrote a SearchParameter: the generation read at BEGIN no longer holds. */
  invalidate(): void {
    this.prefetched = undefined;
  }

  async generation(): Promise<string> {
    if (this.prefetched !== undefined) return this.prefetched;
    const { rows } = await this.alone({ name: 'hearth_search_generation', text: GENERATION, values: [this.tenantId] });
    return (rows[0] as { generation: string }).generation;
  }

  async readState(): Promise<SearchParameterState> {
    const parameters = await this.client.query<{ id: string; version_id: number; content: string }>(PARAMETERS, [this.tenantId]);
    const jobs = await this.client.query<{ search_params: ReindexCoverage[] }>(COVERAGE, [this.tenantId]);
    return {
      parameters: parameters.rows.map((r): StoredSearchParameter => ({ id: r.id, versionId: r.version_id, content: r.content })),
      coverage: jobs.rows.flatMap((r) => r.search_params),
    };
  }
}
