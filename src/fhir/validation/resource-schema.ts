// Structural validation of resources against the official FHIR R4 JSON Schema
// (FHIR R4 json.html#schema, fhir.schema.json) with ajv 8, reported as OperationOutcome
// issues (operationoutcome.html) whose `expression` is a FHIRPath-style element path.
//
// The schema is loaded once per validator, patched for its known quirks (see prepareR4Schema),
// and compiled lazily per resource type so start-up does not pay for all 146 types.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv, type ErrorObject, type SchemaValidateFunction, type ValidateFunction } from 'ajv';
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import { FhirError, issue, type IssueInput } from '../../core/errors.js';
import { isResourceType, loadR4Schema, RESOURCE_TYPES } from '../../core/resource-types.js';

const require = createRequire(import.meta.url);

export interface ResourceValidator {
  /** All structural problems of `resource`; empty when it is valid. */
  validate(resource: unknown): OperationOutcomeIssue[];
  /** Throws FhirError 400 with one issue per problem. */
  assertValid(resource: unknown): void;
  /** Compiles the validators for `types` now (default: all) instead of on first use. */
  precompile(types?: readonly string[]): void;
}

type Json = Record<string, unknown>;
type Segment = string | number;

// Custom keywords added to the schema: nested resource positions (contained[], Bundle.entry.
// resource, ...) and element cardinalities the schema leaves out (see addCardinalities).
const NESTED_KEYWORD = 'hearthNestedResource';
const REQUIRED_KEYWORD = 'hearthRequired';
// More than this many issues helps nobody and costs memory; the rest are summarised.
const MAX_ISSUES = 100;

// The patterns come from XML Schema, where \s and \S mean [ \t\n\r] and its complement; see
// quirk 3 in prepareR4Schema.
const XSD_PATTERNS: Record<string, string> = {
  '^[ \\r\\n\\t\\S]+$': '^[\\s\\S]+$', // [ \r\n\t] plus everything else: any non-empty string
  '^\\S*$': '^[^ \\t\\n\\r]*$',
  '^[^\\s]+(\\s[^\\s]+)*$': '^[^ \\t\\n\\r]+([ \\t\\n\\r][^ \\t\\n\\r]+)*$',
  '^(\\s*([0-9a-zA-Z\\+/=]){4}\\s*)+$': '^[ \\t\\n\\r]*(?:[0-9a-zA-Z+/=]{4}[ \\t\\n\\r]*)+$',
};

interface Requirement {
  label: string; // as the spec names it: "status", "value[x]"
  element: string; // path segment for the expression: "status", "value"
  any: string[]; // present if any of these properties is: status | _status
}

/**
 * A deep clone of the R4 schema with its known quirks fixed; the cached object from
 * loadR4Schema() is never mutated (RESOURCE_TYPES and others share it). Cardinalities of
 * resource types are added later, per type, by addCardinalities() (quirk 8).
 */
export function prepareR4Schema(): Json {
  const schema = structuredClone(loadR4Schema()) as unknown as Json & { definitions: Record<string, Json> };
  // Quirk 1: the file names itself with draft-04-style `id`; ajv 8 only honours `$id`.
  schema.$id = schema.id;
  delete schema.id;
  forEachSubschema(schema, patchNode);
  addCanonicalExtensions(schema.definitions);
  // Quirk 7: ResourceList is a oneOf over all 146 resources, and so is the root (ajv compiles
  // the root whenever a $ref into the file is resolved). Compiling any resource would compile
  // them all (~1 s), and a bad contained resource yields hundreds of oneOf errors. We dispatch
  // on resourceType ourselves; nested resources are collected by a keyword and validated alone.
  delete schema.oneOf;
  delete schema.discriminator;
  schema.definitions.ResourceList = { type: 'object', [NESTED_KEYWORD]: true };
  // Quirk 8 (addCardinalities): data types are shared by every resource, so patch them now.
  for (const name of Object.keys(schema.definitions)) {
    if (/^[A-Z][A-Za-z]*$/.test(name) && !isResourceType(name)) addCardinalities(schema.definitions, name);
  }
  return schema;
}

function patchNode(node: Json): void {
  // Quirk 2: the fhirVersion value sets stop at 4.0.0 although R4 is 4.0.1 (the spec's own
  // examples say 4.0.1). Every such enum also lists the older versions, hence the 3.0.1 test.
  const values = node.enum;
  if (Array.isArray(values) && values.includes('4.0.0') && values.includes('3.0.1') && !values.includes('4.0.1')) {
    values.push('4.0.1');
  }
  // Quirk 3: in JS \s also covers Unicode spaces (U+00A0, ...), so spec examples with a
  // non-breaking space failed as string/code; the patterns now have their XSD meaning. The
  // base64Binary one also backtracked exponentially (ReDoS: ~30 spaced groups took seconds).
  if (node.type === 'string' && typeof node.pattern === 'string') node.pattern = XSD_PATTERNS[node.pattern] ?? node.pattern;
  // Quirk 4: integer, positiveInt and unsignedInt are `type: number` with a pattern, but
  // patterns never apply to numbers, so 1.5 or -3 passed. Patterns on booleans and numbers
  // are inert (and doubled every type error), so they go.
  if ((node.type === 'number' || node.type === 'boolean') && typeof node.pattern === 'string') {
    const minimum = INTEGER_MINIMUM[node.pattern];
    if (minimum !== undefined) Object.assign(node, { type: 'integer', minimum, maximum: 2147483647 });
    delete node.pattern;
  }
  // Quirk 5: complex types and resources lack `type: object`, so `"name": ["x"]` or
  // `"meta": 5` passed: properties/required only constrain objects.
  if (node.properties !== undefined && node.type === undefined) node.type = 'object';
}

// FHIR integers are 32-bit (datatypes.html#integer); keyed by the schema's lexical patterns.
const INTEGER_MINIMUM: Record<string, number> = {
  '^-?([0]|([1-9][0-9]*))$': -2147483648, // integer
  '^[1-9][0-9]*$': 1, // positiveInt
  '^[0]|([1-9][0-9]*)$': 0, // unsignedInt
};

// Quirk 6: elements of type canonical lack their `_name` sibling (json.html#primitive), so the
// spec's examples with extensions on e.g. StructureDefinition.baseDefinition were rejected.
function addCanonicalExtensions(defs: Record<string, Json>): void {
  const canonical = '#/definitions/canonical';
  for (const def of Object.values(defs)) {
    const props = (def.properties ?? {}) as Record<string, Json>;
    for (const [name, prop] of Object.entries(props)) {
      if (`_${name}` in props) continue;
      if (prop.$ref === canonical) props[`_${name}`] = { $ref: '#/definitions/Element' };
      else if ((prop.items as Json | undefined)?.$ref === canonical) {
        props[`_${name}`] = { type: 'array', items: { $ref: '#/definitions/Element' } };
      }
    }
  }
}

/** Visits every schema object (not property maps, whose keys are element names). */
function forEachSubschema(root: Json, visit: (node: Json) => void): void {
  const stack: Json[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    visit(node);
    for (const map of [node.definitions, node.properties]) if (map) stack.push(...Object.values(map as Record<string, Json>));
    if (node.items && typeof node.items === 'object') stack.push(node.items as Json);
    for (const list of [node.oneOf, node.anyOf, node.allOf]) if (Array.isArray(list)) stack.push(...list);
  }
}

const examplesDir = dirname(require.resolve('hl7.fhir.r4.examples/package.json'));

type ElementDef = { path: string; min?: number; type?: { code: string }[] };

/**
 * Quirk 8: the schema's `required` omits every primitive element with min >= 1 (e.g.
 * Observation.status), because in FHIR JSON a primitive may appear only as `_status` carrying
 * extensions, and it cannot express "one of value[x]" either. The spec's StructureDefinition
 * for `type` (shipped in hl7.fhir.r4.examples) gives the cardinalities; each missing rule
 * becomes a REQUIRED_KEYWORD entry on the schema definition that owns the element.
 */
function addCardinalities(defs: Record<string, Json>, type: string): void {
  const file = join(examplesDir, `StructureDefinition-${type}.json`);
  if (!existsSync(file)) return; // abstract helpers (Element, ...) have nothing mandatory to add
  const sd = JSON.parse(readFileSync(file, 'utf8')) as { snapshot?: { element: ElementDef[] } };
  for (const el of sd.snapshot?.element ?? []) {
    const parts = el.path.split('.');
    if (!((el.min ?? 0) >= 1) || parts.length < 2) continue;
    const def = definitionAt(defs, parts.slice(0, -1));
    const props = def?.properties as Json | undefined;
    if (!def || !props) continue;
    const name = parts[parts.length - 1];
    let req: Requirement;
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      const names = (el.type ?? []).map((t) => base + t.code[0].toUpperCase() + t.code.slice(1));
      req = { label: name, element: base, any: names.flatMap((n) => [n, `_${n}`]).filter((n) => n in props) };
    } else {
      if (Array.isArray(def.required) && def.required.includes(name)) continue;
      req = { label: name, element: name, any: [name, `_${name}`].filter((n) => n in props) };
    }
    if (req.any.length > 0) ((def[REQUIRED_KEYWORD] ??= []) as Requirement[]).push(req);
  }
}

/** The schema definition for an element path such as ["Observation", "component"]. */
function definitionAt(defs: Record<string, Json>, parts: string[]): Json | undefined {
  let def: Json | undefined = defs[parts[0]];
  for (const segment of parts.slice(1)) {
    const prop = (def?.properties as Record<string, Json> | undefined)?.[segment];
    const ref = (prop?.$ref ?? (prop?.items as Json | undefined)?.$ref) as string | undefined;
    def = ref ? defs[ref.slice('#/definitions/'.length)] : undefined;
  }
  return def;
}

// Keyword implementation: one ajv "required" error per missing mandatory element.
const checkRequired: SchemaValidateFunction = (reqs: Requirement[], data: unknown) => {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return true;
  const missing = reqs.filter((r) => !r.any.some((k) => (data as Json)[k] !== undefined));
  const params = (r: Requirement) => ({ missingProperty: r.label, element: r.element });
  checkRequired.errors = missing.map((r) => ({ keyword: 'required', params: params(r), message: `must have '${r.label}'` }));
  return missing.length === 0;
};

type Found = { data: object; instancePath: string };

/** The compiled-on-demand validators over one patched copy of the schema. */
class SchemaRuntime {
  private readonly ajv: Ajv;
  private readonly schemaId: string;
  private readonly defs: Record<string, Json>;
  private readonly compiled = new Map<string, ValidateFunction>();
  /** Nested resources met during the current ajv call (validation is synchronous). */
  collector: Found[] | null = null;

  constructor() {
    const schema = prepareR4Schema();
    this.schemaId = String(schema.$id);
    this.defs = schema.definitions as Record<string, Json>;
    // The file declares draft-06; ajv 8 ships that meta-schema but does not load it by default.
    this.ajv = new Ajv({ strict: false, allErrors: true });
    this.ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
    this.ajv.addKeyword({ keyword: REQUIRED_KEYWORD, schemaType: 'array', errors: true, validate: checkRequired });
    this.ajv.addKeyword({
      keyword: NESTED_KEYWORD,
      schemaType: 'boolean',
      errors: false,
      validate: (_schema: boolean, data: unknown, _parent?: unknown, cxt?: { instancePath: string }) => {
        if (this.collector && cxt && data !== null && typeof data === 'object') this.collector.push({ data, instancePath: cxt.instancePath });
        return true;
      },
    });
    this.ajv.addSchema(schema);
  }

  validatorFor(type: string): ValidateFunction {
    let fn = this.compiled.get(type);
    if (!fn) {
      // A resource's definitions (Observation, Observation_Component, ...) are reachable only
      // from that resource and ajv reads them at first compile, so patching here is in time.
      addCardinalities(this.defs, type);
      fn = this.ajv.compile({ $ref: `${this.schemaId}#/definitions/${type}` });
      this.compiled.set(type, fn);
    }
    return fn;
  }
}

export function createResourceValidator(): ResourceValidator {
  let runtime: SchemaRuntime | undefined;
  const rt = () => (runtime ??= new SchemaRuntime());
  return {
    validate: (resource) => validateResource(rt(), resource).map(issue),
    assertValid(resource) {
      const problems = validateResource(rt(), resource);
      if (problems.length > 0) throw new FhirError(400, problems);
    },
    precompile: (types = RESOURCE_TYPES) => types.forEach((type) => rt().validatorFor(type)),
  };
}

/** Validates the resource and, breadth-first, every resource nested inside it. */
function validateResource(runtime: SchemaRuntime, resource: unknown): IssueInput[] {
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
    return [{ code: 'structure', diagnostics: `A resource must be a JSON object, not ${jsonType(resource)}` }];
  }
  const rootType = (resource as Json).resourceType;
  const out = new IssueCollector(typeof rootType === 'string' && isResourceType(rootType) ? rootType : '');
  const queue: { data: object; path: Segment[] }[] = [{ data: resource, path: [] }];
  for (let q = 0; q < queue.length && !out.full(); q++) {
    const { data, path } = queue[q];
    const type = checkResourceType(data, path, out);
    if (type === undefined) continue;
    const fn = runtime.validatorFor(type);
    const found: Found[] = [];
    runtime.collector = found;
    try {
      fn(data);
    } finally {
      runtime.collector = null;
    }
    for (const err of collapse(fn.errors ?? [])) out.addAjvError(err, data, path);
    for (const { data: inner, instancePath } of found) {
      queue.push({ data: inner, path: [...path, ...resolvePointer(data, instancePath).segments] });
    }
  }
  return out.finish();
}

function checkResourceType(data: object, path: Segment[], out: IssueCollector): string | undefined {
  const rt = (data as Json).resourceType;
  if (typeof rt === 'string' && isResourceType(rt)) return rt;
  const at = [...path, 'resourceType'];
  if (rt === undefined) out.add(at, 'required', "Missing required element 'resourceType'");
  else if (typeof rt !== 'string') out.add(at, 'structure', `Expected resourceType to be a string but found ${jsonType(rt)}`);
  else out.add(at, 'value', `Unknown resource type ${show(rt)}: not a FHIR R4 resource type`);
  return undefined;
}

/**
 * One problem, one error: combinator errors (oneOf/anyOf/if) only say "some branch failed";
 * drop them when a more specific error exists at or below the same instance path.
 */
function collapse(errors: ErrorObject[]): ErrorObject[] {
  const combinators = new Set(['oneOf', 'anyOf', 'if']);
  const specific = errors.filter((e) => !combinators.has(e.keyword));
  // A value of the wrong JSON type fails nothing else worth saying at the same path.
  const wrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const covered = (e: ErrorObject) =>
    specific.some((s) => s.instancePath === e.instancePath || s.instancePath.startsWith(`${e.instancePath}/`));
  return errors.filter(
    (e) => (e.keyword === 'type' || !wrongType.has(e.instancePath)) && (!combinators.has(e.keyword) || !covered(e)),
  );
}

/** JSON Pointer → path segments (the data tells array indexes from names) and the value there. */
function resolvePointer(data: unknown, pointer: string): { segments: Segment[]; value: unknown } {
  const segments: Segment[] = [];
  let value = data;
  for (const raw of pointer === '' ? [] : pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    segments.push(Array.isArray(value) ? Number(key) : key);
    value = value !== null && typeof value === 'object' ? (value as Json)[key] : undefined;
  }
  return { segments, value };
}

/** FHIRPath-style: Patient.name[0].given[1]; odd property names are `backtick-quoted`. */
export function formatPath(root: string, segments: readonly Segment[]): string {
  let path = root;
  for (const s of segments) {
    if (typeof s === 'number') path += `[${s}]`;
    else {
      const name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : `\`${s.replace(/[`\\]/g, '\\$&')}\``;
      path += path === '' ? name : `.${name}`;
    }
  }
  return path;
}

class IssueCollector {
  private readonly issues: IssueInput[] = [];
  private readonly seen = new Set<string>();
  private dropped = 0;

  constructor(private readonly rootLabel: string) {}

  full(): boolean {
    return this.issues.length >= MAX_ISSUES;
  }

  add(path: Segment[], code: IssueInput['code'], diagnostics: string): void {
    const expression = formatPath(this.rootLabel, path);
    const key = `${expression}\u0000${diagnostics}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.full()) this.dropped++;
    else this.issues.push({ severity: 'error', code, diagnostics, expression: [expression] });
  }

  addAjvError(err: ErrorObject, data: object, base: Segment[]): void {
    const { segments, value } = resolvePointer(data, err.instancePath);
    const at = [...base, ...segments];
    const params = err.params as Json;
    switch (err.keyword) {
      case 'additionalProperties':
        return this.add([...at, String(params.additionalProperty)], 'structure', `Unknown element ${show(params.additionalProperty)}`);
      case 'required':
        return this.add([...at, String(params.element ?? params.missingProperty)], 'required', `Missing required element ${show(params.missingProperty)}`);
      case 'type':
        return this.add(at, 'structure', `Expected ${typeWords(params.type)} but found ${jsonType(value)}`);
      case 'pattern':
        return this.add(at, 'value', `Value ${show(value)} does not match the pattern for ${primitiveName(err)}`);
      case 'enum':
        return this.add(at, 'value', `Value ${show(value)} is not one of the allowed codes: ${listOf(params.allowedValues)}`);
      case 'minimum':
      case 'maximum':
        return this.add(at, 'value', `Value ${show(value)} must be ${params.comparison} ${params.limit}`);
      case 'const':
        return this.add(at, 'value', `Value ${show(value)} must be ${show(params.allowedValue)}`);
      case 'oneOf':
      case 'anyOf':
        return this.add(at, 'structure', 'Value does not match any of the allowed forms');
      default:
        return this.add(at, 'structure', err.message ?? `Failed schema rule '${err.keyword}'`);
    }
  }

  finish(): IssueInput[] {
    if (this.dropped === 0) return this.issues;
    return [...this.issues, { severity: 'error', code: 'too-costly', diagnostics: `${this.dropped} further problems not listed` }];
  }
}

// Primitive types are the lower-case definitions (string, dateTime, ...); used to name the
// type whose pattern failed. Longest names first so "dateTime" beats "time".
const PRIMITIVES = Object.keys((loadR4Schema() as unknown as { definitions: Json }).definitions)
  .filter((n) => /^[a-z]/.test(n))
  .sort((a, b) => b.length - a.length);

/** Which FHIR primitive's pattern failed: from the $ref'd definition, else the choice name. */
function primitiveName(err: ErrorObject): string {
  const def = /#\/definitions\/([a-z][A-Za-z0-9]*)\/pattern$/.exec(err.schemaPath);
  if (def) return def[1];
  // Choice elements (value[x], deceased[x], ...) inline the primitive: valueDateTime → dateTime.
  const prop = /\/properties\/([^/]+)(?:\/items)?\/pattern$/.exec(err.schemaPath);
  const name = prop && PRIMITIVES.find((p) => prop[1].endsWith(p[0].toUpperCase() + p.slice(1)));
  return name || 'its type';
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string', number: 'a number', integer: 'an integer', boolean: 'a boolean',
  object: 'an object', array: 'an array', null: 'null',
};

function typeWords(type: unknown): string {
  return (Array.isArray(type) ? type : String(type).split(',')).map((t) => TYPE_WORDS[t] ?? String(t)).join(' or ');
}

function jsonType(value: unknown): string {
  if (value === null || value === undefined) return value === null ? 'null' : 'nothing';
  return TYPE_WORDS[Array.isArray(value) ? 'array' : typeof value] ?? typeof value;
}

/** Client data echoed in diagnostics is bounded: quoted, at most 60 characters. */
function show(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return `'${text.length > 60 ? `${text.slice(0, 60)}…` : text}'`;
}

function listOf(values: unknown): string {
  const list = Array.isArray(values) ? values.map(String) : [];
  return list.length > 12 ? `${list.slice(0, 12).join(', ')}, … (${list.length} codes)` : list.join(', ');
}
