// Pages of the SMART authorization flow that only inform: the error page (an authorize request
// that cannot be answered with a redirect, RFC 6749 section 4.1.2.1: unknown client or
// redirect_uri, so the user is told instead of being sent anywhere; an expired session; a
// refused form), and the page that returns the browser to the app with its code or error.
//
// The return page exists because the consent form's CSP allows form-action 'self' only, and
// browsers apply form-action to the redirects that follow a form submission: a 303 from the
// consent POST to the app's redirect_uri would be blocked. The page instead navigates with a
// meta refresh (not a form submission) and offers a link.
import { html, page } from './html.js';

export function errorPage(input: { nonce: string; title: string; message: string }): string {
  return page({
    title: input.title,
    nonce: input.nonce,
    body: html`<h1 id="error-title">${input.title}</h1>
<p class="error" id="error" role="alert">${input.message}</p>
<p>You can close this window and start again from the app.</p>`,
  });
}

export function returnToAppPage(input: { nonce: string; location: string; clientName: string }): string {
  return page({
    title: 'Returning to the app',
    nonce: input.nonce,
    head: html`<meta http-equiv="refresh" content="0;url=${input.location}">`,
    body: html`<h1>Returning to ${input.clientName}</h1>
<p><a id="return-to-app" href="${input.location}">Continue to the app</a></p>`,
  });
}
