// The resource server's side of SMART (issue 10; RFC 6750): turns the request's bearer token
// into the AccessContext that src/fhir/access decides on. A missing, malformed, expired,
// revoked or foreign token is a 401 with `WWW-Authenticate: Bearer error="invalid_token"`
// (RFC 6750 section 3.1); what a valid token may do is decided later, in fhir/ (403).
import { decodeJwt } from 'jose';
import { FhirError } from '../core/errors.js';
import { ANONYMOUS_ACCESS, type AccessContext } from '../core/types.js';
import type { AccessTokenClaims } from '../auth/contracts.js';
import type { ExternalIssuer } from '../auth/external-issuer.js';
import type { AuthMode } from './auth-mode.js';

export type HearthTokenVerifier = (token: string, expected: { tenantId: string; audience: string }) => Promise<AccessTokenClaims>;

export interface AuthenticatorOptions {
  mode: AuthMode;
  /** Verifies Hearth's own access tokens (signature with the tenant's keys, claims, revocation). */
  verifyHearthToken: HearthTokenVerifier;
  /** Accepts tokens of an external OpenID Connect issuer too. */
  external?: ExternalIssuer;
  /** Whether a verified Hearth token carries administrator rights (clients registered as admin). */
  isAdminToken?: (claims: AccessTokenClaims) => boolean;
}

const REALM = 'hearth';

/** A 401 that tells the client its token will not do (never why in detail: no oracle for forgers). */
export function invalidToken(description: string): FhirError {
  const error = new FhirError(401, { code: 'login', diagnostics: `Authentication failed: ${description}` });
  error.headers['WWW-Authenticate'] = `Bearer realm="${REALM}", error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"`;
  return error;
}

/** The token of an `Authorization: Bearer <token>` header; undefined when there is no such header. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match) throw invalidToken('the Authorization header is not "Bearer <token>"');
  return match[1];
}

export class Authenticator {
  /**
   * One context per verified claims object: a verifier that remembers tokens returns the same
   * claims for the same token, so the scope decisions cached per context (fhir/access) are
   * reused from request to request instead of being parsed again.
   */
  private readonly contexts = new WeakMap<AccessTokenClaims, AccessContext>();

  constructor(private readonly options: AuthenticatorOptions) {}

  get mode(): AuthMode {
    return this.options.mode;
  }

  /**
   * The caller of a request to `tenantId`'s base (`audience`). Open mode: the anonymous
   * administrator unless a token is presented, which is then held to the same rules as in
   * required mode (so scoped behaviour can be exercised on an open server).
   */
  async accessFor(authorization: string | undefined, expected: { tenantId: string; audience: string }): Promise<AccessContext> {
    const token = bearerToken(authorization);
    if (token === undefined) {
      if (this.options.mode === 'open') return ANONYMOUS_ACCESS;
      throw invalidToken('an access token is required');
    }
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw invalidToken('the access token is not a well-formed JWT');
    }
    const external = this.options.external;
    if (external && issuer === external.issuer) return this.fromExternal(external, token, expected);
    let claims: AccessTokenClaims;
    try {
      claims = await this.options.verifyHearthToken(token, expected);
    } catch {
      throw invalidToken('the access token is invalid, expired or revoked, or was not issued for this endpoint');
    }
    const known = this.contexts.get(claims);
    if (known) return known;
    const context: AccessContext = Object.freeze({
      subject: claims.sub,
      scopes: Object.freeze(claims.scope.split(' ').filter(Boolean)),
      isAdmin: this.options.isAdminToken?.(claims) ?? false,
      tenantId: claims.tid,
      clientId: claims.client_id,
      patient: claims.patient,
      encounter: claims.encounter,
      fhirUser: claims.fhirUser,
      tokenId: claims.jti,
    });
    this.contexts.set(claims, context);
    return context;
  }

  private async fromExternal(external: ExternalIssuer, token: string, expected: { tenantId: string; audience: string }): Promise<AccessContext> {
    try {
      const claims = await external.verify(token, expected);
      return Object.freeze({
        subject: claims.subject,
        scopes: Object.freeze(claims.scopes),
        isAdmin: false,
        tenantId: expected.tenantId,
        clientId: claims.clientId,
        patient: claims.patient,
        fhirUser: claims.fhirUser,
        tokenId: claims.tokenId,
      });
    } catch {
      throw invalidToken('the access token is invalid, expired, or not issued for this endpoint');
    }
  }
}
