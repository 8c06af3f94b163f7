// Unit tests for src/search/criteria-match.ts: sync rule and R4 Subscription criteria
// (subscription.html#criteria, search.html) compiled once and matched in memory against the
// search index the write path stores (createIndexer), and every criteria that cannot be
// evaluated that way refused with a 400 naming the parameter. A property-style part checks the
// matcher on the Synthea fixtures against decisions read straight from the resources' JSON and
// against the laws of comma (OR), repetition (AND), :not and :missing.
import assert from 'node:assert/strict';
import type { SearchParameter } from 'fhir/r4.js';
import { FhirError } from '../../src/core/errors.js';
import type { JsonObject } from '../../src/core/types.js';
import { compileCriteria, type CompiledCriteria } from '../../src/search/criteria-match.js';
import { createIndexer } from '../../src/search/indexer.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import type { SearchIndex } from '../../src/search/types.js';
import { loadSyntheaResources } from '../support/synthea-resources.js';

const registry = createSearchRegistry();
const indexer = createIndexer(registry);

const CVX = 'http://hl7.org/fhir/sid/cvx';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

const immunization: JsonObject = {
  resourceType: 'Immunization',
  id: 'imm1',
  meta: { profile: ['http://example.org/fhir/StructureDefinition/imm/v1'] },
  status: 'completed',
  vaccineCode: { coding: [{ system: CVX, code: '208', display: 'SARS-COV-2 (COVID-19) vaccine' }], text: 'COVID-19 vaccine' },
  patient: { reference: 'Patient/p1' },
  occurrenceDateTime: '2021-05-01T10:00:00Z',
  lotNumber: 'EW0182',
};

const weight: JsonObject = {
  resourceType: 'Observation',
  id: 'obs1',
  status: 'final',
  code: { coding: [{ system: LOINC, code: '29463-7', display: 'Body weight' }] },
  subject: { reference: 'Patient/p1' },
  effectiveDateTime: '2020-03-01',
  valueQuantity: { value: 70, unit: 'kg', system: UCUM, code: 'kg' },
};

const bloodPressure: JsonObject = {
  resourceType: 'Observation',
  id: 'obs2',
  status: 'final',
  code: { coding: [{ system: LOINC, code: '85354-9' }] },
  subject: { reference: 'Patient/p1' },
  effectiveDateTime: '2020-03-01',
  component: [
    { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 150, system: UCUM, code: 'mm[Hg]' } },
    { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 90, system: UCUM, code: 'mm[Hg]' } },
  ],
};

const patient: JsonObject = {
  resourceType: 'Patient',
  id: 'p1',
  name: [{ family: 'Müller', given: ['Anna'] }],
  gender: 'female',
  birthDate: '1980-02-03',
  identifier: [{ system: 'urn:oid:1.2.3', value: 'MRN-7' }],
};

const indexes = new Map<JsonObject, SearchIndex>([immunization, weight, bloodPressure, patient].map((r) => [r, indexer(r)]));

/** Does `criteria` match `resource` (type checked as a caller would)? */
function matches(criteria: string, resource: JsonObject, lastUpdated?: Date): boolean {
  const compiled = compileCriteria(registry, criteria);
  assert.equal(compiled.resourceType, resource.resourceType, `${criteria} is for ${compiled.resourceType}`);
  return compiled.matches(resource.id as string, indexes.get(resource) ?? indexer(resource), lastUpdated);
}

function expectMatches(resource: JsonObject, yes: string[], no: string[]): void {
  for (const criteria of yes) assert.equal(matches(criteria, resource), true, `${criteria} should match ${resource.resourceType}/${resource.id}`);
  for (const criteria of no) assert.equal(matches(criteria, resource), false, `${criteria} should not match ${resource.resourceType}/${resource.id}`);
}

/** Asserts compileCriteria refuses `criteria` with a 400 of `code` whose expression is `[expression]` (or none). */
function expectRefused(criteria: string, code: 'invalid' | 'not-supported', expression: string | undefined, diagnostics?: RegExp): void {
  assert.throws(
    () => compileCriteria(registry, criteria),
    (error: unknown) => {
      assert.ok(error instanceof FhirError, `${criteria}: expected a FhirError, got ${String(error)}`);
      assert.equal(error.status, 400, criteria);
      const [issue] = error.outcome.issue;
      assert.equal(issue.code, code, `${criteria}: ${issue.diagnostics}`);
      assert.deepEqual(issue.expression, expression === undefined ? undefined : [expression], criteria);
      if (diagnostics) assert.match(issue.diagnostics ?? '', diagnostics, criteria);
      return true;
    },
    criteria,
  );
}

describe('criteria matched in memory (src/search/criteria-match.ts)', () => {
  describe('parsing the criteria', () => {
    it('takes Type alone, Type?query and a leading slash; a bare type matches every resource of it', () => {
      assert.equal(compileCriteria(registry, 'Immunization').resourceType, 'Immunization');
      assert.equal(matches('Immunization', immunization), true);
      assert.equal(matches('Immunization?', immunization), true);
      assert.equal(matches('/Immunization?status=completed', immunization), true);
      assert.equal(matches('/Immunization?status=entered-in-error', immunization), false);
    });

    it('decodes the query as a search URL: percent-escapes and + as a space', () => {
      assert.equal(matches('Immunization?vaccine-code=http%3A%2F%2Fhl7.org%2Ffhir%2Fsid%2Fcvx%7C208', immunization), true);
      assert.equal(matches('Immunization?vaccine-code:text=covid-19+vaccine', immunization), true);
    });

    it('refuses a criteria without a type, with an unknown type or a malformed one', () => {
      expectRefused('', 'invalid', undefined, /names no resource type/);
      expectRefused('?status=completed', 'invalid', undefined, /names no resource type/);
      expectRefused('/', 'invalid', undefined, /names no resource type/);
      expectRefused('Vaccination?status=completed', 'invalid', undefined, /'Vaccination' is not a resource type/);
      expectRefused('immunization?status=completed', 'invalid', undefined, /not a resource type/);
      expectRefused('Immunization/imm1', 'invalid', undefined, /not a resource type/);
      expectRefused('http://example.org/fhir/Immunization?status=completed', 'invalid', undefined, /not a resource type/);
    });

    it('refuses unknown parameters and bad values, naming the parameter', () => {
      expectRefused('Immunization?colour=red', 'invalid', 'colour', /Unknown search parameter 'colour'/);
      expectRefused('Immunization?date=yesterday', 'invalid', 'date');
      expectRefused('Immunization?date=xx2021', 'invalid', 'date', /unknown prefix/);
      expectRefused('Immunization?vaccine-code=', 'invalid', 'vaccine-code');
      expectRefused('Immunization?status:exact=completed', 'invalid', 'status:exact');
      expectRefused('Observation?value-quantity=heavy', 'invalid', 'value-quantity');
      expectRefused('Immunization?patient=Observation/1', 'invalid', 'patient');
      expectRefused('Immunization?_id:exact=imm1', 'invalid', '_id:exact');
    });

    it('refuses a parameter of another type (the criteria type decides the parameters)', () => {
      expectRefused('Observation?vaccine-code=208', 'invalid', 'vaccine-code', /for Observation/);
      expectRefused('Immunization?birthdate=1980', 'invalid', 'birthdate');
    });
  });

  describe('refusing what the index of one resource cannot answer', () => {
    it('chains and _has', () => {
      expectRefused('Immunization?patient.name=anna', 'not-supported', 'patient.name', /chain/);
      expectRefused('Immunization?patient:Patient.birthdate=1980', 'not-supported', 'patient:Patient.birthdate');
      expectRefused('Patient?_has:Immunization:patient:status=completed', 'not-supported', '_has:Immunization:patient:status', /_has/);
    });

    it('terminology modifiers on tokens (:in, :not-in, :below, :above)', () => {
      expectRefused('Immunization?vaccine-code:in=http://example.org/ValueSet/covid', 'not-supported', 'vaccine-code:in', /terminology/);
      expectRefused('Immunization?vaccine-code:not-in=http://example.org/ValueSet/covid', 'not-supported', 'vaccine-code:not-in');
      expectRefused(`Observation?code:below=${LOINC}|LP1`, 'not-supported', 'code:below', /terminology/);
      expectRefused(`Observation?code:above=${LOINC}|29463-7`, 'not-supported', 'code:above');
    });

    it('full text, _list and parameters with no in-memory meaning', () => {
      expectRefused('Immunization?_text=covid', 'not-supported', '_text');
      expectRefused('Immunization?_content=covid', 'not-supported', '_content');
      expectRefused('Immunization?_list=l1', 'not-supported', '_list');
      expectRefused('Immunization?_filter=status eq completed', 'not-supported', '_filter');
    });

    it('result parameters and includes', () => {
      for (const [name, value] of [['_sort', 'date'], ['_count', '10'], ['_summary', 'true'], ['_elements', 'status'], ['_total', 'accurate'], ['_format', 'json']]) {
        expectRefused(`Immunization?status=completed&${name}=${value}`, 'invalid', name, /shapes search results/);
      }
      expectRefused('Immunization?_include=Immunization:patient', 'invalid', '_include');
      expectRefused('Patient?_revinclude=Immunization:patient', 'invalid', '_revinclude');
      expectRefused('Immunization?_include:iterate=Immunization:patient', 'invalid', '_include:iterate');
    });

    it('a parameter whose module refuses it in memory (a custom special parameter) at compile time', () => {
      const custom: SearchParameter = {
        resourceType: 'SearchParameter', url: 'http://example.org/sp/nearby', name: 'nearby', status: 'active', description: 'x',
        code: 'nearby', base: ['Immunization'], type: 'special', expression: 'Immunization.location',
      };
      const withSpecial = createSearchRegistry({ extra: [custom] });
      assert.throws(
        () => compileCriteria(withSpecial, 'Immunization?nearby=1'),
        (error: unknown) => error instanceof FhirError && error.status === 400 && error.outcome.issue[0].code === 'not-supported' && error.outcome.issue[0].expression?.[0] === 'nearby',
      );
    });
  });

  describe('tokens', () => {
    it('system|code, code alone, |code, system|, and :not', () => {
      expectMatches(
        immunization,
        [`Immunization?vaccine-code=${CVX}|208`, 'Immunization?vaccine-code=208', `Immunization?vaccine-code=${CVX}|`, 'Immunization?status=completed',
          'Immunization?vaccine-code:not=207', 'Immunization?status:not=entered-in-error', `Immunization?vaccine-code:not=${LOINC}|208`],
        [`Immunization?vaccine-code=${CVX}|207`, `Immunization?vaccine-code=${LOINC}|208`, 'Immunization?vaccine-code=|208',
          'Immunization?vaccine-code:not=208', `Immunization?vaccine-code:not=${CVX}|208`, 'Immunization?status:not=completed'],
      );
    });

    it(':not matches a resource without the element; :text and :of-type work in memory', () => {
      expectMatches(immunization, ['Immunization?reason-code:not=x', 'Immunization?vaccine-code:text=covid', 'Immunization?vaccine-code:text=SARS'], ['Immunization?vaccine-code:text=vaccine']);
    });

    it('identifiers', () => {
      expectMatches(patient, ['Patient?identifier=urn:oid:1.2.3|MRN-7', 'Patient?identifier=MRN-7'], ['Patient?identifier=urn:oid:1.2.4|MRN-7', 'Patient?identifier=mrn-7']);
    });
  });

  it(':missing on every type', () => {
    expectMatches(
      weight,
      ['Observation?value-quantity:missing=false', 'Observation?value-string:missing=true', 'Observation?subject:missing=false', 'Observation?date:missing=false', 'Observation?data-absent-reason:missing=true'],
      ['Observation?value-quantity:missing=true', 'Observation?subject:missing=true', 'Observation?component-code:missing=false', 'Observation?component-code-value-quantity:missing=false'],
    );
    expectMatches(patient, ['Patient?death-date:missing=true', 'Patient?family:missing=false'], ['Patient?family:missing=true']);
    expectRefused('Patient?family:missing=maybe', 'invalid', 'family:missing');
  });

  it('strings: default (prefix, case and accent-insensitive), :exact, :contains', () => {
    expectMatches(
      patient,
      ['Patient?family=mul', 'Patient?family=MÜLLER', 'Patient?name=ann', 'Patient?family:exact=Müller', 'Patient?family:contains=LL', 'Patient?family=xyz,mull'],
      ['Patient?family=ller', 'Patient?family:exact=muller', 'Patient?family:exact=Mül', 'Patient?family:contains=xyz', 'Patient?given=mull'],
    );
    expectMatches(immunization, ['Immunization?lot-number=ew01'], ['Immunization?lot-number=0182']);
  });

  it('dates with prefixes', () => {
    expectMatches(
      immunization,
      ['Immunization?date=2021', 'Immunization?date=2021-05', 'Immunization?date=2021-05-01', 'Immunization?date=ge2021-05-01', 'Immunization?date=gt2021-04-30',
        'Immunization?date=lt2021-05-02', 'Immunization?date=le2021', 'Immunization?date=ne2020', 'Immunization?date=sa2021-04', 'Immunization?date=eb2022',
        'Immunization?date=2021-05-01T10:00:00Z', 'Immunization?date=ap2021-05-01'],
      ['Immunization?date=2020', 'Immunization?date=gt2021-05-01', 'Immunization?date=lt2021-05-01', 'Immunization?date=ne2021', 'Immunization?date=sa2021', 'Immunization?date=eb2021-05-01',
        'Immunization?date=2021-05-01T10:00:01Z'],
    );
    expectMatches(patient, ['Patient?birthdate=1980-02', 'Patient?birthdate=le1980-02-03'], ['Patient?birthdate=ne1980-02-03', 'Patient?birthdate=gt1980-02-03']);
  });

  it('references: Type/id, id alone, :Type, :identifier', () => {
    expectMatches(
      immunization,
      ['Immunization?patient=Patient/p1', 'Immunization?patient=p1', 'Immunization?patient:Patient=p1', 'Immunization?patient=Patient/p2,Patient/p1'],
      ['Immunization?patient=Patient/p2', 'Immunization?patient=p2', 'Immunization?patient:identifier=MRN-7'],
    );
    expectMatches(weight, ['Observation?subject=Patient/p1', 'Observation?subject:Patient=p1', 'Observation?patient=p1'], ['Observation?subject:Group=p1', 'Observation?subject=Patient/p11']);
  });

  it('quantities', () => {
    expectMatches(
      weight,
      [`Observation?value-quantity=70|${UCUM}|kg`, 'Observation?value-quantity=70', 'Observation?value-quantity=70||kg', 'Observation?value-quantity=gt69', 'Observation?value-quantity=le70',
        'Observation?value-quantity=ap72'],
      [`Observation?value-quantity=71|${UCUM}|kg`, `Observation?value-quantity=70|${UCUM}|mg`, 'Observation?value-quantity=gt70', 'Observation?value-quantity=lt70', 'Observation?value-quantity=80'],
    );
  });

  it('uris, including :below and :above (no terminology needed)', () => {
    expectMatches(
      immunization,
      ['Immunization?_profile=http://example.org/fhir/StructureDefinition/imm/v1', 'Immunization?_profile:below=http://example.org/fhir/StructureDefinition',
        'Immunization?_profile:above=http://example.org/fhir/StructureDefinition/imm/v1/x'],
      ['Immunization?_profile=http://example.org/fhir/StructureDefinition/imm', 'Immunization?_profile:below=http://example.org/fhir/Struct'],
    );
  });

  it('composites: every part on the same component', () => {
    expectMatches(
      bloodPressure,
      [`Observation?component-code-value-quantity=${LOINC}|8480-6$gt140`, `Observation?component-code-value-quantity=${LOINC}|8462-4$90|${UCUM}|mm[Hg]`,
        `Observation?component-code-value-quantity=${LOINC}|8462-4$gt140,${LOINC}|8480-6$150`],
      [`Observation?component-code-value-quantity=${LOINC}|8480-6$lt140`, `Observation?component-code-value-quantity=${LOINC}|8462-4$gt140`],
    );
  });

  it('several parameters are AND, commas are OR', () => {
    expectMatches(
      immunization,
      ['Immunization?status=completed&vaccine-code=208', 'Immunization?vaccine-code=207,208', 'Immunization?status=completed&patient=p1&date=2021&vaccine-code=207,208',
        'Immunization?date=ge2021&date=lt2022'],
      ['Immunization?status=completed&vaccine-code=207', 'Immunization?vaccine-code=207,206', 'Immunization?date=ge2021&date=lt2021-02'],
    );
  });

  it('_id and _id:not', () => {
    expectMatches(immunization, ['Immunization?_id=imm1', 'Immunization?_id=x,imm1', 'Immunization?_id:not=x', 'Immunization?_id=imm1&status=completed'], ['Immunization?_id=imm2', 'Immunization?_id:not=imm1', 'Immunization?_id=imm1&status=not-done']);
  });

  it('_lastUpdated from the given lastUpdated, and an Error when it is not given', () => {
    const at = new Date('2024-06-01T12:00:00.123Z');
    assert.equal(matches('Immunization?_lastUpdated=gt2024-01-01', immunization, at), true);
    assert.equal(matches('Immunization?_lastUpdated=2024-06-01T12:00:00.123Z', immunization, at), true);
    assert.equal(matches('Immunization?_lastUpdated=2024-06-01T12:00:00.124Z', immunization, at), false);
    assert.equal(matches('Immunization?_lastUpdated=lt2024-06-01', immunization, at), false);
    assert.equal(matches('Immunization?_lastUpdated=ge2024&_lastUpdated=lt2025&status=completed', immunization, at), true);
    assert.equal(matches('Immunization?_lastUpdated=ge2024&status=not-done', immunization, at), false);
    assert.throws(() => matches('Immunization?_lastUpdated=gt2024-01-01', immunization), /lastUpdated/);
    assert.equal(matches('Immunization?status=completed', immunization), true, 'not needed without _lastUpdated');
    expectRefused('Immunization?_lastUpdated:missing=true', 'invalid', '_lastUpdated:missing');
  });

  it("uses the registry it is given: a tenant's custom SearchParameter", () => {
    const custom: SearchParameter = {
      resourceType: 'SearchParameter', url: 'http://example.org/sp/funding', name: 'funding', status: 'active', description: 'x',
      code: 'funding', base: ['Immunization'], type: 'token', expression: 'Immunization.fundingSource',
    };
    const tenantRegistry = createSearchRegistry({ extra: [custom] });
    const funded = { ...immunization, fundingSource: { coding: [{ system: 'http://example.org/funding', code: 'VFC' }] } };
    const compiled = compileCriteria(tenantRegistry, 'Immunization?funding=VFC');
    assert.equal(compiled.matches('imm1', createIndexer(tenantRegistry)(funded)), true);
    assert.equal(compiled.matches('imm1', createIndexer(tenantRegistry)(immunization)), false);
    expectRefused('Immunization?funding=VFC', 'invalid', 'funding');
  });

  it('is compiled once: the compiled criteria is frozen and reusable across resources', () => {
    const compiled: CompiledCriteria = compileCriteria(registry, `Observation?code=${LOINC}|29463-7`);
    assert.ok(Object.isFrozen(compiled));
    assert.equal(compiled.matches('obs1', indexer(weight)), true);
    assert.equal(compiled.matches('obs2', indexer(bloodPressure)), false);
  });

  describe('property-style, on the Synthea fixtures', () => {
    const resources = loadSyntheaResources(8);
    const ofType = (type: string) => resources.filter((r) => r.resourceType === type).map((r) => ({ resource: r, id: r.id as string, index: indexer(r) }));
    const immunizations = ofType('Immunization');
    const observations = ofType('Observation');
    const patients = ofType('Patient');
    type Row = (typeof observations)[number];
    const codings = (concept: unknown): { system?: string; code?: string }[] => ((concept as { coding?: { system?: string; code?: string }[] } | undefined)?.coding ?? []);
    const select = (criteria: string, rows: Row[]): boolean[] => {
      const compiled = compileCriteria(registry, criteria);
      return rows.map((row) => compiled.matches(row.id, row.index));
    };

    it('has data to check', () => {
      assert.ok(immunizations.length > 20 && observations.length > 200 && patients.length === 8, `${immunizations.length} ${observations.length} ${patients.length}`);
    });

    it('token system|code and code agree with the codings of each resource', () => {
      const cvxCodes = [...new Set(immunizations.flatMap((r) => codings(r.resource.vaccineCode).map((c) => c.code as string)))];
      assert.ok(cvxCodes.length > 3);
      for (const code of cvxCodes) {
        const expected = immunizations.map((r) => codings(r.resource.vaccineCode).some((c) => c.system === CVX && c.code === code));
        assert.deepEqual(select(`Immunization?vaccine-code=${CVX}|${code}`, immunizations), expected, code);
        assert.deepEqual(select(`Immunization?vaccine-code=${code}`, immunizations), expected, code);
        assert.deepEqual(select(`Immunization?vaccine-code=${LOINC}|${code}`, immunizations), immunizations.map(() => false), code);
      }
      const loincCodes = [...new Set(observations.flatMap((r) => codings(r.resource.code).map((c) => c.code as string)))].slice(0, 25);
      for (const code of loincCodes) {
        const expected = observations.map((r) => codings(r.resource.code).some((c) => c.system === LOINC && c.code === code));
        assert.deepEqual(select(`Observation?code=${LOINC}|${code}`, observations), expected, code);
      }
    });

    it('references, gender and dates agree with the JSON', () => {
      for (const p of patients) {
        const expected = observations.map((r) => (r.resource.subject as { reference?: string }).reference === `Patient/${p.id}`);
        assert.deepEqual(select(`Observation?subject=Patient/${p.id}`, observations), expected);
        assert.deepEqual(select(`Observation?patient=${p.id}`, observations), expected);
      }
      assert.deepEqual(select('Patient?gender=female', patients), patients.map((p) => p.resource.gender === 'female'));
      const cut = Date.parse('2015-01-01T00:00:00Z');
      assert.deepEqual(
        select('Immunization?date=ge2015-01-01T00:00:00Z', immunizations),
        immunizations.map((r) => Date.parse(r.resource.occurrenceDateTime as string) >= cut),
      );
      assert.deepEqual(
        select('Immunization?date=lt2015-01-01T00:00:00Z', immunizations),
        immunizations.map((r) => Date.parse(r.resource.occurrenceDateTime as string) < cut),
      );
    });

    it('comma is OR, repetition is AND, :not negates, :missing=true negates :missing=false', () => {
      const queries = [`code=${LOINC}|8302-2`, `code=${LOINC}|29463-7`, 'status=final', 'value-quantity=gt50', 'date=ge2012', 'category=laboratory'];
      const results = new Map(queries.map((q) => [q, select(`Observation?${q}`, observations)]));
      for (const a of queries) {
        for (const b of queries) {
          const [ra, rb] = [results.get(a) as boolean[], results.get(b) as boolean[]];
          assert.deepEqual(select(`Observation?${a}&${b}`, observations), ra.map((x, i) => x && rb[i]), `${a}&${b}`);
          const [pa, va] = a.split('=');
          const [pb, vb] = b.split('=');
          if (pa === pb) assert.deepEqual(select(`Observation?${pa}=${va},${vb}`, observations), ra.map((x, i) => x || rb[i]), `${pa}=${va},${vb}`);
        }
      }
      for (const q of ['status=final', `code=${LOINC}|8302-2`, 'category=laboratory']) {
        const [name, value] = q.split('=');
        assert.deepEqual(select(`Observation?${name}:not=${value}`, observations), (results.get(q) as boolean[]).map((x) => !x), q);
      }
      for (const name of ['value-quantity', 'value-concept', 'component-code', 'encounter']) {
        const present = select(`Observation?${name}:missing=false`, observations);
        assert.deepEqual(select(`Observation?${name}:missing=true`, observations), present.map((x) => !x), name);
        assert.ok(present.some((x) => x) || name === 'value-concept', `${name} is present somewhere`);
      }
    });
  });
});
