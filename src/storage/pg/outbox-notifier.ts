// Tells relays that committed transactions appended outbox rows (issue 13; ADR 0020). A trigger
// sending NOTIFY from every writing transaction made PostgreSQL serialize those commits on its
// notification lock (measured: a fifth to a quarter of write throughput at 8 connections,
// docs/benchmarks.md "Issue 13"). Instead the repository reports each commit here, and this
// process sends one NOTIFY per tenant per short window after the commit, from a statement of its
// own, and nudges its own relay directly.
import type pg from 'pg';

export class OutboxNotifier {
  private readonly tenants = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly local: ((tenantId: string) => void)[] = [];
  private closed = false;

  /** `pool`: where to NOTIFY other processes (undefined: the embedded mode, one process). */
  constructor(
    private readonly pool: pg.Pool | undefined,
    private readonly windowMs = 25,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** A relay in this process. */
  subscribe(listener: (tenantId: string) => void): void {
    this.local.push(listener);
  }

  /** A transaction of `tenantId` that appended outbox rows has committed. */
  committed(tenantId: string): void {
    if (this.closed) return;
    this.tenants.add(tenantId);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.windowMs);
      this.timer.unref();
    }
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    const tenants = [...this.tenants];
    this.tenants.clear();
    for (const listener of this.local) for (const t of tenants) listener(t);
    if (!this.pool || tenants.length === 0) return;
    try {
      await this.pool.query({ name: 'hearth_outbox_notify', text: "SELECT pg_notify('hearth_outbox', t) FROM unnest($1::text[]) AS t", values: [tenants] });
    } catch (error) {
      this.onError(error); // relays poll too: a lost wake-up delays, never loses
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
