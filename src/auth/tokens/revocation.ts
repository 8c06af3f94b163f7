// Token revocation (RFC 7009). The client authenticates as at the token endpoint (client_id for
// public clients, a client assertion otherwise). Revoking a refresh token or an access token
// revokes the grant behind it, so every token of that grant stops working at once in this
// process (grant-cache.ts). Unknown, invalid or already revoked tokens, and tokens of another
// client, are answered 200 like a success and nothing happens (section 2.2: no oracle).
import { InvalidTokenError, verifyAccessTokenSignature } from './access-token.js';
import { authenticateClient } from './client-auth.js';
import { revokeGrant } from './grant-store.js';
import { invalidRequest } from './oauth-error.js';
import { findRefreshToken } from './refresh-store.js';
import type { TokenRuntime } from './runtime.js';
import { inTenant } from './sql.js';

export interface RevocationRequest {
  tenantId: string;
  base: string;
  tokenUrl: string;
  revokeUrl: string;
  form: URLSearchParams;
  authorization?: string;
}

/** The grant a token belongs to, when it is this client's token of this tenant. */
async function grantOf(runtime: TokenRuntime, request: RevocationRequest, clientId: string, token: string): Promise<string | undefined> {
  const { tenantId } = request;
  if (token.split('.').length === 3) {
    try {
      const claims = await verifyAccessTokenSignature(runtime, token, { tenantId, audience: request.base });
      return claims.client_id === clientId ? claims.gid : undefined;
    } catch (error) {
      if (error instanceof InvalidTokenError) return undefined;
      throw error;
    }
  }
  if (token.length > 100) return undefined;
  const stored = await inTenant(runtime.database, tenantId, (sql) => findRefreshToken(sql, tenantId, token), true);
  return stored && stored.clientId === clientId ? stored.grantId : undefined;
}

export async function handleRevocation(runtime: TokenRuntime, request: RevocationRequest): Promise<void> {
  const client = await authenticateClient(runtime, {
    tenantId: request.tenantId,
    form: request.form,
    audiences: [request.tokenUrl, request.revokeUrl],
    authorization: request.authorization,
  });
  const token = request.form.get('token');
  if (token === null) throw invalidRequest('token is missing');
  const grantId = await grantOf(runtime, request, client.clientId, token);
  if (grantId === undefined) return;
  await inTenant(runtime.database, request.tenantId, (sql) => revokeGrant(sql, request.tenantId, grantId));
  runtime.grantRevoked(request.tenantId, grantId);
}
