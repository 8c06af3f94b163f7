// hearth load (docs/loading.md), step 2: what is posted for each piece of a file (FHIR R4
// http.html#transaction). A transaction Bundle is sent as it is and a batch as a batch; a
// collection or searchset becomes a transaction of PUT Type/id (resource has an id) or POST Type
// entries that keeps the fullUrls, so references between entries (urn:uuid) are resolved by the
// transaction; a lone resource and each chunk of NDJSON lines become such a transaction too.
import type { NumberLexemes } from '../fhir/json-numbers.js';
import { isResourceType } from '../core/resource-types.js';
import type { JsonObject } from '../core/types.js';
import { LoadError, type FailurePlace } from './errors.js';

/** A Bundle ready to POST to the base, with what is needed to report on it. */
export interface LoadBundle {
  bundle: JsonObject;
  kind: 'transaction' | 'batch';
  /** Number lexemes JSON.parse would change, by JSON Pointer from the Bundle (json-numbers.ts). */
  numbers?: NumberLexemes;
  entries: number;
}

/** Bundle types that describe resources to store, and what each needs. */
const CONVERTED = new Set(['collection', 'searchset']);

const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === 'object' && !Array.isArray(value);

/** `value` as a resource of a known type, or a LoadError at `place`. */
export function asResource(value: unknown, place: FailurePlace): JsonObject {
  if (!isObject(value)) throw new LoadError('not a resource (a JSON object)', place);
  const type = value.resourceType;
  if (typeof type !== 'string') throw new LoadError('resourceType is missing', place);
  if (!isResourceType(type)) throw new LoadError(`unknown resourceType '${type}'`, place);
  return value;
}

/** PUT Type/id when the resource has an id (loading is then idempotent), POST Type otherwise. */
export function requestFor(resource: JsonObject): JsonObject {
  const type = resource.resourceType as string;
  return typeof resource.id === 'string' && resource.id !== ''
    ? { method: 'PUT', url: `${type}/${encodeURIComponent(resource.id)}` }
    : { method: 'POST', url: type };
}

/**
 * The whole content of a `.json` file (already parsed) as what to post. Changes `value` in place,
 * so `numbers` (pointers from the file's root) stay valid for the Bundle.
 */
export function fileToBundle(value: unknown, numbers?: NumberLexemes): LoadBundle {
  const root = asResource(value, {});
  if (root.resourceType !== 'Bundle') {
    // A lone resource: a one-entry transaction; its number pointers move under the entry.
    return resourcesToBundle([{ resource: root, numbers }]);
  }
  const type = root.type;
  const entries = root.entry ?? [];
  if (!Array.isArray(entries)) throw new LoadError('Bundle.entry must be an array');
  if (type === 'transaction' || type === 'batch') return { bundle: root, kind: type, numbers, entries: entries.length };
  if (typeof type !== 'string' || !CONVERTED.has(type)) {
    throw new LoadError(
      `a Bundle of type ${JSON.stringify(type)} cannot be loaded: use transaction, batch, collection or searchset ` +
        '(a document or message Bundle is itself a resource: wrap it in a transaction to store it)',
    );
  }
  entries.forEach((entry: unknown, index) => {
    if (!isObject(entry)) throw new LoadError('an entry must be an object', { entry: index });
    const resource = asResource(entry.resource, { entry: index });
    entry.request = requestFor(resource);
    delete entry.search; // searchset: match/include does not matter to a transaction
    delete entry.response;
  });
  root.type = 'transaction';
  delete root.total; // only searchset and history Bundles may carry a total (bdl-1)
  delete root.link;
  return { bundle: root, kind: 'transaction', numbers, entries: entries.length };
}

export interface ParsedResource {
  resource: JsonObject;
  /** Lexemes by pointer from the resource's root. */
  numbers?: NumberLexemes;
}

/** Resources (an NDJSON chunk, or a lone resource) as one transaction of PUT/POST entries. */
export function resourcesToBundle(resources: readonly ParsedResource[]): LoadBundle {
  const numbers = new Map<string, string>();
  const entry = resources.map(({ resource, numbers: own }, index) => {
    if (own) for (const [pointer, lexeme] of own) numbers.set(`/entry/${index}/resource${pointer}`, lexeme);
    return { resource, request: requestFor(resource) };
  });
  return {
    bundle: { resourceType: 'Bundle', type: 'transaction', entry },
    kind: 'transaction',
    numbers: numbers.size > 0 ? numbers : undefined,
    entries: entry.length,
  };
}
