// patch (FHIR R4 http.html#patch): JSON Patch (application/json-patch+json) or FHIRPath
// Patch (a Parameters resource, fhirpatch.html). The patched result is validated and
// stored through the same path as an update. Under SMART scopes (access/write-check.ts) a
// resource out of the caller's reach (or deleted, for a constrained caller) answers exactly like
// an unknown id; the patched content is judged by updateResource.
import type { ResourceStore } from '../../storage/resource-store.js';
import { badRequest, gone, notFound } from '../../core/errors.js';
import { captureNumberLexemes } from '../json-numbers.js';
import { checkIfMatch } from '../preconditions.js';
import { applyFhirPathPatch } from '../patch/fhirpath-patch.js';
import { applyJsonPatch } from '../patch/json-patch.js';
import type { FhirRequest, JsonObject } from '../../core/types.js';
import { openWriteGuard } from '../access/write-check.js';
import type { Interaction, InteractionDeps } from './context.js';
import { updateResource } from './update.js';

function applyPatch(req: FhirRequest, current: JsonObject): JsonObject {
  if (req.bodyKind === 'json-patch') return applyJsonPatch(current, req.body);
  const body = req.body as JsonObject | undefined;
  if (body && typeof body === 'object' && body.resourceType === 'Parameters') return applyFhirPathPatch(current, body);
  throw badRequest('A PATCH body must be a JSON Patch document (application/json-patch+json) or a FHIRPath Patch Parameters resource');
}

export function patchInteraction(req: FhirRequest, deps: InteractionDeps, type: string, id: string): Interaction {
  return {
    target: { interaction: 'patch', resourceType: type, id },
    readOnly: false,
    async run(store: ResourceStore) {
      const guard = await openWriteGuard(store, deps.searchParams, req.access, 'u', type);
      const current = guard.visible(await store.readCurrent(type, id, { forUpdate: true }));
      if (!current) throw notFound(`${type}/${id} is not known`);
      if (current.deleted || current.content === null) throw gone(`${type}/${id} was deleted`);
      checkIfMatch(req, current);
      const patched = applyPatch(req, JSON.parse(current.content) as JsonObject);
      if (patched.resourceType !== type) throw badRequest('A patch may not change resourceType', ['resourceType']);
      if (patched.id !== id) throw badRequest('A patch may not change the id', [`${type}.id`]);
      if (deps.config.validateResources) deps.validator.assertValid(patched);
      // Decimals keep the spelling they had in the stored version (datatypes.html#decimal).
      return updateResource(store, deps, req, type, id, patched, captureNumberLexemes(current.content));
    },
  };
}
