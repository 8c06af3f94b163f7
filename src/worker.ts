// `hearth worker`: the outbox relay and delivery workers without the HTTP API (issue 13 "Queue"),
// for deployments that run workers as processes of their own (several may run: they share the
// outbox with FOR UPDATE SKIP LOCKED and the BullMQ queue on REDIS_URL). Subscription status
// changes go through the FHIR service like the API's writes, so they are versioned and audited.
import type { Config } from './core/config.js';
import type { Logger } from './core/logger.js';
import { createDelivery, type Delivery } from './compose-delivery.js';
import { createFhirService } from './compose.js';
import { openDatabase } from './storage/pg/database.js';
import { migrate } from './storage/pg/migrate.js';

export interface RunningWorker {
  delivery: Delivery;
  close(): Promise<void>;
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  const database = await openDatabase(config);
  try {
    await migrate(database.pool);
    const { service, auditJournal, maintenance, outboxNotifier } = createFhirService(config, database, undefined, { logger });
    const delivery = createDelivery(config, database, service, logger);
    outboxNotifier.subscribe((tenantId) => delivery.relay.nudge(tenantId));
    auditJournal.start();
    await delivery.start();
    logger.info({ queue: config.redisUrl ? 'bullmq' : 'in-process', concurrency: config.deliveryConcurrency }, 'Hearth delivery worker running');
    return {
      delivery,
      async close() {
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
