// What operators do to a tenant's sync destinations and dead letters (issue 13, docs/sync-admin.md;
// the SyncAdminStore of src/storage/delivery-store.ts, over the tables of migration 0023). The
// admin API and `hearth sync` run it inside a tenant transaction as the app role, so row-level
// security confines it to that tenant even if a statement forgot its tenant; every statement
// names the tenant anyway (one shard per statement when the tables are distributed by tenant).
import type { DestinationInput, DestinationStatus, OutboxRow, SyncAdminStore, SyncDestination } from '../delivery-store.js';
import { DESTINATION_COLUMNS, OUTBOX_ROW_COLUMNS, toDestination, toOutboxRow, type DestinationRecord, type OutboxRecord } from './delivery-store.js';

/** What the store needs of a connection inside a tenant transaction (a pg client, or src/auth's Sql). */
export interface AdminQueryable {
  /** Database rows, typed by each statement below (as src/auth/tokens/sql.ts does). */
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}

/** outbox.id is a uuid: anything else names no row (and must not reach the cast, which would fail the transaction). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isOutboxId = (id: string): boolean => typeof id === 'string' && UUID.test(id);

/** A destination id's pattern (the table's CHECK): anything else names no destination. */
const DESTINATION_ID = /^[A-Za-z0-9.-]{1,64}$/;

interface StatusRecord {
  id: string;
  backlog: string;
  oldest: number | null;
  dead: string;
  state: 'closed' | 'open' | 'half-open' | null;
  changed_at: Date | null;
  opened_count: number | null;
}

export class PgSyncAdminStore implements SyncAdminStore {
  constructor(
    private readonly sql: AdminQueryable,
    private readonly tenantId: string,
  ) {}

  /** Creates the destination or replaces every setting of the one with its id (its created_at stays). */
  async putDestination(input: DestinationInput): Promise<SyncDestination> {
    const { rows } = await this.sql.query(
      'INSERT INTO sync_destination (tenant_id, id, endpoint, resource_types, criteria, auth, mode, transport, enabled) ' +
        'VALUES ($1, $2, $3, $4::text[], $5::text[], $6::jsonb, $7, $8, $9) ' +
        'ON CONFLICT (tenant_id, id) DO UPDATE SET endpoint = EXCLUDED.endpoint, resource_types = EXCLUDED.resource_types, criteria = EXCLUDED.criteria, ' +
        'auth = EXCLUDED.auth, mode = EXCLUDED.mode, transport = EXCLUDED.transport, enabled = EXCLUDED.enabled ' +
        `RETURNING ${DESTINATION_COLUMNS}`,
      [this.tenantId, input.id, input.endpoint, input.resourceTypes, input.criteria, JSON.stringify(input.auth), input.mode, input.transport, input.enabled],
    );
    return toDestination(rows[0] as DestinationRecord);
  }

  async listDestinations(): Promise<SyncDestination[]> {
    const { rows } = await this.sql.query(`SELECT ${DESTINATION_COLUMNS} FROM sync_destination WHERE tenant_id = $1 ORDER BY id`, [this.tenantId]);
    return (rows as DestinationRecord[]).map(toDestination);
  }

  async getDestination(id: string): Promise<SyncDestination | undefined> {
    if (!DESTINATION_ID.test(id)) return undefined;
    const { rows } = await this.sql.query(`SELECT ${DESTINATION_COLUMNS} FROM sync_destination WHERE tenant_id = $1 AND id = $2`, [this.tenantId, id]);
    return rows[0] ? toDestination(rows[0] as DestinationRecord) : undefined;
  }

  /**
   * The destination goes with its undelivered rows (nothing will send them) and its cursors (a
   * destination added again under the id starts afresh); its dead letters stay for the record
   * until discarded. (Its breaker row stays too: the app role may not delete breaker rows, and
   * the next state a worker reports replaces it.)
   */
  async removeDestination(id: string): Promise<boolean> {
    if (!DESTINATION_ID.test(id)) return false;
    const removed = await this.sql.query('DELETE FROM sync_destination WHERE tenant_id = $1 AND id = $2', [this.tenantId, id]);
    await this.sql.query(`DELETE FROM outbox WHERE tenant_id = $1 AND channel = 'sync' AND target = $2 AND status <> 'dead'`, [this.tenantId, id]);
    await this.sql.query(`DELETE FROM delivery_cursor WHERE tenant_id = $1 AND channel = 'sync' AND target = $2`, [this.tenantId, id]);
    await this.sql.query(`DELETE FROM delivery_breaker WHERE tenant_id = $1 AND destination = 'sync:' || $2`, [this.tenantId, id]);
    return (removed.rowCount ?? 0) > 0;
  }

  /** Per destination: rows waiting (pending or queued), the age of the oldest, dead letters, the breaker last reported. */
  async status(): Promise<DestinationStatus[]> {
    const { rows } = await this.sql.query(
      'SELECT d.id, o.backlog, extract(epoch FROM now() - o.oldest)::float8 AS oldest, o.dead, b.state, b.changed_at, b.opened_count ' +
        'FROM sync_destination d ' +
        'LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE status <> \'dead\') AS backlog, min(created_at) FILTER (WHERE status <> \'dead\') AS oldest, ' +
        "count(*) FILTER (WHERE status = 'dead') AS dead FROM outbox WHERE tenant_id = d.tenant_id AND channel = 'sync' AND target = d.id) o ON true " +
        // Breakers are recorded per delivery label: 'sync:<id>' (and 'subscription:<id>').
        "LEFT JOIN delivery_breaker b ON b.tenant_id = d.tenant_id AND b.destination = 'sync:' || d.id " +
        'WHERE d.tenant_id = $1 ORDER BY d.id',
      [this.tenantId],
    );
    return (rows as StatusRecord[]).map((r) => ({
      id: r.id,
      backlog: Number(r.backlog),
      oldestAgeSeconds: r.oldest === null ? null : Math.max(0, r.oldest),
      deadLetters: Number(r.dead),
      breaker: r.state === null ? null : { state: r.state, changedAt: r.changed_at!, openedCount: r.opened_count ?? 0 },
    }));
  }

  /** Dead letters of both channels (sync destinations and Subscriptions), newest first. */
  async deadLetters(filter: { target?: string; limit: number }): Promise<OutboxRow[]> {
    const limit = Math.max(1, Math.floor(filter.limit));
    const values: unknown[] = [this.tenantId, limit];
    let where = `tenant_id = $1 AND status = 'dead'`;
    if (filter.target !== undefined) {
      values.push(filter.target);
      where += ' AND target = $3';
    }
    const { rows } = await this.sql.query(`SELECT ${OUTBOX_ROW_COLUMNS} FROM outbox WHERE ${where} ORDER BY dead_at DESC NULLS LAST, id LIMIT $2`, values);
    return (rows as OutboxRecord[]).map(toOutboxRow);
  }

  async outboxRow(id: string): Promise<OutboxRow | undefined> {
    if (!isOutboxId(id)) return undefined;
    const { rows } = await this.sql.query(`SELECT ${OUTBOX_ROW_COLUMNS} FROM outbox WHERE tenant_id = $1 AND id = $2::uuid`, [this.tenantId, id]);
    return rows[0] ? toOutboxRow(rows[0] as OutboxRecord) : undefined;
  }

  /**
   * Back to pending with no attempts counted: the relay hands it to the queue like a new row.
   * last_* stay as the history of why it died; the hand moves, so any job still naming the row's
   * old hand is stale. The relays are woken (delivered when the transaction commits).
   */
  async replay(id: string): Promise<boolean> {
    if (!isOutboxId(id)) return false;
    const updated = await this.sql.query(
      `UPDATE outbox SET status = 'pending', attempts = 0, dead_at = NULL, due_at = NULL, hand = hand + 1 WHERE tenant_id = $1 AND id = $2::uuid AND status = 'dead'`,
      [this.tenantId, id],
    );
    if ((updated.rowCount ?? 0) === 0) return false;
    await this.sql.query(`SELECT pg_notify('hearth_outbox', $1)`, [this.tenantId]);
    return true;
  }

  async discard(id: string): Promise<boolean> {
    if (!isOutboxId(id)) return false;
    const deleted = await this.sql.query(`DELETE FROM outbox WHERE tenant_id = $1 AND id = $2::uuid AND status = 'dead'`, [this.tenantId, id]);
    return (deleted.rowCount ?? 0) > 0;
  }
}
