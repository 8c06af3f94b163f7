// Synthea-like volume from the repository's nine Synthea fixtures (test/fixtures/synthea): patient
// n is fixture n mod 9, varied by a PRNG seeded with n. Every UUID is remapped consistently (so
// urn:uuid and conditional references still meet their targets, and every variant creates its own
// resources), family and given names are redrawn, dates move 4 to 20 years back in whole leap
// cycles (so 29 February stays a date) and quantity values are scaled by up to ±10% with their
// decimals kept. Patients 0 to 8 are the fixtures themselves.
import { createHash } from 'node:crypto';
import { prng } from '../test/support/prng.js';
import { readSyntheaFixtureText, syntheaFixtureFiles } from '../test/support/fixtures.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const FAMILY = /("family"\s*:\s*")[^"]+"/g;
const GIVEN = /("given"\s*:\s*\[\s*")[^"]+"/g;
const DATE = /"(\d{4})(-\d\d-\d\d)/g;
const QUANTITY_VALUE = /("value"\s*:\s*)(-?\d+(?:\.(\d+))?)(?=[\s,}])/g;
const FAMILY_NAMES = ['Okafor', 'Lindqvist', 'Moreau', 'Haddad', 'Kowalski', 'Tanaka', 'Novak', 'Fitzgerald', 'Alvarez', 'Brennan', 'Sato', 'Mendes'];
const GIVEN_NAMES = ['Ada', 'Bruno', 'Chioma', 'Dmitri', 'Elena', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kaia', 'Luca'];

/** Patient `n`'s bundle text: fixture n mod 9, varied as described above (n < 9: unchanged). */
export function syntheaVariant(texts: readonly string[], n: number): string {
  const text = texts[n % texts.length];
  const variant = Math.floor(n / texts.length);
  if (variant === 0) return text;
  const random = prng(n);
  const pick = (names: readonly string[]) => names[Math.floor(random() * names.length)];
  const uuid = (u: string) => {
    const h = createHash('sha1').update(`${variant}:${u}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  const family = pick(FAMILY_NAMES);
  const given = pick(GIVEN_NAMES);
  const years = -4 * (1 + Math.floor(random() * 5)); // back, so nothing lands in the future
  const scale = 0.9 + random() * 0.2;
  return text
    .replace(UUID, uuid)
    .replace(FAMILY, (_m, open: string) => `${open}${family}"`)
    .replace(GIVEN, (_m, open: string) => `${open}${given}"`)
    .replace(DATE, (_m, year: string, rest: string) => `"${Number(year) + years}${rest}`)
    .replace(QUANTITY_VALUE, (_m, key: string, value: string, decimals: string | undefined) =>
      `${key}${(Number(value) * scale).toFixed(decimals?.length ?? 0)}`);
}

/** The fixtures' unzipped texts, in file-name order. */
export function syntheaFixtureTexts(): string[] {
  return syntheaFixtureFiles().map(readSyntheaFixtureText);
}
