// Starts Hearth: database (PostgreSQL or embedded PGlite), migrations, the service layer
// (wired in compose.ts) and the HTTP server, with a graceful shutdown that drains in-flight requests.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuthComponents } from './compose-auth.js';
import { createFhirService } from './compose.js';
import type { Config } from './core/config.js';
import { createHttp } from './http/app.js';
import { answerClientError } from './http/client-error.js';
import { ReindexWorker } from './jobs/reindex-worker.js';
import { AuditMaintenance } from './jobs/audit-maintenance.js';
import { auditHasher } from './audit/chain/hasher.js';
import { sealAuditTrail } from './storage/pg/audit-seal.js';
import { ensureAuditPartitions } from './storage/pg/audit-partitions.js';
import { applyAuditRetention } from './storage/pg/audit-retention.js';
import { listTenants } from './storage/pg/tenant-admin.js';
import { ReindexJobQueue } from './storage/pg/reindex-jobs.js';
import { createLogger, type Logger } from './core/logger.js';
import { HearthMetrics } from './core/metrics.js';
import { createDelivery, tenantBase } from './compose-delivery.js';
import type { Resolver } from './jobs/net/ssrf-guard.js';
import type { BullmqQueueOptions } from './jobs/queue/bullmq-queue.js';
import { openDatabase, type Database } from './storage/pg/database.js';
import { migrate } from './storage/pg/migrate.js';
import { preloadTerminology } from './compose-terminology.js';

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080 (no base path). */
  origin: string;
  port: number;
  database: Database;
  /** Served at GET /metrics; the outbox probe and delivery report into it. */
  metrics: HearthMetrics;
  close(): Promise<void>;
}

/** A worker that stops renewing its job's lease for this long is presumed dead. */
const REINDEX_LEASE_MS = 60_000;

/** What tests inject (the production server takes none). */
export interface StartOptions {
  /** DNS for the SSRF guard of Subscription endpoints, at creation and at delivery. */
  resolver?: Resolver;
  /** BullMQ tuning of the delivery queue. */
  bullmq?: BullmqQueueOptions;
}

export async function startServer(config: Config, logger: Logger = createLogger(config.logLevel), options: StartOptions = {}): Promise<RunningServer> {
  const database = await openDatabase(config);
  try {
    const migrated = await migrate(database.pool);
    if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'migrations applied');
    const distributed = migrated.distribution;
    if (distributed && distributed.distributed.length + distributed.referenced.length > 0) {
      logger.info({ distributed: distributed.distributed.length, referenced: distributed.referenced.length, workers: distributed.workers }, 'Citus: tables distributed');
    }
    for (const p of await preloadTerminology(database.pool)) {
      if (p.status === 'loaded') logger.info({ package: `${p.name}@${p.version}`, codeSystems: p.codeSystems, concepts: p.concepts, definitions: p.definitions, broken: p.broken, seconds: p.seconds }, 'terminology preloaded');
    }
    const { service, repository, searchParams, maintenance, audit: recorder, auditJournal, outboxNotifier } = createFhirService(config, database, undefined, { logger, ...(options.resolver ? { resolver: options.resolver } : {}) });
    const worker = config.reindexWorker
      ? new ReindexWorker(
          new ReindexJobQueue(database.pool, REINDEX_LEASE_MS),
          (tenantId) => repository.withTenant(tenantId, (store) => searchParams.load(store), { readOnly: true }),
          { pollMs: config.reindexPollMs, startDelayMs: config.reindexStartDelayMs, batchSize: config.reindexBatchSize },
          logger,
        )
      : undefined;
    const audit = config.auditSealIntervalMs > 0
      ? new AuditMaintenance(
          {
            tenants: async () => (await listTenants(database.pool)).map((t) => t.id),
            // Journal entries left longer than the lag bound (another process's, gone) go to the
            // trail first; the sealer stops short of any entry still pending.
            seal: async (tenantId) => {
              await auditJournal.catchUp(tenantId);
              return sealAuditTrail(database.pool, auditHasher, tenantId);
            },
            ensurePartitions: () => ensureAuditPartitions(database.pool),
            applyRetention: () => applyAuditRetention(database.pool, config.auditRetentionMonths),
          },
          { sealIntervalMs: config.auditSealIntervalMs },
          logger,
        )
      : undefined;
    const auth = createAuthComponents(config, database, service, logger, recorder);
    if (auth.warning) logger.warn(auth.warning);
    const metrics = new HearthMetrics();
    // Outbound delivery (issue 13): relay and workers beside the API unless they run apart (`hearth worker`).
    // Its links name this server as it listens (HEARTH_PORT=0 picks the port at listen).
    let listening = config.port;
    const delivery = config.deliveryWorker
      ? createDelivery(config, database, service, logger, { metrics, ...options, baseUrlOf: (tenantId) => tenantBase({ ...config, port: listening })(tenantId) })
      : undefined;
    if (delivery) outboxNotifier.subscribe((tenantId) => delivery.relay.nudge(tenantId));
    const { listener } = createHttp({ config, service, logger, ready: () => repository.ping(), authenticator: auth.authenticator, authRouters: auth.routers, metrics });
    const server = createServer(listener);
    server.on('clientError', answerClientError);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, resolve);
    });
    const { port } = server.address() as AddressInfo;
    listening = port;
    const origin = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url: `${origin}/fhir`, database: database.mode }, 'Hearth listening');
    worker?.start();
    audit?.start();
    auditJournal.start();
    await delivery?.start();
    return { origin, port, database, metrics, close: () => shutdown(server, database, config.shutdownTimeoutMs, [async () => delivery?.close(), async () => worker?.stop(), async () => audit?.stop(), () => auditJournal.stop(), () => maintenance.close(), async () => outboxNotifier.close(), () => auth.close()]) };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** Stop accepting, let in-flight requests finish (up to the timeout), then close the database. */
async function shutdown(server: Server, database: Database, timeoutMs: number, background: (() => Promise<unknown>)[]): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections busy at close() become idle once their response is sent:
  // close them as soon as they do, instead of waiting out the keep-alive timeout.
  server.closeIdleConnections();
  const sweeper = setInterval(() => server.closeIdleConnections(), 25);
  const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
  await closed;
  clearInterval(sweeper);
  clearTimeout(timer);
  for (const stop of background) await stop();
  await database.close();
}
