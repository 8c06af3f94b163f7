// Unit tests for src/fhir/append-only.ts as the router applies it (issue 11): every write
// method on AuditEvent's type and instance URLs is refused with 405 and Allow: GET before an
// interaction is chosen, for the administrator too; reads, searches (GET and POST _search),
// history and other types' writes still route; the CapabilityStatement input loses the writes.
import assert from 'node:assert/strict';
import { FhirError } from '../../src/core/errors.js';
import type { FhirRequest, HttpMethod } from '../../src/core/types.js';
import { routedRequest, routingOptions, untouchedDeps } from '../support/routing.js';
import { APPEND_ONLY_TYPES, isAppendOnly, withoutRefusedWrites } from '../../src/fhir/append-only.js';
import { TYPE_INTERACTIONS } from '../../src/fhir/interactions/capabilities.js';
import { route } from '../../src/fhir/router.js';

// Routing never calls into deps. The open mode's caller is an administrator: the rule binds it too.
const deps = untouchedDeps;
const options = routingOptions;
const req = (method: HttpMethod, path: string, query = ''): FhirRequest =>
  routedRequest(method, path, query, { body: { resourceType: 'AuditEvent' }, bodyKind: 'resource' });

describe('AuditEvent is append-only (router, src/fhir/append-only.ts)', () => {
  it('AuditEvent is the append-only type', () => {
    assert.deepEqual([...APPEND_ONLY_TYPES], ['AuditEvent']);
    assert.equal(isAppendOnly('AuditEvent'), true);
    assert.equal(isAppendOnly('Patient'), false);
  });

  const refused: ReadonlyArray<[HttpMethod, string, string?]> = [
    ['POST', 'AuditEvent'],
    ['PUT', 'AuditEvent', 'type=rest'],
    ['DELETE', 'AuditEvent', 'type=rest'],
    ['PATCH', 'AuditEvent'],
    ['PUT', 'AuditEvent/a1'],
    ['PATCH', 'AuditEvent/a1'],
    ['DELETE', 'AuditEvent/a1'],
    ['POST', 'AuditEvent/a1'],
  ];
  for (const [method, path, query] of refused) {
    it(`${method} ${path}${query ? `?${query}` : ''} -> 405, Allow: GET`, () => {
      assert.throws(
        () => route(req(method, path, query), deps, options),
        (error: unknown) => {
          assert.ok(error instanceof FhirError);
          assert.equal(error.status, 405);
          assert.equal(error.headers.Allow, 'GET');
          assert.equal(error.outcome.issue[0].code, 'not-supported');
          assert.match(error.outcome.issue[0].diagnostics ?? '', /AuditEvent is append-only/);
          return true;
        },
      );
    });
  }

  it('reads, searches and history of AuditEvent still route', () => {
    const target = (method: HttpMethod, path: string) => route({ ...req(method, path), body: undefined, bodyKind: undefined }, deps, options).target;
    assert.equal(target('GET', 'AuditEvent').interaction, 'search-type');
    assert.equal(target('HEAD', 'AuditEvent').interaction, 'search-type');
    assert.equal(target('POST', 'AuditEvent/_search').interaction, 'search-type');
    assert.equal(target('GET', 'AuditEvent/a1').interaction, 'read');
    assert.equal(target('GET', 'AuditEvent/a1/_history/1').interaction, 'vread');
    assert.equal(target('GET', 'AuditEvent/a1/_history').interaction, 'history-instance');
    assert.equal(target('GET', 'AuditEvent/_history').interaction, 'history-type');
  });

  it('writes of other types still route', () => {
    assert.equal(route(req('POST', 'Patient'), deps, options).target.interaction, 'create');
    assert.equal(route(req('DELETE', 'Patient/p1'), deps, options).target.interaction, 'delete');
  });

  it('the CapabilityStatement input keeps only the reads of AuditEvent and leaves other types alone', () => {
    const entry = {
      type: 'AuditEvent',
      interactions: TYPE_INTERACTIONS,
      versioning: 'versioned-update' as const,
      conditionalCreate: true,
      conditionalUpdate: true,
      conditionalDelete: 'single' as const,
      conditionalRead: 'full-support' as const,
      readHistory: true,
      updateCreate: true,
      searchParams: [],
    };
    const audit = withoutRefusedWrites(entry);
    assert.deepEqual([...audit.interactions], ['read', 'vread', 'history-instance', 'history-type', 'search-type']);
    assert.equal(audit.conditionalCreate, false);
    assert.equal(audit.conditionalUpdate, false);
    assert.equal(audit.conditionalDelete, 'not-supported');
    assert.equal(audit.updateCreate, false);
    assert.equal(audit.conditionalRead, 'full-support');
    const patient = { ...entry, type: 'Patient' };
    assert.equal(withoutRefusedWrites(patient), patient);
  });
});
