// GET /metrics (issue 13; docs/metrics.md): the Prometheus text exposition, at the server's root
// rather than under a tenant base. When the server runs open (auth-mode.ts) anyone on this
// machine may scrape it; otherwise the caller presents `Authorization: Bearer <token>` (RFC 6750)
// with either the configured metrics token (HEARTH_METRICS_TOKEN) or an access token of an
// administrator of the default tenant (the server's operator). No or a bad token: 401 with
// WWW-Authenticate; a valid token without administrator rights: 403.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { forbidden } from '../core/errors.js';
import type { HearthMetrics } from '../core/metrics.js';
import { invalidToken, type Authenticator } from './authenticate.js';

export interface MetricsRouteDeps {
  metrics: HearthMetrics;
  authenticator: Authenticator;
  /** HEARTH_METRICS_TOKEN: the secret Prometheus scrapes with. */
  metricsToken?: string;
  /** The default tenant's base URL as this request reached the server (an admin token's audience). */
  defaultAudience: (req: Request) => string;
}

export function metricsRoute(deps: MetricsRouteDeps) {
  return (req: Request, res: Response, next: NextFunction): void =>
    void serveMetrics(deps, req, res).catch(next);
}

async function serveMetrics(deps: MetricsRouteDeps, req: Request, res: Response): Promise<void> {
  await authorizeScrape(deps, req);
  const text = await deps.metrics.text();
  res.setHeader('Content-Type', deps.metrics.contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.send(text);
}

/** Resolves when the caller may read the metrics; throws the 401/403 FhirError otherwise. */
export async function authorizeScrape(deps: MetricsRouteDeps, req: Request): Promise<void> {
  if (deps.authenticator.mode === 'open') return;
  const header = req.get('authorization');
  if (header === undefined || header === '') throw invalidToken('an access token is required');
  // The metrics token is any string the operator chose: matched before the JWT grammar applies.
  const presented = /^Bearer +(.+?) *$/i.exec(header)?.[1];
  if (presented !== undefined && deps.metricsToken !== undefined && sameSecret(presented, deps.metricsToken)) return;
  const access = await deps.authenticator.accessFor(header, { tenantId: 'default', audience: deps.defaultAudience(req) });
  if (!access.isAdmin) {
    throw forbidden('GET /metrics needs the metrics token or an access token of an administrator of the default tenant');
  }
}

/** Constant-time comparison; hashing first makes the lengths equal (and leaks nothing about them). */
export function sameSecret(presented: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
