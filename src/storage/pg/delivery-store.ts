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

async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

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
    return inTransaction(this.pool, async (client) => {
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

  async claim(tenantId: string, outboxId: string, hand: number, leaseMs: number): Promise<Claim> {
    return inTransaction(this.pool, async (client) => {
      const found = await client.query<OutboxRecord>(`SELECT ${ROW_COLUMNS} FROM outbox WHERE tenant_id = $1 AND id = $2::uuid FOR UPDATE`, [tenantId, outboxId]);
      const record = found.rows[0];
      if (!record || record.status !== 'queued' || record.hand !== hand) return { kind: 'stale' } as const;
      const row = toOutboxRow(record);
      const lease = randomUUID();
      const cursor = await client.query<{ delivered_version: number }>(
        'INSERT INTO delivery_cursor AS d (tenant_id, channel, target, resource_type, resource_id, lease_token, lease_until) ' +
          `VALUES ($1, $2, $3, $4, $5, $6::uuid, now() + $7 * interval '1 millisecond') ` +
          'ON CONFLICT (tenant_id, channel, target, resource_type, resource_id) DO UPDATE SET lease_token = EXCLUDED.lease_token, lease_until = EXCLUDED.lease_until ' +
          'WHERE d.lease_until IS NULL OR d.lease_until < now() RETURNING delivered_version',
        [tenantId, row.channel, row.target, row.resourceType, row.resourceId, lease, leaseMs],
      );
      if (cursor.rows.length === 0) return { kind: 'busy' } as const;
      const delivered = cursor.rows[0].delivered_version;
      const target = await this.target(client, row);
      if (!target.present) {
        // Removed, disabled or no longer active: nothing goes there, and nothing moves its cursor.
        await client.query('DELETE FROM outbox WHERE tenant_id = $1 AND id = $2::uuid', [tenantId, outboxId]);
        await this.release(client, row, lease);
        return { kind: 'done' } as const;
      }
      const resource = await this.resource(client, row);
      const nothingToSend =
        (row.action !== 'handshake' && (row.versionId <= delivered || !resource || resource.versionId <= delivered)) ||
        // A delete of what this destination never received.
        (row.action !== 'handshake' && resource?.deleted === true && delivered === 0);
      if (nothingToSend) {
        await this.forget(client, row, row.action === 'handshake' ? row.versionId : Math.max(delivered, resource?.versionId ?? 0), false);
        return { kind: 'done' } as const;
      }
      return { kind: 'deliver', row, lease, resource: resource!, ...target.value } as const;
    });
  }

  /** The destination or the Subscription; absent (nothing to send) when removed, disabled or no longer active. */
  private async target(client: pg.PoolClient, row: OutboxRow): Promise<{ present: boolean; value: { destination?: SyncDestination; subscription?: { content: string } } }> {
    if (row.channel === 'sync') {
      const { rows } = await client.query<DestinationRecord>(`SELECT ${DESTINATION_COLUMNS} FROM sync_destination WHERE tenant_id = $1 AND id = $2 AND enabled`, [row.tenantId, row.target]);
      return rows[0] ? { present: true, value: { destination: toDestination(rows[0]) } } : { present: false, value: {} };
    }
    const { rows } = await client.query<{ content: string }>(`SELECT content FROM "subscription" WHERE tenant_id = $1 AND id = $2 AND NOT deleted`, [row.tenantId, row.target]);
    if (!rows[0]) return { present: false, value: {} };
    const status = (JSON.parse(rows[0].content) as { status?: string }).status;
    const wanted = row.action === 'handshake' ? status === 'requested' : status === 'active';
    return wanted ? { present: true, value: { subscription: rows[0] } } : { present: false, value: {} };
  }

  /** The resource's current version (and, for a delete, the content before it). */
  private async resource(client: pg.PoolClient, row: OutboxRow): Promise<ClaimedResource | undefined> {
    const t = tablesFor(row.resourceType);
    const { rows } = await client.query<{ version_id: number; deleted: boolean; content: string | null }>(
      `SELECT version_id, deleted, content FROM ${t.current} WHERE tenant_id = $1 AND id = $2`,
      [row.tenantId, row.resourceId],
    );
    const current = rows[0];
    if (!current) return undefined;
    let previousContent: string | null = null;
    if (current.deleted) {
      const before = await client.query<{ content: string | null }>(
        `SELECT content FROM ${t.history} WHERE tenant_id = $1 AND id = $2 AND NOT deleted ORDER BY version_id DESC LIMIT 1`,
        [row.tenantId, row.resourceId],
      );
      previousContent = before.rows[0]?.content ?? null;
    }
    return { versionId: current.version_id, deleted: current.deleted, content: current.content, previousContent };
  }

  /** Delivered (or nothing to deliver) up to `versionId`: the cursor moves, the resource's live rows up to it go, the lease is released. */
  private async forget(client: pg.PoolClient, row: OutboxRow, versionId: number, checkLease: string | false): Promise<boolean> {
    const key = [row.tenantId, row.channel, row.target, row.resourceType, row.resourceId];
    const cursor = await client.query(
      'UPDATE delivery_cursor SET delivered_version = greatest(delivered_version, $6), lease_token = NULL, lease_until = NULL ' +
        `WHERE tenant_id = $1 AND channel = $2 AND target = $3 AND resource_type = $4 AND resource_id = $5${checkLease ? ' AND lease_token = $7::uuid' : ''}`,
      checkLease ? [...key, row.action === 'handshake' ? 0 : versionId, checkLease] : [...key, row.action === 'handshake' ? 0 : versionId],
    );
    if (checkLease && cursor.rowCount === 0) return false;
    if (row.action === 'handshake') {
      await client.query('DELETE FROM outbox WHERE tenant_id = $1 AND id = $2::uuid', [row.tenantId, row.id]);
    } else {
      await client.query(
        `DELETE FROM outbox WHERE tenant_id = $1 AND channel = $2 AND target = $3 AND resource_type = $4 AND resource_id = $5 AND version_id <= $6 AND action <> 'handshake' AND status <> 'dead'`,
        [...key, versionId],
      );
    }
    return true;
  }

  async complete(row: OutboxRow, lease: string, versionId: number): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      // A lease lost (expired and taken) means another worker owns the resource now: its cursor wins.
      await this.forget(client, row, versionId, lease);
    });
  }

  private async release(client: pg.PoolClient, row: OutboxRow, lease: string): Promise<void> {
    await client.query(
      'UPDATE delivery_cursor SET lease_token = NULL, lease_until = NULL WHERE tenant_id = $1 AND channel = $2 AND target = $3 AND resource_type = $4 AND resource_id = $5 AND lease_token = $6::uuid',
      [row.tenantId, row.channel, row.target, row.resourceType, row.resourceId, lease],
    );
  }

  async fail(row: OutboxRow, lease: string, failure: { status?: number; reason: string; outcome?: unknown; dead: boolean; delayMs: number }): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      await this.release(client, row, lease);
      const { rows } = await client.query<{ hand: number }>(
        `UPDATE outbox SET attempts = attempts + 1, last_status = $3, last_error = $4, last_outcome = $5::jsonb, ` +
          `status = CASE WHEN $6 THEN 'dead' ELSE 'queued' END, dead_at = CASE WHEN $6 THEN now() END, ` +
          `hand = hand + 1, due_at = now() + $7 * interval '1 millisecond' WHERE tenant_id = $1 AND id = $2::uuid RETURNING hand`,
        [row.tenantId, row.id, failure.status ?? null, failure.reason.slice(0, 2000), failure.outcome === undefined ? null : JSON.stringify(failure.outcome), failure.dead, failure.delayMs],
      );
      return rows[0]?.hand ?? row.hand + 1;
    });
  }

  async postpone(row: OutboxRow, lease: string, delayMs: number): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      await this.release(client, row, lease);
      const { rows } = await client.query<{ hand: number }>(
        `UPDATE outbox SET hand = hand + 1, due_at = now() + $3 * interval '1 millisecond' WHERE tenant_id = $1 AND id = $2::uuid RETURNING hand`,
        [row.tenantId, row.id, delayMs],
      );
      return rows[0]?.hand ?? row.hand + 1;
    });
  }

  async recordBreaker(tenantId: string, destination: string, state: 'closed' | 'open' | 'half-open'): Promise<void> {
    await this.pool.query(
      'INSERT INTO delivery_breaker AS b (tenant_id, destination, state, opened_count) VALUES ($1, $2, $3, CASE WHEN $3 = \'open\' THEN 1 ELSE 0 END) ' +
        "ON CONFLICT (tenant_id, destination) DO UPDATE SET state = EXCLUDED.state, changed_at = now(), opened_count = b.opened_count + CASE WHEN EXCLUDED.state = 'open' THEN 1 ELSE 0 END",
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
