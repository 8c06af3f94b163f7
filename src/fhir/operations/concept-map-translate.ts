// ConceptMap $translate (FHIR R4 conceptmap-operations.html#translate):
//
//   GET|POST [base]/ConceptMap/$translate?url=<map>&system=<url>&code=<code>[&targetsystem=][&reverse=true]
//   GET|POST [base]/ConceptMap/$translate?system=&code=[&source=<vs>][&target=<vs>]   (maps found by what they map)
//   GET|POST [base]/ConceptMap/{id}/$translate?system=&code=                          (that map)
//   POST with a coding, a codeableConcept or an inline conceptMap (Parameters)
//
// The map is, in order: the instance; the inline `conceptMap`; the one `url` names (the tenant's,
// else the shared one; unknown: 404); else the tenant's ConceptMaps that have a group from the
// code's system (to `targetsystem`, when given), narrowed to those whose source and target value
// sets are `source` and `target` when given. Answers Parameters with result, message and match
// parts (src/terminology/translate.ts); no applicable map or no mapping is result=false.
import type { ConceptMap, OperationDefinition } from 'fhir/r4.js';
import { badRequest, notFound } from '../../core/errors.js';
import type { FhirRequest, JsonObject } from '../../core/types.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import { splitCanonical } from '../../terminology/definitions.js';
import { indexConceptMap, translateCodings, type IndexedConceptMap, type TranslateMatch } from '../../terminology/translate.js';
import { conceptMapByUrl, conceptMapOfVersion } from '../../terminology/translate-cache.js';
import type { CodingInput } from '../../terminology/validate-code.js';
import { requestAccess } from '../access/read-constraint.js';
import { terminologyContext } from '../terminology-definitions.js';
import { codingOf, codingValue, givenConcept, invokedResource, missing, parameterPath, parametersResponse } from './code-system-inputs.js';
import type { OperationInput } from './operation-parameters.js';
import { operationInput } from './operation-parameters.js';
import type { OperationCall, OperationEntry } from './registry.js';

const ACCEPTED = ['url', 'conceptMap', 'conceptMapVersion', 'code', 'system', 'version', 'source', 'coding', 'codeableConcept', 'target', 'targetsystem', 'reverse'];

/** More candidate maps than this (found by the code's system) are not looked through. */
const MAX_CANDIDATE_MAPS = 20;

/** The coding(s) to translate: code + system, a coding, or a codeableConcept's codings. */
function givenCodings(input: OperationInput, req: FhirRequest): CodingInput[] {
  const given = givenConcept(input, req, 'translate', { code: 'code', coding: 'coding', system: 'system', version: 'version' });
  const concept = input.complex('codeableConcept', 'CodeableConcept');
  if (given && concept) throw badRequest('$translate takes one of code, coding or codeableConcept', [parameterPath(req, 'codeableConcept')]);
  if (given) return [given.coding];
  if (!concept) throw missing(req, 'translate', 'code', ' and system (or coding, or codeableConcept)');
  const codings = (Array.isArray(concept.coding) ? concept.coding : [])
    .filter((c): c is JsonObject => typeof c === 'object' && c !== null && !Array.isArray(c))
    .map(codingOf)
    .filter((c) => c.system && c.code);
  if (codings.length === 0) throw badRequest('The codeableConcept has no coding with a system and a code', [`${parameterPath(req, 'codeableConcept')}.valueCodeableConcept.coding`]);
  return codings;
}

const canonicalOf = (uri?: string, canonical?: string) => {
  const value = uri ?? canonical;
  return value === undefined ? undefined : splitCanonical(value).url;
};

/** The tenant's ConceptMaps with a group from `system` (to `otherSystem`), whose value sets are `source` and `target` when given. */
async function candidateMaps(call: OperationCall, store: ResourceStore, systems: string[], options: { reverse: boolean; otherSystem?: string; source?: string; target?: string }): Promise<IndexedConceptMap[]> {
  const { deps, req } = call;
  const { searching } = await deps.searchParams.load(store);
  const { scope } = await requestAccess(store, req.access);
  const [fromParam, toParam] = options.reverse ? ['target-system', 'source-system'] : ['source-system', 'target-system'];
  const found = new Map<string, IndexedConceptMap>();
  for (const system of systems) {
    const params = new URLSearchParams({ [fromParam]: system });
    if (options.otherSystem) params.set(toParam, options.otherSystem);
    for (const v of await deps.search.findMatches(store, 'ConceptMap', params, MAX_CANDIDATE_MAPS, searching, scope)) {
      if (v.content !== null && !found.has(v.id)) found.set(v.id, conceptMapOfVersion(req.tenantId, v.id, v.versionId, v.content));
    }
  }
  // With reverse, `source` names the value set of the code given: the map's target (and `target` its source).
  const [mapSource, mapTarget] = options.reverse ? [options.target, options.source] : [options.source, options.target];
  return [...found.values()].filter(({ map }) =>
    (mapSource === undefined || canonicalOf(map.sourceUri, map.sourceCanonical) === splitCanonical(mapSource).url) &&
    (mapTarget === undefined || canonicalOf(map.targetUri, map.targetCanonical) === splitCanonical(mapTarget).url));
}

async function chosenMaps(call: OperationCall, store: ResourceStore, input: OperationInput, codings: CodingInput[], reverse: boolean): Promise<IndexedConceptMap[]> {
  const { req } = call;
  const url = input.string('url');
  const versionInput = input.string('conceptMapVersion');
  if (call.level === 'instance') {
    const { version } = await invokedResource(call, store);
    const map = conceptMapOfVersion(req.tenantId, call.id as string, version.versionId, version.content as string);
    if (url !== undefined && splitCanonical(url).url !== map.map.url) throw badRequest(`The url '${url}' is not this ConceptMap's url '${map.map.url ?? ''}'`, [parameterPath(req, 'url')]);
    return [map];
  }
  const inline = input.complex('conceptMap', 'resource');
  if (inline) {
    if (inline.resourceType !== 'ConceptMap') throw badRequest('The parameter conceptMap must be a ConceptMap', [`${parameterPath(req, 'conceptMap')}.resource`]);
    return [indexConceptMap(inline as unknown as ConceptMap)];
  }
  if (url !== undefined) {
    const canonical = splitCanonical(url);
    if (canonical.version && versionInput && canonical.version !== versionInput) {
      throw badRequest(`The url names version '${canonical.version}' and conceptMapVersion '${versionInput}'`, [parameterPath(req, 'conceptMapVersion')]);
    }
    const version = versionInput ?? canonical.version;
    const map = await conceptMapByUrl(terminologyContext(store, call.deps), req.tenantId, canonical.url, version);
    if (!map) throw notFound(`The ConceptMap '${canonical.url}'${version ? ` version '${version}'` : ''} is not known`);
    return [map];
  }
  const systems = [...new Set(codings.map((c) => c.system as string))];
  const source = input.string('source');
  const target = input.string('target');
  const otherSystem = input.string('targetsystem');
  return candidateMaps(call, store, systems, { reverse, ...(otherSystem ? { otherSystem } : {}), ...(source ? { source } : {}), ...(target ? { target } : {}) });
}

function matchParameter(match: TranslateMatch): JsonObject {
  return {
    name: 'match',
    part: [
      { name: 'equivalence', valueCode: match.equivalence },
      ...(match.concept ? [{ name: 'concept', valueCoding: codingValue(match.concept) }] : []),
      ...(match.product ?? []).map((p) => ({ name: 'product', part: [{ name: 'element', valueUri: p.element }, { name: 'concept', valueCoding: codingValue(p.concept) }] })),
      ...(match.source ? [{ name: 'source', valueUri: match.source }] : []),
    ],
  };
}

async function translate(call: OperationCall, store: ResourceStore) {
  const { req } = call;
  const input = operationInput(req);
  input.acceptOnly(ACCEPTED, 'translate');
  const codings = givenCodings(input, req);
  const reverse = input.boolean('reverse') ?? false;
  const maps = await chosenMaps(call, store, input, codings, reverse);
  const targetSystem = input.string('targetsystem');
  const result = await translateCodings(terminologyContext(store, call.deps), maps, { codings, reverse, ...(targetSystem ? { targetSystem } : {}) });
  return parametersResponse([
    { name: 'result', valueBoolean: result.result },
    ...(result.message ? [{ name: 'message', valueString: result.message }] : []),
    ...result.matches.map(matchParameter),
  ]);
}

const definition: OperationDefinition & { id: string } = {
  resourceType: 'OperationDefinition',
  id: 'hearth-translate',
  name: 'Translate',
  title: 'Concept translation through a ConceptMap',
  status: 'active',
  kind: 'operation',
  affectsState: false,
  code: 'translate',
  base: 'http://hl7.org/fhir/OperationDefinition/ConceptMap-translate',
  description:
    'Translates a code from one code system to another with a ConceptMap: the instance, the inline conceptMap, the map url names ' +
    '(404 when unknown), or else the tenant\'s maps with a group from the code\'s system (narrowed by targetsystem, source and target). ' +
    'With reverse=true, answers the source concepts mapped to the code. group.unmapped applies when a group has no element for the ' +
    'code: provided (the same code, equivalence equal), fixed (unmapped.code, equivalence relatedto) and other-map. result is true ' +
    'when some match is neither unmatched nor disjoint; no map or no match is result=false with a message.',
  resource: ['ConceptMap'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'url', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The ConceptMap\'s canonical url (url|version accepted).' },
    { name: 'conceptMap', use: 'in', min: 0, max: '1', type: 'ConceptMap', documentation: 'A ConceptMap given inline (POST).' },
    { name: 'conceptMapVersion', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The ConceptMap version, with url.' },
    { name: 'code', use: 'in', min: 0, max: '1', type: 'code', documentation: 'The code to translate (with system).' },
    { name: 'system', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The system of code.' },
    { name: 'version', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The version of that system (groups with another sourceVersion are skipped).' },
    { name: 'source', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The value set the code comes from: chooses maps when no url is given.' },
    { name: 'coding', use: 'in', min: 0, max: '1', type: 'Coding', documentation: 'The concept as a Coding (POST).' },
    { name: 'codeableConcept', use: 'in', min: 0, max: '1', type: 'CodeableConcept', documentation: 'Each of its codings is translated (POST).' },
    { name: 'target', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The value set to translate into: chooses maps when no url is given.' },
    { name: 'targetsystem', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'Only targets in this code system.' },
    { name: 'reverse', use: 'in', min: 0, max: '1', type: 'boolean', documentation: 'Answer the source concepts that map to the code (source and target swap meaning).' },
    { name: 'result', use: 'out', min: 1, max: '1', type: 'boolean', documentation: 'Whether some match translates (neither unmatched nor disjoint).' },
    { name: 'message', use: 'out', min: 0, max: '1', type: 'string', documentation: 'Why not, when result is false.' },
    {
      name: 'match', use: 'out', min: 0, max: '*', documentation: 'One per mapping found.',
      part: [
        { name: 'equivalence', use: 'out', min: 0, max: '1', type: 'code' },
        { name: 'concept', use: 'out', min: 0, max: '1', type: 'Coding' },
        {
          name: 'product', use: 'out', min: 0, max: '*',
          part: [
            { name: 'element', use: 'out', min: 0, max: '1', type: 'uri' },
            { name: 'concept', use: 'out', min: 0, max: '1', type: 'Coding' },
          ],
        },
        { name: 'source', use: 'out', min: 0, max: '1', type: 'uri', documentation: 'The canonical url of the ConceptMap that made the match.' },
      ],
    },
  ],
};

export const conceptMapTranslateOperation: OperationEntry = {
  name: 'translate',
  levels: ['type', 'instance'],
  types: ['ConceptMap'],
  readOnly: true,
  handler: translate,
  definition,
};
