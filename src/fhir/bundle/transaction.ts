// transaction (FHIR R4 http.html#transaction, #trules): every entry in ONE database transaction,
// each run by the same interaction code as its REST request. First every write entry's identity
// is settled (new ids for creates, searches for conditional creates and updates) and the
// conditional references are resolved; then all resources have their links to other entries
// rewritten; then the entries run in the spec's order (DELETE, POST, PUT/PATCH, GET/HEAD), and
// the response lists them in the request's order. Any failure fails the whole bundle, naming
// the entry; the caller's transaction rolls back, so nothing of it is stored. That includes an
// entry whose content SMART scopes refuse (access/write-check.ts, run by each entry's interaction):
// one forbidden entry fails the whole bundle and nothing is written. Each entry's completion hook
// (the audit trail) runs inside the transaction, through the write buffer, right after the entry.
import { randomUUID } from 'node:crypto';
import type { ResourceStore, StoredVersion } from '../../storage/resource-store.js';
import { WriteBuffer } from '../../storage/write-buffer.js';
import { groupBy } from '../../core/group-by.js';
import { findConditionalMatches, ifNoneExistParams } from '../conditional.js';
import type { Interaction, InteractionDeps } from '../interactions/context.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import { entryError, type BundleEntryRequest } from './entries.js';
import { conditionalReferences, rewriteReferences } from './references.js';
import { entryResponse, errorWithEntry } from './responses.js';
import { authorize } from '../access/authorize.js';
import { openWriteGuard } from '../access/write-check.js';
import { bindRequestAccess } from '../access/read-constraint.js';
import { collectChanges } from '../unit-changes.js';
import { etag } from '../versioning.js';

/** Routes an entry's request to its interaction (router.ts route, bound to its options). */
export type Dispatch = (req: FhirRequest) => Interaction;

const ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

/** What one entry will do once identities are settled. */
type Plan =
  | { kind: 'run'; request: FhirRequest }
  /** A conditional create that found its resource: 200, nothing written (http.html#ccreate). */
  | { kind: 'exists'; version: StoredVersion };

export function transactionInteraction(outer: FhirRequest, deps: InteractionDeps, entries: BundleEntryRequest[], dispatch: Dispatch): Interaction {
  return {
    target: { interaction: 'transaction' },
    readOnly: false,
    async run(database: ResourceStore): Promise<FhirResponse> {
      // Writes go out as multi-row statements (the fast path); reads and searches see them.
      const store = new WriteBuffer(database);
      // Entries read through the buffer: it carries the caller's access as the database store does.
      bindRequestAccess(store, outer.access, deps.searchParams);
      const identities = new Map<string, string>();
      const plans = new Map<number, Plan>();
      const written = new Map<string, number>();
      const claim = (entry: BundleEntryRequest, identity: string) => {
        const other = written.get(identity);
        if (other !== undefined) throw entryError(entry.index, 'request', `${identity} is also the target of Bundle.entry[${other}]; a transaction may change a resource once`);
        written.set(identity, entry.index);
        if (entry.fullUrl) identities.set(entry.fullUrl, identity);
      };
      for (const entry of entries) {
        try {
          // Every entry is authorized as the client wrote it, before any data is touched.
          await authorize(deps.hooks, entry.request, dispatch(entry.request).target);
          plans.set(entry.index, await settle(store, deps, entry, claim));
        } catch (error) {
          throw errorWithEntry(error, entry.index);
        }
      }
      await resolveConditionalReferences(store, deps, entries, identities);
      await prefetchTargets(store, entries, plans);

      const responses: JsonObject[] = new Array(entries.length);
      const ordered = [...entries].sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
      for (const entry of ordered) {
        const plan = plans.get(entry.index) as Plan;
        const started = new Date();
        try {
          if (plan.kind === 'exists') {
            responses[entry.index] = entryResponse(outer, { status: 200, headers: {} }, plan.version);
            // A conditional create that found its resource completes too, naming what it found.
            const { resourceType, id, versionId, content } = plan.version;
            const found: FhirResponse = { status: 200, headers: { ETag: etag(versionId) }, body: content === null ? undefined : { kind: 'raw', text: content } };
            await deps.hooks.interactionCompleted({ request: entry.request, target: { interaction: 'create', resourceType, id }, started, status: 200, response: found, changes: [] }, store);
            continue;
          }
          const request = { ...plan.request, body: plan.request.bodyKind === 'resource' ? rewriteReferences(plan.request.body, identities) : plan.request.body };
          const interaction = dispatch(request);
          const changes = collectChanges(store);
          const response = await interaction.run(store);
          responses[entry.index] = entryResponse(outer, response);
          // Each entry completes inside the transaction: its audit rows commit with the bundle or not at all.
          await deps.hooks.interactionCompleted({ request, target: interaction.target, started, status: response.status, response, changes }, store);
        } catch (error) {
          throw errorWithEntry(error, entry.index);
        }
      }
      await store.flush();
      return { status: 200, headers: {}, body: { kind: 'json', value: { resourceType: 'Bundle', type: 'transaction-response', entry: responses } } };
    },
  };
}

/**
 * The identity an entry writes and how it will run: creates get their id now, conditional
 * creates and updates search now (under the same lock a REST conditional write takes, so two
 * concurrent bundles cannot both create).
 */
async function settle(
  store: ResourceStore,
  deps: InteractionDeps,
  entry: BundleEntryRequest,
  claim: (entry: BundleEntryRequest, identity: string) => void,
): Promise<Plan> {
  const { request, path } = entry;
  const [type, id] = path;
  if (entry.method === 'POST' && path.length === 1) {
    if (request.ifNoneExist !== undefined) {
      const guard = await openWriteGuard(store, deps.searchParams, request.access, 'c', type);
      const matches = guard.reachable(await findConditionalMatches(store, deps, type, ifNoneExistParams(request.ifNoneExist), 'ifNoneExist'));
      if (matches.length > 1) throw entryError(entry.index, 'request.ifNoneExist', `matched ${matches.length} or more ${type} resources`, 412);
      if (matches.length === 1) {
        claim(entry, `${type}/${matches[0].id}`);
        return { kind: 'exists', version: matches[0] };
      }
    }
    const assignedId = randomUUID();
    claim(entry, `${type}/${assignedId}`);
    return { kind: 'run', request: { ...request, ifNoneExist: undefined, assignedId } };
  }
  if (entry.method === 'PUT' && path.length === 1 && [...entry.query.keys()].length > 0) {
    // Conditional update: settled to a plain update of the resource found (or a new one).
    const guard = await openWriteGuard(store, deps.searchParams, request.access, 'u', type);
    const matches = guard.reachable(await findConditionalMatches(store, deps, type, entry.query, 'request.url'));
    if (matches.length > 1) throw entryError(entry.index, 'request.url', `the criteria matched more than one ${type}`, 412);
    const resource = entry.resource as JsonObject;
    const bodyId = resource.id === undefined ? undefined : String(resource.id);
    if (matches.length === 1 && bodyId !== undefined && bodyId !== matches[0].id) {
      throw entryError(entry.index, 'resource.id', `id '${bodyId}' does not match the resource found (${matches[0].id})`);
    }
    const target = matches[0]?.id ?? bodyId ?? randomUUID();
    claim(entry, `${type}/${target}`);
    // An id the server chose is marked as such: creating it tells nothing (update.ts, write-check.ts).
    const assigned = matches.length === 0 && bodyId === undefined ? { assignedId: target } : {};
    return { kind: 'run', request: { ...request, ...assigned, path: [type, target], query: new URLSearchParams(), body: { ...resource, id: target } } };
  }
  if ((entry.method === 'PUT' || entry.method === 'PATCH' || entry.method === 'DELETE') && path.length === 2) claim(entry, `${type}/${id}`);
  return { kind: 'run', request };
}

/** The current rows that PUT, PATCH and DELETE entries will read, one locked read per type. */
async function prefetchTargets(store: WriteBuffer, entries: BundleEntryRequest[], plans: Map<number, Plan>): Promise<void> {
  const targets = entries.flatMap((entry) => {
    const plan = plans.get(entry.index);
    if (plan?.kind !== 'run' || !['PUT', 'PATCH', 'DELETE'].includes(entry.method) || plan.request.path.length !== 2) return [];
    const [type, id] = plan.request.path;
    return [{ type, id }];
  });
  for (const [type, list] of groupBy(targets, (t) => t.type)) await store.prefetch(type, list.map((t) => t.id));
}

/** Conditional references resolve to the one resource their search finds (http.html#trules). */
async function resolveConditionalReferences(store: ResourceStore, deps: InteractionDeps, entries: BundleEntryRequest[], identities: Map<string, string>): Promise<void> {
  for (const entry of entries) {
    if (entry.request.bodyKind !== 'resource') continue;
    for (const reference of conditionalReferences(entry.resource)) {
      if (identities.has(reference)) continue;
      const q = reference.indexOf('?');
      const type = reference.slice(0, q);
      try {
        const matches = await findConditionalMatches(store, deps, type, new URLSearchParams(reference.slice(q + 1)), 'reference');
        if (matches.length === 0) throw entryError(entry.index, 'resource', `the conditional reference ${reference} matches no resource`);
        if (matches.length > 1) throw entryError(entry.index, 'resource', `the conditional reference ${reference} matches more than one resource`, 412);
        identities.set(reference, `${type}/${matches[0].id}`);
      } catch (error) {
        throw errorWithEntry(error, entry.index);
      }
    }
  }
}
