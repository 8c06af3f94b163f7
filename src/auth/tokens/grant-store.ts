// Grants (table oauth_grant, migration 0011): one per completed authorization or
// client_credentials issuance. Its id is the `gid` claim of every token it produced, so revoking
// it (RFC 7009; a replayed code or refresh token, RFC 6749 section 10.5 / Security BCP 4.14)
// revokes them all.
import { randomUUID } from 'node:crypto';
import type { Sql } from './sql.js';

export interface Grant {
  tenantId: string;
  grantId: string;
  clientId: string;
  grantType: 'authorization_code' | 'client_credentials';
  /** User id (authorization code) or client id (client_credentials): the tokens' `sub`. */
  subject: string;
  userId?: string;
  scope: string;
  patient?: string;
  encounter?: string;
  fhirUser?: string;
  nonce?: string;
  authTime?: number;
  expiresAt: Date;
  revokedAt?: Date;
}

export type NewGrant = Omit<Grant, 'grantId' | 'revokedAt'>;

const COLUMNS = 'tenant_id, grant_id, client_id, grant_type, subject, user_id, scope, patient, encounter, fhir_user, nonce, auth_time, expires_at, revoked_at';

function toGrant(row: any): Grant {
  const grant: Grant = {
    tenantId: row.tenant_id,
    grantId: row.grant_id,
    clientId: row.client_id,
    grantType: row.grant_type,
    subject: row.subject,
    scope: row.scope,
    expiresAt: row.expires_at,
  };
  for (const [key, column] of [['userId', 'user_id'], ['patient', 'patient'], ['encounter', 'encounter'], ['fhirUser', 'fhir_user'], ['nonce', 'nonce']] as const) {
    if (row[column] !== null && row[column] !== undefined) grant[key] = row[column];
  }
  if (row.auth_time !== null && row.auth_time !== undefined) grant.authTime = Number(row.auth_time);
  if (row.revoked_at) grant.revokedAt = row.revoked_at;
  return grant;
}

export async function insertGrant(sql: Sql, grant: NewGrant): Promise<Grant> {
  const { rows } = await sql.query(
    `INSERT INTO oauth_grant (tenant_id, grant_id, client_id, grant_type, subject, user_id, scope, patient, encounter, fhir_user, nonce, auth_time, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${COLUMNS}`,
    [
      grant.tenantId, randomUUID(), grant.clientId, grant.grantType, grant.subject, grant.userId ?? null, grant.scope,
      grant.patient ?? null, grant.encounter ?? null, grant.fhirUser ?? null, grant.nonce ?? null, grant.authTime ?? null, grant.expiresAt,
    ],
  );
  return toGrant(rows[0]);
}

export async function findGrant(sql: Sql, tenantId: string, grantId: string): Promise<Grant | undefined> {
  const { rows } = await sql.query(`SELECT ${COLUMNS} FROM oauth_grant WHERE tenant_id = $1 AND grant_id = $2`, [tenantId, grantId]);
  return rows[0] ? toGrant(rows[0]) : undefined;
}

/** The client of the grant when it exists, is unrevoked and unexpired; otherwise undefined. */
export async function liveGrantClient(sql: Sql, tenantId: string, grantId: string): Promise<string | undefined> {
  const { rows } = await sql.query(
    'SELECT client_id FROM oauth_grant WHERE tenant_id = $1 AND grant_id = $2 AND revoked_at IS NULL AND expires_at > now()',
    [tenantId, grantId],
  );
  return rows[0]?.client_id;
}

/** Revokes a grant (idempotent); true when it was live. */
export async function revokeGrant(sql: Sql, tenantId: string, grantId: string): Promise<boolean> {
  const { rowCount } = await sql.query('UPDATE oauth_grant SET revoked_at = now() WHERE tenant_id = $1 AND grant_id = $2 AND revoked_at IS NULL', [tenantId, grantId]);
  return (rowCount ?? 0) > 0;
}

/** Moves a grant's expiry later (a refresh extends what the new refresh token covers). */
export async function extendGrant(sql: Sql, tenantId: string, grantId: string, expiresAt: Date): Promise<void> {
  await sql.query('UPDATE oauth_grant SET expires_at = greatest(expires_at, $3) WHERE tenant_id = $1 AND grant_id = $2', [tenantId, grantId, expiresAt]);
}

/**
 * Forgets grants (and, by cascade, their refresh tokens) that ended more than a day ago. Called
 * now and then by issuance: every client_credentials token is a grant of its own.
 */
export async function purgeEndedGrants(sql: Sql, tenantId: string): Promise<void> {
  await sql.query(`DELETE FROM oauth_grant WHERE tenant_id = $1 AND expires_at < now() - interval '1 day'`, [tenantId]);
}
