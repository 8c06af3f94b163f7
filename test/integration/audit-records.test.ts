// One stored record per interaction, its per-patient AuditEvents derived from it (issue 11;
// docs/adr/0017-audit-records-per-interaction.md; migrations/0019): what a search of three
// patients stores, that each patient's event is served exactly as built — by read, search and
// export — and the attacks on the separation BALP asks for: a search, a chain, an include, the
// access report or a patient-confined token about patient A never yields B's event of the same
// interaction, and removing B's row to hide the access is a break that verify names.
import assert from 'node:assert/strict';
import type { AuditEvent } from 'fhir/r4.js';
import type pg from 'pg';
import { buildAuditEvents, type AuditInput } from '../../src/audit/balp/index.js';
import { interactionRowsOf } from '../../src/audit/balp/record-rows.js';
import { AuditEventIndexer } from '../../src/audit/event-index.js';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import { createFhirService, type FhirComposition } from '../../src/compose.js';
import { loadConfig } from '../../src/core/config.js';
import type { AccessContext, JsonObject } from '../../src/core/types.js';
import { ANONYMOUS_ACCESS } from '../../src/core/types.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import { readAuditExportPage } from '../../src/storage/pg/audit-export.js';
import { sealAuditTrail } from '../../src/storage/pg/audit-seal.js';
import { PgAuditStore } from '../../src/storage/pg/audit-store.js';
import { verifyAuditTrail } from '../../src/storage/pg/audit-verify.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { requestsTo, type SendAs } from '../support/service-requests.js';
import { requireServices } from '../support/services.js';

const RECORDED = new Date('2026-11-20T10:00:00.000Z');
const indexer = new AuditEventIndexer(createSearchRegistry());

/** A search by Practitioner/pr1 whose results held data of patients a, b and c. */
const searchOfThree: AuditInput = {
  event: { kind: 'rest', interaction: 'search-type' },
  outcome: { status: 200 },
  period: { start: RECORDED, end: RECORDED },
  recorded: RECORDED,
  caller: { clientId: 'app-1', subject: 'alice', fhirUser: 'Practitioner/pr1', tokenId: 'jti-1' },
  network: '10.0.0.1',
  server: { observer: 'https://hearth.test/fhir' },
  request: { id: 'req-3', method: 'GET', path: 'Observation', query: 'code=8867-4' },
  patients: ['Patient/a', 'Patient/b', 'Patient/c'],
};

const patientOf = (event: AuditEvent | JsonObject) => JSON.stringify(event).match(/Patient\/[abc]\b/g) ?? [];
const idsOf = (body: JsonObject | undefined, type = 'AuditEvent') =>
  ((body?.entry as { resource: { resourceType: string; id: string } }[] | undefined) ?? []).filter((e) => e.resource.resourceType === type).map((e) => e.resource.id).sort();

describe('audit records per interaction (integration, ADR 0017)', function () {
  let pool: pg.Pool;
  let composition: FhirComposition;
  let tenant: string;
  let send: SendAs;
  let events: AuditEvent[];
  const byPatient: Record<string, AuditEvent> = {};

  before(async function () {
    await requireServices(this);
    pool = await testPool();
    composition = createFhirService(loadConfig({ HEARTH_AUDIT: 'off' }), { pool, mode: 'postgres', close: async () => undefined });
    tenant = await newTenant(pool);
    send = requestsTo(composition.service, () => tenant);
    for (const [id, name] of [['a', 'Alpha'], ['b', 'Bravo'], ['c', 'Charlie']]) {
      const reply = await send(ANONYMOUS_ACCESS, 'PUT', `Patient/${id}`, { body: { resourceType: 'Patient', id, name: [{ family: name }] }, bodyKind: 'resource' });
      assert.equal(reply.status, 201);
    }
    events = buildAuditEvents(searchOfThree);
    for (const event of events) byPatient[patientOf(event)[0] ?? ''] = event;
    const rows = interactionRowsOf(tenant, events, (resource) => indexer.index(resource as never) as unknown as JsonObject);
    await inTenantTransaction(pool, tenant, (client) => new PgAuditStore(client, tenant, auditHasher).appendAuditEvents(rows));
  });

  after(async () => {
    await composition?.maintenance.close();
  });

  it('stores one record and a small row per patient, not three whole events', async () => {
    const { rows } = await pool.query<{ patients: string[]; bytes: number }>(
      'SELECT patients, octet_length(content) AS bytes FROM audit_trail WHERE tenant_id = $1 ORDER BY cardinality(patients) DESC, patients',
      [tenant],
    );
    assert.deepEqual(rows.map((r) => r.patients), [['Patient/a', 'Patient/b', 'Patient/c'], ['Patient/a'], ['Patient/b'], ['Patient/c']]);
    const whole = JSON.stringify(events[0]).length;
    for (const row of rows.slice(1)) assert.ok(row.bytes < whole / 4, `a patient row of ${row.bytes} bytes against ${whole} for the event`);
  });

  it('serves each patient event exactly as built: read, search and export', async () => {
    for (const event of events) {
      const read = await send(ANONYMOUS_ACCESS, 'GET', `AuditEvent/${event.id}`);
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, event);
    }
    const all = await send(ANONYMOUS_ACCESS, 'GET', 'AuditEvent?_count=50');
    assert.deepEqual(idsOf(all.body), events.map((e) => e.id).sort());
    const page = await readAuditExportPage(pool, tenant, {}, undefined);
    assert.deepEqual([...page.contents].sort(), events.map((e) => JSON.stringify(e)).sort());
  });

  const aboutA: [string, string][] = [
    ['patient=Patient/a', 'AuditEvent?patient=Patient/a'],
    ['entity=Patient/a', 'AuditEvent?entity=Patient/a'],
    ['a chain to the patient', 'AuditEvent?patient:Patient.name=Alpha'],
    ['patient and a shared parameter', 'AuditEvent?patient=a&agent=Practitioner/pr1&address=10.0.0.1'],
  ];
  for (const [name, path] of aboutA) {
    it(`a search about patient a (${name}) returns a's event and not b's or c's of the same interaction`, async () => {
      const reply = await send(ANONYMOUS_ACCESS, 'GET', path);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(idsOf(reply.body), [byPatient['Patient/a'].id]);
      assert.deepEqual([...new Set(patientOf(reply.body!))], ['Patient/a']);
    });
  }

  it('an include from patient a, and its access report, hold a\'s event only', async () => {
    const included = await send(ANONYMOUS_ACCESS, 'GET', 'Patient?_id=a&_revinclude=AuditEvent:patient');
    assert.deepEqual(idsOf(included.body), [byPatient['Patient/a'].id]);
    const report = await send(ANONYMOUS_ACCESS, 'GET', 'Patient/a/$access-report');
    assert.equal(report.status, 200, JSON.stringify(report.body));
    assert.deepEqual(idsOf(report.body), [byPatient['Patient/a'].id]);
    const forward = await send(ANONYMOUS_ACCESS, 'GET', `AuditEvent?_id=${byPatient['Patient/b'].id}&_include=AuditEvent:patient`);
    assert.deepEqual(idsOf(forward.body, 'Patient'), ['b']);
  });

  it("a token confined to patient a sees a's event of the interaction, and neither finds nor reads b's", async () => {
    const confined: AccessContext = { subject: 'app', scopes: ['patient/AuditEvent.rs'], patient: 'a', isAdmin: false };
    const found = await send(confined, 'GET', 'AuditEvent');
    assert.equal(found.status, 200, JSON.stringify(found.body));
    assert.deepEqual(idsOf(found.body), [byPatient['Patient/a'].id]);
    assert.deepEqual(idsOf((await send(confined, 'GET', 'AuditEvent?patient=Patient/b')).body), []);
    const other = await send(confined, 'GET', `AuditEvent/${byPatient['Patient/b'].id}`);
    assert.notEqual(other.status, 200);
    assert.deepEqual(patientOf(other.body ?? {}), []);
  });

  it('joins each served row to its interaction by a LEAKPROOF key that never fails, so the join can use the id index under row-level security', async () => {
    const { rows } = await pool.query<{ proleakproof: boolean }>("SELECT proleakproof FROM pg_proc WHERE proname = 'hearth_audit_interaction_id'");
    assert.deepEqual(rows, [{ proleakproof: true }]);
    const key = async (content: string) => (await pool.query<{ k: string }>('SELECT hearth_audit_interaction_id($1, $2) AS k', [content, 'own-id'])).rows[0].k;
    assert.equal(await key('{"record":"01a2-rec","entity":{}}'), '01a2-rec');
    assert.equal(await key('{"resourceType":"AuditEvent","id":"own-id"}'), 'own-id');
    assert.equal(await key('{"record":"unterminated'), '');
    assert.equal(await key('not json at all'), 'own-id');
  });

  it("removing b's row to hide the access is a break that verify names", async () => {
    const sealed = await sealAuditTrail(pool, auditHasher, tenant, { now: new Date(RECORDED.getTime() + 86_400_000) });
    assert.equal(sealed.rows, 4);
    assert.equal((await verifyAuditTrail(pool, auditHasher, { tenantId: tenant })).intact, true);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query('DELETE FROM audit_trail WHERE tenant_id = $1 AND id = $2', [tenant, byPatient['Patient/b'].id]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const verified = await verifyAuditTrail(pool, auditHasher, { tenantId: tenant });
    assert.equal(verified.intact, false);
    assert.match(JSON.stringify(verified), /covers 4 rows but 3 are in its range/);
  });
});
