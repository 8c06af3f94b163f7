// The two sets of terminology tables (migrations/0020): shared (`terminology_*`, no tenant
// column, read-only to hearth_app) and the tenant's own (`tenant_*`, tenant_id first, under
// row-level security). Statements are built once per set from these names (never from input),
// and a tenant statement always names its tenant_id, as row-level security and Citus routing
// both want.
import { valuesInserts, type RowField } from './row-values.js';
import { onCoordinator } from './tenant-session.js';
import type pg from 'pg';
import { TERMINOLOGY_TABLES } from '../table-names.js';
import type { CodeSystemRef, CodeSystemVersion, ConceptInput, ConceptProperty, TerminologyScope } from '../terminology-store.js';

export interface TerminologyTables {
  scope: TerminologyScope;
  codeSystem: string;
  concept: string;
  parent: string;
  closure: string;
}

export const SHARED_TABLES: TerminologyTables = {
  scope: 'shared',
  codeSystem: 'terminology_code_system',
  concept: 'terminology_concept',
  parent: 'terminology_concept_parent',
  closure: TERMINOLOGY_TABLES.sharedClosure,
};

export const TENANT_TABLES: TerminologyTables = {
  scope: 'tenant',
  codeSystem: 'tenant_code_system',
  concept: 'tenant_concept',
  parent: 'tenant_concept_parent',
  closure: TERMINOLOGY_TABLES.tenantClosure,
};

export const tablesOf = (scope: TerminologyScope): TerminologyTables => (scope === 'shared' ? SHARED_TABLES : TENANT_TABLES);

/** Collects bind values for one statement and hands out $n placeholders. */
export class StatementBinds {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * Conditions naming one code system version's rows in table alias `alias` (`alias.tenant_id = …
 * AND alias.code_system_id = …`), values through `binds`.
 */
export function versionRows(cs: CodeSystemRef, tenantId: string, alias: string, binds: StatementBinds): string {
  const id = `${alias}.code_system_id = ${binds.add(cs.id)}::bigint`;
  return cs.scope === 'tenant' ? `${alias}.tenant_id = ${binds.add(tenantId)} AND ${id}` : id;
}

export interface CodeSystemRow {
  id: string;
  url: string;
  version: string;
  name: string | null;
  title: string | null;
  status: string | null;
  content: string;
  case_sensitive: boolean;
  hierarchy_meaning: string | null;
  source: string;
  property_defs: CodeSystemVersion['propertyDefs'];
  concept_count: number;
  resource: CodeSystemVersion['resource'] | null;
  loaded_at: Date;
  resource_id?: string | null;
}

export const CODE_SYSTEM_COLUMNS =
  'id::text AS id, url, version, name, title, status, content, case_sensitive, hierarchy_meaning, source, property_defs, concept_count, resource, loaded_at';

export function toCodeSystemVersion(row: CodeSystemRow, scope: TerminologyScope): CodeSystemVersion {
  return {
    id: row.id,
    scope,
    url: row.url,
    version: row.version,
    ...(row.name !== null ? { name: row.name } : {}),
    ...(row.title !== null ? { title: row.title } : {}),
    ...(row.status !== null ? { status: row.status } : {}),
    content: row.content,
    caseSensitive: row.case_sensitive,
    ...(row.hierarchy_meaning !== null ? { hierarchyMeaning: row.hierarchy_meaning } : {}),
    source: row.source,
    propertyDefs: row.property_defs,
    conceptCount: row.concept_count,
    ...(row.resource ? { resource: row.resource } : {}),
    loadedAt: row.loaded_at,
    ...(row.resource_id ? { resourceId: row.resource_id } : {}),
  };
}

/** The text a filter compares a property value by: a Coding by its code, anything else as written. */
export function propertyText(property: ConceptProperty): string {
  const value = property.value;
  if (typeof value === 'object' && value !== null) return value.code ?? '';
  return String(value);
}

/** Rows per INSERT … SELECT FROM unnest(…): big enough to amortize a round trip, small enough to stream. */
const BATCH = 5_000;

export function* batches<T>(items: readonly T[]): Iterable<readonly T[]> {
  for (let i = 0; i < items.length; i += BATCH) yield items.slice(i, i + BATCH);
}

/** A concept as its row's fields (designations and properties as JSON text, or null). */
function conceptRow(c: ConceptInput) {
  return {
    code: c.code,
    display: c.display ?? null,
    active: c.active ?? true,
    designations: c.designations && c.designations.length > 0 ? JSON.stringify(c.designations) : null,
    properties: c.properties && c.properties.length > 0 ? JSON.stringify(c.properties.map((p) => ({ ...p, text: p.text ?? propertyText(p) }))) : null,
  };
}

/** The concepts as the column arrays insertConcepts' unnest reads, in CONCEPT_FIELDS order. */
function conceptColumns(concepts: readonly ConceptInput[]): unknown[][] {
  const rows = concepts.map(conceptRow);
  return CONCEPT_FIELDS.map((f) => rows.map((r) => r[f.name as keyof typeof r]));
}

/** Inserts concepts of one version; a code given twice fails the load (its PRIMARY KEY). */
export async function insertConcepts(client: pg.ClientBase, t: TerminologyTables, tenantId: string, id: string, concepts: readonly ConceptInput[]) {
  const tenant = t.scope === 'tenant';
  if (tenant && onCoordinator(client)) {
    for (const insert of tenantValuesInserts(t.concept, CONCEPT_FIELDS, tenantId, id, concepts.map(conceptRow))) await client.query(insert);
    return;
  }
  const sql =
    `INSERT INTO ${t.concept} (${tenant ? 'tenant_id, ' : ''}code_system_id, code, display, active, designations, properties) ` +
    `SELECT ${tenant ? '$7, ' : ''}$6::bigint, * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::jsonb[], $5::jsonb[])`;
  for (const batch of batches(concepts)) {
    await client.query(sql, [...conceptColumns(batch), id, ...(tenant ? [tenantId] : [])]);
  }
}

export async function insertParents(
  client: pg.ClientBase,
  t: TerminologyTables,
  tenantId: string,
  id: string,
  edges: readonly { child: string; parent: string }[],
) {
  const tenant = t.scope === 'tenant';
  if (tenant && onCoordinator(client)) {
    for (const insert of tenantValuesInserts(t.parent, EDGE_FIELDS, tenantId, id, edges, 'ON CONFLICT DO NOTHING')) await client.query(insert);
    return;
  }
  const sql =
    `INSERT INTO ${t.parent} (${tenant ? 'tenant_id, ' : ''}code_system_id, child, parent) ` +
    `SELECT ${tenant ? '$4, ' : ''}$3::bigint, * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`;
  for (const batch of batches(edges)) {
    await client.query(sql, [batch.map((e) => e.child), batch.map((e) => e.parent), id, ...(tenant ? [tenantId] : [])]);
  }
}

// On a Citus coordinator a tenant's rows go as INSERT … VALUES (row-values.ts, ADR 0024): an
// INSERT … SELECT FROM unnest would be COPYed into the shards, which row-level security refuses.
const CONCEPT_FIELDS: readonly RowField[] = [
  { name: 'code', type: 'text' }, { name: 'display', type: 'text' }, { name: 'active', type: 'boolean' },
  { name: 'designations', type: 'jsonb' }, { name: 'properties', type: 'jsonb' },
];
const EDGE_FIELDS: readonly RowField[] = [{ name: 'child', type: 'text' }, { name: 'parent', type: 'text' }];
const CLOSURE_FIELDS: readonly RowField[] = [{ name: 'ancestor', type: 'text' }, { name: 'descendant', type: 'text' }];

/** A tenant table's rows of one code system version as INSERT … VALUES statements (row-values.ts). */
function tenantValuesInserts(table: string, fields: readonly RowField[], tenantId: string, id: string, rows: readonly object[], suffix?: string): pg.QueryConfig[] {
  const columns = `tenant_id, code_system_id, ${fields.map((f) => f.name).join(', ')}`;
  return valuesInserts(table, columns, fields, rows, { lead: [{ value: tenantId }, { value: id, type: 'bigint' }], suffix });
}

/**
 * Writes the reflexive transitive closure of the version's is-a edges. A recursive UNION keeps
 * each (descendant, ancestor) pair once however many paths reach it, so a polyhierarchy (SNOMED
 * CT) costs the size of its closure, not its number of paths, and a cycle ends. Edges to codes
 * the version does not define are left out.
 */
export async function writeClosure(client: pg.ClientBase, t: TerminologyTables, tenantId: string, id: string): Promise<number> {
  const tenant = t.scope === 'tenant';
  const own = (alias: string) => `${tenant ? `${alias}.tenant_id = $2 AND ` : ''}${alias}.code_system_id = $1::bigint`;
  const closure = (columns: string) =>
    `WITH RECURSIVE up (descendant, ancestor) AS (` +
    `SELECT k.code, k.code FROM ${t.concept} k WHERE ${own('k')} ` +
    `UNION SELECT up.descendant, p.parent FROM up JOIN ${t.parent} p ON ${own('p')} AND p.child = up.ancestor) ` +
    `SELECT ${columns} FROM up WHERE EXISTS (SELECT 1 FROM ${t.concept} k WHERE ${own('k')} AND k.code = up.ancestor)`;
  const values = [id, ...(tenant ? [tenantId] : [])];
  // A bulk statement: hash joins are right at any size, and a nested loop chosen on a stale
  // estimate (a new version's id is in no statistics) would rescan per row. Restored after (a
  // failure ends the transaction, which drops the setting with it).
  const { rows } = await client.query<{ previous: string }>("SELECT current_setting('enable_nestloop') AS previous, set_config('enable_nestloop', 'off', true)");
  let written: number;
  if (tenant && onCoordinator(client)) {
    // On Citus an INSERT … SELECT with a recursive CTE is COPYed into the shard, which row-level
    // security refuses: the closure is read (one router query) and written as VALUES.
    const pairs = (await client.query<{ ancestor: string; descendant: string }>(closure('up.ancestor, up.descendant'), values)).rows;
    for (const insert of tenantValuesInserts(t.closure, CLOSURE_FIELDS, tenantId, id, pairs)) await client.query(insert);
    written = pairs.length;
  } else {
    written = (await client.query(`INSERT INTO ${t.closure} (${tenant ? 'tenant_id, ' : ''}code_system_id, ancestor, descendant) ${closure(`${tenant ? '$2, ' : ''}$1::bigint, up.ancestor, up.descendant`)}`, values)).rowCount ?? 0;
  }
  await client.query("SELECT set_config('enable_nestloop', $1, true)", [rows[0].previous]);
  return written;
}

export async function countConceptsOf(client: pg.ClientBase, t: TerminologyTables, tenantId: string, id: string): Promise<number> {
  const tenant = t.scope === 'tenant';
  const { rows } = await client.query<{ n: number }>(
    `UPDATE ${t.codeSystem} cs SET concept_count = (SELECT count(*) FROM ${t.concept} k WHERE ${tenant ? 'k.tenant_id = $2 AND ' : ''}k.code_system_id = $1::bigint), ` +
      `loaded_at = now() WHERE ${tenant ? 'cs.tenant_id = $2 AND ' : ''}cs.id = $1::bigint RETURNING concept_count AS n`,
    [id, ...(tenant ? [tenantId] : [])],
  );
  return Number(rows[0]?.n ?? 0);
}
