// The relay's and the delivery workers' statements on PostgreSQL (src/storage/delivery-store.ts,
// migration 0023). They run as the owning role because a relay and a worker serve every tenant;
// every statement names its tenant and reads or locks one tenant's rows only, so each is a
// single-shard statement when the tables are distributed by tenant_id on Citus (issue 15), where
// FOR UPDATE across shards is refused.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Claim, ClaimedResource, DeliveryStore, HandedJob, OutboxRow, SyncDestination } from '../delivery-store.js';
import type { OutboxChannel } from '../outbox-store.js';
import { tablesFor } from '../table-names.js';
import { inOwnerTransaction } from './owner-transaction.js';

const ROW_COLUMNS =
  'tenant_id, id::text AS id, channel, target, resource_type, resource_id, version_id, action, created_at, status, hand, due_at, attempts, last_status, last_error, last_outcome, dead_at';

export interface OutboxRecord {
  tenant_id: string;
  id: string;
  channel: OutboxChannel;
  target: string;
  resource_type: string;
  resource_id: string;
  version_id: number;
  action: OutboxRow['action'];
  created_at: Date;
  status: OutboxRow['status'];
  hand: number;
  due_at: Date | null;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  last_outcome: unknown;
  dead_at: Date | null;
}

export const OUTBOX_ROW_COLUMNS = ROW_COLUMNS;

export function toOutboxRow(r: OutboxRecord): OutboxRow {
  return {
    tenantId: r.tenant_id,
    id: r.id,
    channel: r.channel,
    target: r.target,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    versionId: r.version_id,
    action: r.action,
    createdAt: r.created_at,
    status: r.status,
    hand: r.hand,
    dueAt: r.due_at,
    attempts: r.attempts,
    lastStatus: r.last_status,
    lastError: r.last_error,
    lastOutcome: r.last_outcome,
    deadAt: r.dead_at,
  };
}

export interface DestinationRecord {
  tenant_id: string;
  id: string;
  endpoint: string;
  resource_types: string[];
  criteria: string[];
  auth: SyncDestination['auth'];
  mode: SyncDestination['mode'];
  transport: string;
  enabled: boolean;
  created_at: Date;
}

export const DESTINATION_COLUMNS = 'tenant_id, id, endpoint, resource_types, criteria, auth, mode, transport, enabled, created_at';

export function toDestination(r: DestinationRecord): SyncDestination {
  return {
    tenantId: r.tenant_id,
    id: r.id,
    endpoint: r.endpoint,
    resourceTypes: r.resource_types,
    criteria: r.criteria,
    auth: r.auth,
    mode: r.mode,
    transport: r.transport,
    enabled: r.enabled,
    createdAt: r.created_at,
  };
}

/** Rows the relay may hand over: pending ones, and queued ones whose job did not start within `stale` ms of being due. */
const WORK = `(status = 'pending' OR (status = 'queued' AND due_at < now() - $2 * interval '1 millisecond'))`;

/** Releases the lease of the resource keyed by $1..$5 when it is still $6 (a CTE of the outcome statements). */
const RELEASE =
  'UPDATE delivery_cursor SET lease_token = NULL, lease_until = NULL ' +
  'WHERE tenant_id = $1 AND channel = $2 AND target = $3 AND resource_type = $4 AND resource_id = $5 AND lease_token = $6::uuid';

const keyOf = (row: OutboxRow): unknown[] => [row.tenantId, row.channel, row.target, row.resourceType, row.resourceId];

export class PgDeliveryStore implements DeliveryStore {
  constructor(private readonly pool: pg.Pool) {}

  async tenantsWithWork(staleMs: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ tenant_id: string }>(
      `SELECT DISTINCT tenant_id FROM outbox WHERE status <> 'dead' AND tenant_id IS NOT NULL AND ${WORK.replace('$2', '$1')}`,
      [staleMs],
    );
    return rows.map((r) => r.tenant_id);
  }

  async handOver(tenantId: string, limit: number, staleMs: number, accept: (jobs: HandedJob[]) => Promise<void>): Promise<number> {
    return inOwnerTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string; hand: number; delay_ms: number }>(
        `SELECT id::text AS id, hand, greatest(0, coalesce(extract(epoch FROM due_at - now()) * 1000, 0))::float8 AS delay_ms FROM outbox ` +
          `WHERE tenant_id = $1 AND status <> 'dead' AND ${WORK} ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [tenantId, staleMs, limit],
      );
      if (rows.length === 0) return 0;
      const ids = rows.map((r) => r.id);
      // A stale row is due already: it goes now. Pending rows are new (or replayed): now too.
      await accept(rows.map((r) => ({ tenantId, outboxId: r.id, hand: r.hand + 1, delayMs: 0 })));
      await client.query(`UPDATE outbox SET status = 'queued', hand = hand + 1, due_at = now() WHERE tenant_id = $1 AND id = ANY($2::uuid[])`, [tenantId, ids]);
      return rows.length;
    });
  }

  // A delivery costs few round trips (docs/benchmarks.md, "Issue 13"): the claim is one statement
  // that checks the row's hand and takes the resource's lease, then one that reads the target and
  // the resource; the outcome is one statement. No explicit transaction: the lease is what
  // excludes other workers, and every statement is atomic on its own.
  async claim(tenantId: string, outboxId: string, hand: number, leaseMs: number): Promise<Claim> {
    const lease = randomUUID();
    const { rows } = await this.pool.query<OutboxRecord & { leased: boolean; delivered_version: number | null }>({
      name: 'delivery_claim',
      text:
        // FOR UPDATE by key waits for a relay still committing the hand-over (an in-process queue
        // runs the job at once) and then yields the row it committed; status and hand are checked
        // after (in the WHERE, the row's old version would not match and would not be waited for).
        `WITH l AS (SELECT ${ROW_COLUMNS} FROM outbox WHERE tenant_id = $1 AND id = $2::uuid FOR UPDATE), ` +
        `o AS (SELECT * FROM l WHERE status = 'queued' AND hand = $3), ` +
        // The claim's time rides in leased_at: Citus allows no now() in the ON CONFLICT WHERE (migration 0024).
        'c AS (INSERT INTO delivery_cursor AS d (tenant_id, channel, target, resource_type, resource_id, lease_token, lease_until, leased_at) ' +
        `SELECT tenant_id, channel, target, resource_type, resource_id, $4::uuid, now() + $5 * interval '1 millisecond', now() FROM o ` +
        'ON CONFLICT (tenant_id, channel, target, resource_type, resource_id) DO UPDATE SET lease_token = EXCLUDED.lease_token, lease_until = EXCLUDED.lease_until, ' +
        'leased_at = EXCLUDED.leased_at WHERE d.lease_until IS NULL OR d.lease_until < EXCLUDED.leased_at RETURNING delivered_version) ' +
        'SELECT o.*, EXISTS (SELECT 1 FROM c) AS leased, (SELECT delivered_version FROM c) AS delivered_version FROM o',
      values: [tenantId, outboxId, hand, lease, leaseMs],
    });
    const record = rows[0];
    if (!record) return { kind: 'stale' };
    if (!record.leased) return { kind: 'busy' };
    const row = toOutboxRow(record);
    const delivered = record.delivered_version ?? 0;
    const context = await this.context(row);
    if (!context.target) {
      // Removed, disabled or no longer active: nothing goes there, and nothing moves its cursor.
      await this.pool.query({
        name: 'delivery_drop',
        text: `WITH r AS (${RELEASE}) DELETE FROM outbox WHERE tenant_id = $1 AND id = $7::uuid`,
        values: [...keyOf(row), lease, row.id],
      });
      return { kind: 'done' };
    }
    const resource = context.resource;
    const nothingToSend =
      row.action !== 'handshake' &&
      (row.versionId <= delivered || !resource || resource.versionId <= delivered ||
        // A delete of what this destination never received.
        (resource.deleted && delivered === 0));
    if (nothingToSend) {
      await this.complete(row, lease, Math.max(delivered, resource?.versionId ?? 0));
      return { kind: 'done' };
    }
    return { kind: 'deliver', row, lease, resource: resource!, ...context.target };
  }

  /** The destination (or Subscription) and the resource as it is now, in one statement. */
  private async context(row: OutboxRow): Promise<{ target?: { destination?: SyncDestination; subscription?: { content: string } }; resource?: ClaimedResource }> {
    const t = tablesFor(row.resourceType);
    const target =
      row.channel === 'sync'
        ? `(SELECT to_jsonb(d) FROM (SELECT ${DESTINATION_COLUMNS} FROM sync_destination WHERE tenant_id = $1 AND id = $2 AND enabled) d)`
        : `(SELECT content FROM "subscription" WHERE tenant_id = $1 AND id = $2 AND NOT deleted)`;
    const { rows } = await this.pool.query<{ target: DestinationRecord | string | null; version_id: number | null; deleted: boolean | null; content: string | null; previous: string | null }>({
      name: `delivery_context_${row.channel}_${t.currentName}`,
      text:
        `SELECT ${target} AS target, r.version_id, r.deleted, r.content, ` +
        `CASE WHEN r.deleted THEN (SELECT content FROM ${t.history} h WHERE h.tenant_id = $1 AND h.id = $3 AND NOT h.deleted ORDER BY h.version_id DESC LIMIT 1) END AS previous ` +
        `FROM (SELECT 1) one LEFT JOIN ${t.current} r ON r.tenant_id = $1 AND r.id = $3`,
      values: [row.tenantId, row.target, row.resourceId],
    });
    const r = rows[0];
    const resource: ClaimedResource | undefined =
      r?.version_id === null || r?.version_id === undefined ? undefined : { versionId: r.version_id, deleted: r.deleted === true, content: r.content, previousContent: r.previous };
    if (!r?.target) return { resource };
    if (row.channel === 'sync') {
      const d = r.target as DestinationRecord;
      return { target: { destination: toDestination({ ...d, created_at: new Date(d.created_at) }) }, resource };
    }
    const content = r.target as string;
    const status = (JSON.parse(content) as { status?: string }).status;
    const wanted = row.action === 'handshake' ? status === 'requested' : status === 'active';
    return wanted ? { target: { subscription: { content } }, resource } : { resource };
  }

  /** Delivered (or nothing to deliver) up to `versionId`: the cursor moves and the lease goes, then the resource's live rows up to it, in one statement; nothing when the lease was lost. */
  async complete(row: OutboxRow, lease: string, versionId: number): Promise<void> {
    if (row.action === 'handshake') {
      await this.pool.query({
        name: 'delivery_complete_handshake',
        text: `WITH r AS (${RELEASE} RETURNING 1) DELETE FROM outbox WHERE tenant_id = $1 AND id = $7::uuid AND EXISTS (SELECT 1 FROM r)`,
        values: [...keyOf(row), lease, row.id],
      });
      return;
    }
    // A lease lost (expired and taken) means another worker owns the resource now: its cursor wins.
    await this.pool.query({
      name: 'delivery_complete',
      text:
        'WITH c AS (UPDATE delivery_cursor SET delivered_version = greatest(delivered_version, $7), lease_token = NULL, lease_until = NULL ' +
        'WHERE tenant_id = $1 AND channel = $2 AND target = $3 AND resource_type = $4 AND resource_id = $5 AND lease_token = $6::uuid RETURNING 1) ' +
        `DELETE FROM outbox WHERE tenant_id = $1 AND channel = $2 AND target = $3 AND resource_type = $4 AND resource_id = $5 AND version_id <= $7 ` +
        `AND action <> 'handshake' AND status <> 'dead' AND EXISTS (SELECT 1 FROM c)`,
      values: [...keyOf(row), lease, versionId],
    });
  }

  async fail(row: OutboxRow, lease: string, failure: { status?: number; reason: string; outcome?: unknown; dead: boolean; delayMs: number }): Promise<number> {
    const { rows } = await this.pool.query<{ hand: number }>({
      name: 'delivery_fail',
      text:
        `WITH r AS (${RELEASE}) UPDATE outbox SET attempts = attempts + 1, last_status = $8, last_error = $9, last_outcome = $10::jsonb, ` +
        `status = CASE WHEN $11 THEN 'dead' ELSE 'queued' END, dead_at = CASE WHEN $11 THEN now() END, ` +
        `hand = hand + 1, due_at = now() + $12 * interval '1 millisecond' WHERE tenant_id = $1 AND id = $7::uuid RETURNING hand`,
      values: [
        ...keyOf(row),
        lease,
        row.id,
        failure.status ?? null,
        failure.reason.slice(0, 2000),
        failure.outcome === undefined ? null : JSON.stringify(failure.outcome),
        failure.dead,
        failure.delayMs,
      ],
    });
    return rows[0]?.hand ?? row.hand + 1;
  }

  async postpone(row: OutboxRow, lease: string, delayMs: number): Promise<number> {
    const { rows } = await this.pool.query<{ hand: number }>({
      name: 'delivery_postpone',
      text: `WITH r AS (${RELEASE}) UPDATE outbox SET hand = hand + 1, due_at = now() + $8 * interval '1 millisecond' WHERE tenant_id = $1 AND id = $7::uuid RETURNING hand`,
      values: [...keyOf(row), lease, row.id, delayMs],
    });
    return rows[0]?.hand ?? row.hand + 1;
  }

  async recordBreaker(tenantId: string, destination: string, state: 'closed' | 'open' | 'half-open'): Promise<void> {
    await this.pool.query(
      // now() in VALUES, not in DO UPDATE: Citus refuses functions that are not IMMUTABLE there.
      'INSERT INTO delivery_breaker AS b (tenant_id, destination, state, opened_count, changed_at) VALUES ($1, $2, $3, CASE WHEN $3 = \'open\' THEN 1 ELSE 0 END, now()) ' +
        "ON CONFLICT (tenant_id, destination) DO UPDATE SET state = EXCLUDED.state, changed_at = EXCLUDED.changed_at, opened_count = b.opened_count + CASE WHEN EXCLUDED.state = 'open' THEN 1 ELSE 0 END",
      [tenantId, destination, state],
    );
  }

  async backlog(): Promise<{ byChannel: { channel: OutboxChannel; count: number }[]; oldestAgeSeconds: number | null }> {
    const { rows } = await this.pool.query<{ channel: OutboxChannel; n: string; oldest: number | null }>(
      `SELECT channel, count(*)::bigint AS n, extract(epoch FROM now() - min(created_at))::float8 AS oldest FROM outbox WHERE status <> 'dead' GROUP BY channel`,
    );
    const ages = rows.map((r) => r.oldest).filter((a): a is number => a !== null);
    return { byChannel: rows.map((r) => ({ channel: r.channel, count: Number(r.n) })), oldestAgeSeconds: ages.length > 0 ? Math.max(...ages) : null };
  }
}
