// How the CapabilityStatement points SMART clients at the authorization server (SMART App Launch
// 2.x conformance.html: `rest.security` with the SMART-on-FHIR service code and the
// `oauth-uris` extension; the .well-known/smart-configuration document says the same in full).
import type { CapabilityStatementRestSecurity } from 'fhir/r4.js';
import { AUTH_PATHS } from '../core/auth-paths.js';

export const OAUTH_URIS_EXTENSION = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';

export function smartSecurity(baseUrl: string, base: CapabilityStatementRestSecurity = {}): CapabilityStatementRestSecurity {
  const uri = (path: string) => `${baseUrl}${path}`;
  return {
    ...base,
    service: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }],
        text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)',
      },
    ],
    description: 'SMART App Launch 2.x and SMART Backend Services; discovery at .well-known/smart-configuration.',
    extension: [
      {
        url: OAUTH_URIS_EXTENSION,
        extension: [
          { url: 'token', valueUri: uri(AUTH_PATHS.token) },
          { url: 'authorize', valueUri: uri(AUTH_PATHS.authorize) },
          { url: 'introspect', valueUri: uri(AUTH_PATHS.introspect) },
          { url: 'revoke', valueUri: uri(AUTH_PATHS.revoke) },
        ],
      },
    ],
  };
}
