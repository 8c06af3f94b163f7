// Opens the database for either run mode: DATABASE_URL (PostgreSQL 15+) or the embedded
// PGlite default. Owns the pg pool; everything above storage/ sees only the repository.
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../../core/config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';

// Return bigint counts as numbers and timestamps as Date (default); keep int8 exact when small.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface Database {
  pool: pg.Pool;
  mode: 'postgres' | 'embedded';
  close(): Promise<void>;
}

export async function openDatabase(config: Config): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let connectionString = config.databaseUrl;
  if (!connectionString) {
    embedded = await startEmbeddedPostgres(join(config.dataDir, 'pglite'));
    connectionString = embedded.connectionString;
  }
  const pool = new pg.Pool({
    connectionString,
    max: embedded ? 1 : config.databasePoolSize,
    idleTimeoutMillis: embedded ? 0 : 30_000,
    application_name: 'hearth',
  });
  // A connection dropped while idle must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return {
    pool,
    mode: embedded ? 'embedded' : 'postgres',
    async close() {
      await pool.end();
      await embedded?.stop();
    },
  };
}
