// Unit tests for src/search/params/reference.ts (FHIR R4 search.html#reference, #modifiers).
import assert from 'node:assert/strict';
import { referenceParam, referenceTargets, type ReferenceValue } from '../../../../src/search/params/reference.js';
import type { SearchIndex } from '../../../../src/search/types.js';
import { assertBadRequest, assertOnlyPlaceholders, paramDef, TestBinds } from './support.js';

const subject = paramDef('subject', 'reference', ['Patient', 'Group']);
const anyTarget = paramDef('target', 'reference');

function indexOf(values: unknown[], def = subject): SearchIndex {
  const into: SearchIndex = {};
  referenceParam.index(def, values, into);
  return into;
}

const parse = (raw: string, modifier?: string, def = subject) => referenceParam.parse(def, modifier, raw);

function matches(index: SearchIndex, modifier: string | undefined, raws: string[], def = subject): boolean {
  const values: ReferenceValue[] = modifier === 'missing' ? raws.map((raw) => ({ raw })) : raws.map((raw) => parse(raw, modifier, def));
  return referenceParam.matches(def, modifier, values, index);
}

describe('reference parameters', () => {
  describe('index', () => {
    it('indexes Type/id and the bare id of a target type', () => {
      assert.deepEqual(indexOf([{ reference: 'Patient/123', display: 'x' }]), { subject: ['Patient/123', '123'] });
    });

    it('indexes a versioned reference with and without its version', () => {
      assert.deepEqual(indexOf([{ reference: 'Patient/1/_history/2' }]), { subject: ['Patient/1/_history/2', 'Patient/1', '1'] });
    });

    it('gives no bare id to a type that is not a target, unless any type is', () => {
      assert.deepEqual(indexOf([{ reference: 'Device/d1' }]), { subject: ['Device/d1'] });
      assert.deepEqual(indexOf([{ reference: 'Device/d1' }], anyTarget), { target: ['Device/d1', 'd1'] });
    });

    it('keeps absolute references and canonicals as written, plus their unversioned form', () => {
      assert.deepEqual(
        indexOf([
          { reference: 'http://other.org/fhir/Patient/9/_history/3' },
          { reference: 'urn:uuid:2d5f2e8a-8c6a-4b4e-8f3f-0b0c4a0c9d11' },
          'http://hl7.org/fhir/ValueSet/x|4.0.1',
        ]),
        {
          subject: [
            'http://other.org/fhir/Patient/9/_history/3',
            'http://other.org/fhir/Patient/9',
            'urn:uuid:2d5f2e8a-8c6a-4b4e-8f3f-0b0c4a0c9d11',
            'http://hl7.org/fhir/ValueSet/x|4.0.1',
            'http://hl7.org/fhir/ValueSet/x',
          ],
        },
      );
    });

    it('skips contained references and indexes Reference.identifier like a token', () => {
      assert.deepEqual(indexOf([{ reference: '#c1' }, { identifier: { system: 'urn:ssn', value: '1-2' } }, { identifier: { value: 'v' } }, {}]), {
        'subject:identifier': [
          { s: 'urn:ssn', c: '1-2' },
          { s: null, c: 'v' },
        ],
      });
    });

    it('referenceTargets() lists the local Type/id targets for chaining', () => {
      const index = indexOf([{ reference: 'Patient/1/_history/2' }, { reference: 'Group/g' }, { reference: 'http://x/Patient/3' }]);
      assert.deepEqual(referenceTargets(index, subject), [
        { type: 'Patient', id: '1' },
        { type: 'Group', id: 'g' },
      ]);
      assert.deepEqual(referenceTargets({}, subject), []);
    });
  });

  describe('parse', () => {
    it('reads ids, Type/id, versions and absolute URLs', () => {
      assert.equal(parse('123').ref, '123');
      assert.equal(parse('Patient/123').ref, 'Patient/123');
      assert.equal(parse('Patient/123/_history/4').ref, 'Patient/123/_history/4');
      assert.equal(parse('http://other.org/fhir/Patient/1').ref, 'http://other.org/fhir/Patient/1');
      assert.equal(parse('http://hl7.org/fhir/ValueSet/x\\|4.0.1').ref, 'http://hl7.org/fhir/ValueSet/x|4.0.1');
      assert.equal(parse('urn:uuid:abc').ref, 'urn:uuid:abc');
    });

    it('reads the :[Type] modifier', () => {
      assert.equal(parse('123', 'Patient').ref, 'Patient/123');
      assert.equal(parse('Patient/123', 'Patient').ref, 'Patient/123');
      assert.equal(parse('9', 'Device', anyTarget).ref, 'Device/9');
    });

    it('reads :identifier as system|value with escaping', () => {
      assert.deepEqual(parse('urn:ssn|1\\|2', 'identifier').identifier, { s: 'urn:ssn', c: '1|2' });
      assert.deepEqual(parse('|v', 'identifier').identifier, { s: null, c: 'v' });
      assert.deepEqual(parse('v', 'identifier').identifier, { c: 'v' });
    });

    it('refuses malformed values with a 400 naming the parameter', () => {
      assertBadRequest(() => parse(''), 'subject', /value is required/);
      assertBadRequest(() => parse('#c1'), 'subject', /contained/);
      assertBadRequest(() => parse('Device/1'), 'subject', /not a target/);
      assertBadRequest(() => parse('Nonsense/1'), 'subject', /not a resource type/);
      assertBadRequest(() => parse('Patient/a b'), 'subject');
      assertBadRequest(() => parse('a,b'), 'subject', /not an id/);
      assertBadRequest(() => parse('1', 'Device'), 'subject:Device', /not a target/);
      assertBadRequest(() => parse('Group/1', 'Patient'), 'subject:Patient', /Patient id/);
      assertBadRequest(() => parse('http://x/Patient/1', 'Patient'), 'subject:Patient');
      assertBadRequest(() => parse('a|b|c', 'identifier'), 'subject:identifier');
      assertBadRequest(() => parse('x', 'text'), 'subject:text', /not valid/);
      assertBadRequest(() => parse('x', 'below'), 'subject:below', /not supported yet/, 'not-supported');
    });
  });

  describe('predicate', () => {
    it('is a containment probe per value, on the identifier key for :identifier', () => {
      const binds = new TestBinds();
      const values = [parse('Patient/1'), parse('2'), parse(`http://x.org/it's"quoted`)];
      const text = referenceParam.predicate(subject, undefined, values, 'r.sp', binds);
      assert.equal(text, '(r.sp @> $1::jsonb OR r.sp @> $2::jsonb OR r.sp @> $3::jsonb)');
      assert.deepEqual(binds.values.map((b) => JSON.parse(b as string)), [
        { subject: ['Patient/1'] },
        { subject: ['2'] },
        { subject: [`http://x.org/it's"quoted`] },
      ]);
      assertOnlyPlaceholders(text, ["it's", 'quoted', 'Patient/1']);

      const idBinds = new TestBinds();
      assert.equal(referenceParam.predicate(subject, 'identifier', [parse('urn:a|1', 'identifier')], 'r.sp', idBinds), '(r.sp @> $1::jsonb)');
      assert.deepEqual(JSON.parse(idBinds.values[0] as string), { 'subject:identifier': [{ s: 'urn:a', c: '1' }] });
    });

    it(':missing covers references and identifiers', () => {
      const text = referenceParam.predicate(subject, 'missing', [{ raw: 'true' }], 'r.sp', new TestBinds());
      assert.equal(text, `NOT COALESCE((jsonb_path_exists(r.sp, '$."subject"[*]') OR jsonb_path_exists(r.sp, '$."subject:identifier"[*]')), false)`);
    });
  });

  describe('matches', () => {
    const index = indexOf([{ reference: 'Patient/1/_history/2' }, { reference: 'Device/7' }, { reference: 'http://o.org/Group/5' }]);

    it('matches by id (target types only), Type/id, version and absolute URL', () => {
      assert.equal(matches(index, undefined, ['1']), true);
      assert.equal(matches(index, undefined, ['Patient/1']), true);
      assert.equal(matches(index, undefined, ['Patient/1/_history/2']), true);
      assert.equal(matches(index, undefined, ['Patient/1/_history/3']), false);
      assert.equal(matches(index, undefined, ['Group/1']), false);
      assert.equal(matches(index, undefined, ['7']), false, 'Device is not a target of subject');
      assert.equal(matches(index, undefined, ['5']), false, 'absolute references match only as written');
      assert.equal(matches(index, undefined, ['http://o.org/Group/5']), true);
      assert.equal(matches(index, 'Patient', ['1']), true);
      assert.equal(matches(index, 'Group', ['1']), false);
    });

    it('matches :identifier and :missing', () => {
      const withId = indexOf([{ identifier: { system: 'urn:a', value: '1' } }]);
      assert.equal(matches(withId, 'identifier', ['urn:a|1']), true);
      assert.equal(matches(withId, 'identifier', ['|1']), false);
      assert.equal(matches(withId, 'identifier', ['1']), true);
      assert.equal(matches(withId, 'missing', ['false']), true);
      assert.equal(matches(indexOf([{ reference: '#c' }]), 'missing', ['true']), true);
    });
  });
});
