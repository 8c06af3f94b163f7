// Which scopes a client may be given (SMART App Launch 2.x scopes-and-launch-context.html; SMART
// Backend Services "system/" scopes; RFC 6749 section 3.3 scope strings). A requested resource
// scope is covered by an allowed one of the same context whose type is the same or `*`, whose
// permissions include the requested ones, and whose granular constraint (if any) is the same.
// Other scopes (openid, fhirUser, launch, offline_access...) are covered only when listed. Pure.
import { parseResourceScope } from '../../core/smart-scopes.js';

/** Splits an RFC 6749 scope string into its distinct tokens, in order. */
export function splitScope(scope: string | undefined | null): string[] {
  return [...new Set((scope ?? '').split(' ').filter((s) => s.length > 0))];
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** RFC 6749 section 3.3: scope tokens are printable ASCII without space, " and \. */
export function wellFormedScope(scope: string): boolean {
  return scope.split(' ').every((s) => s === '' || SCOPE_TOKEN.test(s));
}

function constraintKey(params: URLSearchParams | undefined): string {
  if (!params) return '';
  return [...params.entries()].map(([k, v]) => `${k}=${v}`).sort().join('&');
}

/** Does one allowed scope cover one requested scope? */
export function scopeCovers(allowed: string, requested: string): boolean {
  if (allowed === requested) return true;
  const want = parseResourceScope(requested);
  const have = parseResourceScope(allowed);
  if (!want || !have) return false;
  if (want.context !== have.context) return false;
  if (have.resourceType !== '*' && have.resourceType !== want.resourceType) return false;
  for (const p of want.permissions) if (!have.permissions.has(p)) return false;
  return have.constraints === undefined || constraintKey(have.constraints) === constraintKey(want.constraints);
}

/** The requested scopes that no allowed scope covers. */
export function uncoveredScopes(allowed: string, requested: string): string[] {
  const allowedList = splitScope(allowed);
  return splitScope(requested).filter((r) => !allowedList.some((a) => scopeCovers(a, r)));
}

/** True when the scope is a well-formed system-context resource scope (SMART Backend Services). */
export function isSystemScope(scope: string): boolean {
  return parseResourceScope(scope)?.context === 'system';
}
