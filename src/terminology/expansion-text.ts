// Text matching and display choice for expansions held in memory (terminology-service.html
// #expand `filter` and `displayLanguage`). The word matching is the one concept storage runs in
// SQL (src/storage/pg/terminology-select.ts textMatch): each word of the filter, lower-cased,
// must start a word of the display or the code, words split on anything but letters and digits.
import type { Designation, ExpansionCode } from '../storage/terminology-store.js';

const words = (text: string): string[] => text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '');

/** A predicate on expansion codes for a text filter (every code matches an empty one). */
export function textMatcher(text: string | undefined): (code: ExpansionCode) => boolean {
  const wanted = words(text ?? '');
  if (wanted.length === 0) return () => true;
  return (code) => {
    const haystack = ` ${words(`${code.display ?? ''} ${code.code}`).join(' ')}`;
    return wanted.every((w) => haystack.includes(` ${w}`));
  };
}

const primary = (tag: string) => tag.toLowerCase().split('-')[0];

/**
 * The value of the designation in `language` (BCP 47, case-insensitive): an exact tag first,
 * else one with the same primary language (`de` for `de-CH` and the other way round).
 */
export function designationIn(designations: readonly Designation[] | undefined, language: string | undefined): string | undefined {
  if (!language || !designations) return undefined;
  const wanted = language.toLowerCase();
  const exact = designations.find((d) => d.language?.toLowerCase() === wanted);
  if (exact) return exact.value;
  return designations.find((d) => d.language !== undefined && primary(d.language) === primary(wanted))?.value;
}
