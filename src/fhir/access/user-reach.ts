// How far user-context scopes reach (SMART App Launch 2.x: `user/` scopes grant what the user may
// access), decided from the token's fhirUser, relative (`Patient/1`) or absolute
// (`https://ehr.example/fhir/Patient/1`, as external identity providers write it):
// - a Patient user reaches that patient's compartment, like patient-context scopes;
// - a Practitioner or PractitionerRole user reaches the tenant (no care-team boundaries yet);
// - anyone else, or a token that does not say who the user is, reaches nothing: Hearth cannot
//   tell what a RelatedPerson or an unnamed user may see, and refusing is safer than guessing.
// Read side (access-scope.ts) and write side (write-check.ts) both ask here.
import type { AccessContext } from '../../core/types.js';

export type UserReach = { kind: 'patient'; patient: string } | { kind: 'tenant' } | { kind: 'none' };

const FHIR_USER = /(?:^|\/)(Patient|Practitioner|PractitionerRole)\/([A-Za-z0-9\-.]{1,64})$/;

export function userReach(access: Pick<AccessContext, 'fhirUser'>): UserReach {
  const match = FHIR_USER.exec(access.fhirUser ?? '');
  if (!match) return { kind: 'none' };
  return match[1] === 'Patient' ? { kind: 'patient', patient: match[2] } : { kind: 'tenant' };
}
