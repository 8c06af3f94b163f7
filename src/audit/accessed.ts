// What one interaction touched, for its AuditEvents (issue 11: "entities (the resource with its
// version, the patient)"; "one event per patient whose data it returned"). Read from what the
// unit of work already holds — the versions it wrote and the JSON text it answers — without
// parsing it: the patients are found by scanning the text for Patient references and Patient
// resources. A reference anywhere in a resource (subject, patient, performer, a contained
// resource…) counts: the Patient compartment is a subset of that, and recording one patient too
// many is the safe side of an access log.
import type { AuditedResource } from './balp/index.js';
import type { CompletedInteraction } from '../fhir/hooks.js';
import { bodyText } from '../core/response-body.js';
import { isResourceType } from '../core/resource-types.js';
import { isValidId } from '../core/ids.js';

const ID = '[A-Za-z0-9\\-.]{1,64}';
// "reference": "…Patient/<id>" or "…Patient/<id>/_history/<v>" (relative or absolute).
const REFERENCE = new RegExp(`"reference"\\s*:\\s*"(?:[^"]*/)?Patient/(${ID})(?:/_history/${ID})?"`, 'g');
// A Patient resource as this server serializes it: resourceType first, id second.
const PATIENT_RESOURCE = new RegExp(`"resourceType"\\s*:\\s*"Patient"\\s*,\\s*"id"\\s*:\\s*"(${ID})"`, 'g');

/** `Patient/<id>` of every patient the JSON text names, each once, in order of appearance. */
export function patientsInText(text: string, into: Set<string> = new Set()): Set<string> {
  for (const match of text.matchAll(PATIENT_RESOURCE)) into.add(`Patient/${match[1]}`);
  for (const match of text.matchAll(REFERENCE)) into.add(`Patient/${match[1]}`);
  return into;
}

/** The version an ETag names (W/"3" → 3). */
function etagVersion(etag: string | undefined): string | undefined {
  return etag ? /^W\/"([^"]+)"$/.exec(etag)?.[1] : undefined;
}

export interface Accessed {
  entities: AuditedResource[];
  patients: string[];
}

export function accessedOf(unit: CompletedInteraction): Accessed {
  const { target, response, changes } = unit;
  const patients = new Set<string>();
  if (changes.length > 0) {
    const entities = changes.map((c) => {
      if (c.resourceType === 'Patient') patients.add(`Patient/${c.id}`);
      if (c.content !== null) patientsInText(c.content, patients);
      return { reference: `${c.resourceType}/${c.id}`, versionId: c.versionId };
    });
    return { entities, patients: [...patients] };
  }
  const entities: AuditedResource[] = [];
  // Only a target that names a real resource (an unroutable request may name anything).
  if (target.resourceType && target.id && isResourceType(target.resourceType) && isValidId(target.id)) {
    const versionId = unit.status < 400 ? etagVersion(response?.headers.ETag) : undefined;
    entities.push({ reference: `${target.resourceType}/${target.id}`, ...(versionId ? { versionId } : {}) });
  }
  const body = response?.body;
  if (unit.status < 400 && body && body.kind !== 'stream') patientsInText(bodyText(body), patients);
  return { entities, patients: [...patients] };
}
