// A scratch table of search indexes for the SQL-vs-memory property tests of the parameter
// modules (test/integration/search/*-sql-vs-memory.test.ts): a uniquely named temporary
// (id text, sp jsonb) table on one session of its own, optionally with the GIN jsonb_path_ops
// index the resource tables have, so a module's SQL predicate can be run over exactly the
// index entries its in-memory matcher sees, and the two answers compared.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { SearchIndex, SqlBinds } from '../../src/search/types.js';

/** Collects the bind values of a predicate as $1, $2 ... */
export class Binds implements SqlBinds {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export interface SpRow {
  id: string;
  index: SearchIndex;
  /** Stored as SQL NULL (a row not indexed yet), which the matcher sees as an empty index. */
  nullSp?: boolean;
}

/** One query: its SQL predicate over `r.sp`, and the in-memory matcher it must agree with. */
export interface SpQuery {
  label: string;
  predicate(binds: SqlBinds): string;
  matches(index: SearchIndex): boolean;
}

/** The ids (sorted) one query selects in SQL and in memory. */
export interface SpResult {
  label: string;
  sql: string[];
  memory: string[];
}

export class SpTable<R extends SpRow = SpRow> {
  private constructor(
    /** The table's name (unquoted); the rows are aliased `r` in the queries made here. */
    readonly name: string,
    readonly rows: readonly R[],
    private readonly client: pg.PoolClient,
  ) {}

  /** Creates `<prefix>_<random>` holding `rows`, with the GIN index when `gin`, and analyzes it. */
  static async create<R extends SpRow>(pool: pg.Pool, prefix: string, rows: readonly R[], options: { gin?: boolean } = {}): Promise<SpTable<R>> {
    const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const client = await pool.connect();
    const table = new SpTable(name, rows, client);
    try {
      await client.query(`CREATE TEMP TABLE "${name}" (id text PRIMARY KEY, sp jsonb)`);
      if (options.gin) await client.query(`CREATE INDEX "${table.indexName}" ON "${name}" USING gin (sp jsonb_path_ops)`);
      await client.query(`INSERT INTO "${name}" (id, sp) SELECT * FROM unnest($1::text[], $2::jsonb[])`, [
        rows.map((row) => row.id),
        rows.map((row) => (row.nullSp ? null : JSON.stringify(row.index))),
      ]);
      await client.query(`ANALYZE "${name}"`);
    } catch (error) {
      await table.drop().catch(() => undefined);
      throw error;
    }
    return table;
  }

  /** The name of the GIN index (when created with `gin`). */
  get indexName(): string {
    return `${this.name}_sp_idx`;
  }

  /** Runs `sql` on the table's session (its settings, e.g. enable_seqscan, apply). */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<T>> {
    return this.client.query<T>(sql, values);
  }

  /** The ids (sorted) of the rows `predicate` (over `r.sp`) selects in a WHERE clause. */
  async select(predicate: string, values: unknown[]): Promise<string[]> {
    const result = await this.query<{ id: string }>(`SELECT r.id FROM "${this.name}" r WHERE ${predicate}`, values);
    return result.rows.map((row) => row.id).sort();
  }

  /** The ids (sorted) of the rows the in-memory matcher accepts. */
  memory(matches: (index: SearchIndex) => boolean): string[] {
    return this.rows.filter((row) => matches(row.index)).map((row) => row.id).sort();
  }

  /** Whether a query selecting `ids` tells the rows apart (selects some, not all). */
  splits(ids: readonly string[]): boolean {
    return ids.length > 0 && ids.length < this.rows.length;
  }

  /**
   * Runs every query in SQL, `batch` predicates per statement (one boolean column each), and
   * in memory; returns, per query, the ids each selects.
   */
  async compare(queries: readonly SpQuery[], batch = 50): Promise<SpResult[]> {
    const out: SpResult[] = [];
    for (let start = 0; start < queries.length; start += batch) {
      const chunk = queries.slice(start, start + batch);
      const binds = new Binds();
      const columns = chunk.map((q, i) => `(${q.predicate(binds)}) AS q${i}`);
      const { rows: result } = await this.query(`SELECT r.id, ${columns.join(', ')} FROM "${this.name}" r`, binds.values);
      chunk.forEach((q, i) => {
        out.push({
          label: q.label,
          sql: result.filter((row) => row[`q${i}`] === true).map((row) => row.id as string).sort(),
          memory: this.memory((index) => q.matches(index)),
        });
      });
    }
    return out;
  }

  /** Fails unless SQL and memory selected the same ids, naming a row they disagree on and `detail` of it. */
  assertSame({ label, sql, memory }: SpResult, detail: (row: R) => unknown): void {
    if (sql.length === memory.length && sql.every((id, k) => id === memory[k])) return;
    const differ = [...sql.filter((id) => !memory.includes(id)), ...memory.filter((id) => !sql.includes(id))];
    const sample = this.rows.find((row) => row.id === differ[0]);
    assert.fail(`${label}: SQL ${sql.length} rows, memory ${memory.length}; e.g. ${differ[0]} ${JSON.stringify(sample && detail(sample))}`);
  }

  /** Drops the table, resets the session's settings and gives the session back to the pool. */
  async drop(): Promise<void> {
    try {
      await this.client.query(`DROP TABLE IF EXISTS "${this.name}"`);
      await this.client.query('RESET ALL');
    } finally {
      this.client.release();
    }
  }
}
