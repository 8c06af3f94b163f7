// What every step of the SMART front channel shares (issue 10): the dependencies, the tenant
// and FHIR base of a request, the authorization session the browser's cookie names, and the
// answers that end a step (a page, a refusal, the way back to the app).
import type { Request, Response } from 'express';
import type { AuthDeps, AuthorizationServerApi } from '../contracts.js';
import type { AttemptLimiter, RequestLimiter } from '../rate-limit.js';
import type { UserStore } from '../users/user-store.js';
import { csrfTokenMatches, CSRF_FIELD } from '../csrf.js';
import { errorPage, returnToAppPage } from '../pages/message-pages.js';
import { readCookie, SESSION_COOKIE, sendPage, sessionCookie } from './http-helpers.js';
import type { AuthorizationSession, SessionStage, SessionStore } from './session-store.js';

/** Pages below a tenant's FHIR base (the authorize endpoint itself is AUTH_PATHS.authorize). */
export const FRONT_PATHS = Object.freeze({
  login: '/auth/login',
  totp: '/auth/totp',
  patient: '/auth/patient',
  consent: '/auth/consent',
});

export const STAGE_PATH: Readonly<Record<SessionStage, string>> = {
  login: FRONT_PATHS.login,
  totp: FRONT_PATHS.totp,
  patient: FRONT_PATHS.patient,
  consent: FRONT_PATHS.consent,
};

export interface FrontChannelDeps extends AuthDeps {
  authServer: AuthorizationServerApi;
  limiters: { login: AttemptLimiter; loginRequests?: RequestLimiter };
}

export interface FlowContext {
  deps: FrontChannelDeps;
  users: UserStore;
  sessions: SessionStore;
  loginRequests: RequestLimiter;
}

/** The tenant of a request and where its pages live. */
export interface TenantRequest {
  tenantId: string;
  /** The tenant's FHIR base path, e.g. /fhir or /t/acme/fhir (req.baseUrl). */
  basePath: string;
  /** The tenant's FHIR base URL (what `aud` must equal). */
  fhirBase: string;
}

export function showError(res: Response, status: number, title: string, message: string): void {
  sendPage(res, status, (nonce) => errorPage({ nonce, title, message }));
}

export const sessionExpired = (res: Response) =>
  showError(res, 400, 'Your sign-in has expired', 'This sign-in request has expired or was already used.');

export function cookiePath(tenant: TenantRequest): string {
  return `${tenant.basePath}/auth`;
}

export function setSessionCookie(res: Response, tenant: TenantRequest, id: string, maxAgeSeconds: number): void {
  res.append('Set-Cookie', sessionCookie(id, cookiePath(tenant), tenant.fhirBase.startsWith('https:'), maxAgeSeconds));
}

export function clearSessionCookie(res: Response, tenant: TenantRequest): void {
  res.append('Set-Cookie', sessionCookie('', cookiePath(tenant), tenant.fhirBase.startsWith('https:'), 0));
}

/** The live session of the browser's cookie, or undefined (the caller shows sessionExpired). */
export function currentSession(ctx: FlowContext, req: Request, tenant: TenantRequest): Promise<AuthorizationSession | undefined> {
  return ctx.sessions.find(tenant.tenantId, readCookie(req, SESSION_COOKIE));
}

/** Sends the browser to the page of the session's current stage. */
export function redirectToStage(res: Response, tenant: TenantRequest, session: AuthorizationSession): void {
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(303, `${tenant.basePath}${STAGE_PATH[session.stage]}`);
}

/** True when the form carries the session's current CSRF token; otherwise answers 403 and returns false. */
export function checkCsrf(res: Response, session: AuthorizationSession, form: URLSearchParams): boolean {
  if (csrfTokenMatches(session.csrfToken, form.get(CSRF_FIELD))) return true;
  showError(res, 403, 'This form has expired', 'The form was not accepted (it was stale, or not sent from this sign-in). Nothing was changed.');
  return false;
}

/** The end of the flow: back to the app (see returnToAppPage for why a page, not a 303). */
export function returnToApp(res: Response, tenant: TenantRequest, location: string, clientName: string): void {
  clearSessionCookie(res, tenant);
  sendPage(res, 200, (nonce) => returnToAppPage({ nonce, location, clientName }));
}
