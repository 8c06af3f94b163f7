// Unit tests for src/fhir/router.ts: which interaction a request routes to (FHIR R4
// http.html, "Service Base URL" table), and the 4xx/5xx for what does not route.
import assert from 'node:assert/strict';
import { FhirError } from '../../src/core/errors.js';
import { route } from '../../src/fhir/router.js';
import { createOperationRegistry, type OperationCall, type OperationEntry, type OperationLevel } from '../../src/fhir/operations/registry.js';
import type { ResourceStore } from '../../src/storage/resource-store.js';
import type { FhirRequest, HttpMethod } from '../../src/core/types.js';
import { routedRequest, routingOptions, untouchedDeps } from '../support/routing.js';

// Routing builds interactions but never calls into deps; a stub that throws proves it.
const deps = untouchedDeps;
const options = routingOptions;
const req = (method: HttpMethod, path: string, query = ''): FhirRequest => routedRequest(method, path, query);

const target = (method: HttpMethod, path: string, query = '') => route(req(method, path, query), deps, options).target;

function fails(method: HttpMethod, path: string, status: number, code: string, diagnostics: RegExp, query = '', expression?: string[]): void {
  assert.throws(
    () => route(req(method, path, query), deps, options),
    (error: unknown) => {
      assert.ok(error instanceof FhirError, `expected FhirError for ${method} ${path}, got ${String(error)}`);
      assert.equal(error.status, status, `${method} ${path}?${query}`);
      assert.equal(error.outcome.issue.length, 1);
      const [issue] = error.outcome.issue;
      assert.equal(issue.code, code);
      assert.match(issue.diagnostics ?? '', diagnostics);
      if (expression) assert.deepEqual(issue.expression, expression);
      return true;
    },
  );
}

describe('route', () => {
  describe('interaction targets', () => {
    it('GET and HEAD type/id → read', () => {
      assert.deepEqual(target('GET', 'Patient/1'), { interaction: 'read', resourceType: 'Patient', id: '1' });
      assert.deepEqual(target('HEAD', 'Observation/a.b-C'), { interaction: 'read', resourceType: 'Observation', id: 'a.b-C' });
    });

    it('GET type/id/_history/vid → vread', () => {
      assert.deepEqual(target('GET', 'Patient/1/_history/2'), { interaction: 'vread', resourceType: 'Patient', id: '1' });
    });

    it('GET type and POST type/_search → search-type', () => {
      assert.deepEqual(target('GET', 'Patient', 'name=x'), { interaction: 'search-type', resourceType: 'Patient' });
      assert.deepEqual(target('HEAD', 'Observation'), { interaction: 'search-type', resourceType: 'Observation' });
      assert.deepEqual(target('POST', 'Patient/_search'), { interaction: 'search-type', resourceType: 'Patient' });
      fails('GET', 'Patient/_search', 405, 'not-supported', /GET is not allowed on Patient\/_search/);
    });

    it('GET and HEAD [base] and POST [base]/_search → search-system, with the types of _type', () => {
      assert.deepEqual(target('GET', '', '_type=Patient,Observation'), { interaction: 'search-system', resourceTypes: ['Observation', 'Patient'] });
      assert.deepEqual(target('HEAD', '', '_id=1'), { interaction: 'search-system', resourceTypes: undefined });
      assert.deepEqual(target('POST', '_search', '_type=Patient'), { interaction: 'search-system', resourceTypes: ['Patient'] });
      assert.equal(route(req('GET', ''), deps, options).readOnly, true);
      fails('GET', '_search', 405, 'not-supported', /GET is not allowed on _search; allowed: POST/);
      fails('GET', '', 400, 'invalid', /unknown resource type 'Banana'/, '_type=Patient,Banana', ['_type']);
      fails('POST', '_search', 400, 'invalid', /_type/, '_type=', ['_type']);
    });

    it('history at instance, type and system level', () => {
      assert.deepEqual(target('GET', 'Patient/1/_history'), { interaction: 'history-instance', resourceType: 'Patient', id: '1' });
      assert.deepEqual(target('GET', 'Patient/_history'), { interaction: 'history-type', resourceType: 'Patient', id: undefined });
      assert.deepEqual(target('GET', '_history'), { interaction: 'history-system', resourceType: undefined, id: undefined });
      assert.equal(target('HEAD', '_history').interaction, 'history-system');
    });

    it("GET metadata → capabilities, read-only in the tenant's transaction (its custom parameters)", () => {
      const interaction = route(req('GET', 'metadata'), deps, options);
      assert.deepEqual(interaction.target, { interaction: 'capabilities' });
      assert.equal(interaction.readOnly, true);
    });

    it('$reindex at system, type and SearchParameter level, and its job status URL', () => {
      assert.deepEqual(target('POST', '$reindex'), { interaction: 'operation', resourceType: undefined, id: undefined, operation: 'reindex' });
      assert.deepEqual(target('POST', 'Observation/$reindex'), { interaction: 'operation', resourceType: 'Observation', id: undefined, operation: 'reindex' });
      assert.deepEqual(target('POST', 'SearchParameter/sp-1/$reindex'), { interaction: 'operation', resourceType: 'SearchParameter', id: 'sp-1', operation: 'reindex' });
      assert.deepEqual(target('GET', '_reindex/job-1'), { interaction: 'operation', operation: 'reindex-status', id: 'job-1' });
      assert.equal(route(req('GET', '_reindex/job-1'), deps, options).readOnly, true);
      assert.equal(route(req('DELETE', '_reindex/job-1'), deps, options).readOnly, false);
      assert.equal(route(req('POST', '$reindex'), deps, options).readOnly, false);
      fails('GET', '$reindex', 405, 'not-supported', /allowed: POST/);
      fails('PUT', '_reindex/job-1', 405, 'not-supported', /allowed: GET, DELETE/);
      fails('GET', '_reindex/bad$id', 400, 'invalid', /Invalid id 'bad\$id'/);
      fails('POST', 'Patient/1/$reindex', 400, 'not-supported', /Operation \$reindex is not supported on Patient\/1\/\$reindex/);
    });

    describe('registered operations (operations/registry.ts)', () => {
      const definition = (code: string, levels: OperationLevel[], affectsState: boolean) => ({
        resourceType: 'OperationDefinition' as const,
        id: `test-${code}`,
        name: code,
        status: 'active' as const,
        kind: 'operation' as const,
        code,
        affectsState,
        system: levels.includes('system'),
        type: levels.includes('type'),
        instance: levels.includes('instance'),
      });
      const calls: OperationCall[] = [];
      const entry = (name: string, levels: OperationLevel[], readOnly: boolean, types?: string[]): OperationEntry => ({
        name,
        levels,
        types,
        readOnly,
        definition: definition(name, levels, !readOnly),
        handler: async (call) => (calls.push(call), { status: 200, headers: {} }),
      });
      const operations = createOperationRegistry([
        entry('stats', ['system'], true),
        entry('lookup', ['type'], true, ['CodeSystem']),
        entry('touch', ['instance'], false),
      ]);
      const opts = { ...options, operations };
      const invoke = async (method: HttpMethod, path: string) => {
        const interaction = route(req(method, path), deps, opts);
        await interaction.run({} as ResourceStore);
        return { interaction, call: calls[calls.length - 1] };
      };
      const refused = (method: HttpMethod, path: string, status: number, diagnostics: RegExp) =>
        assert.throws(() => route(req(method, path), deps, opts), (e: unknown) => e instanceof FhirError && e.status === status && diagnostics.test(e.outcome.issue[0].diagnostics ?? ''));

      it('routes an operation at system, type and instance level to its handler, with where it was invoked', async () => {
        const system = await invoke('POST', '$stats');
        assert.deepEqual(system.interaction.target, { interaction: 'operation', resourceType: undefined, id: undefined, operation: 'stats' });
        assert.deepEqual({ ...system.call, req: undefined, deps: undefined }, { req: undefined, deps: undefined, level: 'system', type: undefined, id: undefined });
        const type = await invoke('POST', 'CodeSystem/$lookup');
        assert.deepEqual([type.call.level, type.call.type], ['type', 'CodeSystem']);
        const instance = await invoke('POST', 'Patient/p1/$touch');
        assert.deepEqual([instance.call.level, instance.call.type, instance.call.id], ['instance', 'Patient', 'p1']);
        assert.equal(instance.interaction.readOnly, false);
      });

      it('GET and HEAD as well as POST for operations that change nothing, read-only; POST only for the others', async () => {
        assert.equal((await invoke('GET', '$stats')).interaction.readOnly, true);
        assert.equal((await invoke('HEAD', 'CodeSystem/$lookup')).call.level, 'type');
        assert.equal((await invoke('GET', 'CodeSystem/$lookup')).interaction.readOnly, true);
        refused('GET', 'Patient/p1/$touch', 405, /GET is not allowed on Patient\/p1\/\$touch; allowed: POST/);
        refused('PUT', '$stats', 405, /allowed: GET, POST/);
        refused('DELETE', 'CodeSystem/$lookup', 405, /allowed: GET, POST/);
      });

      it('refuses an operation at a level or on a type it is not registered for (400), and checks types and ids', () => {
        refused('POST', 'Patient/$stats', 400, /Operation \$stats is not supported on Patient\/\$stats/);
        refused('POST', 'ValueSet/$lookup', 400, /\$lookup is not supported on ValueSet/);
        refused('POST', '$touch', 400, /\$touch is not supported/);
        refused('POST', 'Banana/$lookup', 404, /Unknown resource type 'Banana'/);
        refused('POST', 'Patient/bad!/$touch', 400, /Invalid id 'bad!'/);
      });

      it('unknown operations answer 400 as before, and the built-in $reindex is not served by another registry', () => {
        refused('POST', '$everything', 400, /Operation \$everything is not supported/);
        refused('POST', '$reindex', 400, /Operation \$reindex is not supported/);
        refused('GET', '_reindex/job-1', 404, /Unknown resource type '_reindex'/);
      });

      it('GET OperationDefinition/{id} of a registered operation serves its definition with its canonical url', async () => {
        const interaction = route(req('GET', 'OperationDefinition/test-stats'), deps, opts);
        assert.deepEqual(interaction.target, { interaction: 'read', resourceType: 'OperationDefinition', id: 'test-stats' });
        const response = await interaction.run({} as ResourceStore);
        const value = response.body?.kind === 'json' ? (response.body.value as { url: string; code: string }) : undefined;
        assert.equal(value?.url, 'http://h/fhir/OperationDefinition/test-stats');
        assert.equal(value?.code, 'stats');
        assert.deepEqual(route(req('GET', 'OperationDefinition/other'), deps, opts).target, { interaction: 'read', resourceType: 'OperationDefinition', id: 'other' });
        assert.equal(route(req('PUT', 'OperationDefinition/test-stats'), deps, opts).target.interaction, 'update');
      });

      it('a registry refuses entries whose OperationDefinition disagrees with them', () => {
        assert.throws(() => createOperationRegistry([{ ...entry('x', ['system'], true), levels: ['type'] }]), /disagree/);
        assert.throws(() => createOperationRegistry([entry('x', ['system'], true), entry('x', ['system'], true)]), /registered twice/);
        assert.throws(() => createOperationRegistry([{ ...entry('x', ['system'], true), readOnly: false }]), /affectsState/);
        assert.throws(() => createOperationRegistry([entry('x', ['type'], true, ['Banana'])]), /unknown type Banana/);
      });
    });

    it('POST type → create', () => {
      assert.deepEqual(target('POST', 'Patient'), { interaction: 'create', resourceType: 'Patient' });
    });

    it('PUT type/id → update; PUT type?criteria → conditional update', () => {
      assert.deepEqual(target('PUT', 'Patient/1'), { interaction: 'update', resourceType: 'Patient', id: '1' });
      assert.deepEqual(target('PUT', 'Patient', 'identifier=s|v'), { interaction: 'update', resourceType: 'Patient' });
    });

    it('PATCH type/id → patch', () => {
      assert.deepEqual(target('PATCH', 'Patient/1'), { interaction: 'patch', resourceType: 'Patient', id: '1' });
    });

    it('DELETE type/id → delete; DELETE type?criteria → conditional delete', () => {
      assert.deepEqual(target('DELETE', 'Patient/1'), { interaction: 'delete', resourceType: 'Patient', id: '1' });
      assert.deepEqual(target('DELETE', 'Patient', '_id=1'), { interaction: 'delete', resourceType: 'Patient' });
    });

    it('reads are read-only, writes are not', () => {
      const reads: [HttpMethod, string, string?][] = [['GET', 'Patient/1'], ['GET', 'Patient/1/_history/1'], ['GET', 'Patient/_history'], ['GET', '_history']];
      const writes: [HttpMethod, string, string?][] = [['POST', 'Patient'], ['PUT', 'Patient/1'], ['PATCH', 'Patient/1'], ['DELETE', 'Patient/1'], ['PUT', 'Patient', '_id=1'], ['DELETE', 'Patient', '_id=1']];
      for (const [method, path, query] of reads) {
        assert.equal(route(req(method, path, query), deps, options).readOnly, true, `${method} ${path}`);
      }
      for (const [method, path, query] of writes) {
        assert.equal(route(req(method, path, query), deps, options).readOnly, false, `${method} ${path}`);
      }
    });
  });

  describe('errors', () => {
    it('an unknown resource type → 404 naming it', () => {
      fails('GET', 'Foo/1', 404, 'not-found', /Unknown resource type 'Foo'/);
      fails('POST', 'patient', 404, 'not-found', /Unknown resource type 'patient'/);
      fails('GET', 'Foo/_history', 404, 'not-found', /Unknown resource type 'Foo'/);
    });

    it('an invalid id → 400 naming type.id', () => {
      fails('GET', 'Patient/bad_id!', 400, 'invalid', /Invalid id 'bad_id!'/, '', ['Patient.id']);
      fails('PUT', `Patient/${'a'.repeat(65)}`, 400, 'invalid', /an id is 1 to 64 characters/, '', ['Patient.id']);
      fails('DELETE', 'Observation/a b', 400, 'invalid', /Invalid id/, '', ['Observation.id']);
      fails('GET', 'Patient/bad!/_history/1', 400, 'invalid', /Invalid id/, '', ['Patient.id']);
    });

    it('unknown paths → 404', () => {
      fails('GET', 'Patient/1/foo', 404, 'not-found', /No such path: Patient\/1\/foo/);
      fails('GET', 'Patient/1/_history/2/extra', 404, 'not-found', /No such path: Patient\/1\/_history\/2\/extra/);
      fails('GET', 'metadata/x', 404, 'not-found', /Unknown resource type 'metadata'/);
    });

    it('methods not allowed on an instance → 405 listing what is', () => {
      fails('POST', 'Patient/1', 405, 'not-supported', /POST is not allowed on Patient\/1; allowed: GET, PUT, PATCH, DELETE/);
    });

    it('methods not allowed on a type → 405', () => {
      fails('PATCH', 'Patient', 405, 'not-supported', /PATCH is not allowed on Patient; allowed: GET, POST, PUT, DELETE/);
    });

    it('writes to metadata and history → 405 allowing GET', () => {
      fails('POST', 'metadata', 405, 'not-supported', /POST is not allowed on metadata; allowed: GET/);
      fails('DELETE', '_history', 405, 'not-supported', /DELETE is not allowed on _history; allowed: GET/);
      fails('PUT', 'Patient/_history', 405, 'not-supported', /PUT is not allowed on Patient\/_history; allowed: GET/);
      fails('POST', 'Patient/1/_history', 405, 'not-supported', /POST is not allowed on Patient\/1\/_history; allowed: GET/);
      fails('DELETE', 'Patient/1/_history/1', 405, 'not-supported', /allowed: GET/);
    });

    it('PUT or DELETE on a type without criteria → 400', () => {
      fails('PUT', 'Patient', 400, 'invalid', /PUT Patient needs search criteria \(conditional update\) or an id in the URL/);
      fails('DELETE', 'Patient', 400, 'invalid', /DELETE Patient needs search criteria \(conditional delete\) or an id in the URL/);
      fails('PUT', 'Patient', 400, 'invalid', /needs search criteria/, '_format=json&_pretty=true');
      fails('DELETE', 'Patient', 400, 'invalid', /needs search criteria/, '_format=json');
    });

    it('POST [base] is not routed: FhirService takes it as a batch or transaction', () => {
      fails('POST', '', 405, 'not-supported', /POST is not allowed/);
      fails('PUT', '', 405, 'not-supported', /allowed: GET, POST/);
    });

    it('an operation this server does not offer → 400', () => {
      fails('GET', 'Patient/1/$everything', 400, 'not-supported', /Operation \$everything is not supported/);
      fails('POST', '$meta-add', 400, 'not-supported', /Operation \$meta-add is not supported/);
      fails('GET', 'Patient/$match', 400, 'not-supported', /Operation \$match/);
    });
  });
});
