// Shared setup of the outbound delivery tests (issue 13): destinations written the way the admin
// store writes them, the outbox as the database holds it, delivery settings short enough for tests.
import type pg from 'pg';
import type { Config } from '../../src/core/config.js';

/** Delivery settings that make retries, breakers and stale hand-overs happen within a test. */
export const FAST_DELIVERY: Partial<Config> = {
  deliveryWorker: true,
  relayPollMs: 100,
  relayStaleMs: 1500,
  deliveryLeaseMs: 2000,
  deliveryTimeoutMs: 2000,
  deliveryBackoffMs: 20,
  deliveryBackoffMaxMs: 2000,
  deliveryMaxAttempts: 10,
  breakerFailureThreshold: 3,
  breakerResetMs: 300,
};

export const tenantOf = (base: string): string => decodeURIComponent(/\/t\/([^/]+)\/fhir$/.exec(base)![1]);

export async function addDestination(
  pool: pg.Pool,
  tenantId: string,
  d: { id: string; endpoint: string; resourceTypes: string[]; criteria?: string[]; mode?: 'put' | 'conditional'; enabled?: boolean },
): Promise<void> {
  await pool.query(
    'INSERT INTO sync_destination (tenant_id, id, endpoint, resource_types, criteria, mode, enabled) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [tenantId, d.id, d.endpoint, d.resourceTypes, d.criteria ?? [], d.mode ?? 'put', d.enabled ?? true],
  );
}

export interface OutboxState {
  id: string;
  status: string;
  resource: string;
  version_id: number;
  attempts: number;
  last_status: number | null;
  last_outcome: unknown;
  target: string;
  channel: string;
}

export async function outboxOf(pool: pg.Pool, tenantId: string): Promise<OutboxState[]> {
  const { rows } = await pool.query<OutboxState>(
    `SELECT id::text, status, resource_type || '/' || resource_id AS resource, version_id, attempts, last_status, last_outcome, target, channel FROM outbox WHERE tenant_id = $1 ORDER BY created_at`,
    [tenantId],
  );
  return rows;
}

export async function waitFor<T>(probe: () => Promise<T>, accept: (value: T) => boolean, ms = 15_000, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const immunization = (patient: string, status = 'completed', extra: Record<string, unknown> = {}) => ({
  resourceType: 'Immunization',
  status,
  vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '207' }] },
  patient: { reference: `Patient/${patient}` },
  occurrenceDateTime: '2026-11-30',
  ...extra,
});
