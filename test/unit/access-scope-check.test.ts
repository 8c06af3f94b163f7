// The coarse access decision (src/fhir/access/scope-check.ts) and its use by FhirService for
// REST, batch and transaction entries: scopes allow what they name, nothing else; patient-context
// scopes need a launch patient (their data constraint is tested in test/e2e/access-read*.test.ts).
import assert from 'node:assert/strict';
import { FhirError } from '../../src/core/errors.js';
import { ANONYMOUS_ACCESS, type AccessContext, type FhirRequest, type FhirResponse, type HttpMethod } from '../../src/core/types.js';
import { checkScopes } from '../../src/fhir/access/scope-check.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import { memoryService } from '../support/memory-service.js';
import { bodyValue } from '../../src/core/response-body.js';

const access = (...scopes: string[]): AccessContext => ({ subject: 'client-1', scopes, isAdmin: false });

function refused(fn: () => void, needed: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FhirError);
    assert.equal(error.status, 403);
    assert.equal(error.outcome.issue[0].code, 'forbidden');
    assert.match(error.outcome.issue[0].diagnostics ?? '', needed);
    return true;
  });
}

describe('scope check (coarse, before any data)', () => {
  it('a system scope allows exactly its letters on its type', () => {
    const a = access('system/Observation.rs', 'system/Patient.c');
    checkScopes(a, { interaction: 'read', resourceType: 'Observation', id: '1' });
    checkScopes(a, { interaction: 'vread', resourceType: 'Observation', id: '1' });
    checkScopes(a, { interaction: 'history-instance', resourceType: 'Observation', id: '1' });
    checkScopes(a, { interaction: 'search-type', resourceType: 'Observation' });
    checkScopes(a, { interaction: 'history-type', resourceType: 'Observation' });
    checkScopes(a, { interaction: 'create', resourceType: 'Patient' });
    refused(() => checkScopes(a, { interaction: 'update', resourceType: 'Observation', id: '1' }), /system\/Observation\.u/);
    refused(() => checkScopes(a, { interaction: 'patch', resourceType: 'Observation', id: '1' }), /system\/Observation\.u/);
    refused(() => checkScopes(a, { interaction: 'delete', resourceType: 'Observation', id: '1' }), /system\/Observation\.d/);
    refused(() => checkScopes(a, { interaction: 'read', resourceType: 'Patient', id: '1' }), /system\/Patient\.r/);
    refused(() => checkScopes(a, { interaction: 'create', resourceType: 'Observation' }), /system\/Observation\.c/);
  });

  it('v1 and wildcard system scopes', () => {
    checkScopes(access('system/*.read'), { interaction: 'search-type', resourceType: 'Encounter' });
    checkScopes(access('system/*.*'), { interaction: 'delete', resourceType: 'Encounter', id: '1' });
    refused(() => checkScopes(access('system/*.read'), { interaction: 'create', resourceType: 'Encounter' }), /system\/Encounter\.c/);
  });

  it('system search and history need every named type, or * when none is named', () => {
    const a = access('system/Observation.s', 'system/Patient.s');
    checkScopes(a, { interaction: 'search-system', resourceTypes: ['Observation', 'Patient'] });
    refused(() => checkScopes(a, { interaction: 'search-system', resourceTypes: ['Observation', 'Encounter'] }), /Encounter/);
    refused(() => checkScopes(a, { interaction: 'search-system' }), /system\/\*\.s/);
    refused(() => checkScopes(a, { interaction: 'history-system' }), /system\/\*\.s/);
    checkScopes(access('system/*.s'), { interaction: 'history-system' });
  });

  it('patient- and user-context scopes and granular ones grant their letters (their data constraint is applied in the statements)', () => {
    const patientA = (scope: string): AccessContext => ({ ...access(scope), patient: 'a' });
    for (const who of [patientA('patient/*.cruds'), patientA('patient/Observation.rs'), { ...access('user/*.cruds'), fhirUser: 'Practitioner/1' }, access('system/Observation.rs?category=laboratory'), patientA('patient/*.read')]) {
      checkScopes(who, { interaction: 'read', resourceType: 'Observation', id: '1' });
      checkScopes(who, { interaction: 'search-type', resourceType: 'Observation' });
    }
    refused(() => checkScopes(patientA('patient/Observation.rs'), { interaction: 'update', resourceType: 'Observation', id: '1' }), /patient\/Observation\.u/);
    refused(() => checkScopes(patientA('patient/Observation.rs'), { interaction: 'read', resourceType: 'Condition', id: '1' }), /patient\/Condition\.r/);
  });

  it('patient-context scopes without a launch patient, user scopes without a fhirUser, malformed scopes and identity scopes grant nothing', () => {
    for (const scope of ['patient/*.cruds', 'patient/*.read', 'user/*.cruds', 'system/Observation.sr', 'openid']) {
      refused(() => checkScopes(access(scope), { interaction: 'read', resourceType: 'Observation', id: '1' }), /\/Observation\.r/);
    }
  });

  it('capabilities are public; operations are for administrators; administrators pass', () => {
    checkScopes(access(), { interaction: 'capabilities' });
    refused(() => checkScopes(access('system/*.*'), { interaction: 'operation', operation: 'reindex' }), /\$reindex is reserved for administrators/);
    checkScopes(ANONYMOUS_ACCESS, { interaction: 'operation', operation: 'reindex' });
  });

  it('terminology operations need read on the type they run on; $validate needs create or update (type level) or read (instance)', () => {
    const op = (operation: string, resourceType: string, id?: string) => ({ interaction: 'operation' as const, operation, resourceType, ...(id ? { id } : {}) });
    for (const [operation, type] of [['lookup', 'CodeSystem'], ['subsumes', 'CodeSystem'], ['validate-code', 'ValueSet'], ['expand', 'ValueSet'], ['translate', 'ConceptMap']]) {
      checkScopes(access(`system/${type}.r`), op(operation, type));
      checkScopes({ ...access('user/*.rs'), fhirUser: 'Practitioner/1' }, op(operation, type, '1'));
      refused(() => checkScopes(access('system/Observation.rs'), op(operation, type)), new RegExp(`system/${type}\\.r`));
    }
    checkScopes(access('system/Condition.c'), op('validate', 'Condition'));
    checkScopes(access('system/Condition.u'), op('validate', 'Condition'));
    refused(() => checkScopes(access('system/Condition.rs'), op('validate', 'Condition')), /\$validate on Condition needs the scope system\/Condition\.c/);
    checkScopes(access('system/Condition.r'), op('validate', 'Condition', '1'));
    refused(() => checkScopes(access('system/Condition.c'), op('validate', 'Condition', '1')), /Condition\.r/);
    checkScopes(ANONYMOUS_ACCESS, { interaction: 'delete', resourceType: 'Patient', id: '1' });
  });
});

describe('scope check through FhirService (in-memory repository)', () => {
  const registry = createSearchRegistry();
  const service = memoryService(registry);
  const request = (method: HttpMethod, path: string, who: AccessContext, extra: Partial<FhirRequest> = {}): FhirRequest => ({
    method, tenantId: 'default', baseUrl: 'http://h/fhir', path: path.split('/').filter(Boolean), query: new URLSearchParams(), prefer: {},
    access: who, requestId: 'r', ...extra,
  });
  const status = async (promise: Promise<FhirResponse>): Promise<number> => {
    try {
      return (await promise).status;
    } catch (error) {
      if (error instanceof FhirError) return error.status;
      throw error;
    }
  };
  const patient = { resourceType: 'Patient', name: [{ family: 'Scope' }] };

  it('a create outside the scopes is 403 and stores nothing; inside them it is 201', async () => {
    const reader = access('system/Patient.rs');
    assert.equal(await status(service.handle(request('POST', 'Patient', reader, { body: patient, bodyKind: 'resource' }))), 403);
    assert.equal(await status(service.handle(request('PUT', 'Patient/p-scope', reader, { body: { ...patient, id: 'p-scope' }, bodyKind: 'resource' }))), 403);
    assert.equal(await status(service.handle(request('GET', 'Patient/p-scope', ANONYMOUS_ACCESS))), 404, 'nothing was stored');
    assert.equal(await status(service.handle(request('PUT', 'Patient/p-scope', access('system/Patient.cu'), { body: { ...patient, id: 'p-scope' }, bodyKind: 'resource' }))), 201);
    assert.equal(await status(service.handle(request('GET', 'Patient/p-scope', reader))), 200);
    assert.equal(await status(service.handle(request('GET', 'Patient/p-scope', access('system/Observation.rs')))), 403);
  });

  /** A Patient PUT the scopes below allow, then an Observation POST they do not. */
  const allowedThenForbidden = (type: 'transaction' | 'batch', id: string) => ({
    resourceType: 'Bundle', type,
    entry: [
      { resource: { ...patient, id }, request: { method: 'PUT', url: `Patient/${id}` } },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } }, request: { method: 'POST', url: 'Observation' } },
    ],
  });

  it('a transaction with one entry outside the scopes fails whole before any write', async () => {
    const bundle = allowedThenForbidden('transaction', 'tx-1');
    const who = access('system/Patient.cruds');
    assert.equal(await status(service.handle(request('POST', '', who, { body: bundle, bodyKind: 'resource' }))), 403);
    assert.equal(await status(service.handle(request('GET', 'Patient/tx-1', ANONYMOUS_ACCESS))), 404, 'the allowed entry was not written either');
  });

  it('a batch answers each entry on its own: the forbidden one 403, the allowed one 201', async () => {
    const bundle = allowedThenForbidden('batch', 'b-1');
    const response = await service.handle(request('POST', '', access('system/Patient.cruds'), { body: bundle, bodyKind: 'resource' }));
    const body = (response.body ? bodyValue(response.body) : undefined) as { entry: { response: { status: string } }[] };
    assert.deepEqual(body.entry.map((e) => e.response.status.slice(0, 3)), ['201', '403']);
  });
});
