// Per-tenant ES384 signing keys for access and id tokens (RFC 7515 JWS, RFC 7517 JWKS, RFC 9068):
// created on first use, rotated after config.signingKeyRotationDays; the JWKS lists every key
// whose tokens may still be valid, public members only. Keys are cached in the process for a
// minute; a kid the cache does not know makes it reload (at most once a second per tenant),
// so a key another process created is found.
import { importJWK, type JWK } from 'jose';
import type { Config } from '../../core/config.js';
import type { Database } from '../../storage/pg/database.js';
import { inTenant, type Sql } from '../tokens/sql.js';
import { insertKey, lockKeys, newKeyPair, publishedKeys, retireKey, SIGNING_ALG, type StoredKey } from './key-store.js';

type Key = CryptoKey;

interface TenantKeys {
  /** The newest unrotated key, when there is one. */
  signing?: { kid: string; key: Key; rotateAt: number };
  verify: Map<string, Key>;
  jwks: JWK[];
  loadedAt: number;
}

const CACHE_MS = 60_000;
/** An unknown kid reloads the tenant's keys at most this often (a flood of made-up kids costs one query a second). */
const RELOAD_MIN_MS = 1_000;
/** Kept published beyond the access token lifetime: clock skew and the id_token's life. */
const PUBLISH_MARGIN_SECONDS = 300;

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'] as const;

/** Only the public members of a JWK, whatever the stored object holds. */
export function publicOnly(jwk: JWK): JWK {
  const out: Record<string, unknown> = {};
  for (const m of PUBLIC_MEMBERS) if (jwk[m] !== undefined) out[m] = jwk[m];
  return out as JWK;
}

export class SigningKeys {
  private readonly cache = new Map<string, TenantKeys>();

  constructor(
    private readonly database: Database,
    private readonly config: Pick<Config, 'signingKeyRotationDays' | 'accessTokenTtlSeconds'>,
  ) {}

  private get rotationMs(): number {
    return this.config.signingKeyRotationDays * 86_400_000;
  }

  /** How long a rotated key stays published. */
  get keepSeconds(): number {
    return this.config.accessTokenTtlSeconds + PUBLISH_MARGIN_SECONDS;
  }

  private async load(tenantId: string): Promise<TenantKeys> {
    const keys = await inTenant(this.database, tenantId, (sql) => publishedKeys(sql, tenantId), true);
    return this.build(keys);
  }

  private async build(keys: StoredKey[]): Promise<TenantKeys> {
    const verify = new Map<string, Key>();
    for (const k of keys) verify.set(k.kid, (await importJWK(publicOnly(k.publicJwk), SIGNING_ALG)) as Key);
    const current = keys.find((k) => !k.rotatedAt);
    const entry: TenantKeys = { verify, jwks: keys.map((k) => publicOnly(k.publicJwk)), loadedAt: Date.now() };
    if (current) {
      entry.signing = {
        kid: current.kid,
        key: (await importJWK(current.privateJwk, SIGNING_ALG)) as Key,
        rotateAt: current.createdAt.getTime() + this.rotationMs,
      };
    }
    return entry;
  }

  private async cached(tenantId: string): Promise<TenantKeys> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.loadedAt < CACHE_MS) return hit;
    const fresh = await this.load(tenantId);
    this.cache.set(tenantId, fresh);
    return fresh;
  }

  /** The key to sign with now: creates the tenant's first key, or rotates an old one. */
  async signingKey(tenantId: string): Promise<{ kid: string; key: Key }> {
    const keys = await this.cached(tenantId);
    if (keys.signing && keys.signing.rotateAt > Date.now()) return keys.signing;
    const fresh = await inTenant(this.database, tenantId, async (sql) => {
      await lockKeys(sql, tenantId);
      // Another process may have created or rotated it meanwhile: decide on what is stored.
      const stored = await publishedKeys(sql, tenantId);
      const current = stored.find((k) => !k.rotatedAt);
      if (current && current.createdAt.getTime() + this.rotationMs > Date.now()) return stored;
      return this.rotateIn(sql, tenantId, current);
    });
    const built = await this.build(fresh);
    this.cache.set(tenantId, built);
    if (!built.signing) throw new Error('no signing key after creating one');
    return built.signing;
  }

  private async rotateIn(sql: Sql, tenantId: string, current: StoredKey | undefined): Promise<StoredKey[]> {
    if (current) await retireKey(sql, tenantId, current.kid, this.keepSeconds);
    await insertKey(sql, tenantId, await newKeyPair());
    return publishedKeys(sql, tenantId);
  }

  /** Replaces the signing key now (operators, tests); the old one stays published until its tokens expire. */
  async rotate(tenantId: string): Promise<string> {
    const fresh = await inTenant(this.database, tenantId, async (sql) => {
      await lockKeys(sql, tenantId);
      const stored = await publishedKeys(sql, tenantId);
      return this.rotateIn(sql, tenantId, stored.find((k) => !k.rotatedAt));
    });
    const built = await this.build(fresh);
    this.cache.set(tenantId, built);
    return built.signing!.kid;
  }

  /** The public key `kid` of this tenant, if published; reloads once when the cache does not know it. */
  async verificationKey(tenantId: string, kid: string): Promise<Key | undefined> {
    const keys = await this.cached(tenantId);
    const key = keys.verify.get(kid);
    if (key || Date.now() - keys.loadedAt < RELOAD_MIN_MS) return key;
    const fresh = await this.load(tenantId);
    this.cache.set(tenantId, fresh);
    return fresh.verify.get(kid);
  }

  /** The tenant's JWKS (RFC 7517 section 5): public members only. Creates the first key if needed. */
  async jwks(tenantId: string): Promise<{ keys: JWK[] }> {
    await this.signingKey(tenantId);
    const keys = await this.cached(tenantId);
    return { keys: keys.jwks.map((k) => ({ ...k })) };
  }
}
