// Is one version of a resource inside the Patient compartment of the launch patient, and of no
// other patient? The write side of patient-context scopes (SMART App Launch 2.x
// scopes-and-launch-context.html, issue 10 "Scopes and enforcement"), on the R4 Patient
// CompartmentDefinition (compartmentdefinition-patient.html) as the search registry knows it.
//
// Inside means what the read side's compartment search finds: one of the type's compartment
// parameters holds the index entry `Patient/<patient>` (relative references, as search stores
// them), or, for a Patient, its id is the patient's. Of no other patient means no reference in
// the content — in any element, contained resources included, relative or absolute — names
// `Patient/<other id>`: such a reference would put the resource in that patient's compartment
// (a performer, a Patient.link) or tie it to that patient's record. Absolute references to
// another server's Patient with another id are refused too (a reference to this server's base
// cannot be told apart at index time); that errs on the side of refusing.
import type { JsonObject } from '../../core/types.js';
import type { SearchRegistry } from '../../search/registry/registry.js';
import type { SearchIndex } from '../../search/types.js';

const ID = '[A-Za-z0-9\\-.]{1,64}';
/** `Patient/<id>` at the end of a reference (relative, or the path of an absolute one), optionally versioned. */
const PATIENT_REFERENCE = new RegExp(`(?:^|/)Patient/(${ID})(?:/_history/${ID})?$`);

/** The patient id a reference string names, if it names one. */
export function referencedPatient(reference: string): string | undefined {
  return PATIENT_REFERENCE.exec(reference)?.[1];
}

/** The first reference in `value` (Reference.reference anywhere, and string index entries) naming a patient other than `patient`. */
export function otherPatientReference(value: unknown, patient: string): string | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = otherPatientReference(item, patient);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value as JsonObject)) {
    if (key === 'reference' && typeof item === 'string') {
      const named = referencedPatient(item);
      if (named !== undefined && named !== patient) return item;
    } else if (item !== null && typeof item === 'object') {
      const found = otherPatientReference(item, patient);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Why the version `resource` (of `type`, stored as `id`, with search index `index`) is not
 * inside the compartment of Patient/`patient` alone; undefined when it is.
 */
export function compartmentProblem(
  registry: SearchRegistry,
  type: string,
  id: string,
  resource: JsonObject,
  index: SearchIndex,
  patient: string,
): string | undefined {
  const other = otherPatientReference(resource, patient);
  if (other !== undefined) return `it refers to ${other}, another patient`;
  if (type === 'Patient') {
    // A Patient is in its own compartment by id only: a patient-context scope never makes or
    // changes another Patient record (even one whose link points at the launch patient).
    return id === patient ? undefined : `Patient/${id} is not the launch patient Patient/${patient}`;
  }
  const codes = registry.compartmentParams('Patient', type);
  if (codes.length === 0) return `${type} is not in the Patient compartment`;
  const own = `Patient/${patient}`;
  for (const code of codes) {
    for (const entry of index[code] ?? []) {
      const named = typeof entry === 'string' ? referencedPatient(entry) : undefined;
      if (named !== undefined && named !== patient) return `its ${code} refers to ${entry}, another patient`;
    }
  }
  if (!codes.some((code) => (index[code] ?? []).includes(own))) {
    return `none of its compartment references (${codes.join(', ')}) is ${own}`;
  }
  return undefined;
}
