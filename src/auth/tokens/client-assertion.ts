// Client authentication with a signed JWT (private_key_jwt): RFC 7523 sections 2.2 and 3, SMART
// App Launch 2.x client-confidential-asymmetric and SMART Backend Services. Accepted: RS384 and
// ES384 only; iss = sub = the client_id; aud = the endpoint URL exactly; exp present and at most
// five minutes ahead; jti present and never used before by that client (replay store); the key
// from the client's registered JWKS, or from its JWKS URL / a jku header equal to it, only when
// that URL is on the allow-list. Every refusal is invalid_client.
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { StoredClient } from '../clients/client-store.js';
import { findClient } from '../clients/client-store.js';
import { localKeys, onAllowlist, remoteKeys, type KeyResolver } from '../clients/jwks-source.js';
import { recordJti } from './jti-store.js';
import { invalidClient } from './oauth-error.js';
import type { TokenRuntime } from './runtime.js';
import { inTenant, nowSeconds } from './sql.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const ASSERTION_ALGS = ['RS384', 'ES384'] as const;
/** SMART Backend Services: exp no more than five minutes in the future. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
const SKEW_SECONDS = 30;
const MAX_JTI_LENGTH = 256;

export interface AssertionInput {
  tenantId: string;
  assertionType: string | null;
  assertion: string | null;
  /** The client_id form parameter, when sent: must name the same client. */
  clientId: string | null;
  /** URLs the assertion's aud may equal (the token endpoint; for introspection also its own URL). */
  audiences: readonly string[];
}

/** The unverified issuer of an assertion (for rate-limit keys), or undefined. */
export function assertionIssuer(assertion: string | null): string | undefined {
  if (!assertion) return undefined;
  try {
    const iss = decodeJwt(assertion).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

function resolverFor(runtime: TokenRuntime, client: StoredClient, jku: string | undefined): KeyResolver {
  const allowlist = runtime.config.jkuAllowlist;
  if (jku !== undefined) {
    if (!onAllowlist(jku, allowlist)) throw invalidClient('the jku is not on the allow-list');
    if (client.jwksUri !== jku) throw invalidClient("the jku is not the client's registered JWKS URL");
    return remoteKeys(jku);
  }
  if (client.jwks) return localKeys(client.jwks);
  if (client.jwksUri) {
    if (!onAllowlist(client.jwksUri, allowlist)) throw invalidClient("the client's JWKS URL is not on the allow-list");
    return remoteKeys(client.jwksUri);
  }
  throw invalidClient('the client has no keys');
}

function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the client assertion has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `client assertion claim ${error.claim}: ${error.reason}`;
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no registered key matches the client assertion';
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return 'several registered keys match: give a kid';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the client assertion signature is invalid';
  if (error instanceof joseErrors.JWKSTimeout) return "the client's JWKS could not be fetched in time";
  if (error instanceof joseErrors.JOSEError) return `the client assertion is invalid (${error.code})`;
  return "the client's keys could not be used";
}

/** Authenticates the client behind a client assertion; throws OAuthError invalid_client. */
export async function authenticateAssertion(runtime: TokenRuntime, input: AssertionInput): Promise<StoredClient> {
  if (input.assertionType !== CLIENT_ASSERTION_TYPE) throw invalidClient(`client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
  const assertion = input.assertion;
  if (!assertion) throw invalidClient('client_assertion is missing');
  let header;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(assertion);
    unverified = decodeJwt(assertion);
  } catch {
    throw invalidClient('the client assertion is not a JWT');
  }
  if (!ASSERTION_ALGS.includes(header.alg as (typeof ASSERTION_ALGS)[number])) {
    throw invalidClient(`client assertion algorithm ${String(header.alg)} is not accepted (RS384, ES384)`);
  }
  const iss = unverified.iss;
  if (typeof iss !== 'string' || iss === '') throw invalidClient('the client assertion has no iss');
  if (unverified.sub !== iss) throw invalidClient('the client assertion sub must equal its iss');
  if (input.clientId !== null && input.clientId !== iss) throw invalidClient('client_id and the client assertion iss differ');
  const client = await inTenant(runtime.database, input.tenantId, (sql) => findClient(sql, input.tenantId, iss), true);
  if (!client || client.kind === 'public') throw invalidClient('unknown client, or one that cannot authenticate with a key');
  const keys = resolverFor(runtime, client, typeof header.jku === 'string' ? header.jku : header.jku === undefined ? undefined : '');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(assertion, keys, {
      algorithms: [...ASSERTION_ALGS],
      issuer: client.clientId,
      subject: client.clientId,
      audience: [...input.audiences],
      clockTolerance: SKEW_SECONDS,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
    }));
  } catch (error) {
    throw invalidClient(describe(error));
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (audiences.length !== 1) throw invalidClient('the client assertion aud must be exactly the endpoint URL');
  const exp = payload.exp as number;
  if (exp > nowSeconds() + MAX_ASSERTION_LIFETIME_SECONDS + SKEW_SECONDS) throw invalidClient('the client assertion exp is more than five minutes ahead');
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw invalidClient('the client assertion jti is missing or too long');
  const fresh = await inTenant(runtime.database, input.tenantId, (sql) => recordJti(sql, input.tenantId, client.clientId, jti, new Date((exp + SKEW_SECONDS) * 1000)));
  if (!fresh) throw invalidClient('the client assertion jti was used before');
  return client;
}
