// The authorization_code grant (RFC 6749 section 4.1.3, RFC 7636 section 4.5-4.6, SMART App
// Launch 2.x): the code must exist, be unexpired and unused, belong to the authenticated client,
// and come with the same redirect_uri and a code_verifier whose S256 is the stored challenge. A
// code presented a second time is a replay (section 4.1.2 and 10.5): refused, and the grant the
// first redemption produced is revoked with every token it issued. One transaction claims the
// code and stores the grant (and refresh token); tokens are signed after it commits.
import type { StoredClient } from '../clients/client-store.js';
import { lockCode, markCodeUsed } from './code-store.js';
import { insertGrant, revokeGrant, type Grant } from './grant-store.js';
import { issueTokens, type IssueHooks, wantsRefreshToken, type TokenResponse } from './issue-tokens.js';
import { invalidGrant, invalidRequest, unauthorizedClient } from './oauth-error.js';
import { verifierMatches } from './pkce.js';
import { insertRefreshToken } from './refresh-store.js';
import type { TokenRuntime } from './runtime.js';
import { inTenant, type Sql } from './sql.js';

type Outcome = { grant: Grant; refreshToken?: string } | { error: ReturnType<typeof invalidGrant>; revoked?: string };

async function redeem(sql: Sql, runtime: TokenRuntime, tenantId: string, client: StoredClient, form: URLSearchParams): Promise<Outcome> {
  const codeValue = form.get('code')!;
  const code = await lockCode(sql, tenantId, codeValue);
  if (!code) return { error: invalidGrant('unknown authorization code') };
  if (code.clientId !== client.clientId) return { error: invalidGrant('the authorization code was issued to another client') };
  if (code.usedAt) {
    if (code.grantId && (await revokeGrant(sql, tenantId, code.grantId))) return { error: invalidGrant('the authorization code was already used; its tokens are revoked'), revoked: code.grantId };
    return { error: invalidGrant('the authorization code was already used'), revoked: code.grantId };
  }
  if (code.expiresAt.getTime() <= Date.now()) return { error: invalidGrant('the authorization code has expired') };
  // From here a failed attempt by the right client uses the code up: no second guess at the verifier.
  const burn = () => markCodeUsed(sql, tenantId, codeValue);
  if (form.get('redirect_uri') !== code.redirectUri) {
    await burn();
    return { error: invalidGrant('redirect_uri differs from the one of the authorization request') };
  }
  if (!verifierMatches(form.get('code_verifier'), code.codeChallenge)) {
    await burn();
    return { error: invalidGrant('code_verifier is missing or does not match the S256 code_challenge') };
  }
  const refresh = wantsRefreshToken(code.scope);
  const ttl = refresh ? runtime.config.refreshTokenTtlSeconds : runtime.config.accessTokenTtlSeconds;
  // Without a refresh token the grant lives as long as the access token (plus a minute of margin).
  const expiresAt = new Date(Date.now() + (refresh ? ttl : ttl + 60) * 1000);
  const grant = await insertGrant(sql, {
    tenantId,
    clientId: client.clientId,
    grantType: 'authorization_code',
    subject: code.userId,
    userId: code.userId,
    scope: code.scope,
    patient: code.patient,
    encounter: code.encounter,
    fhirUser: code.fhirUser,
    nonce: code.nonce,
    authTime: code.authTime,
    expiresAt,
  });
  await markCodeUsed(sql, tenantId, codeValue, grant.grantId);
  const refreshToken = refresh ? await insertRefreshToken(sql, tenantId, grant.grantId, client.clientId, expiresAt) : undefined;
  return { grant, refreshToken };
}

export async function authorizationCodeGrant(runtime: TokenRuntime, tenantId: string, base: string, client: StoredClient, form: URLSearchParams, hooks?: IssueHooks): Promise<TokenResponse> {
  if (client.kind === 'backend-service') throw unauthorizedClient('a backend service may use client_credentials only');
  if (!form.get('code')) throw invalidRequest('code is missing');
  if (!form.get('redirect_uri')) throw invalidRequest('redirect_uri is missing');
  const outcome = await inTenant(runtime.database, tenantId, (sql) => redeem(sql, runtime, tenantId, client, form));
  if ('error' in outcome) {
    if (outcome.revoked) runtime.grantRevoked(tenantId, outcome.revoked);
    throw outcome.error;
  }
  return issueTokens(runtime, outcome.grant, { base, scope: outcome.grant.scope, refreshToken: outcome.refreshToken, admin: client.admin, hooks });
}
