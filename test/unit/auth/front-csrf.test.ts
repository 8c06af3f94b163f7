// Unit tests for src/auth/csrf.ts: tokens are random and compare only when identical.
import assert from 'node:assert/strict';
import { csrfTokenMatches, newCsrfToken } from '../../../src/auth/csrf.js';

describe('front channel: CSRF tokens', () => {
  it('are fresh 256-bit random values', () => {
    const a = newCsrfToken();
    const b = newCsrfToken();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
  });

  it('match only the session token itself', () => {
    const token = newCsrfToken();
    assert.equal(csrfTokenMatches(token, token), true);
    assert.equal(csrfTokenMatches(token, newCsrfToken()), false, "another session's token");
    assert.equal(csrfTokenMatches(token, token.slice(0, -1)), false, 'a prefix');
    assert.equal(csrfTokenMatches(token, `${token}x`), false, 'longer');
    assert.equal(csrfTokenMatches(token, null), false, 'missing');
    assert.equal(csrfTokenMatches(token, ''), false, 'empty');
    assert.equal(csrfTokenMatches(token, [token]), false, 'not a string');
    assert.equal(csrfTokenMatches(undefined, ''), false, 'no session token');
    assert.equal(csrfTokenMatches('', ''), false, 'both empty');
  });
});
