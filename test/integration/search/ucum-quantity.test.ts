// Quantity search normalised with UCUM (issue 12; FHIR R4 search.html#quantity; docs/search.md
// "UCUM quantities"), end to end through the FHIR service on PostgreSQL: a search in UCUM units
// finds values written in comparable units, never incomparable ones, and a search in another
// system (or none) still compares codes as written.
import assert from 'node:assert/strict';
import { namedResourcesOnTestDatabase, type NamedResources } from '../../support/pg-service.js';
import { requireServices } from '../../support/services.js';

const UCUM = 'http://unitsofmeasure.org';

describe('quantity search in comparable UCUM units (PostgreSQL)', function () {
  let observations: NamedResources;

  before(async function () {
    await requireServices(this);
    observations = await namedResourcesOnTestDatabase();
    const values: Record<string, [number, string]> = {
      glucose120mgdl: [120, 'mg/dL'],
      glucose08gl: [0.8, 'g/L'],
      glucose1gl: [1, 'g/L'],
      substance5mmol: [5, 'mmol/L'],
      temp986f: [98.6, '[degF]'],
      temp38c: [38, 'Cel'],
      arbitrary: [3, '[IU]/L'],
    };
    for (const [name, [value, code]] of Object.entries(values)) {
      await observations.create(name, { resourceType: 'Observation', status: 'final', code: { text: name }, valueQuantity: { value, unit: code, system: UCUM, code } });
    }
  });

  after(async () => {
    await observations?.close();
  });

  const found = (query: string) => observations.found('Observation', query);
  const q = (prefix: string, value: number, code: string) => `value-quantity=${prefix}${value}|${encodeURIComponent(UCUM)}|${encodeURIComponent(code)}`;

  it('finds values written in comparable units, in either direction', async () => {
    assert.deepEqual(await found(q('ge', 1, 'g/L')), ['glucose120mgdl', 'glucose1gl']);
    assert.deepEqual(await found(q('lt', 100, 'mg/dL')), ['glucose08gl']);
    assert.deepEqual(await found(q('eq', 100, 'mg/dL')), ['glucose1gl'], '1 g/L is 100 mg/dL');
    assert.deepEqual(await found(q('ge', 1000, 'mg/L')), ['glucose120mgdl', 'glucose1gl']);
  });

  it('converts offset units by value: 98.6 [degF] is 37 Cel', async () => {
    assert.deepEqual(await found(q('gt', 37.5, 'Cel')), ['temp38c']);
    assert.deepEqual(await found(q('ge', 98, '[degF]')), ['temp38c', 'temp986f']);
    assert.deepEqual(await found(q('ap', 310, 'K')), ['temp38c', 'temp986f']);
  });

  it('never matches incomparable units, nor what has no canonical form except in its own code', async () => {
    assert.deepEqual(await found(q('gt', 0, 's')), []);
    assert.deepEqual(await found(q('gt', 0, 'mmol/L')), ['substance5mmol']);
    assert.deepEqual(await found(q('eq', 3, '[IU]/L')), ['arbitrary']);
  });

  it('another system, or none, compares codes as written', async () => {
    assert.deepEqual(await found('value-quantity=ge1||g/L'), ['glucose1gl']);
    assert.deepEqual(await found(`value-quantity=ge1|${encodeURIComponent('http://example.org/units')}|g/L`), []);
  });
});
