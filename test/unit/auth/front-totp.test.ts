// Unit tests for src/auth/totp.ts: RFC 6238 codes (SHA-1, 6 digits, 30 s) accepted within one
// step of the clock, refused otherwise, and never twice (replay within the window).
import assert from 'node:assert/strict';
import { checkTotp, newTotpSecret, totpCode, totpUri } from '../../../src/auth/totp.js';

describe('front channel: TOTP (RFC 6238)', () => {
  const secret = newTotpSecret();
  const now = 1_900_000_020; // a step boundary plus 20 s

  it('matches the RFC 6238 test vector (SHA-1, T = 59 s)', async () => {
    // RFC 6238 Appendix B: secret "12345678901234567890" (base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ), 8 digits 94287082 -> 6 digits 287082.
    assert.equal(await totpCode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 59), '287082');
  });

  it('accepts the current code and returns its step', async () => {
    const code = await totpCode(secret, now);
    const result = await checkTotp(secret, code, { now });
    assert.deepEqual(result, { ok: true, step: Math.floor(now / 30) });
  });

  it('accepts a code one step old or one step ahead, not two', async () => {
    const code = await totpCode(secret, now);
    assert.equal((await checkTotp(secret, code, { now: now + 30 })).ok, true);
    assert.equal((await checkTotp(secret, code, { now: now - 30 })).ok, true);
    assert.deepEqual(await checkTotp(secret, code, { now: now + 60 }), { ok: false, reason: 'wrong' });
  });

  it('refuses a wrong or malformed code', async () => {
    const code = await totpCode(secret, now);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    assert.deepEqual(await checkTotp(secret, wrong, { now }), { ok: false, reason: 'wrong' });
    assert.deepEqual(await checkTotp(secret, '12345', { now }), { ok: false, reason: 'malformed' });
    assert.deepEqual(await checkTotp(secret, 'abcdef', { now }), { ok: false, reason: 'malformed' });
  });

  it('refuses a replay: the step of the last accepted code, and earlier ones', async () => {
    const code = await totpCode(secret, now);
    const first = await checkTotp(secret, code, { now });
    assert.ok(first.ok);
    assert.deepEqual(await checkTotp(secret, code, { now, lastStep: first.step }), { ok: false, reason: 'replayed' });
    const older = await totpCode(secret, now - 30);
    assert.deepEqual(await checkTotp(secret, older, { now, lastStep: first.step }), { ok: false, reason: 'replayed' });
    const next = await totpCode(secret, now + 30);
    assert.equal((await checkTotp(secret, next, { now: now + 30, lastStep: first.step })).ok, true);
  });

  it('makes an otpauth:// URI for authenticator apps', () => {
    const uri = new URL(totpUri(secret, 'Hearth acme', 'alice'));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.equal(uri.searchParams.get('issuer'), 'Hearth acme');
  });
});
