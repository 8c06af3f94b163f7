// Runs searches (FHIR R4 search.html) inside a tenant transaction: parse -> SQL -> rows,
// with keyset paging and _total. Also serves conditional create/update/delete
// (http.html#ccreate) so they match exactly what a search would. Every statement carries the
// caller's data constraint (`scope`, reach.ts; SMART scopes) inside it, before its LIMIT.
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import type { ResourceStore, StoredVersion } from '../storage/resource-store.js';
import { encodeCursor, type CursorValue } from './cursor.js';
import { resolveIncludes } from './include.js';
import { parseSearchQuery, type ParseOptions } from './parse-query.js';
import { correlateJoins, JOIN_QUICK_LIST_LIMIT, JOIN_WALK_MAX_ROWS_PER_MATCH, JOIN_WALK_ROWS_PER_MATCH, joinsListed, joinWalkEligible, planJoins } from './plan.js';
import type { SearchQuery } from './query.js';
import type { SearchRegistry } from './registry/registry.js';
import type { SearchParamDef } from './types.js';
import { SYSTEM_WIDE_TYPES } from '../storage/table-names.js';
import { countStatement, drawsCodesFromTerminology, indexWalkEligible, pageStatement, walkFirstEligible, walkStatement, type PageStatement } from './sql.js';
import { systemCountStatement, systemPageStatement, typesWithRowsStatement, type SystemBranch } from './system-sql.js';
import { parseSystemQuery, type SystemSearchQuery } from './system.js';
import { searchSql } from './search-sql.js';
import type { SearchStatement } from './where-sql.js';
import { FULL_READ_SCOPE, type ReadScope } from './reach.js';
import { codesDrawn, FEW_CODES } from './params/token.js';
import { resolveTerminology, terminologyResolver, type ValueSetExpander } from './terminology-plan.js';

export interface SearchPage {
  matches: StoredVersion[];
  /** Cursor token for the next page, when there is one. */
  next?: string;
  /** Cursor token for the previous page, when there is one. */
  previous?: string;
  total?: number;
  /** _include/_revinclude results for this page's matches (search.mode 'include'; not in total). */
  included?: StoredVersion[];
  /** Problems to report in an OperationOutcome entry (e.g. the include cap was hit). */
  warnings?: OperationOutcomeIssue[];
}

interface PageRow {
  id: string;
  version_id: number;
  last_updated: Date;
  content: string;
  [key: `k${number}`]: CursorValue;
  /** System search only. */
  resource_type?: string;
}

/** The matches of a page and its cursors; `rows` holds up to count + 1 rows (more = a next page). */
function pageOf(rows: PageRow[], statement: PageStatement, query: Pick<SearchQuery, 'count' | 'page'>, typeOf: (row: PageRow) => string) {
  const more = rows.length > query.count;
  const backwards = statement.direction === 'before';
  const page = backwards ? rows.slice(0, query.count).reverse() : rows.slice(0, query.count);
  const keyOf = (row: PageRow) => Array.from({ length: statement.sortColumnCount }, (_, i) => row[`k${i}`]);
  const first = page[0];
  const last = page[page.length - 1];
  // A page reached from a cursor always has a neighbour on the side it came from.
  const next = last && (backwards || more) ? encodeCursor('after', keyOf(last)) : undefined;
  const previous = first && (backwards ? more : query.page !== undefined) ? encodeCursor('before', keyOf(first)) : undefined;
  const matches: StoredVersion[] = page.map((row) => ({
    resourceType: typeOf(row),
    id: row.id,
    versionId: row.version_id,
    lastUpdated: row.last_updated,
    deleted: false,
    content: row.content,
  }));
  return { matches, next, previous };
}

interface PageRun {
  query: SearchQuery;
  statement: PageStatement;
  rows: PageRow[];
  total?: number;
}

/** Rows a walk-first search reads before falling back to the planner's choice (sql.ts walkStatement). */
const WALK_FIRST_ROWS = 5000;

/** Rows per row of the page an index walk reads before asking the GIN index (sql.ts indexWalkEligible). */
const INDEX_WALK_ROWS_PER_MATCH = 10;
/**
 * The same for many codes drawn from terminology (`:below` a wide subtree, `:in` a large
 * ValueSet; more than FEW_CODES): a walk tests each row cheaply
 * (PredicateContext.rowTest), while the GIN path rechecks every match against every code of the
 * subtree, so a walk that finds a page where 1% of the rows match pays off.
 */
const TERMINOLOGY_WALK_ROWS_PER_MATCH = 150;

/** A filter draws many codes from terminology (a wide subtree, a large expansion). */
function drawsManyCodes(query: SearchQuery): boolean {
  return query.filters.some((f) => drawsCodesFromTerminology(f) && f.kind === 'index' && f.values.some((v) => codesDrawn(v) > FEW_CODES));
}

export class SearchEngine {
  /** How `:in`/`:not-in` find a ValueSet's expansion (set by the composition root; terminology-plan.ts). */
  private expander?: ValueSetExpander;

  constructor(
    readonly registry: SearchRegistry,
    private readonly limits: Omit<ParseOptions, 'lenient'>,
  ) {}

  useValueSetExpander(expander: ValueSetExpander): void {
    this.expander = expander;
  }

  /** The query with its terminology resolved against this tenant's concept storage. */
  private resolved(store: ResourceStore, query: SearchQuery): Promise<SearchQuery> {
    return resolveTerminology(query, () => terminologyResolver(store, this.expander));
  }

  /** `registry`: the tenant's searchable parameters (TenantSearchParameters), R4 only by default. */
  parse(resourceType: string, params: URLSearchParams, lenient: boolean, registry: SearchRegistry = this.registry): SearchQuery {
    return parseSearchQuery(registry, resourceType, params, { ...this.limits, lenient });
  }

  /** `scope`: the caller's data constraint; FULL_READ_SCOPE only for administrators and internal callers. */
  async run(store: ResourceStore, asked: SearchQuery, registry: SearchRegistry = this.registry, scope: ReadScope = FULL_READ_SCOPE): Promise<SearchPage> {
    // _summary=count asks for the total only: no page is read and there is no next link.
    const resolved = await this.resolved(store, asked);
    const parsed = resolved.summary === 'count' ? { ...resolved, count: 0 } : resolved;
    const lastUpdated = this.registry.get(parsed.resourceType, '_lastUpdated');
    const { query, statement, rows, total } = (await this.joinWalk(store, parsed, scope, lastUpdated)) ?? (await this.plannedPage(store, parsed, scope, lastUpdated));
    if (query.count === 0) return { matches: [], total };
    const { matches, next, previous } = pageOf(rows, statement, query, () => query.resourceType);
    if (query.includes.length === 0 || query.summary === 'count' || matches.length === 0) return { matches, next, previous, total };
    const { included, warnings } = await resolveIncludes(store, registry, query.includes, matches, undefined, scope);
    return { matches, next, previous, total, included, warnings };
  }

  /**
   * A page of an id-ordered chain or _has search found by walking a few rows in page order with
   * the joins correlated (plan.ts); undefined when the walk did not find a full page.
   */
  private async joinWalk(store: ResourceStore, parsed: SearchQuery, scope: ReadScope, lastUpdated?: SearchParamDef): Promise<PageRun | undefined> {
    if (!joinWalkEligible(parsed) || constrains(scope, parsed.resourceType)) return undefined;
    const query = correlateJoins(parsed);
    const wanted = query.count + 1;
    const walk = async (rowsWalked: number) => {
      const statement = walkStatement(query, store.tenantId, rowsWalked, lastUpdated, scope);
      return { query, statement, rows: await store.query<PageRow>(statement.text, statement.values), total: undefined };
    };
    const first = await walk(JOIN_WALK_ROWS_PER_MATCH * wanted);
    if (first.rows.length >= wanted) return first;
    if (first.rows.length === 0) {
      // Nothing near the start: a join with few inner matches (a rare code where most patients
      // have nothing) is listed and its page is one exact lookup; a walk would probe on and on.
      const listed = await planJoins(store, parsed, lastUpdated, scope, JOIN_QUICK_LIST_LIMIT);
      return joinsListed(listed) ? this.plannedPage(store, parsed, scope, lastUpdated, listed) : undefined;
    }
    // Some matches, not a page: the density seen says how far the page lies. One longer walk
    // when that is near, rather than listing every source of a broad join (tens of ms;
    // docs/benchmarks.md, issue 14).
    const needed = Math.ceil(((JOIN_WALK_ROWS_PER_MATCH * wanted * wanted) / first.rows.length) * 1.5);
    if (needed > JOIN_WALK_MAX_ROWS_PER_MATCH * wanted) return undefined;
    const second = await walk(needed);
    return second.rows.length >= wanted ? second : undefined;
  }

  /** Joins planned, the total counted, then the page: walk-first where eligible, else the planner's. */
  private async plannedPage(store: ResourceStore, parsed: SearchQuery, scope: ReadScope, lastUpdated?: SearchParamDef, planned?: SearchQuery): Promise<PageRun> {
    const query = planned ?? (await planJoins(store, parsed, lastUpdated, scope));
    const total = await this.total(store, query, scope);
    if (query.count === 0) return { query, statement: pageStatement(query, store.tenantId, lastUpdated, { scope }), rows: [], total };
    // A constrained type (a patient's compartment) is selective, like a filter naming a
    // resource: no walk in id order, and an order that keeps the planner on the GIN index.
    const constrained = constrains(scope, query.resourceType);
    const onIndex = constrained ? query.sort.length === 0 : indexWalkEligible(query);
    const rowsPerMatch = drawsManyCodes(query) ? TERMINOLOGY_WALK_ROWS_PER_MATCH : INDEX_WALK_ROWS_PER_MATCH;
    const walkRows = constrained ? 0 : walkFirstEligible(query) ? WALK_FIRST_ROWS : onIndex ? rowsPerMatch * (query.count + 1) : 0;
    let statement = walkRows > 0 ? walkStatement(query, store.tenantId, walkRows, lastUpdated, scope) : undefined;
    let rows = statement ? await store.query<PageRow>(statement.text, statement.values) : [];
    if (!statement || rows.length <= query.count) {
      statement = pageStatement(query, store.tenantId, lastUpdated, { onIndex, scope });
      rows = await store.query<PageRow>(statement.text, statement.values);
    }
    return { query, statement, rows, total };
  }

  /**
   * The statement that produced the page (a join walk, a walk-first or the planner's) and
   * PostgreSQL's plan for it (EXPLAIN ANALYZE, read-only transaction).
   */
  async explain(store: ResourceStore, asked: SearchQuery, scope: ReadScope = FULL_READ_SCOPE): Promise<{ sql: string; values: unknown[]; plan: string }> {
    const parsed = await this.resolved(store, asked);
    const lastUpdated = this.registry.get(parsed.resourceType, '_lastUpdated');
    const { statement } = (await this.joinWalk(store, parsed, scope, lastUpdated)) ?? (await this.plannedPage(store, parsed, scope, lastUpdated));
    const rows = await store.query<{ 'QUERY PLAN': string }>(searchSql(`EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`), statement.values);
    return { sql: statement.text, values: statement.values, plan: rows.map((r) => r['QUERY PLAN']).join('\n') };
  }

  /** Live resources matching conditional-operation criteria, at most `limit`. */
  async findMatches(
    store: ResourceStore,
    resourceType: string,
    params: URLSearchParams,
    limit: number,
    registry: SearchRegistry = this.registry,
    scope: ReadScope = FULL_READ_SCOPE,
  ): Promise<StoredVersion[]> {
    const query = this.parse(resourceType, params, false, registry);
    query.count = limit;
    query.sort = [];
    query.total = 'none';
    query.includes = [];
    return (await this.run(store, query, registry, scope)).matches;
  }

  /**
   * The types a system search without _type covers: those with at least one row in the tenant
   * (one primary-key probe per type), rather than a 146-branch union on every request.
   */
  async typesWithRows(store: ResourceStore, scope: ReadScope = FULL_READ_SCOPE): Promise<string[]> {
    const statement = typesWithRowsStatement(SYSTEM_WIDE_TYPES, store.tenantId, scope);
    const rows = await store.query<{ resource_type: string }>(statement.text, statement.values);
    return rows.map((r) => r.resource_type).sort();
  }

  /** System search (http.html#search): `types` sorted, from _type or typesWithRows. */
  parseSystem(types: string[], explicitTypes: boolean, params: URLSearchParams, lenient: boolean, registry: SearchRegistry = this.registry): SystemSearchQuery {
    return parseSystemQuery(registry, types, explicitTypes, params, { ...this.limits, lenient });
  }

  async runSystem(store: ResourceStore, query: SystemSearchQuery, registry: SearchRegistry = this.registry, scope: ReadScope = FULL_READ_SCOPE): Promise<SearchPage> {
    const { result } = query;
    // Types the caller cannot search at all are left out (their branch would find nothing).
    const reached = scope.unrestricted ? query : { ...query, branches: query.branches.filter((b) => scope.reach(b.resourceType, ['s']).kind !== 'none') };
    const reachable = { ...reached, branches: await Promise.all(reached.branches.map((b) => this.resolved(store, b))) };
    if (reachable.branches.length === 0) return { matches: [], total: result.total === 'none' ? undefined : 0 };
    const branches = this.systemBranches(reachable, registry);
    const mode = result.total === 'none' || scope.unrestricted ? result.total : 'accurate'; // see total()
    const total = mode === 'none' ? undefined : await this.countRows(store, mode, systemCountStatement(branches, store.tenantId, scope));
    if (result.count === 0) return { matches: [], total };
    const statement = systemPageStatement(branches, store.tenantId, scope);
    const rows = await store.query<PageRow>(statement.text, statement.values);
    return { ...pageOf(rows, statement, result, (row) => row.resource_type as string), total };
  }

  /** As explain, for a system search (at least one type). */
  async explainSystem(store: ResourceStore, query: SystemSearchQuery, registry: SearchRegistry = this.registry): Promise<{ sql: string; values: unknown[]; plan: string }> {
    const resolved = { ...query, branches: await Promise.all(query.branches.map((b) => this.resolved(store, b))) };
    const statement = systemPageStatement(this.systemBranches(resolved, registry), store.tenantId);
    const rows = await store.query<{ 'QUERY PLAN': string }>(searchSql(`EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`), statement.values);
    return { sql: statement.text, values: statement.values, plan: rows.map((r) => r['QUERY PLAN']).join('\n') };
  }

  private systemBranches(query: SystemSearchQuery, registry: SearchRegistry): SystemBranch[] {
    return query.branches.map((q) => ({ query: q, lastUpdatedDef: registry.get(q.resourceType, '_lastUpdated') }));
  }

  private async total(store: ResourceStore, query: SearchQuery, scope: ReadScope): Promise<number | undefined> {
    if (query.total === 'none') return undefined;
    const lastUpdated = this.registry.get(query.resourceType, '_lastUpdated');
    // An estimate comes from statistics over every row of the tenant, reachable or not: under a
    // data constraint the count is exact instead, so the answer cannot depend on other data.
    const mode = constrains(scope, query.resourceType) ? ('accurate' as const) : query.total;
    return this.countRows(store, mode, countStatement(query, store.tenantId, lastUpdated, scope));
  }

  private async countRows(store: ResourceStore, mode: 'estimate' | 'accurate', count: SearchStatement): Promise<number> {
    if (mode === 'accurate') {
      const [row] = await store.query<{ n: number }>(count.text, count.values);
      return Number(row.n);
    }
    // Estimate from planner statistics: cheap, and what the spec allows for _total=estimate.
    const [plan] = await store.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(searchSql(`EXPLAIN (FORMAT JSON) ${count.text.replace('count(*)::bigint AS n', '1')}`), count.values);
    return Math.round(plan['QUERY PLAN'][0].Plan['Plan Rows']);
  }
}

/** True when `scope` limits the rows of `type` a search may match. */
const constrains = (scope: ReadScope, type: string): boolean => !scope.unrestricted && scope.reach(type, ['s']).kind !== 'all';
