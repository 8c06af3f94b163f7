// The search parameter registry (FHIR R4 search.html, searchparameter.html,
// compartmentdefinition.html): every R4 SearchParameter from the official definitions
// (hl7.fhir.r4.examples Bundle-searchParams.json), plus custom SearchParameter resources,
// compiled per resource type into frozen SearchParamDefs, and the parameters that place a
// resource in a compartment (CompartmentDefinition patient/encounter/practitioner/
// relatedPerson/device).
//
// Types are compiled lazily on the first forType()/get() for that type: start-up only reads
// the definitions (~2 MB JSON), and a process that serves a few types never compiles the
// rest. Once built, a type's map and definitions never change.
import { createRequire } from 'node:module';
import type { CompartmentDefinition, SearchParameter } from 'fhir/r4.js';
import { isResourceType } from '../../core/resource-types.js';
import type { CompositeComponent, SearchParamDef, SearchParamType } from '../types.js';
import { compileExtractor, compileFhirpath } from './compile.js';
import { boundCodeSystem } from './code-systems.js';
import { splitForType } from './expression.js';

const require = createRequire(import.meta.url);

export interface SearchRegistry {
  /** All parameters for a type (including the common Resource params: _id, _lastUpdated, _tag, _profile, _security, _source, _text/_content if present). */
  forType(type: string): ReadonlyMap<string, SearchParamDef>;
  get(type: string, code: string): SearchParamDef | undefined;
  /** Reference search params of `resourceType` that put it in the compartment of `compartmentType` (from CompartmentDefinition), e.g. ('Patient','Observation') -> ['subject','performer']. */
  compartmentParams(compartmentType: string, resourceType: string): readonly string[];
  /** Why `code` is not searchable on `type` yet although defined (a custom parameter awaiting $reindex). */
  pending?(type: string, code: string): string | undefined;
}

export interface SearchRegistryOptions {
  /** Custom SearchParameter resources (base, code, type, expression); they override R4 ones with the same code. */
  extra?: readonly SearchParameter[];
  /** Explains codes defined but not yet searchable (see SearchRegistry.pending). */
  pending?: (type: string, code: string) => string | undefined;
}

const COMPARTMENT_FILES = ['patient', 'encounter', 'practitioner', 'relatedPerson', 'device'];
/** Resource types that are not DomainResources, so `_text` (base DomainResource) skips them. */
const NOT_DOMAIN_RESOURCES: ReadonlySet<string> = new Set(['Binary', 'Bundle', 'Parameters']);
const PARAM_TYPES: ReadonlySet<string> = new Set(['number', 'date', 'string', 'token', 'reference', 'composite', 'quantity', 'uri', 'special']);
const EMPTY_LIST: readonly string[] = Object.freeze([]);
const none = (): unknown[] => [];

/** A Map whose contents are fixed at construction: writes throw, even through a cast. */
class FrozenMap<K, V> extends Map<K, V> {
  constructor(entries: Iterable<readonly [K, V]>) {
    super();
    for (const [k, v] of entries) Map.prototype.set.call(this, k, v);
    Object.freeze(this);
  }
  override set(): this {
    throw new TypeError('The search registry is frozen');
  }
  override delete(): boolean {
    throw new TypeError('The search registry is frozen');
  }
  override clear(): void {
    throw new TypeError('The search registry is frozen');
  }
}

const EMPTY_MAP: ReadonlyMap<string, SearchParamDef> = new FrozenMap<string, SearchParamDef>([]);

let r4SearchParameters: readonly SearchParameter[] | undefined;

/** Read once per process: tenants with custom parameters build their own registries from it. */
function loadR4SearchParameters(): readonly SearchParameter[] {
  if (!r4SearchParameters) {
    const bundle = require('hl7.fhir.r4.examples/Bundle-searchParams.json') as { entry: { resource: SearchParameter }[] };
    r4SearchParameters = Object.freeze(bundle.entry.map((e) => e.resource));
  }
  return r4SearchParameters;
}

/** The R4 definition of `code` on `type` (or its Resource/DomainResource bases), if any. */
export function r4SearchParameter(type: string, code: string): SearchParameter | undefined {
  const bases = new Set(['Resource', 'DomainResource', type]);
  return loadR4SearchParameters().find((sp) => sp.code === code && (sp.base ?? []).some((b) => bases.has(b)));
}

/** compartment code (e.g. 'Patient') -> resource type -> params. */
let compartmentCache: Map<string, Map<string, readonly string[]>> | undefined;

function loadCompartments(): Map<string, Map<string, readonly string[]>> {
  compartmentCache ??= readCompartments();
  return compartmentCache;
}

function readCompartments(): Map<string, Map<string, readonly string[]>> {
  const out = new Map<string, Map<string, readonly string[]>>();
  for (const name of COMPARTMENT_FILES) {
    const def = require(`hl7.fhir.r4.examples/CompartmentDefinition-${name}.json`) as CompartmentDefinition;
    const byType = new Map<string, readonly string[]>();
    for (const entry of def.resource ?? []) {
      // `{def}` means "the compartment's own resource", not a search parameter.
      const params = (entry.param ?? []).filter((p) => p !== '{def}');
      if (params.length > 0) byType.set(entry.code, Object.freeze(params));
    }
    out.set(def.code, byType);
  }
  return out;
}

function checkExtra(sp: SearchParameter): void {
  const where = `Custom SearchParameter ${sp.url ?? sp.id ?? sp.code ?? '(unnamed)'}`;
  if (!sp.code || !sp.type || !PARAM_TYPES.has(sp.type)) throw new Error(`${where}: code and a valid type are required`);
  if (!sp.base?.length) throw new Error(`${where}: base is required`);
  for (const base of sp.base) {
    if (base !== 'Resource' && base !== 'DomainResource' && !isResourceType(base)) {
      throw new Error(`${where}: unknown base type '${base}'`);
    }
  }
  // Parsing the whole expression once surfaces a FHIRPath syntax error at start-up, not on first use.
  try {
    if (sp.expression) compileFhirpath(sp.expression);
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
}

function compileOrThrow(sp: SearchParameter, resourceType: string): (resource: Record<string, unknown>) => unknown[] {
  try {
    return compileExtractor(sp.expression ?? '', resourceType);
  } catch (error) {
    throw new Error(`SearchParameter ${sp.url ?? sp.code} for ${resourceType}: ${(error as Error).message}`);
  }
}

function componentsOf(sp: SearchParameter): readonly CompositeComponent[] | undefined {
  if (!sp.component) return undefined;
  return Object.freeze(sp.component.map((c) => Object.freeze({ definition: c.definition, expression: c.expression })));
}

/** One SearchParameter compiled for one type; expression-less ones (_text, _content) extract nothing. */
function buildDef(sp: SearchParameter, resourceType: string): SearchParamDef {
  const expression = sp.expression ? (splitForType(sp.expression, resourceType) ?? '') : '';
  // `special` ones too: Location `near` indexes Location.position (params/near.ts).
  const extract = expression === '' ? none : compileOrThrow(sp, resourceType);
  const components = componentsOf(sp);
  const codeSystem = sp.type === 'token' ? boundCodeSystem(expression) : undefined;
  return Object.freeze({
    code: sp.code,
    type: sp.type as SearchParamType,
    url: sp.url ?? '',
    resourceType,
    expression,
    targets: Object.freeze([...(sp.target ?? [])]),
    ...(components ? { components } : {}),
    ...(codeSystem ? { codeSystem } : {}),
    extract,
  });
}

/** base type -> parameters, R4 first and custom after, so a custom one wins on the same code. */
function groupByBase(params: readonly SearchParameter[]): Map<string, SearchParameter[]> {
  const byBase = new Map<string, SearchParameter[]>();
  for (const sp of params) {
    for (const base of sp.base ?? []) {
      const list = byBase.get(base) ?? [];
      list.push(sp);
      byBase.set(base, list);
    }
  }
  return byBase;
}

export function createSearchRegistry(options: SearchRegistryOptions = {}): SearchRegistry {
  const extra = options.extra ?? [];
  extra.forEach(checkExtra);
  const byBase = groupByBase([...loadR4SearchParameters(), ...extra]);
  const compartments = loadCompartments();
  const built = new Map<string, ReadonlyMap<string, SearchParamDef>>();
  const custom = new Set(extra);
  const order = (sp: SearchParameter) => (custom.has(sp) ? 1 : 0);

  function build(type: string): ReadonlyMap<string, SearchParamDef> {
    const bases = ['Resource', ...(NOT_DOMAIN_RESOURCES.has(type) ? [] : ['DomainResource']), type];
    // Stable sort: R4 definitions first, custom ones last so they override by code.
    const params = bases.flatMap((b) => byBase.get(b) ?? []).sort((a, b) => order(a) - order(b));
    const defs = new Map<string, SearchParamDef>();
    for (const sp of params) defs.set(sp.code, buildDef(sp, type));
    return new FrozenMap(defs);
  }

  const forType = (type: string): ReadonlyMap<string, SearchParamDef> => {
    let defs = built.get(type);
    if (!defs) {
      if (!isResourceType(type)) return EMPTY_MAP;
      defs = build(type);
      built.set(type, defs);
    }
    return defs;
  };

  return Object.freeze({
    forType,
    get: (type: string, code: string) => forType(type).get(code),
    compartmentParams: (compartmentType: string, resourceType: string) =>
      compartments.get(compartmentType)?.get(resourceType) ?? EMPTY_LIST,
    ...(options.pending ? { pending: options.pending } : {}),
  });
}
