// Table names per resource type, derived from the R4 type list (identifiers in SQL come
// only from here, never from a request). Shared by the DDL generators and the repository.
//
// Two mappings. resourceTablesFor: the generic current + history pair migration 0002 created
// for every type (what the DDL generators emit; frozen). tablesFor: where a type is served from
// now — the same pair, except AuditEvent, which reads from the append-only audit trail
// (migrations/0013, 0014 and 0019, docs/adr/0013-audit-trail-storage.md and
// 0017-audit-records-per-interaction.md; issue 11 "Auditor access").
// The old generic table audit_event is no longer read.
import { RESOURCE_TYPES, PARTITIONED_TYPES } from '../core/resource-types.js';

export interface ResourceTables {
  /** Quoted identifier of the current-version table, e.g. "medication_request". */
  current: string;
  /** Quoted identifier of the history table (or view), e.g. "medication_request_history". */
  history: string;
  /** Bare names, for DDL that builds partition names. */
  currentName: string;
  historyName: string;
  /** The table the rows are stored in, when `current` is a view of it (what table maintenance analyzes). */
  stored?: string;
  /** LIST-partitioned by tenant (migration 0002's generated tables only). */
  partitioned: boolean;
  /**
   * Rows are inserted once and never updated (the audit trail; its trigger refuses every
   * UPDATE and DELETE): the history "table" is a view of the one version, the search index is
   * computed once at append and never recomputed (no reindex), and no write goes through the
   * resource-table statements.
   */
  appendOnly: boolean;
  /**
   * A date search parameter whose value is exactly this timestamptz column (the audit trail's
   * `recorded` for AuditEvent's `date`): sorting by it orders by the column and pages by keyset
   * on (column, id), which the table's primary key serves.
   */
  instantSort?: { code: string; expression: string; column: string };
  /**
   * Search parameters whose index entries are kept in a jsonb column other than `sp`, by code
   * (docs/adr/0017-audit-records-per-interaction.md: an AuditEvent's patient is its own row's,
   * the rest is its interaction's). A key is in one column only, or alike in both (a whole event
   * shows its one index as both); the columns are base-table columns under GIN indexes.
   */
  indexColumns?: Readonly<Record<string, string>>;
}

export function snakeCase(type: string): string {
  return type.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

const quote = (name: string) => `"${name}"`;
const partitioned = new Set(PARTITIONED_TYPES);

const RESOURCE_TABLES: ReadonlyMap<string, ResourceTables> = new Map(
  RESOURCE_TYPES.map((type) => {
    const base = snakeCase(type);
    const tables: ResourceTables = Object.freeze({
      current: quote(base),
      history: quote(`${base}_history`),
      currentName: base,
      historyName: `${base}_history`,
      partitioned: partitioned.has(type),
      appendOnly: false,
    });
    return [type, tables] as const;
  }),
);

/**
 * AuditEvent's rows: the events served from audit_trail (0013) by the view audit_events (0019:
 * whole events, and per-patient events derived from a record per interaction), and their
 * one-version history view (0014, 0019). A served event's `patient` and `entity` entries are its
 * own (`event_sp`); the rest is its interaction's (`sp`).
 */
const AUDIT_TRAIL: ResourceTables = Object.freeze({
  current: quote('audit_events'),
  history: quote('audit_trail_history'),
  currentName: 'audit_events',
  historyName: 'audit_trail_history',
  stored: quote('audit_trail'),
  partitioned: false,
  appendOnly: true,
  instantSort: Object.freeze({ code: 'date', expression: 'AuditEvent.recorded', column: 'recorded' }),
  indexColumns: Object.freeze({ patient: 'event_sp', entity: 'event_sp' }),
});

const SERVED: ReadonlyMap<string, ResourceTables> = new Map([...RESOURCE_TABLES, ['AuditEvent', AUDIT_TRAIL]]);

/** Tables a known resource type is read and written through; throws for anything else (callers validate first). */
export function tablesFor(type: string): ResourceTables {
  const tables = SERVED.get(type);
  if (!tables) throw new Error(`No tables for unknown resource type ${JSON.stringify(type)}`);
  return tables;
}

/** The generic tables migration 0002 generated for a type (DDL generators only). */
export function resourceTablesFor(type: string): ResourceTables {
  const tables = RESOURCE_TABLES.get(type);
  if (!tables) throw new Error(`No tables for unknown resource type ${JSON.stringify(type)}`);
  return tables;
}

/** Why a type's search index is never recomputed, or undefined when it may be. */
export function reindexRefusal(type: string): string | undefined {
  return tablesFor(type).appendOnly
    ? `${type} is append-only: its search index is computed once when it is recorded, and its rows are never updated`
    : undefined;
}

/**
 * The types a system-level search without _type, and system history, cover: every type but the
 * audit trail's. AuditEvents record accesses to the record rather than being part of it, and
 * every request adds some, so they are reached only by naming them (AuditEvent?…, _type=AuditEvent).
 */
export const SYSTEM_WIDE_TYPES: readonly string[] = Object.freeze(RESOURCE_TYPES.filter((type) => !tablesFor(type).appendOnly));

/** Where a type keeps its parameters' index entries (indexColumns), for the functions below. */
type IndexLayout = Pick<ResourceTables, 'indexColumns'> | undefined;

/** The column holding the index entries of parameter `code` on a row `alias` of `type`. */
export function indexColumn(alias: string, type: string, code: string): string {
  return indexColumnIn(SERVED.get(type), alias, code);
}

/**
 * `probe` (a jsonb `{"code": [entries]}`, codes of one column) is contained in the index of row
 * `alias` of `type`: one GIN-servable containment per index column, OR'ed (a key lives in one
 * column, or alike in both, so the OR is the containment in the probe's own column).
 */
export function indexContains(alias: string, type: string, probe: string): string {
  return indexContainsIn(SERVED.get(type), alias, probe);
}

/** The whole index of row `alias` of `type` as one jsonb select-list item named `sp` (for readers in Node). */
export function indexSelection(alias: string, type: string): string {
  return indexSelectionIn(SERVED.get(type), alias);
}

function indexColumnNames(layout: IndexLayout): string[] {
  return ['sp', ...new Set(Object.values(layout?.indexColumns ?? {}))];
}

export function indexColumnIn(layout: IndexLayout, alias: string, code: string): string {
  return `${alias}.${layout?.indexColumns?.[code] ?? 'sp'}`;
}

export function indexContainsIn(layout: IndexLayout, alias: string, probe: string): string {
  const tests = indexColumnNames(layout).map((column) => `${alias}.${column} @> ${probe}`);
  return tests.length === 1 ? tests[0] : `(${tests.join(' OR ')})`;
}

export function indexSelectionIn(layout: IndexLayout, alias: string): string {
  const columns = indexColumnNames(layout).map((column) => `${alias}.${column}`);
  return columns.length === 1 ? columns[0] : `(${columns.map((c) => `COALESCE(${c}, '{}'::jsonb)`).join(' || ')}) AS sp`;
}

/**
 * The terminology tables search SQL joins (migrations/0020): the is-a closure of shared and of
 * tenant code system versions (a version's scope says which), and the cached expansions.
 */
export const TERMINOLOGY_TABLES = Object.freeze({
  sharedClosure: 'terminology_closure',
  tenantClosure: 'tenant_closure',
  expansionCode: 'value_set_expansion_code',
});
