// Resolving references inside a transaction (FHIR R4 http.html#trules, bundle.html#references):
// every link to an entry's fullUrl (urn:uuid:, urn:oid: or absolute) becomes that entry's
// `Type/id` — in Reference.reference, canonical, uri and url elements alike (any string value
// equal to a fullUrl), and in the narrative's href/src attributes. Conditional references
// (`Patient?identifier=a|b`) are found here and resolved by the caller with a search.
import type { JsonObject } from '../../core/types.js';
import { isResourceType } from '../../core/resource-types.js';

/**
 * `value` with every string equal to a key of `identities` replaced by its value. The input is
 * never changed (a retried transaction rewrites it again); changed subtrees are copies.
 */
export function rewriteReferences<T>(value: T, identities: ReadonlyMap<string, string>): T {
  if (identities.size === 0) return value;
  return rewrite(value, identities, '') as T;
}

/** Copy-on-write: a subtree without any replaced string is returned as it is (no allocation). */
function rewrite(value: unknown, identities: ReadonlyMap<string, string>, key: string): unknown {
  if (typeof value === 'string') {
    const replaced = identities.get(value);
    if (replaced !== undefined) return replaced;
    return key === 'div' ? rewriteNarrative(value, identities) : value;
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = rewrite(value[i], identities, key);
      if (item !== value[i]) (out ??= value.slice())[i] = item;
    }
    return out ?? value;
  }
  if (value !== null && typeof value === 'object') {
    let out: JsonObject | undefined;
    for (const k in value) {
      const v = (value as JsonObject)[k];
      const next = rewrite(v, identities, k);
      if (next !== v) (out ??= { ...(value as JsonObject) })[k] = next;
    }
    return out ?? value;
  }
  return value;
}

/** href="..." and src="..." in XHTML narrative that name an entry. */
function rewriteNarrative(div: string, identities: ReadonlyMap<string, string>): string {
  return div.replace(/\b(href|src)=(["'])([^"']*)\2/g, (match, attr: string, quote: string, url: string) => {
    const replaced = identities.get(url);
    return replaced === undefined ? match : `${attr}=${quote}${replaced}${quote}`;
  });
}

/** Conditional references in a resource: Reference.reference values of the form `Type?query`. */
export function conditionalReferences(resource: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(resource)) {
    for (const item of resource) conditionalReferences(item, found);
  } else if (resource !== null && typeof resource === 'object') {
    for (const [k, v] of Object.entries(resource)) {
      if (k === 'reference' && typeof v === 'string' && isConditionalReference(v)) found.add(v);
      else if (typeof v === 'object') conditionalReferences(v, found);
    }
  }
  return found;
}

export function isConditionalReference(reference: string): boolean {
  const q = reference.indexOf('?');
  return q > 0 && isResourceType(reference.slice(0, q));
}
