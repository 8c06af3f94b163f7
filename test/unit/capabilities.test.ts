// CapabilityStatement generation (FHIR R4 capabilitystatement.html): base file + claimed facts.
import assert from 'node:assert/strict';
import type { CapabilityStatement } from 'fhir/r4.js';
import {
  buildCapabilityStatement,
  loadCapabilityBase,
  type CapabilityInput,
  type CapabilityResourceInput,
} from '../../src/fhir/capabilities.js';
import { createResourceValidator } from '../../src/fhir/validation/resource-schema.js';
import { capabilitiesInteraction } from '../../src/fhir/interactions/capabilities.js';
import type { InteractionDeps } from '../../src/fhir/interactions/context.js';
import { BUILT_IN_OPERATIONS } from '../../src/fhir/operations/index.js';
import { createOperationRegistry, type OperationEntry, type OperationLevel } from '../../src/fhir/operations/registry.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import { ANONYMOUS_ACCESS } from '../../src/core/types.js';
import type { ResourceStore } from '../../src/storage/resource-store.js';

function resource(type: string, overrides: Partial<CapabilityResourceInput> = {}): CapabilityResourceInput {
  return {
    type,
    interactions: ['read', 'vread', 'update', 'delete', 'history-instance', 'create'],
    versioning: 'versioned-update',
    conditionalCreate: true,
    conditionalUpdate: true,
    conditionalDelete: 'single',
    conditionalRead: 'full-support',
    readHistory: true,
    updateCreate: true,
    searchParams: [],
    ...overrides,
  };
}

function input(overrides: Partial<CapabilityInput> = {}): CapabilityInput {
  return {
    baseUrl: 'https://fhir.example.org/t/acme',
    softwareVersion: '1.2.3',
    date: '2024-05-01T10:00:00Z',
    // Deliberately unsorted: the output must be sorted by type.
    resources: [
      resource('Patient', {
        interactions: ['create', 'read', 'patch'],
        searchParams: [{ name: 'family', type: 'string', definition: 'http://hl7.org/fhir/SearchParameter/individual-family' }],
      }),
      resource('Encounter', { conditionalDelete: 'not-supported', conditionalRead: 'not-supported' }),
      resource('Observation', { versioning: 'versioned', updateCreate: false }),
    ],
    systemInteractions: ['history-system'],
    ...overrides,
  };
}

describe('buildCapabilityStatement', () => {
  const statement: CapabilityStatement = buildCapabilityStatement(input());
  const rest = statement.rest![0];

  it('includes the base fields and the run-time facts', () => {
    assert.equal(statement.resourceType, 'CapabilityStatement');
    assert.equal(statement.status, 'active');
    assert.equal(statement.kind, 'instance');
    assert.equal(statement.fhirVersion, '4.0.1');
    assert.deepEqual(statement.format, ['application/fhir+json', 'json']);
    assert.deepEqual(statement.patchFormat, ['application/json-patch+json', 'application/fhir+json']);
    assert.ok(statement.publisher);
    assert.deepEqual(statement.software, { name: 'Hearth', version: '1.2.3' });
    assert.equal(statement.implementation?.url, 'https://fhir.example.org/t/acme');
    assert.ok(statement.implementation?.description);
    assert.equal(statement.date, '2024-05-01T10:00:00Z');
    assert.equal(rest.mode, 'server');
    assert.equal(rest.security?.cors, true);
  });

  it('lists exactly the input types, sorted, with exactly their interactions', () => {
    assert.deepEqual(rest.resource!.map((r) => r.type), ['Encounter', 'Observation', 'Patient']);
    const patient = rest.resource!.find((r) => r.type === 'Patient')!;
    // Value-set order, not input order.
    assert.deepEqual(patient.interaction, [{ code: 'read' }, { code: 'patch' }, { code: 'create' }]);
    assert.deepEqual(patient.searchParam, [
      { name: 'family', type: 'string', definition: 'http://hl7.org/fhir/SearchParameter/individual-family' },
    ]);
    const encounter = rest.resource!.find((r) => r.type === 'Encounter')!;
    assert.deepEqual(encounter.interaction!.map((i) => i.code), ['read', 'vread', 'update', 'delete', 'history-instance', 'create']);
    assert.equal(encounter.conditionalDelete, 'not-supported');
    assert.equal(encounter.conditionalRead, 'not-supported');
    assert.equal('searchParam' in encounter, false, 'no empty arrays');
    const observation = rest.resource!.find((r) => r.type === 'Observation')!;
    assert.equal(observation.versioning, 'versioned');
    assert.equal(observation.updateCreate, false);
    assert.deepEqual(rest.interaction, [{ code: 'history-system' }]);
    assert.equal('operation' in rest, false);
  });

  it('claims nothing beyond the input', () => {
    const empty = buildCapabilityStatement(input({ resources: [], systemInteractions: [] }));
    assert.equal('resource' in empty.rest![0], false);
    assert.equal('interaction' in empty.rest![0], false);
    const base = loadCapabilityBase();
    assert.equal(base.rest![0].resource, undefined);
    assert.equal(base.rest![0].interaction, undefined);
  });

  it('adds operations when given', () => {
    const s = buildCapabilityStatement(
      input({ operations: [{ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' }] }),
    );
    assert.deepEqual(s.rest![0].operation, [{ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' }]);
  });

  it('adds operations of a type (rest.resource.operation) when given; names unique per place', () => {
    const op = { name: 'lookup', definition: 'http://h/fhir/OperationDefinition/lookup' };
    const s = buildCapabilityStatement(input({ resources: [resource('CodeSystem', { operations: [op] }), resource('Patient')] }));
    assert.deepEqual(s.rest![0].resource!.map((r) => [r.type, r.operation]), [['CodeSystem', [op]], ['Patient', undefined]]);
    assert.deepEqual(createResourceValidator().validate(JSON.parse(JSON.stringify(s))), []);
    assert.throws(() => buildCapabilityStatement(input({ resources: [resource('CodeSystem', { operations: [op, op] })] })), /operation names must be unique/);
    assert.throws(() => buildCapabilityStatement(input({ operations: [op, op] })), /operation names must be unique/);
  });

  it('lists system search parameters (rest.searchParam) when given, e.g. _type for search-system', () => {
    const s = buildCapabilityStatement(
      input({
        systemInteractions: ['history-system', 'search-system'],
        systemSearchParams: [
          { name: '_type', type: 'token', documentation: 'types to search' },
          { name: '_id', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id' },
        ],
      }),
    );
    const sysRest = s.rest![0];
    assert.deepEqual(sysRest.interaction, [{ code: 'search-system' }, { code: 'history-system' }]);
    assert.deepEqual(sysRest.searchParam, [
      { name: '_type', type: 'token', documentation: 'types to search' },
      { name: '_id', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id' },
    ]);
    assert.deepEqual(createResourceValidator().validate(JSON.parse(JSON.stringify(s))), []);
    assert.equal('searchParam' in rest, false, 'none when not given');
    assert.throws(() => buildCapabilityStatement(input({ systemSearchParams: [{ name: '_type', type: 'token' }, { name: '_type', type: 'token' }] })), /unique/);
    assert.throws(() => buildCapabilityStatement(input({ systemSearchParams: [{ name: '_type', type: 'text' }] })), /invalid type/);
  });

  it('is JSON-serializable and valid against the R4 schema', () => {
    const roundTrip = JSON.parse(JSON.stringify(statement)) as unknown;
    assert.deepEqual(roundTrip, statement);
    assert.deepEqual(createResourceValidator().validate(roundTrip), []);
  });

  it('rejects codes outside the R4 value sets and duplicate claims', () => {
    assert.throws(() => buildCapabilityStatement(input({ systemInteractions: ['search'] })), /system interaction/);
    assert.throws(() => buildCapabilityStatement(input({ resources: [resource('Patient', { interactions: ['search'] })] })), /search/);
    assert.throws(() => buildCapabilityStatement(input({ resources: [resource('Patient'), resource('Patient')] })), /twice/);
    assert.throws(() => buildCapabilityStatement(input({ resources: [resource('Nonsense')] })), /unknown resource type/);
    assert.throws(
      () => buildCapabilityStatement(input({ resources: [resource('Patient', { searchParams: [{ name: 'x', type: 'text' }] })] })),
      /invalid type/,
    );
  });

  it('does not share state between calls', () => {
    const a = buildCapabilityStatement(input());
    a.rest![0].security!.cors = false;
    assert.equal(buildCapabilityStatement(input()).rest![0].security?.cors, true);
  });
});

describe('GET metadata lists what the operation registry holds', () => {
  const base = createSearchRegistry();
  const deps = { searchParams: { load: async () => ({ searching: base, generation: 'g' }) } } as unknown as Pick<InteractionDeps, 'searchParams'>;
  const store = { tenantId: 't' } as ResourceStore;
  const req = { method: 'GET', tenantId: 't', baseUrl: 'http://h/fhir', path: ['metadata'], query: new URLSearchParams(), prefer: {}, access: ANONYMOUS_ACCESS, requestId: 'r' } as const;

  const entry = (name: string, levels: OperationLevel[], extra: Partial<OperationEntry> = {}): OperationEntry => ({
    name,
    levels,
    readOnly: true,
    handler: async () => ({ status: 200, headers: {} }),
    definition: {
      resourceType: 'OperationDefinition', id: `op-${name}`, name, status: 'active', kind: 'operation', code: name, affectsState: false,
      system: levels.includes('system'), type: levels.includes('type'), instance: levels.includes('instance'),
    },
    ...extra,
  });

  async function statement(operations: ReturnType<typeof createOperationRegistry>): Promise<CapabilityStatement> {
    const response = await capabilitiesInteraction({ ...req, path: [...req.path] }, '1.0.0', deps, operations).run(store);
    assert.equal(response.body?.kind, 'json');
    return (response.body as { value: CapabilityStatement }).value;
  }

  const operationsOf = (s: CapabilityStatement, type: string) => s.rest![0].resource!.find((r) => r.type === type)?.operation;

  it('system operations in rest.operation, type and instance ones under each type they apply to, with canonical definitions', async () => {
    const s = await statement(
      createOperationRegistry([
        entry('stats', ['system']),
        entry('lookup', ['type'], { types: ['CodeSystem'] }),
        entry('everything', ['instance'], { types: ['Patient', 'Encounter'] }),
      ]),
    );
    assert.deepEqual(s.rest![0].operation, [{ name: 'stats', definition: 'http://h/fhir/OperationDefinition/op-stats' }]);
    assert.deepEqual(operationsOf(s, 'CodeSystem'), [{ name: 'lookup', definition: 'http://h/fhir/OperationDefinition/op-lookup' }]);
    assert.deepEqual(operationsOf(s, 'Patient'), [{ name: 'everything', definition: 'http://h/fhir/OperationDefinition/op-everything' }]);
    assert.deepEqual(operationsOf(s, 'Encounter')?.map((o) => o.name), ['everything']);
    assert.equal(operationsOf(s, 'Observation'), undefined);
    assert.deepEqual(createResourceValidator().validate(JSON.parse(JSON.stringify(s))), []);
  });

  it('an empty registry lists no operations', async () => {
    const s = await statement(createOperationRegistry([]));
    assert.equal(s.rest![0].operation, undefined);
    assert.equal(s.rest![0].resource!.some((r) => r.operation), false);
  });

  it('the built-in $reindex: at [base], on every type (type level), its definition served at OperationDefinition/hearth-reindex', async () => {
    const s = await statement(BUILT_IN_OPERATIONS);
    const reindex = { name: 'reindex', definition: 'http://h/fhir/OperationDefinition/hearth-reindex' };
    const validate = { name: 'validate', definition: 'http://h/fhir/OperationDefinition/hearth-validate' };
    assert.deepEqual(s.rest![0].operation, [reindex]);
    assert.deepEqual(operationsOf(s, 'Observation'), [reindex, validate]);
    assert.deepEqual(operationsOf(s, 'SearchParameter'), [reindex, validate]);
    assert.deepEqual(createResourceValidator().validate(JSON.parse(JSON.stringify(BUILT_IN_OPERATIONS.get('reindex')!.definition))), []);
  });

  it('the built-in $validate on every type (type and instance level), with a valid OperationDefinition', async () => {
    const s = await statement(BUILT_IN_OPERATIONS);
    for (const type of ['Patient', 'Condition', 'ValueSet']) assert.ok((operationsOf(s, type) ?? []).some((o) => o.name === 'validate'), type);
    assert.deepEqual(createResourceValidator().validate(JSON.parse(JSON.stringify(BUILT_IN_OPERATIONS.get('validate')!.definition))), []);
  });
});

describe('CapabilityStatement: SMART security', () => {
  it('names the SMART-on-FHIR service and the oauth-uris of this base', async () => {
    const statement = buildCapabilityStatement({ baseUrl: 'https://h.example/t/acme/fhir', softwareVersion: '1', date: '2026-12-04', resources: [], systemInteractions: [] });
    const security = statement.rest![0].security!;
    assert.equal(security.cors, true, 'the base file\'s facts are kept');
    assert.equal(security.service?.[0].coding?.[0].code, 'SMART-on-FHIR');
    const uris = security.extension?.find((e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
    const byName = Object.fromEntries((uris?.extension ?? []).map((e) => [e.url, e.valueUri]));
    assert.deepEqual(byName, {
      token: 'https://h.example/t/acme/fhir/auth/token',
      authorize: 'https://h.example/t/acme/fhir/auth/authorize',
      introspect: 'https://h.example/t/acme/fhir/auth/introspect',
      revoke: 'https://h.example/t/acme/fhir/auth/revoke',
    });
  });
});
