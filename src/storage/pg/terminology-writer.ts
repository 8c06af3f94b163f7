// Loading one code system version into either table set (terminology-tables.ts): the version
// row, then concepts and is-a edges in batches, then the closure and the concept count, all in
// the caller's transaction, so a failed load leaves nothing behind.
import type pg from 'pg';
import type { CodeSystemHeader, CodeSystemWriter, ConceptInput, ParentEdge } from '../terminology-store.js';
import { countConceptsOf, insertConcepts, insertParents, type TerminologyTables, writeClosure } from './terminology-tables.js';

/** The version is already loaded and `replace` was not asked for (imports skip it: idempotent). */
export class CodeSystemAlreadyLoaded extends Error {
  override name = 'CodeSystemAlreadyLoaded';
  constructor(
    readonly url: string,
    readonly version: string,
  ) {
    super(`Code system ${url}${version ? ` version ${version}` : ''} is already loaded`);
  }
}

export async function beginVersion(
  client: pg.ClientBase,
  t: TerminologyTables,
  tenantId: string,
  header: CodeSystemHeader,
  options: { replace?: boolean; resourceId?: string } = {},
): Promise<CodeSystemWriter> {
  const tenant = t.scope === 'tenant';
  const key = tenant ? 'tenant_id = $3 AND url = $1 AND version = $2' : 'url = $1 AND version = $2';
  const keyValues = [header.url, header.version, ...(tenant ? [tenantId] : [])];
  if (options.replace) await client.query(`DELETE FROM ${t.codeSystem} WHERE ${key}`, keyValues);
  else {
    const { rowCount } = await client.query(`SELECT 1 FROM ${t.codeSystem} WHERE ${key}`, keyValues);
    if (rowCount) throw new CodeSystemAlreadyLoaded(header.url, header.version);
  }
  const columns = ['url', 'version', 'name', 'title', 'status', 'content', 'case_sensitive', 'hierarchy_meaning', 'source', 'property_defs', 'resource'];
  const values: unknown[] = [
    header.url,
    header.version,
    header.name ?? null,
    header.title ?? null,
    header.status ?? null,
    header.content,
    header.caseSensitive,
    header.hierarchyMeaning ?? null,
    header.source,
    JSON.stringify(header.propertyDefs),
    header.resource ? JSON.stringify(header.resource) : null,
  ];
  if (tenant) {
    columns.push('tenant_id', 'resource_id');
    values.push(tenantId, options.resourceId ?? null);
  }
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO ${t.codeSystem} (${columns.join(', ')}) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id::text AS id`,
    values,
  );
  return new PgCodeSystemWriter(client, t, tenantId, rows[0].id);
}

class PgCodeSystemWriter implements CodeSystemWriter {
  constructor(
    private readonly client: pg.ClientBase,
    private readonly tables: TerminologyTables,
    private readonly tenantId: string,
    readonly id: string,
  ) {}

  async addConcepts(concepts: readonly ConceptInput[]): Promise<void> {
    try {
      await insertConcepts(this.client, this.tables, this.tenantId, this.id, concepts);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        throw new Error(`A code is defined twice in this code system (${(error as { detail?: string }).detail ?? 'duplicate code'})`, { cause: error });
      }
      throw error;
    }
  }

  async addParents(edges: readonly ParentEdge[]): Promise<void> {
    await insertParents(this.client, this.tables, this.tenantId, this.id, edges);
  }

  async finish(): Promise<{ concepts: number; closureRows: number }> {
    const closureRows = await writeClosure(this.client, this.tables, this.tenantId, this.id);
    const concepts = await countConceptsOf(this.client, this.tables, this.tenantId, this.id);
    return { concepts, closureRows };
  }
}
