// Is-a edges a CodeSystem states through properties declared with the standard parent/child
// property URIs (codesystem.html#hierarchy, concept-properties: http://hl7.org/fhir/concept-properties#parent
// and #child) under a code of their own: HL7 Terminology's v3 code systems say `subsumedBy`.
// codeSystemContent reads nesting and the properties coded `parent`/`child`; this adds the rest.
import type { JsonObject } from '../../core/types.js';
import type { ParentEdge } from '../../storage/terminology-store.js';

const PARENT_URI = 'http://hl7.org/fhir/concept-properties#parent';
const CHILD_URI = 'http://hl7.org/fhir/concept-properties#child';

const objects = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter((x): x is JsonObject => typeof x === 'object' && x !== null && !Array.isArray(x)) : []);

export function parentPropertyEdges(resource: JsonObject): ParentEdge[] {
  const parents = new Set<string>();
  const children = new Set<string>();
  for (const p of objects(resource.property)) {
    if (typeof p.code !== 'string' || p.code === 'parent' || p.code === 'child') continue;
    if (p.uri === PARENT_URI) parents.add(p.code);
    if (p.uri === CHILD_URI) children.add(p.code);
  }
  if (parents.size === 0 && children.size === 0) return [];
  const edges: ParentEdge[] = [];
  const walk = (list: unknown) => {
    for (const concept of objects(list)) {
      const code = concept.code;
      if (typeof code !== 'string') continue;
      for (const p of objects(concept.property)) {
        const other = typeof p.valueCode === 'string' ? p.valueCode : typeof p.valueString === 'string' ? p.valueString : (p.valueCoding as { code?: string } | undefined)?.code;
        if (typeof other !== 'string' || typeof p.code !== 'string') continue;
        if (parents.has(p.code)) edges.push({ child: code, parent: other });
        if (children.has(p.code)) edges.push({ child: other, parent: code });
      }
      walk(concept.concept);
    }
  };
  walk(resource.concept);
  return edges;
}
