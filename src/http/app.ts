// The Express application: operational middleware, health endpoints, the authorization server's
// routes and the FHIR bases (/fhir for the default tenant, /t/{tenant}/fhir for the others).
// Every FHIR request is authenticated here (bearer token -> AccessContext, authenticate.ts);
// what it may do is decided in fhir/access. Express stops here: below this file everything is
// FhirRequest/FhirResponse.
import compression from 'compression';
import { shouldCompress } from './compress-filter.js';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import type { Config } from '../core/config.js';
import { FhirError, toOutcome } from '../core/errors.js';
import type { FhirService } from '../fhir/service.js';
import type { HearthMetrics } from '../core/metrics.js';
import type { Logger } from '../core/logger.js';
import type { Authenticator } from './authenticate.js';
import { matchBase, rawQueryOf, toFhirRequest, type BaseMatch } from './fhir-request.js';
import { AuditUnavailable } from '../fhir/audit-unavailable.js';
import type { AccessContext, FhirRequest, HttpMethod } from '../core/types.js';
import { negotiateResponseType, type ResponseMediaType } from './negotiation.js';
import { requestIdFrom } from './request-id.js';
import { metricsRoute } from './metrics-route.js';
import { requestMetrics } from './request-metrics.js';
import { sendFhir, sendOutcome } from './send.js';

export interface AppDeps {
  config: Config;
  service: FhirService;
  logger: Logger;
  /** Resolves when the database answers; used by /readyz. */
  ready: () => Promise<void>;
  /** Bearer token -> AccessContext for every FHIR and admin request (its mode: required or open). */
  authenticator: Authenticator;
  /**
   * Routers mounted below every tenant base ahead of FHIR handling: the authorization server's
   * endpoints and pages, and the admin API (which reads the caller from res.locals.access).
   */
  authRouters?: Router[];
  /** Prometheus metrics: HTTP requests are observed and GET /metrics serves them (absent: neither). */
  metrics?: HearthMetrics;
}

/** Paths below a base that belong to the authorization server and the admin API, not to FHIR. */
const AUTH_ROUTE = /^\/(?:auth|admin)(?:\/|$)|^\/\.well-known\//;

/** Every tenant base, as Express mount paths. */
export const TENANT_BASES = ['/fhir', '/t/:tenant/fhir'];

/** The absolute URL of the FHIR base `basePath` (e.g. /t/acme/fhir) as this request reached it. */
export function baseUrlOf(config: Config, req: Request, basePath: string): string {
  const origin = config.publicBaseUrl ?? `${req.protocol}://${req.get('host') ?? `${config.host}:${config.port}`}`;
  return origin + basePath;
}

const EXPOSED = ['Location', 'Content-Location', 'ETag', 'Last-Modified', 'X-Request-Id', 'X-Progress'];

export function createApp(deps: AppDeps): express.Express {
  return createHttp(deps).app;
}

/** A connect-style middleware: what Express runs, and what the FHIR lane runs without Express's router. */
type Middleware = (req: Request, res: Response, next: (error?: unknown) => void) => void;

/**
 * The Express application and the HTTP server's request listener. The listener sends FHIR
 * interactions down a lane of their own: the same middleware in the same order (request id and
 * log, metrics, security headers, CORS, compression, body) and the same handler, run one after
 * the other without Express's router, whose per-request matching of every layer cost about as
 * much as the rest of a read's HTTP handling together (issue 14, docs/benchmarks.md). Everything
 * else (health, metrics, the authorization server, the admin API) goes through Express.
 */
export function createHttp(deps: AppDeps): { app: express.Express; listener: (req: IncomingMessage, res: ServerResponse) => void } {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const common: Middleware[] = [requestContext(logger)];
  // Scrapes are not counted: Prometheus records its own scrape durations.
  if (deps.metrics) common.push(requestMetrics(deps.metrics.http, ['/metrics']));
  common.push(helmet() as Middleware, cors({ origin: config.corsOrigins, exposedHeaders: EXPOSED }) as Middleware);
  // A client that accepts no encoding gets nothing compressed: it need not pay compression's
  // wrapping of every response either (issue 14, a read's Node CPU).
  const compress = compression({ filter: shouldCompress }) as Middleware;
  common.push((req, res, next) => (req.headers['accept-encoding'] ? compress(req, res, next) : next()));
  const body = express.raw({ type: () => true, limit: config.maxBodyBytes }) as Middleware;
  const fhir: Middleware = (req, res, next) => void handleFhir(deps, req, res).catch(next);
  const failure = (error: unknown, req: Request, res: Response) => sendFailure(logger, error, req, res);

  app.use(...common);
  if (deps.metrics) {
    app.get('/metrics', metricsRoute({
      metrics: deps.metrics,
      authenticator: deps.authenticator,
      metricsToken: config.metricsToken,
      defaultAudience: (req) => baseUrlOf(config, req, '/fhir'),
    }));
  }
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await deps.ready();
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'database unreachable' });
    }
  });
  // The admin API acts for its caller: authenticate first (tokens of admin clients, or the open mode).
  app.use(TENANT_BASES.map((base) => `${base}/admin`), (req, res, next) => void authenticateAdmin(deps, req, res).then(() => next(), next));
  // Only the authorization server's and the admin API's paths reach those routers: FHIR
  // requests never pay for them (nor meet their answers for unknown paths).
  const authRoutes = express.Router();
  for (const router of deps.authRouters ?? []) authRoutes.use(router);
  app.use(TENANT_BASES, (req, res, next) => (AUTH_ROUTE.test(req.path) ? authRoutes(req, res, next) : next()));
  app.use(body);
  app.use(fhir);
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => failure(error, req, res));

  const lane = [...common, body, fhir];
  const listener = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    if (!inFhirLane(incoming.url ?? '/')) return void app(incoming, outgoing);
    // What Express's app.handle does before its router: the request and response gain
    // Express's API (req.get, req.path, res.status, res.locals …) the middleware relies on.
    const req = incoming as Request;
    const res = outgoing as Response;
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    res.locals = Object.create(null) as Record<string, unknown>;
    req.baseUrl = '';
    req.originalUrl = req.url;
    let index = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined) return failure(error, req, res);
      const middleware = lane[index++];
      if (!middleware) return;
      try {
        middleware(req, res, next);
      } catch (thrown) {
        failure(thrown, req, res);
      }
    };
    next();
  };
  return { app, listener };
}

/** Whether `url` is a FHIR interaction below a tenant base (not the authorization server's or the admin API's). */
function inFhirLane(url: string): boolean {
  const query = url.indexOf('?');
  let match: BaseMatch | undefined;
  try {
    match = matchBase(query === -1 ? url : url.slice(0, query));
  } catch {
    return false; // a path that does not decode: Express's route answers it as before
  }
  return match !== undefined && !AUTH_ROUTE.test(`/${match.segments.join('/')}`);
}

function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    // Below info the request log is never written: no listener, no timing (issue 14).
    if (!logger.isLevelEnabled('info')) return next();
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // Path only: query strings carry search values (PHI) and are never logged.
      logger.info({
        requestId,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      }, 'request');
    });
    next();
  };
}

async function handleFhir(deps: AppDeps, req: Request, res: Response): Promise<void> {
  const match = matchBase(req.path);
  if (!match) throw new FhirError(404, { code: 'not-found', diagnostics: `No FHIR endpoint at ${req.path}; the base is /fhir` });
  const format = new URLSearchParams(req.originalUrl.split('?')[1] ?? '').get('_format');
  const type = negotiateResponseType(req.get('accept'), format);
  res.locals.responseType = type;
  const baseUrl = baseUrlOf(deps.config, req, match.basePath);
  let access: AccessContext | undefined;
  let request: FhirRequest;
  try {
    access = isPublic(req.method, match.segments)
      ? PUBLIC_ACCESS
      : await deps.authenticator.accessFor(req.get('authorization'), { tenantId: match.tenantId, audience: baseUrl });
    request = toFhirRequest(req, match, baseUrl, res.locals.requestId, { maxDepth: deps.config.maxJsonDepth }, access);
    // What POST [base] is, for the request metrics (the service decides the same way).
    if (request.method === 'POST' && request.path.length === 0) res.locals.bundleType = (request.body as { type?: unknown } | undefined)?.type === 'batch' ? 'batch' : 'transaction';
  } catch (error) {
    await recordRejected(deps, req, match, baseUrl, res.locals.requestId, access, error);
    throw error;
  }
  const response = await deps.service.handle(request);
  for (const err of response.unexpectedErrors ?? []) {
    deps.logger.error({ requestId: res.locals.requestId, err, path: req.path }, 'unhandled error in a batch entry');
  }
  sendFhir(res, response, type, request.query.get('_pretty') === 'true', request.method === 'HEAD', (err) =>
    deps.logger.error({ requestId: res.locals.requestId, err, path: req.path }, 'streamed response failed; connection closed'),
  );
}

/**
 * A request refused before it became a FhirRequest (a token that does not verify, a body that
 * does not parse) is audited too (issue 11), as what the client sent: method, path, query and
 * address, under the tenant it named when that tenant exists. A trail that cannot be written
 * turns the refusal into a 503 (AuditUnavailable, thrown from here).
 */
async function recordRejected(deps: AppDeps, req: Request, match: BaseMatch, baseUrl: string, requestId: string, access: AccessContext | undefined, error: unknown): Promise<void> {
  const rawQuery = rawQueryOf(req);
  const method = req.method.toUpperCase();
  const rejected: FhirRequest = {
    method: (['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? method : 'GET') as HttpMethod,
    tenantId: match.tenantId,
    baseUrl,
    path: match.segments,
    query: new URLSearchParams(rawQuery),
    rawQuery,
    clientAddress: req.socket?.remoteAddress,
    prefer: {},
    // A caller whose credentials were refused: recorded as anonymous, with no rights.
    access: access ?? PUBLIC_ACCESS,
    requestId,
  };
  try {
    await deps.service.recordRejected(rejected, error);
  } catch (failure) {
    if (failure instanceof AuditUnavailable) throw failure;
    // An unknown tenant has no trail: the refusal stands as it is.
  }
}

/** The caller of a public endpoint: no scopes, no rights beyond what is public. */
const PUBLIC_ACCESS: AccessContext = Object.freeze({ subject: 'anonymous', scopes: Object.freeze([] as string[]), isAdmin: false });

/** GET/HEAD {base}/metadata: clients read the CapabilityStatement (and its SMART oauth-uris) before they have a token. */
function isPublic(method: string, segments: string[]): boolean {
  return (method === 'GET' || method === 'HEAD') && segments.length === 1 && segments[0] === 'metadata';
}

async function authenticateAdmin(deps: AppDeps, req: Request, res: Response): Promise<void> {
  const match = matchBase(req.baseUrl);
  if (!match) throw new FhirError(404, { code: 'not-found', diagnostics: `No endpoint at ${req.baseUrl}` });
  res.locals.access = await deps.authenticator.accessFor(req.get('authorization'), { tenantId: match.tenantId, audience: baseUrlOf(deps.config, req, match.basePath) });
}

function sendFailure(logger: Logger, error: unknown, req: Request, res: Response): void {
  const type: ResponseMediaType = res.locals.responseType ?? 'application/fhir+json';
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const reply = toOutcome(error, res.locals.requestId);
  if (reply.unexpected) logger.error({ requestId: res.locals.requestId, err: error, path: req.path }, 'unhandled error');
  // The client is told only to retry; the operator needs the cause.
  else if (error instanceof AuditUnavailable) logger.error({ requestId: res.locals.requestId, err: error.cause, path: req.path }, 'audit trail unavailable: request refused (503)');
  sendOutcome(res, reply, type);
}
