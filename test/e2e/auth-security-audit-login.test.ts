// The front channel's security events over HTTP (issue 11 "Recording"; DICOM "User
// Authentication", IHE BALP): a sign-in is a `login` (account id, fhirUser, the authorize
// request's client) recorded before the session moves on; every refused attempt is a
// `login-failed` naming an existing account by its id, and nothing the user typed. A failing
// audit trail turns a sign-in into a 503 page that ends the session and clears its cookie.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { newTotpSecret, totpCode } from '../../src/auth/totp.js';
import { UserStore } from '../../src/auth/users/user-store.js';
import type { SecurityAuditEntry } from '../../src/audit/security-sink.js';
import { startAuditedAuthServer, type AuditedAuthServer } from '../support/auth-security-audit.js';
import { BrowserAgent, csrfOf, type PageResult } from '../support/browser.js';
import { requireServices } from '../support/services.js';
import { registerClient } from '../support/smart-clients.js';

const REDIRECT = 'https://app.example/callback';
const PASSWORD = 'a long enough password';
const SCOPE = 'openid fhirUser user/*.rs';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('Security audit events of the sign-in pages (e2e)', function () {
  this.timeout(60_000);
  let server: AuditedAuthServer;
  let tenant: string;
  let base: string;

  before(async function () {
    await requireServices(this);
    server = await startAuditedAuthServer();
  });
  after(async () => server?.close());
  beforeEach(async () => {
    server.sink.failing = false;
    tenant = await server.newTenant();
    base = server.baseOf(tenant);
    await registerClient(server.database, tenant, { clientId: 'app', name: 'App', kind: 'public', redirectUris: [REDIRECT], scope: SCOPE });
  });

  const entries = () => server.sink.of(tenant);
  const only = (): SecurityAuditEntry => {
    const all = entries();
    assert.equal(all.length, 1, JSON.stringify(all));
    return all[0];
  };

  /** Starts an authorize request; the agent ends on the login page. */
  async function start(agent: BrowserAgent): Promise<PageResult> {
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      response_type: 'code', client_id: 'app', redirect_uri: REDIRECT, scope: SCOPE, state: 's', aud: base,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    });
    const res = await agent.get(`${base}/auth/authorize?${query}`);
    assert.equal(res.status, 303, res.html);
    return agent.get(res.location!);
  }

  const login = (agent: BrowserAgent, page: PageResult, username: string, password = PASSWORD, requestId?: string) =>
    agent.request(`${base}/auth/login`, {
      method: 'POST',
      headers: { ...FORM, ...(requestId ? { 'x-request-id': requestId } : {}) },
      body: new URLSearchParams({ csrf_token: csrfOf(page.html), username, password }),
    });

  it('records a sign-in as login: the account id, fhirUser, the client, the request', async () => {
    const user = await server.addUser(tenant, 'dr.who', PASSWORD, 'Practitioner/d1');
    const agent = new BrowserAgent();
    const page = await start(agent);
    assert.equal(entries().length, 0, 'starting a flow is no event');
    const before = Date.now();
    const res = await login(agent, page, 'dr.who', PASSWORD, 'req-login-1');
    assert.equal(res.status, 303);
    assert.equal(res.location, `${base}/auth/consent`);
    const entry = only();
    assert.equal(entry.event, 'login');
    assert.equal(entry.status, 303);
    assert.equal(entry.code, undefined);
    assert.deepEqual(entry.caller, { subject: user.id, fhirUser: 'Practitioner/d1', clientId: 'app' });
    assert.deepEqual(entry.request, { id: 'req-login-1', method: 'POST', path: 'auth/login' });
    assert.match(entry.network ?? '', /127\.0\.0\.1/);
    assert.ok(entry.started.getTime() >= before - 5 && entry.started.getTime() <= Date.now());
    assert.equal(server.sink.captured.at(-1)!.tenantBase, base);
    assert.ok(!JSON.stringify(server.sink.captured).includes(PASSWORD));
  });

  it('records a failed sign-in with an unknown username without a subject and without anything typed', async () => {
    await server.addUser(tenant, 'dr.who', PASSWORD, 'Practitioner/d1');
    const agent = new BrowserAgent();
    // A password typed into the username field, and a password.
    const res = await login(agent, await start(agent), 'Tr0ub4dor-and-3', 'correct horse battery staple');
    assert.equal(res.status, 401);
    const entry = only();
    assert.equal(entry.event, 'login-failed');
    assert.equal(entry.status, 401);
    assert.equal(entry.code, 'security');
    assert.deepEqual(entry.caller, { clientId: 'app' });
    const text = JSON.stringify(server.sink.captured);
    assert.ok(!text.includes('Tr0ub4dor'));
    assert.ok(!text.includes('correct horse'));
  });

  it('records a wrong password of an existing account with the account id, and the lockout after it', async () => {
    const user = await server.addUser(tenant, 'dr.who', PASSWORD, 'Practitioner/d1');
    const agent = new BrowserAgent();
    let page = await start(agent);
    for (let i = 0; i < 3; i++) {
      page = await login(agent, page, 'DR.WHO', `wrong password ${i}`);
      assert.equal(page.status, 401);
    }
    const locked = await login(agent, page, 'dr.who', PASSWORD);
    assert.equal(locked.status, 429);
    const all = entries();
    assert.deepEqual(all.map((e) => [e.event, e.status, e.code, e.caller.subject]), [
      ['login-failed', 401, 'security', user.id],
      ['login-failed', 401, 'security', user.id],
      ['login-failed', 401, 'security', user.id],
      ['login-failed', 429, 'throttled', user.id],
    ]);
    const text = JSON.stringify(server.sink.captured);
    assert.ok(!text.includes('wrong password'));
    assert.ok(!/dr\.who/i.test(text));
    assert.ok(!text.includes(PASSWORD));
  });

  it('records a locked unknown username without a subject', async () => {
    const agent = new BrowserAgent();
    let page = await start(agent);
    for (let i = 0; i < 4; i++) page = await login(agent, page, 'no-such-person', 'whatever it is');
    assert.equal(page.status, 429);
    assert.deepEqual(entries().map((e) => [e.status, e.caller]), [
      [401, { clientId: 'app' }], [401, { clientId: 'app' }], [401, { clientId: 'app' }], [429, { clientId: 'app' }],
    ]);
    assert.ok(!JSON.stringify(server.sink.captured).includes('no-such-person'));
  });

  it('records the login after the one-time code, and a wrong code as login-failed of the account', async () => {
    const secret = newTotpSecret();
    const user = await server.addUser(tenant, 'nurse', PASSWORD, 'Practitioner/n1', secret);
    const agent = new BrowserAgent();
    const asked = await login(agent, await start(agent), 'nurse');
    assert.equal(asked.location, `${base}/auth/totp`);
    assert.equal(entries().length, 0, 'the password alone is no login');
    const totpPage = await agent.get(asked.location!);
    const right = await totpCode(secret);
    const wrong = await agent.post(`${base}/auth/totp`, { csrf_token: csrfOf(totpPage.html), totp: right === '000000' ? '111111' : '000000' });
    assert.equal(wrong.status, 401);
    const done = await agent.post(`${base}/auth/totp`, { csrf_token: csrfOf(wrong.html), totp: right });
    assert.equal(done.status, 303);
    assert.deepEqual(entries().map((e) => [e.event, e.status, e.caller, e.request?.path]), [
      ['login-failed', 401, { clientId: 'app', subject: user.id }, 'auth/totp'],
      ['login', 303, { clientId: 'app', subject: user.id, fhirUser: 'Practitioner/n1' }, 'auth/totp'],
    ]);
    assert.ok(!JSON.stringify(server.sink.captured).includes(right));
  });

  it('records a sign-in the tenant refuses after a right password (second factor required, none set up) with the account id', async () => {
    const user = await server.addUser(tenant, 'dr.who', PASSWORD, 'Practitioner/d1');
    await new UserStore(server.database.pool).setAuthPolicy(tenant, { requireTotp: true });
    const agent = new BrowserAgent();
    const res = await login(agent, await start(agent), 'dr.who');
    assert.equal(res.status, 403);
    const entry = only();
    assert.deepEqual([entry.event, entry.status, entry.code, entry.caller], ['login-failed', 403, 'forbidden', { clientId: 'app', subject: user.id }]);
  });

  it('answers 503, ends the session and clears its cookie when the login cannot be recorded', async () => {
    await server.addUser(tenant, 'dr.who', PASSWORD, 'Practitioner/d1');
    const agent = new BrowserAgent();
    const page = await start(agent);
    const cookie = agent.cookie('hearth_authz')!;
    server.sink.failing = true;
    const res = await login(agent, page, 'dr.who');
    assert.equal(res.status, 503);
    assert.equal(res.location, undefined);
    assert.match(res.html, /Sign-in unavailable/);
    assert.equal(agent.cookie('hearth_authz'), undefined, 'the cookie is cleared');
    assert.ok(server.logger.errors.some((m) => /could not be recorded/.test(m)));
    server.sink.failing = false;
    // The old cookie leads nowhere: the session is over.
    agent.setCookie('hearth_authz', cookie);
    const consent = await agent.get(`${base}/auth/consent`);
    assert.equal(consent.status, 400);
    assert.match(consent.html, /expired/);
    assert.equal(entries().length, 0);
  });

  it('keeps a refused sign-in refused when its event cannot be recorded', async () => {
    await server.addUser(tenant, 'dr.who', PASSWORD, 'Practitioner/d1');
    const agent = new BrowserAgent();
    const page = await start(agent);
    server.sink.failing = true;
    const res = await login(agent, page, 'dr.who', 'not the password');
    assert.equal(res.status, 401);
    assert.match(res.html, /Wrong username or password/);
  });
});
