// The front channel of Hearth's SMART on FHIR authorization server (issue 10; SMART App Launch
// 2.x app-launch.html, RFC 6749 section 4.1, RFC 7636): the authorize endpoint and the
// server-rendered login, one-time-code, patient-picker and consent pages, as one Express router
// mounted below every tenant's FHIR base (/fhir, /t/{tenant}/fhir). The tenant comes from the
// mount point (req.baseUrl); an unknown one gets a 404 page. Codes, clients and launch contexts
// belong to the token side, reached through AuthorizationServerApi.
//
//   GET  {base}/auth/authorize   validate, start a session (cookie), -> login
//   GET|POST {base}/auth/login   username + password
//   GET|POST {base}/auth/totp    RFC 6238 code (users with TOTP, or every user when the tenant requires it)
//   GET|POST {base}/auth/patient patient picker (standalone launch/patient)
//   GET|POST {base}/auth/consent scopes in words, Approve / Deny -> back to the app
//
// Decisions (details in each module's header):
//   - the authorization session is server-side (table authorization_session, migration 0012):
//     the cookie holds a random id only, the row expires after 10 minutes and is consumed once;
//   - scopes beyond the client's registration are dropped, not refused (invalid_scope only when
//     a scope is malformed or nothing is left); system/ scopes are never granted to a user;
//     scopes the user unticks are not granted, and approving none is a denial (access_denied);
//   - CSRF: a random token per session, replaced at every step, in every form;
//   - every page sends its own CSP (default-src 'none', a style nonce, form-action 'self',
//     frame-ancestors 'none'); the way back to the app after the consent POST is a page with a
//     meta refresh, because form-action 'self' also governs the redirects after a form POST.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { AUTH_PATHS } from './contracts.js';
import { handleAuthorize } from './authorize/authorize-endpoint.js';
import { showConsent, submitConsent } from './authorize/consent.js';
import { FRONT_PATHS, showError, type FlowContext, type FrontChannelDeps, type TenantRequest } from './authorize/flow-context.js';
import { FormError, MAX_FORM_BYTES } from './authorize/http-helpers.js';
import { showPicker, submitPicker } from './authorize/patient-picker.js';
import { SessionStore } from './authorize/session-store.js';
import { showLogin, showTotp, submitLogin, submitTotp } from './authorize/sign-in.js';
import { createAttemptLimiters } from './rate-limit.js';
import { TenantCheck, tenantFromBasePath } from './tenants.js';
import { UserStore } from './users/user-store.js';

export { FRONT_PATHS, type FrontChannelDeps } from './authorize/flow-context.js';

type Step = (ctx: FlowContext, req: Request, res: Response, tenant: TenantRequest) => Promise<void>;

export function createFrontChannelRouter(deps: FrontChannelDeps): Router {
  const ctx: FlowContext = {
    deps,
    users: new UserStore(deps.database.pool),
    sessions: new SessionStore(deps.database.pool),
    // Without a shared limiter from the integrator, an in-process one (never Redis: it would need closing).
    loginRequests: deps.limiters.loginRequests ?? createAttemptLimiters({ ...deps.config, redisUrl: undefined }).loginRequests,
  };
  const tenants = new TenantCheck(deps.database, deps.config.tenantCacheTtlMs);
  const router = express.Router();
  const formBody = express.raw({ type: 'application/x-www-form-urlencoded', limit: MAX_FORM_BYTES });

  const run = (step: Step) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      const tenantId = tenantFromBasePath(req.baseUrl);
      if (!tenantId || !(await tenants.exists(tenantId))) {
        return showError(res, 404, 'Not found', 'There is no FHIR server here.');
      }
      const tenant: TenantRequest = { tenantId, basePath: req.baseUrl, fhirBase: deps.baseUrlFor(req, tenantId) };
      await step(ctx, req, res, tenant);
    } catch (error) {
      if (error instanceof FormError) return showError(res, error.status, 'This form cannot be read', error.message);
      next(error);
    }
  };

  router.get(AUTH_PATHS.authorize, run(handleAuthorize));
  router.get(FRONT_PATHS.login, run(showLogin));
  router.post(FRONT_PATHS.login, formBody, run(submitLogin));
  router.get(FRONT_PATHS.totp, run(showTotp));
  router.post(FRONT_PATHS.totp, formBody, run(submitTotp));
  router.get(FRONT_PATHS.patient, run(showPicker));
  router.post(FRONT_PATHS.patient, formBody, run(submitPicker));
  router.get(FRONT_PATHS.consent, run(showConsent));
  router.post(FRONT_PATHS.consent, formBody, run(submitConsent));

  // Failures on these pages are pages too, never a stack trace or an OperationOutcome.
  router.use([AUTH_PATHS.authorize, ...Object.values(FRONT_PATHS)], (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const status = (error as { status?: number }).status;
    if (status === 413 || status === 415 || status === 400) return showError(res, status, 'This form cannot be read', 'The form could not be read.');
    deps.logger.error({ err: error }, 'SMART front channel failed');
    showError(res, 500, 'Something went wrong', 'The sign-in could not be completed. Try again from the app.');
  });
  return router;
}
