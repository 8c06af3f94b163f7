// The delivery queue on Redis (issue 13 "Queue", docs/adr/0020-outbox-and-delivery.md): the
// DeliveryQueue contract on BullMQ over ioredis, so API processes hand deliveries to workers
// that may run as separate processes (`hearth worker`).
//
// - The job id is made of (tenant, outbox row, hand), so adding the same job twice is a no-op
//   while BullMQ still holds it: pending, running, or kept after completion (bounded
//   retention below). A re-schedule always carries a new hand, so nothing that matters is lost.
// - A handler that throws (infrastructure trouble: database down, lease still held) has BullMQ
//   run the job again with a capped doubling backoff; delivery failures never throw.
// - A worker killed mid-job stops renewing its lock; after `lockDurationMs` another worker's
//   stalled-job check puts the job back (BullMQ "stalled jobs").
// - Redis down: add() and depth() reject within `commandTimeoutMs` (the producer's connection
//   does not queue commands offline), so the relay leaves its rows pending and tries again;
//   the worker's connections (maxRetriesPerRequest: null, as BullMQ requires for its blocking
//   connection) wait and carry on when Redis is back. PostgreSQL holds every delivery, so
//   losing the queue's data loses nothing: the relay hands stale rows again.
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { DeliveryJob, DeliveryQueue } from '../delivery/contracts.js';

export interface BullmqQueueOptions {
  /** BullMQ's lock on a running job, ms: a worker that died loses its jobs after this. Default 30 000. */
  lockDurationMs?: number;
  /** How often the worker looks for jobs whose lock has expired, ms. Default: lockDurationMs. */
  stalledIntervalMs?: number;
  /** add() and depth() reject when Redis has not answered within this, ms. Default 5 000. */
  commandTimeoutMs?: number;
  /** close() waits this long for running handlers and a clean disconnect, then drops the connections, ms. Default 15 000. */
  closeTimeoutMs?: number;
  /** Runs of a job whose handler keeps throwing, before BullMQ gives up on it (the relay re-hands the row later). Default 50. */
  handlerAttempts?: number;
  /** First wait after a handler threw, ms; doubles per throw up to handlerBackoffMaxMs. Default 500. */
  handlerBackoffMs?: number;
  handlerBackoffMaxMs?: number;
  /** Told about connection trouble and handlers that threw (never PHI: ids only). */
  onError?: (error: unknown) => void;
}

/** The name of the capped-exponential backoff registered on the worker. */
const BACKOFF_TYPE = 'hearth-capped-exponential';
const JOB_NAME = 'deliver';

/**
 * BullMQ refuses custom ids that look like integers and, in the versions we run, ids with ':'
 * unless they have exactly three ':'-separated parts (its legacy repeatable-job form). Each part
 * is percent-encoded (so a ':' or '/' inside a tenant id cannot collide) and joined with '/'.
 */
export function deliveryJobId(job: DeliveryJob): string {
  return `${encodeURIComponent(job.tenantId)}/${encodeURIComponent(job.outboxId)}/${job.hand}`;
}

export class BullmqQueue implements DeliveryQueue {
  private readonly connection: Redis;
  private readonly queue: Queue<DeliveryJob>;
  private worker: Worker<DeliveryJob> | undefined;
  private closing: Promise<void> | undefined;
  private readonly lockDurationMs: number;
  private readonly commandTimeoutMs: number;

  constructor(
    private readonly redisUrl: string,
    readonly queueName: string,
    private readonly options: BullmqQueueOptions = {},
  ) {
    this.lockDurationMs = options.lockDurationMs ?? 30_000;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 5_000;
    // The producer's connection fails fast instead of queueing commands while disconnected.
    this.connection = new Redis(redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: this.commandTimeoutMs,
      retryStrategy: this.reconnectDelay,
    });
    this.connection.on('error', this.reportError);
    this.queue = new Queue<DeliveryJob>(queueName, {
      connection: this.connection,
      defaultJobOptions: {
        attempts: options.handlerAttempts ?? 50,
        backoff: { type: BACKOFF_TYPE, delay: options.handlerBackoffMs ?? 500 },
        // Bounded retention: finished jobs are only for an operator's curiosity (PostgreSQL
        // holds the state), and they keep the ids of recent jobs taken.
        removeOnComplete: { age: 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
      },
    });
    this.queue.on('error', this.reportError);
  }

  async add(jobs: readonly { job: DeliveryJob; delayMs: number }[]): Promise<void> {
    if (this.closing) throw new Error('delivery queue is closed');
    if (jobs.length === 0) return;
    const bulk = jobs.map(({ job, delayMs }) => ({
      name: JOB_NAME,
      data: { tenantId: job.tenantId, outboxId: job.outboxId, hand: job.hand },
      opts: { jobId: deliveryJobId(job), delay: Math.max(0, Math.round(delayMs)) },
    }));
    await this.bounded(this.queue.addBulk(bulk), 'adding delivery jobs');
  }

  consume(handler: (job: DeliveryJob) => Promise<void>, concurrency: number): void {
    if (this.worker) throw new Error('delivery queue already has a consumer');
    if (this.closing) throw new Error('delivery queue is closed');
    const baseMs = this.options.handlerBackoffMs ?? 500;
    const maxMs = this.options.handlerBackoffMaxMs ?? 30_000;
    this.worker = new Worker<DeliveryJob>(
      this.queueName,
      async (job: Job<DeliveryJob>) => {
        await handler(toDeliveryJob(job.data));
      },
      {
        // BullMQ makes its own two connections (commands and the blocking fetch) from these.
        connection: { url: this.redisUrl, maxRetriesPerRequest: null, retryStrategy: this.reconnectDelay },
        concurrency: Math.max(1, Math.floor(concurrency)),
        lockDuration: this.lockDurationMs,
        stalledInterval: this.options.stalledIntervalMs ?? this.lockDurationMs,
        // A job whose worker died is put back this many times before BullMQ fails it.
        maxStalledCount: 5,
        settings: {
          backoffStrategy: (attemptsMade: number) => Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1)),
        },
      },
    );
    this.worker.on('error', this.reportError);
    this.worker.on('failed', (job, error) => this.reportError(new Error(`delivery job ${job?.id ?? '?'} failed: ${error.message}`)));
  }

  async depth(): Promise<{ waiting: number; delayed: number; active: number }> {
    const counts = await this.bounded(this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active'), 'counting delivery jobs');
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      delayed: counts.delayed ?? 0,
      active: counts.active ?? 0,
    };
  }

  /**
   * Stops taking jobs, waits for the running handlers (up to closeTimeoutMs) and closes every
   * connection. Never hangs on an unreachable Redis: past the timeout the connections are dropped.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Removes the queue and all its jobs from Redis (tests, and an operator's reset). */
  async obliterate(): Promise<void> {
    await this.bounded(this.queue.obliterate({ force: true }), 'removing the delivery queue');
  }

  private async shutdown(): Promise<void> {
    const closeTimeoutMs = this.options.closeTimeoutMs ?? 15_000;
    const graceful = (async () => {
      await this.worker?.close();
      await this.queue.close();
    })();
    const clean = await withTimeout(graceful, closeTimeoutMs, 'closing the delivery queue').then(
      () => true,
      () => false,
    );
    if (!clean) {
      graceful.catch(() => undefined);
      // Drop the connections under whatever is still waiting on them.
      await withTimeout(Promise.allSettled([this.worker?.disconnect(), this.queue.disconnect()]), 1000, 'disconnecting').catch(() => undefined);
    }
    this.connection.disconnect();
  }

  private bounded<T>(work: Promise<T>, what: string): Promise<T> {
    return withTimeout(work, this.commandTimeoutMs, what);
  }

  /**
   * ioredis' reconnect schedule for every connection of this queue: soon after Redis comes back
   * (100 ms, 200 ms, ... at most every 2 s), and never once the queue is closing, so that a
   * connection still trying to reach an unreachable Redis ends instead of keeping the process alive.
   */
  private readonly reconnectDelay = (times: number): number | null => (this.closing ? null : Math.min(times * 100, 2000));

  private readonly reportError = (error: unknown): void => {
    try {
      this.options.onError?.(error);
    } catch {
      // a failing reporter must not take the queue down
    }
  };
}

function toDeliveryJob(data: unknown): DeliveryJob {
  const { tenantId, outboxId, hand } = (data ?? {}) as Partial<DeliveryJob>;
  if (typeof tenantId !== 'string' || typeof outboxId !== 'string' || typeof hand !== 'number') {
    throw new Error('malformed delivery job');
  }
  return { tenantId, outboxId, hand };
}

/** `work`, or a rejection after `ms` (the work itself carries on and is ignored). */
function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: Redis did not answer within ${ms} ms`)), ms);
  });
  work.catch(() => undefined); // a late failure after the timeout is not an unhandled rejection
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
