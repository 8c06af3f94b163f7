// Binding checks on write (issue 12; src/terminology/bindings.ts, src/fhir/binding-checks.ts):
// a code outside a required binding's ValueSet is a 400 naming the element and the ValueSet, for
// REST and transaction entries alike, storing nothing; codes from code systems not loaded pass
// unless configured to fail; extensible bindings warn in the OperationOutcome a client asks for
// and in $validate, which reports every finding with status 200 and stores nothing.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { createFhirService } from '../../src/compose.js';
import { loadConfig } from '../../src/core/config.js';
import { ANONYMOUS_ACCESS, type JsonObject } from '../../src/core/types.js';
import { newTenant, testPool } from '../support/database.js';
import { requestsTo, type SendAs } from '../support/service-requests.js';
import { requireServices } from '../support/services.js';

const CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';

/** The tenant's own definitions of the two ValueSets Condition binds (they win over shared ones). */
const definitions: JsonObject[] = [
  { resourceType: 'CodeSystem', url: CLINICAL, version: 'test', status: 'active', content: 'complete', concept: [{ code: 'active', concept: [{ code: 'recurrence' }] }, { code: 'resolved' }] },
  { resourceType: 'ValueSet', url: 'http://hl7.org/fhir/ValueSet/condition-clinical', version: '4.0.1', status: 'active', compose: { include: [{ system: CLINICAL }] } },
  { resourceType: 'CodeSystem', url: CATEGORY, version: 'test', status: 'active', content: 'complete', concept: [{ code: 'problem-list-item' }, { code: 'encounter-diagnosis' }] },
  { resourceType: 'ValueSet', url: 'http://hl7.org/fhir/ValueSet/condition-category', status: 'active', compose: { include: [{ system: CATEGORY }] } },
];

const condition = (clinicalStatus: JsonObject | undefined, extra: JsonObject = {}): JsonObject => ({
  resourceType: 'Condition',
  subject: { reference: 'Patient/p' },
  ...(clinicalStatus ? { clinicalStatus } : {}),
  ...extra,
});

describe('binding checks on write (integration)', function () {
  let pool: pg.Pool;
  let tenant: string;
  const senders = new Map<string, SendAs>();
  const closers: (() => Promise<void>)[] = [];

  function sender(settings: Record<string, string> = {}): SendAs {
    const key = JSON.stringify(settings);
    if (!senders.has(key)) {
      const composition = createFhirService(loadConfig({ HEARTH_AUDIT: 'off', ...settings }), { pool, mode: 'postgres', close: async () => undefined }, undefined, { analyzeAsWritten: false });
      closers.push(() => composition.maintenance.close());
      senders.set(key, requestsTo(composition.service, () => tenant));
    }
    return senders.get(key) as SendAs;
  }
  const post = (resource: JsonObject, settings: Record<string, string> = {}, extra = {}) =>
    sender(settings)(ANONYMOUS_ACCESS, 'POST', String(resource.resourceType), { body: resource, bodyKind: 'resource', ...extra });
  const stored = async (type: string) => ((await sender()(ANONYMOUS_ACCESS, 'GET', `${type}?_summary=count`)).body?.total as number) ?? 0;

  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });
  beforeEach(async () => {
    tenant = await newTenant(pool);
    for (const resource of definitions) assert.equal((await post(resource)).status, 201);
  });
  after(async () => {
    for (const close of closers) await close();
  });

  it('accepts a code of the required ValueSet, and refuses one outside it with a 400 naming the element and the ValueSet', async () => {
    assert.equal((await post(condition({ coding: [{ system: CLINICAL, code: 'recurrence' }] }))).status, 201);
    const refused = await post(condition({ coding: [{ system: CLINICAL, code: 'cured' }] }));
    assert.equal(refused.status, 400);
    const [issue] = refused.body?.issue as JsonObject[];
    assert.equal(issue.code, 'code-invalid');
    assert.deepEqual(issue.expression, ['Condition.clinicalStatus']);
    assert.match(String(issue.diagnostics), /condition-clinical.*required/);
    assert.equal(await stored('Condition'), 1, 'nothing stored for the refused one');
  });

  it('takes any member among the codings of a CodeableConcept, and refuses one with text only', async () => {
    assert.equal((await post(condition({ coding: [{ system: 'urn:other', code: 'x' }, { system: CLINICAL, code: 'active' }] }))).status, 201);
    const textOnly = await post(condition({ text: 'active' }));
    assert.equal(textOnly.status, 400);
    assert.match(JSON.stringify(textOnly.body), /No code is given/);
  });

  it('lets a code from a code system not loaded here through, unless configured to fail', async () => {
    const foreign = condition({ coding: [{ system: 'urn:not-loaded', code: 'active' }] });
    assert.equal((await post(foreign)).status, 201);
    const strict = await post(foreign, { HEARTH_BINDING_UNKNOWN_SYSTEMS: 'fail' });
    assert.equal(strict.status, 400);
    assert.match(JSON.stringify(strict.body), /urn:not-loaded\|active/);
  });

  it('checks nothing when turned off', async () => {
    assert.equal((await post(condition({ coding: [{ system: CLINICAL, code: 'cured' }] }), { HEARTH_BINDING_CHECKS: 'off' })).status, 201);
  });

  it('refuses a transaction with one bad entry whole', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: condition({ coding: [{ system: CLINICAL, code: 'active' }] }), request: { method: 'POST', url: 'Condition' } },
        { resource: condition({ coding: [{ system: CLINICAL, code: 'cured' }] }), request: { method: 'POST', url: 'Condition' } },
      ],
    };
    const answer = await sender()(ANONYMOUS_ACCESS, 'POST', '', { body: bundle, bodyKind: 'resource' });
    assert.equal(answer.status, 400);
    assert.match(JSON.stringify(answer.body), /Bundle\.entry\[1\]\.resource\.clinicalStatus/);
    assert.equal(await stored('Condition'), 0);
  });

  it('warns about extensible bindings in the OperationOutcome a client asks for, and only then', async () => {
    const resource = condition({ coding: [{ system: CLINICAL, code: 'active' }] }, { category: [{ coding: [{ system: CATEGORY, code: 'wish-list' }] }] });
    const asked = await post(resource, {}, { prefer: { return: 'OperationOutcome' } });
    assert.equal(asked.status, 201);
    const warning = (asked.body?.issue as JsonObject[]).find((i) => i.severity === 'warning');
    assert.ok(warning, JSON.stringify(asked.body));
    assert.deepEqual(warning.expression, ['Condition.category[0]']);
    assert.match(String(warning.diagnostics), /wish-list.*condition-category.*extensible/);
    const plain = await post(resource);
    assert.equal(plain.status, 201);
    assert.equal(plain.body?.resourceType, 'Condition');
  });

  describe('$validate', () => {
    const validate = (path: string, body?: JsonObject, method: 'POST' | 'GET' = 'POST') =>
      sender()(ANONYMOUS_ACCESS, method, path, body ? { body, bodyKind: 'resource' } : {});
    const issues = (reply: { body?: JsonObject }) => (reply.body?.issue as JsonObject[]).map((i) => `${String(i.severity)} ${String(i.code)} ${((i.expression as string[] | undefined) ?? []).join(',')}`);

    it('reports broken required bindings as errors and extensible ones as warnings, with status 200, storing nothing', async () => {
      const resource = condition({ coding: [{ system: CLINICAL, code: 'cured' }] }, { category: [{ coding: [{ system: CATEGORY, code: 'wish-list' }] }] });
      const reply = await validate('Condition/$validate', resource);
      assert.equal(reply.status, 200);
      assert.equal(reply.body?.resourceType, 'OperationOutcome');
      assert.deepEqual(issues(reply).sort(), ['error code-invalid Condition.clinicalStatus', 'warning code-invalid Condition.category[0]']);
      assert.equal(await stored('Condition'), 0);
    });

    it('reports what the R4 JSON Schema finds, and says so when all is well', async () => {
      const broken = await validate('Condition/$validate', { ...condition({ coding: [{ system: CLINICAL, code: 'active' }] }), onsetDateTime: 'yesterday' });
      assert.equal(broken.status, 200);
      assert.ok(issues(broken).some((i) => i.startsWith('error') && i.includes('onsetDateTime')), JSON.stringify(broken.body));
      const fine = await validate('Condition/$validate', { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: condition({ coding: [{ system: CLINICAL, code: 'active' }] }) }, { name: 'mode', valueCode: 'create' }] });
      assert.deepEqual(issues(fine), ['information informational ']);
    });

    it('validates the stored instance, warns that profiles are not applied, and refuses a resource of another type', async () => {
      const created = await post(condition({ coding: [{ system: CLINICAL, code: 'active' }] }));
      const reply = await validate(`Condition/${String(created.body?.id)}/$validate?profile=${encodeURIComponent('http://example.org/p')}`, undefined, 'GET');
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(issues(reply), ['warning not-supported ']);
      assert.equal((await validate('Condition/unknown/$validate', undefined, 'GET')).status, 404);
      assert.equal((await validate('Condition/$validate', { resourceType: 'Patient' })).status, 400);
      assert.equal((await validate('Condition/$validate', { resourceType: 'Parameters', parameter: [{ name: 'mode', valueCode: 'replace' }] })).status, 400);
    });
  });
});
