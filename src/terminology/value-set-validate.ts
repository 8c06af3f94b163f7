// Is a code in a value set? (FHIR R4 valueset-operation-validate-code.html): the logic of
// ValueSet $validate-code and of binding checks. Membership is one indexed look-up in the
// value set's cached expansion (expand.ts), so a repeated check costs one query once cached.
//
// - result true when a coding (any coding of a CodeableConcept) is a member: same code, same
//   system when one is given, same version when both the coding and the member have one;
// - a display that is not the member's leaves result true, with a message (the spec: the
//   display is checked, a mismatch is a warning), and `display` gives the right one;
// - an inactive member is valid, with a message saying so.
import type { JsonObject } from '../core/types.js';
import type { ExpansionCode } from '../storage/terminology-store.js';
import { splitCanonical, type TerminologyContext } from './definitions.js';
import { cachedExpansion, expansionMember, type ValueSetExpansion } from './expand.js';
import { canonicalOf } from './expansion-compose.js';

export interface CodingInput {
  system?: string;
  version?: string;
  code?: string;
  display?: string;
}

export interface ValidationResult {
  result: boolean;
  /** Why not (result false), or hints (a display mismatch, an inactive code) when true. */
  message?: string;
  /** The member's display (in displayLanguage when asked and known). */
  display?: string;
  /** Set when the value set itself is unknown (result is then false): the caller may prefer a 404 or a warning. */
  unknownValueSet?: true;
}

export interface ValidateOptions {
  displayLanguage?: string;
  /** As ExpansionParams.maxCodes. */
  maxCodes?: number;
}

const label = (c: CodingInput) => (c.system ? `${c.system}|${c.code}` : `'${c.code}'`);

/** Checks one coding against a member found for it. */
function judge(coding: CodingInput, member: ExpansionCode | undefined, valueSetLabel: string): { ok: boolean; messages: string[]; display?: string } {
  if (!coding.code) return { ok: false, messages: ['A coding without a code cannot be validated'] };
  if (!member) return { ok: false, messages: [`The code ${label(coding)} is not in the value set ${valueSetLabel}`] };
  if (coding.version && member.version && coding.version !== member.version) {
    return { ok: false, messages: [`The code ${label(coding)} is in the value set ${valueSetLabel} for version ${member.version} of its system, not ${coding.version}`] };
  }
  const messages: string[] = [];
  if (coding.display !== undefined && member.display !== undefined && coding.display.trim().toLowerCase() !== member.display.trim().toLowerCase()) {
    messages.push(`The display '${coding.display}' is not the display of ${member.system}|${member.code}, which is '${member.display}'`);
  }
  if (member.inactive) messages.push(`The code ${member.system}|${member.code} is inactive`);
  return { ok: true, messages, ...(member.display !== undefined ? { display: member.display } : {}) };
}

/** Validates codings against an expansion already at hand: any valid coding makes the result true. */
export async function validateCodings(
  ctx: TerminologyContext,
  expansion: ValueSetExpansion,
  codings: readonly CodingInput[],
  valueSetLabel: string,
): Promise<ValidationResult> {
  if (codings.length === 0) return { result: false, message: 'No code to validate' };
  const failures: string[] = [];
  for (const coding of codings) {
    const member = coding.code ? await expansionMember(ctx, expansion, coding.system, coding.code) : undefined;
    const verdict = judge(coding, member, valueSetLabel);
    if (verdict.ok) {
      return { result: true, ...(verdict.messages.length > 0 ? { message: verdict.messages.join('; ') } : {}), ...(verdict.display !== undefined ? { display: verdict.display } : {}) };
    }
    failures.push(...verdict.messages);
  }
  return { result: false, message: failures.join('; ') };
}

/**
 * Whether any of `codings` is in the value set: `valueSet` is a canonical (`url` or
 * `url|version`, found through ctx.definitions: the tenant's own, then shared) or a ValueSet
 * resource. An unknown canonical answers result false with `unknownValueSet`. Throws the
 * expansion's FhirErrors (422 too-costly, a code system not loaded, an invalid definition).
 */
export async function validateInValueSet(
  ctx: TerminologyContext,
  valueSet: string | JsonObject,
  codings: readonly CodingInput[],
  options: ValidateOptions = {},
): Promise<ValidationResult> {
  let resource: JsonObject | undefined;
  if (typeof valueSet === 'string') {
    const { url, version } = splitCanonical(valueSet);
    resource = await ctx.definitions.find('ValueSet', url, version);
    if (!resource) return { result: false, message: `The value set ${valueSet} is not known`, unknownValueSet: true };
  } else resource = valueSet;
  const expansion = await cachedExpansion(ctx, resource, { displayLanguage: options.displayLanguage, maxCodes: options.maxCodes });
  return validateCodings(ctx, expansion, codings, canonicalOf(resource));
}
