// Write side of search (search.html): the index entries of one resource, computed once per
// write from the registry's compiled extractors and stored in the `sp` column.
import type { JsonObject } from '../core/types.js';
import { moduleFor } from './params/modules.js';
import type { SearchRegistry } from './registry/registry.js';
import type { SearchIndex, SearchParamDef } from './types.js';

/** Parameters served by real columns rather than index entries. */
export const COLUMN_PARAMS = new Set(['_id', '_lastUpdated']);

export type Indexer = (resource: JsonObject) => SearchIndex;

/** `only`, when given, limits the parameters evaluated (for indexing a part of a resource). */
export function createIndexer(registry: SearchRegistry, only?: (def: SearchParamDef) => boolean): Indexer {
  return (resource) => {
    const index: SearchIndex = {};
    for (const def of registry.forType(resource.resourceType as string).values()) {
      if (COLUMN_PARAMS.has(def.code) || (only && !only(def))) continue;
      const module = moduleFor(def.type);
      if (!module) continue;
      const values = def.extract(resource);
      if (values.length > 0) module.index(def, values, index);
    }
    return index;
  };
}
