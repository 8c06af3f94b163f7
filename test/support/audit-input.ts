// An AuditEvent builder input for unit tests (src/audit/balp/input.ts): a search by
// Practitioner/5 through `app` whose results named three patients; `over` replaces fields.
import type { AuditInput } from '../../src/audit/balp/index.js';

export const searchInput = (over: Partial<AuditInput> = {}): AuditInput => ({
  event: { kind: 'rest', interaction: 'search-type' },
  outcome: { status: 200 },
  period: { start: new Date('2026-12-05T10:00:00.000Z'), end: new Date('2026-12-05T10:00:00.040Z') },
  recorded: new Date('2026-12-05T10:00:00.041Z'),
  caller: { subject: 'user-7', clientId: 'app', fhirUser: 'Practitioner/5', tokenId: 'jti-1' },
  network: '10.0.0.8',
  server: { observer: 'https://hearth.example/fhir', tenantBase: 'https://hearth.example/t/a/fhir' },
  request: { id: 'req-1', method: 'GET', path: 'Observation', query: 'code=8867-4&_count=10' },
  patients: ['Patient/1', 'Patient/2', 'Patient/3'],
  ...over,
});
