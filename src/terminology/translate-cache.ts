// Indexed ConceptMaps for $translate (translate.ts), kept between calls under a key that changes
// whenever the map could have: a tenant's stored map by (tenant, id, versionId); a map found by
// canonical url by (tenant, url, version, and both terminology generations — every write of a
// ConceptMap bumps the tenant's, every shared import the shared one). A hit saves reading and
// parsing the map (a search and JSON.parse of what may be megabytes) and indexing it; a miss
// costs one small query for the generations. Bounded by the elements held, least recently used
// out first.
import type { ConceptMap } from 'fhir/r4.js';
import type { TerminologyContext } from './definitions.js';
import { indexConceptMap, type IndexedConceptMap } from './translate.js';

export class ConceptMapCache {
  private readonly entries = new Map<string, { map: IndexedConceptMap; weight: number }>();
  private weight = 0;

  /** `capacity`: how many elements (over all cached maps) may be held. */
  constructor(private readonly capacity = 500_000) {}

  get(key: string): IndexedConceptMap | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.map;
  }

  set(key: string, map: IndexedConceptMap): void {
    const weight = 1 + map.groups.reduce((n, g) => n + (g.group.element?.length ?? 0), 0);
    if (weight > this.capacity) return;
    const old = this.entries.get(key);
    if (old) this.weight -= old.weight;
    this.entries.delete(key);
    this.entries.set(key, { map, weight });
    this.weight += weight;
    for (const [oldest, entry] of this.entries) {
      if (this.weight <= this.capacity) break;
      this.entries.delete(oldest);
      this.weight -= entry.weight;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The process's cache (maps are immutable once indexed; keys name their tenant). */
export const conceptMapCache = new ConceptMapCache();

const keyOf = (...parts: string[]) => parts.join('\u0000');

/**
 * The ConceptMap `url` (`version`) as the tenant `tenant` sees it (its own, else the shared one),
 * indexed; undefined when unknown.
 */
export async function conceptMapByUrl(ctx: TerminologyContext, tenant: string, url: string, version?: string, cache = conceptMapCache): Promise<IndexedConceptMap | undefined> {
  // The generations are read before the map, so a key never names content older than it holds.
  // Generations never bumped (a store that keeps none, e.g. the memory repository) name nothing.
  const generations = await ctx.store.generations();
  const tracked = generations.shared !== '0' || generations.tenant !== '0';
  const key = keyOf('url', tenant, url, version ?? '', generations.shared, generations.tenant);
  const cached = tracked ? cache.get(key) : undefined;
  if (cached) return cached;
  const found = await ctx.definitions.find('ConceptMap', url, version);
  if (!found) return undefined;
  const indexed = indexConceptMap(found as unknown as ConceptMap);
  if (tracked) cache.set(key, indexed);
  return indexed;
}

/** A stored ConceptMap version (its JSON text), indexed; parsed only when not cached. */
export function conceptMapOfVersion(tenant: string, id: string, versionId: number, content: string, cache = conceptMapCache): IndexedConceptMap {
  const key = keyOf('id', tenant, id, String(versionId));
  const cached = cache.get(key);
  if (cached) return cached;
  const indexed = indexConceptMap(JSON.parse(content) as ConceptMap);
  cache.set(key, indexed);
  return indexed;
}
