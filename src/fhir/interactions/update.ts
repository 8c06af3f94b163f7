// update, update-as-create and conditional update (FHIR R4 http.html#update, #cond-update).
import { randomUUID } from 'node:crypto';
import type { ResourceStore } from '../../storage/resource-store.js';
import { findConditionalMatches } from '../conditional.js';
import { badRequest, preconditionFailed } from '../../core/errors.js';
import { checkIfMatch } from '../preconditions.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import { assertValidId } from '../../core/ids.js';
import type { NumberLexemes } from '../json-numbers.js';
import { sameContent } from '../versioning.js';
import { resourceBody, storeVersion, writeResponse, type Interaction, type InteractionDeps } from './context.js';

/** Writes `resource` as the next version of type/id; shared by update, conditional update and patch. */
export async function updateResource(
  store: ResourceStore,
  deps: InteractionDeps,
  req: FhirRequest,
  type: string,
  id: string,
  resource: JsonObject,
  numbers: NumberLexemes | undefined = req.bodyNumbers,
): Promise<FhirResponse> {
  const current = await store.readCurrent(type, id, { forUpdate: true });
  checkIfMatch(req, current);
  if (current && !current.deleted && current.content !== null && sameContent(JSON.parse(current.content), resource)) {
    return writeResponse(req, 200, current, `${type}/${id} unchanged: content identical to version ${current.versionId}`);
  }
  const created = !current || current.deleted;
  const method = req.method === 'PATCH' ? 'PATCH' : 'PUT';
  const stored = await storeVersion(store, deps, req, { type, id, method, status: created ? 201 : 200, numbers }, resource, current);
  return writeResponse(req, created ? 201 : 200, stored, `${created ? 'Created' : 'Updated'} ${type}/${id}`);
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
      const matches = await findConditionalMatches(store, deps, type, req.query, 'search criteria');
      if (matches.length > 1) throw preconditionFailed(`The criteria matched more than one ${type}; be more selective`);
      const bodyId = resource.id === undefined ? undefined : String(resource.id);
      if (matches.length === 1 && bodyId !== undefined && bodyId !== matches[0].id) {
        throw badRequest(`id '${bodyId}' in the body does not match the resource found (${matches[0].id})`, [`${type}.id`]);
      }
      if (bodyId !== undefined) assertValidId(bodyId, `${type}.id`);
      const id = matches[0]?.id ?? bodyId ?? randomUUID();
      return updateResource(store, deps, req, type, id, resource);
    },
  };
}
