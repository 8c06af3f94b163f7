// $validate (FHIR R4 resource-operation-validate.html): is this resource valid, as a create or
// an update would judge it? It answers an OperationOutcome with status 200 whatever it finds
// (errors are findings, not failures of the operation): the R4 JSON Schema's findings, required
// bindings broken (errors) and extensible ones (warnings, issue 12), or one informational issue
// when all is well. Nothing is stored.
//
//   POST [base]/Type/$validate          body: the resource, or Parameters {resource, mode, profile}
//   POST|GET [base]/Type/{id}/$validate  the stored resource, or the one given (mode update/delete)
import type { OperationOutcome } from 'fhir/r4.js';
import { badRequest, gone, issue, notFound, type IssueInput } from '../../core/errors.js';
import type { FhirResponse, JsonObject } from '../../core/types.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import { checkBindings } from '../../terminology/bindings.js';
import { requestAccess } from '../access/read-constraint.js';
import { terminologyContext } from '../terminology-definitions.js';
import { operationInput } from './operation-parameters.js';
import type { OperationCall, OperationEntry } from './registry.js';

const MODES = ['create', 'update', 'delete'];

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The resource to validate and how: a bare resource body, a Parameters body, or the stored instance. */
async function subject(call: OperationCall, store: ResourceStore): Promise<{ resource?: JsonObject; mode?: string; profile?: string }> {
  const { req } = call;
  const type = call.type as string;
  const body = req.method === 'POST' && isObject(req.body) ? req.body : undefined;
  if (body && body.resourceType !== 'Parameters') {
    if (body.resourceType !== type) throw badRequest(`$validate on ${type} was given a ${String(body.resourceType)}`, ['resourceType']);
    return { resource: body };
  }
  const input = operationInput(req);
  input.acceptOnly(['resource', 'mode', 'profile'], 'validate');
  const mode = input.string('mode');
  if (mode !== undefined && !MODES.includes(mode)) throw badRequest(`mode must be one of ${MODES.join(', ')}, not '${mode}'`, ["Parameters.parameter.where(name='mode')"]);
  const profile = input.string('profile');
  const given = input.complex('resource', 'resource');
  if (given) {
    if (given.resourceType !== type) throw badRequest(`$validate on ${type} was given a ${String(given.resourceType)}`, ["Parameters.parameter.where(name='resource')"]);
    return { resource: given, mode, profile };
  }
  if (call.level !== 'instance') throw badRequest(`$validate on ${type} needs the resource (the body, or the Parameters' resource)`, ["Parameters.parameter.where(name='resource')"]);
  const access = await requestAccess(store, req.access);
  const current = await store.readCurrent(type, call.id as string, { reach: access.reach(['r']) });
  if (!current) throw notFound(`${type}/${call.id} is not known`);
  if (mode === 'delete') return { mode, profile };
  if (current.deleted || current.content === null) throw gone(`${type}/${call.id} was deleted`);
  return { resource: JSON.parse(current.content) as JsonObject, mode, profile };
}

async function validate(call: OperationCall, store: ResourceStore): Promise<FhirResponse> {
  const { deps } = call;
  const type = call.type as string;
  const { resource, mode, profile } = await subject(call, store);
  const findings: IssueInput[] = [];
  if (profile !== undefined) {
    findings.push({ severity: 'warning', code: 'not-supported', diagnostics: `Profiles are not checked: ${profile} was not applied; the resource was validated against the base R4 definition of ${type}` });
  }
  if (resource && mode !== 'delete') {
    if (call.level === 'instance' && mode === 'update' && resource.id !== undefined && resource.id !== call.id) {
      findings.push({ severity: 'error', code: 'invalid', diagnostics: `An update of ${type}/${call.id} cannot carry the id '${String(resource.id)}'`, expression: [`${type}.id`] });
    }
    findings.push(...deps.validator.validate(resource).map((i) => ({ ...i, severity: i.severity ?? 'error' }) as IssueInput));
    findings.push(...(await checkBindings(terminologyContext(store, deps), store.tenantId, type, resource, { extensible: true, unknownSystems: deps.config.bindingUnknownSystems ?? 'ignore' })));
  }
  if (findings.length === 0) findings.push({ severity: 'information', code: 'informational', diagnostics: mode === 'delete' ? `${type}/${call.id} may be deleted` : 'No problems found' });
  const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: findings.map(issue) };
  return { status: 200, headers: {}, body: { kind: 'json', value: outcome as unknown as JsonObject } };
}

export const validateOperation: OperationEntry = {
  name: 'validate',
  levels: ['type', 'instance'],
  readOnly: true,
  handler: validate,
  definition: {
    resourceType: 'OperationDefinition',
    id: 'hearth-validate',
    name: 'Validate',
    title: 'Validate a resource against the R4 definitions and its bindings',
    status: 'active',
    kind: 'operation',
    affectsState: false,
    code: 'validate',
    description:
      'Validates a resource (the body, a Parameters resource, or the stored instance) against the R4 JSON Schema and the terminology bindings of ' +
      'its coded elements: required bindings broken are errors, extensible ones warnings. Answers an OperationOutcome with status 200. Profiles ' +
      'are not applied (a warning says so). Nothing is stored.',
    system: false,
    type: true,
    instance: true,
    parameter: [
      { name: 'resource', use: 'in', min: 0, max: '1', type: 'Resource', documentation: 'The resource to validate (or the body itself).' },
      { name: 'mode', use: 'in', min: 0, max: '1', type: 'code', documentation: 'create | update | delete.' },
      { name: 'profile', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'Not applied; reported as a warning.' },
      { name: 'return', use: 'out', min: 1, max: '1', type: 'OperationOutcome', documentation: 'The findings (or one informational issue).' },
    ],
  },
};
