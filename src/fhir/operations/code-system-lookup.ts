// CodeSystem $lookup (FHIR R4 codesystem-operations.html#lookup):
//
//   GET|POST [base]/CodeSystem/$lookup?system=<url>&code=<code>[&version=][&property=…]
//   GET|POST [base]/CodeSystem/{id}/$lookup?code=<code>     (that CodeSystem's url and version)
//   POST with a `coding` (Parameters) instead of code + system
//
// Answers a Parameters resource (name, version, display, designation, property) from concept
// storage (src/terminology/lookup.ts); an unknown code system or code is a 404 OperationOutcome.
import type { OperationDefinition } from 'fhir/r4.js';
import type { JsonObject } from '../../core/types.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import { lookupConcept, type LookupProperty, type LookupResult } from '../../terminology/lookup.js';
import { terminologyContext } from '../terminology-definitions.js';
import { codingValue, givenConcept, invokedCodeSystem, missing, parametersResponse, repeatedStrings } from './code-system-inputs.js';
import { operationInput } from './operation-parameters.js';
import type { OperationCall, OperationEntry } from './registry.js';

const ACCEPTED = ['code', 'system', 'version', 'coding', 'date', 'displayLanguage', 'property'];

/** value[x] of a property part, by the FHIR type the value came as. */
function valueOf(p: LookupProperty): JsonObject {
  switch (p.type) {
    case 'Coding':
      return { valueCoding: codingValue(p.value as JsonObject) };
    case 'code':
      return { valueCode: String(p.value) };
    case 'string':
      return { valueString: String(p.value) };
    case 'integer':
      return { valueInteger: p.value as number };
    case 'boolean':
      return { valueBoolean: p.value as boolean };
    case 'dateTime':
      return { valueDateTime: String(p.value) };
    case 'decimal':
      return { valueDecimal: p.value as number };
  }
}

export function lookupParameters(result: LookupResult): JsonObject[] {
  return [
    { name: 'name', valueString: result.name },
    ...(result.version ? [{ name: 'version', valueString: result.version }] : []),
    { name: 'display', valueString: result.display },
    ...result.designations.map((d) => ({
      name: 'designation',
      part: [
        ...(d.language ? [{ name: 'language', valueCode: d.language }] : []),
        ...(d.use ? [{ name: 'use', valueCoding: codingValue(d.use) }] : []),
        { name: 'value', valueString: d.value },
      ],
    })),
    ...result.properties.map((p) => ({
      name: 'property',
      part: [{ name: 'code', valueCode: p.code }, { name: 'value', ...valueOf(p) }, ...(p.description ? [{ name: 'description', valueString: p.description }] : [])],
    })),
  ];
}

async function lookup(call: OperationCall, store: ResourceStore) {
  const { req } = call;
  const input = operationInput(req);
  input.acceptOnly(ACCEPTED, 'lookup');
  const instance = call.level === 'instance' ? await invokedCodeSystem(call, store) : undefined;
  const concept = givenConcept(input, req, 'lookup', { code: 'code', coding: 'coding', system: 'system', version: 'version' }, instance?.url);
  if (!concept) throw missing(req, 'lookup', 'code', instance ? ' (or coding)' : ' and system (or coding)');
  const { system, code } = concept.coding;
  const version = concept.coding.version ?? instance?.version;
  const displayLanguage = input.string('displayLanguage');
  const result = await lookupConcept(terminologyContext(store, call.deps), {
    system,
    code,
    ...(version ? { version } : {}),
    properties: repeatedStrings(input, req, 'property'),
    ...(displayLanguage ? { displayLanguage } : {}),
  });
  return parametersResponse(lookupParameters(result));
}

const definition: OperationDefinition & { id: string } = {
  resourceType: 'OperationDefinition',
  id: 'hearth-lookup',
  name: 'Lookup',
  title: 'Concept lookup: the details of a code in a code system',
  status: 'active',
  kind: 'operation',
  affectsState: false,
  code: 'lookup',
  base: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup',
  description:
    'Given a code and system (or a Coding), answers the code system\'s name and version and the concept\'s display, designations and ' +
    'properties, including parent, child and inactive. On an instance, the code system is that CodeSystem (its url and version). ' +
    'An unknown code system or code answers 404 (OperationOutcome, not-found).',
  resource: ['CodeSystem'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'code', use: 'in', min: 0, max: '1', type: 'code', documentation: 'The code to look up (with system, or on an instance).' },
    { name: 'system', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The code system\'s canonical url.' },
    { name: 'version', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The code system version (default: the newest the tenant sees, its own first).' },
    { name: 'coding', use: 'in', min: 0, max: '1', type: 'Coding', documentation: 'The concept as a Coding, instead of code, system and version.' },
    { name: 'date', use: 'in', min: 0, max: '1', type: 'dateTime', documentation: 'Accepted and ignored: the version is chosen by version alone.' },
    { name: 'displayLanguage', use: 'in', min: 0, max: '1', type: 'code', documentation: 'A designation in this language becomes the display, when the concept has one.' },
    { name: 'property', use: 'in', min: 0, max: '*', type: 'code', documentation: 'Return only these properties (parent, child, inactive, the code system\'s own; designation and lang.X for designations).' },
    { name: 'name', use: 'out', min: 1, max: '1', type: 'string', documentation: 'The code system\'s title, else its name, else its url.' },
    { name: 'version', use: 'out', min: 0, max: '1', type: 'string', documentation: 'The code system version that answered.' },
    { name: 'display', use: 'out', min: 1, max: '1', type: 'string', documentation: 'The concept\'s display (the code when it has none).' },
    {
      name: 'designation', use: 'out', min: 0, max: '*', documentation: 'The concept\'s designations.',
      part: [
        { name: 'language', use: 'out', min: 0, max: '1', type: 'code' },
        { name: 'use', use: 'out', min: 0, max: '1', type: 'Coding' },
        { name: 'value', use: 'out', min: 1, max: '1', type: 'string' },
      ],
    },
    {
      name: 'property', use: 'out', min: 0, max: '*', documentation: 'The concept\'s properties, parent and child (direct is-a edges) and inactive.',
      part: [
        { name: 'code', use: 'out', min: 1, max: '1', type: 'code' },
        { name: 'value', use: 'out', min: 0, max: '1', documentation: 'value[x]: code | Coding | string | integer | boolean | dateTime | decimal' },
        { name: 'description', use: 'out', min: 0, max: '1', type: 'string' },
      ],
    },
  ],
};

export const codeSystemLookupOperation: OperationEntry = {
  name: 'lookup',
  levels: ['type', 'instance'],
  types: ['CodeSystem'],
  readOnly: true,
  handler: lookup,
  definition,
};
