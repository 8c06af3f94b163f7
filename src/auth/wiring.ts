// Assembles SMART for the HTTP server (issue 10): the authenticator that turns bearer tokens
// into access contexts, and the routers of the authorization server (token side, front
// channel) and the admin API, with the shared rate limiters. The composition of the auth parts
// lives here so that src/server.ts stays a list of components.
import type { Request, Router } from 'express';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { FhirService } from '../fhir/service.js';
import { baseUrlOf } from '../http/app.js';
import { decideAuthMode } from '../http/auth-mode.js';
import { Authenticator, type HearthTokenVerifier } from '../http/authenticate.js';
import { matchBase } from '../http/fhir-request.js';
import type { Database } from '../storage/pg/database.js';
import type { AuthDeps } from './contracts.js';
import { ExternalIssuer } from './external-issuer.js';
import { createFrontChannelRouter } from './front-channel.js';
import { createAttemptLimiters } from './rate-limit.js';
import { createAuthorizationServerApi, createTokenSideRouter } from './token-side.js';
import { InvalidTokenError, isAdminToken, verifyAccessTokenSignature } from './tokens/access-token.js';
import { tokenRuntime } from './tokens/runtime.js';
import { VerifiedTokens } from './verified-tokens.js';

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

export function createAuthComponents(config: Config, database: Database, service: FhirService, logger: Logger): AuthComponents {
  const decision = decideAuthMode(config);
  const runtime = tokenRuntime(database, config);
  const verified = new VerifiedTokens();
  const verifyHearthToken: HearthTokenVerifier = async (token, expected) => {
    let claims = verified.get(token, expected);
    if (!claims) {
      claims = await verifyAccessTokenSignature(runtime, token, expected);
      verified.remember(token, expected, claims);
    }
    if (!(await runtime.grantLive(expected.tenantId, claims.gid))) throw new InvalidTokenError('token revoked');
    return claims;
  };
  const external = config.oidcIssuer ? new ExternalIssuer(config.oidcIssuer, config) : undefined;
  const authenticator = new Authenticator({ mode: decision.mode, verifyHearthToken, external, isAdminToken });

  const limiters = createAttemptLimiters(config);
  const deps: AuthDeps = { config, database, service, logger, baseUrlFor: (req) => baseUrlFor(config, req) };
  const routers = [
    createTokenSideRouter({ ...deps, limiter: limiters.client }),
    createFrontChannelRouter({ ...deps, authServer: createAuthorizationServerApi(deps), limiters: { login: limiters.login, loginRequests: limiters.loginRequests } }),
  ];
  return { authenticator, routers, warning: decision.warning, close: () => limiters.close() };
}
