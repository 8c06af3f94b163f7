// $validate-code (FHIR R4 codesystem-operations.html#validate-code and valueset-operations.html
// #validate-code): one operation code on two resource types. The registry keys operations by
// code, so this is the one entry for both, dispatching by the type it is invoked on: CodeSystem
// to code-system-validate-code.ts, ValueSet to value-set-validate-code.ts.
import type { OperationDefinition } from 'fhir/r4.js';
import type { FhirResponse } from '../../core/types.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import { CODE_SYSTEM_VALIDATE_CODE_PARAMETERS, codeSystemValidateCode } from './code-system-validate-code.js';
import type { OperationCall, OperationEntry } from './registry.js';
import { valueSetValidateCode } from './value-set-validate-code.js';

const validateCode = (call: OperationCall, store: ResourceStore): Promise<FhirResponse> =>
  call.type === 'ValueSet' ? valueSetValidateCode(call, store) : codeSystemValidateCode(call, store);

const definition: OperationDefinition & { id: string } = {
  resourceType: 'OperationDefinition',
  id: 'hearth-validate-code',
  name: 'ValidateCode',
  title: 'Code validation: is a code valid in a code system, or a member of a value set',
  status: 'active',
  kind: 'operation',
  affectsState: false,
  code: 'validate-code',
  description:
    'On CodeSystem (R4 CodeSystem-validate-code): whether a code, Coding or CodeableConcept is valid in the code system named by url ' +
    '(or the instance). On ValueSet (R4 ValueSet-validate-code): whether it is in the value set. Answers result (boolean), message and ' +
    'display: an unknown code system or code is result=false with a message; a display that is not the concept\'s is result=true with ' +
    'a warning in message, as is an inactive concept. A request naming no code, or contradicting itself, answers 400 naming the parameter.',
  resource: ['CodeSystem', 'ValueSet'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    ...CODE_SYSTEM_VALIDATE_CODE_PARAMETERS.map((p) => (p.name === 'url' ? { ...p, documentation: `${p.documentation} ValueSet: the value set's canonical url.` } : p)),
    { name: 'codeSystem', use: 'in', min: 0, max: '1', type: 'CodeSystem', documentation: 'CodeSystem: an inline code system (not supported: 400).' },
    { name: 'context', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'ValueSet: the element the value set is bound to.' },
    { name: 'valueSet', use: 'in', min: 0, max: '1', type: 'ValueSet', documentation: 'ValueSet: the value set given inline.' },
    { name: 'valueSetVersion', use: 'in', min: 0, max: '1', type: 'string', documentation: 'ValueSet: the value set version.' },
    { name: 'system', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'ValueSet: the system of code.' },
    { name: 'systemVersion', use: 'in', min: 0, max: '1', type: 'string', documentation: 'ValueSet: the version of that system.' },
    { name: 'result', use: 'out', min: 1, max: '1', type: 'boolean', documentation: 'Whether the code is valid.' },
    { name: 'message', use: 'out', min: 0, max: '1', type: 'string', documentation: 'Why not, when result is false; warnings (display, inactive) when true.' },
    { name: 'display', use: 'out', min: 0, max: '1', type: 'string', documentation: 'The concept\'s display.' },
  ],
};

export const validateCodeOperation: OperationEntry = {
  name: 'validate-code',
  levels: ['type', 'instance'],
  types: ['CodeSystem', 'ValueSet'],
  readOnly: true,
  handler: validateCode,
  definition,
};
