// The sign-in pages of the SMART authorization flow (issue 10): username and password, then,
// when the user has one or the tenant requires it, the RFC 6238 one-time code. Plain forms that
// POST to the same address, with labelled inputs and stable ids/names for browser automation.
import { CSRF_FIELD } from '../csrf.js';
import { errorNote, html, page } from './html.js';

export interface SignInPageInput {
  nonce: string;
  action: string;
  csrfToken: string;
  clientName: string;
  error?: string;
  username?: string;
}

export function loginPage(input: SignInPageInput): string {
  return page({
    title: 'Sign in',
    nonce: input.nonce,
    body: html`<h1>Sign in</h1>
<p><strong id="client-name">${input.clientName}</strong> is asking to connect to your health record.</p>
${errorNote(input.error)}
<form method="post" action="${input.action}" id="login-form">
<input type="hidden" name="${CSRF_FIELD}" value="${input.csrfToken}">
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" required value="${input.username ?? ''}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="sign-in">Sign in</button>
</form>`,
  });
}

export function totpPage(input: SignInPageInput): string {
  return page({
    title: 'Enter your one-time code',
    nonce: input.nonce,
    body: html`<h1>Enter your one-time code</h1>
<p>Open your authenticator app and enter the 6-digit code it shows for this account.</p>
${errorNote(input.error)}
<form method="post" action="${input.action}" id="totp-form">
<input type="hidden" name="${CSRF_FIELD}" value="${input.csrfToken}">
<label for="totp">One-time code</label>
<input type="text" id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,8}" required>
<button type="submit" id="verify-code">Verify</button>
</form>`,
  });
}
