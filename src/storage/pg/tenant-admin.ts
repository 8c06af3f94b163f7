// Tenant administration for operators (the `hearth tenant` CLI). Runs as the connecting
// (owner) role, not the app role: creating partitions is DDL.
import type pg from 'pg';
import type { TenantInfo } from '../resource-store.js';
import { toTenantInfo } from './pg-repository.js';

export interface NewTenant {
  id: string;
  name: string;
  dedicatedPartition: boolean;
}

export async function createTenant(pool: pg.Pool, tenant: NewTenant): Promise<TenantInfo> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query(
      'INSERT INTO tenant (id, name, dedicated_partition) VALUES ($1, $2, $3) RETURNING id, name, dedicated_partition, created_at',
      [tenant.id, tenant.name, tenant.dedicatedPartition],
    );
    if (tenant.dedicatedPartition) await client.query('SELECT hearth_create_tenant_partitions($1)', [tenant.id]);
    await client.query('COMMIT');
    return toTenantInfo(rows[0]);
  } catch (error) {
    await client.query('ROLLBACK');
    if ((error as { code?: string }).code === '23505') throw new Error(`Tenant '${tenant.id}' already exists`);
    throw error;
  } finally {
    client.release();
  }
}

export async function listTenants(pool: pg.Pool): Promise<TenantInfo[]> {
  const { rows } = await pool.query('SELECT id, name, dedicated_partition, created_at FROM tenant ORDER BY id');
  return rows.map(toTenantInfo);
}
