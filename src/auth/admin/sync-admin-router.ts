// The sync admin API under {base}/admin/sync/ (issue 13 "Sync destinations", "Dead letters";
// docs/sync-admin.md): a tenant's sync destinations (create or replace, list, read, remove), the
// delivery status of each (backlog, age of the oldest row, dead letters, circuit breaker), and the
// dead letters (list, inspect, replay, discard). JSON, with the guard of the token side's admin
// API (admin-router.ts: 401 without a caller, 403 unless an admin of this tenant). Secrets never
// leave: a destination's auth is shown by destinationView (destination-input.ts). Every call runs
// PgSyncAdminStore in one tenant transaction as the app role (row-level security).
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../../core/config.js';
import type { DestinationStatus, OutboxRow } from '../../storage/delivery-store.js';
import type { Database } from '../../storage/pg/database.js';
import { PgSyncAdminStore } from '../../storage/pg/sync-admin-store.js';
import { TenantCheck, tenantFromBasePath } from '../tenants.js';
import { sendJson } from '../tokens/http-io.js';
import { inTenant } from '../tokens/sql.js';
import { AdminError, jsonBody, requireAdmin } from './admin-router.js';
import { DestinationInputError, destinationView, parseDestinationInput } from './destination-input.js';

export const SYNC_ADMIN_PATHS = Object.freeze({
  destinations: '/admin/sync/destinations',
  destination: '/admin/sync/destinations/:id',
  status: '/admin/sync/status',
  deadLetters: '/admin/sync/dead-letters',
  deadLetter: '/admin/sync/dead-letters/:id',
  replay: '/admin/sync/dead-letters/:id/replay',
});

export const DEFAULT_DEAD_LETTER_LIMIT = 100;
export const MAX_DEAD_LETTER_LIMIT = 1000;

/** An outbox row as an operator reads it: what, where, how often tried, and what the partner said. */
export function outboxRowView(row: OutboxRow): Record<string, unknown> {
  return {
    id: row.id,
    channel: row.channel,
    target: row.target,
    resource: { reference: `${row.resourceType}/${row.resourceId}`, versionId: row.versionId },
    action: row.action,
    status: row.status,
    attempts: row.attempts,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    // The partner's OperationOutcome, as received.
    lastOutcome: row.lastOutcome ?? null,
    createdAt: row.createdAt.toISOString(),
    deadAt: row.deadAt?.toISOString() ?? null,
  };
}

export function statusView(s: DestinationStatus): Record<string, unknown> {
  return {
    id: s.id,
    backlog: s.backlog,
    oldestAgeSeconds: s.oldestAgeSeconds,
    deadLetters: s.deadLetters,
    breaker: s.breaker ? { state: s.breaker.state, changedAt: s.breaker.changedAt.toISOString(), openedCount: s.breaker.openedCount } : null,
  };
}

/** `limit` of a dead-letter listing: 1..MAX, DEFAULT when absent. */
export function deadLetterLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_DEAD_LETTER_LIMIT;
  if (typeof value !== 'string' || !/^\d{1,7}$/.test(value) || Number(value) < 1 || Number(value) > MAX_DEAD_LETTER_LIMIT) {
    throw new AdminError(400, 'invalid_request', `limit: an integer from 1 to ${MAX_DEAD_LETTER_LIMIT} is required`);
  }
  return Number(value);
}

export interface SyncAdminDeps {
  config: Pick<Config, 'tenantCacheTtlMs'>;
  database: Database;
}

export function createSyncAdminRouter(deps: SyncAdminDeps): Router {
  const router = Router();
  const tenants = new TenantCheck(deps.database, deps.config.tenantCacheTtlMs);
  const tenantOf = (req: Request) => req.res?.locals.syncTenant as string | undefined;

  // The tenant first (404 for an unknown one), then the caller.
  router.all(['/admin/sync', '/admin/sync/*rest'], async (req: Request, res: Response, next: NextFunction) => {
    try {
      const tenantId = tenantFromBasePath(req.baseUrl);
      if (tenantId === undefined || !(await tenants.exists(tenantId))) {
        sendJson(res, 404, { error: 'not_found', error_description: 'unknown tenant' });
        return;
      }
      res.locals.syncTenant = tenantId;
      next();
    } catch (error) {
      next(error);
    }
  }, requireAdmin(tenantOf));

  const wrap = (handler: (req: Request, res: Response, tenantId: string) => Promise<void>) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      await handler(req, res, tenantOf(req)!);
    } catch (error) {
      if (error instanceof AdminError) sendJson(res, error.status, { error: error.code, error_description: error.message });
      else if (error instanceof DestinationInputError) sendJson(res, 400, { error: 'invalid_request', error_description: error.message, field: error.field });
      else next(error);
    }
  };
  /** `work` with the tenant's store, in one transaction as the app role. */
  const inStore = <T>(tenantId: string, work: (store: PgSyncAdminStore) => Promise<T>, readOnly = false): Promise<T> =>
    inTenant(deps.database, tenantId, (sql) => work(new PgSyncAdminStore(sql, tenantId)), readOnly);
  const notFound = (what: string) => new AdminError(404, 'not_found', `no such ${what}`);
  const idOf = (req: Request) => String(req.params.id);

  router.post(SYNC_ADMIN_PATHS.destinations, wrap(async (req, res, tenantId) => {
    // Parsed (and its key tried) before the transaction opens: no connection is held meanwhile.
    const input = await parseDestinationInput(await jsonBody(req));
    const saved = await inStore(tenantId, (store) => store.putDestination(input));
    sendJson(res, 201, await destinationView(saved));
  }));

  router.get(SYNC_ADMIN_PATHS.destinations, wrap(async (_req, res, tenantId) => {
    const list = await inStore(tenantId, (store) => store.listDestinations(), true);
    sendJson(res, 200, { destinations: await Promise.all(list.map(destinationView)) });
  }));

  router.get(SYNC_ADMIN_PATHS.destination, wrap(async (req, res, tenantId) => {
    const found = await inStore(tenantId, (store) => store.getDestination(idOf(req)), true);
    if (!found) throw notFound('destination');
    sendJson(res, 200, await destinationView(found));
  }));

  router.delete(SYNC_ADMIN_PATHS.destination, wrap(async (req, res, tenantId) => {
    if (!(await inStore(tenantId, (store) => store.removeDestination(idOf(req))))) throw notFound('destination');
    res.status(204).end();
  }));

  router.get(SYNC_ADMIN_PATHS.status, wrap(async (_req, res, tenantId) => {
    const list = await inStore(tenantId, (store) => store.status(), true);
    sendJson(res, 200, { destinations: list.map(statusView) });
  }));

  router.get(SYNC_ADMIN_PATHS.deadLetters, wrap(async (req, res, tenantId) => {
    const destination = req.query.destination;
    if (destination !== undefined && (typeof destination !== 'string' || !/^[A-Za-z0-9.-]{1,64}$/.test(destination))) {
      throw new AdminError(400, 'invalid_request', 'destination: a destination or Subscription id is required');
    }
    const limit = deadLetterLimit(req.query.limit);
    const rows = await inStore(tenantId, (store) => store.deadLetters({ target: destination, limit }), true);
    sendJson(res, 200, { deadLetters: rows.map(outboxRowView) });
  }));

  // The row whatever its status: after a replay it shows the delivery under way until it is gone.
  router.get(SYNC_ADMIN_PATHS.deadLetter, wrap(async (req, res, tenantId) => {
    const row = await inStore(tenantId, (store) => store.outboxRow(idOf(req)), true);
    if (!row) throw notFound('dead letter');
    sendJson(res, 200, outboxRowView(row));
  }));

  router.post(SYNC_ADMIN_PATHS.replay, wrap(async (req, res, tenantId) => {
    if (!(await inStore(tenantId, (store) => store.replay(idOf(req))))) throw notFound('dead letter');
    sendJson(res, 202, { id: idOf(req), status: 'pending' });
  }));

  router.delete(SYNC_ADMIN_PATHS.deadLetter, wrap(async (req, res, tenantId) => {
    if (!(await inStore(tenantId, (store) => store.discard(idOf(req))))) throw notFound('dead letter');
    res.status(204).end();
  }));

  return router;
}
