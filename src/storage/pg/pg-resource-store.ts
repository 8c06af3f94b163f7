// ResourceStore on PostgreSQL: one current table and one history table per type
// (docs/storage.md). Every statement passes tenant_id explicitly (partition pruning, index
// use) on top of row-level security, which enforces the same tenant regardless. Reads given a
// RowReach (the caller's SMART data constraint) add its condition to the same statement, so an
// out-of-reach row is never returned: it reads as absent (docs/adr/0011-access-constraint.md).
import { AuditAppendFailed, type AuditHasher, type AuditJournalEntry, type NewAuditRow } from '../audit-store.js';
import { auditJournalInsert, auditJournalJson, PgAuditStore } from './audit-store.js';
import type pg from 'pg';

import type { HistoryQuery, NewVersion, ReadOptions, ResourceStore, RowReach, SearchSql, StoredVersion, WriteMethod } from '../resource-store.js';
import { WriteConflict } from '../resource-store.js';
import { groupBy } from '../../core/group-by.js';
import { SYSTEM_WIDE_TYPES, tablesFor } from '../table-names.js';
import { PgLoadLedgerStore } from './load-ledger-store.js';
import { PgTerminologyStore } from './terminology-store.js';
import { PgReindexJobStore } from './reindex-job-store.js';
import { PgSearchParameterStore } from './search-parameter-store.js';
import { onCoordinator, type SessionPrefetch } from './tenant-session.js';
import type { OutboxEntry } from '../outbox-store.js';
import { outboxInsert, outboxJson, PgOutboxStore } from './outbox-store.js';
import { Binds, boundRows, rowChunks, valuesInsert, type RowField } from './row-values.js';

interface VersionRow {
  resource_type?: string;
  method?: WriteMethod;
  status?: number;
  id: string;
  version_id: number;
  last_updated: Date;
  deleted: boolean;
  content: string | null;
}

const COLUMNS = 'id, version_id, last_updated, deleted, content';
const HISTORY_COLUMNS = `${COLUMNS}, method, status`;

interface TypeStatements {
  readCurrent: pg.QueryConfig;
  readCurrentForUpdate: pg.QueryConfig;
  readVersion: pg.QueryConfig;
  write: pg.QueryConfig;
}

// Named statements: prepared once per connection, per type, on first use.
const statements = new Map<string, TypeStatements>();

function statementsFor(type: string): TypeStatements {
  let s = statements.get(type);
  if (s) return s;
  const t = tablesFor(type);
  const byId = `SELECT ${COLUMNS} FROM ${t.current} WHERE tenant_id = $1 AND id = $2`;
  s = {
    readCurrent: { name: `rc_${t.currentName}`, text: byId },
    readCurrentForUpdate: { name: `rcu_${t.currentName}`, text: `${byId} FOR UPDATE` },
    readVersion: {
      name: `rv_${t.currentName}`,
      text: `SELECT ${HISTORY_COLUMNS} FROM ${t.history} WHERE tenant_id = $1 AND id = $2 AND version_id = $3`,
    },
    // History row and current row in one statement; the guard refuses to overwrite a
    // version other than the one this write was based on.
    write: {
      name: `w_${t.currentName}`,
      text:
        `WITH h AS (INSERT INTO ${t.history} (tenant_id, ${HISTORY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)) ` +
        `INSERT INTO ${t.current} AS c (tenant_id, ${COLUMNS}, sp) VALUES ($1, $2, $3, $4, $5, $6, $9) ` +
        `ON CONFLICT (tenant_id, id) DO UPDATE SET version_id = EXCLUDED.version_id, ` +
        `last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted, content = EXCLUDED.content, sp = EXCLUDED.sp ` +
        `WHERE c.version_id = EXCLUDED.version_id - 1`,
    },
  };
  statements.set(type, s);
  return s;
}

/**
 * writeVersions' statement for one type: the single-row write's guard, over the rows of $2; with
 * `withAudit`, the audit journal entries of $3 are appended by the same statement (one round trip
 * less for every write; ADRs 0015, 0016). Its row count stays the versions' (the guard's conflicts).
 */
function multiWriteStatement(type: string, withAudit = false, withOutbox = false): string {
  const t = tablesFor(type);
  return (
    `WITH v AS (SELECT * FROM json_to_recordset($2::json) ` +
    `AS v(id text, version_id int, last_updated timestamptz, deleted boolean, content text, method text, status int, sp jsonb)), ` +
    `h AS (INSERT INTO ${t.history} (tenant_id, ${HISTORY_COLUMNS}) SELECT $1, ${HISTORY_COLUMNS} FROM v) ` +
    (withAudit ? `, a AS (${auditJournalInsert('$1', '$3')}) ` : '') +
    // The outbox rows of the changes (issue 13) ride on the same statement.
    (withOutbox ? `, o AS (${outboxInsert('$1', withAudit ? '$4' : '$3')}) ` : '') +
    `INSERT INTO ${t.current} AS c (tenant_id, ${COLUMNS}, sp) SELECT $1, ${COLUMNS}, sp FROM v ` +
    `ON CONFLICT (tenant_id, id) DO UPDATE SET version_id = EXCLUDED.version_id, ` +
    `last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted, content = EXCLUDED.content, sp = EXCLUDED.sp ` +
    `WHERE c.version_id = EXCLUDED.version_id - 1`
  );
}

/** A version row's fields (writeVersions), for the distributed mode's INSERT … VALUES. */
const VERSION_FIELDS: readonly RowField[] = [
  { name: 'id', type: 'text' }, { name: 'version_id', type: 'int' }, { name: 'last_updated', type: 'timestamptz' }, { name: 'deleted', type: 'boolean' },
  { name: 'content', type: 'text' }, { name: 'method', type: 'text' }, { name: 'status', type: 'int' }, { name: 'sp', type: 'jsonb' },
];

/**
 * multiWriteStatement's guard in distributed mode (row-values.ts): history and current rows as
 * multi-row VALUES of the same bound fields, so Citus routes the statement to the tenant's shard.
 */
function valuesWriteStatement(type: string, tenantId: string, rows: readonly Record<string, unknown>[]): pg.QueryConfig {
  const t = tablesFor(type);
  const binds = new Binds();
  const tenant = binds.add(tenantId);
  const bound = boundRows(rows, VERSION_FIELDS, binds);
  const common = (r: (f: string) => string) => `${tenant}, ${r('id')}, ${r('version_id')}, ${r('last_updated')}, ${r('deleted')}, ${r('content')}`;
  const history = valuesInsert(t.history, `tenant_id, ${HISTORY_COLUMNS}`, bound, (r) => `${common(r)}, ${r('method')}, ${r('status')}`);
  const current = valuesInsert(`${t.current} AS c`, `tenant_id, ${COLUMNS}, sp`, bound, (r) => `${common(r)}, ${r('sp')}`);
  const text =
    `WITH h AS (${history}) ${current} ` +
    `ON CONFLICT (tenant_id, id) DO UPDATE SET version_id = EXCLUDED.version_id, ` +
    `last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted, content = EXCLUDED.content, sp = EXCLUDED.sp ` +
    `WHERE c.version_id = EXCLUDED.version_id - 1`;
  return { text, values: binds.values };
}

/** SQLSTATEs of a lost race, which the unit retries: never the trail's fault. */
const RACE = new Set(['40001', '40P01', '23505']);

/**
 * Whether a failed statement that carried audit rows failed for them: PostgreSQL names the table
 * of a constraint or tuple error; a trigger's or the server's own error names none. Only an error
 * naming another table is the versions' own.
 */
function failedForTrail(error: unknown): boolean {
  const { code, table } = error as { code?: string; table?: string };
  if (code && RACE.has(code)) return false;
  return !table || table.startsWith('audit_journal');
}

function toVersion(type: string, row: VersionRow): StoredVersion {
  return {
    resourceType: row.resource_type ?? type,
    id: row.id,
    versionId: row.version_id,
    lastUpdated: row.last_updated,
    deleted: row.deleted,
    content: row.content,
    ...(row.method ? { method: row.method, status: row.status } : {}),
  };
}

/** A version as writeVersions' row (the JSON document's object, or a VALUES row's fields). */
function versionRow(v: NewVersion): Record<string, unknown> {
  return {
    id: v.id, version_id: v.versionId, last_updated: v.lastUpdated.toISOString(), deleted: v.deleted,
    content: v.content, method: v.method, status: v.status, sp: v.searchIndex,
  };
}

export class PgResourceStore implements ResourceStore {
  private searchParameterStore?: PgSearchParameterStore;
  private reindexJobStore?: PgReindexJobStore;
  private loadLedgerStore?: PgLoadLedgerStore;
  private auditStore?: PgAuditStore;
  private terminologyStore?: PgTerminologyStore;
  private outboxStore?: PgOutboxStore;

  /** Whether this transaction appended outbox rows (the repository wakes relays after the commit). */
  outboxAppended = false;

  /** Rows written per resource type by this transaction (table maintenance counts them after commit). */
  readonly written = new Map<string, number>();

  constructor(
    private readonly client: pg.PoolClient,
    readonly tenantId: string,
    private readonly prefetch: SessionPrefetch = {},
    private readonly auditHasher?: AuditHasher,
  ) {}

  private requireHasher(): AuditHasher {
    if (!this.auditHasher) throw new Error('This repository was built without an audit hasher (PgRepositoryOptions.auditHasher)');
    return this.auditHasher;
  }

  /**
   * A self-contained statement (no lock, nothing a later statement depends on): one round trip
   * in a read-only session with no transaction block open yet (tenant-session.ts, ADR 0021).
   */
  private alone<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    return this.prefetch.session ? this.prefetch.session.alone<R>(config) : this.client.query<R>(config);
  }

  private tally(type: string, rows: number): void {
    this.written.set(type, (this.written.get(type) ?? 0) + rows);
    if (type === 'SearchParameter') this.searchParameterStore?.invalidate();
  }

  // Typed stores for the other tenant tables, made on first use (most transactions need none).
  get searchParameters(): PgSearchParameterStore {
    return (this.searchParameterStore ??= new PgSearchParameterStore(this.client, this.tenantId, this.prefetch.searchGeneration, (config) => this.alone(config)));
  }

  get reindexJobs(): PgReindexJobStore {
    return (this.reindexJobStore ??= new PgReindexJobStore(this.client, this.tenantId));
  }

  get loadLedger(): PgLoadLedgerStore {
    return (this.loadLedgerStore ??= new PgLoadLedgerStore(this.client, this.tenantId));
  }

  get terminology(): PgTerminologyStore {
    return (this.terminologyStore ??= new PgTerminologyStore(this.client, this.tenantId, this.prefetch.terminologyGenerations));
  }

  get outbox(): PgOutboxStore {
    return (this.outboxStore ??= new PgOutboxStore(this.client, this.tenantId, this.prefetch.outboxRulesGeneration, () => (this.outboxAppended = true)));
  }

  get audit(): PgAuditStore {
    return (this.auditStore ??= new TalliedAuditStore(this.client, this.tenantId, this.requireHasher(), (rows) => this.tally('AuditEvent', rows)));
  }

  async readCurrent(type: string, id: string, options: { forUpdate?: boolean } & ReadOptions = {}) {
    if (options.reach) return this.readReached(type, id, options.reach, options.forUpdate ?? false);
    const s = statementsFor(type);
    const { rows } = options.forUpdate
      ? await this.client.query<VersionRow>({ ...s.readCurrentForUpdate, values: [this.tenantId, id] })
      : await this.alone<VersionRow>({ ...s.readCurrent, values: [this.tenantId, id] });
    return rows[0] && toVersion(type, rows[0]);
  }

  async readCurrentMany(type: string, ids: readonly string[], options: { forUpdate?: boolean } = {}) {
    if (ids.length === 0) return [];
    const t = tablesFor(type);
    // Sorted, so that two transactions locking overlapping sets take the locks in one order.
    const { rows } = await this.client.query<VersionRow>({
      name: `rcm${options.forUpdate ? 'u' : ''}_${t.currentName}`,
      text: `SELECT ${COLUMNS} FROM ${t.current} WHERE tenant_id = $1 AND id = ANY($2::text[]) ORDER BY id${options.forUpdate ? ' FOR UPDATE' : ''}`,
      values: [this.tenantId, [...ids]],
    });
    return rows.map((row) => toVersion(type, row));
  }

  /** readCurrent under a data constraint: the row only when its current index is within reach. */
  private async readReached(type: string, id: string, reach: RowReach, forUpdate: boolean): Promise<StoredVersion | undefined> {
    const binds = new Binds();
    const where = reachCondition(type, 'c', reach, binds);
    if (where === false) return undefined;
    const t = tablesFor(type);
    const text =
      `SELECT ${COLUMNS} FROM ${t.current} c WHERE c.tenant_id = ${binds.add(this.tenantId)} AND c.id = ${binds.add(id)}` +
      `${where ? ` AND (${where})` : ''}${forUpdate ? ' FOR UPDATE' : ''}`;
    const { rows } = forUpdate ? await this.client.query<VersionRow>(text, binds.values) : await this.alone<VersionRow>({ text, values: binds.values });
    return rows[0] && toVersion(type, rows[0]);
  }

  async readVersion(type: string, id: string, versionId: number, options: ReadOptions = {}) {
    if (options.reach) {
      const binds = new Binds();
      const where = reachCondition(type, 'c', options.reach, binds);
      if (where === false) return undefined;
      const t = tablesFor(type);
      const tenant = binds.add(this.tenantId);
      const key = binds.add(id);
      const reached = where ? ` AND EXISTS (SELECT 1 FROM ${t.current} c WHERE c.tenant_id = ${tenant} AND c.id = ${key} AND (${where}))` : '';
      const { rows } = await this.alone<VersionRow>({
        text: `SELECT ${HISTORY_COLUMNS} FROM ${t.history} WHERE tenant_id = ${tenant} AND id = ${key} AND version_id = ${binds.add(versionId)}${reached}`,
        values: binds.values,
      });
      return rows[0] && toVersion(type, rows[0]);
    }
    const { rows } = await this.alone<VersionRow>({
      ...statementsFor(type).readVersion,
      values: [this.tenantId, id, versionId],
    });
    return rows[0] && toVersion(type, rows[0]);
  }

  async writeVersion(v: NewVersion): Promise<void> {
    const result = await this.client.query({
      ...statementsFor(v.resourceType).write,
      values: [this.tenantId, v.id, v.versionId, v.lastUpdated, v.deleted, v.content, v.method, v.status, v.searchIndex],
    });
    if (result.rowCount !== 1) throw new WriteConflict(`${v.resourceType}/${v.id} changed concurrently`);
    this.tally(v.resourceType, 1);
  }

  async writeVersions(versions: readonly NewVersion[], audit: readonly AuditJournalEntry[] = [], outbox: readonly OutboxEntry[] = []): Promise<void> {
    if (onCoordinator(this.client)) return this.writeVersionsDistributed(versions, audit, outbox);
    const groups = [...groupBy(versions, (v) => v.resourceType)];
    for (const [index, [type, list]] of groups.entries()) {
      // All rows as one JSON document (one native JSON.stringify; PostgreSQL reads it with
      // json_to_recordset): cheaper in Node than binding column arrays, whose text encoding
      // escapes every content string in JavaScript, and the statement does not depend on the
      // row count. The last type's statement carries the audit rows.
      const rows = list.map(versionRow);
      const last = index === groups.length - 1;
      const withAudit = last && audit.length > 0;
      const withOutbox = last && outbox.length > 0;
      const values = [this.tenantId, JSON.stringify(rows)];
      if (withAudit) values.push(auditJournalJson(this.tenantId, audit));
      if (withOutbox) {
        values.push(outboxJson(outbox));
        this.outboxAppended = true;
      }
      let result: pg.QueryResult;
      try {
        const name = `wm${withAudit ? 'j' : ''}${withOutbox ? 'o' : ''}_${tablesFor(type).currentName}`;
        result = await this.client.query({ name, text: multiWriteStatement(type, withAudit, withOutbox), values });
      } catch (error) {
        throw withAudit && failedForTrail(error) ? new AuditAppendFailed(error) : error;
      }
      if (result.rowCount !== list.length) throw new WriteConflict(`${list.length - (result.rowCount ?? 0)} of ${list.length} ${type} resources changed concurrently`);
      this.tally(type, list.length);
    }
    if (groups.length === 0 && audit.length > 0) await this.audit.appendAuditJournal(audit);
    if (groups.length === 0 && outbox.length > 0) await this.outbox.append(outbox);
  }

  /**
   * writeVersions on a Citus coordinator: each type's rows in VALUES chunks, then the journal
   * entries and outbox rows in statements of their own (row-values.ts, ADR 0024). Same guard.
   */
  private async writeVersionsDistributed(versions: readonly NewVersion[], audit: readonly AuditJournalEntry[], outbox: readonly OutboxEntry[]): Promise<void> {
    for (const [type, list] of groupBy(versions, (v) => v.resourceType)) {
      const rows = list.map(versionRow);
      let written = 0;
      for (const chunk of rowChunks(rows, VERSION_FIELDS.length)) written += (await this.client.query(valuesWriteStatement(type, this.tenantId, chunk))).rowCount ?? 0;
      if (written !== list.length) throw new WriteConflict(`${list.length - written} of ${list.length} ${type} resources changed concurrently`);
      this.tally(type, list.length);
    }
    if (audit.length > 0) await this.audit.appendAuditJournal(audit);
    if (outbox.length > 0) await this.outbox.append(outbox);
  }

  async history(query: HistoryQuery): Promise<StoredVersion[]> {
    const binds = new Binds();
    const tenant = binds.add(this.tenantId);
    const limit = binds.add(query.count + 1);
    const types = query.resourceType ? [query.resourceType] : SYSTEM_WIDE_TYPES;
    const branches = types.flatMap((type) => {
      const reached = query.reach ? reachCondition(type, 'c', query.reach, binds) : undefined;
      return reached === false ? [] : [historyBranch(type, tenant, limit, query, binds, reached)];
    });
    if (branches.length === 0) return [];
    const order = 'ORDER BY last_updated DESC, resource_type DESC, id DESC, version_id DESC';
    const text =
      branches.length === 1
        ? branches[0]
        : `SELECT * FROM (${branches.join(' UNION ALL ')}) u ${order} LIMIT ${limit}`;
    const { rows } = await this.alone<VersionRow>({ text, values: binds.values });
    return rows.map((row) => toVersion(row.resource_type as string, row));
  }

  async query<T extends object>(text: SearchSql, values: unknown[]): Promise<T[]> {
    return (await this.alone<T>({ text, values })).rows;
  }

  async lockKeys(keys: string[]): Promise<void> {
    // Transaction-scoped advisory locks, taken in sorted order so two units cannot deadlock.
    await this.client.query({
      name: 'hearth_lock_keys',
      text: 'SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k ORDER BY k',
      values: [[...keys].sort()],
    });
  }
}

/**
 * Appended events count as AuditEvent rows written (AuditEvent is served from audit_trail,
 * table-names.ts), so table maintenance analyzes audit_trail behind its appends like any table.
 */
class TalliedAuditStore extends PgAuditStore {
  constructor(client: pg.PoolClient, tenantId: string, hasher: AuditHasher, private readonly onAppend: (rows: number) => void) {
    super(client, tenantId, hasher);
  }

  override async appendAuditEvents(rows: readonly NewAuditRow[]): Promise<void> {
    await super.appendAuditEvents(rows);
    if (rows.length > 0) this.onAppend(rows.length);
  }
}

/** One history table's newest-first slice, already filtered and limited. */
function historyBranch(type: string, tenant: string, limit: string, q: HistoryQuery, binds: Binds, reached?: string): string {
  const t = tablesFor(type);
  const where = [`h.tenant_id = ${tenant}`];
  if (q.id !== undefined) where.push(`h.id = ${binds.add(q.id)}`);
  // The data constraint, through the resource's current row (the history table has no index):
  // one primary-key lookup per version, inside the statement before its LIMIT.
  if (reached !== undefined) where.push(`EXISTS (SELECT 1 FROM ${t.current} c WHERE c.tenant_id = h.tenant_id AND c.id = h.id AND (${reached}))`);
  if (q.since) where.push(`h.last_updated >= ${binds.add(q.since)}`);
  if (q.at) {
    // Current at some point in [start, end): written before the end, and not replaced
    // by a newer version at or before the start.
    where.push(`h.last_updated < ${binds.add(q.at.end)}`);
    where.push(
      `NOT EXISTS (SELECT 1 FROM ${t.history} n WHERE n.tenant_id = h.tenant_id AND n.id = h.id ` +
        `AND n.version_id = h.version_id + 1 AND n.last_updated <= ${binds.add(q.at.start)})`,
    );
  }
  const a = q.after;
  if (a) {
    // Keyset continuation in (last_updated, resource_type, id, version_id) descending order.
    const ts = binds.add(a.lastUpdated);
    if (type === a.resourceType) {
      where.push(`(h.last_updated, h.id, h.version_id) < (${ts}, ${binds.add(a.id)}, ${binds.add(a.versionId)})`);
    } else {
      where.push(type > a.resourceType ? `h.last_updated < ${ts}` : `h.last_updated <= ${ts}`);
    }
  }
  return (
    `(SELECT '${type}' AS resource_type, h.id, h.version_id, h.last_updated, h.deleted, h.content, h.method, h.status ` +
    `FROM ${t.history} h WHERE ${where.join(' AND ')} ` +
    `ORDER BY h.last_updated DESC, h.id DESC, h.version_id DESC LIMIT ${limit})`
  );
}

/** `reach`'s condition on the current row `alias` of `type` (false: nothing reached; undefined: no condition). */
function reachCondition(type: string, alias: string, reach: RowReach, binds: Binds): string | undefined | false {
  return reach.sql(type, alias, (value) => binds.add(value));
}
