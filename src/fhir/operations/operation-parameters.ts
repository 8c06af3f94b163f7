// An operation's input parameters, from either form of invocation (FHIR R4 operations.html
// #executing): GET with the query string (primitive parameters only), or POST with a Parameters
// resource (any type, including resources and complex types such as Coding). Errors name the
// parameter as an element path, `Parameters.parameter.where(name='x')`.
import { badRequest } from '../../core/errors.js';
import type { FhirRequest, JsonObject } from '../../core/types.js';

/** Parameters every interaction takes (response formatting), ignored by operations. */
const FORMAT_PARAMETERS = new Set(['_format', '_pretty', '_summary', '_elements']);

export interface OperationInput {
  /** The names given (format parameters left out). */
  names(): string[];
  /** The single primitive value of `name` as text, or undefined; twice is a 400. */
  string(name: string): string | undefined;
  /** Like string(), as a boolean ('true'/'false'); anything else is a 400. */
  boolean(name: string): boolean | undefined;
  /** Like string(), as a non-negative integer; anything else is a 400. */
  integer(name: string): number | undefined;
  /** A complex value (value[Type], e.g. 'Coding', 'CodeableConcept') or a resource (POST only). */
  complex(name: string, type: string): JsonObject | undefined;
  /** Every Parameters.parameter named `name` (POST only; [] for GET). */
  parts(name: string): JsonObject[];
  /** Throws a 400 naming the first parameter not in `accepted`. */
  acceptOnly(accepted: readonly string[], operation: string): void;
}

const path = (name: string) => `Parameters.parameter.where(name='${name}')`;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The primitive value[x] of a parameter as text (valueString, valueCode, valueUri, valueBoolean, valueInteger, …). */
function primitiveText(parameter: JsonObject): string | undefined {
  for (const [key, value] of Object.entries(parameter)) {
    if (!key.startsWith('value')) continue;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  }
  return undefined;
}

function fromQuery(query: URLSearchParams): OperationInput {
  const one = (name: string): string | undefined => {
    const all = query.getAll(name);
    if (all.length > 1) throw badRequest(`The parameter ${name} may be given once`, [name]);
    return all[0];
  };
  return inputOf(
    () => [...new Set(query.keys())].filter((n) => !FORMAT_PARAMETERS.has(n)),
    one,
    (name, type) => {
      if (query.has(name)) throw badRequest(`The parameter ${name} (a ${type}) can only be given in a POSTed Parameters resource`, [name]);
      return undefined;
    },
    () => [],
    (name) => name,
  );
}

function fromParameters(body: unknown): OperationInput {
  if (!isObject(body) || body.resourceType !== 'Parameters') throw badRequest('The operation takes a Parameters resource as its body', ['Parameters']);
  const parameters = Array.isArray(body.parameter) ? body.parameter.filter(isObject) : [];
  const named = (name: string) => parameters.filter((p) => p.name === name);
  const single = (name: string): JsonObject | undefined => {
    const all = named(name);
    if (all.length > 1) throw badRequest(`The parameter ${name} may be given once`, [path(name)]);
    return all[0];
  };
  return inputOf(
    () => [...new Set(parameters.map((p) => String(p.name)))].filter((n) => !FORMAT_PARAMETERS.has(n)),
    (name) => {
      const parameter = single(name);
      if (!parameter) return undefined;
      const text = primitiveText(parameter);
      if (text === undefined) throw badRequest(`The parameter ${name} must have a primitive value`, [path(name)]);
      return text;
    },
    (name, type) => {
      const parameter = single(name);
      if (!parameter) return undefined;
      const value = type === 'resource' ? parameter.resource : parameter[`value${type}`];
      if (!isObject(value)) throw badRequest(`The parameter ${name} must be a ${type === 'resource' ? 'resource' : `value${type}`}`, [path(name)]);
      return value;
    },
    named,
    path,
  );
}

function inputOf(
  names: () => string[],
  string: (name: string) => string | undefined,
  complex: (name: string, type: string) => JsonObject | undefined,
  parts: (name: string) => JsonObject[],
  where: (name: string) => string,
): OperationInput {
  return {
    names,
    string,
    complex,
    parts,
    boolean(name) {
      const text = string(name);
      if (text === undefined) return undefined;
      if (text !== 'true' && text !== 'false') throw badRequest(`The parameter ${name} must be true or false, not '${text}'`, [where(name)]);
      return text === 'true';
    },
    integer(name) {
      const text = string(name);
      if (text === undefined) return undefined;
      if (!/^\d{1,9}$/.test(text)) throw badRequest(`The parameter ${name} must be a non-negative integer, not '${text}'`, [where(name)]);
      return Number(text);
    },
    acceptOnly(accepted, operation) {
      const known = new Set(accepted);
      for (const name of names()) if (!known.has(name)) throw badRequest(`$${operation} does not take the parameter ${name} (it takes ${accepted.join(', ')})`, [where(name)]);
    },
  };
}

/** The input of an operation request: the POSTed Parameters resource, or the query string. */
export function operationInput(req: FhirRequest): OperationInput {
  if (req.method === 'POST' && req.body !== undefined && req.bodyKind !== 'form') return fromParameters(req.body);
  if (req.method === 'POST' && req.bodyKind === 'form') return fromQuery(req.body as URLSearchParams);
  return fromQuery(req.query);
}
