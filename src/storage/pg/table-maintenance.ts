// Planner statistics and GIN pending lists kept fresh behind writes (docs/scaling.md
// "Statistics and GIN pending lists").
//
// Autovacuum analyzes a table after 50 rows + 10% of it changed, but wakes only once a minute
// (autovacuum_naptime) and never analyzes a partitioned parent at all, so a database searched
// right after a load is planned from no statistics (value-quantity: 8 req/s instead of 646 on
// the shared workload). And the search index is a GIN index whose new entries wait in a pending
// list that every probe reads whole until a vacuum or an inserter merges it.
//
// So the server counts the rows its transactions write per table and, once a table has taken
// more than `minRows` + `fraction` of the rows it held at its last analysis, runs ANALYZE on it
// (a partitioned parent recurses into its partitions and gets inherited statistics of its own)
// and merges its GIN pending lists (gin_clean_pending_list), in the background, one table at a
// time. When writes to a table pause (`quietMs`), its pending lists are merged too: a probe
// reads the whole list, and a chain or _has page can probe hundreds of times. A table already
// being handled by another process is skipped (advisory lock), so several API processes do not
// analyze the same table together. `settle` does the whole job at once,
// with VACUUM, for bulk loads that must leave their tables ready before they report done.
import type pg from 'pg';
import { tablesFor } from '../table-names.js';

export interface TableMaintenanceOptions {
  /** Rows written to a table before it is analyzed again, on top of `fraction` of its size; 0 turns it off. */
  minRows: number;
  /** Share of the table's rows (as of its last analysis) that must change as well. */
  fraction: number;
  /**
   * Once writes to a table pause this long, its GIN pending lists are merged, so searches right
   * after a burst (a load) do not read them on every probe; 0 turns it off. Default 1,000 ms.
   */
  quietMs?: number;
}

export interface MaintenanceLog {
  warn(details: object, message: string): void;
}

/** Arbitrary constant namespacing the advisory locks of table maintenance. */
const LOCK_NAMESPACE = 7_423_114;

interface TableState {
  /** Rows written since the last analysis this process started. */
  written: number;
  /** Rows the table held at its last analysis (pg_class.reltuples summed over partitions). */
  rows: number | undefined;
}

/** Quoted table names of a resource type: current and history (an append-only type's history is a view of its table). */
function tableNames(type: string): string[] {
  const t = tablesFor(type);
  return t.appendOnly ? [t.stored ?? t.current] : [t.current, t.history];
}

export class TableMaintenance {
  private readonly tables = new Map<string, TableState>();
  /** Types to analyze (and merge), or only to merge their pending lists. */
  private readonly due = new Map<string, 'analyze' | 'merge'>();
  private readonly quietTimers = new Map<string, NodeJS.Timeout>();
  /** Every type this process wrote rows of (what a bulk load settles at its end). */
  readonly touched = new Set<string>();
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: TableMaintenanceOptions,
    private readonly log?: MaintenanceLog,
  ) {}

  /** After a commit: `counts` maps resource type to rows written (each also wrote history). */
  recordWrites(counts: ReadonlyMap<string, number>): void {
    for (const type of counts.keys()) this.touched.add(type);
    if (this.options.minRows <= 0 || this.closed) return;
    for (const [type, n] of counts) {
      const state = this.tables.get(type) ?? { written: 0, rows: undefined };
      state.written += n;
      this.tables.set(type, state);
      if (state.written >= this.options.minRows + this.fractionOf(type) * (state.rows ?? 0)) this.due.set(type, 'analyze');
      this.mergeWhenQuiet(type);
    }
    this.start();
  }

  /**
   * An append-only table (the audit trail, which every request of the server appends to) changes
   * its distribution slowly and is searched by auditors, not by every request: it is analyzed as
   * it doubles rather than every `fraction`, which on a young trail was a fifth of the database's
   * CPU under load (docs/benchmarks.md, issue 11). Its pending lists are still merged when quiet.
   */
  private fractionOf(type: string): number {
    return tablesFor(type).appendOnly ? Math.max(1, this.options.fraction) : this.options.fraction;
  }

  private start(): void {
    if (this.due.size > 0 && !this.closed) this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** (Re)arms the table's quiet timer: when it fires, its pending lists are merged. */
  private mergeWhenQuiet(type: string): void {
    const quietMs = this.options.quietMs ?? 1000;
    if (quietMs <= 0) return;
    clearTimeout(this.quietTimers.get(type));
    const timer = setTimeout(() => {
      this.quietTimers.delete(type);
      if (!this.due.has(type)) this.due.set(type, 'merge');
      this.start();
    }, quietMs);
    timer.unref();
    this.quietTimers.set(type, timer);
  }

  /** Resolves when the work already due is done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.due.clear();
    for (const timer of this.quietTimers.values()) clearTimeout(timer);
    this.quietTimers.clear();
    await this.idle();
  }

  /** VACUUM (ANALYZE) the tables of `types` now (bulk loads): pending lists merged, statistics fresh. */
  async settle(types: Iterable<string>): Promise<void> {
    for (const type of new Set(types)) {
      // VACUUM cannot run inside a transaction block: each is a statement of its own.
      for (const table of tableNames(type)) await this.pool.query(`VACUUM (ANALYZE) ${table}`);
      const state = this.tables.get(type);
      if (state) state.written = 0;
    }
  }

  private async drain(): Promise<void> {
    while (this.due.size > 0 && !this.closed) {
      const [[type, work]] = this.due;
      this.due.delete(type);
      try {
        await this.maintain(type, work);
      } catch (error) {
        this.log?.warn({ type, error: (error as Error).message }, 'table maintenance failed');
      }
    }
  }

  private async maintain(type: string, work: 'analyze' | 'merge'): Promise<void> {
    const state = this.tables.get(type);
    if (!state) return;
    const written = state.written;
    const { current: served, stored, currentName } = tablesFor(type);
    const current = stored ?? served;
    const client = await this.pool.connect();
    try {
      const { rows: locked } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_NAMESPACE, currentName]);
      if (!locked[0].ok) return; // another process is at it
      try {
        if (work === 'analyze') await client.query(`ANALYZE ${current}`);
        // Every GIN index of the table and of its partitions (partitioned indexes hold no list).
        await client.query(
          `SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid ` +
            `JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'gin' AND c.relkind = 'i' ` +
            `AND i.indrelid IN (SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf)`,
          [current],
        );
        if (work === 'merge') return;
        const { rows } = await client.query<{ n: number }>(
          'SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::float8 AS n FROM pg_partition_tree($1::regclass) t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf',
          [current],
        );
        state.rows = rows[0].n;
        state.written = Math.max(0, state.written - written);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, currentName]);
      }
    } finally {
      client.release();
    }
  }
}
