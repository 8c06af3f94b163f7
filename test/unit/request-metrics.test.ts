// The interaction label of the HTTP request metrics (src/http/request-metrics.ts): FHIR
// interactions named from the method and path as the fhir layer names them, everything else
// 'other', and nothing unbounded (ids, tenants, paths) ever in the label.
import assert from 'node:assert/strict';
import { interactionOf } from '../../src/http/request-metrics.js';

describe('request metrics: interaction labels', () => {
  const cases: [method: string, path: string, expected: string, bundleType?: 'batch' | 'transaction'][] = [
    ['GET', '/fhir/Patient/123', 'read'],
    ['HEAD', '/t/acme/fhir/Patient/123', 'read'],
    ['GET', '/fhir/Patient/123/_history/2', 'vread'],
    ['GET', '/fhir/Patient/123/_history', 'history-instance'],
    ['GET', '/fhir/Patient/_history', 'history-type'],
    ['GET', '/fhir/_history', 'history-system'],
    ['GET', '/fhir/Patient', 'search-type'],
    ['POST', '/fhir/Patient/_search', 'search-type'],
    ['GET', '/fhir', 'search-system'],
    ['GET', '/fhir/', 'search-system'],
    ['POST', '/fhir/_search', 'search-system'],
    ['POST', '/t/acme/fhir/Patient', 'create'],
    ['PUT', '/fhir/Patient/123', 'update'],
    ['PUT', '/fhir/Patient', 'update'],
    ['PATCH', '/fhir/Patient/123', 'patch'],
    ['DELETE', '/fhir/Patient/123', 'delete'],
    ['DELETE', '/fhir/Patient', 'delete'],
    ['GET', '/fhir/metadata', 'capabilities'],
    ['POST', '/fhir/$reindex', 'operation'],
    ['GET', '/fhir/ValueSet/$expand', 'operation'],
    ['POST', '/fhir/Patient/1/$everything', 'operation'],
    ['POST', '/fhir', 'transaction', 'transaction'],
    ['POST', '/t/acme/fhir', 'batch', 'batch'],
    // A body that never parsed: named as the audit trail names it (fhir/unrouted-target.ts).
    ['POST', '/fhir', 'batch'],
    ['GET', '/healthz', 'other'],
    ['GET', '/readyz', 'other'],
    ['GET', '/', 'other'],
    ['GET', '/fhirx/Patient', 'other'],
    ['POST', '/fhir/auth/token', 'other'],
    ['GET', '/t/acme/fhir/auth/authorize', 'other'],
    ['GET', '/fhir/admin/clients', 'other'],
    ['GET', '/fhir/.well-known/smart-configuration', 'other'],
    ['OPTIONS', '/fhir/Patient', 'other'],
    ['GET', '/fhir/Patient/%E0%A4%A', 'other'],
  ];
  for (const [method, path, expected, bundleType] of cases) {
    it(`${method} ${path}${bundleType ? ` (${bundleType})` : ''} -> ${expected}`, () => {
      assert.equal(interactionOf(method, path, bundleType), expected);
    });
  }
});
