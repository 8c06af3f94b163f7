// The resource type a Reference points to, without fetching it (FHIR R4 references.html,
// search.html#reference). SearchParameter expressions filter references with
// `where(resolve() is Patient)` (searchparameter.html#expression); a server indexes on write
// and cannot resolve, so "is Patient" is decided from the reference itself: a relative or
// absolute RESTful URL names the type, `#id` names a contained resource, and otherwise the
// Reference.type element is used. Compiled accessors and the fhirpath.js fallback share this.
import r4 from 'fhirpath/fhir-context/r4';

type Json = Record<string, unknown>;

/** `Type/id` or `…/Type/id`, optionally followed by `/_history/vid` (references.html#literal). */
const RESTFUL = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

function isResourceTypeName(name: string): boolean {
  const parent = r4.type2Parent[name];
  return parent === 'DomainResource' || parent === 'Resource';
}

function containedType(root: Json | undefined, id: string): string | undefined {
  const contained = root?.contained;
  if (!Array.isArray(contained)) return undefined;
  const match = contained.find((c): c is Json => typeof c === 'object' && c !== null && (c as Json).id === id);
  return typeof match?.resourceType === 'string' ? match.resourceType : undefined;
}

/** The type named by a reference string, or undefined (urn:uuid, conditional, canonical...). */
export function typeOfReferenceString(reference: string, root?: Json): string | undefined {
  if (reference.startsWith('#')) return containedType(root, reference.slice(1));
  const type = RESTFUL.exec(reference)?.[1];
  return type !== undefined && isResourceTypeName(type) ? type : undefined;
}

/** The target type of a Reference value (or a reference string), or undefined if unknown. */
export function referenceTargetType(value: unknown, root?: Json): string | undefined {
  if (typeof value === 'string') return typeOfReferenceString(value, root);
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = value as Json;
  const fromString = typeof ref.reference === 'string' ? typeOfReferenceString(ref.reference, root) : undefined;
  if (fromString) return fromString;
  return typeof ref.type === 'string' && isResourceTypeName(ref.type) ? ref.type : undefined;
}
