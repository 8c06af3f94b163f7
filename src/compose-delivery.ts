// The composition root of outbound delivery (issue 13; docs/adr/0020-outbox-and-delivery.md):
// the relay that hands outbox rows to the queue, the queue (BullMQ on Redis when REDIS_URL is
// set, in-process otherwise: the embedded mode), the workers with their transports, circuit
// breakers and metrics. `hearth serve` runs them beside the API (HEARTH_DELIVERY_WORKER, on by
// default); `hearth worker` runs them alone.
import type { Config } from './core/config.js';
import type { Logger } from './core/logger.js';
import type { HearthMetrics } from './core/metrics.js';
import type { FhirService } from './fhir/service.js';
import { OpossumBreakers, breakerOptionsFrom } from './jobs/delivery/breakers.js';
import { NO_DELIVERY_METRICS, type DeliveryQueue } from './jobs/delivery/contracts.js';
import { DeliveryWorker } from './jobs/delivery/delivery-worker.js';
import type { Resolver } from './jobs/net/ssrf-guard.js';
import { OutboxRelay } from './jobs/outbox/outbox-relay.js';
import { BullmqQueue, type BullmqQueueOptions } from './jobs/queue/bullmq-queue.js';
import { InProcessQueue } from './jobs/queue/in-process-queue.js';
import { subscriptionStatusWriter } from './jobs/subscriptions/subscription-status.js';
import { createFhirSyncTransport } from './jobs/transport/fhir-sync-transport.js';
import { createRestHookTransport } from './jobs/transport/rest-hook-transport.js';
import type { Database } from './storage/pg/database.js';
import { PgDeliveryStore } from './storage/pg/delivery-store.js';
import { listenForOutbox } from './storage/pg/outbox-listener.js';

/** The BullMQ queue's name: every process of one deployment shares it. */
export const DELIVERY_QUEUE = 'hearth-delivery';

export interface DeliveryOptions {
  metrics?: HearthMetrics;
  /** DNS for the SSRF guard at delivery (tests inject one). */
  resolver?: Resolver;
  /** BullMQ tuning (tests shorten the lock so a killed worker's job returns quickly). */
  bullmq?: BullmqQueueOptions;
  /** Where the FHIR base of a tenant is, for id-only notifications and the audit of status changes. */
  baseUrlOf?: (tenantId: string) => string;
}

export interface Delivery {
  relay: OutboxRelay;
  worker: DeliveryWorker;
  queue: DeliveryQueue;
  /** Starts the relay and `config.deliveryConcurrency` workers. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The tenant's FHIR base: HEARTH_PUBLIC_BASE_URL when set, else this server's address. */
export function tenantBase(config: Config): (tenantId: string) => string {
  const origin = config.publicBaseUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  return (tenantId) => (tenantId === 'default' ? `${origin}/fhir` : `${origin}/t/${encodeURIComponent(tenantId)}/fhir`);
}

export function createDelivery(config: Config, database: Database, service: FhirService, logger: Logger, options: DeliveryOptions = {}): Delivery {
  const store = new PgDeliveryStore(database.pool);
  const queue: DeliveryQueue = config.redisUrl
    ? new BullmqQueue(config.redisUrl, DELIVERY_QUEUE, { onError: (error) => logger.warn({ err: error }, 'delivery queue'), ...options.bullmq })
    : new InProcessQueue({ onError: (error) => logger.debug({ err: error }, 'delivery job will run again') });
  // LISTEN needs a connection of its own: not on the embedded database (one connection); there
  // the relay polls, and this process's writes nudge it.
  const listen =
    database.mode === 'postgres' && config.databaseUrl
      ? (onTenant: (tenantId: string) => void) => listenForOutbox(config.databaseUrl!, onTenant, (error) => logger.warn({ err: error }, 'outbox LISTEN connection failed'))
      : undefined;
  const relay = new OutboxRelay(store, queue, { pollMs: config.relayPollMs, staleMs: config.relayStaleMs }, logger, listen);
  const baseUrlOf = options.baseUrlOf ?? tenantBase(config);
  const metrics = options.metrics?.delivery ?? NO_DELIVERY_METRICS;
  const restHook = createRestHookTransport({ config, ...(options.resolver ? { resolver: options.resolver } : {}) });
  const breakers = new OpossumBreakers(breakerOptionsFrom(config));
  const worker = new DeliveryWorker(
    {
      store,
      queue,
      breakers,
      syncTransports: { fhir: createFhirSyncTransport({ config }) },
      restHook,
      metrics,
      setSubscriptionStatus: subscriptionStatusWriter(service, baseUrlOf),
      resourceUrl: (tenantId, type, id, versionId) => `${baseUrlOf(tenantId)}/${type}/${id}/_history/${versionId}`,
      logger,
    },
    { leaseMs: config.deliveryLeaseMs, maxAttempts: config.deliveryMaxAttempts, backoffMs: config.deliveryBackoffMs, backoffMaxMs: config.deliveryBackoffMaxMs },
  );
  options.metrics?.registerOutboxProbe(async () => {
    const backlog = await store.backlog();
    return { backlog: backlog.byChannel, oldestAgeSeconds: backlog.oldestAgeSeconds, queue: await queue.depth() };
  });
  return {
    relay,
    worker,
    queue,
    async start() {
      worker.start(config.deliveryConcurrency);
      await relay.start();
    },
    async close() {
      await relay.stop();
      await queue.close();
      restHook.close();
      breakers.shutdown();
    },
  };
}
