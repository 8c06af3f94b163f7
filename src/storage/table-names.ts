// Table names per resource type, derived from the R4 type list (identifiers in SQL come
// only from here, never from a request). Shared by the DDL generator and the repository.
import { RESOURCE_TYPES, PARTITIONED_TYPES } from '../core/resource-types.js';

export interface ResourceTables {
  /** Quoted identifier of the current-version table, e.g. "medication_request". */
  current: string;
  /** Quoted identifier of the history table, e.g. "medication_request_history". */
  history: string;
  /** Bare names, for DDL that builds partition names. */
  currentName: string;
  historyName: string;
  partitioned: boolean;
}

export function snakeCase(type: string): string {
  return type.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

const quote = (name: string) => `"${name}"`;
const partitioned = new Set(PARTITIONED_TYPES);

const TABLES: ReadonlyMap<string, ResourceTables> = new Map(
  RESOURCE_TYPES.map((type) => {
    const base = snakeCase(type);
    const tables: ResourceTables = Object.freeze({
      current: quote(base),
      history: quote(`${base}_history`),
      currentName: base,
      historyName: `${base}_history`,
      partitioned: partitioned.has(type),
    });
    return [type, tables] as const;
  }),
);

/** Tables for a known resource type; throws for anything else (callers validate first). */
export function tablesFor(type: string): ResourceTables {
  const tables = TABLES.get(type);
  if (!tables) throw new Error(`No tables for unknown resource type ${JSON.stringify(type)}`);
  return tables;
}
