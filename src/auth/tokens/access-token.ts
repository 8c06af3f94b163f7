// Hearth's access tokens: JWTs per RFC 9068 (header typ at+jwt, ES384 per RFC 7518 section 3.4,
// kid of the tenant's signing key) carrying AccessTokenClaims (src/auth/contracts.ts). Signing
// here; verification for the resource server: signature by one of THIS tenant's published
// keys only, typ, alg, iss/aud = the tenant's base, exp/nbf/iat with a small clock skew,
// tid = the tenant, and a live (unrevoked) grant (gid).
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { ACCESS_TOKEN_ALG, ACCESS_TOKEN_TYPE, type AccessTokenClaims } from '../contracts.js';
import { latestRuntime, type TokenRuntime } from './runtime.js';
import { nowSeconds } from './sql.js';

/** Seconds of clock difference tolerated on exp, nbf and iat. */
export const CLOCK_SKEW_SECONDS = 30;
/** Longer than any token Hearth issues: anything bigger is refused unparsed. */
const MAX_TOKEN_LENGTH = 16_384;
const TENANT_ID = /^[A-Za-z0-9.-]{1,64}$/;

/** A bearer token that must not be accepted; `reason` says why (for logs, never for PHI). */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** The claims of a token to sign; `jti` may be chosen beforehand (issuance records it before signing). */
export type NewAccessToken = Omit<AccessTokenClaims, 'iat' | 'exp' | 'jti'> & { jti?: string; [ADMIN_CLAIM]?: true };

/**
 * A private claim (beyond AccessTokenClaims) in tokens issued to clients registered as admin:
 * the resource server gives such tokens AccessContext.isAdmin. Set at issuance; removing the
 * client revokes its grants, so its tokens stop working.
 */
export const ADMIN_CLAIM = 'hearth_admin';

/** True when a verified token was issued to an admin client (for src/http/authenticate.ts isAdminToken). */
export function isAdminToken(claims: AccessTokenClaims): boolean {
  return (claims as unknown as Record<string, unknown>)[ADMIN_CLAIM] === true;
}

/** Signs an access token with the tenant's current key; returns the token and its claims. */
export async function signAccessToken(runtime: TokenRuntime, claims: NewAccessToken, ttlSeconds = runtime.config.accessTokenTtlSeconds): Promise<{ token: string; claims: AccessTokenClaims }> {
  const { kid, key } = await runtime.keys.signingKey(claims.tid);
  const iat = nowSeconds();
  const full: AccessTokenClaims = { ...dropUndefined(claims), iat, exp: iat + ttlSeconds, jti: claims.jti ?? randomUUID() } as AccessTokenClaims;
  const token = await new SignJWT(full as unknown as JWTPayload)
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, typ: ACCESS_TOKEN_TYPE, kid })
    .sign(key);
  return { token, claims: full };
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'token expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim check failed: ${error.claim} (${error.reason})`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature invalid';
  if (error instanceof joseErrors.JOSEError) return `invalid token (${error.code})`;
  return 'invalid token';
}

/**
 * Checks everything about a token except whether its grant is still live. Exported for
 * introspection and revocation, which decide about revoked grants themselves.
 */
export async function verifyAccessTokenSignature(runtime: TokenRuntime, token: string, expected: { tenantId: string; audience: string }): Promise<AccessTokenClaims> {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError('malformed token');
  if (!TENANT_ID.test(expected.tenantId)) throw new InvalidTokenError('unknown tenant');
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new InvalidTokenError('malformed token');
  }
  if (header.alg !== ACCESS_TOKEN_ALG) throw new InvalidTokenError(`algorithm ${String(header.alg)} not accepted`);
  if (header.typ !== ACCESS_TOKEN_TYPE) throw new InvalidTokenError('not an access token (typ)');
  if (typeof header.kid !== 'string' || header.kid === '') throw new InvalidTokenError('no key id');
  const key = await runtime.keys.verificationKey(expected.tenantId, header.kid);
  if (!key) throw new InvalidTokenError('signed by a key this tenant does not publish');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [ACCESS_TOKEN_ALG],
      typ: ACCESS_TOKEN_TYPE,
      issuer: expected.audience,
      audience: expected.audience,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti'],
    }));
  } catch (error) {
    throw new InvalidTokenError(reasonOf(error));
  }
  const claims = payload as unknown as AccessTokenClaims;
  if (claims.tid !== expected.tenantId) throw new InvalidTokenError('issued for another tenant');
  if (typeof claims.aud !== 'string') throw new InvalidTokenError('aud must be the tenant base');
  for (const name of ['gid', 'client_id', 'scope', 'sub'] as const) {
    if (typeof claims[name] !== 'string') throw new InvalidTokenError(`claim ${name} missing`);
  }
  if (claims.iat > nowSeconds() + CLOCK_SKEW_SECONDS) throw new InvalidTokenError('issued in the future');
  return claims;
}

/**
 * Full verification with an explicit runtime (see verifyAccessToken). A signature already
 * verified for this tenant and audience is taken from the runtime's cache (an ES384 check costs
 * about 1 ms); whether the grant is still live is asked every time.
 */
export async function verifyAccessTokenWith(runtime: TokenRuntime, token: string, expected: { tenantId: string; audience: string }): Promise<AccessTokenClaims> {
  let claims = runtime.verified.get(token, expected);
  if (!claims) {
    claims = await verifyAccessTokenSignature(runtime, token, expected);
    runtime.verified.remember(token, expected, claims);
  }
  if (!(await runtime.grantLive(expected.tenantId, claims.gid))) throw new InvalidTokenError('token revoked');
  return claims;
}

/**
 * Verifies a bearer access token for the resource server (src/http/authenticate.ts). The token
 * side must have been created in this process (createTokenSideRouter or
 * createAuthorizationServerApi); otherwise every token is refused.
 * Throws InvalidTokenError with a reason.
 */
export async function verifyAccessToken(token: string, expected: { tenantId: string; audience: string }): Promise<AccessTokenClaims> {
  const runtime = latestRuntime();
  if (!runtime) throw new InvalidTokenError('token verification is not configured');
  return verifyAccessTokenWith(runtime, token, expected);
}
