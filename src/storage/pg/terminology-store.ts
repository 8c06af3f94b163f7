// TerminologyStore on PostgreSQL (migrations/0020) for one tenant, inside its transaction: reads
// see the shared tables and the tenant's own (row-level security keeps other tenants' out);
// writes go to the tenant's own only (hearth_app may not write the shared ones).
import { valuesInserts, type RowField } from './row-values.js';
import { onCoordinator } from './tenant-session.js';
import type pg from 'pg';
import type { JsonObject } from '../../core/types.js';
import type {
  CachedExpansion,
  CodeSystemHeader,
  CodeSystemRef,
  CodeSystemVersion,
  CodeSystemWriter,
  Concept,
  ConceptSelection,
  ExpansionCacheAccess,
  ExpansionCode,
  TerminologyGenerations,
  TerminologyStore,
} from '../terminology-store.js';
import { normalizedWords, searchWords, selectionWhere, wordsMatch } from './terminology-select.js';
import {
  CODE_SYSTEM_COLUMNS, type CodeSystemRow, SHARED_TABLES, StatementBinds, TENANT_TABLES, tablesOf, toCodeSystemVersion, versionRows,
} from './terminology-tables.js';
import { beginVersion } from './terminology-writer.js';

interface ConceptRow {
  code: string;
  display: string | null;
  active: boolean;
  designations: Concept['designations'] | null;
  properties: Concept['properties'] | null;
}

const CONCEPT_COLUMNS = 'k.code, k.display, k.active, k.designations, k.properties';

function toConcept(row: ConceptRow): Concept {
  return {
    code: row.code,
    ...(row.display !== null ? { display: row.display } : {}),
    active: row.active,
    ...(row.designations ? { designations: row.designations } : {}),
    ...(row.properties ? { properties: row.properties } : {}),
  };
}

interface ExpansionCodeRow {
  system: string;
  version: string | null;
  code: string;
  display: string | null;
  inactive: boolean;
}

function toExpansionCode(row: ExpansionCodeRow): ExpansionCode {
  return {
    system: row.system,
    ...(row.version !== null ? { version: row.version } : {}),
    code: row.code,
    ...(row.display !== null ? { display: row.display } : {}),
    ...(row.inactive ? { inactive: true } : {}),
  };
}

/** The most recently loaded first. */
const byVersion = (a: CodeSystemVersion, b: CodeSystemVersion) => b.loadedAt.getTime() - a.loadedAt.getTime();

/** A cached expansion's code as value_set_expansion_code stores it (the distributed mode's VALUES). */
const EXPANSION_CODE_FIELDS: readonly RowField[] = [
  { name: 'ord', type: 'int' }, { name: 'system', type: 'text' }, { name: 'version', type: 'text' }, { name: 'code', type: 'text' },
  { name: 'display', type: 'text' }, { name: 'inactive', type: 'boolean' }, { name: 'words', type: 'text' },
];

export class PgTerminologyStore implements TerminologyStore {
  constructor(
    private readonly client: pg.ClientBase,
    private readonly tenantId: string,
    /** Read with BEGIN (tenant-session.ts); dropped once this transaction bumps the tenant's. */
    private prefetchedGenerations?: TerminologyGenerations,
  ) {}

  async codeSystems(url: string, version?: string): Promise<CodeSystemVersion[]> {
    const versionCondition = version !== undefined ? ' AND version = $3' : '';
    // One round trip for both sets: the tenant's own first, then shared, each newest load first.
    const { rows } = await this.client.query<CodeSystemRow & { scope: 'tenant' | 'shared' }>(
      `SELECT ${CODE_SYSTEM_COLUMNS}, resource_id, 'tenant' AS scope FROM ${TENANT_TABLES.codeSystem} WHERE tenant_id = $2 AND url = $1${versionCondition} ` +
        `UNION ALL SELECT ${CODE_SYSTEM_COLUMNS}, NULL AS resource_id, 'shared' AS scope FROM ${SHARED_TABLES.codeSystem} WHERE url = $1${versionCondition}`,
      version !== undefined ? [url, this.tenantId, version] : [url, this.tenantId],
    );
    const of = (scope: 'tenant' | 'shared') => rows.filter((r) => r.scope === scope).map((r) => toCodeSystemVersion(r, scope)).sort(byVersion);
    return [...of('tenant'), ...of('shared')];
  }

  async concepts(cs: CodeSystemRef, codes: readonly string[]): Promise<Concept[]> {
    if (codes.length === 0) return [];
    const binds = new StatementBinds();
    const where = `${versionRows(cs, this.tenantId, 'k', binds)} AND k.code = ANY(${binds.add(codes)}::text[])`;
    const { rows } = await this.client.query<ConceptRow>(`SELECT ${CONCEPT_COLUMNS} FROM ${tablesOf(cs.scope).concept} k WHERE ${where}`, binds.values);
    return rows.map(toConcept);
  }

  async neighbours(cs: CodeSystemRef, code: string): Promise<{ parents: string[]; children: string[] }> {
    const binds = new StatementBinds();
    const rows = versionRows(cs, this.tenantId, 'p', binds);
    const c = binds.add(code);
    const table = tablesOf(cs.scope).parent;
    const { rows: edges } = await this.client.query<{ child: string; parent: string }>(
      `SELECT p.child, p.parent FROM ${table} p WHERE ${rows} AND (p.child = ${c} OR p.parent = ${c}) ORDER BY p.child, p.parent`,
      binds.values,
    );
    return { parents: edges.filter((e) => e.child === code).map((e) => e.parent), children: edges.filter((e) => e.parent === code).map((e) => e.child) };
  }

  async closureCodes(cs: CodeSystemRef, code: string, direction: 'below' | 'above', limit: number): Promise<string[]> {
    const binds = new StatementBinds();
    const [from, to] = direction === 'below' ? ['ancestor', 'descendant'] : ['descendant', 'ancestor'];
    const where = `${versionRows(cs, this.tenantId, 'cl', binds)} AND cl.${from} = ${binds.add(code)}`;
    const { rows } = await this.client.query<{ code: string }>(
      `SELECT cl.${to} AS code FROM ${tablesOf(cs.scope).closure} cl WHERE ${where} LIMIT ${binds.add(limit)}::bigint`,
      binds.values,
    );
    return rows.map((r) => r.code);
  }

  async subsumes(cs: CodeSystemRef, ancestor: string, descendant: string): Promise<boolean> {
    const binds = new StatementBinds();
    const where = `${versionRows(cs, this.tenantId, 'cl', binds)} AND cl.ancestor = ${binds.add(ancestor)} AND cl.descendant = ${binds.add(descendant)}`;
    const { rowCount } = await this.client.query(`SELECT 1 FROM ${tablesOf(cs.scope).closure} cl WHERE ${where}`, binds.values);
    return (rowCount ?? 0) > 0;
  }

  async regexProblem(pattern: string): Promise<string | undefined> {
    // A savepoint keeps the transaction usable when PostgreSQL refuses the pattern (SQLSTATE 2201B).
    await this.client.query('SAVEPOINT hearth_regex_check');
    try {
      await this.client.query("SELECT '' ~ $1", [pattern]);
      await this.client.query('RELEASE SAVEPOINT hearth_regex_check');
      return undefined;
    } catch (error) {
      await this.client.query('ROLLBACK TO SAVEPOINT hearth_regex_check');
      if ((error as { code?: string }).code !== '2201B') throw error;
      return (error as Error).message;
    }
  }

  async selectConcepts(cs: CodeSystemRef, selection: ConceptSelection): Promise<Concept[]> {
    const binds = new StatementBinds();
    const where = selectionWhere(cs, this.tenantId, selection, binds);
    const page = `LIMIT ${binds.add(selection.limit)}::bigint OFFSET ${binds.add(selection.offset ?? 0)}::bigint`;
    const { rows } = await this.client.query<ConceptRow>(
      `SELECT ${CONCEPT_COLUMNS} FROM ${tablesOf(cs.scope).concept} k WHERE ${where} ORDER BY k.code COLLATE "C" ${page}`,
      binds.values,
    );
    return rows.map(toConcept);
  }

  async countConcepts(cs: CodeSystemRef, selection: Omit<ConceptSelection, 'limit' | 'offset'>, cap: number): Promise<number> {
    const binds = new StatementBinds();
    const where = selectionWhere(cs, this.tenantId, selection, binds);
    const { rows } = await this.client.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM ${tablesOf(cs.scope).concept} k WHERE ${where} LIMIT ${binds.add(cap)}::bigint) capped`,
      binds.values,
    );
    return Number(rows[0].n);
  }

  beginCodeSystem(header: CodeSystemHeader, options?: { replace?: boolean; resourceId?: string }): Promise<CodeSystemWriter> {
    return beginVersion(this.client, TENANT_TABLES, this.tenantId, header, options);
  }

  async dropCodeSystemsOfResource(resourceId: string): Promise<number> {
    const { rowCount } = await this.client.query(`DELETE FROM ${TENANT_TABLES.codeSystem} WHERE tenant_id = $1 AND resource_id = $2`, [this.tenantId, resourceId]);
    return rowCount ?? 0;
  }

  async sharedResources(resourceType: 'CodeSystem' | 'ValueSet' | 'ConceptMap', url: string, version?: string): Promise<JsonObject[]> {
    const { rows } = await this.client.query<{ content: JsonObject }>(
      `SELECT content FROM terminology_resource WHERE resource_type = $1 AND url = $2${version !== undefined ? ' AND version = $3' : ''} ORDER BY version DESC`,
      version !== undefined ? [resourceType, url, version] : [resourceType, url],
    );
    return rows.map((r) => r.content);
  }

  async generations(): Promise<TerminologyGenerations> {
    if (this.prefetchedGenerations) return this.prefetchedGenerations;
    const { rows } = await this.client.query<{ shared: string; tenant: string | null }>(
      'SELECT (SELECT generation::text FROM terminology_generation) AS shared, ' +
        '(SELECT generation::text FROM tenant_terminology_generation WHERE tenant_id = $1) AS tenant',
      [this.tenantId],
    );
    return { shared: rows[0].shared, tenant: rows[0].tenant ?? '0' };
  }

  async bumpGeneration(): Promise<void> {
    this.prefetchedGenerations = undefined;
    await this.client.query(
      'INSERT INTO tenant_terminology_generation (tenant_id, generation) VALUES ($1, 1) ' +
        'ON CONFLICT (tenant_id) DO UPDATE SET generation = tenant_terminology_generation.generation + 1',
      [this.tenantId],
    );
  }

  async expansionCacheAccess(): Promise<ExpansionCacheAccess> {
    const { rows } = await this.client.query<{ ro: string }>("SELECT current_setting('transaction_read_only') AS ro");
    return rows[0]?.ro === 'off' ? 'read-write' : 'read-only';
  }

  async findExpansion(fingerprint: string): Promise<CachedExpansion | undefined> {
    const { rows } = await this.client.query<{ id: string; total: number }>(
      'SELECT id::text AS id, total FROM value_set_expansion WHERE tenant_id = $1 AND fingerprint = $2',
      [this.tenantId, fingerprint],
    );
    return rows[0];
  }

  async saveExpansion(fingerprint: string, valueSet: { url?: string; version?: string }, codes: readonly ExpansionCode[]): Promise<CachedExpansion> {
    const { rows } = await this.client.query<{ id: string }>(
      'INSERT INTO value_set_expansion (tenant_id, fingerprint, value_set_url, value_set_version, total) VALUES ($1, $2, $3, $4, $5) ' +
        'ON CONFLICT (tenant_id, fingerprint) DO NOTHING RETURNING id::text AS id',
      [this.tenantId, fingerprint, valueSet.url ?? null, valueSet.version ?? null, codes.length],
    );
    if (rows.length === 0) return (await this.findExpansion(fingerprint)) as CachedExpansion;
    const id = rows[0].id;
    if (onCoordinator(this.client)) {
      await this.saveExpansionCodesAsValues(id, codes);
      return { id, total: codes.length };
    }
    for (let start = 0; start < codes.length; start += 5_000) {
      const batch = codes.slice(start, start + 5_000);
      await this.client.query(
        'INSERT INTO value_set_expansion_code (tenant_id, expansion_id, ord, system, version, code, display, inactive, words) ' +
          'SELECT $1, $2::bigint, * FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[], $9::text[])',
        [
          this.tenantId,
          id,
          batch.map((_, i) => start + i),
          batch.map((c) => c.system),
          batch.map((c) => c.version ?? null),
          batch.map((c) => c.code),
          batch.map((c) => c.display ?? null),
          batch.map((c) => c.inactive ?? false),
          batch.map((c) => searchWords(c.display, c.code)),
        ],
      );
    }
    return { id, total: codes.length };
  }

  /** saveExpansion's codes on a Citus coordinator: INSERT … VALUES chunks (row-values.ts, ADR 0024). */
  private async saveExpansionCodesAsValues(id: string, codes: readonly ExpansionCode[]): Promise<void> {
    const rows = codes.map((c, ord) => ({ ord, system: c.system, version: c.version ?? null, code: c.code, display: c.display ?? null, inactive: c.inactive ?? false, words: searchWords(c.display, c.code) }));
    const inserts = valuesInserts('value_set_expansion_code', 'tenant_id, expansion_id, ord, system, version, code, display, inactive, words', EXPANSION_CODE_FIELDS, rows, {
      lead: [{ value: this.tenantId }, { value: id, type: 'bigint' }],
    });
    for (const insert of inserts) await this.client.query(insert);
  }

  async expansionPage(expansionId: string, options: { text?: string; offset: number; count: number }): Promise<{ codes: ExpansionCode[]; total: number }> {
    const binds = new StatementBinds();
    const where =
      `e.tenant_id = ${binds.add(this.tenantId)} AND e.expansion_id = ${binds.add(expansionId)}::bigint` +
      // The words stored with each code (migration 0021), or, for codes stored before it, normalized here.
      (options.text ? ` AND ${wordsMatch(`coalesce(e.words, ${normalizedWords(`(coalesce(e.display, '') || ' ' || e.code)`)})`, options.text, binds)}` : '');
    const { rows } = await this.client.query<ExpansionCodeRow & { total: string }>(
      `SELECT e.system, e.version, e.code, e.display, e.inactive, count(*) OVER () AS total FROM value_set_expansion_code e WHERE ${where} ` +
        `ORDER BY e.ord LIMIT ${binds.add(options.count)}::bigint OFFSET ${binds.add(options.offset)}::bigint`,
      binds.values,
    );
    if (rows.length > 0) return { codes: rows.map(toExpansionCode), total: Number(rows[0].total) };
    // An empty page (count=0, or past the end, or nothing matches): count alone.
    const { rows: counted } = await this.client.query<{ n: string }>(`SELECT count(*) AS n FROM value_set_expansion_code e WHERE ${where}`, binds.values.slice(0, -2));
    return { codes: [], total: Number(counted[0].n) };
  }

  async expansionContains(expansionId: string, system: string | undefined, code: string): Promise<ExpansionCode | undefined> {
    const { rows } = await this.client.query<ExpansionCodeRow>(
      'SELECT e.system, e.version, e.code, e.display, e.inactive FROM value_set_expansion_code e ' +
        'WHERE e.tenant_id = $1 AND e.expansion_id = $2::bigint AND e.code = $3 AND ($4::text IS NULL OR e.system = $4) LIMIT 1',
      [this.tenantId, expansionId, code, system ?? null],
    );
    return rows[0] && toExpansionCode(rows[0]);
  }
}
