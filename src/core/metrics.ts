// Hearth's Prometheus metrics (issue 13; docs/metrics.md; the Prometheus text exposition format
// 0.0.4): HTTP request rate and latency by FHIR interaction, outbound delivery (attempts,
// latency, end-to-end lag, dead letters, circuit breakers) and the outbox and queue gauges read
// at scrape time. Each HearthMetrics owns its own prom-client Registry, never the global one,
// so a process (or a test) may hold several. Labels are bounded: never a path, a resource id or
// a tenant; delivery destinations are capped (see DESTINATION_CAP).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** 1 ms .. 10 s: a read by id takes a few ms, a large transaction or export page seconds. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** One call to a partner: a few ms on a LAN up to the delivery timeout (30 s and beyond). */
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Row creation to delivery: sub-second when healthy, hours while a partner is down. */
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400];

/** Distinct destination labels kept by default; later ones are reported as `other`. */
export const DESTINATION_CAP = 200;
/** A probe slower than this leaves the outbox and queue gauges unset for that scrape. */
const PROBE_TIMEOUT_MS = 5000;

/** Same values as BreakerState in src/jobs/delivery/contracts.ts (core cannot import jobs). */
export type CircuitState = 'closed' | 'open' | 'half-open';
const BREAKER_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Structurally the DeliveryMetrics of src/jobs/delivery/contracts.ts (same methods, same signatures). */
export interface DeliveryMetricsSink {
  attempt(destination: string, outcome: 'delivered' | 'retry' | 'reject' | 'open', seconds: number): void;
  delivered(destination: string, lagSeconds: number): void;
  deadLettered(destination: string): void;
  breakerState(destination: string, state: CircuitState): void;
}

export interface HttpMetricsSink {
  /** One HTTP request answered: its FHIR interaction (or 'other'), status and duration. */
  request(interaction: string, status: number, seconds: number): void;
}

/** What the outbox and queue look like now; read on every scrape. */
export interface OutboxSnapshot {
  backlog: { channel: string; count: number }[];
  /** Age of the oldest row not yet handed to the queue; null when there is none. */
  oldestAgeSeconds: number | null;
  queue?: { waiting: number; delayed: number; active: number };
}

export type OutboxProbe = () => Promise<OutboxSnapshot>;

export interface HearthMetricsOptions {
  /** Node.js process metrics under their standard names (process_*, nodejs_*); default true. */
  defaultMetrics?: boolean;
  /** Distinct delivery destinations with a label of their own (default DESTINATION_CAP). */
  destinationCap?: number;
  probeTimeoutMs?: number;
}

export class HearthMetrics {
  readonly registry = new Registry();
  readonly http: HttpMetricsSink;
  readonly delivery: DeliveryMetricsSink;
  private probe: OutboxProbe | undefined;
  private source: (() => Promise<string>) | undefined;
  /** The scrape in flight: the three probe gauges collect at once and share one probe call. */
  private pending: Promise<OutboxSnapshot | undefined> | undefined;
  private readonly probeTimeoutMs: number;
  private readonly destinations = new Set<string>();
  private readonly destinationCap: number;

  constructor(options: HearthMetricsOptions = {}) {
    const registers = [this.registry];
    this.probeTimeoutMs = options.probeTimeoutMs ?? PROBE_TIMEOUT_MS;
    this.destinationCap = options.destinationCap ?? DESTINATION_CAP;
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    const requests = new Counter({ name: 'hearth_http_requests_total', help: 'HTTP requests answered, by FHIR interaction (other: not a FHIR interaction) and status code', labelNames: ['interaction', 'status'], registers });
    const duration = new Histogram({ name: 'hearth_http_request_duration_seconds', help: 'Time from receiving an HTTP request to the end of its response, by FHIR interaction', labelNames: ['interaction'], buckets: HTTP_BUCKETS, registers });
    this.http = {
      request(interaction, status, seconds) {
        requests.inc({ interaction, status: String(status) });
        duration.observe({ interaction }, seconds);
      },
    };

    const attempts = new Counter({ name: 'hearth_delivery_attempts_total', help: 'Delivery attempts by destination and outcome (open: refused by the open circuit, no call made)', labelNames: ['destination', 'outcome'], registers });
    const attemptSeconds = new Histogram({ name: 'hearth_delivery_duration_seconds', help: 'Duration of one delivery attempt that called the partner', labelNames: ['destination'], buckets: ATTEMPT_BUCKETS, registers });
    const lag = new Histogram({ name: 'hearth_delivery_lag_seconds', help: 'End-to-end delivery lag: from the outbox row\'s creation to the partner\'s answer', labelNames: ['destination'], buckets: LAG_BUCKETS, registers });
    const deadLetters = new Counter({ name: 'hearth_delivery_dead_letters_total', help: 'Deliveries given up and kept as dead letters', labelNames: ['destination'], registers });
    // aggregator: in cluster mode (src/cluster.ts) the primary folds the processes' values; gauges
    // that each process reads from the same database or partner take the largest, not the sum.
    const breaker = new Gauge({ name: 'hearth_delivery_breaker_state', help: 'Circuit breaker state per destination: 0 closed, 1 half-open, 2 open', labelNames: ['destination'], registers, aggregator: 'max' });
    this.delivery = {
      attempt: (destination, outcome, seconds) => {
        const label = this.destinationLabel(destination);
        attempts.inc({ destination: label, outcome });
        // An attempt refused by the open circuit made no call: its ~0 s would skew the latency.
        if (outcome !== 'open') attemptSeconds.observe({ destination: label }, seconds);
      },
      delivered: (destination, lagSeconds) => lag.observe({ destination: this.destinationLabel(destination) }, lagSeconds),
      deadLettered: (destination) => deadLetters.inc({ destination: this.destinationLabel(destination) }),
      breakerState: (destination, state) => {
        const label = this.destinationLabel(destination);
        // Several destinations' states folded into `other` would mean nothing.
        if (label !== 'other') breaker.set({ destination: label }, BREAKER_VALUE[state]);
      },
    };

    // Gauges read at scrape time: each collect() sets them from the probe's snapshot, or leaves
    // them empty when there is no probe or it failed (a scrape never fails for it).
    const metrics = this;
    new Gauge({
      name: 'hearth_outbox_backlog', help: 'Outbox rows not yet delivered nor dead-lettered (pending or queued), by channel', labelNames: ['channel'], registers, aggregator: 'max',
      async collect() {
        this.reset();
        for (const { channel, count } of (await metrics.snapshot())?.backlog ?? []) this.set({ channel }, count);
      },
    });
    new Gauge({
      name: 'hearth_outbox_oldest_age_seconds', help: 'Age of the oldest outbox row not yet delivered nor dead-lettered (0 when there is none)', registers, aggregator: 'max',
      async collect() {
        const snapshot = await metrics.snapshot();
        // 0 for an empty outbox, so that an alert on age works; absent only when the probe failed
        // (remove(): a gauge without labels would otherwise read 0 after reset()).
        if (snapshot) this.set(snapshot.oldestAgeSeconds ?? 0);
        else this.remove();
      },
    });
    new Gauge({
      name: 'hearth_queue_depth', help: 'Delivery jobs in the queue: waiting (due), delayed (not yet due), active (running)', labelNames: ['state'], registers, aggregator: 'max',
      async collect() {
        this.reset();
        const queue = (await metrics.snapshot())?.queue;
        if (!queue) return;
        for (const state of ['waiting', 'delayed', 'active'] as const) this.set({ state }, queue[state]);
      },
    });
  }

  /** Where the outbox and queue gauges read from (wired to the database and the queue at start-up). */
  registerOutboxProbe(probe: OutboxProbe): void {
    this.probe = probe;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text for GET /metrics. */
  text(): Promise<string> {
    return this.source ? this.source() : this.registry.metrics();
  }

  /** Cluster mode: GET /metrics reads every process's registry, aggregated by the primary. */
  readFrom(source: () => Promise<string>): void {
    this.source = source;
  }

  /** One probe call per scrape, shared by the gauges collecting together; undefined on failure or timeout. */
  private snapshot(): Promise<OutboxSnapshot | undefined> {
    const probe = this.probe;
    if (!probe) return Promise.resolve(undefined);
    // async: a probe that throws synchronously fails this snapshot like a rejected one.
    this.pending ??= withTimeout((async () => probe())(), this.probeTimeoutMs)
      .catch(() => undefined)
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  private destinationLabel(destination: string): string {
    if (this.destinations.has(destination)) return destination;
    if (this.destinations.size >= this.destinationCap) return 'other';
    this.destinations.add(destination);
    return destination;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`probe timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
