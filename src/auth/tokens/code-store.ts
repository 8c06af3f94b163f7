// Authorization codes (table authorization_code, migration 0011; RFC 6749 section 4.1.2 and
// 10.5, RFC 7636): only the SHA-256 of a code is stored; a code is valid for about a minute and
// once. Redemption locks the row, so of two concurrent redemptions the second sees the first's
// mark and the grant it produced (to revoke it).
import type { AuthorizationGrant } from '../contracts.js';
import { opaqueToken, sha256Hex, type Sql } from './sql.js';

export const CODE_TTL_SECONDS = 60;

export interface StoredCode extends AuthorizationGrant {
  expiresAt: Date;
  usedAt?: Date;
  grantId?: string;
}

/** Stores the grant behind a new code; returns the code (never stored). */
export async function insertCode(sql: Sql, grant: AuthorizationGrant, ttlSeconds = CODE_TTL_SECONDS): Promise<string> {
  const code = opaqueToken();
  await sql.query(
    `INSERT INTO authorization_code (tenant_id, code_hash, client_id, redirect_uri, code_challenge, scope, user_id, fhir_user, patient, encounter, nonce, auth_time, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now() + make_interval(secs => $13))`,
    [
      grant.tenantId, sha256Hex(code), grant.clientId, grant.redirectUri, grant.codeChallenge, grant.scope, grant.userId,
      grant.fhirUser ?? null, grant.patient ?? null, grant.encounter ?? null, grant.nonce ?? null, grant.authTime, ttlSeconds,
    ],
  );
  return code;
}

/** A stored code, locked for this transaction (FOR UPDATE): concurrent redemptions queue behind it. */
export async function lockCode(sql: Sql, tenantId: string, code: string): Promise<StoredCode | undefined> {
  const { rows } = await sql.query('SELECT * FROM authorization_code WHERE tenant_id = $1 AND code_hash = $2 FOR UPDATE', [tenantId, sha256Hex(code)]);
  return rows[0] ? toCode(rows[0]) : undefined;
}

/** Marks a code used, recording the grant it produced (if any). */
export async function markCodeUsed(sql: Sql, tenantId: string, code: string, grantId?: string): Promise<void> {
  await sql.query('UPDATE authorization_code SET used_at = now(), grant_id = coalesce($3, grant_id) WHERE tenant_id = $1 AND code_hash = $2', [tenantId, sha256Hex(code), grantId ?? null]);
}

function toCode(row: any): StoredCode {
  const code: StoredCode = {
    tenantId: row.tenant_id,
    clientId: row.client_id,
    redirectUri: row.redirect_uri,
    codeChallenge: row.code_challenge,
    scope: row.scope,
    userId: row.user_id,
    authTime: Number(row.auth_time),
    expiresAt: row.expires_at,
  };
  for (const [key, column] of [['fhirUser', 'fhir_user'], ['patient', 'patient'], ['encounter', 'encounter'], ['nonce', 'nonce'], ['grantId', 'grant_id']] as const) {
    if (row[column] !== null && row[column] !== undefined) code[key] = row[column];
  }
  if (row.used_at) code.usedAt = row.used_at;
  return code;
}

/** Forgets codes expired for a while (kept a day so a late replay still revokes what it issued). */
export async function purgeOldCodes(sql: Sql, tenantId: string): Promise<void> {
  await sql.query(`DELETE FROM authorization_code WHERE tenant_id = $1 AND expires_at < now() - interval '1 day'`, [tenantId]);
}
