// Unit tests for src/core/ids.ts (FHIR R4 datatypes.html#id).
import assert from 'node:assert/strict';
import { FhirError } from '../../../src/core/errors.js';
import { assertValidId, isValidId } from '../../../src/core/ids.js';

describe('isValidId', () => {
  it('accepts letters, digits, "-" and "."', () => {
    for (const id of ['a', 'example', 'pat-1', '1.2.840', 'A-Za-z0-9.-', '0']) assert.equal(isValidId(id), true, id);
  });

  it('accepts exactly 64 characters and rejects 65', () => {
    assert.equal(isValidId('a'.repeat(64)), true);
    assert.equal(isValidId('a'.repeat(65)), false);
  });

  it('rejects empty, underscore, slash, space, unicode and control characters', () => {
    for (const id of ['', 'a_b', 'a/b', 'a b', 'é', 'a\n', 'a\u0000', '%41', 'a#b']) assert.equal(isValidId(id), false, JSON.stringify(id));
  });

  it('rejects a valid id followed by a newline (anchored, not multiline)', () => {
    assert.equal(isValidId('abc\n'), false);
  });

  it('rejects non-strings without throwing', () => {
    assert.equal(isValidId(42 as unknown as string), false);
    assert.equal(isValidId(undefined as unknown as string), false);
  });
});

describe('assertValidId', () => {
  it('returns silently for a valid id', () => {
    assert.doesNotThrow(() => assertValidId('example', 'Patient.id'));
  });

  it('throws FhirError 400 with the expression', () => {
    try {
      assertValidId('bad_id', 'Patient.id');
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof FhirError);
      assert.equal(err.status, 400);
      const [issue] = err.outcome.issue;
      assert.equal(issue.code, 'invalid');
      assert.deepEqual(issue.expression, ['Patient.id']);
      assert.match(issue.diagnostics!, /Invalid id 'bad_id'/);
    }
  });

  it('omits expression when none is given and bounds the echoed id', () => {
    try {
      assertValidId('x'.repeat(1000));
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof FhirError);
      const [issue] = err.outcome.issue;
      assert.equal(issue.expression, undefined);
      assert.ok(issue.diagnostics!.length < 200, issue.diagnostics);
    }
  });
});
