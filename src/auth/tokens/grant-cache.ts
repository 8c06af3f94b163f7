// Which grants (the `gid` of access tokens) are live, cached briefly in this process so that
// verifying a token does not cost a database round trip per request (RFC 9068 section 4 leaves
// revocation checks to the resource server; RFC 7009 revocation). Positive answers are kept for
// LIVE_TTL_MS; a revocation made in this process removes the entry at once and remembers the
// grant as revoked, so it takes effect immediately here. Another process keeps accepting a
// revoked grant's tokens until its own entry ages out: at most LIVE_TTL_MS.
export const LIVE_TTL_MS = 5_000;
const MAX_ENTRIES = 100_000;

const key = (tenantId: string, grantId: string) => `${tenantId}\u0000${grantId}`;

export class GrantCache {
  private readonly live = new Map<string, { until: number; clientId: string }>();
  private readonly revoked = new Set<string>();

  constructor(private readonly ttlMs = LIVE_TTL_MS) {}

  /** true: known live; false: known revoked; undefined: ask the database. */
  lookup(tenantId: string, grantId: string): boolean | undefined {
    const k = key(tenantId, grantId);
    if (this.revoked.has(k)) return false;
    const hit = this.live.get(k);
    if (!hit) return undefined;
    if (hit.until > Date.now()) return true;
    this.live.delete(k);
    return undefined;
  }

  rememberLive(tenantId: string, grantId: string, clientId: string): void {
    if (this.ttlMs <= 0) return;
    if (this.live.size >= MAX_ENTRIES) this.live.clear();
    this.live.set(key(tenantId, grantId), { until: Date.now() + this.ttlMs, clientId });
  }

  /** A grant revoked (or found revoked): never live again. */
  rememberRevoked(tenantId: string, grantId: string): void {
    const k = key(tenantId, grantId);
    this.live.delete(k);
    if (this.revoked.size >= MAX_ENTRIES) this.revoked.clear();
    this.revoked.add(k);
  }

  /** A client removed: every grant of it this process cached as live is forgotten. */
  forgetClient(tenantId: string, clientId: string): void {
    const prefix = `${tenantId}\u0000`;
    for (const [k, v] of this.live) if (k.startsWith(prefix) && v.clientId === clientId) this.live.delete(k);
  }
}

/** The process-wide cache: every verifier and every revocation in this process share it. */
export const grantCache = new GrantCache();
