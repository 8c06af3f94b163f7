// CodeSystem $lookup (FHIR R4 codesystem-operations.html#lookup, terminology-service.html
// "Concept Lookup"): what a code system the tenant sees says about one of its concepts — the code
// system's name and version, the concept's display, designations and properties, with the
// standard `parent`, `child` and `inactive` properties (codesystem.html#defined-props) from the
// is-a edges and the concept's status. A few indexed queries: the version, the concept, and its
// neighbours only when parent or child is wanted. Also the version and concept finding that
// $subsumes and $validate-code share.
import { notFound } from '../core/errors.js';
import type { CodeSystemVersion, Concept, ConceptProperty, Designation } from '../storage/terminology-store.js';
import type { TerminologyContext } from './definitions.js';

/** A concept as a request names it: system (canonical url), optional version, code. */
export interface ConceptRef {
  system: string;
  version?: string;
  code: string;
}

/**
 * The version of `system` the request means: `version` exactly when given, else the one the
 * tenant sees first (its own newest, then the shared newest). A string says why there is none.
 */
export async function findCodeSystem(ctx: TerminologyContext, system: string, version?: string): Promise<CodeSystemVersion | string> {
  const [found] = await ctx.store.codeSystems(system, version);
  if (found) return found;
  if (version === undefined) return `The code system '${system}' is not known`;
  const others = (await ctx.store.codeSystems(system)).map((v) => v.version || '(no version)');
  return others.length === 0
    ? `The code system '${system}' is not known`
    : `The code system '${system}' has no version '${version}' (known: ${[...new Set(others)].join(', ')})`;
}

/**
 * The concept `code` of a version. A code system that is not case sensitive
 * (CodeSystem.caseSensitive false) also matches the code in lower or upper case.
 */
export async function findConcept(ctx: TerminologyContext, cs: CodeSystemVersion, code: string): Promise<Concept | undefined> {
  const codes = cs.caseSensitive ? [code] : [...new Set([code, code.toLowerCase(), code.toUpperCase()])];
  const found = await ctx.store.concepts(cs, codes);
  return found.find((c) => c.code === code) ?? found[0];
}

/** `system|code` (and `|version`) as messages name a concept. */
export const conceptLabel = (ref: ConceptRef): string => `'${ref.code}' in the code system '${ref.system}'${ref.version ? ` version '${ref.version}'` : ''}`;

/** The name $lookup reports: the code system's title, else its name, else its url. */
export const codeSystemName = (cs: CodeSystemVersion): string => cs.title ?? cs.name ?? cs.url;

export interface LookupRequest extends ConceptRef {
  /** The `property` inputs: only these (and `designation`, `lang.X`) are returned; all when absent. */
  properties?: readonly string[];
  /** A designation in this language (or a sublanguage of it) is the display, when there is one. */
  displayLanguage?: string;
}

export interface LookupProperty {
  code: string;
  type: ConceptProperty['type'];
  value: ConceptProperty['value'];
  description?: string;
}

export interface LookupResult {
  name: string;
  version?: string;
  display: string;
  designations: Designation[];
  properties: LookupProperty[];
}

const languageMatches = (language: string | undefined, wanted: string) =>
  language !== undefined && (language.toLowerCase() === wanted.toLowerCase() || language.toLowerCase().startsWith(`${wanted.toLowerCase()}-`));

/** The designations asked for: all without a `property` list, else with `designation` all, with `lang.X` those in X. */
function designationsWanted(concept: Concept, wanted: ReadonlySet<string> | undefined): Designation[] {
  const all = concept.designations ?? [];
  if (!wanted || wanted.has('designation')) return [...all];
  const languages = [...wanted].filter((p) => p.startsWith('lang.')).map((p) => p.slice(5));
  return all.filter((d) => languages.some((l) => languageMatches(d.language, l)));
}

/** Details of one concept (throws a 404 OperationOutcome when the code system or the code is unknown). */
export async function lookupConcept(ctx: TerminologyContext, request: LookupRequest): Promise<LookupResult> {
  const cs = await findCodeSystem(ctx, request.system, request.version);
  if (typeof cs === 'string') throw notFound(cs);
  const concept = await findConcept(ctx, cs, request.code);
  if (!concept) throw notFound(`There is no concept ${conceptLabel({ ...request, version: cs.version || undefined })}`);
  const wanted = request.properties && request.properties.length > 0 ? new Set(request.properties) : undefined;
  const wants = (code: string) => !wanted || wanted.has(code);
  const describe = (code: string) => cs.propertyDefs.find((p) => p.code === code)?.description;
  const properties: LookupProperty[] = [];
  for (const p of concept.properties ?? []) {
    if (p.code === 'inactive' || !wants(p.code)) continue;
    const description = describe(p.code);
    properties.push({ code: p.code, type: p.type, value: p.value, ...(description ? { description } : {}) });
  }
  if (wants('parent') || wants('child')) {
    const { parents, children } = await ctx.store.neighbours(cs, concept.code);
    if (wants('parent')) for (const code of parents) properties.push({ code: 'parent', type: 'code', value: code });
    if (wants('child')) for (const code of children) properties.push({ code: 'child', type: 'code', value: code });
  }
  if (wants('inactive')) properties.push({ code: 'inactive', type: 'boolean', value: !concept.active });
  const inLanguage = request.displayLanguage
    ? concept.designations?.find((d) => languageMatches(d.language, request.displayLanguage as string))?.value
    : undefined;
  return {
    name: codeSystemName(cs),
    ...(cs.version ? { version: cs.version } : {}),
    display: inLanguage ?? concept.display ?? concept.code,
    designations: designationsWanted(concept, wanted),
    properties,
  };
}
