// Real services for the integration and end-to-end tiers. With HEARTH_REQUIRE_SERVICES=1
// (CI) a missing PostgreSQL fails the run; otherwise those tiers are skipped with a message,
// so `npm test` still runs the unit tier on a machine without it. Redis (the delivery queue,
// issue 13) is required the same way by test/support/redis-service.ts (TEST_REDIS_URL).
import pg from 'pg';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/hearth_test';
export const SERVICES_REQUIRED = process.env.HEARTH_REQUIRE_SERVICES === '1';

/** Drops the database `url` names (a scratch database a test made); never fails. */
export async function dropDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  const dbName = decodeURIComponent(admin.pathname.slice(1));
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect().catch(() => undefined);
  await client.query(`DROP DATABASE IF EXISTS "${dbName.replace(/"/g, '""')}" WITH (FORCE)`).catch(() => undefined);
  await client.end().catch(() => undefined);
}

/** Creates the test database when it does not exist yet. */
export async function ensureDatabase(url: string = TEST_DATABASE_URL): Promise<void> {
  const target = new URL(url);
  const dbName = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (!rowCount) {
      try {
        await client.query(`CREATE DATABASE "${dbName.replace(/"/g, '""')}"`);
      } catch (error) {
        if ((error as { code?: string }).code !== '42P04') throw error; // created concurrently
      }
    }
  } finally {
    await client.end();
  }
}

let availability: Promise<string | undefined> | undefined;

/** undefined when PostgreSQL is reachable, else the reason. */
export function servicesUnavailable(): Promise<string | undefined> {
  availability ??= (async () => {
    try {
      await ensureDatabase();
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  })();
  return availability;
}

/** For a describe() of a tier that needs real services: fail in CI, skip elsewhere. */
export async function requireServices(ctx: Mocha.Context): Promise<void> {
  const reason = await servicesUnavailable();
  if (!reason) return;
  if (SERVICES_REQUIRED) throw new Error(`PostgreSQL required (HEARTH_REQUIRE_SERVICES=1) but unavailable: ${reason}`);
  console.warn(`Skipping: PostgreSQL unavailable (${reason}). Set HEARTH_REQUIRE_SERVICES=1 to fail instead.`);
  ctx.skip();
}
