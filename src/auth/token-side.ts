// The token side of Hearth's SMART on FHIR authorization server (issue 10; SMART App Launch 2.x,
// SMART Backend Services, RFC 6749, 7009, 7523, 7636, 7662, 9068; OpenID Connect Discovery):
//   createTokenSideRouter - the router the server mounts below every tenant FHIR base: discovery
//     documents, JWKS, token, introspection and revocation endpoints, and the admin API;
//   createAuthorizationServerApi - what the front channel calls: clients, codes, launch contexts.
// The router finds its tenant from the base it is mounted under (req.baseUrl) and answers 404
// on its own routes for an unknown one; every other request passes through untouched. CORS for
// the token, introspection and revocation endpoints is the server's (HEARTH_CORS_ORIGINS); the
// discovery documents and the JWKS are public to every origin.
import { Router, type NextFunction, type Request, type Response } from 'express';
import { ADMIN_BASE, createAdminRouter } from './admin/admin-router.js';
import { findClient } from './clients/client-store.js';
import { AUTH_PATHS, type AccessTokenClaims, type AuthDeps, type AuthorizationGrant, type AuthorizationServerApi, type AuthRouterFactory, type OAuthClient } from './contracts.js';
import { verifyAccessTokenWith } from './tokens/access-token.js';
import { insertCode, purgeOldCodes } from './tokens/code-store.js';
import { endpointsOf, openidConfiguration, smartConfiguration } from './tokens/discovery.js';
import { readForm, sendJson, sendOAuthError, sendPublicJson } from './tokens/http-io.js';
import { handleIntrospection } from './tokens/introspection.js';
import { findLaunch } from './tokens/launch-store.js';
import { handleRevocation } from './tokens/revocation.js';
import { OAuthError } from './tokens/oauth-error.js';
import { claimedClient, issuedCaller } from './tokens/token-audit.js';
import { securityRecorder, SecurityAuditUnavailable } from './security-audit.js';
import { tokenRuntime, type TokenRuntime } from './tokens/runtime.js';
import { inTenant } from './tokens/sql.js';
import { handleTokenRequest, type TokenLimiter } from './tokens/token-endpoint.js';
import { TenantCheck, tenantFromBasePath } from './tenants.js';

export type { TokenLimiter } from './tokens/token-endpoint.js';
export { InvalidTokenError, isAdminToken, verifyAccessToken } from './tokens/access-token.js';

/**
 * verifyAccessToken bound to one database (what a server with its own Database should use: the
 * free verifyAccessToken follows the token side created last in the process).
 */
export function createAccessTokenVerifier(deps: Pick<AuthDeps, 'database' | 'config'>): (token: string, expected: { tenantId: string; audience: string }) => Promise<AccessTokenClaims> {
  const runtime = tokenRuntime(deps.database, deps.config);
  return (token, expected) => verifyAccessTokenWith(runtime, token, expected);
}

export interface TokenSideDeps extends AuthDeps {
  /** Rate limiting of the token endpoint per tenant and client_id (optional seam). */
  limiter?: TokenLimiter;
}

const DISCOVERY_MAX_AGE = 300;
const JWKS_MAX_AGE = 60;

export function createTokenSideRouter(deps: TokenSideDeps): Router {
  const runtime = tokenRuntime(deps.database, deps.config);
  const tenants = new TenantCheck(deps.database, deps.config.tenantCacheTtlMs);
  const router = Router();
  const tenantOf = (req: Request): string | undefined => tenantFromBasePath(req.baseUrl);

  // Each route of this router first: which tenant, and does it exist. (Only on these routes:
  // the router is mounted below the FHIR bases, and FHIR requests pass through it untouched.)
  const tenantGuard = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const tenantId = tenantOf(req);
      if (tenantId === undefined || !(await tenants.exists(tenantId))) {
        sendJson(res, 404, { error: 'not_found', error_description: 'unknown tenant' });
        return;
      }
      res.locals.authTenant = tenantId;
      next();
    } catch (error) {
      next(error);
    }
  };

  const tenantIdOf = (req: Request) => req.res?.locals.authTenant as string;
  const base = (req: Request) => deps.baseUrlFor(req, tenantIdOf(req)).replace(/\/$/, '');

  router.get(AUTH_PATHS.smartConfiguration, tenantGuard, (req, response) => sendPublicJson(response, smartConfiguration(base(req)), DISCOVERY_MAX_AGE));
  router.get(AUTH_PATHS.openidConfiguration, tenantGuard, (req, response) => sendPublicJson(response, openidConfiguration(base(req)), DISCOVERY_MAX_AGE));
  router.get(AUTH_PATHS.jwks, tenantGuard, async (req, response, next) => {
    try {
      sendPublicJson(response, await runtime.keys.jwks(tenantIdOf(req)), JWKS_MAX_AGE);
    } catch (error) {
      next(error);
    }
  });

  const oauth = (handler: (req: Request, response: Response, tenantId: string, form: URLSearchParams, started: Date) => Promise<void>) =>
    async (req: Request, response: Response, next: NextFunction) => {
      const started = new Date();
      try {
        await handler(req, response, tenantIdOf(req), await readForm(req), started);
      } catch (error) {
        try {
          sendOAuthError(response, error);
        } catch (unexpected) {
          next(unexpected);
        }
      }
    };

  // The token endpoint records every answer in the tenant's audit trail (issue 11): a token is
  // signed only after its token-issued event is committed (issue-tokens.ts beforeSign), so a
  // trail that cannot be written means a 503 and no token; every error answer is a
  // token-refused event (a failure to record that is logged, the refusal sent anyway).
  router.post(AUTH_PATHS.token, tenantGuard, async (req: Request, response: Response, next: NextFunction) => {
    const tenantId = tenantIdOf(req);
    const b = base(req);
    const audit = securityRecorder(deps, req, response, { tenantId, tenantBase: b }, new Date());
    let form: URLSearchParams | undefined;
    try {
      form = await readForm(req);
      const body = await handleTokenRequest(
        runtime,
        { tenantId, base: b, tokenUrl: endpointsOf(b).token_endpoint, form, authorization: req.get('authorization') },
        deps.limiter,
        { beforeSign: (issuance) => audit.success('token-issued', 200, issuedCaller(issuance)) },
      );
      sendJson(response, 200, body);
    } catch (error) {
      if (error instanceof SecurityAuditUnavailable) {
        sendJson(response, 503, { error: 'temporarily_unavailable' });
        return;
      }
      const refused = error instanceof OAuthError ? { status: error.status, code: error.code } : { status: 500, code: 'server_error' };
      const clientId = await claimedClient(runtime, tenantId, form).catch(() => undefined);
      await audit.refusal('token-refused', refused.status, refused.code, { clientId });
      try {
        sendOAuthError(response, error);
      } catch (unexpected) {
        next(unexpected);
      }
    }
  });
  router.post(AUTH_PATHS.introspect, tenantGuard, oauth(async (req, response, tenantId, form) => {
    const b = base(req);
    const endpoints = endpointsOf(b);
    const body = await handleIntrospection(runtime, {
      tenantId, base: b, tokenUrl: endpoints.token_endpoint, introspectUrl: endpoints.introspection_endpoint, form, authorization: req.get('authorization'),
    });
    sendJson(response, 200, body);
  }));
  // Revoking a user's grant ends the user's session with the app: a logout event (DICOM "User
  // Authentication"). The grant is revoked whatever happens to the record; a failure to record
  // is logged and the client still hears that its token is revoked (it is).
  router.post(AUTH_PATHS.revoke, tenantGuard, oauth(async (req, response, tenantId, form, started) => {
    const b = base(req);
    const endpoints = endpointsOf(b);
    const revoked = await handleRevocation(runtime, {
      tenantId, base: b, tokenUrl: endpoints.token_endpoint, revokeUrl: endpoints.revocation_endpoint, form, authorization: req.get('authorization'),
    });
    if (revoked?.grant.userId !== undefined) {
      const { grant, jti } = revoked;
      const audit = securityRecorder(deps, req, response, { tenantId, tenantBase: b }, started);
      await audit.success('logout', 200, { clientId: grant.clientId, subject: grant.subject, fhirUser: grant.fhirUser, tokenId: jti }).catch(() => undefined);
    }
    sendJson(response, 200, {});
  }));

  router.all([ADMIN_BASE, `${ADMIN_BASE}/*rest`], tenantGuard);
  router.use(createAdminRouter(runtime, (req) => req.res?.locals.authTenant as string | undefined));
  return router;
}

// The factory has the shape every auth part shares (contracts.ts).
const _factoryShape: AuthRouterFactory = createTokenSideRouter;
void _factoryShape;

export function createAuthorizationServerApi(deps: AuthDeps): AuthorizationServerApi {
  const runtime: TokenRuntime = tokenRuntime(deps.database, deps.config);
  return {
    async findClient(tenantId: string, clientId: string): Promise<OAuthClient | undefined> {
      if (!/^[A-Za-z0-9.-]{1,64}$/.test(tenantId) || clientId.length > 256) return undefined;
      const client = await inTenant(runtime.database, tenantId, (sql) => findClient(sql, tenantId, clientId), true);
      if (!client) return undefined;
      const { createdAt: _created, ...rest } = client;
      return rest;
    },
    async issueAuthorizationCode(grant: AuthorizationGrant): Promise<string> {
      // RFC 7636 section 4.2: an S256 challenge is 43 base64url characters.
      if (!/^[A-Za-z0-9_-]{43}$/.test(grant.codeChallenge)) throw new Error('issueAuthorizationCode: codeChallenge is not an S256 challenge');
      if (!grant.clientId || !grant.redirectUri || !grant.userId) throw new Error('issueAuthorizationCode: clientId, redirectUri and userId are required');
      return inTenant(runtime.database, grant.tenantId, async (sql) => {
        await purgeOldCodes(sql, grant.tenantId);
        return insertCode(sql, grant);
      });
    },
    async resolveLaunch(tenantId: string, launch: string) {
      if (!/^[A-Za-z0-9.-]{1,64}$/.test(tenantId) || launch.length === 0 || launch.length > 256) return undefined;
      return inTenant(runtime.database, tenantId, (sql) => findLaunch(sql, tenantId, launch), true);
    },
  };
}
