// read and vread (FHIR R4 http.html#read, #vread), with conditional read (#cread). A resource
// out of the caller's reach (SMART scopes: access/read-constraint.ts) answers exactly like one
// that does not exist: the store's read carries the constraint, and a vread also checks the
// version's own content (an old version may have been another patient's).
import type { ResourceStore, StoredVersion } from '../../storage/resource-store.js';
import { gone, notFound } from '../../core/errors.js';
import { notModified } from '../preconditions.js';
import type { FhirRequest, FhirResponse } from '../../core/types.js';
import { shapeResource, versionHeaders, type Interaction } from './context.js';
import { requestAccess } from '../access/read-constraint.js';

function found(req: FhirRequest, v: StoredVersion | undefined, label: string): FhirResponse {
  if (!v) throw notFound(`${label} is not known`);
  if (v.deleted || v.content === null) {
    const error = gone(`${label} was deleted (version ${v.versionId})`);
    throw error;
  }
  return { status: 200, headers: versionHeaders(req, v, false), body: shapeResource(req, v.content) };
}

export function readInteraction(req: FhirRequest, type: string, id: string): Interaction {
  return {
    target: { interaction: 'read', resourceType: type, id },
    readOnly: true,
    async run(store: ResourceStore) {
      const access = await requestAccess(store, req.access);
      const current = await store.readCurrent(type, id, { reach: access.reach(['r']) });
      if (current && !current.deleted && notModified(req, current)) {
        return { status: 304, headers: versionHeaders(req, current, false) };
      }
      return found(req, current, `${type}/${id}`);
    },
  };
}

export function vreadInteraction(req: FhirRequest, type: string, id: string, vid: string): Interaction {
  return {
    target: { interaction: 'vread', resourceType: type, id },
    readOnly: true,
    async run(store: ResourceStore) {
      const label = `${type}/${id}/_history/${vid}`;
      if (!/^[1-9]\d{0,8}$/.test(vid)) throw notFound(`${label} is not known (versions are positive integers)`);
      const access = await requestAccess(store, req.access);
      const stored = await store.readVersion(type, id, Number(vid), { reach: access.reach(['r']) });
      const version = stored && access.versionInReach(type, id, stored.content, ['r']) ? stored : undefined;
      if (version && !version.deleted && notModified(req, version)) {
        return { status: 304, headers: versionHeaders(req, version, false) };
      }
      return found(req, version, label);
    },
  };
}
