// ValueSet $expand and $validate-code end to end (valueset-operation-expand.html,
// valueset-operation-validate-code.html; docs/terminology-expansion.md): through FhirService on
// the test database (GET and POST, type and instance level, inline ValueSets, errors, tenant
// isolation, shared content, the cache filled once by a read run again read-write), and
// fhir-kit-client against a started server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Parameters, ValueSet } from 'fhir/r4.js';
import type pg from 'pg';
import { createFhirService, type FhirComposition } from '../../src/compose.js';
import { loadConfig } from '../../src/core/config.js';
import { ANONYMOUS_ACCESS, type FhirRequest, type HttpMethod, type JsonObject } from '../../src/core/types.js';
import { PgSharedTerminology } from '../../src/storage/pg/shared-terminology.js';
import { codeSystemContent } from '../../src/terminology/code-system-content.js';
import { newTenant, testPool } from '../support/database.js';
import { requestsTo, type Reply } from '../support/service-requests.js';
import { requireServices } from '../support/services.js';
import { useTestServer } from '../support/test-server.js';
import { animals, loadCodeSystem } from '../support/value-set-fixtures.js';

type Param = { name: string; [value: string]: unknown };
const parameters = (...parameter: Param[]) => ({ resourceType: 'Parameters', parameter });
const codesOf = (reply: Reply) => ((reply.body as unknown as ValueSet).expansion?.contains ?? []).map((c) => c.code);
const out = (reply: Reply, name: string) => (reply.body as unknown as Parameters).parameter?.find((p) => p.name === name);

describe('ValueSet $expand and $validate-code (e2e, service)', function () {
  let pool: pg.Pool;
  let composition: FhirComposition;
  let tenant: string;
  let other: string;
  const cs = `urn:test:animals:${randomUUID()}`;
  const vsUrl = `urn:test:vs:${randomUUID()}`;
  let vsId: string;
  let send: (method: HttpMethod, path: string, extra?: Partial<FhirRequest>) => Promise<Reply>;
  let sendOther: typeof send;

  before(async function () {
    await requireServices(this);
    pool = await testPool();
    composition = createFhirService(loadConfig({ HEARTH_AUDIT: 'off' }), { pool, mode: 'postgres', close: async () => undefined }, undefined, { analyzeAsWritten: false });
    [tenant, other] = [await newTenant(pool), await newTenant(pool)];
    await composition.repository.withTenant(tenant, (store) => loadCodeSystem(store, animals(cs)));
    const asA = requestsTo(composition.service, () => tenant);
    const asB = requestsTo(composition.service, () => other);
    send = (method, path, extra) => asA(ANONYMOUS_ACCESS, method, path, extra);
    sendOther = (method, path, extra) => asB(ANONYMOUS_ACCESS, method, path, extra);
    const created = await send('POST', 'ValueSet', {
      bodyKind: 'resource',
      body: { resourceType: 'ValueSet', url: vsUrl, version: '2', name: 'Animals', status: 'active', compose: { include: [{ system: cs, filter: [{ property: 'concept', op: 'is-a', value: 'A' }] }] } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    vsId = String(created.body?.id);
  });
  after(() => composition?.maintenance.close());

  const post = (path: string, ...parameter: Param[]) => send('POST', path, { bodyKind: 'resource', body: parameters(...parameter) });

  it('expands by url with GET: the ValueSet with expansion identifier, timestamp, total and contains', async () => {
    const reply = await send('GET', `ValueSet/$expand?url=${encodeURIComponent(vsUrl)}`);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const vs = reply.body as unknown as ValueSet;
    assert.equal(vs.resourceType, 'ValueSet');
    assert.equal(vs.url, vsUrl);
    assert.equal(vs.compose, undefined, 'the definition only with includeDefinition');
    assert.match(vs.expansion?.identifier ?? '', /^urn:uuid:[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(vs.expansion?.timestamp ?? '')));
    assert.equal(vs.expansion?.total, 6);
    assert.deepEqual(vs.expansion?.contains?.[4], { system: cs, version: '1', code: 'E', display: 'Extinct beast', inactive: true });
    assert.deepEqual(codesOf(reply), ['A', 'B', 'C', 'D', 'E', 'Z']);
  });

  it('stores the expansion once: the first read runs again read-write, later ones find it', async () => {
    const url = `urn:test:vs:${randomUUID()}`;
    const created = await send('POST', 'ValueSet', { bodyKind: 'resource', body: { resourceType: 'ValueSet', url, status: 'active', compose: { include: [{ system: cs }] } } });
    assert.equal(created.status, 201);
    for (let i = 0; i < 3; i++) assert.equal((await send('GET', `ValueSet/$expand?url=${encodeURIComponent(url)}&filter=bird`)).status, 200);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM value_set_expansion WHERE tenant_id = $1 AND value_set_url = $2', [tenant, url]);
    assert.equal(rows[0].n, 1);
  });

  it('filters, pages and echoes the parameters (POST with Parameters)', async () => {
    const reply = await post('ValueSet/$expand', { name: 'url', valueUri: vsUrl }, { name: 'filter', valueString: 'b' }, { name: 'count', valueInteger: 1 }, { name: 'offset', valueInteger: 1 });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const expansion = (reply.body as unknown as ValueSet).expansion;
    assert.equal(expansion?.total, 2, 'B (Bird of prey) and E (Extinct beast) have a word starting with b');
    assert.equal(expansion?.offset, 1);
    assert.deepEqual(codesOf(reply), ['E']);
    assert.deepEqual(expansion?.parameter, [
      { name: 'filter', valueString: 'b' },
      { name: 'offset', valueInteger: 1 },
      { name: 'count', valueInteger: 1 },
    ]);
    const paged = await send('GET', `ValueSet/$expand?url=${encodeURIComponent(vsUrl)}&count=2&offset=4&activeOnly=true`);
    assert.deepEqual([(paged.body as unknown as ValueSet).expansion?.total, codesOf(paged)], [5, ['Z']]);
  });

  it('expands by url|version and valueSetVersion; includeDefinition returns the compose', async () => {
    assert.equal((await send('GET', `ValueSet/$expand?url=${encodeURIComponent(`${vsUrl}|2`)}`)).status, 200);
    assert.equal((await send('GET', `ValueSet/$expand?url=${encodeURIComponent(vsUrl)}&valueSetVersion=2&includeDefinition=true`)).body?.compose !== undefined, true);
    assert.equal((await send('GET', `ValueSet/$expand?url=${encodeURIComponent(vsUrl)}&valueSetVersion=3`)).status, 404);
  });

  it('expands an inline valueSet (POST), with displayLanguage', async () => {
    const reply = await post('ValueSet/$expand', { name: 'valueSet', resource: { resourceType: 'ValueSet', status: 'draft', compose: { include: [{ system: cs, concept: [{ code: 'C' }, { code: 'A' }] }] } } }, { name: 'displayLanguage', valueCode: 'de' });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.deepEqual((reply.body as unknown as ValueSet).expansion?.contains?.map((c) => c.display), ['Katzen', 'Tierreich']);
  });

  it('expands an instance (GET and POST), and answers 404 for an unknown instance or url', async () => {
    const get = await send('GET', `ValueSet/${vsId}/$expand?count=2`);
    assert.equal(get.status, 200, JSON.stringify(get.body));
    assert.deepEqual(codesOf(get), ['A', 'B']);
    assert.equal((get.body as unknown as ValueSet).id, vsId);
    const viaPost = await post(`ValueSet/${vsId}/$expand`, { name: 'filter', valueString: 'cat' });
    assert.deepEqual(codesOf(viaPost), ['C']);
    const unknownInstance = await send('GET', 'ValueSet/nope/$expand');
    assert.equal(unknownInstance.status, 404);
    assert.equal((unknownInstance.body as { resourceType: string }).resourceType, 'OperationOutcome');
    const unknownUrl = await send('GET', `ValueSet/$expand?url=${encodeURIComponent(`urn:test:vs:${randomUUID()}`)}`);
    assert.equal(unknownUrl.status, 404);
  });

  it('answers 400 naming the parameter for bad input, 422 for what cannot be expanded', async () => {
    const expectIssue = async (reply: Promise<Reply>, status: number, code: string, expression?: string) => {
      const r = await reply;
      assert.equal(r.status, status, JSON.stringify(r.body));
      const issue = (r.body as { issue: { code: string; expression?: string[] }[] }).issue[0];
      assert.equal(issue.code, code);
      if (expression) assert.deepEqual(issue.expression, [expression]);
    };
    await expectIssue(send('GET', `ValueSet/$expand?url=${encodeURIComponent(vsUrl)}&count=-1`), 400, 'invalid', 'count');
    await expectIssue(send('GET', `ValueSet/$expand?url=${encodeURIComponent(vsUrl)}&activeOnly=yes`), 400, 'invalid', 'activeOnly');
    await expectIssue(send('GET', `ValueSet/$expand?url=${encodeURIComponent(vsUrl)}&context=x`), 400, 'not-supported', 'context');
    await expectIssue(send('GET', `ValueSet/$expand?url=${encodeURIComponent(vsUrl)}&colour=red`), 400, 'invalid', 'colour');
    await expectIssue(send('GET', 'ValueSet/$expand'), 400, 'invalid');
    await expectIssue(send('GET', 'ValueSet/$expand?valueSet=x'), 400, 'invalid', 'valueSet');
    await expectIssue(post('ValueSet/$expand', { name: 'url', valueUri: vsUrl }, { name: 'valueSet', resource: { resourceType: 'ValueSet' } }), 400, 'invalid', "Parameters.parameter.where(name='valueSet')");
    await expectIssue(post('ValueSet/$expand', { name: 'valueSet', resource: { resourceType: 'CodeSystem' } }), 400, 'invalid', "Parameters.parameter.where(name='valueSet')");
    await expectIssue(post(`ValueSet/${vsId}/$expand`, { name: 'url', valueUri: vsUrl }), 400, 'invalid', "Parameters.parameter.where(name='url')");
    await expectIssue(post('ValueSet/$expand', { name: 'valueSet', resource: { resourceType: 'ValueSet', compose: { include: [{ system: `urn:test:none:${randomUUID()}` }] } } }), 422, 'not-found', 'ValueSet.compose.include[0].system');
    await expectIssue(post('ValueSet/$expand', { name: 'valueSet', resource: { resourceType: 'ValueSet', status: 'draft' } }), 422, 'invalid', 'ValueSet');
    await expectIssue(send('GET', `CodeSystem/$expand?url=${encodeURIComponent(cs)}`), 400, 'not-supported');
  });

  it("keeps tenants apart: another tenant can neither expand this one's ValueSet nor use its code system", async () => {
    assert.equal((await sendOther('GET', `ValueSet/$expand?url=${encodeURIComponent(vsUrl)}`)).status, 404);
    assert.equal((await sendOther('GET', `ValueSet/${vsId}/$expand`)).status, 404);
    const inline = await sendOther('POST', 'ValueSet/$expand', { bodyKind: 'resource', body: parameters({ name: 'valueSet', resource: { resourceType: 'ValueSet', compose: { include: [{ system: cs }] } } }) });
    assert.equal(inline.status, 422);
    const validate = await sendOther('GET', `ValueSet/$validate-code?url=${encodeURIComponent(vsUrl)}&system=${encodeURIComponent(cs)}&code=A`);
    assert.equal(validate.status, 404);
  });

  it('expands and validates against shared content (a shared code system and ValueSet)', async () => {
    const sharedCs = `urn:test:shared-animals:${randomUUID()}`;
    const sharedVs = `urn:test:shared-vs:${randomUUID()}`;
    await new PgSharedTerminology(pool).write(async (writer) => {
      const { header, concepts, edges } = codeSystemContent(animals(sharedCs), 'test');
      const w = await writer.beginCodeSystem(header);
      await w.addConcepts(concepts);
      await w.addParents(edges);
      await w.finish();
      await writer.putResource('ValueSet', { resourceType: 'ValueSet', id: 'shared-birds', url: sharedVs, status: 'active', compose: { include: [{ system: sharedCs, filter: [{ property: 'concept', op: 'is-a', value: 'B' }] }] } }, 'test');
      await writer.bumpGeneration();
    });
    for (const sender of [send, sendOther]) {
      const reply = await sender('GET', `ValueSet/$expand?url=${encodeURIComponent(sharedVs)}`);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(codesOf(reply), ['B', 'D']);
      const valid = await sender('GET', `ValueSet/$validate-code?url=${encodeURIComponent(sharedVs)}&system=${encodeURIComponent(sharedCs)}&code=D`);
      assert.equal(out(valid, 'result')?.valueBoolean, true, JSON.stringify(valid.body));
    }
  });

  describe('$validate-code on ValueSet (through the validate-code entry)', () => {
    const get = (query: string) => send('GET', `ValueSet/$validate-code?url=${encodeURIComponent(vsUrl)}&${query}`);

    it('answers result and display for a member, result false with a message otherwise', async () => {
      const yes = await get(`system=${encodeURIComponent(cs)}&code=B`);
      assert.equal(yes.status, 200, JSON.stringify(yes.body));
      assert.equal(out(yes, 'result')?.valueBoolean, true);
      assert.equal(out(yes, 'display')?.valueString, 'Bird of prey');
      assert.equal(out(yes, 'message'), undefined);
      const no = await get(`system=${encodeURIComponent(cs)}&code=nope`);
      assert.equal(out(no, 'result')?.valueBoolean, false);
      assert.match(String(out(no, 'message')?.valueString), /not in the value set/);
      const otherSystem = await get('system=urn:other&code=B');
      assert.equal(out(otherSystem, 'result')?.valueBoolean, false);
    });

    it('keeps result true for a wrong display, with a message', async () => {
      const reply = await get(`system=${encodeURIComponent(cs)}&code=B&display=Eagle`);
      assert.equal(out(reply, 'result')?.valueBoolean, true);
      assert.match(String(out(reply, 'message')?.valueString), /'Eagle' is not the display/);
      assert.equal(out(reply, 'display')?.valueString, 'Bird of prey');
    });

    it('takes a coding or a codeableConcept (any valid coding) by POST, an inline valueSet, and an instance', async () => {
      const coding = await post('ValueSet/$validate-code', { name: 'url', valueUri: vsUrl }, { name: 'coding', valueCoding: { system: cs, code: 'Z' } });
      assert.equal(out(coding, 'result')?.valueBoolean, true, JSON.stringify(coding.body));
      const concept = await post(
        'ValueSet/$validate-code',
        { name: 'url', valueUri: vsUrl },
        { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: 'urn:other', code: 'x' }, { system: cs, code: 'C' }] } },
      );
      assert.equal(out(concept, 'result')?.valueBoolean, true);
      const inline = await post(
        'ValueSet/$validate-code',
        { name: 'valueSet', resource: { resourceType: 'ValueSet', compose: { include: [{ system: cs, concept: [{ code: 'A' }] }] } } },
        { name: 'code', valueCode: 'B' },
        { name: 'system', valueUri: cs },
      );
      assert.equal(out(inline, 'result')?.valueBoolean, false);
      const instance = await send('GET', `ValueSet/${vsId}/$validate-code?system=${encodeURIComponent(cs)}&code=D`);
      assert.equal(out(instance, 'result')?.valueBoolean, true);
    });

    it('answers 404 for an unknown ValueSet, 400 for a request without a code or with two', async () => {
      assert.equal((await send('GET', `ValueSet/$validate-code?url=urn:test:none&code=A`)).status, 404);
      assert.equal((await send('GET', 'ValueSet/nope/$validate-code?code=A')).status, 404);
      assert.equal((await get('system=urn:x')).status, 400);
      const both = await post('ValueSet/$validate-code', { name: 'url', valueUri: vsUrl }, { name: 'code', valueCode: 'A' }, { name: 'coding', valueCoding: { code: 'A' } });
      assert.equal(both.status, 400);
    });
  });
});

describe('ValueSet $expand with fhir-kit-client (e2e, postgres)', function () {
  const hearth = useTestServer('postgres');
  const tenant = hearth.useTenant();

  it('expands a stored ValueSet through a real client, GET and POST', async () => {
    const cs = `urn:test:animals:${randomUUID()}`;
    const tenantId = new URL(tenant.base).pathname.split('/')[2];
    const repository = new (await import('../../src/storage/pg/pg-repository.js')).PgRepository(hearth.server.server.database.pool);
    await repository.withTenant(tenantId, (store) => loadCodeSystem(store, animals(cs)));
    const url = `urn:test:vs:${randomUUID()}`;
    const created = (await tenant.client.create({ resourceType: 'ValueSet', body: { resourceType: 'ValueSet', url, status: 'active', compose: { include: [{ system: cs, filter: [{ property: 'concept', op: 'descendent-of', value: 'A' }] }] } } })) as JsonObject;
    const byGet = (await tenant.client.operation({ name: '$expand', resourceType: 'ValueSet', method: 'GET', input: { url, filter: 'hawk' } })) as unknown as ValueSet;
    assert.deepEqual(byGet.expansion?.contains?.map((c) => c.code), ['D']);
    const byPost = (await tenant.client.operation({ name: 'expand', resourceType: 'ValueSet', id: String(created.id), input: parameters({ name: 'activeOnly', valueBoolean: true }) })) as unknown as ValueSet;
    assert.deepEqual(byPost.expansion?.contains?.map((c) => c.code), ['B', 'C', 'D', 'Z']);
    assert.equal(byPost.expansion?.total, 4);
  });
});
