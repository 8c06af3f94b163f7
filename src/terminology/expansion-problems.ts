// What can stop a ValueSet expansion (FHIR R4 valueset.html#expansion, terminology-service.html
// #expand): each a FhirError with a 4xx status and an OperationOutcome naming the element of the
// ValueSet at fault, so no ValueSet content or input can make the server answer 5xx.
import { FhirError } from '../core/errors.js';

/** HTTP 422: the request is well formed, but this ValueSet cannot be expanded as asked. */
const UNPROCESSABLE = 422;

/** The expansion would hold more than `cap` codes (OperationOutcome issue type `too-costly`). */
export const tooCostly = (cap: number, path: string) =>
  new FhirError(UNPROCESSABLE, {
    code: 'too-costly',
    diagnostics: `The expansion has more than ${cap} codes (the server's limit); narrow the value set (a filter, fewer systems) or validate single codes with $validate-code`,
    expression: [path],
  });

/** A code system the ValueSet draws from is not loaded completely, so the expansion could not be complete. */
export const systemNotLoaded = (system: string, version: string | undefined, path: string) =>
  new FhirError(UNPROCESSABLE, {
    code: 'not-found',
    diagnostics:
      `The code system ${version ? `${system}|${version}` : system} is not loaded on this server (or not with content 'complete'), ` +
      'so the value set cannot be expanded completely',
    expression: [path],
  });

/** The ValueSet's definition is not valid (e.g. compose.include without system or valueSet). */
export const invalidDefinition = (diagnostics: string, path: string) => new FhirError(UNPROCESSABLE, { code: 'invalid', diagnostics, expression: [path] });

/** Listed codes the code system does not define. */
export const unknownCodes = (system: string, codes: readonly string[], path: string) =>
  new FhirError(UNPROCESSABLE, {
    code: 'code-invalid',
    diagnostics: `The code system ${system} does not define ${codes.length === 1 ? 'the code' : 'the codes'} ${codes.slice(0, 10).map((c) => `'${c}'`).join(', ')}${codes.length > 10 ? ` and ${codes.length - 10} more` : ''}`,
    expression: [path],
  });

/** An imported ValueSet (compose.include.valueSet) that is not known. */
export const unknownImport = (canonical: string, path: string) =>
  new FhirError(UNPROCESSABLE, { code: 'not-found', diagnostics: `The value set ${canonical} (imported) is not known`, expression: [path] });

/** A ValueSet that imports itself, directly or through others. */
export const importCycle = (chain: readonly string[], path: string) =>
  new FhirError(UNPROCESSABLE, { code: 'invalid', diagnostics: `The value sets import each other in a cycle: ${chain.join(' -> ')}`, expression: [path] });
