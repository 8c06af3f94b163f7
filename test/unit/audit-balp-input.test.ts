// Unit tests for src/audit/balp/from-request.ts (issue 11): the event of each routed
// interaction (capabilities not audited), the request as the client sent it, the observer id;
// and the events as audit store rows.
import assert from 'node:assert/strict';
import { auditRowsOf, buildAuditEvents, observerId, requestOf, restEventOf } from '../../src/audit/balp/index.js';
import { ANONYMOUS_ACCESS, type FhirRequest } from '../../src/core/types.js';

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
