// One database transaction as the app role with the tenant set for row-level security.
// SET LOCAL / set_config(..., true) keep both settings inside the transaction, so the
// connection is safe to share through PgBouncer in transaction mode.
import type pg from 'pg';
import { WriteConflict } from '../resource-store.js';

// Constant text (no user data), sent with the simple protocol in one round trip.
// JIT off: request statements are short, and plans whose jsonb estimates are far off would
// otherwise pay JIT compilation (hundreds of ms) for nothing.
const BEGIN_READ_WRITE = 'BEGIN; SET LOCAL ROLE hearth_app; SET LOCAL jit = off';
const BEGIN_READ_ONLY = 'BEGIN READ ONLY; SET LOCAL ROLE hearth_app; SET LOCAL jit = off';
const SET_TENANT = { name: 'hearth_set_tenant', text: "SELECT set_config('app.tenant_id', $1, true)" };

/** SQLSTATEs that mean "a concurrent transaction won; run the unit again". */
const RETRYABLE = new Set(['40001', '40P01', '23505']);

export async function inTenantTransaction<T>(
  pool: pg.Pool,
  tenantId: string,
  work: (client: pg.PoolClient) => Promise<T>,
  readOnly = false,
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(readOnly ? BEGIN_READ_ONLY : BEGIN_READ_WRITE);
    await client.query({ ...SET_TENANT, values: [tenantId] });
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    const code = (error as { code?: string }).code;
    if (code && RETRYABLE.has(code)) throw new WriteConflict((error as Error).message);
    throw error;
  } finally {
    client.release(broken);
  }
}
