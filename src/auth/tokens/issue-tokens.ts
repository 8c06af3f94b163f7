// The successful token response (RFC 6749 section 5.1; SMART App Launch 2.x "access token
// response"): access_token, token_type Bearer, expires_in, scope, patient / encounter when in
// context, id_token for `openid` (OpenID Connect Core section 3.1.3.3), refresh_token when one was
// issued, need_patient_banner when a patient is in context.
//
// An issuance may be observed before anything is signed (IssueHooks.beforeSign: the audit trail,
// issue 11): the access token's jti is chosen first, the hook runs, and only then are the tokens
// signed. If the hook throws, no token was signed and none leaves the server; the grant the
// caller stored (with its refresh token, never sent) is revoked so that nothing it holds stays
// live, and the error goes up.
import { randomUUID } from 'node:crypto';
import { revokeGrant, type Grant } from './grant-store.js';
import { ADMIN_CLAIM, signAccessToken } from './access-token.js';
import { signIdToken } from './id-token.js';
import type { TokenRuntime } from './runtime.js';
import { splitScope } from './scope-rules.js';
import { inTenant } from './sql.js';

/** What is about to be issued: the grant and the jti of the access token (never a token). */
export interface Issuance {
  grant: Grant;
  jti: string;
}

export interface IssueHooks {
  /** Runs before any token is signed; throwing stops the issuance (see the header). */
  beforeSign?(issuance: Issuance): Promise<void>;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  patient?: string;
  encounter?: string;
  id_token?: string;
  refresh_token?: string;
  need_patient_banner?: boolean;
}

export interface IssueOptions {
  /** The tenant's FHIR base: iss and aud of the access token, iss of the id_token. */
  base: string;
  /** The scope of this access token (a refresh may narrow the grant's). */
  scope: string;
  refreshToken?: string;
  /** The client is registered as admin: its access tokens say so (ADMIN_CLAIM). */
  admin?: boolean;
  hooks?: IssueHooks;
}

export async function issueTokens(runtime: TokenRuntime, grant: Grant, options: IssueOptions): Promise<TokenResponse> {
  const ttl = runtime.config.accessTokenTtlSeconds;
  const jti = randomUUID();
  if (options.hooks?.beforeSign) {
    try {
      await options.hooks.beforeSign({ grant, jti });
    } catch (error) {
      await withdraw(runtime, grant);
      throw error;
    }
  }
  const { token } = await signAccessToken(runtime, {
    jti,
    iss: options.base,
    aud: options.base,
    sub: grant.subject,
    client_id: grant.clientId,
    scope: options.scope,
    tid: grant.tenantId,
    gid: grant.grantId,
    patient: grant.patient,
    encounter: grant.encounter,
    fhirUser: grant.fhirUser,
    ...(options.admin ? { [ADMIN_CLAIM]: true } : {}),
  }, ttl);
  const response: TokenResponse = { access_token: token, token_type: 'Bearer', expires_in: ttl, scope: options.scope };
  if (grant.patient !== undefined) {
    response.patient = grant.patient;
    response.need_patient_banner = true;
  }
  if (grant.encounter !== undefined) response.encounter = grant.encounter;
  if (grant.grantType === 'authorization_code' && grant.userId !== undefined && splitScope(options.scope).includes('openid')) {
    response.id_token = await signIdToken(runtime, {
      tenantId: grant.tenantId,
      issuer: options.base,
      userId: grant.userId,
      clientId: grant.clientId,
      authTime: grant.authTime,
      nonce: grant.nonce,
      fhirUser: splitScope(options.scope).includes('fhirUser') ? grant.fhirUser : undefined,
    }, ttl);
  }
  if (options.refreshToken !== undefined) response.refresh_token = options.refreshToken;
  return response;
}

/**
 * Revokes a grant whose issuance was stopped. Best effort: should the database refuse too, the
 * grant's only credentials (a refresh token, a code's redemption) were never sent to anyone.
 */
async function withdraw(runtime: TokenRuntime, grant: Grant): Promise<void> {
  try {
    await inTenant(runtime.database, grant.tenantId, (sql) => revokeGrant(sql, grant.tenantId, grant.grantId));
    runtime.grantRevoked(grant.tenantId, grant.grantId);
  } catch {
    // Nothing usable was handed out; the caller reports the original failure.
  }
}

/** Refresh tokens are issued only when offline_access or online_access was granted. */
export function wantsRefreshToken(scope: string): boolean {
  const scopes = splitScope(scope);
  return scopes.includes('offline_access') || scopes.includes('online_access');
}
