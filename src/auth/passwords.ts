// Password hashing for the SMART login page (issue 10): scrypt (RFC 7914), a memory-hard
// function, through Node's built-in crypto (OpenSSL). The stored string carries its parameters,
// so they can be raised later and old hashes still verify (needsRehash tells when to upgrade):
//   scrypt$ln=15,r=8,p=1$<salt, base64url>$<derived key, base64url>
// Verification compares in constant time. A login for an unknown username verifies against a
// dummy hash with the same parameters (verifyDummy), so both cost the same: no timing oracle
// tells which usernames exist.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/** N = 2^15, r = 8, p = 1: 32 MiB and about 0.1 s per hash on a server core. */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ ln: 15, r: 8, p: 1 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Passwords longer than this are refused before hashing (a megabyte password is an attack, not a secret). */
export const MAX_PASSWORD_LENGTH = 1024;
const ENCODED = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{16,})$/;

function derive(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function checkParams(params: ScryptParams): void {
  if (params.ln < 14 || params.ln > 22 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) {
    throw new RangeError(`scrypt parameters out of range: ln=${params.ln}, r=${params.r}, p=${params.p}`);
  }
}

/** Hashes `password` with a fresh random salt; returns the encoded string to store. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  checkParams(params);
  if (password.length > MAX_PASSWORD_LENGTH) throw new RangeError(`passwords are at most ${MAX_PASSWORD_LENGTH} characters`);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return `scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** The parameters of an encoded hash, or undefined when it is not one of ours. */
export function parseHash(encoded: string): (ScryptParams & { salt: Buffer; key: Buffer }) | undefined {
  const m = ENCODED.exec(encoded);
  if (!m) return undefined;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  try {
    checkParams(params);
  } catch {
    return undefined;
  }
  return { ...params, salt: Buffer.from(m[4], 'base64url'), key: Buffer.from(m[5], 'base64url') };
}

/** True when `password` matches `encoded`; false for a wrong password or an unreadable hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed || password.length > MAX_PASSWORD_LENGTH) {
    await verifyDummy(password);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}

/** True when a stored hash uses weaker parameters than the current defaults. */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parseHash(encoded);
  return !parsed || parsed.ln < params.ln || parsed.r < params.r || parsed.p < params.p;
}

let dummy: Promise<string> | undefined;

/** Spends what verifying a real password costs and returns false (unknown usernames). */
export async function verifyDummy(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(18).toString('base64url'));
  const parsed = parseHash(await dummy);
  if (parsed) await derive(password.slice(0, MAX_PASSWORD_LENGTH), parsed.salt, parsed, parsed.key.length);
  return false;
}
