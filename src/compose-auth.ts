// The composition root of SMART (issue 10; docs/adr/0009-layers-and-composition.md): the
// authenticator that turns bearer tokens into access contexts, and the routers of the
// authorization server (token side, front channel) and the admin APIs (clients, sync), with the shared rate
// limiters, for src/server.ts to hand to the HTTP app.
import type { Config } from './core/config.js';
import type { Logger } from './core/logger.js';
import type { FhirService } from './fhir/service.js';
import { baseUrlOf } from './http/app.js';
import { decideAuthMode } from './http/auth-mode.js';
import { Authenticator, type HearthTokenVerifier } from './http/authenticate.js';
import { matchBase } from './http/fhir-request.js';
import type { Database } from './storage/pg/database.js';
import type { AuthDeps } from './auth/contracts.js';
import type { SecurityAuditSink } from './audit/security-sink.js';
import { ExternalIssuer } from './auth/external-issuer.js';
import { createSyncAdminRouter } from './auth/admin/sync-admin-router.js';
import { createFrontChannelRouter } from './auth/front-channel.js';
import { createAttemptLimiters } from './auth/rate-limit.js';
import { createAccessTokenVerifier, createAuthorizationServerApi, createTokenSideRouter, isAdminToken } from './auth/token-side.js';

// Express's types, named through the auth parts' own signatures (Express stays in src/http and src/auth).
type Router = ReturnType<typeof createTokenSideRouter>;
type Request = Parameters<AuthDeps['baseUrlFor']>[0];

export interface AuthComponents {
  authenticator: Authenticator;
  routers: Router[];
  /** Said at start-up when the server runs without authentication. */
  warning?: string;
  close(): Promise<void>;
}

/** The tenant's FHIR base URL as this request reached it (HEARTH_PUBLIC_BASE_URL wins). */
export function baseUrlFor(config: Config, req: Request): string {
  return baseUrlOf(config, req, matchBase(req.baseUrl)?.basePath ?? req.baseUrl);
}

export function createAuthComponents(config: Config, database: Database, service: FhirService, logger: Logger, audit?: SecurityAuditSink): AuthComponents {
  const decision = decideAuthMode(config);
  const verifyHearthToken: HearthTokenVerifier = createAccessTokenVerifier({ database, config });
  const external = config.oidcIssuer ? new ExternalIssuer(config.oidcIssuer, config) : undefined;
  const authenticator = new Authenticator({ mode: decision.mode, verifyHearthToken, external, isAdminToken });

  const limiters = createAttemptLimiters(config);
  const deps: AuthDeps = { config, database, service, logger, baseUrlFor: (req) => baseUrlFor(config, req), ...(audit ? { audit } : {}) };
  const routers = [
    createTokenSideRouter({ ...deps, limiter: limiters.client }),
    createFrontChannelRouter({ ...deps, authServer: createAuthorizationServerApi(deps), limiters: { login: limiters.login, loginRequests: limiters.loginRequests } }),
    // The sync admin API (issue 13) beside the token side's admin API, behind the same guard.
    createSyncAdminRouter({ config, database }),
  ];
  return { authenticator, routers, warning: decision.warning, close: () => limiters.close() };
}
