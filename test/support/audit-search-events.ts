// AuditEvents for the auditor-access tests (issue 11 "Auditor access"): built by the BALP
// builder, indexed by the R4 indexer and appended through PgAuditStore, as the journal's expander
// does; and a search followed page by page.
import assert from 'node:assert/strict';
import type { AuditEvent, Bundle } from 'fhir/r4.js';
import { buildAuditEvents, type AuditInput } from '../../src/audit/balp/index.js';
import { interactionRowsOf } from '../../src/audit/balp/record-rows.js';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import type { JsonObject } from '../../src/core/types.js';
import { createIndexer } from '../../src/search/indexer.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import { PgAuditStore } from '../../src/storage/pg/audit-store.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { http, type HttpResult } from './http.js';
import type { TestServer } from './test-server.js';

const SERVER = { observer: 'https://hearth.test/fhir', tenantBase: 'https://hearth.test/fhir/t/x/fhir' };
const index = createIndexer(createSearchRegistry());

/** The events of one interaction, as the request path builds them (defaults: a read by Practitioner/pr1 through app-1). */
export function auditEvents(input: Partial<AuditInput> & Pick<AuditInput, 'event' | 'recorded'>): AuditEvent[] {
  return buildAuditEvents({
    outcome: { status: 200 },
    period: { start: input.recorded, end: input.recorded },
    caller: { clientId: 'app-1', subject: 'alice', fhirUser: 'Practitioner/pr1', tokenId: 'jti-1' },
    network: '10.0.0.1',
    server: SERVER,
    ...input,
  });
}

export const tenantOf = (base: string) => /\/t\/([^/]+)\/fhir$/.exec(base)![1];

/** What the events of one interaction share: everything but their id and their patient entity. */
const interactionKey = (event: AuditEvent) =>
  JSON.stringify({ ...event, id: undefined, entity: (event.entity ?? []).filter((e) => e.role?.code !== '1') });

/**
 * Appends events through PgAuditStore with the R4 indexer, as the journal's expander does: the
 * events of one interaction (one auditEvents call) about two patients or more as a record and a
 * row per patient (ADR 0017), the others whole.
 */
export async function appendEvents(server: TestServer, base: string, events: readonly AuditEvent[]): Promise<void> {
  const tenantId = tenantOf(base);
  const interactions = new Map<string, AuditEvent[]>();
  for (const event of events) interactions.set(interactionKey(event), [...(interactions.get(interactionKey(event)) ?? []), event]);
  const rows = [...interactions.values()].flatMap((group) => interactionRowsOf(tenantId, group, (resource) => index(resource) as JsonObject));
  await inTenantTransaction(server.server.database.pool, tenantId, (client) => new PgAuditStore(client, tenantId, auditHasher).appendAuditEvents(rows));
}

/** Every page of a search, following next links: the match ids in order, and the pages read. */
export async function allIds(url: string, headers: Record<string, string> = {}): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let next: string | undefined = url;
  let pages = 0;
  while (next) {
    const res: HttpResult<Bundle> = await http<Bundle>(next, { headers });
    assert.equal(res.status, 200, `${next}: ${res.text}`);
    assert.equal(res.body.type, 'searchset');
    ids.push(...(res.body.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!));
    next = res.body.link?.find((l) => l.relation === 'next')?.url;
    pages++;
    assert.ok(pages < 100, 'paging does not end');
  }
  return { ids, pages };
}

/** Ids newest first, in the trail's (recorded, id) order. */
export const newestFirst = (events: readonly AuditEvent[]) =>
  [...events].sort((a, b) => b.recorded.localeCompare(a.recorded) || (a.id! < b.id! ? 1 : -1)).map((e) => e.id!);
