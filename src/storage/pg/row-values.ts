// Multi-row INSERT … VALUES for the distributed mode (issue 15; ADR 0024).
//
// On one PostgreSQL, batched appends send their rows as one JSON document read by
// json_to_recordset (one native JSON.stringify; ADR 0015). On a Citus coordinator an INSERT whose
// rows come from a SELECT (over a function, or even over a VALUES list) is pulled to the
// coordinator and COPYed into the shards, and PostgreSQL refuses COPY FROM under row-level
// security. A plain multi-row INSERT … VALUES whose tenant is one value goes to that tenant's
// shard as one INSERT, under the same policies as any statement. So in distributed mode the
// same rows are bound one parameter per field, in chunks that stay under PostgreSQL's limit of
// 65,535 parameters per statement.
import type pg from 'pg';

/** Collects bind values and hands out $n placeholders. */
export class Binds {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** A row's field as json_to_recordset would declare it. */
export interface RowField {
  name: string;
  /** A PostgreSQL type: text, int, boolean, timestamptz, uuid, json, jsonb. */
  type: string;
}

/** One row's fields as SQL: each a cast placeholder, bound once however often it is used. */
export type BoundRow = (field: string) => string;

/** Binds each row's fields on first use (json and jsonb values as their JSON text). */
export function boundRows(rows: readonly object[], fields: readonly RowField[], binds: Binds): BoundRow[] {
  const types = new Map(fields.map((f) => [f.name, f.type]));
  return rows.map((item) => {
    const row = item as Record<string, unknown>;
    const placed = new Map<string, string>();
    return (field) => {
      let sql = placed.get(field);
      if (sql === undefined) {
        const type = types.get(field);
        if (!type) throw new Error(`No field ${field} in this row shape`);
        const value = row[field] ?? null;
        const bound = value !== null && (type === 'json' || type === 'jsonb') && typeof value !== 'string' ? JSON.stringify(value) : value;
        sql = `${binds.add(bound)}::${type}`;
        placed.set(field, sql);
      }
      return sql;
    };
  });
}

/** `INSERT INTO table (columns) VALUES (…), (…)`: `project` gives one row's expressions in column order. */
export function valuesInsert(table: string, columns: string, rows: readonly BoundRow[], project: (row: BoundRow) => string): string {
  return `INSERT INTO ${table} (${columns}) VALUES ${rows.map((row) => `(${project(row)})`).join(', ')}`;
}

/** Most bind parameters one statement of this mode carries (PostgreSQL allows 65,535). */
export const MAX_BINDS = 30_000;

/** Splits rows into chunks whose statements bind at most MAX_BINDS parameters (`perRow` each, `fixed` besides). */
export function rowChunks<T>(rows: readonly T[], perRow: number, fixed = 1): T[][] {
  const size = Math.max(1, Math.floor((MAX_BINDS - fixed) / perRow));
  const chunks: T[][] = [];
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
  return chunks;
}

/** A bound value that leads every row of valuesInserts (the tenant, the row's parent), with its cast. */
export interface LeadValue {
  value: unknown;
  type?: string;
}

export interface ValuesInsertOptions {
  /** Bound once per statement and placed ahead of each row's fields (usually the tenant). */
  lead: readonly LeadValue[];
  /** One row's expressions in column order (default: the lead placeholders, then `fields` in order). */
  project?: (row: BoundRow, lead: readonly string[]) => string;
  /** Appended to each statement, e.g. `ON CONFLICT DO NOTHING`. */
  suffix?: string;
}

/** `rows` as INSERT … VALUES statements into `table (columns)`, chunked under MAX_BINDS. */
export function valuesInserts(table: string, columns: string, fields: readonly RowField[], rows: readonly object[], options: ValuesInsertOptions): pg.QueryConfig[] {
  const { lead, project, suffix } = options;
  return rowChunks(rows, fields.length, lead.length).map((chunk) => {
    const binds = new Binds();
    const leads = lead.map((l) => `${binds.add(l.value)}${l.type ? `::${l.type}` : ''}`);
    const rowSql = project ? (r: BoundRow) => project(r, leads) : (r: BoundRow) => [...leads, ...fields.map((f) => r(f.name))].join(', ');
    const text = valuesInsert(table, columns, boundRows(chunk, fields, binds), rowSql);
    return { text: suffix ? `${text} ${suffix}` : text, values: binds.values };
  });
}

