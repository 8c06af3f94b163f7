// The sign-in steps of the SMART front channel (issue 10): username and password, then the
// RFC 6238 one-time code when the user has a TOTP secret or the tenant requires a second factor.
// Both count failures per account (key: tenant + username, whether or not the user exists) and
// refuse while the account is locked, whatever is presented; login POSTs are also limited per
// IP address. An unknown username costs the same as a wrong password (passwords.verifyDummy).
//
// Each outcome is a security event in the tenant's audit trail (issue 11; DICOM "User
// Authentication", IHE BALP): `login` when the user is authenticated (after the second factor
// when there is one), `login-failed` for every refused attempt. A failed attempt names the
// account only by its id, and only when the account exists: never the typed username, which
// may be a password typed in the wrong field. The login is recorded before the session moves
// on; when it cannot be recorded, the session is ended, its cookie cleared and a 503 page
// answered, so the sign-in grants nothing.
import type { Request, Response } from 'express';
import { needsRehash, hashPassword, verifyDummy, verifyPassword, MAX_PASSWORD_LENGTH } from '../passwords.js';
import { checkTotp } from '../totp.js';
import { loginPage, totpPage } from '../pages/sign-in-pages.js';
import { usernameKey, type User } from '../users/user-store.js';
import {
  checkCsrf,
  clearSessionCookie,
  currentSession,
  FRONT_PATHS,
  redirectToStage,
  sessionExpired,
  showError,
  type FlowContext,
  type TenantRequest,
} from './flow-context.js';
import { readForm, sendPage } from './http-helpers.js';
import type { AuthorizationSession, SessionAdvance, SessionStage } from './session-store.js';
import { securityRecorder, SecurityAuditUnavailable, type SecurityRecorder } from '../security-audit.js';

const accountKey = (tenantId: string, username: string) => `${tenantId}:${usernameKey(username)}`;

const minutes = (seconds: number) => Math.max(1, Math.ceil(seconds / 60));

function renderLogin(res: Response, tenant: TenantRequest, session: AuthorizationSession, status: number, error?: string, username?: string): void {
  sendPage(res, status, (nonce) =>
    loginPage({ nonce, action: `${tenant.basePath}${FRONT_PATHS.login}`, csrfToken: session.csrfToken, clientName: session.request.clientName, error, username }),
  );
}

function renderTotp(res: Response, tenant: TenantRequest, session: AuthorizationSession, status: number, error?: string): void {
  sendPage(res, status, (nonce) =>
    totpPage({ nonce, action: `${tenant.basePath}${FRONT_PATHS.totp}`, csrfToken: session.csrfToken, clientName: session.request.clientName, error }),
  );
}

export async function showLogin(ctx: FlowContext, req: Request, res: Response, tenant: TenantRequest): Promise<void> {
  const session = await currentSession(ctx, req, tenant);
  if (!session) return sessionExpired(res);
  if (session.stage !== 'login') return redirectToStage(res, tenant, session);
  renderLogin(res, tenant, session, 200);
}

export async function showTotp(ctx: FlowContext, req: Request, res: Response, tenant: TenantRequest): Promise<void> {
  const session = await currentSession(ctx, req, tenant);
  if (!session) return sessionExpired(res);
  if (session.stage !== 'totp') return redirectToStage(res, tenant, session);
  renderTotp(res, tenant, session, 200);
}

const recorderOf = (ctx: FlowContext, req: Request, res: Response, tenant: TenantRequest, started: Date): SecurityRecorder =>
  securityRecorder(ctx.deps, req, res, { tenantId: tenant.tenantId, tenantBase: tenant.fhirBase }, started);

/**
 * Records the login, then lets `proceed` move the session on. When the audit trail cannot take
 * the event, the session is ended (best effort: it is still at its sign-in stage, which grants
 * nothing by itself) and the browser gets a 503 page and loses its cookie.
 */
async function recordLogin(
  ctx: FlowContext, res: Response, tenant: TenantRequest, session: AuthorizationSession, stage: SessionStage,
  audit: SecurityRecorder, user: User, proceed: () => Promise<void>,
): Promise<void> {
  try {
    await audit.success('login', 303, { subject: user.id, fhirUser: user.fhirUser, clientId: session.request.clientId });
  } catch (error) {
    if (!(error instanceof SecurityAuditUnavailable)) throw error;
    await ctx.sessions.consume(session, stage).catch(() => false);
    clearSessionCookie(res, tenant);
    return showError(res, 503, 'Sign-in unavailable', 'The sign-in cannot be completed right now. Try again later from the app.');
  }
  await proceed();
}

/** Refuses over-eager IP addresses (recording the refusal first); true when the request may go on. */
async function withinRequestRate(ctx: FlowContext, req: Request, res: Response, recordRefusal: () => Promise<void>): Promise<boolean> {
  const taken = await ctx.loginRequests.take(req.ip ?? req.socket.remoteAddress ?? 'unknown');
  if (taken.allowed) return true;
  await recordRefusal();
  res.setHeader('Retry-After', String(taken.retryAfterSeconds));
  showError(res, 429, 'Too many requests', `Too many sign-in attempts from your network. Try again in ${minutes(taken.retryAfterSeconds)} minute(s).`);
  return false;
}

const lockedMessage = (retryAfterSeconds: number) =>
  `Too many failed sign-in attempts for this account. It is locked; try again in ${minutes(retryAfterSeconds)} minute(s).`;

/** Where the session goes once the user is authenticated, or why it cannot. */
function completion(session: AuthorizationSession, user: User): { advance: SessionAdvance } | { error: string } {
  const launch = session.request.launch;
  if (launch?.userId && launch.userId !== user.id && usernameKey(launch.userId) !== usernameKey(user.username)) {
    return { error: 'This launch was started for another user. Sign in as that user, or start again from the EHR.' };
  }
  const userPatient = user.fhirUser.startsWith('Patient/') ? user.fhirUser.slice('Patient/'.length) : undefined;
  if (userPatient && launch?.patient && launch.patient !== userPatient) {
    return { error: 'This launch is for a different patient than the one you are.' };
  }
  const patient = launch?.patient ?? (session.request.needsPatient ? userPatient : undefined);
  const advance: SessionAdvance = {
    stage: session.request.needsPatient && !patient ? 'patient' : 'consent',
    userId: user.id,
    fhirUser: user.fhirUser,
    authTime: Math.floor(Date.now() / 1000),
  };
  if (patient) advance.patient = patient;
  return { advance };
}

export async function submitLogin(ctx: FlowContext, req: Request, res: Response, tenant: TenantRequest): Promise<void> {
  const started = new Date();
  const form = await readForm(req);
  const session = await currentSession(ctx, req, tenant);
  if (!session) return sessionExpired(res);
  if (!checkCsrf(res, session, form)) return;
  if (session.stage !== 'login') return redirectToStage(res, tenant, session);
  const audit = recorderOf(ctx, req, res, tenant, started);
  const clientId = session.request.clientId;
  if (!(await withinRequestRate(ctx, req, res, () => audit.refusal('login-failed', 429, 'throttled', { clientId })))) return;

  const username = (form.get('username') ?? '').trim();
  const password = form.get('password') ?? '';
  if (!username || !password || username.length > 128 || password.length > MAX_PASSWORD_LENGTH) {
    await audit.refusal('login-failed', 400, 'required', { clientId });
    return renderLogin(res, tenant, session, 400, 'Enter your username and password.', username.slice(0, 128));
  }
  const key = accountKey(tenant.tenantId, username);
  const lock = await ctx.deps.limiters.login.check(key);
  if (!lock.allowed) {
    // The lock is keyed by the typed name; the event names the account only if there is one.
    const locked = await ctx.users.findByUsername(tenant.tenantId, username);
    await audit.refusal('login-failed', 429, 'throttled', { clientId, subject: locked?.id });
    res.setHeader('Retry-After', String(lock.retryAfterSeconds));
    return renderLogin(res, tenant, session, 429, lockedMessage(lock.retryAfterSeconds), username);
  }
  const user = await ctx.users.findByUsername(tenant.tenantId, username);
  const valid = user ? await verifyPassword(password, user.passwordHash) : await verifyDummy(password);
  if (!user || !valid) {
    await ctx.deps.limiters.login.fail(key);
    await audit.refusal('login-failed', 401, 'security', { clientId, subject: user?.id });
    return renderLogin(res, tenant, session, 401, 'Wrong username or password.', username);
  }
  if (needsRehash(user.passwordHash)) await ctx.users.setPasswordHash(tenant.tenantId, user.id, await hashPassword(password));

  const policy = await ctx.users.authPolicy(tenant.tenantId);
  if (user.totpSecret || policy.requireTotp) {
    if (!user.totpSecret) {
      await audit.refusal('login-failed', 403, 'forbidden', { clientId, subject: user.id });
      return renderLogin(res, tenant, session, 403, 'This server requires a one-time code, and your account has none set up. Ask your administrator.', username);
    }
    const next = await ctx.sessions.advance(session, 'login', { stage: 'totp', userId: user.id });
    if (!next) return sessionExpired(res);
    return redirectToStage(res, tenant, next);
  }
  const done = completion(session, user);
  if ('error' in done) {
    await audit.refusal('login-failed', 403, 'forbidden', { clientId, subject: user.id });
    return renderLogin(res, tenant, session, 403, done.error, username);
  }
  await recordLogin(ctx, res, tenant, session, 'login', audit, user, async () => {
    await ctx.deps.limiters.login.succeed(key);
    const next = await ctx.sessions.advance(session, 'login', done.advance);
    if (!next) return sessionExpired(res);
    redirectToStage(res, tenant, next);
  });
}

export async function submitTotp(ctx: FlowContext, req: Request, res: Response, tenant: TenantRequest): Promise<void> {
  const started = new Date();
  const form = await readForm(req);
  const session = await currentSession(ctx, req, tenant);
  if (!session) return sessionExpired(res);
  if (!checkCsrf(res, session, form)) return;
  if (session.stage !== 'totp' || !session.userId) return redirectToStage(res, tenant, session);
  const audit = recorderOf(ctx, req, res, tenant, started);
  const clientId = session.request.clientId;
  // The session's user passed the password step: an existing account, named by its id.
  if (!(await withinRequestRate(ctx, req, res, () => audit.refusal('login-failed', 429, 'throttled', { clientId, subject: session.userId })))) return;

  const user = await ctx.users.findById(tenant.tenantId, session.userId);
  if (!user?.totpSecret) return sessionExpired(res);
  const key = accountKey(tenant.tenantId, user.username);
  const lock = await ctx.deps.limiters.login.check(key);
  if (!lock.allowed) {
    await audit.refusal('login-failed', 429, 'throttled', { clientId, subject: user.id });
    res.setHeader('Retry-After', String(lock.retryAfterSeconds));
    return renderTotp(res, tenant, session, 429, lockedMessage(lock.retryAfterSeconds));
  }
  const check = await checkTotp(user.totpSecret, form.get('totp') ?? '', { lastStep: user.totpLastStep });
  const accepted = check.ok && (await ctx.users.acceptTotpStep(tenant.tenantId, user.id, check.step));
  if (!accepted) {
    await ctx.deps.limiters.login.fail(key);
    await audit.refusal('login-failed', 401, 'security', { clientId, subject: user.id });
    const replayed = check.ok || check.reason === 'replayed';
    return renderTotp(res, tenant, session, 401, replayed ? 'That code was already used. Wait for the next code.' : 'Wrong code.');
  }
  const done = completion(session, user);
  if ('error' in done) {
    await audit.refusal('login-failed', 403, 'forbidden', { clientId, subject: user.id });
    return showError(res, 403, 'Sign-in refused', done.error);
  }
  await recordLogin(ctx, res, tenant, session, 'totp', audit, user, async () => {
    await ctx.deps.limiters.login.succeed(key);
    const next = await ctx.sessions.advance(session, 'totp', done.advance);
    if (!next) return sessionExpired(res);
    redirectToStage(res, tenant, next);
  });
}
