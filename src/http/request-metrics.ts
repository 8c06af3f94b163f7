// HTTP request metrics (issue 13; docs/metrics.md): every answered request is counted by its FHIR
// interaction (FHIR R4 http.html, the names of fhir/hooks.ts InteractionName) and status code,
// and its duration observed. The interaction is read from the method and path shape as the fhir
// layer names a request it has not routed (fhir/unrouted-target.ts), so the label set stays
// bounded: never a path, an id or a tenant. Cost per request: one hrtime and one listener.
import type { NextFunction, Request, Response } from 'express';
import type { HttpMetricsSink } from '../core/metrics.js';
import type { HttpMethod } from '../core/types.js';
import type { InteractionName } from '../fhir/hooks.js';
import { unroutedTarget } from '../fhir/unrouted-target.js';
import { matchBase } from './fhir-request.js';

/** A FHIR interaction, or 'other' for what is not one (health checks, authorization server, admin API). */
export type HttpInteraction = InteractionName | 'other';

const FHIR_METHODS = new Set<string>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** First segments below a base that belong to the authorization server and the admin API. */
const NOT_FHIR = new Set(['auth', 'admin', '.well-known']);

/**
 * The interaction of `method` on `pathname` (no query string). `bundleType` is what a
 * POST [base] turned out to be once its body was read (res.locals.bundleType); without it the
 * request is named as the fhir layer names an unrouted one.
 */
export function interactionOf(method: string, pathname: string, bundleType?: 'batch' | 'transaction'): HttpInteraction {
  let segments: string[];
  try {
    const match = matchBase(pathname);
    if (!match) return 'other';
    segments = match.segments;
  } catch {
    return 'other'; // a segment that does not decode: answered 400 by the FHIR layer, named nothing
  }
  if (!FHIR_METHODS.has(method)) return 'other';
  if (segments.length > 0 && NOT_FHIR.has(segments[0])) return 'other';
  if (segments.length === 1 && segments[0] === 'metadata' && (method === 'GET' || method === 'HEAD')) return 'capabilities';
  if (segments.length === 0 && method === 'POST' && bundleType) return bundleType;
  return unroutedTarget({ method: method as HttpMethod, path: segments }).interaction;
}

/**
 * Express middleware: observes each request when its response has been sent ('finish'), so a
 * streamed response is timed to its last byte and never waited for. A request whose client
 * went away before the end is not counted. `skip` paths (GET /metrics itself) are not counted.
 */
export function requestMetrics(sink: HttpMetricsSink, skip: readonly string[] = []) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (skip.includes(req.path)) return next();
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // originalUrl: routers mounted at a path rewrite req.url while they handle it.
      const url = req.originalUrl;
      const query = url.indexOf('?');
      const interaction = interactionOf(req.method, query === -1 ? url : url.slice(0, query), res.locals.bundleType);
      sink.request(interaction, res.statusCode, seconds);
    });
    next();
  };
}
