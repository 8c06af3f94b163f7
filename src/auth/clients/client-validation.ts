// Checks a client registration before it is stored (SMART App Launch 2.x client registration;
// RFC 6749 section 3.1.2 redirection endpoints; RFC 7517 JWK sets; RFC 8252 section 7.3
// loopback redirects). Pure.
import type { ClientKind } from '../contracts.js';

export class ClientRegistrationError extends Error {
  override name = 'ClientRegistrationError';
}

export const CLIENT_KINDS: readonly ClientKind[] = ['public', 'confidential-asymmetric', 'backend-service'];

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An absolute https URL, or http on a loopback host; no fragment (RFC 6749 section 3.1.2). */
export function checkRedirectUri(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ClientRegistrationError(`redirect URI ${JSON.stringify(uri)} is not an absolute URL`);
  }
  if (url.hash !== '' || uri.includes('#')) throw new ClientRegistrationError(`redirect URI ${uri} must not have a fragment`);
  if (url.username !== '' || url.password !== '') throw new ClientRegistrationError(`redirect URI ${uri} must not carry credentials`);
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return;
  throw new ClientRegistrationError(`redirect URI ${uri} must use https (http only for a loopback host)`);
}

const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['n', 'e'],
  EC: ['crv', 'x', 'y'],
};
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** A JWK set of public RSA or EC keys, each with a kid; private or symmetric keys are refused. */
export function checkJwks(jwks: unknown): { keys: Record<string, unknown>[] } {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
    throw new ClientRegistrationError('the JWKS must be an object with a "keys" array');
  }
  const keys = (jwks as { keys: unknown[] }).keys;
  if (keys.length === 0) throw new ClientRegistrationError('the JWKS has no keys');
  for (const [i, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new ClientRegistrationError(`JWKS key ${i} is not an object`);
    const jwk = key as Record<string, unknown>;
    const members = PUBLIC_MEMBERS[String(jwk.kty)];
    if (!members) throw new ClientRegistrationError(`JWKS key ${i}: kty must be RSA or EC`);
    for (const m of members) if (typeof jwk[m] !== 'string') throw new ClientRegistrationError(`JWKS key ${i}: "${m}" is missing`);
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw new ClientRegistrationError(`JWKS key ${i} holds private key material`);
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new ClientRegistrationError(`JWKS key ${i}: "kid" is required`);
  }
  return { keys: keys as Record<string, unknown>[] };
}

/** A JWKS URL: absolute https (http for loopback only, for tests and local tools). */
export function checkJwksUri(uri: string): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ClientRegistrationError(`JWKS URI ${JSON.stringify(uri)} is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new ClientRegistrationError(`JWKS URI ${uri} must use https`);
  }
}

export interface NewClientInput {
  clientId?: string;
  name: string;
  kind: ClientKind;
  redirectUris?: readonly string[];
  scope?: string;
  jwks?: unknown;
  jwksUri?: string;
  admin?: boolean;
}

const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;

/** Validates a registration as a whole: what each kind of client needs and may not have. */
export function checkRegistration(input: NewClientInput): void {
  if (!CLIENT_KINDS.includes(input.kind)) throw new ClientRegistrationError(`kind must be one of ${CLIENT_KINDS.join(', ')}`);
  if (typeof input.name !== 'string' || input.name.trim() === '') throw new ClientRegistrationError('a client needs a name');
  if (input.clientId !== undefined && !CLIENT_ID.test(input.clientId)) {
    throw new ClientRegistrationError('client_id may hold letters, digits and . _ ~ - (at most 128)');
  }
  const redirects = input.redirectUris ?? [];
  for (const uri of redirects) checkRedirectUri(uri);
  if (input.kind === 'backend-service' && redirects.length > 0) throw new ClientRegistrationError('a backend service has no redirect URIs');
  if (input.kind !== 'backend-service' && redirects.length === 0) throw new ClientRegistrationError(`a ${input.kind} client needs at least one redirect URI`);
  if (input.jwks !== undefined && input.jwksUri !== undefined) throw new ClientRegistrationError('give either a JWKS or a JWKS URI, not both');
  if (input.kind === 'public') {
    if (input.jwks !== undefined || input.jwksUri !== undefined) throw new ClientRegistrationError('a public client has no keys');
    return;
  }
  if (input.jwks === undefined && input.jwksUri === undefined) throw new ClientRegistrationError(`a ${input.kind} client needs a JWKS or a JWKS URI`);
  if (input.jwks !== undefined) checkJwks(input.jwks);
  if (input.jwksUri !== undefined) checkJwksUri(input.jwksUri);
}
