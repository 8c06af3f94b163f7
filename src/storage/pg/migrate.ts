// Applies migrations/*.sql in name order, each in its own transaction, under a PostgreSQL
// advisory lock so several processes starting together apply each migration exactly once.
// Migrations are plain SQL that runs on PostgreSQL 15+ and on PGlite alike.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { projectRoot } from '../../core/project-root.js';
import { citusInstalled, distribute, type DistributionReport } from './distributed.js';

/** Arbitrary constant identifying Hearth's migration lock. */
const MIGRATION_LOCK_KEY = 7_423_114_001;

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
  /** On a Citus coordinator: what this run distributed (distributed.ts; issue 15). */
  distribution?: DistributionReport;
}

export function migrationsDir(): string {
  return join(projectRoot(), 'migrations');
}

export async function migrate(pool: pg.Pool, dir: string = migrationsDir()): Promise<MigrationResult> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = new Set(
        (await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name),
      );
      const applied: string[] = [];
      for (const file of files) {
        if (done.has(file)) continue;
        const sql = await readFile(join(dir, file), 'utf8');
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new Error(`Migration ${file} failed: ${(error as Error).message}`, { cause: error });
        }
        applied.push(file);
      }
      // Distributed mode: tables the migrations created are distributed under the same lock.
      if (await citusInstalled(client)) return { applied, alreadyApplied: done.size, distribution: await distribute(client) };
      return { applied, alreadyApplied: done.size };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}
