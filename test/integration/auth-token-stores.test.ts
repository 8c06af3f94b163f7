// The token side's tables (migration 0011) on real PostgreSQL: row-level security hides one
// tenant's clients, keys, grants, codes, refresh tokens, launch contexts and assertion jtis from
// another and refuses writes across tenants; secrets are stored only as SHA-256 hashes; signing
// keys are created on first use and rotated after HEARTH_SIGNING_KEY_ROTATION_DAYS; expired jtis
// are purged.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { addClient } from '../../src/auth/clients/client-store.js';
import { publishedKeys } from '../../src/auth/keys/key-store.js';
import { SigningKeys } from '../../src/auth/keys/signing-keys.js';
import { insertCode, purgeOldCodes } from '../../src/auth/tokens/code-store.js';
import { insertGrant, purgeEndedGrants } from '../../src/auth/tokens/grant-store.js';
import { recordJti } from '../../src/auth/tokens/jti-store.js';
import { insertLaunch } from '../../src/auth/tokens/launch-store.js';
import { insertRefreshToken } from '../../src/auth/tokens/refresh-store.js';
import { inTenant } from '../../src/auth/tokens/sql.js';
import type { Database } from '../../src/storage/pg/database.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

const TABLES = ['oauth_client', 'signing_key', 'oauth_grant', 'authorization_code', 'refresh_token', 'launch_context', 'client_assertion_jti'];
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const KEY_CONFIG = { signingKeyRotationDays: 30, accessTokenTtlSeconds: 3600 };

describe('token side stores (integration)', function () {
  let database: Database;

  before(async function () {
    await requireServices(this);
    database = { pool: await testPool(), mode: 'postgres', close: async () => undefined };
  });

  /** One row in every table for `tenant`; returns the secrets handed out. */
  async function fill(tenant: string) {
    await new SigningKeys(database, KEY_CONFIG).signingKey(tenant);
    return inTenant(database, tenant, async (sql) => {
      await addClient(sql, tenant, { clientId: 'app', name: 'App', kind: 'public', redirectUris: ['https://a.example/cb'] });
      const grant = await insertGrant(sql, { tenantId: tenant, clientId: 'app', grantType: 'authorization_code', subject: 'u', userId: 'u', scope: 'openid', expiresAt: new Date(Date.now() + 60_000) });
      const code = await insertCode(sql, { tenantId: tenant, clientId: 'app', redirectUri: 'https://a.example/cb', codeChallenge: 'x'.repeat(43), scope: 'openid', userId: 'u', authTime: 1 });
      const refresh = await insertRefreshToken(sql, tenant, grant.grantId, 'app', new Date(Date.now() + 60_000));
      const launch = await insertLaunch(sql, tenant, { patient: 'p1' });
      await recordJti(sql, tenant, 'app', 'jti-1', new Date(Date.now() + 60_000));
      return { code, refresh, launch };
    });
  }

  it('a tenant sees none of another tenant\'s rows, in any token-side table', async () => {
    const a = await newTenant(database.pool);
    const b = await newTenant(database.pool);
    await fill(a);
    const counts = await inTenant(database, b, async (sql) => {
      const out: Record<string, number> = {};
      for (const table of TABLES) out[table] = Number((await sql.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);
      return out;
    }, true);
    assert.deepEqual(counts, Object.fromEntries(TABLES.map((t) => [t, 0])));
    const own = await inTenant(database, a, async (sql) => {
      const out: Record<string, number> = {};
      for (const table of TABLES) out[table] = Number((await sql.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);
      return out;
    }, true);
    assert.deepEqual(own, Object.fromEntries(TABLES.map((t) => [t, 1])));
  });

  it('refuses to write a row for another tenant', async () => {
    const a = await newTenant(database.pool);
    const b = await newTenant(database.pool);
    await assert.rejects(
      inTenant(database, b, (sql) => sql.query(`INSERT INTO oauth_client (tenant_id, client_id, name, kind) VALUES ($1, 'x', 'x', 'public')`, [a])),
      /row-level security/,
    );
    await assert.rejects(
      inTenant(database, b, (sql) => sql.query(`INSERT INTO launch_context (tenant_id, launch_hash, expires_at) VALUES ($1, 'h', now())`, [a])),
      /row-level security/,
    );
  });

  it('stores codes, refresh tokens and launch values only as SHA-256 hashes', async () => {
    const tenant = await newTenant(database.pool);
    const { code, refresh, launch } = await fill(tenant);
    const { rows } = await database.pool.query(
      `SELECT (SELECT code_hash FROM authorization_code WHERE tenant_id = $1) AS code,
              (SELECT token_hash FROM refresh_token WHERE tenant_id = $1) AS refresh,
              (SELECT launch_hash FROM launch_context WHERE tenant_id = $1) AS launch`,
      [tenant],
    );
    assert.deepEqual(rows[0], { code: sha(code), refresh: sha(refresh), launch: sha(launch) });
    const dump = JSON.stringify((await database.pool.query(`SELECT * FROM authorization_code, refresh_token, launch_context WHERE authorization_code.tenant_id = $1 AND refresh_token.tenant_id = $1 AND launch_context.tenant_id = $1`, [tenant])).rows);
    for (const secret of [code, refresh, launch]) assert.ok(!dump.includes(secret));
  });

  it('creates a tenant\'s signing key on first use and rotates it once it is older than the rotation period', async () => {
    const tenant = await newTenant(database.pool);
    const first = await new SigningKeys(database, KEY_CONFIG).signingKey(tenant);
    assert.equal((await new SigningKeys(database, KEY_CONFIG).signingKey(tenant)).kid, first.kid, 'reused while young');
    await database.pool.query(`UPDATE signing_key SET created_at = now() - interval '31 days' WHERE tenant_id = $1`, [tenant]);
    const second = await new SigningKeys(database, KEY_CONFIG).signingKey(tenant);
    assert.notEqual(second.kid, first.kid);
    const keys = await inTenant(database, tenant, (sql) => publishedKeys(sql, tenant), true);
    assert.deepEqual(keys.map((k) => k.kid).sort(), [first.kid, second.kid].sort());
    const old = keys.find((k) => k.kid === first.kid)!;
    assert.ok(old.rotatedAt);
    const keptMs = old.publishUntil!.getTime() - old.rotatedAt!.getTime();
    assert.equal(Math.round(keptMs / 1000), KEY_CONFIG.accessTokenTtlSeconds + 300, 'published for a token lifetime plus a margin');
    // Once its tokens have all expired, the old key leaves the JWKS.
    await database.pool.query(`UPDATE signing_key SET publish_until = now() - interval '1 second' WHERE tenant_id = $1 AND kid = $2`, [tenant, first.kid]);
    const jwks = await new SigningKeys(database, KEY_CONFIG).jwks(tenant);
    assert.deepEqual(jwks.keys.map((k) => k.kid), [second.kid]);
    assert.ok(jwks.keys.every((k) => k.d === undefined));
  });

  it('records a jti once and purges expired ones', async () => {
    const tenant = await newTenant(database.pool);
    await inTenant(database, tenant, async (sql) => {
      assert.equal(await recordJti(sql, tenant, 'c', 'j1', new Date(Date.now() + 60_000)), true);
      assert.equal(await recordJti(sql, tenant, 'c', 'j1', new Date(Date.now() + 60_000)), false);
      assert.equal(await recordJti(sql, tenant, 'other-client', 'j1', new Date(Date.now() + 60_000)), true, 'jtis are per client');
      await sql.query(`INSERT INTO client_assertion_jti (tenant_id, client_id, jti, expires_at) VALUES ($1, 'c', 'old', now() - interval '1 minute')`, [tenant]);
      await recordJti(sql, tenant, 'c', 'j2', new Date(Date.now() + 60_000));
      const { rows } = await sql.query(`SELECT jti FROM client_assertion_jti WHERE tenant_id = $1 AND client_id = 'c' ORDER BY jti`, [tenant]);
      assert.deepEqual(rows.map((r) => r.jti), ['j1', 'j2']);
    });
  });

  it('purges grants (with their refresh tokens) and codes that ended more than a day ago, and nothing younger', async () => {
    const tenant = await newTenant(database.pool);
    await inTenant(database, tenant, async (sql) => {
      const make = (hoursAgo: number) =>
        insertGrant(sql, { tenantId: tenant, clientId: 'c', grantType: 'client_credentials', subject: 'c', scope: 's', expiresAt: new Date(Date.now() - hoursAgo * 3_600_000) });
      const old = await make(48);
      const recent = await make(1);
      await insertRefreshToken(sql, tenant, old.grantId, 'c', old.expiresAt);
      await purgeEndedGrants(sql, tenant);
      const { rows } = await sql.query('SELECT grant_id FROM oauth_grant WHERE tenant_id = $1', [tenant]);
      assert.deepEqual(rows.map((r) => r.grant_id), [recent.grantId]);
      assert.equal((await sql.query('SELECT count(*)::int AS n FROM refresh_token WHERE tenant_id = $1', [tenant])).rows[0].n, 0);
      await insertCode(sql, { tenantId: tenant, clientId: 'c', redirectUri: 'https://a.example/cb', codeChallenge: 'x'.repeat(43), scope: 's', userId: 'u', authTime: 1 }, -2 * 86_400);
      await insertCode(sql, { tenantId: tenant, clientId: 'c', redirectUri: 'https://a.example/cb', codeChallenge: 'x'.repeat(43), scope: 's', userId: 'u', authTime: 1 }, -60);
      await purgeOldCodes(sql, tenant);
      assert.equal((await sql.query('SELECT count(*)::int AS n FROM authorization_code WHERE tenant_id = $1', [tenant])).rows[0].n, 1, 'an expired code is kept a day: a late replay still revokes');
    });
  });
});
