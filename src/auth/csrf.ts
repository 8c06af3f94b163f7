// Cross-site request forgery protection for the SMART login, second-factor, patient-picker and
// consent forms (OWASP "synchronizer token" pattern): each authorization session stores a random
// token (authorization_session.csrf_token), every form of that session carries it in a hidden
// field, and a POST is served only when the field equals the session's current token. The token
// is replaced at every step, so a token from an earlier page, from another session or from an
// expired or finished session is refused; the caller answers 403 and changes nothing.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The name of the hidden form field. */
export const CSRF_FIELD = 'csrf_token';

/** A fresh 256-bit token (base64url). */
export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of the session's token with what the form sent (any type, any length). */
export function csrfTokenMatches(expected: string | undefined, presented: unknown): boolean {
  if (typeof expected !== 'string' || expected.length === 0 || typeof presented !== 'string' || presented.length === 0) return false;
  // Hashing first gives equal lengths, so timingSafeEqual never throws and length leaks nothing.
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}
