// What the token side's pieces share in one process for one database: configuration, signing
// keys and the live-grant cache. One runtime per Database object; the free function
// verifyAccessToken (access-token.ts) uses the runtime made last, which in a server is the only one.
import type { Config } from '../../core/config.js';
import type { Database } from '../../storage/pg/database.js';
import { SigningKeys } from '../keys/signing-keys.js';
import { grantCache, type GrantCache } from './grant-cache.js';
import { VerifiedTokens } from '../verified-tokens.js';
import { liveGrantClient } from './grant-store.js';
import { inTenant } from './sql.js';

export interface TokenRuntime {
  database: Database;
  config: Config;
  keys: SigningKeys;
  grants: GrantCache;
  /** Access tokens whose signature and claims were verified, until they expire (verified-tokens.ts). */
  verified: VerifiedTokens;
  /** Live (unrevoked, unexpired) grant? Cached per grant-cache.ts. */
  grantLive(tenantId: string, grantId: string): Promise<boolean>;
  /** Marks a grant revoked in this process's cache (after the database says so). */
  grantRevoked(tenantId: string, grantId: string): void;
}

const runtimes = new WeakMap<Database, TokenRuntime>();
let latest: TokenRuntime | undefined;

export function tokenRuntime(database: Database, config: Config): TokenRuntime {
  let runtime = runtimes.get(database);
  if (!runtime) {
    const grants = grantCache;
    runtime = {
      database,
      config,
      keys: new SigningKeys(database, config),
      grants,
      verified: new VerifiedTokens(),
      async grantLive(tenantId, grantId) {
        const known = grants.lookup(tenantId, grantId);
        if (known !== undefined) return known;
        const clientId = await inTenant(database, tenantId, (sql) => liveGrantClient(sql, tenantId, grantId), true);
        // Only liveness is cached; an expired or unknown grant is asked again.
        if (clientId === undefined) return false;
        grants.rememberLive(tenantId, grantId, clientId);
        return true;
      },
      grantRevoked(tenantId, grantId) {
        grants.rememberRevoked(tenantId, grantId);
      },
    };
    runtimes.set(database, runtime);
  }
  latest = runtime;
  return runtime;
}

/** The runtime made last in this process, if any. */
export function latestRuntime(): TokenRuntime | undefined {
  return latest;
}
