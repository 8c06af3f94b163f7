// The Authorization header Hearth sends to a sync destination (issue 13): none; a bearer secret;
// or SMART Backend Services (SMART App Launch 2.x, backend-services.html): the client credentials
// grant with private_key_jwt (RFC 7523 section 2.2) - POST tokenUrl with grant_type
// client_credentials, the scope, and a client assertion signed with the key Hearth holds
// (iss = sub = client_id, aud = the token URL, a random jti, exp at most five minutes ahead).
// Access tokens are cached until shortly before expires_in (RFC 6749 section 5.1). A token
// endpoint that fails makes the delivery a 'retry' (5xx, 408/429, network, timeout) or a
// 'reject' (any other 4xx, e.g. invalid_client: no retry will fix the registration).
// Destinations are configured by the operator, so the token URL is not subject to the SSRF guard.
import { createHash, randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import type { DeliveryResult, DestinationAuth, SyncDestination } from '../delivery/contracts.js';
import { classifyNetworkError, classifyResponse } from './classify-response.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** SMART Backend Services: the assertion's exp no more than five minutes ahead. */
const ASSERTION_LIFETIME_SECONDS = 300;
/** Assumed when the token response has no expires_in (SMART recommends at most five minutes). */
const DEFAULT_EXPIRES_IN_SECONDS = 300;
/** A cached token is renewed this long before it expires (at most a tenth of its life). */
const RENEW_MARGIN_MS = 30_000;

export type AuthorizationResult = { ok: true; header: string | undefined; cached: boolean } | { ok: false; result: DeliveryResult };

export interface DestinationAuthOptions {
  /** config.deliveryTimeoutMs: bounds each token request. */
  timeoutMs: number;
  now?: () => number;
}

interface CachedToken {
  header: string;
  renewAt: number;
}

type SmartBackendAuth = Extract<DestinationAuth, { kind: 'smart-backend' }>;

/** The JWS algorithm for a key: its own `alg`, else the SMART defaults RS384 (RSA) and ES384 (EC). */
function algorithmFor(auth: SmartBackendAuth): string {
  if (auth.alg) return auth.alg;
  const jwk = auth.privateJwk as JWK;
  if (typeof jwk.alg === 'string') return jwk.alg;
  if (jwk.kty === 'RSA') return 'RS384';
  if (jwk.kty === 'EC') return 'ES384';
  throw new Error(`cannot tell the signing algorithm of a ${String(jwk.kty)} key: set alg`);
}

/** A signed client assertion (RFC 7523 section 3; SMART backend-services "Authenticating to the token endpoint"). */
export async function signClientAssertion(auth: SmartBackendAuth, nowMs: number = Date.now()): Promise<string> {
  const alg = algorithmFor(auth);
  const jwk = auth.privateJwk as JWK;
  const key = await importJWK(jwk, alg);
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg, typ: 'JWT', ...(typeof jwk.kid === 'string' ? { kid: jwk.kid } : {}) })
    .setIssuer(auth.clientId)
    .setSubject(auth.clientId)
    .setAudience(auth.tokenUrl)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_SECONDS)
    .sign(key);
}

function oauthError(body: unknown): string {
  if (typeof body !== 'string') return '';
  try {
    const parsed = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    const parts = [parsed.error, parsed.error_description].filter((part): part is string => typeof part === 'string');
    return parts.length ? ` (${parts.join(': ').slice(0, 300)})` : '';
  } catch {
    return '';
  }
}

/** Makes and caches the Authorization headers of sync destinations. */
export class DestinationAuthorizer {
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<AuthorizationResult>>();
  private readonly now: () => number;

  constructor(private readonly options: DestinationAuthOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The Authorization header value for `destination` (undefined for 'none'), or the failure that makes the delivery retry or reject. */
  async authorization(destination: SyncDestination): Promise<AuthorizationResult> {
    const { auth } = destination;
    if (auth.kind === 'none') return { ok: true, header: undefined, cached: false };
    if (auth.kind === 'bearer') return { ok: true, header: `Bearer ${auth.token}`, cached: false };
    const key = cacheKey(destination, auth);
    const cached = this.cache.get(key);
    if (cached && this.now() < cached.renewAt) return { ok: true, header: cached.header, cached: true };
    // One token request at a time per destination: concurrent deliveries share it.
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.requestToken(key, auth).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Drops the cached token of `destination` (the partner answered 401 to it). */
  invalidate(destination: SyncDestination): void {
    if (destination.auth.kind === 'smart-backend') this.cache.delete(cacheKey(destination, destination.auth));
  }

  private async requestToken(key: string, auth: SmartBackendAuth): Promise<AuthorizationResult> {
    let assertion: string;
    try {
      assertion = await signClientAssertion(auth, this.now());
    } catch (error) {
      return { ok: false, result: { kind: 'reject', reason: `cannot sign the client assertion: ${(error as Error).message}` } };
    }
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: auth.scope,
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion,
    });
    let response: Response;
    let text: string;
    try {
      response = await fetch(auth.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const result = classifyNetworkError(error);
      return { ok: false, result: { ...result, reason: `token endpoint ${auth.tokenUrl}: ${result.reason}` } };
    }
    if (!response.ok) {
      const result = classifyResponse({ status: response.status, retryAfter: response.headers.get('retry-after'), location: response.headers.get('location'), body: text });
      if (result.kind === 'delivered') throw new Error('unreachable: a non-ok response classified as delivered');
      const reason = `token endpoint ${auth.tokenUrl} answered ${response.status}${oauthError(text)}`;
      return { ok: false, result: result.kind === 'retry' ? { ...result, reason } : { kind: 'reject', status: response.status, reason } };
    }
    return this.accept(key, auth, text);
  }

  private accept(key: string, auth: SmartBackendAuth, text: string): AuthorizationResult {
    let token: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    try {
      token = JSON.parse(text) as typeof token;
    } catch {
      token = {};
    }
    if (typeof token.access_token !== 'string' || !token.access_token) {
      // A garbled success (a proxy's page, say) may be passing: try again later.
      return { ok: false, result: { kind: 'retry', reason: `token endpoint ${auth.tokenUrl} answered without an access_token` } };
    }
    if (typeof token.token_type === 'string' && token.token_type.toLowerCase() !== 'bearer') {
      return { ok: false, result: { kind: 'reject', reason: `token endpoint ${auth.tokenUrl} issued a ${token.token_type} token, not a bearer token` } };
    }
    const lifetimeMs = (typeof token.expires_in === 'number' && token.expires_in > 0 ? token.expires_in : DEFAULT_EXPIRES_IN_SECONDS) * 1000;
    const header = `Bearer ${token.access_token}`;
    this.cache.set(key, { header, renewAt: this.now() + lifetimeMs - Math.min(RENEW_MARGIN_MS, lifetimeMs / 10) });
    return { ok: true, header, cached: false };
  }
}

/** Tokens are kept per destination and per its auth settings (a changed key or scope gets a new token). */
function cacheKey(destination: SyncDestination, auth: SmartBackendAuth): string {
  const settings = createHash('sha256').update(JSON.stringify([auth.tokenUrl, auth.clientId, auth.scope, auth.alg ?? null, auth.privateJwk])).digest('base64url');
  return `${destination.tenantId}\u0000${destination.id}\u0000${settings}`;
}
