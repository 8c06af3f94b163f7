// The tenant side of the outbox on PostgreSQL (src/storage/outbox-store.ts; migration 0023):
// the rules generation read with BEGIN, the rules' sources, and the rows appended. Appends that
// ride on a version statement use outboxInsert() inside writeVersions' CTE (no round trip of
// their own, like the audit journal: docs/adr/0015-audit-rows-without-round-trips.md).
import type pg from 'pg';
import { valuesInserts, type RowField } from './row-values.js';
import { onCoordinator } from './tenant-session.js';
import type { OutboxEntry, OutboxRuleSource, OutboxStore } from '../outbox-store.js';

/** The INSERT of the rows in bind parameter `rows` (outboxJson) for tenant `tenant`. */
export function outboxInsert(tenant: string, rows: string): string {
  return (
    'INSERT INTO outbox (tenant_id, id, channel, target, resource_type, resource_id, version_id, action) ' +
    `SELECT ${tenant}, o.id, o.channel, o.target, o.resource_type, o.resource_id, o.version_id, o.action ` +
    `FROM json_to_recordset(${rows}::json) AS o(id uuid, channel text, target text, resource_type text, resource_id text, version_id int, action text)`
  );
}

/** The entries as outboxInsert reads them. */
function outboxRows(entries: readonly OutboxEntry[]): Record<string, unknown>[] {
  return entries.map((e) => ({ id: e.id, channel: e.channel, target: e.target, resource_type: e.resourceType, resource_id: e.resourceId, version_id: e.versionId, action: e.action }));
}

/** The entries as the JSON document outboxInsert reads. */
export function outboxJson(entries: readonly OutboxEntry[]): string {
  return JSON.stringify(outboxRows(entries));
}

const OUTBOX_FIELDS: readonly RowField[] = [
  { name: 'id', type: 'uuid' }, { name: 'channel', type: 'text' }, { name: 'target', type: 'text' }, { name: 'resource_type', type: 'text' },
  { name: 'resource_id', type: 'text' }, { name: 'version_id', type: 'int' }, { name: 'action', type: 'text' },
];

const APPEND = outboxInsert('$1', '$2');

export class PgOutboxStore implements OutboxStore {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly tenantId: string,
    private prefetchedGeneration?: string,
    private readonly appended: () => void = () => undefined,
  ) {}

  async rulesGeneration(): Promise<string> {
    if (this.prefetchedGeneration !== undefined) return this.prefetchedGeneration;
    const { rows } = await this.client.query<{ g: string }>({ name: 'outbox_rules_generation', text: 'SELECT hearth_outbox_rules_generation($1) AS g', values: [this.tenantId] });
    return rows[0].g;
  }

  async readRules(): Promise<OutboxRuleSource> {
    const destinations = await this.client.query<{ id: string; resource_types: string[]; criteria: string[] }>(
      'SELECT id, resource_types, criteria FROM sync_destination WHERE tenant_id = $1 AND enabled ORDER BY id',
      [this.tenantId],
    );
    const subscriptions = await this.client.query<{ id: string; content: string }>(
      'SELECT id, content FROM "subscription" WHERE tenant_id = $1 AND NOT deleted ORDER BY id',
      [this.tenantId],
    );
    return {
      destinations: destinations.rows.map((r) => ({ id: r.id, resourceTypes: r.resource_types, criteria: r.criteria })),
      subscriptions: subscriptions.rows,
    };
  }

  async append(entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (onCoordinator(this.client)) {
      // INSERT … VALUES on a Citus coordinator (row-values.ts, ADR 0024).
      const inserts = valuesInserts('outbox', `tenant_id, ${OUTBOX_FIELDS.map((f) => f.name).join(', ')}`, OUTBOX_FIELDS, outboxRows(entries), { lead: [{ value: this.tenantId }] });
      for (const insert of inserts) await this.client.query(insert);
    } else {
      await this.client.query({ name: 'outbox_append', text: APPEND, values: [this.tenantId, outboxJson(entries)] });
    }
    this.appended();
  }
}
