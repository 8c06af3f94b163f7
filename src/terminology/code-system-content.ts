// A FHIR R4 CodeSystem resource as concept storage sees it (codesystem.html): the header, the
// concepts (nested concepts are children of their parent, codesystem.html#hierarchy; properties
// coded `parent`/`child`, or declared with the standard parent/child property URIs under a code
// of their own — HL7 Terminology's v3 code systems say `subsumedBy` — add edges), designations
// and property values.
import type { JsonObject } from '../core/types.js';
import type { CodeSystemHeader, ConceptInput, ConceptProperty, Designation, ParentEdge, PropertyDef } from '../storage/terminology-store.js';

export interface CodeSystemContent {
  header: CodeSystemHeader;
  concepts: ConceptInput[];
  edges: ParentEdge[];
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const objects = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const VALUE_TYPES = ['Code', 'Coding', 'String', 'Integer', 'Boolean', 'DateTime', 'Decimal'] as const;

const PARENT_URI = 'http://hl7.org/fhir/concept-properties#parent';
const CHILD_URI = 'http://hl7.org/fhir/concept-properties#child';

/** The property codes that state is-a edges: `parent`/`child`, and any declared with their URIs. */
function edgeProperties(resource: JsonObject): { parents: Set<string>; children: Set<string> } {
  const parents = new Set(['parent']);
  const children = new Set(['child']);
  for (const p of objects(resource.property)) {
    if (typeof p.code !== 'string') continue;
    if (p.uri === PARENT_URI) parents.add(p.code);
    if (p.uri === CHILD_URI) children.add(p.code);
  }
  return { parents, children };
}

/** concept.property[].value[x] as a ConceptProperty (undefined when it has no value). */
function propertyOf(property: JsonObject): ConceptProperty | undefined {
  const code = text(property.code);
  if (!code) return undefined;
  for (const suffix of VALUE_TYPES) {
    const value = property[`value${suffix}`];
    if (value === undefined) continue;
    const type = (suffix === 'Coding' ? 'Coding' : suffix.charAt(0).toLowerCase() + suffix.slice(1)) as ConceptProperty['type'];
    if (type === 'Coding') {
      if (!isObject(value)) return undefined;
      const coding = { ...(text(value.system) ? { system: value.system as string } : {}), ...(text(value.code) ? { code: value.code as string } : {}), ...(text(value.display) ? { display: value.display as string } : {}) };
      return { code, type, value: coding };
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { code, type, value };
  }
  return undefined;
}

function designationsOf(concept: JsonObject): Designation[] {
  return objects(concept.designation).flatMap((d) => {
    const value = text(d.value);
    if (!value) return [];
    const use = isObject(d.use) ? { ...(text(d.use.system) ? { system: d.use.system as string } : {}), ...(text(d.use.code) ? { code: d.use.code as string } : {}), ...(text(d.use.display) ? { display: d.use.display as string } : {}) } : undefined;
    return [{ ...(text(d.language) ? { language: d.language as string } : {}), ...(use ? { use } : {}), value }];
  });
}

/** `inactive`/`status`/`deprecated` properties mark a concept not active (codesystem.html#status). */
function isActive(properties: readonly ConceptProperty[]): boolean {
  for (const p of properties) {
    if (p.code === 'inactive' && p.value === true) return false;
    if (p.code === 'status' && (p.value === 'retired' || p.value === 'inactive')) return false;
  }
  return true;
}

export function headerOf(resource: JsonObject, source: string): CodeSystemHeader {
  const propertyDefs: PropertyDef[] = objects(resource.property).flatMap((p) => {
    const code = text(p.code);
    return code ? [{ code, type: text(p.type) ?? 'string', ...(text(p.uri) ? { uri: p.uri as string } : {}), ...(text(p.description) ? { description: p.description as string } : {}) }] : [];
  });
  const { concept: _concepts, text: _narrative, ...rest } = resource;
  return {
    url: resource.url as string,
    version: text(resource.version) ?? '',
    ...(text(resource.name) ? { name: resource.name as string } : {}),
    ...(text(resource.title) ? { title: resource.title as string } : {}),
    ...(text(resource.status) ? { status: resource.status as string } : {}),
    content: text(resource.content) ?? 'complete',
    caseSensitive: resource.caseSensitive !== false,
    ...(text(resource.hierarchyMeaning) ? { hierarchyMeaning: resource.hierarchyMeaning as string } : {}),
    source,
    propertyDefs,
    resource: rest,
  };
}

/**
 * Header, concepts and edges of a CodeSystem resource. Throws when it has no url or defines a
 * code twice (so a broken resource is refused, never half-loaded).
 */
export function codeSystemContent(resource: JsonObject, source = 'fhir'): CodeSystemContent {
  if (!text(resource.url)) throw new Error('CodeSystem.url is required to load its concepts');
  const concepts: ConceptInput[] = [];
  const edges: ParentEdge[] = [];
  const seen = new Set<string>();
  const { parents, children } = edgeProperties(resource);
  const walk = (list: unknown, parent: string | undefined, path: string) => {
    objects(list).forEach((concept, i) => {
      const code = text(concept.code);
      if (code === undefined) throw new Error(`${path}[${i}].code is required`);
      if (seen.has(code)) throw new Error(`${path}[${i}]: the code '${code}' is defined twice`);
      seen.add(code);
      const properties = objects(concept.property).map(propertyOf).filter((p): p is ConceptProperty => p !== undefined);
      const designations = designationsOf(concept);
      concepts.push({
        code,
        ...(text(concept.display) ? { display: concept.display as string } : {}),
        active: isActive(properties),
        ...(designations.length > 0 ? { designations } : {}),
        ...(properties.length > 0 ? { properties: properties.filter((p) => !parents.has(p.code) && !children.has(p.code)) } : {}),
      });
      if (parent !== undefined) edges.push({ child: code, parent });
      for (const p of properties) {
        const other = typeof p.value === 'string' ? p.value : typeof p.value === 'object' ? p.value.code : undefined;
        if (!other) continue;
        if (parents.has(p.code)) edges.push({ child: code, parent: other });
        if (children.has(p.code)) edges.push({ child: other, parent: code });
      }
      walk(concept.concept, code, `${path}[${i}].concept`);
    });
  };
  walk(resource.concept, undefined, 'CodeSystem.concept');
  return { header: headerOf(resource, source), concepts, edges };
}
