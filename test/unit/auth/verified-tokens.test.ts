// src/auth/verified-tokens.ts: a verified token is remembered for exactly the tenant and base it
// was verified for, and only until it expires.
import assert from 'node:assert/strict';
import type { AccessTokenClaims } from '../../../src/auth/contracts.js';
import { VerifiedTokens } from '../../../src/auth/verified-tokens.js';

const claims = (exp: number): AccessTokenClaims => ({ iss: 'b', aud: 'b', sub: 's', client_id: 'c', scope: 'x', tid: 't', jti: 'j', gid: 'g', iat: 0, exp });

describe('VerifiedTokens', () => {
  let now = 1000;
  const cache = new VerifiedTokens(() => now);
  const here = { tenantId: 't', audience: 'http://h/t/t/fhir' };

  it('answers for the same tenant and audience only', () => {
    cache.remember('tok', here, claims(2000));
    assert.equal(cache.get('tok', here)?.jti, 'j');
    assert.equal(cache.get('tok', { tenantId: 'u', audience: here.audience }), undefined, 'another tenant');
    assert.equal(cache.get('tok', { tenantId: 't', audience: 'http://h/fhir' }), undefined, 'another base');
    assert.equal(cache.get('other', here), undefined);
  });

  it('forgets a token once it has expired', () => {
    cache.remember('short', here, claims(1500));
    now = 1500;
    assert.equal(cache.get('short', here), undefined);
  });
});
