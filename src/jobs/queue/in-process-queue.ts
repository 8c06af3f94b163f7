// The delivery queue of the embedded mode (no Redis; issue 13 "Queue", docs/adr/0020-outbox-and-delivery.md):
// the DeliveryQueue contract in memory. Timers hold delayed jobs, a bounded number of handlers
// run at once, a job is ignored while the same (tenant, outbox row, hand) is already pending or
// running, and a handler that throws gets the same job again after a short doubling backoff.
// Nothing here survives the process, and nothing needs to: PostgreSQL holds every delivery and
// the relay hands rows that were handed but never started again.
import type { DeliveryJob, DeliveryQueue } from '../delivery/contracts.js';

export interface InProcessQueueOptions {
  /** First wait after a handler threw, ms; doubles per consecutive throw. Default 500. */
  retryBaseMs?: number;
  /** Longest wait after a handler threw, ms. Default 30 000. */
  retryMaxMs?: number;
  /** Told about each handler that threw (the job is run again). */
  onError?: (error: unknown, job: DeliveryJob) => void;
}

interface Entry {
  job: DeliveryJob;
  key: string;
  dueAt: number;
  /** Consecutive throws of the handler for this job. */
  throws: number;
}

/** setTimeout's largest delay; a longer one is waited out in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function jobKey(job: DeliveryJob): string {
  return `${job.tenantId}\u0000${job.outboxId}\u0000${job.hand}`;
}

export class InProcessQueue implements DeliveryQueue {
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  /** Keys of jobs pending (delayed or due) or running: the dedupe set. */
  private readonly known = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly due: Entry[] = [];
  private readonly running = new Set<Promise<void>>();
  private handler: ((job: DeliveryJob) => Promise<void>) | undefined;
  private concurrency = 1;
  private closed = false;

  constructor(private readonly options: InProcessQueueOptions = {}) {
    this.retryBaseMs = options.retryBaseMs ?? 500;
    this.retryMaxMs = options.retryMaxMs ?? 30_000;
  }

  async add(jobs: readonly { job: DeliveryJob; delayMs: number }[]): Promise<void> {
    if (this.closed) throw new Error('delivery queue is closed');
    const now = Date.now();
    for (const { job, delayMs } of jobs) {
      const key = jobKey(job);
      if (this.known.has(key)) continue;
      this.known.add(key);
      this.schedule({ job: { ...job }, key, dueAt: now + Math.max(0, delayMs), throws: 0 });
    }
  }

  consume(handler: (job: DeliveryJob) => Promise<void>, concurrency: number): void {
    if (this.handler) throw new Error('delivery queue already has a consumer');
    if (!(concurrency >= 1)) throw new RangeError('concurrency must be at least 1');
    this.handler = handler;
    this.concurrency = Math.floor(concurrency);
    this.pump();
  }

  async depth(): Promise<{ waiting: number; delayed: number; active: number }> {
    return { waiting: this.due.length, delayed: this.timers.size, active: this.running.size };
  }

  /** Stops the timers, drops what is pending and waits for the handlers running now. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.due.length = 0;
    this.known.clear();
    await Promise.all(this.running);
  }

  private schedule(entry: Entry): void {
    const wait = entry.dueAt - Date.now();
    if (wait <= 0) {
      this.due.push(entry);
      this.pump();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(entry.key);
      this.schedule(entry); // due now, or the next step of a very long delay
    }, Math.min(wait, MAX_TIMER_MS));
    // The embedded server's listening socket keeps the process alive; pending work alone should not.
    timer.unref();
    this.timers.set(entry.key, timer);
  }

  private pump(): void {
    while (this.handler && !this.closed && this.running.size < this.concurrency && this.due.length > 0) {
      this.start(this.due.shift()!, this.handler);
    }
  }

  private start(entry: Entry, handler: (job: DeliveryJob) => Promise<void>): void {
    const run = (async () => {
      try {
        await handler(entry.job);
        this.known.delete(entry.key);
      } catch (error) {
        try {
          this.options.onError?.(error, entry.job);
        } catch {
          // a failing error reporter must not lose the job
        }
        if (this.closed) return;
        entry.throws++;
        const backoff = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (entry.throws - 1));
        entry.dueAt = Date.now() + backoff;
        this.schedule(entry); // still in `known`: an add of the same job meanwhile is a no-op
      }
    })().finally(() => {
      this.running.delete(run);
      this.pump();
    });
    this.running.add(run);
  }
}
