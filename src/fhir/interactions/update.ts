// update, update-as-create and conditional update (FHIR R4 http.html#update, #cond-update).
// Under SMART scopes (access/write-check.ts) the current version is judged as stored, read
// unconstrained and locked inside the write transaction: out of the caller's reach it answers
// exactly like an unknown id, and a constrained caller cannot update-as-create with an id of
// their choosing (that would tell a free id from someone else's); the new content must be
// within reach (403).
import { randomUUID } from 'node:crypto';
import type { ResourceStore } from '../../storage/resource-store.js';
import { findConditionalMatches } from '../conditional.js';
import { badRequest, notFound, preconditionFailed } from '../../core/errors.js';
import { checkIfMatch } from '../preconditions.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import { assertValidId } from '../../core/ids.js';
import type { NumberLexemes } from '../json-numbers.js';
import { sameContent } from '../versioning.js';
import { openWriteGuard } from '../access/write-check.js';
import { resourceBody, storeVersion, writeResponse, type Interaction, type InteractionDeps } from './context.js';

export interface UpdateOptions {
  /** The server chose `id` (a conditional update that matched nothing): creating it is no existence oracle. */
  serverAssignedId?: boolean;
}

/** Writes `resource` as the next version of type/id; shared by update, conditional update and patch. */
export async function updateResource(
  store: ResourceStore,
  deps: InteractionDeps,
  req: FhirRequest,
  type: string,
  id: string,
  resource: JsonObject,
  numbers: NumberLexemes | undefined = req.bodyNumbers,
  options: UpdateOptions = {},
): Promise<FhirResponse> {
  const guard = await openWriteGuard(store, deps.searchParams, req.access, 'u', type);
  const stored = await store.readCurrent(type, id, { forUpdate: true });
  const current = guard.visible(stored);
  checkIfMatch(req, current);
  if (!current && guard.constrained) {
    // Out of reach, deleted or unknown: all alike. Only an id the server chose may be created.
    const serverAssigned = options.serverAssignedId === true || (req.assignedId !== undefined && req.assignedId === id);
    if (stored || !serverAssigned) throw notFound(`${type}/${id} is not known`);
  }
  guard.assertContent(id, resource, current);
  if (current && !current.deleted && current.content !== null && sameContent(JSON.parse(current.content), resource)) {
    return writeResponse(req, 200, current, `${type}/${id} unchanged: content identical to version ${current.versionId}`);
  }
  const created = !current || current.deleted;
  const method = req.method === 'PATCH' ? 'PATCH' : 'PUT';
  const written = await storeVersion(store, deps, req, { type, id, method, status: created ? 201 : 200, numbers }, resource, current);
  return writeResponse(req, created ? 201 : 200, written, `${created ? 'Created' : 'Updated'} ${type}/${id}`);
}

export function updateInteraction(req: FhirRequest, deps: InteractionDeps, type: string, id: string): Interaction {
  return {
    target: { interaction: 'update', resourceType: type, id },
    readOnly: false,
    async run(store) {
      const resource = resourceBody(req, deps, type);
      if (resource.id === undefined) throw badRequest('The resource in an update must have an id', [`${type}.id`]);
      if (resource.id !== id) {
        throw badRequest(`id '${String(resource.id)}' in the body does not match '${id}' in the URL`, [`${type}.id`]);
      }
      return updateResource(store, deps, req, type, id, resource);
    },
  };
}

export function conditionalUpdateInteraction(req: FhirRequest, deps: InteractionDeps, type: string): Interaction {
  return {
    target: { interaction: 'update', resourceType: type },
    readOnly: false,
    async run(store) {
      const resource = resourceBody(req, deps, type);
      const guard = await openWriteGuard(store, deps.searchParams, req.access, 'u', type);
      const matches = guard.reachable(await findConditionalMatches(store, deps, type, req.query, 'search criteria'));
      if (matches.length > 1) throw preconditionFailed(`The criteria matched more than one ${type}; be more selective`);
      const bodyId = resource.id === undefined ? undefined : String(resource.id);
      if (matches.length === 1 && bodyId !== undefined && bodyId !== matches[0].id) {
        throw badRequest(`id '${bodyId}' in the body does not match the resource found (${matches[0].id})`, [`${type}.id`]);
      }
      if (bodyId !== undefined) assertValidId(bodyId, `${type}.id`);
      const id = matches[0]?.id ?? bodyId ?? randomUUID();
      const serverAssignedId = matches.length === 0 && bodyId === undefined;
      return updateResource(store, deps, req, type, id, resource, req.bodyNumbers, { serverAssignedId });
    },
  };
}
