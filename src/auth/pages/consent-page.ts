// The consent page of the SMART authorization flow (SMART App Launch 2.x app-launch.html: the
// user authorizes the app): the app's name, each scope it asked for in plain words with a
// checkbox the user may untick, the patient in context, and Approve / Deny.
import { CSRF_FIELD } from '../csrf.js';
import { describeScope } from './describe-scope.js';
import { html, page } from './html.js';

export interface ConsentPageInput {
  nonce: string;
  action: string;
  csrfToken: string;
  clientName: string;
  scopes: readonly string[];
  /** Who the user is and which patient is in context, shown for the user's information. */
  username?: string;
  patientLabel?: string;
}

export function consentPage(input: ConsentPageInput): string {
  const items = input.scopes.map(
    (scope, i) => html`<li class="scope">
<input type="checkbox" id="scope-${i}" name="scope" value="${scope}" checked>
<label for="scope-${i}">${describeScope(scope)} <span class="muted">(<code>${scope}</code>)</span></label>
</li>`,
  );
  return page({
    title: 'Allow access?',
    nonce: input.nonce,
    body: html`<h1>Allow <span id="client-name">${input.clientName}</span> to access your record?</h1>
${input.username ? html`<p class="muted">Signed in as <span id="signed-in-user">${input.username}</span>.</p>` : ''}
${input.patientLabel ? html`<p>Patient: <strong id="patient-in-context">${input.patientLabel}</strong></p>` : ''}
<form method="post" action="${input.action}" id="consent-form">
<input type="hidden" name="${CSRF_FIELD}" value="${input.csrfToken}">
<fieldset>
<legend>The app will be able to:</legend>
<ul class="choices">
${items}
</ul>
</fieldset>
<p class="muted">Untick anything you do not want to allow.</p>
<button type="submit" id="approve" name="decision" value="approve">Approve</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>`,
  });
}
