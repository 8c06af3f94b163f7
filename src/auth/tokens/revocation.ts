// Token revocation (RFC 7009). The client authenticates as at the token endpoint (client_id for
// public clients, a client assertion otherwise). Revoking a refresh token or an access token
// revokes the grant behind it, so every token of that grant stops working at once in this
// process (grant-cache.ts). Unknown, invalid or already revoked tokens, and tokens of another
// client, are answered 200 like a success and nothing happens (section 2.2: no oracle).
// The caller learns which live grant was ended (for the audit trail's logout event), and the
// access token's jti when an access token was presented (never the token itself).
import { InvalidTokenError, verifyAccessTokenSignature } from './access-token.js';
import { authenticateClient } from './client-auth.js';
import { findGrant, revokeGrant, type Grant } from './grant-store.js';
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

/** What a revocation ended: a grant that was live, and the jti of the access token presented. */
export interface Revoked {
  grant: Grant;
  jti?: string;
}

/** The grant a token belongs to, when it is this client's token of this tenant. */
async function grantOf(runtime: TokenRuntime, request: RevocationRequest, clientId: string, token: string): Promise<{ grantId: string; jti?: string } | undefined> {
  const { tenantId } = request;
  if (token.split('.').length === 3) {
    try {
      const claims = await verifyAccessTokenSignature(runtime, token, { tenantId, audience: request.base });
      return claims.client_id === clientId ? { grantId: claims.gid, jti: claims.jti } : undefined;
    } catch (error) {
      if (error instanceof InvalidTokenError) return undefined;
      throw error;
    }
  }
  if (token.length > 100) return undefined;
  const stored = await inTenant(runtime.database, tenantId, (sql) => findRefreshToken(sql, tenantId, token), true);
  return stored && stored.clientId === clientId ? { grantId: stored.grantId } : undefined;
}

/** Revokes the token's grant; returns it when it was live until now, undefined when nothing changed. */
export async function handleRevocation(runtime: TokenRuntime, request: RevocationRequest): Promise<Revoked | undefined> {
  const client = await authenticateClient(runtime, {
    tenantId: request.tenantId,
    form: request.form,
    audiences: [request.tokenUrl, request.revokeUrl],
    authorization: request.authorization,
  });
  const token = request.form.get('token');
  if (token === null) throw invalidRequest('token is missing');
  const found = await grantOf(runtime, request, client.clientId, token);
  if (found === undefined) return undefined;
  const { tenantId } = request;
  const ended = await inTenant(runtime.database, tenantId, async (sql) =>
    (await revokeGrant(sql, tenantId, found.grantId)) ? findGrant(sql, tenantId, found.grantId) : undefined);
  runtime.grantRevoked(tenantId, found.grantId);
  if (!ended) return undefined;
  return found.jti === undefined ? { grant: ended } : { grant: ended, jti: found.jti };
}
