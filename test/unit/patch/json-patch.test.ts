import assert from 'node:assert/strict';
import { FhirError } from '../../../src/core/errors.js';
import { applyJsonPatch } from '../../../src/fhir/patch/json-patch.js';

function patient(): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    id: 'p1',
    active: true,
    name: [{ family: 'Chalmers', given: ['Peter', 'James'] }],
    telecom: [{ system: 'phone', value: '555' }],
  };
}

/** Asserts fn throws a FhirError with this status, issue code and expression. */
function assertFhirError(fn: () => unknown, status: number, code: string, expression?: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FhirError, `expected FhirError, got ${String(err)}`);
    assert.equal(err.status, status);
    const [issue] = err.outcome.issue;
    assert.equal(issue.code, code);
    assert.deepEqual(issue.expression, expression);
    return true;
  });
}

describe('applyJsonPatch (RFC 6902)', () => {
  describe('operations', () => {
    it('add: sets a new member and appends to an array with "-"', () => {
      const out = applyJsonPatch(patient(), [
        { op: 'add', path: '/birthDate', value: '1974-12-25' },
        { op: 'add', path: '/telecom/-', value: { system: 'email', value: 'a@b.c' } },
      ]);
      assert.deepEqual(out, {
        ...patient(),
        birthDate: '1974-12-25',
        telecom: [
          { system: 'phone', value: '555' },
          { system: 'email', value: 'a@b.c' },
        ],
      });
    });

    it('add: inserts into an array at an index', () => {
      const out = applyJsonPatch(patient(), [{ op: 'add', path: '/name/0/given/1', value: 'Jim' }]);
      assert.deepEqual(out.name, [{ family: 'Chalmers', given: ['Peter', 'Jim', 'James'] }]);
    });

    it('replace: replaces an existing value', () => {
      const out = applyJsonPatch(patient(), [{ op: 'replace', path: '/name/0/family', value: 'Smith' }]);
      assert.deepEqual(out, { ...patient(), name: [{ family: 'Smith', given: ['Peter', 'James'] }] });
    });

    it('remove: removes a member and an array item', () => {
      const out = applyJsonPatch(patient(), [
        { op: 'remove', path: '/active' },
        { op: 'remove', path: '/name/0/given/0' },
      ]);
      assert.deepEqual(out, {
        resourceType: 'Patient',
        id: 'p1',
        name: [{ family: 'Chalmers', given: ['James'] }],
        telecom: [{ system: 'phone', value: '555' }],
      });
    });

    it('move: moves a value to another location', () => {
      const out = applyJsonPatch(patient(), [{ op: 'move', from: '/name/0/given/1', path: '/name/0/given/0' }]);
      assert.deepEqual(out.name, [{ family: 'Chalmers', given: ['James', 'Peter'] }]);
    });

    it('copy: copies a value, leaving the source', () => {
      const out = applyJsonPatch(patient(), [{ op: 'copy', from: '/telecom/0', path: '/telecom/-' }]);
      assert.deepEqual(out.telecom, [
        { system: 'phone', value: '555' },
        { system: 'phone', value: '555' },
      ]);
    });

    it('test: a passing test lets the following operations apply', () => {
      const out = applyJsonPatch(patient(), [
        { op: 'test', path: '/name/0', value: { family: 'Chalmers', given: ['Peter', 'James'] } },
        { op: 'replace', path: '/active', value: false },
      ]);
      assert.deepEqual(out, { ...patient(), active: false });
    });

    it('an empty patch returns an equal copy', () => {
      const input = patient();
      const out = applyJsonPatch(input, []);
      assert.deepEqual(out, input);
      assert.notEqual(out, input);
    });
  });

  describe('operations that cannot be applied -> 422 processing', () => {
    it('a failing test op names the operation index', () => {
      assertFhirError(
        () =>
          applyJsonPatch(patient(), [
            { op: 'replace', path: '/active', value: false },
            { op: 'test', path: '/name/0/family', value: 'Nobody' },
          ]),
        422,
        'processing',
        ['operations[1].value'],
      );
    });

    it('replace of a path that does not exist', () => {
      assertFhirError(
        () => applyJsonPatch(patient(), [{ op: 'replace', path: '/birthDate', value: '2000-01-01' }]),
        422,
        'processing',
        ['operations[0].path'],
      );
    });

    it('remove of a path that does not exist (index 2 of the patch)', () => {
      assertFhirError(
        () =>
          applyJsonPatch(patient(), [
            { op: 'test', path: '/active', value: true },
            { op: 'remove', path: '/active' },
            { op: 'remove', path: '/name/3' },
          ]),
        422,
        'processing',
        ['operations[2].path'],
      );
    });

    it('move from a path that does not exist', () => {
      assertFhirError(
        () => applyJsonPatch(patient(), [{ op: 'move', from: '/address', path: '/x' }]),
        422,
        'processing',
        ['operations[0].from'],
      );
    });

    it('add beyond the end of an array', () => {
      assertFhirError(
        () => applyJsonPatch(patient(), [{ op: 'add', path: '/telecom/5', value: {} }]),
        422,
        'processing',
        ['operations[0].path'],
      );
    });

    it('removing the whole document', () => {
      assertFhirError(() => applyJsonPatch(patient(), [{ op: 'remove', path: '' }]), 422, 'processing', undefined);
    });
  });

  describe('malformed patch documents -> 400 invalid', () => {
    it('body that is not an array', () => {
      assertFhirError(() => applyJsonPatch(patient(), { op: 'add', path: '/a', value: 1 }), 400, 'invalid', undefined);
    });

    it('operation that is not an object', () => {
      assertFhirError(() => applyJsonPatch(patient(), ['add']), 400, 'invalid', ['operations[0]']);
    });

    it('unknown op', () => {
      assertFhirError(
        () =>
          applyJsonPatch(patient(), [
            { op: 'add', path: '/a', value: 1 },
            { op: 'frobnicate', path: '/active' },
          ]),
        400,
        'invalid',
        ['operations[1].op'],
      );
    });

    it('missing path', () => {
      assertFhirError(() => applyJsonPatch(patient(), [{ op: 'remove' }]), 400, 'invalid', ['operations[0].path']);
    });

    it('path that is not a JSON Pointer', () => {
      assertFhirError(() => applyJsonPatch(patient(), [{ op: 'remove', path: 'active' }]), 400, 'invalid', [
        'operations[0].path',
      ]);
    });

    it('path with an invalid ~ escape', () => {
      assertFhirError(() => applyJsonPatch(patient(), [{ op: 'remove', path: '/a~2b' }]), 400, 'invalid', [
        'operations[0].path',
      ]);
    });

    it('add without value', () => {
      assertFhirError(() => applyJsonPatch(patient(), [{ op: 'add', path: '/active' }]), 400, 'invalid', [
        'operations[0].value',
      ]);
    });

    it('move without from', () => {
      assertFhirError(() => applyJsonPatch(patient(), [{ op: 'move', path: '/active' }]), 400, 'invalid', [
        'operations[0].from',
      ]);
    });

    it('move into its own child', () => {
      assertFhirError(() => applyJsonPatch(patient(), [{ op: 'move', from: '/name', path: '/name/0/x' }]), 400, 'invalid', [
        'operations[0].from',
      ]);
    });

    it('malformed operations are rejected before anything is applied', () => {
      // op 0 would fail with 422, but the malformed op 1 is reported first.
      assertFhirError(
        () =>
          applyJsonPatch(patient(), [
            { op: 'remove', path: '/nothing' },
            { op: 'nope', path: '/a' },
          ]),
        400,
        'invalid',
        ['operations[1].op'],
      );
    });
  });

  describe('prototype pollution guard -> 400', () => {
    for (const path of ['/__proto__/polluted', '/constructor/prototype/polluted', '/name/0/prototype', '/__proto__']) {
      it(`rejects path ${path}`, () => {
        assertFhirError(() => applyJsonPatch(patient(), [{ op: 'add', path, value: 'x' }]), 400, 'invalid', [
          'operations[0].path',
        ]);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      });
    }

    it('rejects a from containing __proto__', () => {
      assertFhirError(() => applyJsonPatch(patient(), [{ op: 'copy', from: '/__proto__', path: '/x' }]), 400, 'invalid', [
        'operations[0].from',
      ]);
    });

    it('rejects a constructor segment anywhere in the path (fast-json-patch alone would allow it)', () => {
      assertFhirError(() => applyJsonPatch(patient(), [{ op: 'remove', path: '/a/constructor' }]), 400, 'invalid', [
        'operations[0].path',
      ]);
    });

    it('decodes ~1 and ~0 escapes before checking (a key containing "/" is fine)', () => {
      const out = applyJsonPatch(patient(), [{ op: 'add', path: '/a~1b~0c', value: 1 }]);
      assert.equal(out['a/b~c'], 1);
    });
  });

  describe('immutability', () => {
    it('does not mutate the input resource or the operations', () => {
      const input = patient();
      const ops = [
        { op: 'replace', path: '/name/0/family', value: 'Smith' },
        { op: 'add', path: '/telecom/-', value: { system: 'email', value: 'a@b.c' } },
        { op: 'remove', path: '/active' },
      ];
      const inputBefore = structuredClone(input);
      const opsBefore = structuredClone(ops);
      const out = applyJsonPatch(input, ops);
      assert.deepEqual(input, inputBefore);
      assert.deepEqual(ops, opsBefore);
      // The result must not alias values from the patch body either.
      (out.telecom as Array<Record<string, unknown>>)[1].value = 'changed';
      assert.deepEqual(ops, opsBefore);
    });

    it('does not mutate the input when a later operation fails', () => {
      const input = patient();
      const before = structuredClone(input);
      assert.throws(() =>
        applyJsonPatch(input, [
          { op: 'remove', path: '/active' },
          { op: 'test', path: '/id', value: 'other' },
        ]),
      );
      assert.deepEqual(input, before);
    });
  });
});
