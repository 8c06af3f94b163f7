// The refresh_token grant (RFC 6749 section 6) with rotation (OAuth 2.0 Security BCP section
// 4.14.2): the token must exist, be unexpired, unused, belong to the authenticated client, and its
// grant must be live; a narrower `scope` may be asked for (fewer scopes, or resource scopes that
// granted ones cover, scope-rules.ts), never a wider one (invalid_scope).
// Each use replaces the token; presenting a replaced token again revokes the whole grant.
import type { StoredClient } from '../clients/client-store.js';
import { extendGrant, findGrant, revokeGrant, type Grant } from './grant-store.js';
import { issueTokens, type IssueHooks, type TokenResponse } from './issue-tokens.js';
import { invalidGrant, invalidRequest, invalidScope, unauthorizedClient, type OAuthError } from './oauth-error.js';
import { insertRefreshToken, lockRefreshToken, markRefreshUsed } from './refresh-store.js';
import type { TokenRuntime } from './runtime.js';
import { splitScope, uncoveredScopes } from './scope-rules.js';
import { inTenant, type Sql } from './sql.js';

type Outcome = { grant: Grant; scope: string; refreshToken: string } | { error: OAuthError; revoked?: string };

async function rotate(sql: Sql, runtime: TokenRuntime, tenantId: string, client: StoredClient, form: URLSearchParams): Promise<Outcome> {
  const value = form.get('refresh_token')!;
  const stored = await lockRefreshToken(sql, tenantId, value);
  if (!stored) return { error: invalidGrant('unknown refresh token') };
  if (stored.clientId !== client.clientId) return { error: invalidGrant('the refresh token was issued to another client') };
  if (stored.usedAt) {
    await revokeGrant(sql, tenantId, stored.grantId);
    return { error: invalidGrant('the refresh token was already used; the grant is revoked'), revoked: stored.grantId };
  }
  if (stored.expiresAt.getTime() <= Date.now()) return { error: invalidGrant('the refresh token has expired') };
  const grant = await findGrant(sql, tenantId, stored.grantId);
  if (!grant || grant.revokedAt) return { error: invalidGrant('the grant was revoked') };
  let scope = grant.scope;
  if (form.has('scope')) {
    const wanted = splitScope(form.get('scope'));
    if (wanted.length === 0) return { error: invalidScope('scope is empty') };
    // Each requested scope must be one granted, or a resource scope a granted one covers.
    const wider = uncoveredScopes(grant.scope, wanted.join(' '));
    if (wider.length > 0) return { error: invalidScope(`not granted before: ${wider.join(' ')}`) };
    scope = wanted.join(' ');
  }
  const expiresAt = new Date(Date.now() + runtime.config.refreshTokenTtlSeconds * 1000);
  await extendGrant(sql, tenantId, grant.grantId, expiresAt);
  const refreshToken = await insertRefreshToken(sql, tenantId, grant.grantId, client.clientId, expiresAt);
  await markRefreshUsed(sql, tenantId, value, refreshToken);
  return { grant, scope, refreshToken };
}

export async function refreshTokenGrant(runtime: TokenRuntime, tenantId: string, base: string, client: StoredClient, form: URLSearchParams, hooks?: IssueHooks): Promise<TokenResponse> {
  if (client.kind === 'backend-service') throw unauthorizedClient('a backend service may use client_credentials only');
  if (!form.get('refresh_token')) throw invalidRequest('refresh_token is missing');
  const outcome = await inTenant(runtime.database, tenantId, (sql) => rotate(sql, runtime, tenantId, client, form));
  if ('error' in outcome) {
    if (outcome.revoked) runtime.grantRevoked(tenantId, outcome.revoked);
    throw outcome.error;
  }
  return issueTokens(runtime, outcome.grant, { base, scope: outcome.scope, refreshToken: outcome.refreshToken, admin: client.admin, hooks });
}
