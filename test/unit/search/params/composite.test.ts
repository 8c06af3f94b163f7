// Unit tests for src/search/params/composite.ts (FHIR R4 search.html#composite, #escaping):
// `$`-splitting and escapes, components parsed by their own modules, one index tuple per
// composite root, and matching that requires every part on the SAME root (the same
// Observation.component), against the real R4 definitions from the registry.
import assert from 'node:assert/strict';
import { canonicalQuantity } from '../../../../src/terminology/ucum.js';
import { FhirError } from '../../../../src/core/errors.js';
import { createIndexer } from '../../../../src/search/indexer.js';
import { compositeParam, splitComponents, type CompositeValue } from '../../../../src/search/params/composite.js';
import { moduleFor } from '../../../../src/search/params/modules.js';
import type { QuantityQuery } from '../../../../src/search/params/quantity.js';
import type { StringValue } from '../../../../src/search/params/string.js';
import type { TokenValue } from '../../../../src/search/params/token.js';
import { createSearchRegistry } from '../../../../src/search/registry/registry.js';
import type { SearchIndex, SearchParamDef } from '../../../../src/search/types.js';
import { assertBadRequest, assertOnlyPlaceholders, TestBinds } from './support.js';

const registry = createSearchRegistry();
const indexer = createIndexer(registry);
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const SNOMED = 'http://snomed.info/sct';
const SYSTOLIC = '8480-6';
const DIASTOLIC = '8462-4';

function def(code: string, type = 'Observation'): SearchParamDef {
  const found = registry.get(type, code);
  assert.ok(found, `${type}.${code} is an R4 parameter`);
  return found;
}

const mmHg = (value: number) => ({ value, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' });
/** A mm[Hg] quantity's index entry, with its UCUM canonical form (pascal-like base units; terminology-ucum.test.ts pins the conversion). */
const mmHgEntry = (value: number) => {
  const canonical = canonicalQuantity(value, 'mm[Hg]');
  assert.ok(canonical);
  return [value, value, UCUM, 'mm[Hg]', 'mmHg', canonical.value, canonical.value, canonical.code];
};
const loinc = (code: string) => ({ coding: [{ system: LOINC, code }] });

/** A blood-pressure panel: systolic and diastolic as two components. */
function panel(systolic: number | undefined, diastolic: number | undefined): Record<string, unknown> {
  const component = (code: string, value: number | undefined) => ({ code: loinc(code), ...(value === undefined ? {} : { valueQuantity: mmHg(value) }) });
  return {
    resourceType: 'Observation',
    status: 'final',
    code: loinc('85354-9'),
    component: [component(SYSTOLIC, systolic), component(DIASTOLIC, diastolic)],
  };
}

/** The index of `code` as the indexer builds it (def.extract, then the module). */
function indexOf(resource: Record<string, unknown>, code: string): unknown[] | undefined {
  const d = def(code, resource.resourceType as string);
  const into: SearchIndex = {};
  const values = d.extract(resource);
  if (values.length > 0) compositeParam.index(d, values, into);
  return into[code];
}

const parse = (code: string, raw: string, modifier?: string, type?: string): CompositeValue =>
  compositeParam.parse(def(code, type), modifier, raw);

/** `code=raw` against a resource, with commas as ORs (as parse-query splits them); any parameter type. */
function matches(resource: Record<string, unknown>, code: string, raw: string, modifier?: string): boolean {
  const d = def(code, resource.resourceType as string);
  const module = moduleFor(d.type);
  assert.ok(module);
  const values = raw.split(',').map((v) => module.parse(d, modifier, v));
  return module.matches(d, modifier, values, indexer(resource));
}

describe('composite parameters (search.html#composite)', () => {
  it('is registered for the composite type', () => {
    assert.equal(moduleFor('composite'), compositeParam);
    assert.deepEqual(compositeParam.modifiers, []);
  });

  describe('parse', () => {
    it('splits on $ and parses each part with its component module', () => {
      const value = parse('component-code-value-quantity', `${LOINC}|${SYSTOLIC}$lt60|${UCUM}|mm[Hg]`);
      const [code, quantity] = value.parts as [TokenValue, QuantityQuery];
      assert.deepEqual(code.entry, { s: LOINC, c: SYSTOLIC });
      assert.deepEqual([quantity.prefix, quantity.value, quantity.system, quantity.code], ['lt', 60, UCUM, 'mm[Hg]']);
    });

    it('keeps escapes for the component parser: \\$ is a literal dollar, \\| a literal bar', () => {
      assert.deepEqual(splitComponents('a\\$b$c\\|d$e'), ['a\\$b', 'c\\|d', 'e']);
      assert.deepEqual(splitComponents('a$'), ['a', '']);
      const token = parse('code-value-concept', 'urn:a\\|b|x\\$y$c\\,d');
      assert.deepEqual((token.parts?.[0] as TokenValue).entry, { s: 'urn:a|b', c: 'x$y' });
      assert.deepEqual((token.parts?.[1] as TokenValue).entry, { c: 'c,d' });
      const string = parse('code-value-string', `${LOINC}|1234$Price \\$5`);
      assert.equal((string.parts?.[1] as StringValue).text, 'price $5');
    });

    it('wrong number of parts → 400 naming the parameter', () => {
      const name = 'component-code-value-quantity';
      assertBadRequest(() => parse(name, `${LOINC}|${SYSTOLIC}`), name, /expected 2 values separated by '\$' .*got 1/);
      assertBadRequest(() => parse(name, `${LOINC}|${SYSTOLIC}$lt60$5`), name, /expected 2 .*got 3/);
      assertBadRequest(() => parse(name, `${LOINC}|${SYSTOLIC}\\$lt60`), name, /got 1/);
      assertBadRequest(() => parse('chromosome-window-coordinate', '1$10', undefined, 'MolecularSequence'), 'chromosome-window-coordinate', /expected 3/);
    });

    it('a malformed part → 400 naming the parameter and the component', () => {
      const name = 'component-code-value-quantity';
      assertBadRequest(() => parse(name, `${SYSTOLIC}$sixty`), name, /component 2 \(component-value-quantity\): .*not a valid decimal/);
      assertBadRequest(() => parse(name, `${SYSTOLIC}$xx60`), name, /component 2 .*unknown prefix 'xx'/);
      assertBadRequest(() => parse(name, '$60'), name, /component 1 \(component-code\)/);
      assertBadRequest(() => parse('code-value-date', `${SYSTOLIC}$2020-13`), 'code-value-date', /component 2 \(value-date\)/);
      assertBadRequest(() => parse('code-value-string', `${SYSTOLIC}$`), 'code-value-string', /component 2 \(value-string\): a value is required/);
    });

    it(':missing takes true or false; other modifiers are refused', () => {
      assert.deepEqual(parse('code-value-quantity', 'true', 'missing'), { raw: 'true' });
      assertBadRequest(() => parse('code-value-quantity', 'yes', 'missing'), 'code-value-quantity:missing', /true or false/);
      assertBadRequest(() => parse('code-value-quantity', `${SYSTOLIC}$5`, 'exact'), 'code-value-quantity:exact', /not valid/);
    });

    it('a composite whose components cannot be resolved → 400 not-supported, and no index entries', () => {
      const broken: SearchParamDef = {
        ...def('code-value-quantity'),
        code: 'custom-composite',
        components: [{ definition: 'http://example.org/SearchParameter/nope', expression: 'code' }],
      };
      assertBadRequest(() => compositeParam.parse(broken, undefined, 'a'), 'custom-composite', /not a known SearchParameter/, 'not-supported');
      const into: SearchIndex = {};
      compositeParam.index(broken, [{ resourceType: 'Observation' }], into);
      assert.deepEqual(into, {});
    });
  });

  describe('index: one tuple per composite root', () => {
    it('component-code-value-quantity: one tuple per Observation.component, keyed by component position', () => {
      assert.deepEqual(indexOf(panel(150, 50), 'component-code-value-quantity'), [
        { 0: [{ s: LOINC, c: SYSTOLIC }], 1: [mmHgEntry(150)] },
        { 0: [{ s: LOINC, c: DIASTOLIC }], 1: [mmHgEntry(50)] },
      ]);
    });

    it('a root missing a component value gets no tuple', () => {
      assert.deepEqual(indexOf(panel(150, undefined), 'component-code-value-quantity'), [
        { 0: [{ s: LOINC, c: SYSTOLIC }], 1: [mmHgEntry(150)] },
      ]);
      assert.equal(indexOf(panel(undefined, undefined), 'component-code-value-quantity'), undefined);
      // The panel itself has a code but no value: no code-value-quantity tuple.
      assert.equal(indexOf(panel(150, 50), 'code-value-quantity'), undefined);
    });

    it('combo-code-value-quantity: the Observation and each component are roots', () => {
      const observation = { ...panel(150, undefined), code: loinc('29463-7'), valueQuantity: { value: 70, unit: 'kg', system: UCUM, code: 'kg' } };
      assert.deepEqual(indexOf(observation, 'combo-code-value-quantity'), [
        { 0: [{ s: LOINC, c: '29463-7' }], 1: [[70, 70, UCUM, 'kg', 'kg', 70000, 70000, 'g']] },
        { 0: [{ s: LOINC, c: SYSTOLIC }], 1: [mmHgEntry(150)] },
      ]);
      assert.deepEqual(indexOf(observation, 'code-value-quantity'), [{ 0: [{ s: LOINC, c: '29463-7' }], 1: [[70, 70, UCUM, 'kg', 'kg', 70000, 70000, 'g']] }]);
    });

    it('code-value-concept, -date and -string read their own value[x] type only', () => {
      const concept = { resourceType: 'Observation', code: loinc('1'), valueCodeableConcept: { coding: [{ system: SNOMED, code: '260385009' }], text: 'Negative' } };
      assert.deepEqual(indexOf(concept, 'code-value-concept'), [{ 0: [{ s: LOINC, c: '1' }], 1: [{ s: SNOMED, c: '260385009' }] }]);
      assert.equal(indexOf(concept, 'code-value-quantity'), undefined);
      const date = { resourceType: 'Observation', code: loinc('2'), valuePeriod: { start: '2020-01-01', end: '2020-01-31' } };
      assert.deepEqual(indexOf(date, 'code-value-date'), [
        { 0: [{ s: LOINC, c: '2' }], 1: [[Date.UTC(2020, 0, 1), Date.UTC(2020, 1, 1)]] },
      ]);
      const string = { resourceType: 'Observation', code: loinc('3'), valueString: 'Crème  Brûlée' };
      assert.deepEqual(indexOf(string, 'code-value-string'), [{ 0: [{ s: LOINC, c: '3' }], 1: ['creme brulee'] }]);
    });

    it('other R4 composites: useContext, DocumentReference.relatesTo (R4 errata fixed), MolecularSequence windows', () => {
      const activity = {
        resourceType: 'ActivityDefinition',
        useContext: [
          { code: { system: 'http://terminology.hl7.org/CodeSystem/usage-context-type', code: 'age' }, valueRange: { low: { value: 18 }, high: { value: 65 } } },
          { code: { code: 'focus' }, valueCodeableConcept: { coding: [{ system: SNOMED, code: '1234' }] } },
        ],
      };
      assert.deepEqual(indexOf(activity, 'context-type-quantity'), [
        { 0: [{ s: 'http://terminology.hl7.org/CodeSystem/usage-context-type', c: 'age' }], 1: [[18, 65, null, null, null]] },
      ]);
      assert.deepEqual(indexOf(activity, 'context-type-value'), [{ 0: [{ s: null, c: 'focus' }], 1: [{ s: SNOMED, c: '1234' }] }]);
      const document = { resourceType: 'DocumentReference', relatesTo: [{ code: 'replaces', target: { reference: 'DocumentReference/7' } }] };
      // relatesTo.code is a code element: with and without its bound system (search/registry/code-systems.ts).
      assert.deepEqual(indexOf(document, 'relationship'), [{ 0: ['DocumentReference/7', '7'], 1: [{ s: null, c: 'replaces' }, { s: 'http://hl7.org/fhir/document-relationship-type', c: 'replaces' }] }]);
      const sequence = { resourceType: 'MolecularSequence', referenceSeq: { chromosome: { coding: [{ code: '1' }] }, windowStart: 10, windowEnd: 20 } };
      assert.deepEqual(indexOf(sequence, 'chromosome-window-coordinate'), [{ 0: [{ s: null, c: '1' }], 1: [[10, 10]], 2: [[20, 20]] }]);
    });

    it('the indexer writes composite entries next to the plain ones', () => {
      const sp = indexer(panel(150, 50));
      assert.equal(sp['component-code-value-quantity']?.length, 2);
      assert.equal(sp['combo-code-value-quantity']?.length, 2);
      assert.equal(sp['component-value-quantity']?.length, 2);
    });
  });

  describe('matches: every part on the SAME root', () => {
    const highSystolicLowDiastolic = panel(150, 50);

    it('a panel with a high systolic and a low diastolic does not match <systolic>$lt60', () => {
      const name = 'component-code-value-quantity';
      assert.equal(matches(highSystolicLowDiastolic, name, `${LOINC}|${SYSTOLIC}$lt60`), false);
      assert.equal(matches(highSystolicLowDiastolic, name, `${LOINC}|${DIASTOLIC}$lt60`), true);
      assert.equal(matches(highSystolicLowDiastolic, name, `${LOINC}|${SYSTOLIC}$gt100`), true);
      assert.equal(matches(highSystolicLowDiastolic, name, `${LOINC}|${DIASTOLIC}$gt100`), false);
      // ... although each part alone matches some component.
      assert.equal(matches(highSystolicLowDiastolic, 'component-code', `${LOINC}|${SYSTOLIC}`), true);
      assert.equal(matches(highSystolicLowDiastolic, 'component-value-quantity', 'lt60'), true);
    });

    it('parts take their component syntax: code without system, units, prefixes', () => {
      const name = 'component-code-value-quantity';
      assert.equal(matches(highSystolicLowDiastolic, name, `${SYSTOLIC}$150`), true);
      assert.equal(matches(highSystolicLowDiastolic, name, `${SYSTOLIC}$150|${UCUM}|mm[Hg]`), true);
      assert.equal(matches(highSystolicLowDiastolic, name, `${SYSTOLIC}$150||mmHg`), true);
      assert.equal(matches(highSystolicLowDiastolic, name, `${SYSTOLIC}$150||kg`), false);
      assert.equal(matches(highSystolicLowDiastolic, name, `http://other|${SYSTOLIC}$150`), false);
      assert.equal(matches(highSystolicLowDiastolic, name, `${SYSTOLIC}$ge150`), true);
      assert.equal(matches(highSystolicLowDiastolic, name, `${SYSTOLIC}$gt150`), false);
    });

    it('comma = OR of whole composite values', () => {
      const name = 'component-code-value-quantity';
      assert.equal(matches(highSystolicLowDiastolic, name, `${SYSTOLIC}$lt60,${DIASTOLIC}$gt100`), false);
      assert.equal(matches(highSystolicLowDiastolic, name, `${SYSTOLIC}$lt60,${DIASTOLIC}$lt60`), true);
    });

    it('combo matches on the Observation or on one component, never across them', () => {
      const observation = { ...panel(150, 50), code: loinc('85354-9'), valueQuantity: mmHg(90) };
      const name = 'combo-code-value-quantity';
      assert.equal(matches(observation, name, '85354-9$90'), true);
      assert.equal(matches(observation, name, `${SYSTOLIC}$150`), true);
      assert.equal(matches(observation, name, '85354-9$150'), false);
      assert.equal(matches(observation, name, `${SYSTOLIC}$90`), false);
    });

    it('concept, string and date values', () => {
      const concept = { resourceType: 'Observation', code: loinc('1'), valueCodeableConcept: { coding: [{ system: SNOMED, code: '260385009' }] } };
      assert.equal(matches(concept, 'code-value-concept', `${LOINC}|1$${SNOMED}|260385009`), true);
      assert.equal(matches(concept, 'code-value-concept', `${LOINC}|1$${SNOMED}|10828004`), false);
      assert.equal(matches(concept, 'code-value-concept', `${LOINC}|2$${SNOMED}|260385009`), false);
      const string = { resourceType: 'Observation', code: loinc('3'), valueString: 'Crème Brûlée' };
      assert.equal(matches(string, 'code-value-string', '3$creme'), true);
      assert.equal(matches(string, 'code-value-string', '3$brulee'), false);
      const date = { resourceType: 'Observation', code: loinc('2'), valueDateTime: '2020-06-15' };
      assert.equal(matches(date, 'code-value-date', '2$2020'), true);
      assert.equal(matches(date, 'code-value-date', '2$gt2020-07'), false);
      assert.equal(matches(date, 'code-value-date', '2$lt2020-07'), true);
    });

    it(':missing is about complete tuples', () => {
      const name = 'component-code-value-quantity';
      assert.equal(matches(panel(150, 50), name, 'false', 'missing'), true);
      assert.equal(matches(panel(150, 50), name, 'true', 'missing'), false);
      assert.equal(matches(panel(undefined, undefined), name, 'true', 'missing'), true);
      assert.equal(matches({ resourceType: 'Observation', code: loinc('1') }, name, 'true', 'missing'), true);
    });
  });

  describe('predicate', () => {
    const d = () => def('component-code-value-quantity');

    it('one EXISTS over the tuples with the component predicates ANDed, behind a GIN-served probe', () => {
      const binds = new TestBinds();
      const values = [`${LOINC}|${SYSTOLIC}$lt60`, `${DIASTOLIC}$gt100|${UCUM}|mm[Hg]`].map((raw) => compositeParam.parse(d(), undefined, raw));
      const sql = compositeParam.predicate(d(), undefined, values, 'r.sp', binds);
      assert.match(sql, /^\(\(r\.sp @> \$1::jsonb OR r\.sp @> \$2::jsonb\) AND EXISTS \(SELECT 1 FROM jsonb_array_elements\(/);
      assert.match(sql, /r\.sp -> 'component-code-value-quantity'/);
      assert.match(sql, /\(sp_tuple\.e @> \$3::jsonb\)\) AND \(COALESCE\(jsonb_path_exists\(sp_tuple\.e, 'strict \$ \? \(exists\(@\."1"\)\)\."1"\[\*\]/);
      assert.deepEqual(JSON.parse(binds.values[0] as string), { 'component-code-value-quantity': [{ 0: [{ s: LOINC, c: SYSTOLIC }] }] });
      assert.deepEqual(JSON.parse(binds.values[2] as string), { 0: [{ s: LOINC, c: SYSTOLIC }] });
      assertOnlyPlaceholders(sql, [LOINC, SYSTOLIC, DIASTOLIC, '60', '100', UCUM, 'mm[Hg]']);
    });

    it('a probe per token part; none when a value has no token/reference/uri part', () => {
      const window = def('chromosome-window-coordinate', 'MolecularSequence');
      const withToken = compositeParam.predicate(window, undefined, [compositeParam.parse(window, undefined, '1$gt5$lt30')], 'r.sp', new TestBinds());
      assert.match(withToken, /^\(\(r\.sp @> \$1::jsonb\) AND EXISTS/);
      const numbers: SearchParamDef = {
        ...def('code-value-quantity'),
        code: 'quantity-date',
        components: [
          { definition: 'http://hl7.org/fhir/SearchParameter/Observation-value-quantity', expression: 'value.as(Quantity)' },
          { definition: 'http://hl7.org/fhir/SearchParameter/Observation-value-date', expression: 'effective' },
        ],
      };
      const sql = compositeParam.predicate(numbers, undefined, [compositeParam.parse(numbers, undefined, 'gt5$2020')], 'r.sp', new TestBinds());
      assert.match(sql, /^EXISTS \(SELECT 1 FROM jsonb_array_elements/);
      const observation = { resourceType: 'Observation', code: loinc('1'), valueQuantity: mmHg(7), effectiveDateTime: '2020-03-01' };
      const into: SearchIndex = {};
      compositeParam.index(numbers, numbers.extract(observation), into);
      assert.deepEqual(into['quantity-date'], [{ 0: [mmHgEntry(7)], 1: [[Date.UTC(2020, 2, 1), Date.UTC(2020, 2, 2)]] }]);
      assert.equal(compositeParam.matches(numbers, undefined, [compositeParam.parse(numbers, undefined, 'gt5$2020')], into), true);
    });

    it(':missing tests the key', () => {
      const missing = compositeParam.predicate(d(), 'missing', [{ raw: 'true' }], 'r.sp', new TestBinds());
      assert.equal(missing, `NOT COALESCE((jsonb_path_exists(r.sp, '$."component-code-value-quantity"[*]')), false)`);
    });

    it('refuses modifiers other than :missing', () => {
      assert.throws(() => compositeParam.predicate(d(), 'exact', [], 'r.sp', new TestBinds()), FhirError);
    });
  });
});
