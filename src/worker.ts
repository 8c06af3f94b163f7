// `hearth worker`: the outbox relay and delivery workers without the HTTP API (issue 13 "Queue"),
// for deployments that run workers as processes of their own (several may run: they share the
// outbox with FOR UPDATE SKIP LOCKED and the BullMQ queue on REDIS_URL). Subscription status
// changes go through the FHIR service like the API's writes, so they are versioned and audited.
import type { Config } from './core/config.js';
import type { Logger } from './core/logger.js';
import { createDelivery, type Delivery } from './compose-delivery.js';
import { createFhirService } from './compose.js';
import { HearthMetrics } from './core/metrics.js';
import { startMetricsServer } from './http/metrics-server.js';
import { openDatabase } from './storage/pg/database.js';
import { migrate } from './storage/pg/migrate.js';

export interface RunningWorker {
  delivery: Delivery;
  /** The port of its GET /metrics (HEARTH_WORKER_METRICS_PORT), when it serves one. */
  metricsPort?: number;
  close(): Promise<void>;
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  const database = await openDatabase(config);
  try {
    await migrate(database.pool);
    const { service, auditJournal, maintenance, outboxNotifier } = createFhirService(config, database, undefined, { logger });
    const metrics = new HearthMetrics();
    const delivery = createDelivery(config, database, service, logger, { metrics });
    outboxNotifier.subscribe((tenantId) => delivery.relay.nudge(tenantId));
    const scrape = config.workerMetricsPort === undefined ? undefined : await startMetricsServer({ metrics, host: config.host, port: config.workerMetricsPort, token: config.metricsToken });
    auditJournal.start();
    await delivery.start();
    logger.info({ queue: config.redisUrl ? 'bullmq' : 'in-process', concurrency: config.deliveryConcurrency }, 'Hearth delivery worker running');
    return {
      delivery,
      ...(scrape ? { metricsPort: scrape.port } : {}),
      async close() {
        await scrape?.close();
        await delivery.close();
        await auditJournal.stop();
        await maintenance.close();
        outboxNotifier.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
