// Fills one tenant's audit trail for the audit benchmarks (bench:audit-verify, bench:audit-export):
// `total` events recorded evenly from `start` over `spanMs`, appended through PgAuditStore in
// multi-row batches by several concurrent writers, each batch one tenant transaction.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { auditHasher } from '../src/audit/chain/hasher.js';
import type { NewAuditRow } from '../src/storage/audit-store.js';
import { PgAuditStore } from '../src/storage/pg/audit-store.js';
import { inTenantTransaction } from '../src/storage/pg/tenant-session.js';

export interface FillOptions {
  total: number;
  writers: number;
  batch: number;
  start: number;
  spanMs: number;
  event(tenantId: string, recorded: Date, n: number): NewAuditRow;
}

/** Appends the events; resolves with the rows per second achieved. */
export async function fillAuditTrail(pool: pg.Pool, tenantId: string, o: FillOptions): Promise<number> {
  const step = o.spanMs / o.total;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: o.writers }, async () => {
      for (;;) {
        const from = next;
        if (from >= o.total) return;
        next = Math.min(o.total, from + o.batch);
        const rows: NewAuditRow[] = [];
        for (let i = from; i < next; i++) rows.push(o.event(tenantId, new Date(o.start + i * step), i));
        await inTenantTransaction(pool, tenantId, (c) => new PgAuditStore(c, tenantId, auditHasher).appendAuditEvents(rows));
      }
    }),
  );
  return o.total / ((performance.now() - t0) / 1000);
}

/** A BALP-shaped read event of about 600 bytes, about one of 5,000 patients. */
export function benchAuditEvent(tenantId: string, recorded: Date, n: number): NewAuditRow {
  const id = randomUUID();
  const patient = `Patient/p${n % 5000}`;
  const at = recorded.toISOString();
  const content = JSON.stringify({
    resourceType: 'AuditEvent',
    id,
    meta: { versionId: '1', lastUpdated: at },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
    action: 'R',
    period: { start: at, end: at },
    recorded: at,
    outcome: '0',
    agent: [{ who: { identifier: { value: 'bench-client' } }, requestor: true, network: { address: '127.0.0.1', type: '2' } }],
    source: { observer: { identifier: { value: 'hearth' } } },
    entity: [{ what: { reference: `Observation/o${n}/_history/1` } }, { what: { reference: patient }, role: { code: '1' } }],
  });
  return { tenantId, id, recorded, content, sp: { action: [{ code: 'R' }] }, patients: [patient] };
}
