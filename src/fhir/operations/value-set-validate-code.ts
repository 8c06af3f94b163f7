// ValueSet $validate-code (FHIR R4 valueset-operation-validate-code.html; docs/terminology-expansion.md):
//
//   GET|POST [base]/ValueSet/$validate-code?url=…&system=…&code=…[&display=…]
//   POST     [base]/ValueSet/$validate-code  with coding or codeableConcept, or an inline valueSet
//   GET|POST [base]/ValueSet/{id}/$validate-code?…
//
// Answers Parameters: result, message (why not; or hints when true), display. An unknown ValueSet
// answers 404 (an instance or a url alike): "not valid" would be a claim about a code that was
// never checked. The registry entry for `validate-code` (CodeSystem and ValueSet) lives in
// validate-code.ts, which hands ValueSet calls to valueSetValidateCode.
import { FhirError, badRequest } from '../../core/errors.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import { DEFAULT_MAX_CODES, cachedExpansion } from '../../terminology/expand.js';
import { canonicalOf } from '../../terminology/expansion-compose.js';
import { type CodingInput, type ValidationResult, validateCodings } from '../../terminology/value-set-validate.js';
import { operationInput, type OperationInput } from './operation-parameters.js';
import type { OperationCall } from './registry.js';
import { parameterPath, valueSetSource } from './value-set-source.js';

const ACCEPTED = ['url', 'valueSet', 'valueSetVersion', 'code', 'system', 'systemVersion', 'display', 'coding', 'codeableConcept', 'displayLanguage', 'abstract', 'context', 'date'];


const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function codingOf(value: JsonObject): CodingInput {
  return {
    ...(text(value.system) ? { system: value.system as string } : {}),
    ...(text(value.version) ? { version: value.version as string } : {}),
    ...(text(value.code) ? { code: value.code as string } : {}),
    ...(typeof value.display === 'string' ? { display: value.display } : {}),
  };
}

/** The codings to check: code (+system, systemVersion, display), a coding, or a codeableConcept's codings. */
function codingsOf(req: FhirRequest, input: OperationInput): CodingInput[] {
  const path = (name: string) => parameterPath(req, name);
  input.acceptOnly(ACCEPTED, 'validate-code');
  for (const name of ['context', 'date']) {
    if (input.names().includes(name)) throw new FhirError(400, { code: 'not-supported', diagnostics: `$validate-code: ${name} is not supported`, expression: [path(name)] });
  }
  input.boolean('abstract');
  const code = input.string('code');
  const coding = input.complex('coding', 'Coding');
  const concept = input.complex('codeableConcept', 'CodeableConcept');
  const given = [code !== undefined, coding !== undefined, concept !== undefined].filter(Boolean).length;
  if (given === 0) throw badRequest('$validate-code needs code (with system), coding or codeableConcept', [path('code')]);
  if (given > 1) throw badRequest('$validate-code takes one of code, coding and codeableConcept', [path(coding !== undefined ? 'coding' : 'codeableConcept')]);
  const system = input.string('system');
  const systemVersion = input.string('systemVersion');
  const display = input.string('display');
  if (code === undefined) {
    for (const [name, value] of [['system', system], ['systemVersion', systemVersion], ['display', display]] as const) {
      if (value !== undefined) throw badRequest(`${name} goes with code, not with coding or codeableConcept`, [path(name)]);
    }
  }
  if (code !== undefined) {
    if (code === '') throw badRequest('code must not be empty', [path('code')]);
    return [{ code, ...(system ? { system } : {}), ...(systemVersion ? { version: systemVersion } : {}), ...(display !== undefined ? { display } : {}) }];
  }
  if (coding !== undefined) return [codingOf(coding)];
  const codings = Array.isArray(concept?.coding) ? (concept.coding as unknown[]).filter((c): c is JsonObject => typeof c === 'object' && c !== null) : [];
  if (codings.length === 0) throw badRequest('The codeableConcept has no coding', [path('codeableConcept')]);
  return codings.map(codingOf);
}

function resultParameters(verdict: ValidationResult): JsonObject {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'result', valueBoolean: verdict.result },
      ...(verdict.message !== undefined ? [{ name: 'message', valueString: verdict.message }] : []),
      ...(verdict.display !== undefined ? [{ name: 'display', valueString: verdict.display }] : []),
    ],
  };
}

/** ValueSet $validate-code at type or instance level (dispatched here by validate-code.ts). */
export async function valueSetValidateCode(call: OperationCall, store: ResourceStore): Promise<FhirResponse> {
  const input = operationInput(call.req);
  const codings = codingsOf(call.req, input);
  const displayLanguage = input.string('displayLanguage');
  const { valueSet, ctx } = await valueSetSource(call, store, input, 'validate-code');
  const expansion = await cachedExpansion(ctx, valueSet, { displayLanguage, maxCodes: call.deps.config.expandMaxCodes ?? DEFAULT_MAX_CODES });
  const verdict = await validateCodings(ctx, expansion, codings, canonicalOf(valueSet));
  return { status: 200, headers: {}, body: { kind: 'json', value: resultParameters(verdict) } };
}
