// EHR launch contexts (table launch_context, migration 0011; SMART App Launch 2.x "EHR launch",
// the `launch` parameter): an EHR (admin API or `hearth launch create`) stores a patient,
// encounter and user and gets an opaque random value; only its SHA-256 is kept. A launch value
// is good for one hour (LAUNCH_TTL_SECONDS) and may be used more than once in that time (a
// user may reload the app); it carries no authority by itself, only context.
import type { LaunchContext } from '../contracts.js';
import { opaqueToken, sha256Hex, type Sql } from './sql.js';

export const LAUNCH_TTL_SECONDS = 3600;

export async function insertLaunch(sql: Sql, tenantId: string, context: LaunchContext, ttlSeconds = LAUNCH_TTL_SECONDS): Promise<string> {
  const launch = opaqueToken();
  await sql.query(
    `INSERT INTO launch_context (tenant_id, launch_hash, patient, encounter, user_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    [tenantId, sha256Hex(launch), context.patient ?? null, context.encounter ?? null, context.userId ?? null, ttlSeconds],
  );
  // Opportunistic clean-up of long-expired launch values.
  await sql.query(`DELETE FROM launch_context WHERE tenant_id = $1 AND expires_at < now() - interval '1 day'`, [tenantId]);
  return launch;
}

export async function findLaunch(sql: Sql, tenantId: string, launch: string): Promise<LaunchContext | undefined> {
  const { rows } = await sql.query(
    'SELECT patient, encounter, user_id FROM launch_context WHERE tenant_id = $1 AND launch_hash = $2 AND expires_at > now()',
    [tenantId, sha256Hex(launch)],
  );
  const row = rows[0];
  if (!row) return undefined;
  const context: LaunchContext = {};
  if (row.patient !== null) context.patient = row.patient;
  if (row.encounter !== null) context.encounter = row.encounter;
  if (row.user_id !== null) context.userId = row.user_id;
  return context;
}
