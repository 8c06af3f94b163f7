// The read-side data constraint of SMART scopes in the in-memory store (src/storage/memory/,
// src/search/reach.ts reachMatches) and in the read, vread and history interactions, through
// FhirService on the MemoryRepository: the same answers as on PostgreSQL
// (test/e2e/access-read.test.ts), and versions from before a resource moved into reach stay out.
import assert from 'node:assert/strict';
import { ANONYMOUS_ACCESS, type AccessContext, type HttpMethod, type JsonObject } from '../../src/core/types.js';
import type { FhirService } from '../../src/fhir/service.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import { accessScope } from '../../src/fhir/access/access-scope.js';
import { parseSearchQuery, compartmentFilter } from '../../src/search/parse-query.js';
import { reachForMatches } from '../../src/search/reach.js';
import { memoryService } from '../support/memory-service.js';
import { requestsTo, type Reply } from '../support/service-requests.js';

const registry = createSearchRegistry();
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const app = (scopes: string[], extra: Partial<AccessContext> = {}): AccessContext => ({ subject: 'app', scopes, isAdmin: false, ...extra });
const PATIENT_A = app(['patient/*.rs'], { patient: 'a' });

const newService = (): FhirService => memoryService(registry);

/** A request as `access`, with a resource body when given. */
const send = (service: FhirService, access: AccessContext, method: HttpMethod, path: string, body?: JsonObject): Promise<Reply> =>
  requestsTo(service, () => 'default')(access, method, path, body ? { body, bodyKind: 'resource' } : {});

const observation = (id: string, patient: string, category = 'laboratory'): JsonObject => ({
  resourceType: 'Observation', id, status: 'final', code: { text: 'x' },
  category: [{ coding: [{ system: CATEGORY, code: category }] }],
  subject: { reference: `Patient/${patient}` },
});

describe('SMART read constraint in memory (FhirService on the MemoryRepository)', () => {
  let service: FhirService;
  const put = async (resource: JsonObject) => {
    const reply = await send(service, ANONYMOUS_ACCESS, 'PUT', `${String(resource.resourceType)}/${String(resource.id)}`, resource);
    assert.ok(reply.status === 200 || reply.status === 201, JSON.stringify(reply));
  };

  beforeEach(async () => {
    service = newService();
    for (const p of ['a', 'b']) await put({ resourceType: 'Patient', id: p });
    await put(observation('a-lab', 'a'));
    await put(observation('a-vital', 'a', 'vital-signs'));
    await put(observation('b-lab', 'b'));
  });

  it('read, vread and instance history of another patient\'s resource answer like an unknown id', async () => {
    for (const [known, unknown] of [['Observation/b-lab', 'Observation/zz'], ['Patient/b', 'Patient/zz']]) {
      for (const suffix of ['', '/_history/1', '/_history']) {
        const out = await send(service, PATIENT_A, 'GET', known + suffix);
        const none = await send(service, PATIENT_A, 'GET', unknown + suffix);
        assert.equal(out.status, 404, known + suffix);
        assert.equal(JSON.stringify(out.body).replaceAll(known, 'X'), JSON.stringify(none.body).replaceAll(unknown, 'X'), known + suffix);
      }
    }
    assert.equal((await send(service, PATIENT_A, 'GET', 'Observation/a-lab')).status, 200);
    assert.equal((await send(service, PATIENT_A, 'GET', 'Patient/a')).status, 200);
    assert.equal((await send(service, ANONYMOUS_ACCESS, 'GET', 'Observation/b-lab')).status, 200);
  });

  it('type and system history list only versions of reachable resources', async () => {
    const history = await send(service, PATIENT_A, 'GET', 'Observation/_history');
    const listed = ((history.body?.entry as { fullUrl: string }[]) ?? []).map((e) => e.fullUrl.replace('http://h/fhir/', '')).sort();
    assert.deepEqual(listed, ['Observation/a-lab', 'Observation/a-vital']);
    const system = await send(service, PATIENT_A, 'GET', '_history');
    const all = ((system.body?.entry as { fullUrl: string }[]) ?? []).map((e) => e.fullUrl.replace('http://h/fhir/', '')).sort();
    assert.deepEqual(all, ['Observation/a-lab', 'Observation/a-vital', 'Patient/a']);
  });

  it('a granular scope hides what its parameters exclude', async () => {
    const lab = app([`patient/Observation.rs?category=${CATEGORY}|laboratory`], { patient: 'a' });
    assert.equal((await send(service, lab, 'GET', 'Observation/a-lab')).status, 200);
    assert.equal((await send(service, lab, 'GET', 'Observation/a-vital')).status, 404);
    assert.equal((await send(service, lab, 'GET', 'Observation/a-vital/_history/1')).status, 404);
  });

  it('versions from before a resource moved into reach stay out of vread and history', async () => {
    await put(observation('moved', 'b'));
    await put(observation('moved', 'a'));
    assert.equal((await send(service, PATIENT_A, 'GET', 'Observation/moved')).status, 200);
    assert.equal((await send(service, PATIENT_A, 'GET', 'Observation/moved/_history/2')).status, 200);
    assert.equal((await send(service, PATIENT_A, 'GET', 'Observation/moved/_history/1')).status, 404, 'version 1 was B\'s');
    const history = await send(service, PATIENT_A, 'GET', 'Observation/moved/_history');
    assert.deepEqual(((history.body?.entry as { response: { etag: string } }[]) ?? []).map((e) => e.response.etag), ['W/"2"']);
    assert.equal((await send(service, ANONYMOUS_ACCESS, 'GET', 'Observation/moved/_history/1')).status, 200);
  });

  it('a deleted resource of the launch patient reads as deleted only when its id reaches it (the Patient itself)', async () => {
    assert.equal((await send(service, ANONYMOUS_ACCESS, 'DELETE', 'Observation/a-lab')).status < 300, true);
    assert.equal((await send(service, PATIENT_A, 'GET', 'Observation/a-lab')).status, 404, 'a tombstone has no index: out of reach');
  });
});

describe('access scope (src/fhir/access/access-scope.ts)', () => {
  it('confines patient scopes to the compartment, lets shared types be read, and puts others out of reach', () => {
    const scope = accessScope(PATIENT_A, registry);
    assert.equal(scope.unrestricted, false);
    assert.deepEqual(scope.reach('Patient', ['s']), { kind: 'some', any: [[{ kind: 'id', ids: ['a'], negate: false }]] });
    const obs = scope.reach('Observation', ['r']);
    assert.equal(obs.kind, 'some');
    assert.equal(obs.kind === 'some' && obs.any[0][0].kind, 'compartment');
    assert.deepEqual(scope.reach('Practitioner', ['r']), { kind: 'all' });
    assert.deepEqual(scope.reach('Practitioner', ['u']), { kind: 'none' });
    assert.deepEqual(scope.reach('Questionnaire', ['s']), { kind: 'none' });
    assert.deepEqual(scope.reach('Observation', ['c']), { kind: 'none' }, 'no scope grants c');
  });

  it('system scopes and administrators are tenant-wide; system/*.rs needs no constraint at all', () => {
    assert.equal(accessScope(app(['system/*.rs']), registry).unrestricted, true);
    assert.equal(accessScope(ANONYMOUS_ACCESS, registry).unrestricted, true);
    const narrow = accessScope(app(['system/Observation.rs']), registry);
    assert.equal(narrow.unrestricted, false);
    assert.deepEqual(narrow.reach('Observation', ['s']), { kind: 'all' });
    assert.deepEqual(narrow.reach('Patient', ['s']), { kind: 'none' });
  });

  it('a plain scope wins over a granular one; granular ones are OR\'ed; a scope it cannot enforce grants nothing', () => {
    const lab = `patient/Observation.rs?category=${CATEGORY}|laboratory`;
    const vital = `patient/Observation.rs?category=${CATEGORY}|vital-signs`;
    const plainAndLab = accessScope(app([lab, 'patient/Observation.rs'], { patient: 'a' }), registry).reach('Observation', ['s']);
    assert.equal(plainAndLab.kind === 'some' && plainAndLab.any.length, 1);
    assert.equal(plainAndLab.kind === 'some' && plainAndLab.any[0].length, 1, 'only the compartment');
    const both = accessScope(app([lab, vital], { patient: 'a' }), registry).reach('Observation', ['s']);
    assert.equal(both.kind === 'some' && both.any.length, 2);
    assert.deepEqual(accessScope(app(['patient/Observation.rs?_include=Observation:subject'], { patient: 'a' }), registry).reach('Observation', ['s']), { kind: 'none' });
    assert.deepEqual(accessScope(app(['patient/Observation.rs?subject:Patient.name=x'], { patient: 'a' }), registry).reach('Observation', ['s']), { kind: 'none' });
  });
});

describe('reachForMatches (src/search/reach.ts): a search\'s own filters standing in for the compartment test', () => {
  const reach = accessScope(PATIENT_A, registry).reach('Observation', ['s']);
  const filters = (query: string) => parseSearchQuery(registry, 'Observation', new URLSearchParams(query), { lenient: false, defaultCount: 10, maxCount: 10 }).filters;

  it('drops the compartment test only when a filter names exactly the launch patient through a compartment parameter', () => {
    for (const query of ['patient=Patient/a', 'subject=Patient/a&code=x', 'performer=Patient/a', 'patient=Patient/a,Patient/a']) {
      assert.deepEqual(reachForMatches(reach, filters(query)), { kind: 'all' }, query);
    }
    for (const query of ['patient=Patient/b', 'patient=a', 'patient=Patient/a,Patient/b', 'subject:Patient=a', 'patient:missing=false', 'code=x', 'encounter=Encounter/a', 'subject:Patient.name=Alder']) {
      assert.deepEqual(reachForMatches(reach, filters(query)), reach, query);
    }
    assert.deepEqual(reachForMatches(reach, [compartmentFilter(registry, 'Patient', 'a', 'Observation')]), { kind: 'all' });
    assert.deepEqual(reachForMatches(reach, [compartmentFilter(registry, 'Patient', 'b', 'Observation')]), reach);
  });

  it('keeps a granular scope\'s own filters', () => {
    const lab = accessScope(app([`patient/Observation.rs?category=${CATEGORY}|laboratory`], { patient: 'a' }), registry).reach('Observation', ['s']);
    const narrowed = reachForMatches(lab, filters('patient=Patient/a'));
    assert.equal(narrowed.kind, 'some');
    assert.deepEqual(narrowed.kind === 'some' && narrowed.any.map((alternative) => alternative.map((f) => f.kind)), [['index']]);
  });
});
