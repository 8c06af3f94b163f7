// src/audit/event-index.ts: indexing the "who and where" part of an AuditEvent once and the
// "what" part per event gives exactly the index of the whole event, for every kind of event the
// recorder builds — first time and from the cache.
import assert from 'node:assert/strict';
import { buildAuditEvents, type AuditInput } from '../../src/audit/balp/index.js';
import { AuditEventIndexer } from '../../src/audit/event-index.js';
import { createIndexer } from '../../src/search/indexer.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';

const base = (): Omit<AuditInput, 'event'> => ({
  outcome: { status: 200 },
  period: { start: new Date('2026-12-04T10:00:00.000Z'), end: new Date('2026-12-04T10:00:00.120Z') },
  recorded: new Date('2026-12-04T10:00:00.121Z'),
  caller: { subject: 'anonymous' },
  network: '127.0.0.1',
  server: { observer: 'https://hearth.example/fhir', tenantBase: 'https://hearth.example/t/a/fhir' },
  request: { id: 'req-1', method: 'GET', path: 'Patient/1', query: '' },
});

const inputs: AuditInput[] = [
  { ...base(), event: { kind: 'rest', interaction: 'read' }, entities: [{ reference: 'Patient/1', versionId: 3 }], patients: ['Patient/1'] },
  { ...base(), event: { kind: 'rest', interaction: 'search-type' }, request: { id: 'r2', method: 'GET', path: 'Observation', query: 'code=8867-4&_count=10' }, patients: ['Patient/1', 'Patient/2', 'Patient/3'] },
  { ...base(), event: { kind: 'rest', interaction: 'create', bundleEntry: { bundleType: 'transaction', index: 4 } }, entities: [{ reference: 'Observation/o', versionId: 1 }], patients: ['Patient/9'], caller: { subject: 'user-7', clientId: 'app', fhirUser: 'Practitioner/5', tokenId: 'jti-1' } },
  { ...base(), event: { kind: 'rest', interaction: 'delete' }, outcome: { status: 403, code: 'forbidden' }, entities: [{ reference: 'Patient/1' }], caller: { subject: 'svc', clientId: 'svc', tokenId: 'jti-2' }, network: 'client.example' },
  { ...base(), event: { kind: 'rest', interaction: 'operation', operation: { name: 'export-ndjson' } }, request: { id: 'r3', method: 'GET', path: 'AuditEvent/$export-ndjson', query: '_since=2026-01-01' } },
  { ...base(), event: { kind: 'security', event: 'token-issued' }, caller: { subject: 'user-7', clientId: 'app', fhirUser: 'Patient/1', tokenId: 'jti-3' } },
  { ...base(), event: { kind: 'security', event: 'login-failed' }, outcome: { status: 401, code: 'security' }, caller: { subject: 'anonymous' } },
  // A patient's own app reading another patient's data: `patient` reads agent.who and entity.what alike.
  { ...base(), event: { kind: 'rest', interaction: 'search-type' }, caller: { subject: 'p9', clientId: 'portal', fhirUser: 'Patient/p9' }, patients: ['Patient/child'] },
];

describe('AuditEventIndexer', () => {
  const registry = createSearchRegistry();
  const indexer = createIndexer(registry);
  // As the recorder has it: each event's own part evaluated with the parameters that can read it only.
  const split = new AuditEventIndexer(registry);

  it('gives the whole event\'s index for every kind of event, first time and cached', () => {
    for (const input of inputs) {
      for (const event of buildAuditEvents(input)) {
        const whole = indexer(event as never);
        assert.ok(Object.keys(whole).length > 5, 'the event is indexed at all');
        assert.deepEqual(split.index(event), whole, `${JSON.stringify(input.event)} first`);
        assert.deepEqual(split.index(event), whole, `${JSON.stringify(input.event)} cached`);
      }
    }
  });

  it('does not carry one event\'s entities or date into another\'s index', () => {
    const [a] = buildAuditEvents(inputs[0]);
    const [b] = buildAuditEvents({ ...inputs[0], entities: [{ reference: 'Patient/2', versionId: 1 }], patients: ['Patient/2'], recorded: new Date('2027-01-01T00:00:00Z') });
    split.index(a);
    const second = split.index(b);
    assert.deepEqual(second, indexer(b as never));
    assert.ok(!JSON.stringify(second).includes('Patient/1'));
  });
});
