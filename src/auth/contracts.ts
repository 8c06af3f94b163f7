// The contracts between the parts of Hearth's SMART authorization server (issue 10), written
// first so that each part can be built on its own:
//   - token side (src/auth/tokens/, src/auth/clients/, src/auth/keys/): clients, signing keys,
//     launch contexts, codes, grants, token/introspect/revoke/JWKS/discovery endpoints;
//   - front channel (src/auth/authorize/, src/auth/pages/, src/auth/users/): the authorize
//     endpoint, login, TOTP, consent and patient-picker pages, users;
//   - the resource server (src/http/authenticate.ts): bearer token -> AccessContext.
// Endpoints live under each tenant's FHIR base ({base} = /fhir or /t/{tenant}/fhir):
//   {base}/.well-known/smart-configuration, {base}/.well-known/openid-configuration,
//   {base}/auth/authorize, {base}/auth/token, {base}/auth/introspect, {base}/auth/revoke,
//   {base}/auth/jwks, pages under {base}/auth/..., the admin API under {base}/admin/...
import type { SecurityAuditSink } from '../audit/security-sink.js';
import type { Router } from 'express';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { FhirService } from '../fhir/service.js';
import type { Database } from '../storage/pg/database.js';

export { AUTH_PATHS } from '../core/auth-paths.js';

/** `typ` header of Hearth's access tokens (RFC 9068). Hearth signs its own tokens with ES384. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const ACCESS_TOKEN_ALG = 'ES384';

/** The claims of an access token Hearth issues (a JWT, RFC 9068 profile). */
export interface AccessTokenClaims {
  /** The tenant's FHIR base URL (also the OpenID issuer). */
  iss: string;
  /** The tenant's FHIR base URL: a token is good for that base only. */
  aud: string;
  /** The user id (authorization code) or the client id (client_credentials). */
  sub: string;
  client_id: string;
  /** Granted scopes, space-separated. */
  scope: string;
  /** The tenant id. A token is never accepted on another tenant's base (401). */
  tid: string;
  jti: string;
  /** The grant (authorization or client_credentials issuance) the token belongs to; revoking it revokes the token. */
  gid: string;
  iat: number;
  exp: number;
  patient?: string;
  encounter?: string;
  fhirUser?: string;
}

export type ClientKind = 'public' | 'confidential-asymmetric' | 'backend-service';

/** A registered OAuth client (SMART App Launch "client registration"). */
export interface OAuthClient {
  tenantId: string;
  clientId: string;
  name: string;
  kind: ClientKind;
  /** Exact-match redirect URIs (none for backend services). */
  redirectUris: readonly string[];
  /** The most this client may be granted, space-separated scopes. */
  scope: string;
  /** Its public keys (confidential-asymmetric, backend-service), or... */
  jwks?: { keys: Record<string, unknown>[] };
  /** ...a JWKS URL it serves them from, which must be on HEARTH_JKU_ALLOWLIST. */
  jwksUri?: string;
  /** May call the admin API (its tokens get AccessContext.isAdmin). */
  admin: boolean;
}

/** What a completed authorization (login + consent) grants, handed to the token side for a code. */
export interface AuthorizationGrant {
  tenantId: string;
  clientId: string;
  redirectUri: string;
  /** PKCE S256 challenge (RFC 7636 section 4.2). */
  codeChallenge: string;
  /** The scopes the user approved (a subset of those requested and of the client's). */
  scope: string;
  /** The user id (users table) and their FHIR identity. */
  userId: string;
  fhirUser?: string;
  patient?: string;
  encounter?: string;
  /** OpenID Connect nonce, echoed in the id_token. */
  nonce?: string;
  /** Seconds since the epoch when the user authenticated. */
  authTime: number;
}

/** An EHR launch context created through the admin API or `hearth launch create`. */
export interface LaunchContext {
  patient?: string;
  encounter?: string;
  /** The user it was created for, if any. */
  userId?: string;
}

/** What the token side offers the front channel. */
export interface AuthorizationServerApi {
  findClient(tenantId: string, clientId: string): Promise<OAuthClient | undefined>;
  /** Stores the grant and returns a single-use authorization code (valid about a minute). */
  issueAuthorizationCode(grant: AuthorizationGrant): Promise<string>;
  /** The context behind an EHR `launch` value, or undefined when unknown or expired. */
  resolveLaunch(tenantId: string, launch: string): Promise<LaunchContext | undefined>;
}

/** What every auth router gets from the server. */
export interface AuthDeps {
  config: Config;
  database: Database;
  service: FhirService;
  logger: Logger;
  /** The tenant's FHIR base URL for this request (config.publicBaseUrl or the request's origin). */
  baseUrlFor(req: import('express').Request, tenantId: string): string;
  /** Records login, logout, token issue and refusal in the tenant's audit trail (issue 11). */
  audit?: SecurityAuditSink;
}

/** Each part exports a factory of this shape; src/http/app.ts mounts them below every tenant base. */
export type AuthRouterFactory = (deps: AuthDeps) => Router;
