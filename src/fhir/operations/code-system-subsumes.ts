// CodeSystem $subsumes (FHIR R4 codesystem-operations.html#subsumes):
//
//   GET|POST [base]/CodeSystem/$subsumes?system=<url>&codeA=<code>&codeB=<code>[&version=]
//   GET|POST [base]/CodeSystem/{id}/$subsumes?codeA=&codeB=   (that CodeSystem's url and version)
//   POST with codingA and codingB (Parameters) instead of the codes
//
// Answers Parameters with `outcome`: equivalent | subsumes | subsumed-by | not-subsumed
// (src/terminology/subsumes.ts). An unknown code system is a 404; a code it does not define a 400
// (code-invalid) naming the parameter.
import type { OperationDefinition } from 'fhir/r4.js';
import { badRequest, notSupported } from '../../core/errors.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import { subsumption } from '../../terminology/subsumes.js';
import { terminologyContext } from '../terminology-definitions.js';
import { givenConcept, invokedCodeSystem, missing, parameterPath, parametersResponse } from './code-system-inputs.js';
import { operationInput } from './operation-parameters.js';
import type { OperationCall, OperationEntry } from './registry.js';

const ACCEPTED = ['codeA', 'codeB', 'system', 'version', 'codingA', 'codingB'];

async function subsumes(call: OperationCall, store: ResourceStore) {
  const { req } = call;
  const input = operationInput(req);
  input.acceptOnly(ACCEPTED, 'subsumes');
  const instance = call.level === 'instance' ? await invokedCodeSystem(call, store) : undefined;
  const a = givenConcept(input, req, 'subsumes', { code: 'codeA', coding: 'codingA', system: 'system', version: 'version' }, instance?.url);
  const b = givenConcept(input, req, 'subsumes', { code: 'codeB', coding: 'codingB', system: 'system', version: 'version' }, instance?.url);
  if (!a) throw missing(req, 'subsumes', 'codeA', ' (or codingA)');
  if (!b) throw missing(req, 'subsumes', 'codeB', ' (or codingB)');
  if (a.coding.system !== b.coding.system) {
    throw notSupported(`Subsumption is tested within one code system; A is in '${a.coding.system}' and B in '${b.coding.system}'`, 400);
  }
  const versionA = a.coding.version ?? instance?.version;
  const versionB = b.coding.version ?? instance?.version;
  if (versionA && versionB && versionA !== versionB) throw badRequest(`A and B name different versions ('${versionA}', '${versionB}') of '${a.coding.system}'`, [parameterPath(req, 'codingB')]);
  const version = versionA ?? versionB;
  const outcome = await subsumption(terminologyContext(store, call.deps), {
    system: a.coding.system,
    ...(version ? { version } : {}),
    codeA: a.coding.code,
    codeB: b.coding.code,
    pathA: a.path,
    pathB: b.path,
  });
  return parametersResponse([{ name: 'outcome', valueCode: outcome }]);
}

const definition: OperationDefinition & { id: string } = {
  resourceType: 'OperationDefinition',
  id: 'hearth-subsumes',
  name: 'Subsumes',
  title: 'Subsumption testing: whether concept A subsumes concept B',
  status: 'active',
  kind: 'operation',
  affectsState: false,
  code: 'subsumes',
  base: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes',
  description:
    'Tests the subsumption relationship between code A and code B in one code system\'s is-a hierarchy (the transitive closure of its ' +
    'parent edges): equivalent (the same concept), subsumes (A is an ancestor of B), subsumed-by (B of A) or not-subsumed. On an ' +
    'instance, the code system is that CodeSystem. An unknown code system answers 404; a code it does not define answers 400 ' +
    '(code-invalid) naming the parameter.',
  resource: ['CodeSystem'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'codeA', use: 'in', min: 0, max: '1', type: 'code', documentation: 'The "A" code (with system, or on an instance).' },
    { name: 'codeB', use: 'in', min: 0, max: '1', type: 'code', documentation: 'The "B" code.' },
    { name: 'system', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The code system\'s canonical url.' },
    { name: 'version', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The code system version (default: the newest the tenant sees).' },
    { name: 'codingA', use: 'in', min: 0, max: '1', type: 'Coding', documentation: 'A as a Coding (POST).' },
    { name: 'codingB', use: 'in', min: 0, max: '1', type: 'Coding', documentation: 'B as a Coding (POST), in the same code system as A.' },
    { name: 'outcome', use: 'out', min: 1, max: '1', type: 'code', documentation: 'equivalent | subsumes | subsumed-by | not-subsumed' },
  ],
};

export const codeSystemSubsumesOperation: OperationEntry = {
  name: 'subsumes',
  levels: ['type', 'instance'],
  types: ['CodeSystem'],
  readOnly: true,
  handler: subsumes,
  definition,
};
