// Logical ids (FHIR R4 datatypes.html#id): 1–64 characters from [A-Za-z0-9\-\.].
// Ids appear in URLs and storage keys, so anything else is refused before it gets there.
import { badRequest } from './errors.js';

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function isValidId(id: string): boolean {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

/** Throws FhirError 400 naming `expression` (e.g. "Patient.id") when `id` is not a valid id. */
export function assertValidId(id: string, expression?: string): void {
  if (isValidId(id)) return;
  // Echo only a bounded, printable prefix: the id came from the client and may be huge.
  const shown = String(id).slice(0, 70).replace(/[^\x20-\x7e]/g, '?');
  const more = String(id).length > 70 ? '…' : '';
  throw badRequest(
    `Invalid id '${shown}${more}': an id is 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'`,
    expression ? [expression] : undefined,
  );
}
