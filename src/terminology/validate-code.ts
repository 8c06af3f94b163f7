// CodeSystem $validate-code (FHIR R4 codesystem-operations.html#validate-code, terminology-
// service.html "Code validation"): is a code, Coding or CodeableConcept valid in a code system?
// The answer is always a result, never an error: an unknown code system or code is result=false
// with a message; a display that is not one of the concept's (display or designations) leaves
// result=true with a warning in `message`, as does an inactive concept. Two indexed queries per
// coding: the version and the concept.
import type { Concept } from '../storage/terminology-store.js';
import type { TerminologyContext } from './definitions.js';
import { conceptLabel, findCodeSystem, findConcept } from './lookup.js';

export interface CodingInput {
  system?: string;
  version?: string;
  code?: string;
  display?: string;
}

export interface ValidateCodeRequest {
  /** The code system (the `url` input, or the instance's url). */
  url?: string;
  /** The `version` input: the code system version, unless a coding names its own. */
  version?: string;
  /** One coding (from code+display, or coding), or a CodeableConcept's codings. */
  codings: readonly CodingInput[];
  /** The codings came from a CodeableConcept: valid when any coding of the code system is. */
  concept: boolean;
}

export interface ValidateCodeResult {
  result: boolean;
  message?: string;
  /** The concept's display (the recommended one), when the code is known. */
  display?: string;
}

/** Displays compare ignoring case and runs of white space (the code system's own display rules are not known). */
const normalized = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

function displayKnown(concept: Concept, display: string): boolean {
  const wanted = normalized(display);
  return [concept.display, ...(concept.designations ?? []).map((d) => d.value)].some((d) => d !== undefined && normalized(d) === wanted);
}

async function validateCoding(ctx: TerminologyContext, coding: CodingInput, defaultVersion: string | undefined): Promise<ValidateCodeResult> {
  const system = coding.system as string;
  const code = coding.code as string;
  const cs = await findCodeSystem(ctx, system, coding.version ?? defaultVersion);
  if (typeof cs === 'string') return { result: false, message: cs };
  const concept = await findConcept(ctx, cs, code);
  const ref = { system, version: cs.version || undefined, code };
  if (!concept) return { result: false, message: `There is no concept ${conceptLabel(ref)}` };
  const warnings: string[] = [];
  if (coding.display !== undefined && !displayKnown(concept, coding.display)) {
    warnings.push(`The display '${coding.display}' is not a display of ${conceptLabel(ref)}${concept.display ? `: it is '${concept.display}'` : ''}`);
  }
  if (!concept.active) warnings.push(`The concept ${conceptLabel(ref)} is inactive`);
  return { result: true, ...(warnings.length > 0 ? { message: warnings.join('; ') } : {}), display: concept.display ?? concept.code };
}

/** Validates the request's coding(s) against the code system (see the module comment). */
export async function validateCode(ctx: TerminologyContext, request: ValidateCodeRequest): Promise<ValidateCodeResult> {
  const candidates = request.codings
    .filter((c) => c.code !== undefined && c.code !== '')
    .map((c) => ({ ...c, system: c.system ?? request.url }))
    .filter((c) => c.system !== undefined && (request.url === undefined || c.system === request.url));
  if (candidates.length === 0) {
    const where = request.url ? `from the code system '${request.url}'` : 'with a system and a code';
    return { result: false, message: request.concept ? `The CodeableConcept has no coding ${where}` : `No code ${where} was given` };
  }
  const results: ValidateCodeResult[] = [];
  for (const coding of candidates) {
    const result = await validateCoding(ctx, coding, request.version);
    if (result.result) return result;
    results.push(result);
  }
  return { result: false, message: results.map((r) => r.message).join('; ') };
}
