// PKCE (RFC 7636): the verifier's grammar (section 4.1) and the S256 check (section 4.6). Only
// S256 exists here: a verifier equal to the challenge (`plain`) never matches. Pure.
import { createHash, timingSafeEqual } from 'node:crypto';

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** True when `verifier` is well formed and BASE64URL(SHA256(verifier)) equals `challenge`. */
export function verifierMatches(verifier: string | null, challenge: string): boolean {
  if (verifier === null || !VERIFIER.test(verifier)) return false;
  const computed = Buffer.from(s256(verifier));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
