// The Express application: operational middleware, health endpoints and the FHIR bases
// (/fhir for the default tenant, /t/{tenant}/fhir for the others). Express stops here:
// below this file everything is FhirRequest/FhirResponse.
import compression from 'compression';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Config } from '../core/config.js';
import { FhirError, toOutcome } from '../core/errors.js';
import type { FhirService } from '../fhir/service.js';
import type { Logger } from '../core/logger.js';
import { matchBase, toFhirRequest } from './fhir-request.js';
import { negotiateResponseType, type ResponseMediaType } from './negotiation.js';
import { requestIdFrom } from './request-id.js';
import { sendFhir, sendOutcome } from './send.js';

export interface AppDeps {
  config: Config;
  service: FhirService;
  logger: Logger;
  /** Resolves when the database answers; used by /readyz. */
  ready: () => Promise<void>;
}

const EXPOSED = ['Location', 'Content-Location', 'ETag', 'Last-Modified', 'X-Request-Id', 'X-Progress'];

export function createApp(deps: AppDeps): express.Express {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(logger));
  app.use(helmet());
  app.use(cors({ origin: config.corsOrigins, exposedHeaders: EXPOSED }));
  app.use(compression());
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
  app.use(express.raw({ type: () => true, limit: config.maxBodyBytes }));
  app.use((req, res, next) => void handleFhir(deps, req, res).catch(next));
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => sendFailure(logger, error, req, res));
  return app;
}

function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
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
  const origin = deps.config.publicBaseUrl ?? `${req.protocol}://${req.get('host') ?? `${deps.config.host}:${deps.config.port}`}`;
  const request = toFhirRequest(req, match, origin + match.basePath, res.locals.requestId, { maxDepth: deps.config.maxJsonDepth });
  const response = await deps.service.handle(request);
  for (const err of response.unexpectedErrors ?? []) {
    deps.logger.error({ requestId: res.locals.requestId, err, path: req.path }, 'unhandled error in a batch entry');
  }
  sendFhir(res, response, type, request.query.get('_pretty') === 'true', request.method === 'HEAD');
}

function sendFailure(logger: Logger, error: unknown, req: Request, res: Response): void {
  const type: ResponseMediaType = res.locals.responseType ?? 'application/fhir+json';
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const reply = toOutcome(error, res.locals.requestId);
  if (reply.unexpected) logger.error({ requestId: res.locals.requestId, err: error, path: req.path }, 'unhandled error');
  sendOutcome(res, reply, type);
}
