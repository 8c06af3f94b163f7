// Verified access tokens, remembered until they expire (issue 10, benchmark "read throughput
// with auth at >= 90% of open"): an ES384 signature check costs about 1 ms of CPU on this kind
// of machine, more than a whole read, and a client sends the same token with every request.
// Only the signature and claim checks are remembered; whether the token's grant is still live
// (revocation) is asked on every request (the grant cache in tokens/grant-cache.ts answers it
// without a round trip most of the time).
import type { AccessTokenClaims } from './contracts.js';

const MAX_ENTRIES = 20_000;

export class VerifiedTokens {
  private readonly entries = new Map<string, { claims: AccessTokenClaims; expected: string }>();

  constructor(private readonly now: () => number = () => Date.now() / 1000) {}

  /**
   * The claims of `token` if it was verified for exactly this tenant and audience and has not
   * expired since; a token verified for one base is never taken for another.
   */
  get(token: string, expected: { tenantId: string; audience: string }): AccessTokenClaims | undefined {
    const hit = this.entries.get(token);
    if (!hit) return undefined;
    if (hit.claims.exp <= this.now()) {
      this.entries.delete(token);
      return undefined;
    }
    return hit.expected === expectedKey(expected) ? hit.claims : undefined;
  }

  remember(token: string, expected: { tenantId: string; audience: string }, claims: AccessTokenClaims): void {
    if (this.entries.size >= MAX_ENTRIES) {
      // Drop the oldest tenth (Map keeps insertion order): bounded memory under token churn.
      let drop = MAX_ENTRIES / 10;
      for (const key of this.entries.keys()) {
        this.entries.delete(key);
        if (--drop === 0) break;
      }
    }
    this.entries.set(token, { claims, expected: expectedKey(expected) });
  }
}

const expectedKey = (expected: { tenantId: string; audience: string }) => `${expected.tenantId}\u0000${expected.audience}`;
