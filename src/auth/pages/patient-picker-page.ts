// The patient picker of a standalone SMART launch (SMART App Launch 2.x, launch/patient and
// the context-standalone-patient capability): a name search over the tenant's Patients, a page
// of results with name and birth date, a link to the next page, and a choice to submit.
import { CSRF_FIELD } from '../csrf.js';
import { errorNote, html, page } from './html.js';

export interface PatientChoice {
  id: string;
  name: string;
  birthDate?: string;
}

export interface PatientPickerInput {
  nonce: string;
  action: string;
  csrfToken: string;
  clientName: string;
  query: string;
  patients: readonly PatientChoice[];
  /** The address of the next page of results, when there is one. */
  nextHref?: string;
  error?: string;
}

export function patientPickerPage(input: PatientPickerInput): string {
  const rows = input.patients.map(
    (p, i) => html`<li class="patient">
<input type="radio" id="patient-${i}" name="patient" value="${p.id}" data-patient-id="${p.id}" required>
<label for="patient-${i}"><span class="patient-name">${p.name}</span> <span class="muted">born ${p.birthDate ?? 'unknown'}</span></label>
</li>`,
  );
  return page({
    title: 'Choose a patient',
    nonce: input.nonce,
    body: html`<h1>Choose a patient</h1>
<p><strong id="client-name">${input.clientName}</strong> will work with the patient you choose.</p>
${errorNote(input.error)}
<form method="get" action="${input.action}" id="patient-search" role="search">
<label for="patient-name-search">Search by name</label>
<input type="search" id="patient-name-search" name="name" value="${input.query}">
<button type="submit" id="search-patients">Search</button>
</form>
${
  input.patients.length === 0
    ? html`<p id="no-patients">No patients found.</p>`
    : html`<form method="post" action="${input.action}" id="patient-form">
<input type="hidden" name="${CSRF_FIELD}" value="${input.csrfToken}">
<fieldset>
<legend>Patients</legend>
<ul class="choices">
${rows}
</ul>
</fieldset>
<button type="submit" id="choose-patient">Continue with this patient</button>
</form>`
}
${input.nextHref ? html`<p><a id="next-patients" href="${input.nextHref}">More patients</a></p>` : ''}`,
  });
}
