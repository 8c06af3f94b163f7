// The token endpoint's dispatch (RFC 6749 section 3.2 and 4.1.3, 4.4, 6; SMART App Launch 2.x;
// SMART Backend Services): authenticate the client, then run the grant named by grant_type. An
// optional limiter (per tenant and client_id) is asked first and told about failures and
// successes; the integrator wires the real one. Hooks observe an issuance before it is signed
// (issue-tokens.ts; the audit trail).
import { assertionIssuer } from './client-assertion.js';
import { authenticateClient } from './client-auth.js';
import { authorizationCodeGrant } from './grant-authorization-code.js';
import { clientCredentialsGrant } from './grant-client-credentials.js';
import { refreshTokenGrant } from './grant-refresh-token.js';
import type { IssueHooks, TokenResponse } from './issue-tokens.js';
import { OAuthError, invalidRequest } from './oauth-error.js';
import type { TokenRuntime } from './runtime.js';

/** The rate-limiting seam of the token endpoint (keyed `${tenant}:${client_id}`). */
export interface TokenLimiter {
  check(key: string): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
  fail(key: string): Promise<void>;
  succeed(key: string): Promise<void>;
}

export interface TokenRequest {
  tenantId: string;
  /** The tenant's FHIR base URL. */
  base: string;
  /** This endpoint's absolute URL (the aud of client assertions). */
  tokenUrl: string;
  form: URLSearchParams;
  authorization?: string;
}

const GRANTS = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
} as const;

/** Failures that count against a client's limit: it could not prove who it is or what it holds. */
const COUNTED = new Set(['invalid_client', 'invalid_grant']);

export async function handleTokenRequest(runtime: TokenRuntime, request: TokenRequest, limiter?: TokenLimiter, hooks?: IssueHooks): Promise<TokenResponse> {
  const { form } = request;
  const clientKey = form.get('client_id') ?? assertionIssuer(form.get('client_assertion')) ?? 'anonymous';
  const key = `${request.tenantId}:${clientKey}`;
  if (limiter) {
    const verdict = await limiter.check(key);
    if (!verdict.allowed) {
      const error = new OAuthError('slow_down', 'too many failed requests for this client; retry later');
      error.headers['Retry-After'] = String(Math.max(1, Math.ceil(verdict.retryAfterSeconds)));
      throw error;
    }
  }
  try {
    const grantType = form.get('grant_type');
    if (!grantType) throw invalidRequest('grant_type is missing');
    const grant = GRANTS[grantType as keyof typeof GRANTS];
    if (!Object.hasOwn(GRANTS, grantType)) throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported`);
    const client = await authenticateClient(runtime, {
      tenantId: request.tenantId,
      form,
      audiences: [request.tokenUrl],
      authorization: request.authorization,
    });
    const response = await grant(runtime, request.tenantId, request.base, client, form, hooks);
    await limiter?.succeed(key);
    return response;
  } catch (error) {
    if (limiter && error instanceof OAuthError && COUNTED.has(error.code)) await limiter.fail(key);
    throw error;
  }
}
