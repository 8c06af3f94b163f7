// src/jobs/outbox/outbox-rules.ts: which sync destinations and Subscriptions a version goes to.
import assert from 'node:assert/strict';
import { compileRules } from '../../../src/jobs/outbox/outbox-rules.js';
import { createIndexer } from '../../../src/search/indexer.js';
import { createSearchRegistry } from '../../../src/search/registry/registry.js';
import type { SearchIndex } from '../../../src/search/types.js';

const registry = createSearchRegistry();
const indexer = createIndexer(registry);
const index = (resource: Record<string, unknown>) => indexer(resource as never) as SearchIndex;
const NOW = new Date('2026-12-01T00:00:00Z');

const immunization = (status: string) => ({ resourceType: 'Immunization', id: 'i1', status, vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '207' }] }, patient: { reference: 'Patient/p1' }, occurrenceDateTime: '2026-11-30' });
const subscription = (status: string, criteria: string, type = 'rest-hook') =>
  JSON.stringify({ resourceType: 'Subscription', status, criteria, reason: 'r', channel: { type, endpoint: 'https://example.org/hook' } });

describe('outbox rules', () => {
  it('sends a type to the destinations that take it, filtered by their criteria for that type', () => {
    const rules = compileRules(registry, {
      destinations: [
        { id: 'all', resourceTypes: ['Immunization', 'Patient'], criteria: [] },
        { id: 'completed', resourceTypes: ['Immunization'], criteria: ['Immunization?status=completed'] },
        { id: 'patients-only', resourceTypes: ['Patient'], criteria: [] },
      ],
      subscriptions: [],
    });
    const targets = (status: string) => rules.targets('Immunization', 'i1', index(immunization(status)), 'create', NOW).map((t) => t.target);
    assert.deepEqual(targets('completed'), ['all', 'completed']);
    assert.deepEqual(targets('not-done'), ['all']);
    assert.deepEqual(rules.targets('Observation', 'o1', {}, 'create', NOW), []);
  });

  it('sends deletes to every sync destination of the type (the worker sends only where a version went) and to no Subscription', () => {
    const rules = compileRules(registry, {
      destinations: [{ id: 'completed', resourceTypes: ['Immunization'], criteria: ['Immunization?status=completed'] }],
      subscriptions: [{ id: 's1', content: subscription('active', 'Immunization') }],
    });
    assert.deepEqual(rules.targets('Immunization', 'i1', null, 'delete', NOW), [{ channel: 'sync', target: 'completed' }]);
  });

  it('takes active rest-hook Subscriptions only, matching their criteria', () => {
    const rules = compileRules(registry, {
      destinations: [],
      subscriptions: [
        { id: 'active', content: subscription('active', 'Immunization?status=completed') },
        { id: 'requested', content: subscription('requested', 'Immunization') },
        { id: 'off', content: subscription('off', 'Immunization') },
        { id: 'error', content: subscription('error', 'Immunization') },
        { id: 'email', content: subscription('active', 'Immunization', 'email') },
        { id: 'broken', content: subscription('active', 'Immunization?subject.name=x') },
      ],
    });
    assert.deepEqual(rules.targets('Immunization', 'i1', index(immunization('completed')), 'update', NOW), [{ channel: 'subscription', target: 'active' }]);
    assert.deepEqual(rules.targets('Immunization', 'i1', index(immunization('entered-in-error')), 'update', NOW), []);
  });

  it('is empty without destinations or Subscriptions, and a destination whose criteria no longer compile sends nothing', () => {
    assert.equal(compileRules(registry, { destinations: [], subscriptions: [] }).empty, true);
    const rules = compileRules(registry, { destinations: [{ id: 'x', resourceTypes: ['Immunization'], criteria: ['Immunization?no-such-param=1'] }], subscriptions: [] });
    assert.deepEqual(rules.targets('Immunization', 'i1', index(immunization('completed')), 'create', NOW), []);
  });
});
