// The consent step (SMART App Launch 2.x app-launch.html; RFC 6749 section 4.1.2): shows what
// the app asked for, and on Approve issues an authorization code through the token side
// (AuthorizationServerApi.issueAuthorizationCode) for exactly the scopes the user left ticked
// (never more than the session offered); on Deny returns error=access_denied. Either way the
// session is consumed first, so a second POST of the same form does nothing.
import type { Request, Response } from 'express';
import type { AuthorizationGrant } from '../contracts.js';
import { consentPage } from '../pages/consent-page.js';
import { checkCsrf, currentSession, FRONT_PATHS, redirectToStage, returnToApp, sessionExpired, showError, type FlowContext, type TenantRequest } from './flow-context.js';
import { readForm, sendPage } from './http-helpers.js';
import { displayName, readPatient } from './patient-picker.js';
import { codeRedirect, errorRedirect } from './validate-request.js';

export async function showConsent(ctx: FlowContext, req: Request, res: Response, tenant: TenantRequest): Promise<void> {
  const session = await currentSession(ctx, req, tenant);
  if (!session) return sessionExpired(res);
  if (session.stage !== 'consent') return redirectToStage(res, tenant, session);
  const user = session.userId ? await ctx.users.findById(tenant.tenantId, session.userId) : undefined;
  let patientLabel: string | undefined;
  if (session.patient) {
    const patient = await readPatient(ctx, tenant, session.patient);
    patientLabel = patient ? `${displayName(patient)}${patient.birthDate ? ` (born ${patient.birthDate})` : ''}` : `Patient/${session.patient}`;
  }
  sendPage(res, 200, (nonce) =>
    consentPage({
      nonce,
      action: `${tenant.basePath}${FRONT_PATHS.consent}`,
      csrfToken: session.csrfToken,
      clientName: session.request.clientName,
      scopes: session.request.scope.split(' ').filter(Boolean),
      username: user?.username,
      patientLabel,
    }),
  );
}

export async function submitConsent(ctx: FlowContext, req: Request, res: Response, tenant: TenantRequest): Promise<void> {
  const form = await readForm(req);
  const session = await currentSession(ctx, req, tenant);
  if (!session) return sessionExpired(res);
  if (!checkCsrf(res, session, form)) return;
  if (session.stage !== 'consent' || !session.userId) return redirectToStage(res, tenant, session);
  const decision = form.get('decision');
  if (decision !== 'approve' && decision !== 'deny') return showError(res, 400, 'Choose Approve or Deny', 'The form did not say whether you approve.');
  const { request } = session;
  const offered = request.scope.split(' ').filter(Boolean);
  const ticked = new Set(form.getAll('scope'));
  const approved = offered.filter((s) => ticked.has(s));
  if (!(await ctx.sessions.consume(session, 'consent'))) return sessionExpired(res);
  if (decision === 'deny' || approved.length === 0) {
    const reason = decision === 'deny' ? 'the user denied access' : 'the user approved no scope';
    return returnToApp(res, tenant, errorRedirect(request.redirectUri, 'access_denied', reason, request.state), request.clientName);
  }
  const grant: AuthorizationGrant = {
    tenantId: tenant.tenantId,
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    scope: approved.join(' '),
    userId: session.userId,
    authTime: session.authTime ?? Math.floor(Date.now() / 1000),
  };
  if (session.fhirUser) grant.fhirUser = session.fhirUser;
  if (session.patient) grant.patient = session.patient;
  if (request.launch?.encounter) grant.encounter = request.launch.encounter;
  if (request.nonce) grant.nonce = request.nonce;
  let code: string;
  try {
    code = await ctx.deps.authServer.issueAuthorizationCode(grant);
  } catch (error) {
    ctx.deps.logger.error({ err: error, tenantId: tenant.tenantId, clientId: request.clientId }, 'issuing an authorization code failed');
    return returnToApp(res, tenant, errorRedirect(request.redirectUri, 'server_error', 'the authorization code could not be issued', request.state), request.clientName);
  }
  ctx.deps.logger.info({ tenantId: tenant.tenantId, clientId: request.clientId, userId: session.userId }, 'authorization code issued');
  returnToApp(res, tenant, codeRedirect(request.redirectUri, code, request.state), request.clientName);
}
