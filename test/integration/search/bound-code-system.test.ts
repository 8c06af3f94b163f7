// Tokens on `code` elements searched with their bound system (issue 12; docs/search.md
// "Codes with their bound system"), end to end through the FHIR service on PostgreSQL.
import assert from 'node:assert/strict';
import { namedResourcesOnTestDatabase, type NamedResources } from '../../support/pg-service.js';
import { requireServices } from '../../support/services.js';

const GENDER = 'http://hl7.org/fhir/administrative-gender';

describe('code elements searched with their bound system (PostgreSQL)', function () {
  let patients: NamedResources;

  before(async function () {
    await requireServices(this);
    patients = await namedResourcesOnTestDatabase();
    await patients.create('Male', { resourceType: 'Patient', gender: 'male' });
    await patients.create('Female', { resourceType: 'Patient', gender: 'female' });
    await patients.create('Unknown', { resourceType: 'Patient' });
  });

  after(async () => {
    await patients?.close();
  });

  const found = (query: string) => patients.found('Patient', query);

  it('system|code, code and |code find it; another system does not', async () => {
    assert.deepEqual(await found(`gender=${encodeURIComponent(`${GENDER}|male`)}`), ['Male']);
    assert.deepEqual(await found('gender=male'), ['Male']);
    assert.deepEqual(await found(`gender=${encodeURIComponent('|female')}`), ['Female']);
    assert.deepEqual(await found(`gender=${encodeURIComponent('http://example.org/sex|male')}`), []);
    assert.deepEqual(await found(`gender=${encodeURIComponent(`${GENDER}|`)}`), ['Female', 'Male'], 'system| : any code of the system');
    assert.deepEqual(await found(`gender:not=${encodeURIComponent(`${GENDER}|male`)}`), ['Female', 'Unknown']);
  });
});
