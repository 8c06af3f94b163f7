// Client assertion replay store (table client_assertion_jti, migration 0011; RFC 7523 section
// 3 item 7, SMART Backend Services "jti ... never reused"): a jti is recorded until its
// assertion expires; recording it twice fails. Expired rows are purged as new ones arrive.
import type { Sql } from './sql.js';

/** Records the jti; false when it was seen before (a replay). */
export async function recordJti(sql: Sql, tenantId: string, clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
  await sql.query('DELETE FROM client_assertion_jti WHERE tenant_id = $1 AND expires_at < now()', [tenantId]);
  const { rowCount } = await sql.query(
    `INSERT INTO client_assertion_jti (tenant_id, client_id, jti, expires_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id, client_id, jti) DO NOTHING`,
    [tenantId, clientId, jti, expiresAt],
  );
  return (rowCount ?? 0) > 0;
}
