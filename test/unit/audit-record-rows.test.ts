// One interaction's AuditEvents as trail rows (src/audit/balp/record-rows.ts; ADR 0017): about two
// patients or more, a record and a row per patient from which each patient's event is derived
// byte for byte (derivedEventText is what the view audit_events computes); about fewer, whole
// events; and the search index split between the record (shared) and each row (its own).
import assert from 'node:assert/strict';
import { buildAuditEvents, type AuditInput } from '../../src/audit/balp/index.js';
import { derivedEventText, interactionRowsOf } from '../../src/audit/balp/record-rows.js';
import { AuditEventIndexer } from '../../src/audit/event-index.js';
import type { JsonObject } from '../../src/core/types.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import { searchInput } from '../support/audit-input.js';

/** The search input, with a request id and query that JSON must escape. */
const input = (over: Partial<AuditInput> = {}): AuditInput =>
  searchInput({ request: { id: 'req-"1"', method: 'GET', path: 'Observation', query: 'code=8867-4&name=Zoë "x"' }, ...over });

const indexer = new AuditEventIndexer(createSearchRegistry());
const index = (resource: JsonObject) => indexer.index(resource as never) as unknown as JsonObject;

describe('audit record rows', () => {
  const multi: [string, AuditInput][] = [
    ['a search of three patients', input()],
    ['a system search with no request id', input({ event: { kind: 'rest', interaction: 'search-system' }, request: { method: 'GET', path: '', query: '_type=Observation' } })],
    ['an update of a resource about two patients', input({ event: { kind: 'rest', interaction: 'update' }, entities: [{ reference: 'Group/g', versionId: 3 }], patients: ['Patient/a', 'Patient/b'] })],
    ['an operation in a transaction entry', input({ event: { kind: 'rest', interaction: 'operation', operation: { name: 'everything' }, bundleEntry: { bundleType: 'transaction', index: 4 } }, patients: ['Patient/x', 'Patient/y'] })],
    // R4's AuditEvent `patient` also reads agent.who: a patient's own app names the patient there.
    ['a search by a patient user', input({ caller: { subject: 'p9', clientId: 'portal', fhirUser: 'Patient/p9' }, patients: ['Patient/p9', 'Patient/child'] })],
  ];
  for (const [name, given] of multi) {
    it(`${name}: each patient's event derives exactly from the record and its row`, () => {
      const events = buildAuditEvents(given);
      const rows = interactionRowsOf('t1', events, index);
      assert.equal(rows.length, events.length + 1);
      const [record, ...patientRows] = rows;
      assert.deepEqual(record.patients, events.map((e) => e.entity!.at(-1)!.what!.reference));
      events.forEach((event, i) => {
        const row = patientRows[i];
        assert.equal(row.id, event.id);
        assert.equal(derivedEventText(record.content, record.id, row.id, row.content), JSON.stringify(event));
        // The index: the record's and the row's together are the event's own, split by parameter.
        const whole = index(event as unknown as JsonObject)!;
        assert.deepEqual({ ...record.sp, ...row.sp }, whole);
        assert.ok(Object.keys(row.sp!).every((k) => /^(patient|entity)(:|$)/.test(k)), Object.keys(row.sp!).join());
        assert.ok(Object.keys(record.sp!).every((k) => !/^(patient|entity)(:|$)/.test(k)), Object.keys(record.sp!).join());
      });
    });
  }

  it('a record is told from the events by what the chain hashes: two patients or more; a patient row by its content', () => {
    const [record, ...patientRows] = interactionRowsOf('t1', buildAuditEvents(input()), index);
    assert.ok(record.patients.length >= 2);
    assert.ok(record.content.startsWith(`{"resourceType":"AuditEvent","id":"${record.id}"`));
    for (const row of patientRows) assert.ok(row.content.startsWith('{"record":') && row.patients.length === 1);
  });

  it('an interaction about one patient, or none, is stored as whole events', () => {
    for (const given of [input({ patients: ['Patient/1'] }), input({ patients: [] }), input({ outcome: { status: 403, code: 'forbidden' } })]) {
      const events = buildAuditEvents(given);
      const rows = interactionRowsOf('t1', events, index);
      assert.deepEqual(rows.map((r) => r.content), events.map((e) => JSON.stringify(e)));
      assert.ok(rows.every((r) => r.patients.length <= 1));
    }
  });
});
