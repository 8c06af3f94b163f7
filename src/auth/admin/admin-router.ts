// The token side's admin API under {base}/admin/ (JSON; issue 10 "CLI and admin API"): register,
// list, read and remove OAuth clients, and create EHR launch contexts (SMART App Launch 2.x EHR
// launch). The caller's AccessContext is read from res.locals.access, set by the server's
// authentication middleware before this router runs: none -> 401, not isAdmin (or another
// tenant's) -> 403.
import { Router, type NextFunction, type Request, type Response } from 'express';
import { isValidId } from '../../core/ids.js';
import type { AccessContext } from '../../core/types.js';
import { addClient, findClient, listClients, removeClient, type StoredClient } from '../clients/client-store.js';
import { ClientRegistrationError } from '../clients/client-validation.js';
import type { ClientKind } from '../contracts.js';
import { bodyBytes, sendJson } from '../tokens/http-io.js';
import { insertLaunch } from '../tokens/launch-store.js';
import type { TokenRuntime } from '../tokens/runtime.js';
import { inTenant } from '../tokens/sql.js';

/** Where the admin API lives below a tenant base. */
export const ADMIN_BASE = '/admin';
export const ADMIN_PATHS = Object.freeze({ clients: '/admin/clients', client: '/admin/clients/:clientId', launch: '/admin/launch' });

/** A client as the admin API shows it (snake_case like OAuth dynamic registration, RFC 7591). */
export function clientJson(client: StoredClient): Record<string, unknown> {
  const out: Record<string, unknown> = {
    client_id: client.clientId,
    client_name: client.name,
    kind: client.kind,
    redirect_uris: [...client.redirectUris],
    scope: client.scope,
    admin: client.admin,
    created: client.createdAt.toISOString(),
  };
  if (client.jwks) out.jwks = client.jwks;
  if (client.jwksUri) out.jwks_uri = client.jwksUri;
  return out;
}

/** An admin API refusal: its HTTP status and error code (shared by the sync admin API). */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The request's JSON object body (application/json), or an AdminError 415/400. */
export async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  const type = (req.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') throw new AdminError(415, 'invalid_request', 'the body must be application/json');
  const body: unknown = req.body;
  let value: unknown = body;
  if (body === undefined || Buffer.isBuffer(body) || typeof body === 'string') {
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await bodyBytes(req)));
    } catch {
      throw new AdminError(400, 'invalid_request', 'the body is not valid JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AdminError(400, 'invalid_request', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

const optionalString = (body: Record<string, unknown>, name: string): string | undefined => {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AdminError(400, 'invalid_request', `${name} must be a string`);
  return v;
};

/** The admin guard: 401 without a caller, 403 unless an admin of the request's tenant (or of no tenant). */
export function requireAdmin(tenantOf: (req: Request) => string | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    const access = res.locals.access as AccessContext | undefined;
    if (!access) {
      res.set('WWW-Authenticate', 'Bearer');
      sendJson(res, 401, { error: 'invalid_token', error_description: 'the admin API needs a bearer token' });
      return;
    }
    const tenantId = tenantOf(req);
    if (!access.isAdmin || (access.tenantId !== undefined && access.tenantId !== tenantId)) {
      sendJson(res, 403, { error: 'insufficient_scope', error_description: 'the admin API is for admin clients of this tenant' });
      return;
    }
    next();
  };
}

/**
 * `tenantOf` gives the (already checked) tenant of a request: the caller checks the tenant on
 * every path below ADMIN_BASE before this router runs.
 */
export function createAdminRouter(runtime: TokenRuntime, tenantOf: (req: Request) => string | undefined): Router {
  const router = Router();
  const guard = requireAdmin(tenantOf);
  const wrap = (handler: (req: Request, res: Response, tenantId: string) => Promise<void>) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      await handler(req, res, tenantOf(req)!);
    } catch (error) {
      if (error instanceof AdminError) sendJson(res, error.status, { error: error.code, error_description: error.message });
      else if (error instanceof ClientRegistrationError) sendJson(res, 400, { error: 'invalid_client_metadata', error_description: error.message });
      else next(error);
    }
  };
  const db = runtime.database;

  router.post(ADMIN_PATHS.clients, guard, wrap(async (req, res, tenantId) => {
    const body = await jsonBody(req);
    const redirects = body.redirect_uris ?? [];
    if (!Array.isArray(redirects) || redirects.some((r) => typeof r !== 'string')) throw new AdminError(400, 'invalid_client_metadata', 'redirect_uris must be an array of strings');
    if (body.admin !== undefined && typeof body.admin !== 'boolean') throw new AdminError(400, 'invalid_client_metadata', 'admin must be a boolean');
    const client = await inTenant(db, tenantId, (sql) => addClient(sql, tenantId, {
      clientId: optionalString(body, 'client_id'),
      name: optionalString(body, 'client_name') ?? optionalString(body, 'name') ?? '',
      kind: optionalString(body, 'kind') as ClientKind,
      redirectUris: redirects as string[],
      scope: optionalString(body, 'scope'),
      jwks: body.jwks ?? undefined,
      jwksUri: optionalString(body, 'jwks_uri'),
      admin: body.admin as boolean | undefined,
    }));
    sendJson(res, 201, clientJson(client));
  }));

  router.get(ADMIN_PATHS.clients, guard, wrap(async (_req, res, tenantId) => {
    const clients = await inTenant(db, tenantId, (sql) => listClients(sql, tenantId), true);
    sendJson(res, 200, { clients: clients.map(clientJson) });
  }));

  router.get(ADMIN_PATHS.client, guard, wrap(async (req, res, tenantId) => {
    const clientId = String(req.params.clientId);
    const client = await inTenant(db, tenantId, (sql) => findClient(sql, tenantId, clientId), true);
    if (!client) throw new AdminError(404, 'not_found', 'no such client');
    sendJson(res, 200, clientJson(client));
  }));

  router.delete(ADMIN_PATHS.client, guard, wrap(async (req, res, tenantId) => {
    const clientId = String(req.params.clientId);
    const removed = await inTenant(db, tenantId, (sql) => removeClient(sql, tenantId, clientId));
    if (!removed) throw new AdminError(404, 'not_found', 'no such client');
    runtime.grants.forgetClient(tenantId, clientId);
    res.status(204).end();
  }));

  router.post(ADMIN_PATHS.launch, guard, wrap(async (req, res, tenantId) => {
    const body = await jsonBody(req);
    const patient = optionalString(body, 'patient');
    const encounter = optionalString(body, 'encounter');
    const userId = optionalString(body, 'user');
    if (patient === undefined || !isValidId(patient)) throw new AdminError(400, 'invalid_request', 'patient (a Patient id) is required');
    if (encounter !== undefined && !isValidId(encounter)) throw new AdminError(400, 'invalid_request', 'encounter must be an Encounter id');
    if (userId !== undefined && (userId === '' || userId.length > 256)) throw new AdminError(400, 'invalid_request', 'user must be a user id');
    const launch = await inTenant(db, tenantId, (sql) => insertLaunch(sql, tenantId, { patient, encounter, userId }));
    sendJson(res, 201, { launch });
  }));

  return router;
}
