// Time-based one-time passwords for the login page's second factor: RFC 6238 (TOTP over
// RFC 4226 HOTP) with otplib: HMAC-SHA-1, 6 digits, 30-second steps, the step before and after
// the current one accepted for clock drift (RFC 6238 section 5.2). A code is accepted at most
// once: the caller records the step a code matched and passes it back as `lastStep`; a code of
// that step or an earlier one is refused as a replay (section 5.2: "the verifier MUST NOT accept
// the second attempt of the OTP after the successful validation has been issued for the first").
import { generate, generateSecret, generateURI, verify } from 'otplib';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
const TOLERANCE_SECONDS = TOTP_PERIOD_SECONDS; // one step either side

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'malformed' | 'wrong' | 'replayed' };

/** A new random shared secret (20 bytes, base32), as authenticator apps expect. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The otpauth:// URI an authenticator app scans (the Key Uri Format of Google Authenticator). */
export function totpUri(secret: string, issuer: string, account: string): string {
  return generateURI({ issuer, label: account, secret, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS });
}

/** The code for `secret` at `epochSeconds` (tests, and a CLI that shows the current code). */
export function totpCode(secret: string, epochSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  return generate({ secret, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS, epoch: epochSeconds });
}

/**
 * Checks `code` against `secret` at `now` (seconds since the epoch). `lastStep`: the step of the
 * last code this secret accepted; that step and earlier ones are replays.
 */
export async function checkTotp(secret: string, code: string, options: { lastStep?: number | null; now?: number } = {}): Promise<TotpCheck> {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return { ok: false, reason: 'malformed' };
  const epoch = options.now ?? Math.floor(Date.now() / 1000);
  let result;
  try {
    result = await verify({ secret, token, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS, epoch, epochTolerance: TOLERANCE_SECONDS });
  } catch {
    return { ok: false, reason: 'wrong' };
  }
  if (!result.valid) return { ok: false, reason: 'wrong' };
  const step = (result as { timeStep?: number }).timeStep ?? Math.floor(epoch / TOTP_PERIOD_SECONDS) + ((result as { delta?: number }).delta ?? 0);
  if (options.lastStep !== undefined && options.lastStep !== null && step <= options.lastStep) return { ok: false, reason: 'replayed' };
  return { ok: true, step };
}
