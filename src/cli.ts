#!/usr/bin/env node
// The `hearth` command: serve, migrate, tenant create|list, reindex, load, and the SMART
// registrations: client add|list|remove, user add|list|remove|policy, launch create; and the
// audit trail's maintenance: audit verify|seal|partitions|archive; and outbound sync:
// sync add|list|remove|status|dead-letters.
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './core/config.js';
import { isResourceType } from './core/resource-types.js';
import { isValidId } from './core/ids.js';
import type { Indexer } from './search/indexer.js';
import { TenantSearchParameters } from './search/tenant-params.js';
import { PgRepository } from './storage/pg/pg-repository.js';
import { createSearchRegistry } from './search/registry/registry.js';
import { reindex } from './storage/pg/reindex.js';
import { RepositoryLedger } from './load/ledger.js';
import { formatProgress, resourcesPerSecond, type LoadProgress } from './load/progress.js';
import { DEFAULT_CHUNK_SIZE, DEFAULT_CONCURRENCY, runLoad, type LoadSummary } from './load/runner.js';
import { tenantBaseUrl } from './load/base-url.js';
import { createFhirService } from './compose.js';
import { expandSources } from './load/sources.js';
import { createLogger } from './core/logger.js';
import { startServer } from './server.js';
import { clusterMetricsSource, runPrimary } from './cluster.js';
import { startWorker } from './worker.js';
import { AUTH_USAGE, clientCommand, launchCommand } from './cli/auth-commands.js';
import { USER_USAGE, userCommand } from './cli/user-commands.js';
import { AUDIT_USAGE, auditCommand } from './cli/audit-commands.js';
import { TERMINOLOGY_USAGE, terminologyCommand } from './cli/terminology-commands.js';
import { SYNC_USAGE, syncCommand } from './cli/sync-commands.js';
import { preloadTerminology } from './compose-terminology.js';
import { describePreload } from './terminology/import/preload.js';
import { openDatabase, type Database } from './storage/pg/database.js';
import { migrate, type MigrationResult } from './storage/pg/migrate.js';
import { createTenant, listTenants } from './storage/pg/tenant-admin.js';

const USAGE = `Usage:
  hearth serve                                   start the FHIR server
  hearth worker                                  run the outbox relay and delivery workers only (docs/sync.md)
  hearth migrate                                 apply database migrations
  hearth tenant create <id> [--name N] [--dedicated-partition]
  hearth tenant list
  hearth reindex [Type ...] [--all]              fill the search index (only rows without one unless --all)
  hearth load [--tenant T] [--concurrency N] [--chunk N] [--continue-on-error] <path>...
                                                 load .json/.ndjson files (optionally .gz) or directories
                                                 of them: transaction, batch or collection Bundles, or
                                                 NDJSON; files already loaded are skipped (docs/loading.md)
${AUTH_USAGE}
${USER_USAGE}
${AUDIT_USAGE}
${TERMINOLOGY_USAGE}
${SYNC_USAGE}
Configuration comes from the environment; see docs/configuration.md.`;

/** Opens the database, brings its schema up to date, runs `work`, closes. */
async function withDatabase<T>(config: Config, work: (db: Database, migrated: MigrationResult) => Promise<T>): Promise<T> {
  const db = await openDatabase(config);
  try {
    return await work(db, await migrate(db.pool));
  } finally {
    await db.close();
  }
}

/** Runs until SIGTERM or SIGINT, then `close()` and exit (1 when closing failed). */
function closeOnSignal(logger: ReturnType<typeof createLogger>, what: string, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, what);
    close().then(
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

async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  if (config.processes > 1 && cluster.isPrimary) {
    // The schema and the terminology packages once, before the processes race for them.
    const prepare = () => withDatabase(config, async (db) => void (await preloadTerminology(db.pool)));
    return runPrimary({ processes: config.processes, shutdownTimeoutMs: config.shutdownTimeoutMs, prepare }, logger);
  }
  const server = await startServer(config, logger);
  if (cluster.isWorker) server.metrics.readFrom(clusterMetricsSource(server.metrics.registry));
  closeOnSignal(logger, 'shutting down: draining in-flight requests', () => server.close());
}

async function worker(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const running = await startWorker(config, logger);
  closeOnSignal(logger, 'worker shutting down: finishing deliveries in flight', () => running.close());
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

/** A positive integer option, or its default. */
function positive(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`${option} takes a positive integer, not '${value}'`);
  return Number(value);
}

/**
 * The progress bar on stderr: one line redrawn in place on a terminal, a line every few
 * seconds otherwise (logs). `log` prints a message above it.
 */
function progressBar(stream: NodeJS.WriteStream) {
  const tty = stream.isTTY === true;
  let latest: LoadProgress | undefined;
  const draw = () => {
    if (!latest) return;
    const line = formatProgress(latest);
    stream.write(tty ? `\r${line.slice(0, Math.max(20, (stream.columns ?? 120) - 1))}\x1b[K` : `${line}\n`);
  };
  const timer = setInterval(draw, tty ? 200 : 5000);
  return {
    update: (progress: LoadProgress) => void (latest = progress),
    log: (text: string) => stream.write(`${tty ? '\r\x1b[K' : ''}${text}\n`),
    stop: () => {
      clearInterval(timer);
      draw();
      if (tty && latest) stream.write('\n');
    },
  };
}

async function loadCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tenant: { type: 'string', default: 'default' },
      concurrency: { type: 'string' },
      chunk: { type: 'string' },
      'continue-on-error': { type: 'boolean', default: false },
    },
  });
  if (positionals.length === 0) throw new Error(USAGE);
  const tenantId = values.tenant ?? 'default';
  const concurrency = positive(values.concurrency, '--concurrency', DEFAULT_CONCURRENCY);
  const chunkSize = positive(values.chunk, '--chunk', DEFAULT_CHUNK_SIZE);
  const files = await expandSources(positionals);
  if (files.length === 0) throw new Error(`No .json, .json.gz, .ndjson or .ndjson.gz files in ${positionals.join(', ')}`);
  // One connection per unit in flight, one for the ledger.
  const poolSize = Math.max(config.databasePoolSize, concurrency + 1);
  const summary = await withDatabase({ ...config, databasePoolSize: poolSize }, async (db) => {
    const { service, repository, maintenance, auditJournal } = createFhirService(config, db, undefined, { analyzeAsWritten: false });
    if (!(await repository.findTenant(tenantId))) throw new Error(`Tenant '${tenantId}' does not exist (hearth tenant create ${tenantId})`);
    const bar = progressBar(process.stderr);
    auditJournal.start();
    try {
      return await runLoad(files, {
        tenantId,
        baseUrl: tenantBaseUrl(tenantId, config.publicBaseUrl),
        handle: (req) => service.handle(req),
        ledger: new RepositoryLedger(repository),
        concurrency,
        chunkSize,
        continueOnError: values['continue-on-error'],
        maxDepth: config.maxJsonDepth,
        onProgress: bar.update,
        onFile: (file) => {
          if (file.error) bar.log(`hearth load: failed: ${file.error.message}`);
          if (file.resumedAfterLine) bar.log(`hearth load: ${file.name}: resumed after line ${file.resumedAfterLine}, loaded by an earlier run`);
        },
      });
    } finally {
      bar.stop();
      // The load's audit entries become AuditEvents before the command ends (ADR 0016).
      await auditJournal.stop();
      await auditJournal.drain(tenantId);
      // Searched right after, the tables must not be planned from stale statistics nor read a
      // full GIN pending list (docs/scaling.md): vacuum and analyze what was loaded first.
      if (maintenance.touched.size > 0) {
        process.stderr.write(`hearth load: vacuuming and analyzing ${maintenance.touched.size} resource type(s)\n`);
        await maintenance.settle(maintenance.touched);
      }
    }
  });
  console.log(describeSummary(summary));
  if (summary.failures.length > 0) process.exitCode = 1;
}

function describeSummary(s: LoadSummary): string {
  const seconds = s.elapsedMs / 1000;
  const files = [`${s.filesLoaded} loaded`, `${s.filesSkipped} skipped (already loaded)`, `${s.filesFailed} failed`];
  if (s.filesNotAttempted > 0) files.push(`${s.filesNotAttempted} not attempted`);
  const rate = Math.round(resourcesPerSecond(s)).toLocaleString('en-US');
  return `Files: ${files.join(', ')}. Resources: ${s.resources.toLocaleString('en-US')} in ${seconds.toFixed(1)} s (${rate} resources/s)`;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  if (command === 'serve') return serve(config);
  if (command === 'worker') return worker(config);
  if (command === 'migrate') {
    const [{ applied, distribution }, preloaded] = await withDatabase(config, async (db, migrated) => [migrated, await preloadTerminology(db.pool)] as const);
    console.log(`Applied ${applied.length} migration(s)${applied.length ? `: ${applied.join(', ')}` : ''}; the database is up to date`);
    if (distribution) {
      // A Citus coordinator (docs/scaling.md): what this run distributed; nothing on a later run.
      console.log(
        `Citus: ${distribution.distributed.length} table(s) distributed by tenant_id, ${distribution.referenced.length} made reference tables; ` +
          `jsonb_contains LEAKPROOF on ${distribution.workers} worker(s)`,
      );
    }
    console.log(`Terminology preload:\n${describePreload(preloaded)}`);
    return;
  }
  if (command === 'tenant') return tenant(config, rest);
  if (command === 'reindex') return reindexCommand(config, rest);
  if (command === 'load') return loadCommand(config, rest);
  if (command === 'client') return withDatabase(config, (db) => clientCommand(db, rest));
  if (command === 'launch') return withDatabase(config, (db) => launchCommand(db, rest));
  if (command === 'user') return withDatabase(config, (db) => userCommand(db, rest));
  if (command === 'audit') return withDatabase(config, (db) => auditCommand(db, rest));
  if (command === 'terminology') return withDatabase(config, (db) => terminologyCommand(db, rest));
  if (command === 'sync') return withDatabase(config, (db) => syncCommand(db, rest));
  throw new Error(USAGE);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `hearth: ${(error as Error).message}`);
  process.exit(error instanceof ConfigError ? 78 : 1);
});
