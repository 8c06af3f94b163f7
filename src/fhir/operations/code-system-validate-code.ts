// CodeSystem $validate-code (FHIR R4 codesystem-operations.html#validate-code): the CodeSystem
// half of the one `validate-code` registry entry (validate-code.ts dispatches by type).
//
//   GET|POST [base]/CodeSystem/$validate-code?url=<url>&code=<code>[&version=][&display=]
//   GET|POST [base]/CodeSystem/{id}/$validate-code?code=<code>   (that CodeSystem's url and version)
//   POST with a `coding` or a `codeableConcept` (Parameters) instead of code
//
// Answers Parameters with result (boolean), message and display (src/terminology/validate-code.ts):
// an unknown code system or code is result=false with a message, never an error; only a request
// that names no code, or contradicts itself, is a 400 naming the parameter.
import type { OperationDefinitionParameter } from 'fhir/r4.js';
import { badRequest, notSupported } from '../../core/errors.js';
import type { FhirResponse } from '../../core/types.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import { validateCode, type CodingInput } from '../../terminology/validate-code.js';
import { terminologyContext } from '../terminology-definitions.js';
import { codingOf, givenConcept, invokedCodeSystem, missing, parameterPath, parametersResponse } from './code-system-inputs.js';
import { operationInput } from './operation-parameters.js';
import type { OperationCall } from './registry.js';

const ACCEPTED = ['url', 'codeSystem', 'code', 'version', 'display', 'coding', 'codeableConcept', 'date', 'abstract', 'displayLanguage'];

export async function codeSystemValidateCode(call: OperationCall, store: ResourceStore): Promise<FhirResponse> {
  const { req } = call;
  const input = operationInput(req);
  input.acceptOnly(ACCEPTED, 'validate-code');
  if (input.names().includes('codeSystem')) {
    throw notSupported('A CodeSystem given inline (codeSystem) is not supported: store it, then validate against its url', 400);
  }
  const instance = call.level === 'instance' ? await invokedCodeSystem(call, store) : undefined;
  const url = input.string('url');
  if (instance && url !== undefined && url !== instance.url) {
    throw badRequest(`The url '${url}' is not this code system's url '${instance.url}'`, [parameterPath(req, 'url')]);
  }
  const system = instance?.url ?? url;
  const version = input.string('version') ?? instance?.version;
  const concept = input.complex('codeableConcept', 'CodeableConcept');
  const given = givenConcept(input, req, 'validate-code', { code: 'code', coding: 'coding', system: 'url', version: 'version', display: 'display' }, instance?.url);
  if (given && concept) throw badRequest('$validate-code takes one of code, coding or codeableConcept', [parameterPath(req, 'codeableConcept')]);
  let codings: CodingInput[];
  if (given) codings = [given.coding];
  else if (concept) codings = (Array.isArray(concept.coding) ? concept.coding : []).filter((c): c is Record<string, unknown> => typeof c === 'object' && c !== null).map((c) => codingOf(c as never));
  else throw missing(req, 'validate-code', 'code', ' (or coding, or codeableConcept)');
  const result = await validateCode(terminologyContext(store, call.deps), {
    ...(system ? { url: system } : {}),
    ...(version ? { version } : {}),
    codings,
    concept: concept !== undefined,
  });
  return parametersResponse([
    { name: 'result', valueBoolean: result.result },
    ...(result.message ? [{ name: 'message', valueString: result.message }] : []),
    ...(result.display ? [{ name: 'display', valueString: result.display }] : []),
  ]);
}

/** The CodeSystem inputs of $validate-code (R4 CodeSystem-validate-code), for the combined definition. */
export const CODE_SYSTEM_VALIDATE_CODE_PARAMETERS: OperationDefinitionParameter[] = [
  { name: 'url', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'CodeSystem: the code system\'s canonical url (on an instance, that CodeSystem\'s).' },
  { name: 'version', use: 'in', min: 0, max: '1', type: 'string', documentation: 'CodeSystem: the code system version (default: the newest the tenant sees).' },
  { name: 'code', use: 'in', min: 0, max: '1', type: 'code', documentation: 'The code to validate.' },
  { name: 'display', use: 'in', min: 0, max: '1', type: 'string', documentation: 'A display to check against the concept\'s display and designations.' },
  { name: 'coding', use: 'in', min: 0, max: '1', type: 'Coding', documentation: 'The concept as a Coding (POST).' },
  { name: 'codeableConcept', use: 'in', min: 0, max: '1', type: 'CodeableConcept', documentation: 'Valid when any of its codings in the code system is (POST).' },
  { name: 'date', use: 'in', min: 0, max: '1', type: 'dateTime', documentation: 'Accepted and ignored.' },
  { name: 'abstract', use: 'in', min: 0, max: '1', type: 'boolean', documentation: 'Accepted and ignored (no concept is abstract in concept storage).' },
  { name: 'displayLanguage', use: 'in', min: 0, max: '1', type: 'code', documentation: 'Accepted and ignored.' },
];
