// src/core/errors.ts toOutcome: the one converter from a thrown value to what a client sees.
import assert from 'node:assert/strict';
import { FhirError, notFound, toOutcome } from '../../../src/core/errors.js';

describe('toOutcome', () => {
  it('a FhirError keeps its status, outcome and headers', () => {
    const error = new FhirError(405, { code: 'not-supported', diagnostics: 'no' });
    error.headers = { Allow: 'GET' };
    assert.deepEqual(toOutcome(error), { status: 405, outcome: error.outcome, headers: { Allow: 'GET' }, unexpected: false });
    assert.equal(toOutcome(notFound('gone')).status, 404);
  });

  it('a client error reported by a library (http-errors: status + expose) keeps its 4xx; 413 is too-costly', () => {
    const parse = Object.assign(new Error('request aborted'), { status: 400, expose: true });
    const reply = toOutcome(parse);
    assert.equal(reply.status, 400);
    assert.equal(reply.unexpected, false);
    assert.equal(reply.outcome.issue[0].diagnostics, 'request aborted');
    const big = toOutcome(Object.assign(new Error('request entity too large'), { statusCode: 413, expose: true }));
    assert.equal(big.status, 413);
    assert.equal(big.outcome.issue[0].code, 'too-costly');
  });

  it('anything else is a 500 that says only the reference, marked unexpected (to be logged)', () => {
    // A PostgreSQL data exception (class 22) is not mapped to a 4xx: it may be a server bug.
    const pgError = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021', severity: 'ERROR' });
    for (const thrown of [pgError, new TypeError('x is undefined'), 'a string', undefined, Object.assign(new Error('hidden'), { status: 500, expose: false })]) {
      const reply = toOutcome(thrown, 'req-9');
      assert.equal(reply.status, 500);
      assert.equal(reply.unexpected, true);
      assert.deepEqual(reply.outcome, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: 'Internal error (request req-9)' }] });
    }
  });
});
