// AuditEvent.entity for one interaction (FHIR R4 auditevent.html; IHE BALP RESTful patterns):
// the resource read or written (Type/id/_history/version when known, role Domain Resource),
// the patient concerned (role Patient), the query of a search (its raw query string, base64,
// role Query) and the request id that ties the event to the server's logs and to its bundle.
// Only references and identifiers: nothing of the resources' content.
import type { AuditEventEntity } from 'fhir/r4.js';
import { isResourceType } from '../../core/resource-types.js';
import { ENTITY } from './codes.js';
import type { AuditedResource, RestEvent } from './input.js';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** `Type/id` checked: the builder is fed by the server, so a malformed reference is a bug. */
function checkedReference(reference: string, expectedType?: string): string {
  const slash = reference.indexOf('/');
  const type = reference.slice(0, slash);
  const id = reference.slice(slash + 1);
  if (slash < 0 || !isResourceType(type) || !ID.test(id) || (expectedType !== undefined && type !== expectedType)) {
    throw new Error(`Not a ${expectedType ?? 'resource'} reference (Type/id): ${JSON.stringify(reference)}`);
  }
  return reference;
}

/** The patients of `references`, checked, each once, in their first order. */
export function distinctPatients(references: readonly string[] = []): string[] {
  return [...new Set(references.map((r) => checkedReference(r, 'Patient')))];
}

export function resourceEntity(resource: AuditedResource, withVersion: boolean): AuditEventEntity {
  let reference = checkedReference(resource.reference);
  if (withVersion && resource.versionId !== undefined) {
    const version = String(resource.versionId);
    if (!ID.test(version)) throw new Error(`Not a version id: ${JSON.stringify(version)}`);
    reference += `/_history/${version}`;
  }
  return { what: { reference }, type: { ...ENTITY.resource.type }, role: { ...ENTITY.resource.role } };
}

export function patientEntity(reference: string): AuditEventEntity {
  return { what: { reference: checkedReference(reference, 'Patient') }, type: { ...ENTITY.patient.type }, role: { ...ENTITY.patient.role } };
}

/**
 * The query exactly as the client sent it (base64 of its UTF-8 bytes), described by the
 * method and path it was sent to (no query values in the description).
 */
export function queryEntity(query: string, method?: string, path?: string): AuditEventEntity {
  const entity: AuditEventEntity = {
    type: { ...ENTITY.query.type },
    role: { ...ENTITY.query.role },
  };
  // base64Binary has no empty value: a search without parameters has only the description.
  if (query !== '') entity.query = Buffer.from(query, 'utf8').toString('base64');
  const description = [method, path].filter((part) => part).join(' ');
  if (description) entity.description = description;
  return entity;
}

/** The request id entity, with the bundle entry it was, when it was one. Undefined when there is neither. */
export function requestEntity(id: string | undefined, bundleEntry: RestEvent['bundleEntry']): AuditEventEntity | undefined {
  if (id === undefined && bundleEntry === undefined) return undefined;
  const entity: AuditEventEntity = { type: { ...ENTITY.requestId.type } };
  if (id !== undefined) entity.what = { identifier: { value: id } };
  if (bundleEntry) entity.detail = [{ type: `${bundleEntry.bundleType}-entry`, valueString: String(bundleEntry.index) }];
  return entity;
}
