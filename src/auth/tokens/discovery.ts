// Discovery documents of a tenant's authorization server. SMART App Launch 2.x
// conformance.html ("/.well-known/smart-configuration": endpoints, grant and auth methods,
// PKCE S256, capabilities) and OpenID Connect Discovery 1.0 section 3 (the OpenID provider
// metadata for `openid fhirUser`). The issuer is the tenant's FHIR base. Pure.
import { AUTH_PATHS } from '../contracts.js';

export const SMART_CAPABILITIES = Object.freeze([
  'launch-ehr',
  'launch-standalone',
  'client-public',
  'client-confidential-asymmetric',
  'context-ehr-patient',
  'context-standalone-patient',
  'permission-offline',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
  'sso-openid-connect',
]);

export const SCOPES_SUPPORTED = Object.freeze([
  'openid',
  'fhirUser',
  'launch',
  'launch/patient',
  'offline_access',
  'online_access',
  'patient/*.cruds',
  'patient/*.rs',
  'patient/*.read',
  'patient/*.write',
  'user/*.cruds',
  'user/*.rs',
  'user/*.read',
  'user/*.write',
  'system/*.cruds',
  'system/*.rs',
  'system/*.read',
  'system/*.write',
]);

export const GRANT_TYPES = Object.freeze(['authorization_code', 'refresh_token', 'client_credentials']);
export const AUTH_METHODS = Object.freeze(['private_key_jwt', 'none']);
export const AUTH_SIGNING_ALGS = Object.freeze(['RS384', 'ES384']);

/** Absolute URLs of the tenant's auth endpoints. */
export function endpointsOf(base: string) {
  const b = base.replace(/\/$/, '');
  return {
    authorization_endpoint: b + AUTH_PATHS.authorize,
    token_endpoint: b + AUTH_PATHS.token,
    jwks_uri: b + AUTH_PATHS.jwks,
    introspection_endpoint: b + AUTH_PATHS.introspect,
    revocation_endpoint: b + AUTH_PATHS.revoke,
  };
}

export function smartConfiguration(base: string) {
  return {
    issuer: base,
    ...endpointsOf(base),
    grant_types_supported: [...GRANT_TYPES],
    response_types_supported: ['code'],
    scopes_supported: [...SCOPES_SUPPORTED],
    token_endpoint_auth_methods_supported: [...AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: [...AUTH_SIGNING_ALGS],
    code_challenge_methods_supported: ['S256'],
    capabilities: [...SMART_CAPABILITIES],
  };
}

export function openidConfiguration(base: string) {
  return {
    issuer: base,
    ...endpointsOf(base),
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES384'],
    scopes_supported: ['openid', 'fhirUser', 'offline_access', 'online_access'],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'fhirUser'],
    token_endpoint_auth_methods_supported: [...AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: [...AUTH_SIGNING_ALGS],
    code_challenge_methods_supported: ['S256'],
  };
}
