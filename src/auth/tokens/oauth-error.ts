// OAuth 2.0 error responses (RFC 6749 section 5.2; RFC 7009 section 2.2.1; RFC 7662 section 2.3):
// the error codes, their HTTP statuses, and the JSON body. Pure: the routers send it.
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type'
  | 'invalid_token'
  | 'slow_down';

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  unsupported_token_type: 400,
  invalid_token: 401,
  slow_down: 429,
};

export class OAuthError extends Error {
  override name = 'OAuthError';
  readonly status: number;
  readonly headers: Record<string, string> = {};

  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
  ) {
    super(`${code}: ${description}`);
    this.status = STATUS[code];
  }

  /** The RFC 6749 section 5.2 body. error_description is ASCII printable without " and \. */
  body(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?') };
  }
}

export const invalidRequest = (d: string) => new OAuthError('invalid_request', d);
export const invalidClient = (d: string) => new OAuthError('invalid_client', d);
export const invalidGrant = (d: string) => new OAuthError('invalid_grant', d);
export const invalidScope = (d: string) => new OAuthError('invalid_scope', d);
export const unauthorizedClient = (d: string) => new OAuthError('unauthorized_client', d);
