// One database transaction as the app role with the tenant set for row-level security.
// set_config(..., true) keeps every setting inside the transaction, so the
// connection is safe to share through PgBouncer in transaction mode.
import type pg from 'pg';
import { WriteConflict } from '../resource-store.js';
import { citusInstalled } from './distributed.js';
import { queryAsTenant } from './tenant-pipeline.js';

// Role, settings and tenant in ONE simple-protocol round trip and one SELECT: on this kind of
// machine every round trip costs Node a write syscall besides the network wait, and every SET
// statement costs PostgreSQL about 0.05 ms, where set_config() calls in one SELECT cost a
// fraction of that (docs/benchmarks.md, "Single writes"). No bind parameter can go with a
// multi-statement query, so the tenant goes in as a literal: only ids of tenant.id's own CHECK
// pattern are accepted (no quote can occur), checked here again although callers look tenants
// up first.
// On a Citus coordinator (distributed.ts, ADR 0024) the tenant is set by a `SET LOCAL` query of
// its own, with citus.propagate_set_commands = 'local': Citus replays it on every worker
// connection the transaction opens, and set_config() it does not (distributedBeginQueries). It
// costs one or two round trips more per transaction, so the single-node form stays the default.
// JIT off: request statements are short, and plans whose jsonb estimates are far off would
// otherwise pay JIT compilation (hundreds of ms) for nothing.
const TENANT_ID = /^[A-Za-z0-9.-]{1,64}$/;

export interface SessionOptions {
  readOnly?: boolean;
  /**
   * gin_pending_list_limit for a writing transaction, in kB (docs/scaling.md): how much of the
   * search indexes' pending lists its inserts may leave for every search to read.
   */
  ginPendingListLimitKb?: number;
  /**
   * Read-only only: open no transaction block until a statement needs one. Statements run
   * through `SessionPrefetch.session.alone` before that each take one round trip, settings
   * included (tenant-pipeline.ts; ADR 0021). In READ COMMITTED every statement takes its own
   * snapshot anyway, so a read-only unit sees nothing different.
   */
  deferBegin?: boolean;
}

export function beginStatement(tenantId: string, options: SessionOptions = {}): string {
  if (!TENANT_ID.test(tenantId)) throw new Error(`Invalid tenant id ${JSON.stringify(tenantId)}`);
  const settings = [`set_config('role', 'hearth_app', true)`, `set_config('jit', 'off', true)`, `set_config('app.tenant_id', '${tenantId}', true)`];
  if (options.readOnly) return `BEGIN READ ONLY; SELECT ${settings.join(', ')}`;
  const limit = options.ginPendingListLimitKb;
  if (limit !== undefined && Number.isInteger(limit) && limit >= 64) settings.push(`set_config('gin_pending_list_limit', '${limit}', true)`);
  // Every write indexes with the tenant's search parameters, whose generation it must read:
  // read-write transactions fetch it here instead of in a round trip of its own (migration 0010).
  // Likewise the terminology generations, which binding checks on write compare their cached
  // memberships with (issue 12, migration 0022), and the outbox rules generation, which says
  // whether the sync destinations and Subscriptions compiled in memory are current (issue 13,
  // migration 0023).
  return `BEGIN; SELECT ${settings.join(', ')}, hearth_search_generation('${tenantId}') AS generation, hearth_terminology_generations('${tenantId}') AS terminology, hearth_outbox_rules_generation('${tenantId}') AS outbox`;
}

/**
 * The opening of a distributed-mode transaction, as separate queries (run in order). Citus
 * replays a propagated `SET LOCAL` on the workers by the text of the query that carried it, so
 * the tenant's SET must be a query of its own: in a multi-statement string the workers would run
 * every statement of it. Role, JIT and the propagation switch are coordinator-only (set_config);
 * the workers' connections are opened as the current role, hearth_app, already.
 */
export function distributedBeginQueries(tenantId: string, options: SessionOptions = {}): string[] {
  if (!TENANT_ID.test(tenantId)) throw new Error(`Invalid tenant id ${JSON.stringify(tenantId)}`);
  const settings = [`set_config('role', 'hearth_app', true)`, `set_config('jit', 'off', true)`, `set_config('citus.propagate_set_commands', 'local', true)`];
  const limit = options.ginPendingListLimitKb;
  if (!options.readOnly && limit !== undefined && Number.isInteger(limit) && limit >= 64) settings.push(`set_config('gin_pending_list_limit', '${limit}', true)`);
  const queries = [`${options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN'}; SELECT ${settings.join(', ')}`, `SET LOCAL app.tenant_id = '${tenantId}'`];
  if (!options.readOnly) {
    queries.push(`SELECT hearth_search_generation('${tenantId}') AS generation, hearth_terminology_generations('${tenantId}') AS terminology, hearth_outbox_rules_generation('${tenantId}') AS outbox`);
  }
  return queries;
}

/** Per pool: whether its database is a Citus coordinator (asked once, on the first transaction). */
const distributedPools = new WeakMap<object, Promise<boolean>>();
/** The same answers once known. */
const settledModes = new WeakMap<object, boolean>();

/** Whether tenant sessions on `pool` take the distributed form (a Citus coordinator). */
export function isDistributed(pool: pg.Pool): Promise<boolean> {
  const key = poolKey(pool);
  let known = distributedPools.get(key);
  if (!known) {
    known = citusInstalled(pool);
    distributedPools.set(key, known);
    known.then((on) => settledModes.set(key, on), () => undefined);
    // A failed question (database down) is asked again next time.
    known.catch(() => distributedPools.delete(key));
  }
  return known;
}

/** A pool's identity for the mode: its options, which a wrapper around it (Object.create) shares. */
function poolKey(pool: pg.Pool): object {
  return (pool as unknown as { options?: object }).options ?? pool;
}

/**
 * Runs `pool`'s tenant sessions in the distributed form whatever its database. The form is valid
 * PostgreSQL on one node too (a `citus.` setting is a mere placeholder there), which lets the
 * single-node test tier cover the statements the Citus tier depends on.
 */
export function useDistributedSessions(pool: pg.Pool): void {
  distributedPools.set(poolKey(pool), Promise.resolve(true));
  settledModes.set(poolKey(pool), true);
}

/** Connections to a Citus coordinator, tagged by inTenantTransaction (a pool's clients stay on its database). */
const coordinatorClients = new WeakSet<object>();

/**
 * Whether `client` (in a tenant transaction) is connected to a Citus coordinator: the stores'
 * batched appends then go as INSERT … VALUES (row-values.ts, ADR 0024).
 */
export function onCoordinator(client: object): boolean {
  return coordinatorClients.has(client);
}

/** What the opening round trip already read, for the stores of the transaction. */
export interface SessionPrefetch {
  /** The tenant's search-parameter generation (read-write transactions only). */
  searchGeneration?: string;
  /** The shared and the tenant's terminology generations at BEGIN (read-write transactions only). */
  terminologyGenerations?: { shared: string; tenant: string };
  /** The tenant's outbox rules generation (read-write transactions only). */
  outboxRulesGeneration?: string;
  /** A read-only session opened with `deferBegin`. */
  session?: DeferredSession;
}

/** A read-only session whose transaction block opens only when a statement needs one. */
export interface DeferredSession {
  /**
   * Runs one self-contained statement (no cursor, no setting for later statements): alone in
   * one round trip while no transaction block is open, inside the block once one is.
   */
  alone<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

function prefetched(results: pg.QueryResult | pg.QueryResult[]): SessionPrefetch {
  const last = Array.isArray(results) ? results[results.length - 1] : results;
  const row = last?.rows[0] as { generation?: string; terminology?: string; outbox?: string } | undefined;
  const prefetch: SessionPrefetch = {};
  if (row?.generation !== undefined) prefetch.searchGeneration = row.generation;
  if (row?.terminology !== undefined) {
    const [shared, tenant] = row.terminology.split(':');
    prefetch.terminologyGenerations = { shared, tenant };
  }
  if (row?.outbox !== undefined) prefetch.outboxRulesGeneration = row.outbox;
  return prefetch;
}

/** SQLSTATEs that mean "a concurrent transaction won; run the unit again". */
const RETRYABLE = new Set(['40001', '40P01', '23505']);

export async function inTenantTransaction<T>(
  pool: pg.Pool,
  tenantId: string,
  work: (client: pg.PoolClient, prefetch: SessionPrefetch) => Promise<T>,
  session: SessionOptions = {},
): Promise<T> {
  // Known after the pool's first transaction: no await on the hot path from then on.
  const distributed = settledModes.get(poolKey(pool)) ?? (await isDistributed(pool));
  // The one-round-trip read (tenant-pipeline.ts) sets the tenant with set_config: single node only.
  if (session.readOnly && session.deferBegin && !distributed) return inDeferredReadSession(pool, tenantId, work);
  const client = await pool.connect();
  if (distributed) coordinatorClients.add(client);
  return settle(
    client,
    async () => {
      let opened: pg.QueryResult | pg.QueryResult[] = [];
      if (distributed) {
        for (const query of distributedBeginQueries(tenantId, session)) opened = await client.query(query);
      } else {
        opened = (await client.query(beginStatement(tenantId, session))) as unknown as pg.QueryResult | pg.QueryResult[];
      }
      return work(client, prefetched(opened));
    },
    () => true,
  );
}

/**
 * Runs `run` on `client` and ends the unit: COMMIT when a block is open and all went well,
 * ROLLBACK when it is open and something failed (a lost race rethrown as WriteConflict); the
 * client goes back to the pool, destroyed when even ROLLBACK failed.
 */
async function settle<T>(client: pg.PoolClient, run: () => Promise<T>, blockOpen: () => boolean): Promise<T> {
  let broken = false;
  try {
    const result = await run();
    if (blockOpen()) await client.query('COMMIT');
    return result;
  } catch (error) {
    if (blockOpen()) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
    }
    const code = (error as { code?: string }).code;
    if (code && RETRYABLE.has(code)) throw new WriteConflict((error as Error).message);
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * A read-only unit that opens its transaction block lazily: `client.query` (any statement the
 * stores did not mark self-contained) begins it first, as inTenantTransaction would have;
 * `session.alone` runs a statement in one round trip while none is open. A unit that only ran
 * such statements never sends BEGIN or COMMIT.
 */
async function inDeferredReadSession<T>(
  pool: pg.Pool,
  tenantId: string,
  work: (client: pg.PoolClient, prefetch: SessionPrefetch) => Promise<T>,
): Promise<T> {
  if (!TENANT_ID.test(tenantId)) throw new Error(`Invalid tenant id ${JSON.stringify(tenantId)}`);
  const client = await pool.connect();
  let begun = false;
  const query = client.query.bind(client) as (...a: unknown[]) => unknown;
  const lazyQuery = (...args: unknown[]): unknown => {
    if (begun) return query(...args);
    const [config, , callback] = args as [{ submit?: unknown }, unknown, unknown];
    if (typeof config?.submit === 'function' || typeof callback === 'function' || typeof args[1] === 'function') {
      throw new Error('A deferred read session takes promise queries only until its transaction block is open');
    }
    begun = true;
    const opening = client.query(beginStatement(tenantId, { readOnly: true }));
    return opening.then(() => query(...args));
  };
  const deferred = new Proxy(client, {
    get(target, property) {
      if (property === 'query') return lazyQuery;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const session: DeferredSession = {
    alone: <R extends pg.QueryResultRow>(config: pg.QueryConfig) => (begun ? client.query<R>(config) : queryAsTenant<R>(client, tenantId, config)),
  };
  return settle(client, () => work(deferred, { session }), () => begun);
}
