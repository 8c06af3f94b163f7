// Cluster mode (HEARTH_PROCESSES > 1; ADR 0023, docs/scaling.md): several API processes share
// one port through node:cluster, which hands each new connection to a process in turn. Each
// process is a whole Hearth, exactly as several instances behind a load balancer (they share
// only PostgreSQL and Redis). The primary serves nothing: it prepares the database once, forks,
// replaces a process that dies, forwards SIGTERM/SIGINT for a graceful drain, and aggregates the
// processes' Prometheus registries so that GET /metrics, whichever process answers it, reports
// the whole server.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from './core/logger.js';

/** A process that dies is replaced after this delay, doubled on each death in a row (up to the cap). */
const RESPAWN_DELAY_MS = 250;
const RESPAWN_DELAY_CAP_MS = 30_000;
/** A process that lived this long resets the delay: its death was not a crash loop. */
const RESPAWN_RESET_AFTER_MS = 60_000;

interface MetricsRequest {
  hearth: 'metrics?';
  id: number;
}
interface MetricsReply {
  hearth: 'metrics';
  id: number;
  text?: string;
  error?: string;
}

export interface PrimaryOptions {
  processes: number;
  /** Let the processes drain this long after SIGTERM before they are killed. */
  shutdownTimeoutMs: number;
  /** Runs once before the first fork (migrations, terminology preload): the processes then find it done. */
  prepare: () => Promise<void>;
}

/**
 * Runs the primary until SIGTERM or SIGINT. A process that exits before it listened (bad
 * configuration, port taken) stops the whole server with exit code 1 instead of respawning.
 */
export async function runPrimary(options: PrimaryOptions, logger: Logger): Promise<void> {
  await options.prepare();
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let delay = RESPAWN_DELAY_MS;
  const started = new Map<Worker, number>();

  const stopAll = (code: number): void => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const force = setTimeout(() => {
      for (const w of workers) w.process.kill('SIGKILL');
    }, options.shutdownTimeoutMs + 5_000);
    force.unref();
    let left = workers.length;
    if (left === 0) process.exit(code);
    for (const w of workers) {
      w.once('exit', () => {
        if (--left === 0) process.exit(code);
      });
      w.process.kill('SIGTERM');
    }
  };

  const fork = (): void => {
    const worker = cluster.fork();
    started.set(worker, Date.now());
    let listening = false;
    worker.once('listening', () => {
      listening = true;
    });
    worker.on('message', (message: MetricsRequest) => {
      if (message?.hearth !== 'metrics?') return;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ hearth: 'metrics', id: message.id, text } satisfies MetricsReply),
        (error: Error) => worker.send({ hearth: 'metrics', id: message.id, error: error.message } satisfies MetricsReply),
      );
    });
    worker.once('exit', (code, signal) => {
      const lived = Date.now() - (started.get(worker) ?? 0);
      started.delete(worker);
      if (stopping) return;
      if (!listening) {
        logger.error({ pid: worker.process.pid, code, signal }, 'a Hearth process exited before it listened: stopping');
        stopAll(1);
        return;
      }
      if (lived >= RESPAWN_RESET_AFTER_MS) delay = RESPAWN_DELAY_MS;
      logger.error({ pid: worker.process.pid, code, signal, respawnInMs: delay }, 'a Hearth process died: replacing it');
      setTimeout(() => {
        if (!stopping) fork();
      }, delay);
      delay = Math.min(delay * 2, RESPAWN_DELAY_CAP_MS);
    });
  };

  for (let i = 0; i < options.processes; i++) fork();
  logger.info({ processes: options.processes, pid: process.pid }, 'Hearth cluster primary started');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      logger.info({ signal }, 'shutting down: draining every process');
      stopAll(0);
    });
  }
}

/**
 * In a cluster process: answer the primary's collection with this process's registry, and read
 * GET /metrics from the primary's aggregate. Returns the source for HearthMetrics.readFrom.
 */
export function clusterMetricsSource(registry: Registry, timeoutMs = 10_000): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one is what makes prom-client answer the primary's collection in a process.
  new AggregatorRegistry();
  let next = 0;
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  process.on('message', (message: MetricsReply) => {
    if (message?.hearth !== 'metrics') return;
    const pending = waiting.get(message.id);
    if (!pending) return;
    waiting.delete(message.id);
    if (message.text !== undefined) pending.resolve(message.text);
    else pending.reject(new Error(`cluster metrics: ${message.error ?? 'no answer'}`));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('cluster metrics: the primary did not answer'));
      }, timeoutMs);
      waiting.set(id, {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      process.send?.({ hearth: 'metrics?', id } satisfies MetricsRequest);
    });
}
