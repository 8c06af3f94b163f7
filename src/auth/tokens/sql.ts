// The token side's door to PostgreSQL: one tenant transaction as the app role (row-level
// security, src/storage/pg/tenant-session.ts), seen through a minimal query interface so the
// stores under src/auth never name the pg driver. Also the SHA-256 hashing of secrets that
// are stored only as hashes (codes, refresh tokens, launch values).
import { createHash, randomBytes } from 'node:crypto';
import type { Database } from '../../storage/pg/database.js';
import { inTenantTransaction } from '../../storage/pg/tenant-session.js';

/** What the stores need of a connection inside a transaction. */
export interface Sql {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}

/** Runs `work` in one transaction scoped to `tenantId` (never nest: the embedded pool has one connection). */
export function inTenant<T>(database: Database, tenantId: string, work: (sql: Sql) => Promise<T>, readOnly = false): Promise<T> {
  return inTenantTransaction(database.pool, tenantId, (client) => work(client as unknown as Sql), { readOnly });
}

/** Hex SHA-256 of a secret handed to a client: what the database keeps instead of the secret. */
export const sha256Hex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/** An unguessable opaque token (256 bits, base64url). */
export const opaqueToken = (): string => randomBytes(32).toString('base64url');

/** Seconds since the epoch. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
