// Unit tests for src/audit/balp/from-request.ts (issue 11): the event of each routed
// interaction (capabilities not audited), the request as the client sent it, the observer id;
// and the events as audit store rows.
import assert from 'node:assert/strict';
import { auditRowsOf, buildAuditEvents, observerId, requestOf, restEventOf } from '../../src/audit/balp/index.js';
import { ANONYMOUS_ACCESS, type FhirRequest } from '../../src/core/types.js';
import { createIndexer } from '../../src/search/indexer.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';

const request = (path: string[], query: string): FhirRequest => ({
  method: 'GET',
  tenantId: 'acme',
  baseUrl: 'https://h.example/t/acme/fhir',
  path,
  query: new URLSearchParams(query),
  prefer: {},
  access: ANONYMOUS_ACCESS,
  requestId: 'req-77',
});

describe('AuditEvent input from the FHIR layer (src/audit/balp/from-request.ts)', () => {
  it('maps routed targets to events; capabilities is not audited', () => {
    assert.equal(restEventOf({ interaction: 'capabilities' }), undefined);
    assert.deepEqual(restEventOf({ interaction: 'read', resourceType: 'Patient', id: 'p1' }), { kind: 'rest', interaction: 'read' });
    assert.deepEqual(restEventOf({ interaction: 'operation', operation: 'reindex' }, { definition: 'https://h.example/OperationDefinition/reindex' }), {
      kind: 'rest', interaction: 'operation', operation: { name: 'reindex', definition: 'https://h.example/OperationDefinition/reindex' },
    });
    assert.deepEqual(restEventOf({ interaction: 'create', resourceType: 'Patient' }, { bundleEntry: { bundleType: 'batch', index: 2 } }), {
      kind: 'rest', interaction: 'create', bundleEntry: { bundleType: 'batch', index: 2 },
    });
  });

  it('records the raw query when given, so the event holds exactly what was sent', () => {
    const raw = 'name=M%C3%BCller&birthdate=ge1970&_count=5';
    const req = request(['Patient'], raw);
    assert.deepEqual(requestOf(req, raw), { id: 'req-77', method: 'GET', path: 'Patient', query: raw });
    // Without it the parsed query is re-encoded: equivalent, not necessarily identical.
    assert.equal(new URLSearchParams(requestOf(request(['Patient'], 'a=b c')).query).get('a'), 'b c');
    const [event] = buildAuditEvents({
      event: restEventOf({ interaction: 'search-type', resourceType: 'Patient' })!,
      outcome: { status: 200 },
      period: { start: new Date(0), end: new Date(1) },
      recorded: new Date(2),
      caller: ANONYMOUS_ACCESS,
      server: { observer: 'https://h.example', tenantBase: req.baseUrl },
      request: requestOf(req, raw),
    });
    const query = event.entity!.find((e) => e.role?.code === '24')!;
    assert.equal(Buffer.from(query.query!, 'base64').toString('utf8'), raw);
    assert.equal(query.description, 'GET Patient');
  });

  it('observer id: the setting, else the public base URL, else the origin', () => {
    assert.equal(observerId({ setting: 'urn:oid:1.2.3', publicBaseUrl: 'https://fhir.example.org', origin: 'http://127.0.0.1:8080' }), 'urn:oid:1.2.3');
    assert.equal(observerId({ publicBaseUrl: 'https://fhir.example.org/', origin: 'http://127.0.0.1:8080' }), 'https://fhir.example.org');
    assert.equal(observerId({ setting: '  ', origin: 'http://127.0.0.1:8080' }), 'http://127.0.0.1:8080');
    assert.throws(() => observerId({ origin: '' }), /empty/);
  });
});

describe('AuditEvents as audit store rows (src/audit/balp/rows.ts)', () => {
  it('one row per event: id, recorded, the JSON text as built, the patients, the index the caller computes', () => {
    const events = buildAuditEvents({
      event: { kind: 'rest', interaction: 'search-type' },
      outcome: { status: 200 },
      period: { start: new Date(0), end: new Date(1) },
      recorded: new Date('2026-12-04T10:00:00.125Z'),
      caller: ANONYMOUS_ACCESS,
      server: { observer: 'https://h.example' },
      request: { query: 'code=x' },
      patients: ['Patient/a', 'Patient/b'],
    });
    const rows = auditRowsOf('acme', events, (resource) => ({ seen: resource.id as string }));
    assert.equal(rows.length, 2);
    rows.forEach((row, i) => {
      assert.equal(row.tenantId, 'acme');
      assert.equal(row.id, events[i].id);
      assert.equal(row.recorded.toISOString(), '2026-12-04T10:00:00.125Z');
      assert.deepEqual(JSON.parse(row.content), events[i]);
      assert.ok(row.content.startsWith('{"resourceType":"AuditEvent"'));
      assert.deepEqual(row.sp, { seen: events[i].id });
    });
    assert.deepEqual(rows.map((r) => r.patients), [['Patient/a'], ['Patient/b']]);
    assert.equal(auditRowsOf('acme', events)[0].sp, null);
  });
});

describe('AuditEvent search index (the R4 indexer, no audit-specific one)', () => {
  it('the resource tables\' indexer gives the entries the auditor searches need', () => {
    const indexer = createIndexer(createSearchRegistry());
    const events = buildAuditEvents({
      event: { kind: 'rest', interaction: 'read' },
      outcome: { status: 200 },
      period: { start: new Date(0), end: new Date(1) },
      recorded: new Date(2),
      caller: { subject: 'u1', clientId: 'app-1', fhirUser: 'Practitioner/d1', tokenId: 'jti-9' },
      network: '10.0.0.1',
      server: { observer: 'https://h.example', tenantBase: 'https://h.example/fhir' },
      entities: [{ reference: 'Observation/o1', versionId: 2 }],
      patients: ['Patient/p1'],
    });
    const [row] = auditRowsOf('acme', events, (resource) => indexer(resource) as never);
    const sp = row.sp as Record<string, unknown[]>;
    assert.deepEqual(sp.patient, ['Patient/p1', 'p1']);
    assert.ok(sp.entity.includes('Observation/o1'));
    assert.deepEqual(sp.policy, ['jti-9']);
    assert.ok(sp.agent.includes('Practitioner/d1'));
    assert.deepEqual(sp.altid, [{ s: null, c: 'u1' }]);
    assert.ok((sp['agent:identifier'] as Array<{ c: string }>).some((t) => t.c === 'app-1'));
    assert.ok(sp.address.includes('10.0.0.1'));
    // A code element: with and without its bound system (search/registry/code-systems.ts).
    assert.deepEqual(sp.action, [{ s: null, c: 'R' }, { s: 'http://hl7.org/fhir/audit-event-action', c: 'R' }]);
    assert.deepEqual(sp.outcome, [{ s: null, c: '0' }, { s: 'http://hl7.org/fhir/audit-event-outcome', c: '0' }]);
    assert.deepEqual(sp.subtype, [{ s: 'http://hl7.org/fhir/restful-interaction', c: 'read' }]);
    assert.ok(sp.date);
  });
});
