// The data constraint of a caller's access (SMART App Launch 2.x scopes-and-launch-context.html,
// issue 10 "Scopes and enforcement") as the search layer sees it: per resource type and
// permission letter, which rows a statement may touch — every row, none, or those matching one
// of a few alternatives of filters (the Patient compartment of the launch patient, a granular
// scope's search parameters). src/fhir/access/access-scope.ts builds a ReadScope from the
// request's AccessContext; this module turns it into SQL (liveRows, the store's reads) and into
// the same decision in memory (the in-memory store, per-version checks of history and vread).
//
// Only id, index and compartment filters may appear in a constraint: they compile to a plain
// condition on the row (GIN containment on `sp`, or the primary key) with no further table to
// open, so a constraint never needs a constraint of its own.
import type { Permission } from '../core/smart-scopes.js';
import type { RowReach } from '../storage/resource-store.js';
import { indexColumn } from '../storage/table-names.js';
import { moduleFor } from './params/modules.js';
import type { ReferenceValue } from './params/reference.js';
import type { CompartmentFilter, Filter, IdFilter, IndexFilter } from './query.js';
import type { SearchIndex, SearchParamDef, SqlBinds } from './types.js';

/** A filter a data constraint is made of. */
export type ConstraintFilter = IdFilter | IndexFilter | CompartmentFilter;

/** Which rows of one type the caller may reach: every one, none, or those matching ANY alternative (each an AND of filters). */
export type TypeReach = { kind: 'all' } | { kind: 'none' } | { kind: 'some'; any: readonly (readonly ConstraintFilter[])[] };

export interface ReadScope {
  /** Rows of `type` the caller may reach through any of `letters` (e.g. ['s'] for search matches, ['r'] for includes). */
  reach(type: string, letters: readonly Permission[]): TypeReach;
  /** True when no type is constrained (an administrator, system scopes without constraints): statements stay as they were. */
  readonly unrestricted: boolean;
}

export const ALL: TypeReach = Object.freeze({ kind: 'all' });
export const NONE: TypeReach = Object.freeze({ kind: 'none' });

/** No data constraint at all (administrators, the open embedded mode, internal jobs). */
export const FULL_READ_SCOPE: ReadScope = Object.freeze({ reach: () => ALL, unrestricted: true });

/** One constraint filter as SQL over the row `alias` (its `id` and `sp` columns). */
function filterSql(filter: ConstraintFilter, alias: string, binds: SqlBinds): string {
  switch (filter.kind) {
    case 'id': {
      const test = `${alias}.id = ANY(${binds.add(filter.ids)}::text[])`;
      return filter.negate ? `NOT (${test})` : test;
    }
    case 'index': {
      const module = moduleFor(filter.def.type);
      if (!module) throw new Error(`no module for ${filter.def.type}`);
      return module.predicate(filter.def, filter.modifier, filter.values, indexColumn(alias, filter.def.resourceType, filter.def.code), binds);
    }
    case 'compartment':
      // One GIN containment per compartment parameter, as compartment search writes it.
      return filter.defs
        .map((def) => `${indexColumn(alias, def.resourceType, def.code)} @> jsonb_build_object(${binds.add(def.code)}::text, jsonb_build_array(${binds.add(filter.reference)}::text))`)
        .join(' OR ');
  }
}

/**
 * The condition `reach` puts on the row `alias`: undefined when it puts none (every row),
 * 'FALSE' when no row may be reached, else the OR of its alternatives.
 */
export function reachSql(reach: TypeReach, alias: string, binds: SqlBinds): string | undefined {
  if (reach.kind === 'all') return undefined;
  if (reach.kind === 'none' || reach.any.length === 0) return 'FALSE';
  const alternatives = reach.any.map((filters) => (filters.length === 0 ? 'TRUE' : filters.map((f) => `(${filterSql(f, alias, binds)})`).join(' AND ')));
  return alternatives.length === 1 ? alternatives[0] : alternatives.map((a) => `(${a})`).join(' OR ');
}

function filterMatches(filter: ConstraintFilter, id: string, index: SearchIndex): boolean {
  switch (filter.kind) {
    case 'id':
      return filter.ids.includes(id) !== filter.negate;
    case 'index': {
      const module = moduleFor(filter.def.type);
      if (!module) throw new Error(`no module for ${filter.def.type}`);
      return module.matches(filter.def, filter.modifier, filter.values, index);
    }
    case 'compartment':
      return filter.defs.some((def) => (index[def.code] ?? []).includes(filter.reference));
  }
}

/**
 * The same decision as reachSql, on a resource's id and search index (null for a tombstone: as
 * in SQL, only an id filter can still reach it, so a deleted launch Patient reads as deleted).
 */
export function reachMatches(reach: TypeReach, id: string, index: SearchIndex | null): boolean {
  if (reach.kind === 'all') return true;
  if (reach.kind === 'none') return false;
  return reach.any.some((filters) => filters.every((f) => (index === null ? f.kind === 'id' && filterMatches(f, id, {}) : filterMatches(f, id, index))));
}

/** The store's view of a ReadScope for one set of letters (reads, vreads, history). */
export function rowReach(scope: ReadScope, letters: readonly Permission[]): RowReach | undefined {
  if (scope.unrestricted) return undefined;
  return {
    sql: (type, alias, bind) => {
      const sql = reachSql(scope.reach(type, letters), alias, { add: bind });
      return sql === 'FALSE' ? false : sql;
    },
    matches: (type, id, index) => reachMatches(scope.reach(type, letters), id, index as SearchIndex | null),
  };
}

const EVERY_LETTER: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];

/**
 * `scope` with every statement reaching what any of c r u d s reaches, whatever letter it asks
 * for: the criteria of conditional operations, which must see exactly what the caller could act on.
 */
export function anyLetterScope(scope: ReadScope): ReadScope {
  if (scope.unrestricted) return scope;
  return { unrestricted: false, reach: (type) => scope.reach(type, EVERY_LETTER) };
}

/** A reference parameter whose entries refer to exactly what `compartment` (one of its defs) refers to, or a subset of it. */
function impliesParam(def: SearchParamDef, compartment: SearchParamDef): boolean {
  if (def.code === compartment.code) return true;
  const expression = def.expression ?? '';
  const base = compartment.expression ?? '';
  return base !== '' && (expression === base || expression === `${base}.where(resolve() is Patient)`);
}

/** True when every row matching `filter` lies in `compartment` (a reference to exactly its owner, through one of its parameters, or the same compartment). */
function implies(filter: Filter, compartment: CompartmentFilter): boolean {
  // Compartment search of the same compartment (GET Patient/X/Observation).
  if (filter.kind === 'compartment') {
    return filter.reference === compartment.reference && filter.defs.every((def) => compartment.defs.some((c) => c.code === def.code));
  }
  if (filter.kind !== 'index' || filter.def.type !== 'reference' || filter.modifier !== undefined || filter.values.length === 0) return false;
  if (!filter.values.every((v) => (v as ReferenceValue).ref === compartment.reference)) return false;
  return compartment.defs.some((def) => impliesParam(filter.def, def));
}

/**
 * `reach` for the matches of a search whose own top-level `filters` already confine them to
 * the compartment (`Observation?patient=Patient/X` under X's patient scope): the compartment
 * test is left out of the statement, since every row the filters admit passes it. Only for
 * the searched rows themselves, never for the tables a chain, _has or include opens.
 */
export function reachForMatches(reach: TypeReach, filters: readonly Filter[]): TypeReach {
  if (reach.kind !== 'some') return reach;
  const any = reach.any.map((alternative) => alternative.filter((f) => !(f.kind === 'compartment' && filters.some((q) => implies(q, f)))));
  return any.some((alternative) => alternative.length === 0) ? ALL : { kind: 'some', any };
}
