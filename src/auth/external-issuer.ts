// Access tokens from an external OpenID Connect provider (issue 10, "External identity
// providers"): a JWT whose `iss` is HEARTH_OIDC_ISSUER, signed by a key of the provider's JWKS
// (from its discovery document, OpenID Connect Discovery 1.0 section 4), carrying the audience
// Hearth expects. Its scopes and fhirUser come from configurable claims.
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../core/config.js';

/** Asymmetric algorithms only: `none` and HMAC (a shared secret Hearth would have to hold) are refused. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export interface ExternalClaims {
  subject: string;
  scopes: string[];
  clientId?: string;
  fhirUser?: string;
  patient?: string;
  tokenId?: string;
}

export class ExternalIssuer {
  private keys?: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    readonly issuer: string,
    private readonly options: Pick<Config, 'oidcAudience' | 'oidcScopeClaim' | 'oidcFhirUserClaim'>,
    private readonly fetchJson: (url: string) => Promise<unknown> = defaultFetchJson,
  ) {}

  /** The JWKS of the issuer, located once through its discovery document. */
  private async jwks(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.keys) return this.keys;
    const discovery = (await this.fetchJson(`${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)) as { jwks_uri?: unknown; issuer?: unknown };
    if (typeof discovery.jwks_uri !== 'string' || discovery.issuer !== this.issuer) {
      throw new Error('the external issuer publishes no usable discovery document');
    }
    this.keys = createRemoteJWKSet(new URL(discovery.jwks_uri), { timeoutDuration: 5000, cooldownDuration: 30_000 });
    return this.keys;
  }

  /**
   * Verifies `token` for a FHIR base. Without HEARTH_OIDC_AUDIENCE the token must name the
   * tenant's base as its audience, which binds it to one tenant; a configured audience is one
   * value for every base, so such tokens are accepted on the default tenant only.
   */
  async verify(token: string, expected: { tenantId: string; audience: string }): Promise<ExternalClaims> {
    const configured = this.options.oidcAudience;
    if (configured !== undefined && expected.tenantId !== 'default') throw new Error('external tokens with a fixed audience are for the default tenant only');
    const { payload } = await jwtVerify(token, await this.jwks(), {
      issuer: this.issuer,
      audience: configured ?? expected.audience,
      algorithms: ALGORITHMS,
      clockTolerance: 30,
      requiredClaims: ['exp', 'sub'],
    });
    return this.claimsOf(payload);
  }

  private claimsOf(payload: JWTPayload): ExternalClaims {
    const rawScopes = payload[this.options.oidcScopeClaim];
    const scopes = typeof rawScopes === 'string' ? rawScopes.split(' ').filter(Boolean) : Array.isArray(rawScopes) ? rawScopes.filter((s): s is string => typeof s === 'string') : [];
    const fhirUser = payload[this.options.oidcFhirUserClaim];
    const clientId = typeof payload.azp === 'string' ? payload.azp : typeof payload.client_id === 'string' ? payload.client_id : undefined;
    return {
      subject: payload.sub as string,
      scopes,
      clientId,
      fhirUser: typeof fhirUser === 'string' ? fhirUser : undefined,
      patient: typeof payload.patient === 'string' ? payload.patient : undefined,
      tokenId: payload.jti,
    };
  }
}

async function defaultFetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}
