// Validation of an authorize request (RFC 6749 section 4.1.1 and 4.1.2.1, RFC 7636 section
// 4.3-4.4, SMART App Launch 2.x app-launch.html "obtain authorization code"). Order matters:
//   1. client_id and redirect_uri first: unknown client, or a redirect_uri not exactly equal (as
//      a string) to one registered for it, gets an error PAGE, never a redirect (no open
//      redirector, RFC 6749 section 10.15);
//   2. every later problem redirects back to that redirect_uri with `error` and the `state`.
// Scopes the client is not registered for are dropped (RFC 6749 section 3.3 lets the server
// grant fewer than asked; the token response names what was granted); a malformed scope, or
// nothing left, is invalid_scope. PKCE is required with S256 only. `aud` must be the tenant's
// FHIR base exactly. `launch` must resolve to a live EHR launch context.
import type { AuthorizationServerApi, OAuthClient } from '../contracts.js';
import { parseResourceScope, parseScopes } from '../../core/smart-scopes.js';
import type { AuthorizationRequest } from './session-store.js';

export type AuthorizeOutcome =
  | { kind: 'page'; status: number; title: string; message: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'ok'; client: OAuthClient; request: AuthorizationRequest };

/** The parameters a client may send once (RFC 6749 section 3.1: none may repeat). */
const PARAMETERS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'aud', 'code_challenge', 'code_challenge_method', 'launch', 'nonce'] as const;
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/; // BASE64URL(SHA-256(verifier)) is 43 characters
const MAX_LENGTH = 2048;
/** RFC 6749 Appendix A: state and scope tokens are printable ASCII. */
const VSCHAR = /^[\x20-\x7e]*$/;

/** The redirect back to the client with an error (RFC 6749 section 4.1.2.1). */
export function errorRedirect(redirectUri: string, error: string, description: string, state: string | undefined): string {
  const url = new URL(redirectUri);
  url.searchParams.set('error', error);
  url.searchParams.set('error_description', description);
  if (state !== undefined) url.searchParams.set('state', state);
  return url.toString();
}

/** The redirect back to the client with a code (RFC 6749 section 4.1.2). */
export function codeRedirect(redirectUri: string, code: string, state: string): string {
  const url = new URL(redirectUri);
  url.searchParams.set('code', code);
  url.searchParams.set('state', state);
  return url.toString();
}

/**
 * Whether `scope` lies within what the client is registered for: listed verbatim, or a resource
 * scope whose context matches a registered one covering its type and every permission, with the
 * registered one unconstrained or constrained identically.
 */
export function scopeAllowed(scope: string, registered: readonly string[]): boolean {
  if (registered.includes(scope)) return true;
  const wanted = parseResourceScope(scope);
  if (!wanted) return false;
  return registered.some((r) => {
    const have = parseResourceScope(r);
    if (!have || have.context !== wanted.context) return false;
    if (have.resourceType !== '*' && have.resourceType !== wanted.resourceType) return false;
    if (![...wanted.permissions].every((p) => have.permissions.has(p))) return false;
    return !have.constraints || have.constraints.toString() === wanted.constraints?.toString();
  });
}

export interface ValidateContext {
  tenantId: string;
  /** The tenant's FHIR base URL, which `aud` must equal. */
  fhirBase: string;
  authServer: AuthorizationServerApi;
}

export async function validateAuthorizeRequest(query: URLSearchParams, ctx: ValidateContext): Promise<AuthorizeOutcome> {
  const page = (message: string, title = 'This sign-in request cannot be used'): AuthorizeOutcome => ({ kind: 'page', status: 400, title, message });
  const single = (name: string) => query.getAll(name);
  const clientIds = single('client_id');
  const redirectUris = single('redirect_uri');
  if (clientIds.length !== 1 || !clientIds[0]) return page('The request names no application (client_id), or names more than one.');
  if (clientIds[0].length > 256) return page('The application (client_id) is not registered with this server.');
  const client = await ctx.authServer.findClient(ctx.tenantId, clientIds[0]);
  if (!client || client.kind === 'backend-service') return page('The application (client_id) is not registered with this server.');
  if (redirectUris.length !== 1 || !redirectUris[0]) return page('The request has no redirect_uri, or more than one.');
  const redirectUri = redirectUris[0];
  if (!client.redirectUris.includes(redirectUri)) {
    return page('The redirect_uri is not one registered for this application, so this server will not send you there.');
  }

  const state = single('state').length === 1 ? single('state')[0] : undefined;
  const fail = (error: string, description: string): AuthorizeOutcome => ({
    kind: 'redirect',
    location: errorRedirect(redirectUri, error, description, state !== undefined && state.length <= MAX_LENGTH && VSCHAR.test(state) ? state : undefined),
  });
  for (const name of PARAMETERS) {
    if (single(name).length > 1) return fail('invalid_request', `${name} is repeated`);
    const value = query.get(name);
    if (value !== null && value.length > MAX_LENGTH) return fail('invalid_request', `${name} is too long`);
  }
  const responseType = query.get('response_type');
  if (!responseType) return fail('invalid_request', 'response_type is required');
  if (responseType !== 'code') return fail('unsupported_response_type', 'only response_type=code is supported');
  if (!state) return fail('invalid_request', 'state is required');
  if (!VSCHAR.test(state)) return fail('invalid_request', 'state must be printable ASCII');

  const challenge = query.get('code_challenge');
  const method = query.get('code_challenge_method');
  if (!challenge) return fail('invalid_request', 'code_challenge is required (PKCE, S256)');
  if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
  if (!CODE_CHALLENGE.test(challenge)) return fail('invalid_request', 'code_challenge must be the base64url SHA-256 of the verifier (43 characters)');

  const aud = query.get('aud');
  if (!aud) return fail('invalid_request', 'aud is required: the FHIR base URL the app means to use');
  if (aud !== ctx.fhirBase) return fail('invalid_request', 'aud is not this FHIR server');

  const requested = query.get('scope');
  if (!requested || !VSCHAR.test(requested)) return fail('invalid_scope', 'scope is required');
  const parsed = parseScopes(requested);
  if (parsed.invalid.length > 0) return fail('invalid_scope', `malformed scope: ${parsed.invalid.join(' ')}`);
  const registered = client.scope.split(' ').filter(Boolean);
  const wanted = [...new Set(requested.split(' ').filter(Boolean))];
  const granted = wanted.filter((s) => scopeAllowed(s, registered) && !s.startsWith('system/'));
  const grantedParsed = parseScopes(granted.join(' '));
  if (grantedParsed.resources.length === 0 && !grantedParsed.openid && !grantedParsed.fhirUser) {
    return fail('invalid_scope', 'none of the requested scopes is allowed for this application');
  }

  const request: AuthorizationRequest = { clientId: client.clientId, clientName: client.name, redirectUri, state, scope: granted.join(' '), codeChallenge: challenge, needsPatient: false };
  const nonce = query.get('nonce');
  if (nonce) request.nonce = nonce;

  const launch = query.get('launch');
  if (grantedParsed.launch.ehr && !launch) return fail('invalid_request', 'the launch scope needs the launch parameter of an EHR launch');
  if (launch) {
    const context = await ctx.authServer.resolveLaunch(ctx.tenantId, launch);
    if (!context) return fail('invalid_request', 'the launch parameter is unknown or expired');
    request.launch = {};
    if (context.patient) request.launch.patient = context.patient;
    if (context.encounter) request.launch.encounter = context.encounter;
    if (context.userId) request.launch.userId = context.userId;
  }
  const patientScopes = grantedParsed.resources.some((r) => r.context === 'patient');
  request.needsPatient = !request.launch?.patient && (grantedParsed.launch.patient || patientScopes);
  return { kind: 'ok', client, request };
}
