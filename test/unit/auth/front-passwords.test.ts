// Unit tests for src/auth/passwords.ts: scrypt hashes carry their parameters and a random salt,
// verify the right password only, and an unknown user's check costs a real derivation.
import assert from 'node:assert/strict';
import { hashPassword, needsRehash, parseHash, verifyDummy, verifyPassword } from '../../../src/auth/passwords.js';

describe('front channel: passwords (scrypt)', function () {
  this.timeout(20_000);
  let encoded: string;
  before(async () => {
    encoded = await hashPassword('correct horse battery staple');
  });

  it('encodes the algorithm, N, r, p, salt and key so parameters can be raised later', () => {
    assert.match(encoded, /^scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    const parsed = parseHash(encoded);
    assert.ok(parsed);
    assert.equal(parsed.ln, 15);
    assert.equal(parsed.salt.length, 16);
    assert.equal(parsed.key.length, 32);
    assert.equal(needsRehash(encoded), false);
    assert.equal(needsRehash(encoded, { ln: 16, r: 8, p: 1 }), true);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    assert.equal(await verifyPassword('correct horse battery staple', encoded), true);
    assert.equal(await verifyPassword('correct horse battery stapler', encoded), false);
    assert.equal(await verifyPassword('', encoded), false);
  });

  it('salts every hash: the same password hashes differently', async () => {
    const again = await hashPassword('correct horse battery staple');
    assert.notEqual(again, encoded);
    assert.equal(await verifyPassword('correct horse battery staple', again), true);
  });

  it('refuses parameters below the floor and unreadable hashes', async () => {
    await assert.rejects(hashPassword('x', { ln: 10, r: 8, p: 1 }), RangeError);
    assert.equal(await verifyPassword('anything', 'plain-text-password'), false);
    assert.equal(await verifyPassword('anything', encoded.replace('ln=15', 'ln=4')), false);
  });

  it('a check for an unknown user (verifyDummy) answers false after a real derivation', async () => {
    assert.equal(await verifyDummy('correct horse battery staple'), false);
  });
});
