// GET {base}/auth/authorize (RFC 6749 section 4.1.1, RFC 7636, SMART App Launch 2.x
// app-launch.html "obtain authorization code"): validates the request (validate-request.ts),
// then either shows an error page (bad client or redirect_uri), redirects back with an error,
// or starts an authorization session and sends the browser to the login page.
import type { Request, Response } from 'express';
import { clearSessionCookie, FRONT_PATHS, setSessionCookie, showError, type FlowContext, type TenantRequest } from './flow-context.js';
import { SESSION_TTL_SECONDS } from './session-store.js';
import { validateAuthorizeRequest } from './validate-request.js';

export async function handleAuthorize(ctx: FlowContext, req: Request, res: Response, tenant: TenantRequest): Promise<void> {
  const query = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
  const outcome = await validateAuthorizeRequest(query, { tenantId: tenant.tenantId, fhirBase: tenant.fhirBase, authServer: ctx.deps.authServer });
  if (outcome.kind === 'page') {
    showError(res, outcome.status, outcome.title, outcome.message);
    return;
  }
  res.setHeader('Cache-Control', 'no-store');
  if (outcome.kind === 'redirect') {
    clearSessionCookie(res, tenant);
    res.redirect(302, outcome.location);
    return;
  }
  const { id } = await ctx.sessions.create(tenant.tenantId, outcome.request);
  setSessionCookie(res, tenant, id, SESSION_TTL_SECONDS);
  res.redirect(303, `${tenant.basePath}${FRONT_PATHS.login}`);
}
