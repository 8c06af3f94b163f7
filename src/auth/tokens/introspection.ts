// Token introspection (RFC 7662). Who may ask: an admin client of the tenant, authenticating
// either with a client assertion (private_key_jwt, aud = the token or the introspection URL) or
// with a bearer access token of its own (Authorization: Bearer). Anyone else: 401. The answer for
// anything that is not a live token of this tenant (garbage, expired, revoked, another tenant's)
// is exactly {"active":false}; a live access token or refresh token is described.
import { findClient } from '../clients/client-store.js';
import { InvalidTokenError, verifyAccessTokenWith } from './access-token.js';
import { authenticateAssertion } from './client-assertion.js';
import { findGrant } from './grant-store.js';
import { OAuthError, invalidClient, invalidRequest } from './oauth-error.js';
import { findRefreshToken } from './refresh-store.js';
import type { TokenRuntime } from './runtime.js';
import { inTenant } from './sql.js';

export interface IntrospectionRequest {
  tenantId: string;
  base: string;
  tokenUrl: string;
  introspectUrl: string;
  form: URLSearchParams;
  authorization?: string;
}

export const INACTIVE = Object.freeze({ active: false });

async function authorizeCaller(runtime: TokenRuntime, request: IntrospectionRequest): Promise<void> {
  const { form, tenantId } = request;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.authorization ?? '');
  let clientId: string;
  if (bearer) {
    try {
      clientId = (await verifyAccessTokenWith(runtime, bearer[1], { tenantId, audience: request.base })).client_id;
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      const refused = new OAuthError('invalid_token', 'the bearer token is not valid');
      refused.headers['WWW-Authenticate'] = 'Bearer error="invalid_token"';
      throw refused;
    }
  } else if (form.has('client_assertion')) {
    clientId = (await authenticateAssertion(runtime, {
      tenantId,
      assertionType: form.get('client_assertion_type'),
      assertion: form.get('client_assertion'),
      clientId: form.get('client_id'),
      audiences: [request.tokenUrl, request.introspectUrl],
    })).clientId;
  } else {
    const refused = invalidClient('introspection requires an admin client: a client assertion or a bearer token');
    refused.headers['WWW-Authenticate'] = 'Bearer';
    throw refused;
  }
  const client = await inTenant(runtime.database, tenantId, (sql) => findClient(sql, tenantId, clientId), true);
  if (!client?.admin) throw invalidClient('only admin clients may introspect tokens');
}

function withoutUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

async function describeToken(runtime: TokenRuntime, request: IntrospectionRequest, token: string): Promise<Record<string, unknown>> {
  const { tenantId } = request;
  if (token.split('.').length === 3) {
    try {
      const claims = await verifyAccessTokenWith(runtime, token, { tenantId, audience: request.base });
      return withoutUndefined({
        active: true,
        scope: claims.scope,
        client_id: claims.client_id,
        sub: claims.sub,
        exp: claims.exp,
        iat: claims.iat,
        iss: claims.iss,
        aud: claims.aud,
        jti: claims.jti,
        patient: claims.patient,
        encounter: claims.encounter,
        fhirUser: claims.fhirUser,
        token_type: 'Bearer',
      });
    } catch (error) {
      if (error instanceof InvalidTokenError) return { ...INACTIVE };
      throw error;
    }
  }
  if (token.length > 100) return { ...INACTIVE };
  const described = await inTenant(runtime.database, tenantId, async (sql) => {
    const stored = await findRefreshToken(sql, tenantId, token);
    if (!stored || stored.usedAt || stored.expiresAt.getTime() <= Date.now()) return undefined;
    const grant = await findGrant(sql, tenantId, stored.grantId);
    if (!grant || grant.revokedAt || grant.expiresAt.getTime() <= Date.now()) return undefined;
    return withoutUndefined({
      active: true,
      scope: grant.scope,
      client_id: grant.clientId,
      sub: grant.subject,
      exp: Math.floor(stored.expiresAt.getTime() / 1000),
      iss: request.base,
      patient: grant.patient,
      encounter: grant.encounter,
      fhirUser: grant.fhirUser,
      token_type: 'refresh_token',
    });
  }, true);
  return described ?? { ...INACTIVE };
}

export async function handleIntrospection(runtime: TokenRuntime, request: IntrospectionRequest): Promise<Record<string, unknown>> {
  await authorizeCaller(runtime, request);
  const token = request.form.get('token');
  if (token === null) throw invalidRequest('token is missing');
  return describeToken(runtime, request, token);
}

