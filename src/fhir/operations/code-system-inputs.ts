// What the terminology operations ($lookup, $subsumes, $validate-code, $translate; FHIR R4
// codesystem-operations.html, conceptmap-operations.html) read alike: a concept given either as
// code + system (+ version) or as a Coding, the resource an instance-level call is invoked on
// (read within the caller's access, as a read is), and their Parameters answer.
import { badRequest, gone, notFound } from '../../core/errors.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import type { ResourceStore, StoredVersion } from '../../storage/resource-store.js';
import type { CodingInput } from '../../terminology/validate-code.js';
import { requestAccess } from '../access/read-constraint.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationCall } from './registry.js';

/** Whether the input came as a POSTed Parameters resource (operation-parameters.ts reads it so). */
const postedParameters = (req: FhirRequest) => req.method === 'POST' && req.body !== undefined && req.bodyKind !== 'form';

/** A parameter as errors name it: `Parameters.parameter.where(name='x')` when POSTed, else the query name. */
export const parameterPath = (req: FhirRequest, name: string): string => (postedParameters(req) ? `Parameters.parameter.where(name='${name}')` : name);

/** A required parameter that is missing: a 400 naming it. */
export const missing = (req: FhirRequest, operation: string, name: string, why = '') =>
  badRequest(`$${operation} needs the parameter ${name}${why}`, [parameterPath(req, name)]);

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The parts of a Coding value the operations use. */
export function codingOf(value: JsonObject): CodingInput {
  return {
    ...(text(value.system) ? { system: value.system as string } : {}),
    ...(text(value.version) ? { version: value.version as string } : {}),
    ...(text(value.code) ? { code: value.code as string } : {}),
    ...(text(value.display) ? { display: value.display as string } : {}),
  };
}

/** A concept as a call gave it, with the element path its errors name. */
export interface GivenConcept {
  coding: CodingInput & { system: string; code: string };
  path: string;
}

export interface ConceptParameterNames {
  code: string;
  coding: string;
  /** Shared by both forms: the code's system, and the coding's when it has none (an instance's url). */
  system?: string;
  version?: string;
  display?: string;
}

/**
 * One concept from `code` + `system` (+ `version`, `display`) or from a `coding` (POST only):
 * undefined when neither is given; a 400 naming the parameter when both are, or when the code
 * has no system (`defaultSystem`, an instance's url, stands in for one), or the coding lacks
 * a code or system.
 */
export function givenConcept(input: OperationInput, req: FhirRequest, operation: string, names: ConceptParameterNames, defaultSystem?: string): GivenConcept | undefined {
  const code = input.string(names.code);
  const coding = input.complex(names.coding, 'Coding');
  const system = names.system ? input.string(names.system) : undefined;
  const version = names.version ? input.string(names.version) : undefined;
  const display = names.display ? input.string(names.display) : undefined;
  if (defaultSystem !== undefined && system !== undefined && system !== defaultSystem && names.system) {
    throw badRequest(`The ${names.system} '${system}' is not this code system's url '${defaultSystem}'`, [parameterPath(req, names.system)]);
  }
  if (code !== undefined && coding !== undefined) {
    throw badRequest(`$${operation} takes either ${names.code} or ${names.coding}, not both`, [parameterPath(req, names.coding)]);
  }
  if (code !== undefined) {
    if (code === '') throw badRequest(`The parameter ${names.code} is empty`, [parameterPath(req, names.code)]);
    const resolved = system ?? defaultSystem;
    if (resolved === undefined) throw missing(req, operation, names.system ?? 'system', ` with ${names.code}`);
    return { coding: { system: resolved, code, ...(version ? { version } : {}), ...(display !== undefined ? { display } : {}) }, path: parameterPath(req, names.code) };
  }
  if (coding === undefined) return undefined;
  const path = parameterPath(req, names.coding);
  const value = codingOf(coding);
  const resolved = value.system ?? system ?? defaultSystem;
  if (!value.code) throw badRequest(`The ${names.coding} has no code`, [`${path}.valueCoding.code`]);
  if (!resolved) throw badRequest(`The ${names.coding} has no system`, [`${path}.valueCoding.system`]);
  if (defaultSystem !== undefined && value.system !== undefined && value.system !== defaultSystem) {
    throw badRequest(`The ${names.coding}'s system '${value.system}' is not this code system's url '${defaultSystem}'`, [`${path}.valueCoding.system`]);
  }
  return { coding: { ...value, system: resolved, code: value.code, ...(value.version || !version ? {} : { version }) }, path };
}

/**
 * The resource an instance-level call is invoked on, read as a read is (read.ts): out of the
 * caller's reach reads as unknown (404), deleted as 410.
 */
export async function invokedResource(call: OperationCall, store: ResourceStore): Promise<{ version: StoredVersion; resource: JsonObject }> {
  const type = call.type as string;
  const id = call.id as string;
  const access = await requestAccess(store, call.req.access);
  const version = await store.readCurrent(type, id, { reach: access.reach(['r']) });
  if (!version) throw notFound(`${type}/${id} is not known`);
  if (version.deleted || version.content === null) throw gone(`${type}/${id} was deleted (version ${version.versionId})`);
  return { version, resource: JSON.parse(version.content) as JsonObject };
}

/** The url and version of the CodeSystem an instance-level call is invoked on. */
export async function invokedCodeSystem(call: OperationCall, store: ResourceStore): Promise<{ url: string; version?: string }> {
  const { resource } = await invokedResource(call, store);
  const url = text(resource.url);
  if (!url) throw badRequest(`CodeSystem/${call.id} has no url, so its concepts are not held`, ['CodeSystem.url']);
  return { url, ...(text(resource.version) ? { version: resource.version as string } : {}) };
}

/** A 200 answer carrying a Parameters resource. */
export const parametersResponse = (parameter: JsonObject[]): FhirResponse => ({
  status: 200,
  headers: {},
  body: { kind: 'json', value: { resourceType: 'Parameters', parameter } },
});

/** A Coding value for an output parameter (only the elements that have a value). */
export const codingValue = (c: { system?: string; version?: string; code?: string; display?: string }): JsonObject => ({
  ...(c.system ? { system: c.system } : {}),
  ...(c.version ? { version: c.version } : {}),
  ...(c.code ? { code: c.code } : {}),
  ...(c.display ? { display: c.display } : {}),
});

/** Every value of a repeating primitive parameter (`property`), from the query string or the Parameters. */
export function repeatedStrings(input: OperationInput, req: FhirRequest, name: string): string[] {
  if (!postedParameters(req)) return (req.method === 'POST' && req.bodyKind === 'form' ? (req.body as URLSearchParams) : req.query).getAll(name);
  return input.parts(name).map((p) => {
    const value = Object.entries(p).find(([key, v]) => key.startsWith('value') && typeof v === 'string')?.[1];
    if (typeof value !== 'string') throw badRequest(`The parameter ${name} must have a code value`, [parameterPath(req, name)]);
    return value;
  });
}
