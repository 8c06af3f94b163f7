#!/usr/bin/env node
// The `hearth` command: serve, migrate, tenant create|list.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './config.js';
import { isResourceType } from './fhir/resource-types.js';
import { isValidId } from './fhir/validation/ids.js';
import type { Indexer } from './search/indexer.js';
import { TenantSearchParameters } from './search/tenant-params.js';
import { PgRepository } from './storage/pg/pg-repository.js';
import { createSearchRegistry } from './search/registry/registry.js';
import { reindex } from './storage/pg/reindex.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';
import { openDatabase, type Database } from './storage/pg/database.js';
import { migrate } from './storage/pg/migrate.js';
import { createTenant, listTenants } from './storage/pg/tenant-admin.js';

const USAGE = `Usage:
  hearth serve                                   start the FHIR server
  hearth migrate                                 apply database migrations
  hearth tenant create <id> [--name N] [--dedicated-partition]
  hearth tenant list
  hearth reindex [Type ...] [--all]              fill the search index (only rows without one unless --all)
Configuration comes from the environment; see docs/configuration.md.`;

/** Opens the database, brings its schema up to date, runs `work`, closes. */
async function withDatabase<T>(config: Config, work: (db: Database, applied: string[]) => Promise<T>): Promise<T> {
  const db = await openDatabase(config);
  try {
    const { applied } = await migrate(db.pool);
    return await work(db, applied);
  } finally {
    await db.close();
  }
}

async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    server.close().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function tenant(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { name: { type: 'string' }, 'dedicated-partition': { type: 'boolean', default: false } },
  });
  const [action, id] = positionals;
  if (action === 'list') {
    const tenants = await withDatabase(config, (db) => listTenants(db.pool));
    for (const t of tenants) console.log(`${t.id}\t${t.name}\t${t.dedicatedPartition ? 'dedicated' : 'shared'}`);
    return;
  }
  if (action === 'create' && id) {
    if (!isValidId(id)) throw new Error(`Tenant id '${id}' is invalid: use 1-64 of A-Z a-z 0-9 - .`);
    const created = await withDatabase(config, (db) =>
      createTenant(db.pool, { id, name: values.name ?? id, dedicatedPartition: values['dedicated-partition'] ?? false }),
    );
    console.log(`Created tenant ${created.id} (${created.dedicatedPartition ? 'dedicated partitions' : 'shared partitions'}); base /t/${created.id}/fhir`);
    return;
  }
  throw new Error(USAGE);
}

async function reindexCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { all: { type: 'boolean', default: false } } });
  const unknown = positionals.filter((t) => !isResourceType(t));
  if (unknown.length > 0) throw new Error(`Unknown resource type(s): ${unknown.join(', ')}`);
  const searchParams = new TenantSearchParameters(createSearchRegistry());
  const count = await withDatabase(config, (db) => {
    const repository = new PgRepository(db.pool);
    const indexers = new Map<string, Promise<Indexer>>();
    const indexerFor = (tenantId: string) => {
      let indexer = indexers.get(tenantId);
      if (!indexer) {
        indexer = repository.withTenant(tenantId, async (store) => (await searchParams.load(store)).indexer, { readOnly: true });
        indexers.set(tenantId, indexer);
      }
      return indexer;
    };
    return reindex(db.pool, indexerFor, { types: positionals.length ? positionals : undefined, onlyMissing: !values.all });
  });
  console.log(`Reindexed ${count} resource(s)`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  if (command === 'serve') return serve(config);
  if (command === 'migrate') {
    const applied = await withDatabase(config, async (_db, names) => names);
    console.log(`Applied ${applied.length} migration(s)${applied.length ? `: ${applied.join(', ')}` : ''}; the database is up to date`);
    return;
  }
  if (command === 'tenant') return tenant(config, rest);
  if (command === 'reindex') return reindexCommand(config, rest);
  throw new Error(USAGE);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `hearth: ${(error as Error).message}`);
  process.exit(error instanceof ConfigError ? 78 : 1);
});
