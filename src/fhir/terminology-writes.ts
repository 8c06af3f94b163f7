// What a write of a terminology resource changes beyond its own row (issue 12 "Content"): a
// CodeSystem that defines its codes (content = complete) loads them into the tenant's concept
// storage, replacing what its previous version loaded, and a delete drops them; any CodeSystem,
// ValueSet or ConceptMap write marks the tenant's terminology changed, so cached expansions
// and translations are not reused. Runs inside the write's transaction (storeVersion), for REST,
// batch, transaction and `hearth load` alike, so a rolled-back write loads nothing.
import { badRequest } from '../core/errors.js';
import type { JsonObject } from '../core/types.js';
import type { ResourceStore } from '../storage/resource-store.js';
import { codeSystemContent } from '../terminology/code-system-content.js';

const TERMINOLOGY_TYPES = new Set(['CodeSystem', 'ValueSet', 'ConceptMap']);

export const isTerminologyType = (type: string): boolean => TERMINOLOGY_TYPES.has(type);

/** The error of a load that failed on the resource's content, as the 400 the client should get. */
function refusal(error: unknown): Error {
  const message = (error as Error).message;
  if ((error as Error).name === 'CodeSystemAlreadyLoaded') {
    return badRequest(`${message}: another CodeSystem of this tenant (or an import) defines the same url and version`, ['CodeSystem.url']);
  }
  if (/defined twice|is required/.test(message)) return badRequest(message, ['CodeSystem.concept']);
  return error as Error;
}

async function loadConcepts(store: ResourceStore, id: string, resource: JsonObject): Promise<void> {
  if (typeof resource.url !== 'string' || (resource.content ?? 'complete') !== 'complete') return;
  try {
    const { header, concepts, edges } = codeSystemContent(resource);
    const writer = await store.terminology.beginCodeSystem(header, { resourceId: id });
    await writer.addConcepts(concepts);
    await writer.addParents(edges);
    await writer.finish();
  } catch (error) {
    throw refusal(error);
  }
}

/** Brings concept storage in line with a terminology resource just written (null: deleted). */
export async function terminologyWritten(store: ResourceStore, type: string, id: string, resource: JsonObject | null): Promise<void> {
  if (type === 'CodeSystem') {
    await store.terminology.dropCodeSystemsOfResource(id);
    if (resource !== null) await loadConcepts(store, id, resource);
  }
  await store.terminology.bumpGeneration();
}
