// OpenID Connect Core 1.0 section 2 ID tokens for the `openid` scope (SMART App Launch 2.x
// "sso-openid-connect"): iss (the tenant's FHIR base), sub (the user), aud (the client), exp,
// iat, auth_time, nonce, and fhirUser as an absolute URL of the user's FHIR resource. Signed
// ES384 with the tenant's key (the openid-configuration's id_token_signing_alg_values_supported).
import { SignJWT } from 'jose';
import { ACCESS_TOKEN_ALG } from '../contracts.js';
import type { TokenRuntime } from './runtime.js';
import { nowSeconds } from './sql.js';

export interface IdTokenInput {
  tenantId: string;
  issuer: string;
  userId: string;
  clientId: string;
  authTime?: number;
  nonce?: string;
  /** A reference relative to the base (`Practitioner/1`) or already absolute. */
  fhirUser?: string;
}

/** `Practitioner/1` under https://x/fhir -> https://x/fhir/Practitioner/1; absolute URLs unchanged. */
export function absoluteFhirUser(base: string, reference: string): string {
  return /^https?:\/\//.test(reference) ? reference : `${base.replace(/\/$/, '')}/${reference.replace(/^\//, '')}`;
}

export async function signIdToken(runtime: TokenRuntime, input: IdTokenInput, ttlSeconds = runtime.config.accessTokenTtlSeconds): Promise<string> {
  const { kid, key } = await runtime.keys.signingKey(input.tenantId);
  const iat = nowSeconds();
  const claims: Record<string, unknown> = { iss: input.issuer, sub: input.userId, aud: input.clientId, iat, exp: iat + ttlSeconds };
  if (input.authTime !== undefined) claims.auth_time = input.authTime;
  if (input.nonce !== undefined) claims.nonce = input.nonce;
  if (input.fhirUser !== undefined) claims.fhirUser = absoluteFhirUser(input.issuer, input.fhirUser);
  return new SignJWT(claims).setProtectedHeader({ alg: ACCESS_TOKEN_ALG, typ: 'JWT', kid }).sign(key);
}
