// The client_credentials grant for SMART Backend Services (backend-services.html; RFC 6749
// section 4.4; RFC 7523 client authentication, done by the caller). Only backend-service clients
// may use it (others: unauthorized_client). `scope` is required and every requested scope must
// be a system/ resource scope covered by the client's registered scope; anything else refuses
// the whole request with invalid_scope (Hearth does not silently grant a subset). Each issuance
// is a grant of its own (revocable by its gid) that lives as long as its one access token;
// no refresh token.
import type { StoredClient } from '../clients/client-store.js';
import { insertGrant, purgeEndedGrants } from './grant-store.js';
import { issueTokens, type IssueHooks, type TokenResponse } from './issue-tokens.js';
import { invalidScope, unauthorizedClient } from './oauth-error.js';
import type { TokenRuntime } from './runtime.js';
import { isSystemScope, splitScope, uncoveredScopes } from './scope-rules.js';
import { inTenant } from './sql.js';

const PURGE_EVERY = 100;

export async function clientCredentialsGrant(runtime: TokenRuntime, tenantId: string, base: string, client: StoredClient, form: URLSearchParams, hooks?: IssueHooks): Promise<TokenResponse> {
  if (client.kind !== 'backend-service') throw unauthorizedClient('client_credentials is for backend-service clients');
  const requested = splitScope(form.get('scope'));
  if (requested.length === 0) throw invalidScope('scope is required (system/ scopes)');
  const notSystem = requested.filter((s) => !isSystemScope(s));
  if (notSystem.length > 0) throw invalidScope(`only system/ resource scopes may be requested: ${notSystem.join(' ')}`);
  const beyond = uncoveredScopes(client.scope, requested.join(' '));
  if (beyond.length > 0) throw invalidScope(`beyond the client's registered scope: ${beyond.join(' ')}`);
  const scope = requested.join(' ');
  const ttl = runtime.config.accessTokenTtlSeconds;
  const grant = await inTenant(runtime.database, tenantId, async (sql) => {
    // About one issuance in PURGE_EVERY clears out ended grants (a scan of the tenant's grants).
    if (Math.random() * PURGE_EVERY < 1) await purgeEndedGrants(sql, tenantId);
    return insertGrant(sql, {
      tenantId,
      clientId: client.clientId,
      grantType: 'client_credentials',
      subject: client.clientId,
      scope,
      // A minute beyond the token's exp, so the grant never ends before its token.
      expiresAt: new Date(Date.now() + (ttl + 60) * 1000),
    });
  });
  return issueTokens(runtime, grant, { base, scope, admin: client.admin, hooks });
}
