// Where a client's public keys come from (SMART App Launch 2.x client-confidential-asymmetric,
// SMART Backend Services "jku" / registered JWKS URL; RFC 7517): the JWKS stored with the client,
// or a JWKS URL that must be on HEARTH_JKU_ALLOWLIST (exact match). Remote sets are fetched with
// a timeout and cached by jose (createRemoteJWKSet) one per URL; nothing else is ever fetched.
import { createLocalJWKSet, createRemoteJWKSet, type JWK } from 'jose';

export type KeyResolver = ReturnType<typeof createLocalJWKSet>;

const FETCH_TIMEOUT_MS = 5_000;
/** How long a fetched set is used before it is fetched again. */
const CACHE_MAX_AGE_MS = 5 * 60_000;
/** At most one fetch per URL in this period (an unknown kid triggers a fetch). */
const COOLDOWN_MS = 30_000;

const remote = new Map<string, KeyResolver>();

export function onAllowlist(url: string, allowlist: readonly string[]): boolean {
  return allowlist.includes(url);
}

/** The key resolver of a URL already checked against the allow-list. */
export function remoteKeys(url: string): KeyResolver {
  let resolver = remote.get(url);
  if (!resolver) {
    resolver = createRemoteJWKSet(new URL(url), { timeoutDuration: FETCH_TIMEOUT_MS, cacheMaxAge: CACHE_MAX_AGE_MS, cooldownDuration: COOLDOWN_MS }) as KeyResolver;
    remote.set(url, resolver);
  }
  return resolver;
}

export function localKeys(jwks: { keys: Record<string, unknown>[] }): KeyResolver {
  return createLocalJWKSet({ keys: jwks.keys as JWK[] });
}
