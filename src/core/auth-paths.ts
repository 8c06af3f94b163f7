// Where the SMART authorization server answers below each tenant's FHIR base (issue 10): shared
// by the authorization server (src/auth), its discovery documents and the CapabilityStatement's
// oauth-uris (src/fhir/smart-capability.ts).
/** Paths below a tenant's FHIR base. */
export const AUTH_PATHS = Object.freeze({
  smartConfiguration: '/.well-known/smart-configuration',
  openidConfiguration: '/.well-known/openid-configuration',
  authorize: '/auth/authorize',
  token: '/auth/token',
  introspect: '/auth/introspect',
  revoke: '/auth/revoke',
  jwks: '/auth/jwks',
});
