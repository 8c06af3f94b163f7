// Tokens on `code` elements searched with their binding's system (issue 12; docs/search.md
// "Codes with their bound system"), end to end through the FHIR service on PostgreSQL.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { createFhirService, type FhirComposition } from '../../../src/compose.js';
import { loadConfig } from '../../../src/core/config.js';
import { ANONYMOUS_ACCESS } from '../../../src/core/types.js';
import { newTenant, testPool } from '../../support/database.js';
import { requestsTo, type SendAs } from '../../support/service-requests.js';
import { requireServices } from '../../support/services.js';

const GENDER = 'http://hl7.org/fhir/administrative-gender';

describe('code elements searched with their bound system (PostgreSQL)', function () {
  let pool: pg.Pool;
  let composition: FhirComposition;
  let tenant: string;
  let send: SendAs;
  const names: Record<string, string> = {};

  before(async function () {
    await requireServices(this);
    pool = await testPool();
    composition = createFhirService(loadConfig({ HEARTH_AUDIT: 'off' }), { pool, mode: 'postgres', close: async () => undefined }, undefined, { analyzeAsWritten: false });
    send = requestsTo(composition.service, () => tenant);
    tenant = await newTenant(pool);
    for (const [family, gender] of [['Male', 'male'], ['Female', 'female'], ['Unknown', undefined]] as const) {
      const created = await send(ANONYMOUS_ACCESS, 'POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family }], ...(gender ? { gender } : {}) }, bodyKind: 'resource' });
      assert.equal(created.status, 201);
      names[String(created.body?.id)] = family;
    }
  });

  after(async () => {
    await composition?.maintenance.close();
  });

  const found = async (query: string) => {
    const answer = await send(ANONYMOUS_ACCESS, 'GET', `Patient?${query}`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return ((answer.body as { entry?: { resource: { id: string } }[] }).entry ?? []).map((e) => names[e.resource.id]).sort();
  };

  it('system|code, code and |code find it; another system does not', async () => {
    assert.deepEqual(await found(`gender=${encodeURIComponent(`${GENDER}|male`)}`), ['Male']);
    assert.deepEqual(await found('gender=male'), ['Male']);
    assert.deepEqual(await found(`gender=${encodeURIComponent('|female')}`), ['Female']);
    assert.deepEqual(await found(`gender=${encodeURIComponent('http://example.org/sex|male')}`), []);
    assert.deepEqual(await found(`gender=${encodeURIComponent(`${GENDER}|`)}`), ['Female', 'Male'], 'system| : any code of the system');
    assert.deepEqual(await found(`gender:not=${encodeURIComponent(`${GENDER}|male`)}`), ['Female', 'Unknown']);
  });
});
