// CodeSystem $lookup, $subsumes and $validate-code (FHIR R4 codesystem-operations.html;
// src/fhir/operations/code-system-*.ts, validate-code.ts) on a running server: GET and POST, type
// and instance level, every output, the error answers (404 for unknown code systems and codes in
// $lookup, 400 naming the parameter for missing or contradictory input, result=false in
// $validate-code), a tenant's code systems invisible to another, shared ones visible to all, and
// the CapabilityStatement listing the operations with their definitions.
import assert from 'node:assert/strict';
import type { CapabilityStatement, OperationDefinition, OperationOutcome, Parameters } from 'fhir/r4.js';
import { assertOutcome, http } from '../support/http.js';
import { useTestServer } from '../support/test-server.js';
import {
  loadShared, loadTenantCodeSystem, named, one, parameters, part, propertiesOf, sampleCodeSystem, tenantOfBase, uniqueUrl,
} from './code-system-operations-fixtures.js';

const enc = encodeURIComponent;

/** A Parameters answer, or an OperationOutcome's issues when it failed. */
type Reply = Parameters & Pick<OperationOutcome, 'issue'>;

describe('CodeSystem terminology operations (e2e, postgres)', function () {
  this.timeout(60_000);
  const hearth = useTestServer('postgres', { audit: 'off', reindexWorker: false });
  const tenant = hearth.useTenant();

  /** A url loaded straight into the current tenant's concept storage. */
  async function tenantCodeSystem(): Promise<string> {
    const url = uniqueUrl('cs');
    await loadTenantCodeSystem(tenantOfBase(tenant.base), url);
    return url;
  }

  /** A CodeSystem created through the API (its concepts load with it); its id. */
  async function storedCodeSystem(url: string, version = '1'): Promise<string> {
    const created = await http(`${tenant.base}/CodeSystem`, { method: 'POST', json: sampleCodeSystem(url, version) });
    assert.equal(created.status, 201, created.text);
    return created.body.id;
  }

  const get = (path: string) => http<Reply>(`${tenant.base}/${path}`);
  const post = (path: string, body: Parameters) => http<Reply>(`${tenant.base}/${path}`, { method: 'POST', json: body });

  describe('$lookup', () => {
    it('GET at type level: name, version, display, designations, properties with parent, child and inactive', async () => {
      const url = await tenantCodeSystem();
      const res = await get(`CodeSystem/$lookup?system=${enc(url)}&code=B`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.resourceType, 'Parameters');
      assert.equal(one(res.body, 'name').valueString, 'Animal kingdom');
      assert.equal(one(res.body, 'version').valueString, '1');
      assert.equal(one(res.body, 'display').valueString, 'Bird of prey');
      const designations = named(res.body, 'designation');
      assert.equal(designations.length, 2);
      assert.equal(part(designations[0], 'language')?.valueCode, 'de');
      assert.equal(part(designations[0], 'use')?.valueCoding?.code, '900000000000013009');
      assert.equal(part(designations[0], 'value')?.valueString, 'Greifvogel');
      assert.deepEqual(propertiesOf(res.body), [['colour', 'brown'], ['legs', 2], ['parent', 'A'], ['child', 'D'], ['inactive', false]]);
      const colour = named(res.body, 'property').find((p) => part(p, 'code')?.valueCode === 'colour')!;
      assert.equal(part(colour, 'value')?.valueCode, 'brown');
      assert.equal(part(colour, 'description')?.valueString, 'The usual colour');

      const d = await get(`CodeSystem/$lookup?system=${enc(url)}&code=D&version=1`);
      assert.deepEqual(propertiesOf(d.body), [['parent', 'B'], ['parent', 'C'], ['inactive', false]], 'two parents, no child');
      const e = await get(`CodeSystem/$lookup?system=${enc(url)}&code=E`);
      assert.deepEqual(propertiesOf(e.body), [['parent', 'A'], ['inactive', true]]);
    });

    it('POST with a coding; property restricts the properties; displayLanguage picks a designation', async () => {
      const url = await tenantCodeSystem();
      const res = await post('CodeSystem/$lookup', parameters(
        { name: 'coding', valueCoding: { system: url, code: 'B' } },
        { name: 'property', valueCode: 'parent' },
        { name: 'property', valueCode: 'lang.fr' },
        { name: 'displayLanguage', valueCode: 'de' },
      ));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(propertiesOf(res.body), [['parent', 'A']]);
      assert.equal(one(res.body, 'display').valueString, 'Greifvogel');
      assert.deepEqual(named(res.body, 'designation').map((d) => part(d, 'value')?.valueString), ['Rapace']);
      const got = await get(`CodeSystem/$lookup?system=${enc(url)}&code=B&property=inactive&property=colour`);
      assert.deepEqual(propertiesOf(got.body), [['colour', 'brown'], ['inactive', false]]);
      assert.deepEqual(named(got.body, 'designation'), []);
    });

    it('at instance level (GET and POST): the CodeSystem\'s url and version', async () => {
      const url = uniqueUrl('cs');
      const id = await storedCodeSystem(url, '2');
      const res = await get(`CodeSystem/${id}/$lookup?code=Z`);
      assert.equal(res.status, 200, res.text);
      assert.equal(one(res.body, 'display').valueString, 'Zebra-like');
      assert.equal(one(res.body, 'version').valueString, '2');
      assert.deepEqual(propertiesOf(res.body), [['parent', 'A'], ['inactive', false]]);
      const posted = await post(`CodeSystem/${id}/$lookup`, parameters({ name: 'code', valueCode: 'A' }));
      assert.equal(posted.status, 200, posted.text);
      assert.deepEqual(propertiesOf(posted.body).filter(([c]) => c === 'child').map(([, v]) => v), ['B', 'C', 'E', 'Z']);
      const other = await get(`CodeSystem/${id}/$lookup?code=A&system=${enc(uniqueUrl('cs'))}`);
      assert.equal(other.status, 400);
      assert.deepEqual(assertOutcome(other.body).issue[0].expression, ['system']);
      const unknown = await get('CodeSystem/nope/$lookup?code=A');
      assert.equal(unknown.status, 404);
      assertOutcome(unknown.body, 'not-found');
    });

    it('unknown system or code → 404 naming it; missing code → 400 naming the parameter', async () => {
      const url = await tenantCodeSystem();
      const noSystem = await get(`CodeSystem/$lookup?system=${enc('urn:test:none')}&code=A`);
      assert.equal(noSystem.status, 404);
      assert.match(assertOutcome(noSystem.body, 'not-found').issue[0].diagnostics!, /urn:test:none/);
      const noVersion = await get(`CodeSystem/$lookup?system=${enc(url)}&code=A&version=9`);
      assert.equal(noVersion.status, 404);
      assert.match(noVersion.body.issue[0].diagnostics!, /no version '9' \(known: 1\)/);
      const noCode = await get(`CodeSystem/$lookup?system=${enc(url)}&code=Q`);
      assert.equal(noCode.status, 404);
      assert.match(assertOutcome(noCode.body, 'not-found').issue[0].diagnostics!, /'Q'/);
      const missing = await get(`CodeSystem/$lookup?system=${enc(url)}`);
      assert.equal(missing.status, 400);
      assert.deepEqual(assertOutcome(missing.body, 'invalid').issue[0].expression, ['code']);
      const missingSystem = await post('CodeSystem/$lookup', parameters({ name: 'code', valueCode: 'A' }));
      assert.equal(missingSystem.status, 400);
      assert.deepEqual(missingSystem.body.issue[0].expression, ["Parameters.parameter.where(name='system')"]);
      const both = await post('CodeSystem/$lookup', parameters({ name: 'code', valueCode: 'A' }, { name: 'system', valueUri: url }, { name: 'coding', valueCoding: { system: url, code: 'A' } }));
      assert.equal(both.status, 400);
      const noCodingCode = await post('CodeSystem/$lookup', parameters({ name: 'coding', valueCoding: { system: url } }));
      assert.equal(noCodingCode.status, 400);
      assert.deepEqual(noCodingCode.body.issue[0].expression, ["Parameters.parameter.where(name='coding').valueCoding.code"]);
      const stray = await get(`CodeSystem/$lookup?system=${enc(url)}&code=A&colour=red`);
      assert.equal(stray.status, 400);
      assert.deepEqual(stray.body.issue[0].expression, ['colour']);
      const wrongType = await get(`Patient/$lookup?system=${enc(url)}&code=A`);
      assert.equal(wrongType.status, 400);
    });

    it("keeps a tenant's code system from another tenant; shared content is visible to every tenant", async () => {
      const url = await tenantCodeSystem();
      const other = await hearth.server.newTenantBase();
      const res = await http(`${other}/CodeSystem/$lookup?system=${enc(url)}&code=A`);
      assert.equal(res.status, 404);
      const sharedUrl = uniqueUrl('shared-cs');
      await loadShared(sharedUrl);
      for (const base of [tenant.base, other]) {
        const shared = await http<Parameters>(`${base}/CodeSystem/$lookup?system=${enc(sharedUrl)}&code=D`);
        assert.equal(shared.status, 200, shared.text);
        assert.equal(one(shared.body, 'display').valueString, 'Desert hawk');
        assert.deepEqual(propertiesOf(shared.body), [['parent', 'B'], ['inactive', false]]);
      }
    });
  });

  describe('$subsumes', () => {
    it('GET and POST at type level: every outcome', async () => {
      const url = await tenantCodeSystem();
      const outcome = async (a: string, b: string) => {
        const res = await get(`CodeSystem/$subsumes?system=${enc(url)}&codeA=${a}&codeB=${b}`);
        assert.equal(res.status, 200, res.text);
        return one(res.body, 'outcome').valueCode;
      };
      assert.equal(await outcome('A', 'D'), 'subsumes');
      assert.equal(await outcome('D', 'C'), 'subsumed-by', 'through the second parent');
      assert.equal(await outcome('B', 'C'), 'not-subsumed');
      assert.equal(await outcome('B', 'B'), 'equivalent');
      const posted = await post('CodeSystem/$subsumes', parameters(
        { name: 'codingA', valueCoding: { system: url, code: 'Z' } },
        { name: 'codingB', valueCoding: { system: url, code: 'A' } },
      ));
      assert.equal(posted.status, 200, posted.text);
      assert.equal(one(posted.body, 'outcome').valueCode, 'subsumed-by');
    });

    it('at instance level (GET and POST)', async () => {
      const id = await storedCodeSystem(uniqueUrl('cs'));
      const res = await get(`CodeSystem/${id}/$subsumes?codeA=A&codeB=E`);
      assert.equal(res.status, 200, res.text);
      assert.equal(one(res.body, 'outcome').valueCode, 'subsumes');
      const posted = await post(`CodeSystem/${id}/$subsumes`, parameters({ name: 'codeA', valueCode: 'D' }, { name: 'codeB', valueCode: 'C' }));
      assert.equal(one(posted.body, 'outcome').valueCode, 'not-subsumed', 'D is-a C only in the directly loaded copy');
    });

    it('unknown code → 400 code-invalid naming the parameter; unknown system → 404; missing codeB → 400; other tenants and shared', async () => {
      const url = await tenantCodeSystem();
      const unknownCode = await get(`CodeSystem/$subsumes?system=${enc(url)}&codeA=A&codeB=Q`);
      assert.equal(unknownCode.status, 400);
      assert.deepEqual(assertOutcome(unknownCode.body, 'code-invalid').issue.map((i) => i.expression), [['codeB']]);
      const unknownCoding = await post('CodeSystem/$subsumes', parameters(
        { name: 'codingA', valueCoding: { system: url, code: 'Q' } },
        { name: 'codingB', valueCoding: { system: url, code: 'A' } },
      ));
      assert.deepEqual(unknownCoding.body.issue.map((i) => i.expression), [["Parameters.parameter.where(name='codingA')"]]);
      const unknownSystem = await get(`CodeSystem/$subsumes?system=${enc('urn:test:none')}&codeA=A&codeB=B`);
      assert.equal(unknownSystem.status, 404);
      assertOutcome(unknownSystem.body, 'not-found');
      const missing = await get(`CodeSystem/$subsumes?system=${enc(url)}&codeA=A`);
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.body.issue[0].expression, ['codeB']);
      const twoSystems = await post('CodeSystem/$subsumes', parameters(
        { name: 'codingA', valueCoding: { system: url, code: 'A' } },
        { name: 'codingB', valueCoding: { system: 'urn:test:other', code: 'A' } },
      ));
      assert.equal(twoSystems.status, 400);
      const other = await hearth.server.newTenantBase();
      assert.equal((await http(`${other}/CodeSystem/$subsumes?system=${enc(url)}&codeA=A&codeB=B`)).status, 404);
      const sharedUrl = uniqueUrl('shared-cs');
      await loadShared(sharedUrl);
      const shared = await http<Parameters>(`${other}/CodeSystem/$subsumes?system=${enc(sharedUrl)}&codeA=A&codeB=D`);
      assert.equal(one(shared.body, 'outcome').valueCode, 'subsumes');
    });
  });

  describe('$validate-code', () => {
    it('GET at type level: result and display; a wrong display and an inactive concept are warnings', async () => {
      const url = await tenantCodeSystem();
      const ok = await get(`CodeSystem/$validate-code?url=${enc(url)}&code=B`);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(one(ok.body, 'result').valueBoolean, true);
      assert.equal(one(ok.body, 'display').valueString, 'Bird of prey');
      assert.deepEqual(named(ok.body, 'message'), []);
      const byDesignation = await get(`CodeSystem/$validate-code?url=${enc(url)}&code=B&display=greifvogel`);
      assert.deepEqual(named(byDesignation.body, 'message'), [], 'a designation is a display too');
      const wrongDisplay = await get(`CodeSystem/$validate-code?url=${enc(url)}&code=B&display=${enc('Sparrow')}`);
      assert.equal(one(wrongDisplay.body, 'result').valueBoolean, true);
      assert.match(one(wrongDisplay.body, 'message').valueString!, /'Sparrow' is not a display .* it is 'Bird of prey'/);
      const inactive = await get(`CodeSystem/$validate-code?url=${enc(url)}&code=E`);
      assert.equal(one(inactive.body, 'result').valueBoolean, true);
      assert.match(one(inactive.body, 'message').valueString!, /inactive/);
    });

    it('unknown code or system is result=false with a message, not an error', async () => {
      const url = await tenantCodeSystem();
      const noCode = await get(`CodeSystem/$validate-code?url=${enc(url)}&code=Q`);
      assert.equal(noCode.status, 200);
      assert.equal(one(noCode.body, 'result').valueBoolean, false);
      assert.match(one(noCode.body, 'message').valueString!, /no concept 'Q'/);
      const noSystem = await get(`CodeSystem/$validate-code?url=${enc('urn:test:none')}&code=A`);
      assert.equal(noSystem.status, 200);
      assert.equal(one(noSystem.body, 'result').valueBoolean, false);
      assert.match(one(noSystem.body, 'message').valueString!, /urn:test:none' is not known/);
      const noVersion = await get(`CodeSystem/$validate-code?url=${enc(url)}&code=A&version=7`);
      assert.equal(one(noVersion.body, 'result').valueBoolean, false);
    });

    it('POST with a coding or a codeableConcept (valid when any of its codings in the system is)', async () => {
      const url = await tenantCodeSystem();
      const coding = await post('CodeSystem/$validate-code', parameters({ name: 'coding', valueCoding: { system: url, code: 'C', display: 'Cat family' } }));
      assert.equal(coding.status, 200, coding.text);
      assert.equal(one(coding.body, 'result').valueBoolean, true);
      assert.deepEqual(named(coding.body, 'message'), []);
      const concept = await post('CodeSystem/$validate-code', parameters(
        { name: 'url', valueUri: url },
        { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: 'urn:test:elsewhere', code: 'X' }, { system: url, code: 'Q' }, { system: url, code: 'D' }] } },
      ));
      assert.equal(one(concept.body, 'result').valueBoolean, true);
      assert.equal(one(concept.body, 'display').valueString, 'Desert hawk');
      const none = await post('CodeSystem/$validate-code', parameters(
        { name: 'url', valueUri: url },
        { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: 'urn:test:elsewhere', code: 'X' }] } },
      ));
      assert.equal(one(none.body, 'result').valueBoolean, false);
      assert.match(one(none.body, 'message').valueString!, /no coding from the code system/);
    });

    it('at instance level (GET and POST): the CodeSystem\'s url', async () => {
      const url = uniqueUrl('cs');
      const id = await storedCodeSystem(url);
      const res = await get(`CodeSystem/${id}/$validate-code?code=C&display=${enc('Cat family')}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(one(res.body, 'result').valueBoolean, true);
      const posted = await post(`CodeSystem/${id}/$validate-code`, parameters({ name: 'coding', valueCoding: { code: 'Q' } }));
      assert.equal(one(posted.body, 'result').valueBoolean, false);
      const otherUrl = await get(`CodeSystem/${id}/$validate-code?code=C&url=${enc('urn:test:other')}`);
      assert.equal(otherUrl.status, 400);
      assert.deepEqual(otherUrl.body.issue[0].expression, ['url']);
    });

    it('missing code → 400 naming it; two forms at once → 400; inline codeSystem → 400 not-supported', async () => {
      const url = await tenantCodeSystem();
      const missing = await get(`CodeSystem/$validate-code?url=${enc(url)}`);
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.body.issue[0].expression, ['code']);
      const noUrl = await get('CodeSystem/$validate-code?code=A');
      assert.equal(noUrl.status, 400);
      assert.deepEqual(noUrl.body.issue[0].expression, ['url']);
      const two = await post('CodeSystem/$validate-code', parameters(
        { name: 'url', valueUri: url }, { name: 'code', valueCode: 'A' },
        { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: url, code: 'A' }] } },
      ));
      assert.equal(two.status, 400);
      assert.deepEqual(two.body.issue[0].expression, ["Parameters.parameter.where(name='codeableConcept')"]);
      const inline = await post('CodeSystem/$validate-code', parameters({ name: 'codeSystem', resource: sampleCodeSystem(url) as never }, { name: 'code', valueCode: 'A' }));
      assert.equal(inline.status, 400);
      assertOutcome(inline.body, 'not-supported');
    });

    it("another tenant's code system is unknown (result=false); shared ones validate everywhere", async () => {
      const url = await tenantCodeSystem();
      const other = await hearth.server.newTenantBase();
      const res = await http<Parameters>(`${other}/CodeSystem/$validate-code?url=${enc(url)}&code=A`);
      assert.equal(res.status, 200);
      assert.equal(one(res.body, 'result').valueBoolean, false);
      const sharedUrl = uniqueUrl('shared-cs');
      await loadShared(sharedUrl);
      const shared = await http<Parameters>(`${other}/CodeSystem/$validate-code?url=${enc(sharedUrl)}&code=Z`);
      assert.equal(one(shared.body, 'result').valueBoolean, true);
    });

    it('ValueSet calls reach the ValueSet implementation through the same entry', async () => {
      const res = await get(`ValueSet/$validate-code?url=${enc(uniqueUrl('vs'))}&system=urn:test:x&code=A`);
      assert.notEqual(res.status, 501, res.text);
      assert.ok(res.status < 500, res.text);
    });
  });

  it('the CapabilityStatement lists the operations under their types, each with a definition the server serves', async () => {
    const metadata = await http<CapabilityStatement>(`${tenant.base}/metadata`);
    assert.equal(metadata.status, 200);
    const operationsOf = (type: string) => metadata.body.rest![0].resource!.find((r) => r.type === type)?.operation ?? [];
    const codeSystem = operationsOf('CodeSystem').map((o) => o.name);
    for (const name of ['lookup', 'subsumes', 'validate-code']) assert.ok(codeSystem.includes(name), `${name} in ${codeSystem.join(', ')}`);
    assert.ok(operationsOf('ValueSet').some((o) => o.name === 'validate-code'));
    assert.ok(operationsOf('ConceptMap').some((o) => o.name === 'translate'));
    assert.ok(!operationsOf('Patient').some((o) => o.name === 'lookup'));
    for (const [name, id] of [['lookup', 'hearth-lookup'], ['subsumes', 'hearth-subsumes'], ['validate-code', 'hearth-validate-code']]) {
      const listed = operationsOf('CodeSystem').find((o) => o.name === name)!;
      assert.equal(listed.definition, `${tenant.base}/OperationDefinition/${id}`);
      const definition = await http<OperationDefinition>(listed.definition);
      assert.equal(definition.status, 200);
      assert.equal(definition.body.code, name);
    }
  });
});
