import assert from 'node:assert/strict';
import { FhirError } from '../../../src/core/errors.js';
import { applyFhirPathPatch } from '../../../src/fhir/patch/fhirpath-patch.js';

type Json = Record<string, unknown>;

/** One "operation" parameter; `parts` are appended after type and path, in order. */
function op(type: string, path: string, ...parts: Json[]): Json {
  return {
    name: 'operation',
    part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...parts],
  };
}
const params = (...operations: Json[]): Json => ({ resourceType: 'Parameters', parameter: operations });
const name = (value: string): Json => ({ name: 'name', valueString: value });
const value = (key: string, v: unknown): Json => ({ name: 'value', [key]: v });
const int = (partName: string, v: number): Json => ({ name: partName, valueInteger: v });

function identifiers(...values: string[]): Json[] {
  return values.map((v) => ({ system: 'http://example.org', value: v }));
}

function patient(): Json {
  return {
    resourceType: 'Patient',
    id: 'p1',
    identifier: [
      { system: 'http://a', value: '1' },
      { system: 'http://b', value: '2' },
    ],
    name: [{ family: 'Chalmers', given: ['Peter', 'James'] }],
    birthDate: '1974-12-25',
  };
}

/** Asserts fn throws a FhirError with this status, issue code and expression. */
function assertFhirError(fn: () => unknown, status: number, code: string, expression: string[], message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FhirError, `expected FhirError, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    const [issue] = err.outcome.issue;
    assert.equal(issue.code, code);
    assert.deepEqual(issue.expression, expression);
    if (message) assert.match(issue.diagnostics ?? '', message);
    return true;
  });
}

describe('applyFhirPathPatch (fhirpatch.html)', () => {
  describe('add', () => {
    it('adds a primitive to the resource (spec example: birthDate)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient' },
        params(op('add', 'Patient', name('birthDate'), value('valueDate', '1930-01-01'))),
      );
      assert.deepEqual(out, { resourceType: 'Patient', birthDate: '1930-01-01' });
    });

    it('adds a repeating element as an array when absent (telecom, per the R4 model)', () => {
      const out = applyFhirPathPatch(
        patient(),
        params(op('add', 'Patient', name('telecom'), value('valueContactPoint', { system: 'phone', value: '555' }))),
      );
      assert.deepEqual(out, { ...patient(), telecom: [{ system: 'phone', value: '555' }] });
    });

    it('appends to an existing list (a second name)', () => {
      const out = applyFhirPathPatch(
        patient(),
        params(op('add', 'Patient', name('name'), value('valueHumanName', { use: 'nickname', given: ['Jim'] }))),
      );
      assert.deepEqual(out.name, [
        { family: 'Chalmers', given: ['Peter', 'James'] },
        { use: 'nickname', given: ['Jim'] },
      ]);
    });

    it('adds a complex value (spec test: maritalStatus CodeableConcept)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient' },
        params(op('add', 'Patient', name('maritalStatus'), value('valueCodeableConcept', { text: 'married' }))),
      );
      assert.deepEqual(out, { resourceType: 'Patient', maritalStatus: { text: 'married' } });
    });

    it('adds a nested primitive (spec test: Patient.contact[0] gender)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient', contact: [{ name: { text: 'a name' } }] },
        params(op('add', 'Patient.contact[0]', name('gender'), value('valueCode', 'male'))),
      );
      assert.deepEqual(out, { resourceType: 'Patient', contact: [{ name: { text: 'a name' }, gender: 'male' }] });
    });

    it('adds to the element selected by where() (the container, not a sibling)', () => {
      const out = applyFhirPathPatch(
        patient(),
        params(
          op("add", "Patient.identifier.where(system='http://b')", name('period'), value('valuePeriod', { start: '2020' })),
        ),
      );
      assert.deepEqual(out.identifier, [
        { system: 'http://a', value: '1' },
        { system: 'http://b', value: '2', period: { start: '2020' } },
      ]);
    });

    it('names a choice element by its base name and takes the type from value[x]', () => {
      const out = applyFhirPathPatch(patient(), params(op('add', 'Patient', name('deceased'), value('valueBoolean', true))));
      assert.equal(out.deceasedBoolean, true);
      assert.equal(Object.hasOwn(out, 'deceased'), false);
    });

    it('an element that already exists and does not repeat -> 422', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('add', 'Patient', name('birthDate'), value('valueDate', '2000-01-01')))),
        422,
        'processing',
        ['Parameters.parameter[0].part[2]'],
        /already exists/,
      );
    });

    it('a path that matches nothing -> 422 (spec test: operation on missing element)', () => {
      assertFhirError(
        () =>
          applyFhirPathPatch(
            { resourceType: 'Patient', identifier: [{ use: 'official', value: '123' }] },
            params(op('add', "Patient.identifier.where(use = 'official').period", name('end'), value('valueDate', '2021-12-01'))),
          ),
        422,
        'processing',
        ['Parameters.parameter[0].part[1]'],
        /No content found/,
      );
    });

    it('a path that matches several elements -> 422', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('add', 'Patient.identifier', name('use'), value('valueCode', 'usual')))),
        422,
        'processing',
        ['Parameters.parameter[0].part[1]'],
        /matches 2 elements/,
      );
    });
  });

  describe('complex values given as parts', () => {
    it('builds an anonymous type from parts (spec example: add a contact with a name)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient' },
        params(
          op('add', 'Patient', name('contact'), {
            name: 'value',
            part: [{ name: 'name', valueHumanName: { text: 'a name' } }],
          }),
        ),
      );
      assert.deepEqual(out, { resourceType: 'Patient', contact: [{ name: { text: 'a name' } }] });
    });

    it('builds a HumanName from family/given parts; given repeats per the model', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient' },
        params(
          op('add', 'Patient', name('name'), {
            name: 'value',
            part: [
              { name: 'family', valueString: 'Doe' },
              { name: 'given', valueString: 'Jane' },
            ],
          }),
        ),
      );
      assert.deepEqual(out, { resourceType: 'Patient', name: [{ family: 'Doe', given: ['Jane'] }] });
    });

    it('builds nested part trees and collects repeated part names into arrays', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient' },
        params(
          op('add', 'Patient', name('contact'), {
            name: 'value',
            part: [
              { name: 'name', part: [{ name: 'family', valueString: 'Roe' }, { name: 'given', valueString: 'A' }, { name: 'given', valueString: 'B' }] },
              { name: 'gender', valueCode: 'female' },
            ],
          }),
        ),
      );
      assert.deepEqual(out, {
        resourceType: 'Patient',
        contact: [{ name: { family: 'Roe', given: ['A', 'B'] }, gender: 'female' }],
      });
    });

    it('a part without a value or parts -> 400', () => {
      assertFhirError(
        () =>
          applyFhirPathPatch(
            { resourceType: 'Patient' },
            params(op('add', 'Patient', name('contact'), { name: 'value', part: [{ name: 'gender' }] })),
          ),
        400,
        'invalid',
        ['Parameters.parameter[0].part[3].part[0]'],
      );
    });
  });

  describe('insert', () => {
    it('inserts at an index in the middle (spec test: insert in list #1)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient', identifier: identifiers('value 1', 'value 2') },
        params(op('insert', 'Patient.identifier', int('index', 1), value('valueIdentifier', identifiers('value 3')[0]))),
      );
      assert.deepEqual(out.identifier, identifiers('value 1', 'value 3', 'value 2'));
    });

    it('inserts at 0 and at the end (index = length)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient', identifier: identifiers('value 1', 'value 2') },
        params(
          op('insert', 'Patient.identifier', int('index', 0), value('valueIdentifier', identifiers('first')[0])),
          op('insert', 'Patient.identifier', int('index', 3), value('valueIdentifier', identifiers('last')[0])),
        ),
      );
      assert.deepEqual(out.identifier, identifiers('first', 'value 1', 'value 2', 'last'));
    });

    it('inserts a primitive into a primitive list', () => {
      const out = applyFhirPathPatch(patient(), params(op('insert', 'Patient.name[0].given', int('index', 1), value('valueString', 'Jim'))));
      assert.deepEqual(out.name, [{ family: 'Chalmers', given: ['Peter', 'Jim', 'James'] }]);
    });

    it('an index beyond the end -> 422 naming the index part', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('insert', 'Patient.identifier', int('index', 3), value('valueIdentifier', {})))),
        422,
        'processing',
        ['Parameters.parameter[0].part[2]'],
      );
    });

    it('a path selecting a non-repeating element -> 422', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('insert', 'Patient.birthDate', int('index', 0), value('valueDate', '2000')))),
        422,
        'processing',
        ['Parameters.parameter[0].part[1]'],
        /single list/,
      );
    });
  });

  describe('delete', () => {
    it("deletes the list item matched by where(): Patient.identifier.where(system='http://a')", () => {
      const out = applyFhirPathPatch(patient(), params(op('delete', "Patient.identifier.where(system='http://a')")));
      assert.deepEqual(out, { ...patient(), identifier: [{ system: 'http://b', value: '2' }] });
    });

    it('deletes a simple element: Patient.birthDate', () => {
      const { birthDate: _removed, ...rest } = patient();
      assert.deepEqual(applyFhirPathPatch(patient(), params(op('delete', 'Patient.birthDate'))), rest);
    });

    it('deleting a scalar primitive also removes its _element extensions', () => {
      const input = { resourceType: 'Patient', birthDate: '1974-12-25', _birthDate: { extension: [{ url: 'u', valueString: 'x' }] } };
      assert.deepEqual(applyFhirPathPatch(input, params(op('delete', 'Patient.birthDate'))), { resourceType: 'Patient' });
    });

    it('deletes by index (spec test: delete from list #2)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient', identifier: identifiers('value 1', 'value 2', 'value 3') },
        params(op('delete', 'Patient.identifier[1]')),
      );
      assert.deepEqual(out.identifier, identifiers('value 1', 'value 3'));
    });

    it('a path matching nothing is a no-op', () => {
      const out = applyFhirPathPatch(patient(), params(op('delete', "Patient.identifier.where(system='http://zzz')"), op('delete', 'Patient.gender')));
      assert.deepEqual(out, patient());
    });

    it('removes the key when the last list item goes (no empty arrays)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient', telecom: [{ system: 'phone', value: '1' }] },
        params(op('delete', 'Patient.telecom[0]')),
      );
      assert.deepEqual(out, { resourceType: 'Patient' });
    });

    it('removes containers left empty (spec test: delete nested primitive #2)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient', contact: [{ name: { text: 'a name' }, gender: 'male' }] },
        params(op('delete', 'Patient.contact[0].name.text')),
      );
      assert.deepEqual(out, { resourceType: 'Patient', contact: [{ gender: 'male' }] });
    });

    it('a path matching several elements -> 422 (only a single element can be deleted)', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('delete', 'Patient.identifier'))),
        422,
        'processing',
        ['Parameters.parameter[0].part[1]'],
        /matches 2 elements/,
      );
    });

    it('the resource itself cannot be deleted -> 422', () => {
      assertFhirError(() => applyFhirPathPatch(patient(), params(op('delete', 'Patient'))), 422, 'processing', [
        'Parameters.parameter[0].part[1]',
      ]);
    });
  });

  describe('replace', () => {
    it('replaces Patient.birthDate (spec test: replace primitive)', () => {
      const out = applyFhirPathPatch(patient(), params(op('replace', 'Patient.birthDate', value('valueDate', '1930-01-01'))));
      assert.deepEqual(out, { ...patient(), birthDate: '1930-01-01' });
    });

    it('replaces Patient.name[0].family', () => {
      const out = applyFhirPathPatch(patient(), params(op('replace', 'Patient.name[0].family', value('valueString', 'Chalmers1'))));
      assert.deepEqual(out.name, [{ family: 'Chalmers1', given: ['Peter', 'James'] }]);
    });

    it('replaces a list item and a complex element (spec test: replace complex)', () => {
      const out = applyFhirPathPatch(
        { ...patient(), maritalStatus: { id: '1', text: 'married' } },
        params(
          op('replace', 'Patient.identifier[1]', value('valueIdentifier', { system: 'http://c', value: '3' })),
          op('replace', 'Patient.maritalStatus', value('valueCodeableConcept', { id: '2', text: 'not married' })),
        ),
      );
      assert.deepEqual(out, {
        ...patient(),
        identifier: [
          { system: 'http://a', value: '1' },
          { system: 'http://c', value: '3' },
        ],
        maritalStatus: { id: '2', text: 'not married' },
      });
    });

    it('operations apply in sequence (spec test: list unchanged, contents changed)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient', identifier: identifiers('value 1', 'value 2') },
        params(
          op('replace', 'Patient.identifier[0].value', value('valueString', 'value 2')),
          op('replace', 'Patient.identifier[1].value', value('valueString', 'value 1')),
        ),
      );
      assert.deepEqual(out.identifier, identifiers('value 2', 'value 1'));
    });

    it('a choice element may change type (deceasedBoolean -> deceasedDateTime)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient', deceasedBoolean: false },
        params(op('replace', 'Patient.deceased', value('valueDateTime', '2020-01-01'))),
      );
      assert.deepEqual(out, { resourceType: 'Patient', deceasedDateTime: '2020-01-01' });
    });

    it('replaces a numeric choice element (fhirpath.js wraps numbers; still located)', () => {
      const out = applyFhirPathPatch(
        { resourceType: 'Patient', multipleBirthInteger: 3 },
        params(op('replace', 'Patient.multipleBirth', value('valueInteger', 4))),
      );
      assert.deepEqual(out, { resourceType: 'Patient', multipleBirthInteger: 4 });
    });

    it('a path matching nothing -> 422', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('replace', 'Patient.gender', value('valueCode', 'male')))),
        422,
        'processing',
        ['Parameters.parameter[0].part[1]'],
        /No content found/,
      );
    });

    it('a path matching several elements -> 422', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('replace', 'Patient.name.given', value('valueString', 'X')))),
        422,
        'processing',
        ['Parameters.parameter[0].part[1]'],
        /matches 2 elements/,
      );
    });
  });

  describe('move', () => {
    const four = () => ({ resourceType: 'Patient', identifier: identifiers('value 1', 'value 2', 'value 3', 'value 4') });

    it('moves source 3 to destination 1 (spec test: reorder list #1)', () => {
      const out = applyFhirPathPatch(four(), params(op('move', 'Patient.identifier', int('source', 3), int('destination', 1))));
      assert.deepEqual(out.identifier, identifiers('value 1', 'value 4', 'value 2', 'value 3'));
    });

    it('moves source 0 to destination 3 (spec test: reorder list #4)', () => {
      const out = applyFhirPathPatch(four(), params(op('move', 'Patient.identifier', int('source', 0), int('destination', 3))));
      assert.deepEqual(out.identifier, identifiers('value 2', 'value 3', 'value 4', 'value 1'));
    });

    it('an out-of-range source -> 422 naming the source part', () => {
      assertFhirError(
        () => applyFhirPathPatch(four(), params(op('move', 'Patient.identifier', int('source', 4), int('destination', 0)))),
        422,
        'processing',
        ['Parameters.parameter[0].part[2]'],
      );
    });
  });

  describe('malformed Parameters -> 400 invalid', () => {
    it('not a Parameters resource', () => {
      assertFhirError(() => applyFhirPathPatch(patient(), [{ op: 'add' }]), 400, 'invalid', ['Parameters']);
    });

    it('a parameter not named "operation"', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), { resourceType: 'Parameters', parameter: [{ name: 'op', part: [] }] }),
        400,
        'invalid',
        ['Parameters.parameter[0].name'],
      );
    });

    it('an operation missing its type', () => {
      const bad = { name: 'operation', part: [{ name: 'path', valueString: 'Patient.birthDate' }] };
      assertFhirError(() => applyFhirPathPatch(patient(), params(op('delete', 'Patient.gender'), bad)), 400, 'invalid', [
        'Parameters.parameter[1]',
      ]);
    });

    it('an operation missing its path', () => {
      const bad = { name: 'operation', part: [{ name: 'type', valueCode: 'delete' }] };
      assertFhirError(() => applyFhirPathPatch(patient(), params(bad)), 400, 'invalid', ['Parameters.parameter[0]']);
    });

    it('an unknown operation type', () => {
      assertFhirError(() => applyFhirPathPatch(patient(), params(op('upsert', 'Patient.birthDate'))), 400, 'invalid', [
        'Parameters.parameter[0].part[0]',
      ]);
    });

    it('invalid FHIRPath syntax', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('delete', 'Patient.birthDate'), op('delete', 'Patient.name['))),
        400,
        'invalid',
        ['Parameters.parameter[1].part[1]'],
        /Invalid FHIRPath/,
      );
    });

    it('an unknown FHIRPath function', () => {
      assertFhirError(() => applyFhirPathPatch(patient(), params(op('delete', 'Patient.name.frob()'))), 400, 'invalid', [
        'Parameters.parameter[0].part[1]',
      ]);
    });

    it('add without a name, or with a prototype-polluting name', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('add', 'Patient', value('valueString', 'x')))),
        400,
        'invalid',
        ['Parameters.parameter[0]'],
      );
      for (const bad of ['__proto__', 'constructor', 'prototype', 'a.b']) {
        assertFhirError(
          () => applyFhirPathPatch(patient(), params(op('add', 'Patient', name(bad), value('valueString', 'x')))),
          400,
          'invalid',
          ['Parameters.parameter[0].part[2]'],
        );
      }
    });

    it('replace without a value, and a value with two value[x]', () => {
      assertFhirError(() => applyFhirPathPatch(patient(), params(op('replace', 'Patient.birthDate'))), 400, 'invalid', [
        'Parameters.parameter[0]',
      ]);
      assertFhirError(
        () =>
          applyFhirPathPatch(
            patient(),
            params(op('replace', 'Patient.birthDate', { name: 'value', valueDate: '2000', valueString: '2000' })),
          ),
        400,
        'invalid',
        ['Parameters.parameter[0].part[2]'],
      );
    });

    it('insert without an index, or with a negative index', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('insert', 'Patient.identifier', value('valueIdentifier', {})))),
        400,
        'invalid',
        ['Parameters.parameter[0]'],
      );
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('insert', 'Patient.identifier', int('index', -1), value('valueIdentifier', {})))),
        400,
        'invalid',
        ['Parameters.parameter[0].part[2]'],
      );
    });

    it('an unknown part name', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('delete', 'Patient.birthDate', { name: 'where', valueString: 'x' }))),
        400,
        'invalid',
        ['Parameters.parameter[0].part[2]'],
      );
    });
  });

  describe('unsupported / out-of-resource paths -> 422', () => {
    it('a path into a primitive extension gives a clear 422', () => {
      const input = { resourceType: 'Patient', birthDate: '1974-12-25', _birthDate: { extension: [{ url: 'u', valueString: 'x' }] } };
      assertFhirError(
        () => applyFhirPathPatch(input, params(op('delete', 'Patient.birthDate.extension[0]'))),
        422,
        'processing',
        ['Parameters.parameter[0].part[1]'],
        /primitive extensions is not supported/,
      );
    });

    it('a repeating primitive with extensions gives a clear 422', () => {
      const input = { resourceType: 'Patient', name: [{ given: ['A', 'B'], _given: [null, { extension: [{ url: 'u', valueString: 'x' }] }] }] };
      assertFhirError(
        () => applyFhirPathPatch(input, params(op('delete', 'Patient.name[0].given[0]'))),
        422,
        'processing',
        ['Parameters.parameter[0].part[1]'],
        /primitive extensions/,
      );
    });

    it('a path that yields a computed value rather than an element', () => {
      assertFhirError(
        () => applyFhirPathPatch(patient(), params(op('replace', "'literal'", value('valueString', 'x')))),
        422,
        'processing',
        ['Parameters.parameter[0].part[1]'],
        /must select elements/,
      );
    });
  });

  describe('immutability', () => {
    it('does not mutate the input resource or the patch', () => {
      const input = patient();
      const patch = params(
        op('add', 'Patient', name('telecom'), value('valueContactPoint', { system: 'phone', value: '555' })),
        op('replace', 'Patient.name[0].family', value('valueString', 'X')),
        op('delete', "Patient.identifier.where(system='http://a')"),
        op('move', 'Patient.name[0].given', int('source', 1), int('destination', 0)),
      );
      const inputBefore = structuredClone(input);
      const patchBefore = structuredClone(patch);
      const out = applyFhirPathPatch(input, patch);
      assert.deepEqual(input, inputBefore);
      assert.deepEqual(patch, patchBefore);
      (out.telecom as Json[])[0].value = 'changed'; // the result must not alias the patch body
      assert.deepEqual(patch, patchBefore);
    });

    it('an empty Parameters returns an equal copy', () => {
      const input = patient();
      const out = applyFhirPathPatch(input, { resourceType: 'Parameters' });
      assert.deepEqual(out, input);
      assert.notEqual(out, input);
    });
  });
});
