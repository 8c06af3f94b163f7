// Refresh tokens (table refresh_token, migration 0011; RFC 6749 section 6 with rotation per the
// OAuth 2.0 Security BCP section 4.14.2): only hashes are stored; each use marks the token used
// and records its replacement; a used token presented again is a replay (the caller revokes the grant).
import { opaqueToken, sha256Hex, type Sql } from './sql.js';

export interface StoredRefreshToken {
  tenantId: string;
  grantId: string;
  clientId: string;
  expiresAt: Date;
  usedAt?: Date;
}

export async function insertRefreshToken(sql: Sql, tenantId: string, grantId: string, clientId: string, expiresAt: Date): Promise<string> {
  const token = opaqueToken();
  await sql.query(
    'INSERT INTO refresh_token (tenant_id, token_hash, grant_id, client_id, expires_at) VALUES ($1, $2, $3, $4, $5)',
    [tenantId, sha256Hex(token), grantId, clientId, expiresAt],
  );
  return token;
}

function toRefresh(row: any): StoredRefreshToken {
  const t: StoredRefreshToken = { tenantId: row.tenant_id, grantId: row.grant_id, clientId: row.client_id, expiresAt: row.expires_at };
  if (row.used_at) t.usedAt = row.used_at;
  return t;
}

/** A stored refresh token, locked for this transaction (FOR UPDATE). */
export async function lockRefreshToken(sql: Sql, tenantId: string, token: string): Promise<StoredRefreshToken | undefined> {
  const { rows } = await sql.query('SELECT * FROM refresh_token WHERE tenant_id = $1 AND token_hash = $2 FOR UPDATE', [tenantId, sha256Hex(token)]);
  return rows[0] ? toRefresh(rows[0]) : undefined;
}

/** Rotation: the old token is used and names its replacement. */
export async function markRefreshUsed(sql: Sql, tenantId: string, oldToken: string, newToken: string): Promise<void> {
  await sql.query('UPDATE refresh_token SET used_at = now(), replaced_by = $3 WHERE tenant_id = $1 AND token_hash = $2', [tenantId, sha256Hex(oldToken), sha256Hex(newToken)]);
}

/** Without claiming: the stored token behind a value (introspection, revocation). */
export async function findRefreshToken(sql: Sql, tenantId: string, token: string): Promise<StoredRefreshToken | undefined> {
  const { rows } = await sql.query('SELECT * FROM refresh_token WHERE tenant_id = $1 AND token_hash = $2', [tenantId, sha256Hex(token)]);
  return rows[0] ? toRefresh(rows[0]) : undefined;
}
