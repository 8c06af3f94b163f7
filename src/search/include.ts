// _include and _revinclude (FHIR R4 search.html#include, #revinclude, #iterate): the
// resources referenced by, or referring to, the matches of the current page.
//
// Resolution works in rounds. Round 1 applies every IncludeSpec to the page's matches;
// each later round applies only the `:iterate` specs to the resources the previous round
// added. Per round:
//   - forward includes: the targets are read from the `sp` index of the focus resources
//     (referenceTargets: relative `Type/id` only; a versioned reference also stored its
//     unversioned form, so it resolves to the current version), then fetched in ONE
//     statement — a UNION ALL of one primary-key lookup (`id = ANY($n::text[])`) per
//     target type;
//   - reverse includes: ONE statement per spec over the source type's table, with one
//     containment probe `sp @> {"<code>": ["Type/id"]}` per focus resource (and per
//     parameter for `Type:*`), joined LATERAL to the unnested probe array so that each
//     probe is a Bitmap Index Scan on the GIN (jsonb_path_ops) index `<table>_sp_idx`
//     (see revincludeStatement for why not `sp @> ANY(...)`).
// Every statement filters the tenant, `NOT deleted` and the caller's reach of the type read
// (liveRows: 'r', SMART scopes), binds every value, and takes table names only from tablesFor().
// A reference to a resource out of reach finds nothing, as if that resource did not exist. A resource is included at most once and never when it is a
// match. Bounds: `maxRounds` rounds and `maxIncluded` included resources in total; hitting
// either adds a warning for an OperationOutcome entry (search.mode 'outcome').
import { groupBy } from '../core/group-by.js';
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { issue } from '../core/errors.js';
import { isResourceType } from '../core/resource-types.js';
import type { ResourceStore, StoredVersion } from '../storage/resource-store.js';
import { indexContains, indexSelection, tablesFor } from '../storage/table-names.js';
import { referenceTargets } from './params/reference.js';
import type { IncludeSpec } from './query.js';
import type { SearchRegistry } from './registry/registry.js';
import type { SearchIndex, SearchParamDef } from './types.js';
import { searchSql } from './search-sql.js';
import type { SearchStatement } from './where-sql.js';
import { liveRows } from './live-rows.js';
import { FULL_READ_SCOPE, type ReadScope } from './reach.js';

export interface IncludeLimits {
  /** Rounds in total: the first over the matches plus the `:iterate` ones. */
  maxRounds: number;
  /** Included resources per search page, over all rounds. */
  maxIncluded: number;
}

export const DEFAULT_INCLUDE_LIMITS: Readonly<IncludeLimits> = Object.freeze({ maxRounds: 3, maxIncluded: 1000 });

export interface IncludeResult {
  /** Included resources (search.mode 'include'), each once, none of them a match. */
  included: StoredVersion[];
  /** Why the included set may be incomplete (limits hit). */
  warnings: OperationOutcomeIssue[];
}

/** A resource whose references (or referrers) a round follows. */
interface FocusNode {
  type: string;
  id: string;
  /** Its index; undefined until loaded (matches), null when the row has none. */
  sp?: SearchIndex | null;
}

interface IncludedRow {
  resource_type?: string;
  id: string;
  version_id: number;
  last_updated: Date;
  content: string;
  sp?: SearchIndex | null;
}

/** $n placeholders for one statement. */
class Binds {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const keyOf = (type: string, id: string) => `${type}/${id}`;
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Revinclude queries per spec and round when duplicate rows fill the LIMIT (x4 each time). */
const MAX_REVINCLUDE_ATTEMPTS = 3;

/** The reference parameters of `type` (for `Type:*`). */
function referenceDefs(registry: SearchRegistry, type: string): SearchParamDef[] {
  return [...registry.forType(type).values()].filter((def) => def.type === 'reference');
}

/** True when `def` may refer to a resource of `type` (no declared targets = any). */
const mayTarget = (def: SearchParamDef, type: string) => def.targets.length === 0 || def.targets.includes(type);

export type IncludeStatement = SearchStatement;

/**
 * _include: the live resources with the given ids, per type, in one statement (a UNION ALL
 * of primary-key lookups), each row naming its type; at most `limit` rows.
 */
export function includeStatement(
  tenantId: string,
  ids: ReadonlyMap<string, readonly string[]>,
  limit: number,
  withIndex: boolean,
  scope: ReadScope = FULL_READ_SCOPE,
): IncludeStatement {
  const binds = new Binds();
  const tenant = binds.add(tenantId);
  const rows = { tenant, binds, scope };
  const branches = [...ids]
    .sort(([a], [b]) => compare(a, b))
    .map(
      ([type, list]) =>
        `SELECT ${binds.add(type)}::text AS resource_type, r.id, r.version_id, r.last_updated, r.content${withIndex ? `, ${indexSelection('r', type)}` : ''} ` +
        `FROM ${tablesFor(type).current} r WHERE ${liveRows('r', type, rows, 'r')} AND r.id = ANY(${binds.add(list)}::text[])`,
    );
  const max = binds.add(limit);
  const text = branches.length === 1 ? `${branches[0]} LIMIT ${max}` : `SELECT * FROM (${branches.join(' UNION ALL ')}) u LIMIT ${max}`;
  return { text: searchSql(text), values: binds.values };
}

/**
 * _revinclude: the live `sourceType` resources whose index contains one of `probes`
 * (`{"<code>": ["Type/id"]}` as JSON text), except the ids in `exclude`; at most `limit`
 * rows, and a resource matching several probes comes once per probe.
 *
 * One containment per probe, as a LATERAL join over the unnested probes: each probe is a
 * parameterized Bitmap Index Scan on the GIN index, and LIMIT stops early. Not
 * `sp @> ANY($n::jsonb[])`: PostgreSQL estimates every containment at its default 1%
 * selectivity, so from ~20 probes on it expects a large part of the table to match and
 * picks a sequential scan (seconds on 1M rows); the join keeps the per-probe index plan.
 */
export function revincludeStatement(
  tenantId: string,
  sourceType: string,
  probes: readonly string[],
  exclude: readonly string[],
  limit: number,
  withIndex: boolean,
  scope: ReadScope = FULL_READ_SCOPE,
): IncludeStatement {
  const binds = new Binds();
  const tenant = binds.add(tenantId);
  const where = [liveRows('s', sourceType, { tenant, binds, scope }, 'r'), indexContains('s', sourceType, 'p.probe')];
  const probeList = binds.add(probes);
  if (exclude.length > 0) where.push(`NOT (s.id = ANY(${binds.add(exclude)}::text[]))`);
  const sp = withIndex ? `, ${indexSelection('s', sourceType)}` : '';
  const text =
    `SELECT r.* FROM unnest(${probeList}::jsonb[]) AS p(probe) CROSS JOIN LATERAL ` +
    `(SELECT s.id, s.version_id, s.last_updated, s.content${sp} FROM ${tablesFor(sourceType).current} s WHERE ${where.join(' AND ')}) r ` +
    `LIMIT ${binds.add(limit)}`;
  return { text: searchSql(text), values: binds.values };
}

/** Follows the `includes` of a search from the page's `matches`. */
export async function resolveIncludes(
  store: ResourceStore,
  registry: SearchRegistry,
  includes: readonly IncludeSpec[],
  matches: readonly StoredVersion[],
  limits: IncludeLimits = DEFAULT_INCLUDE_LIMITS,
  scope: ReadScope = FULL_READ_SCOPE,
): Promise<IncludeResult> {
  const resolver = new IncludeResolver(store, registry, includes, limits, scope);
  return resolver.run(matches);
}

class IncludeResolver {
  private readonly seen = new Set<string>();
  /** Ids already in the result (matches and included), per type: excluded from revinclude queries. */
  private readonly seenIds = new Map<string, string[]>();
  private readonly included: StoredVersion[] = [];
  private readonly warnings: OperationOutcomeIssue[] = [];
  private capped = false;
  /** Included rows carry their index only when a later round may follow their references. */
  private readonly needIndex: boolean;

  constructor(
    private readonly store: ResourceStore,
    private readonly registry: SearchRegistry,
    private readonly includes: readonly IncludeSpec[],
    private readonly limits: IncludeLimits,
    private readonly scope: ReadScope,
  ) {
    this.needIndex = includes.some((s) => s.iterate && s.direction === 'include');
  }

  async run(matches: readonly StoredVersion[]): Promise<IncludeResult> {
    for (const m of matches) this.markSeen(m.resourceType, m.id);
    let focus: FocusNode[] = matches.map((m) => ({ type: m.resourceType, id: m.id }));
    for (let round = 1; focus.length > 0 && !this.capped; round++) {
      const specs = round === 1 ? this.includes : this.includes.filter((s) => s.iterate);
      if (!specs.some((s) => this.applies(s, focus))) break;
      if (round > this.limits.maxRounds) {
        this.warnings.push(
          issue({
            severity: 'warning',
            code: 'incomplete',
            diagnostics: `_include/_revinclude :iterate stopped after ${this.limits.maxRounds} rounds; further included resources were not followed`,
          }),
        );
        break;
      }
      focus = await this.round(specs, focus);
    }
    return { included: this.included, warnings: this.warnings };
  }

  private markSeen(type: string, id: string): void {
    this.seen.add(keyOf(type, id));
    const ids = this.seenIds.get(type);
    if (ids) ids.push(id);
    else this.seenIds.set(type, [id]);
  }

  /** The parameters through which `spec` follows references out of a `type` resource. */
  private forwardDefs(spec: IncludeSpec, type: string): SearchParamDef[] {
    if (spec.sourceType !== type && spec.sourceType !== '*') return [];
    if (spec.def) return spec.def.resourceType === type ? [spec.def] : [];
    return referenceDefs(this.registry, type);
  }

  /** The parameters of spec.sourceType through which a resource may refer to a `type` resource. */
  private reverseDefs(spec: IncludeSpec, type: string): SearchParamDef[] {
    if (spec.sourceType === '*' || !isResourceType(spec.sourceType)) return [];
    if (spec.targetType !== undefined && spec.targetType !== type) return [];
    const defs = spec.def ? [spec.def] : referenceDefs(this.registry, spec.sourceType);
    return defs.filter((def) => mayTarget(def, type));
  }

  /** Whether `spec` has anything to follow from `focus` (without querying). */
  private applies(spec: IncludeSpec, focus: readonly FocusNode[]): boolean {
    const types = new Set(focus.map((n) => n.type));
    for (const type of types) {
      const defs = spec.direction === 'include' ? this.forwardDefs(spec, type) : this.reverseDefs(spec, type);
      if (defs.length > 0) return true;
    }
    return false;
  }

  private remaining(): number {
    return this.limits.maxIncluded - this.included.length;
  }

  /** One round: returns the resources it added (the next round's focus). */
  private async round(specs: readonly IncludeSpec[], focus: FocusNode[]): Promise<FocusNode[]> {
    const added: FocusNode[] = [];
    const forward = specs.filter((s) => s.direction === 'include');
    if (forward.length > 0) await this.forward(forward, focus, added);
    for (const spec of specs) {
      if (this.capped) break;
      if (spec.direction === 'revinclude') await this.reverse(spec, focus, added);
    }
    return added;
  }

  // ---------------------------------------------------------------------------------------
  // _include

  private async forward(specs: readonly IncludeSpec[], focus: FocusNode[], added: FocusNode[]): Promise<void> {
    await this.loadIndexes(focus.filter((n) => n.sp === undefined && specs.some((s) => this.forwardDefs(s, n.type).length > 0)));
    const targets = new Map<string, Set<string>>();
    for (const node of focus) {
      if (!node.sp) continue;
      for (const spec of specs) {
        for (const def of this.forwardDefs(spec, node.type)) {
          for (const target of referenceTargets(node.sp, def)) {
            if (spec.targetType !== undefined && target.type !== spec.targetType) continue;
            if (!isResourceType(target.type) || this.seen.has(keyOf(target.type, target.id))) continue;
            let ids = targets.get(target.type);
            if (!ids) targets.set(target.type, (ids = new Set()));
            ids.add(target.id);
          }
        }
      }
    }
    if (targets.size === 0) return;
    const ids = new Map([...targets].map(([type, set]) => [type, [...set]]));
    const statement = includeStatement(this.store.tenantId, ids, this.remaining() + 1, this.needIndex, this.scope);
    const rows = await this.store.query<IncludedRow>(statement.text, statement.values);
    this.accept(rows, undefined, added);
  }

  /** Reads the `sp` of focus resources that do not carry it (the matches): one query per type. */
  private async loadIndexes(nodes: FocusNode[]): Promise<void> {
    for (const [type, list] of groupBy(nodes, (node) => node.type)) {
      const binds = new Binds();
      const tenant = binds.add(this.store.tenantId);
      const where = liveRows('r', type, { tenant, binds, scope: this.scope }, 's');
      const rows = await this.store.query<{ id: string; sp: SearchIndex | null }>(
        searchSql(`SELECT r.id, ${indexSelection('r', type)} FROM ${tablesFor(type).current} r WHERE ${where} AND r.id = ANY(${binds.add(list.map((n) => n.id))}::text[])`),
        binds.values,
      );
      const index = new Map(rows.map((r) => [r.id, r.sp]));
      for (const node of list) node.sp = index.get(node.id) ?? null;
    }
  }

  // ---------------------------------------------------------------------------------------
  // _revinclude

  private async reverse(spec: IncludeSpec, focus: FocusNode[], added: FocusNode[]): Promise<void> {
    const probes = new Set<string>();
    for (const node of focus) {
      for (const def of this.reverseDefs(spec, node.type)) probes.add(JSON.stringify({ [def.code]: [keyOf(node.type, node.id)] }));
    }
    if (probes.size === 0) return;
    const exclude = this.seenIds.get(spec.sourceType) ?? [];
    const wanted = this.remaining() + 1;
    // A resource matching several probes comes several times: when duplicates filled the
    // LIMIT without reaching `wanted` distinct rows, ask again for more (rarely needed).
    let rows: IncludedRow[] = [];
    for (let limit = wanted, attempt = 0; attempt < MAX_REVINCLUDE_ATTEMPTS; attempt++, limit *= 4) {
      const statement = revincludeStatement(this.store.tenantId, spec.sourceType, [...probes], exclude, limit, this.needIndex, this.scope);
      rows = await this.store.query<IncludedRow>(statement.text, statement.values);
      if (rows.length < limit || new Set(rows.map((r) => r.id)).size >= wanted) break;
      if (attempt === MAX_REVINCLUDE_ATTEMPTS - 1) this.truncated();
    }
    this.accept(rows, spec.sourceType, added);
  }

  // ---------------------------------------------------------------------------------------

  /** The cap was hit: stop including, and say so once. */
  private truncated(): void {
    if (this.capped) return;
    this.capped = true;
    this.warnings.push(
      issue({
        severity: 'warning',
        code: 'incomplete',
        diagnostics: `_include/_revinclude: the included resources reached the limit of ${this.limits.maxIncluded}; further ones are not returned`,
      }),
    );
  }

  /** Adds rows (in a stable order) until the cap; `type` when the statement has one table. */
  private accept(rows: IncludedRow[], type: string | undefined, added: FocusNode[]): void {
    const sorted = rows
      .map((row) => ({ row, type: type ?? (row.resource_type as string) }))
      .sort((a, b) => compare(a.type, b.type) || compare(a.row.id, b.row.id));
    for (const { row, type: rowType } of sorted) {
      if (this.seen.has(keyOf(rowType, row.id))) continue;
      if (this.remaining() <= 0) {
        this.truncated();
        return;
      }
      this.markSeen(rowType, row.id);
      this.included.push({
        resourceType: rowType,
        id: row.id,
        versionId: row.version_id,
        lastUpdated: row.last_updated,
        deleted: false,
        content: row.content,
      });
      added.push({ type: rowType, id: row.id, sp: this.needIndex ? (row.sp ?? null) : null });
    }
  }
}
