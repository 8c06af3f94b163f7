// The SMART front channel end to end over HTTP (issue 10; SMART App Launch 2.x app-launch.html,
// RFC 6749 section 4.1, RFC 7636): the authorize endpoint's error page versus error redirect,
// PKCE and aud rules, login with lockout and TOTP, CSRF on every form, consent (deny, approve,
// unticked scopes), EHR launch and the standalone patient picker. The front-channel router runs
// in a real HTTP server on the test database; the token side is a fake that records the grants.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { OAuthClient } from '../../src/auth/contracts.js';
import { newTotpSecret, totpCode } from '../../src/auth/totp.js';
import { requireServices } from '../support/services.js';
import {
  BrowserAgent,
  csrfOf,
  FakeAuthorizationServer,
  hrefOf,
  pickerPatients,
  returnLocationOf,
  startFrontChannelServer,
  type FrontChannelServer,
  type PageResult,
} from '../support/browser.js';

const REDIRECT = 'https://app.example/callback';
const PASSWORD = 'a long enough password';
const SCOPE = 'launch/patient patient/*.rs openid fhirUser offline_access';

describe('SMART authorize endpoint and pages (e2e)', function () {
  this.timeout(60_000);
  let server: FrontChannelServer;
  let fake: FakeAuthorizationServer;
  let tenantId: string;
  let base: string;
  let client: OAuthClient;

  before(async function () {
    await requireServices(this);
    fake = new FakeAuthorizationServer();
    server = await startFrontChannelServer({ authServer: () => fake });
  });
  after(async () => server?.close());

  beforeEach(async () => {
    ({ tenantId, base } = await server.newTenant());
    client = fake.addClient({
      tenantId,
      clientId: 'app',
      name: 'Growth <Chart> & Co',
      kind: 'public',
      redirectUris: [REDIRECT, 'http://127.0.0.1:9000/cb'],
      scope: 'launch launch/patient openid fhirUser offline_access patient/*.rs user/*.rs',
      admin: false,
    });
  });

  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');

  function authorizeUrl(change: Record<string, string | undefined> = {}): string {
    const params: Record<string, string | undefined> = {
      response_type: 'code',
      client_id: client.clientId,
      redirect_uri: REDIRECT,
      scope: SCOPE,
      state: 'state-xyz',
      aud: base,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...change,
    };
    const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
    return `${base}/auth/authorize?${query}`;
  }

  /** Starts a flow; the agent ends on the login page. */
  async function start(agent: BrowserAgent, change: Record<string, string | undefined> = {}): Promise<PageResult> {
    const res = await agent.get(authorizeUrl(change));
    assert.equal(res.status, 303, res.html);
    assert.equal(res.location, `${base}/auth/login`);
    assert.ok(agent.cookie('hearth_authz'), 'a session cookie');
    const login = await agent.get(res.location);
    assert.equal(login.status, 200);
    return login;
  }

  async function login(agent: BrowserAgent, page: PageResult, username: string, password = PASSWORD): Promise<PageResult> {
    return agent.post(`${base}/auth/login`, { csrf_token: csrfOf(page.html), username, password });
  }

  /** Follows a 303 and returns the page it leads to. */
  async function follow(agent: BrowserAgent, res: PageResult): Promise<PageResult> {
    assert.equal(res.status, 303, res.html);
    return agent.get(res.location!);
  }

  async function seedPatient(id: string, family: string, given: string, birthDate: string): Promise<void> {
    const res = await server.fhir(tenantId, 'PUT', ['Patient', id], { resourceType: 'Patient', id, name: [{ family, given: [given] }], birthDate });
    assert.ok(res.status === 201 || res.status === 200, `seeding ${id}: ${res.status}`);
  }

  /** Login as a practitioner, pick `patient`, arrive at consent. */
  async function toConsent(agent: BrowserAgent, change: Record<string, string | undefined> = {}, patient = 'p1'): Promise<PageResult> {
    await seedPatient('p1', 'Lovelace', 'Ada', '1815-12-10');
    await server.addUser(tenantId, 'doc', PASSWORD, 'Practitioner/d1');
    const picker = await follow(agent, await login(agent, await start(agent, change), 'doc'));
    assert.match(picker.html, /Choose a patient/);
    const consent = await follow(agent, await agent.post(`${base}/auth/patient`, { csrf_token: csrfOf(picker.html), patient }));
    assert.match(consent.html, /Allow/);
    return consent;
  }

  function assertPageHeaders(res: PageResult) {
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /style-src 'nonce-[^']+'/);
    assert.match(csp, /form-action 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  }

  describe('the authorize request', () => {
    it('an unknown client gets an error page, not a redirect', async () => {
      const res = await new BrowserAgent().get(authorizeUrl({ client_id: 'nobody' }));
      assert.equal(res.status, 400);
      assert.equal(res.location, undefined);
      assert.match(res.html, /not registered/);
      assertPageHeaders(res);
    });

    it('redirect_uri variants (trailing slash, other port, other case, other path) get an error page, never a redirect', async () => {
      for (const uri of [`${REDIRECT}/`, 'https://app.example:444/callback', 'https://App.Example/callback', 'https://app.example/CALLBACK', 'http://127.0.0.1:9001/cb', 'https://evil.example/callback']) {
        const res = await new BrowserAgent().get(authorizeUrl({ redirect_uri: uri }));
        assert.equal(res.status, 400, uri);
        assert.equal(res.location, undefined, uri);
        assert.match(res.html, /redirect_uri/);
      }
    });

    it('bad scope, missing PKCE and plain PKCE redirect back with error and state', async () => {
      const cases: [Record<string, string | undefined>, string][] = [
        [{ scope: 'patient/Observation.rx' }, 'invalid_scope'],
        [{ scope: 'system/*.rs' }, 'invalid_scope'],
        [{ code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
        [{ code_challenge_method: undefined }, 'invalid_request'],
        [{ code_challenge_method: 'plain', code_challenge: verifier }, 'invalid_request'],
        [{ response_type: 'token' }, 'unsupported_response_type'],
      ];
      for (const [change, error] of cases) {
        const res = await new BrowserAgent().get(authorizeUrl(change));
        assert.equal(res.status, 302, JSON.stringify(change));
        const location = new URL(res.location!);
        assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
        assert.equal(location.searchParams.get('error'), error, JSON.stringify(change));
        assert.equal(location.searchParams.get('state'), 'state-xyz');
      }
    });

    it('an aud other than this tenant base is refused', async () => {
      const other = await server.newTenant();
      for (const aud of [other.base, `${base}/`, 'https://fhir.example/fhir', undefined]) {
        const res = await new BrowserAgent().get(authorizeUrl({ aud }));
        assert.equal(res.status, 302);
        assert.equal(new URL(res.location!).searchParams.get('error'), 'invalid_request', String(aud));
      }
    });

    it('an unknown tenant gets a 404 page', async () => {
      const res = await new BrowserAgent().get(`${server.origin}/t/no-such-tenant/fhir/auth/authorize?client_id=app`);
      assert.equal(res.status, 404);
      assert.match(res.html, /Not found/);
    });

    it('an unexpected failure is a plain 500 page, without details', async () => {
      const broken = fake.findClient;
      fake.findClient = async () => {
        throw new Error('database exploded at /secret/path');
      };
      try {
        const res = await new BrowserAgent().get(authorizeUrl());
        assert.equal(res.status, 500);
        assertPageHeaders(res);
        assert.ok(!res.html.includes('exploded') && !res.html.includes('/secret/path'));
        assert.match(res.html, /Something went wrong/);
      } finally {
        fake.findClient = broken;
      }
    });

    it('an EHR launch with an unknown launch value is refused', async () => {
      const res = await new BrowserAgent().get(authorizeUrl({ scope: 'launch patient/*.rs', launch: 'made-up' }));
      assert.equal(res.status, 302);
      const location = new URL(res.location!);
      assert.equal(location.searchParams.get('error'), 'invalid_request');
      assert.equal(location.searchParams.get('state'), 'state-xyz');
    });

    it('the pages carry a strict CSP, no-store and DENY framing, and escape the client name', async () => {
      const page = await start(new BrowserAgent());
      assertPageHeaders(page);
      assert.ok(page.html.includes('Growth &lt;Chart&gt; &amp; Co'));
      assert.ok(!page.html.includes('<Chart>'));
    });
  });

  describe('signing in', () => {
    it('a wrong password or an unknown user is refused with the same answer', async () => {
      await server.addUser(tenantId, 'doc', PASSWORD, 'Practitioner/d1');
      const agent = new BrowserAgent();
      const page = await start(agent);
      const wrong = await login(agent, page, 'doc', 'not the password');
      assert.equal(wrong.status, 401);
      assert.match(wrong.html, /Wrong username or password/);
      const unknown = await login(agent, wrong, 'nobody');
      assert.equal(unknown.status, 401);
      assert.match(unknown.html, /Wrong username or password/);
    });

    it('locks the account after the configured failures, even for the right password, and tells when to retry', async () => {
      await server.addUser(tenantId, 'doc', PASSWORD, 'Practitioner/d1');
      const agent = new BrowserAgent();
      let page = await start(agent);
      for (let i = 0; i < 3; i++) {
        page = await login(agent, page, 'doc', `wrong ${i}`);
        assert.equal(page.status, 401);
      }
      const locked = await login(agent, page, 'DOC', PASSWORD);
      assert.equal(locked.status, 429);
      assert.ok(Number(locked.headers.get('retry-after')) > 0);
      assert.match(locked.html, /locked/);
      // Another user of the tenant is not locked.
      await server.addUser(tenantId, 'nurse', PASSWORD, 'Practitioner/n1');
      const other = await login(agent, locked, 'nurse');
      assert.equal(other.status, 303);
    });

    it('a user with TOTP must give a current code; a wrong code and a replayed one are refused', async () => {
      const secret = newTotpSecret();
      await seedPatient('p1', 'Lovelace', 'Ada', '1815-12-10');
      await server.addUser(tenantId, 'doc', PASSWORD, 'Practitioner/d1', secret);
      const agent = new BrowserAgent();
      const totpPage = await follow(agent, await login(agent, await start(agent), 'doc'));
      assert.match(totpPage.html, /one-time code/);
      // The consent page cannot be reached before the second factor.
      const early = await agent.get(`${base}/auth/consent`);
      assert.equal(early.status, 303);
      assert.equal(early.location, `${base}/auth/totp`);
      const wrong = await agent.post(`${base}/auth/totp`, { csrf_token: csrfOf(totpPage.html), totp: '000000' === (await totpCode(secret)) ? '111111' : '000000' });
      assert.equal(wrong.status, 401);
      const code = await totpCode(secret);
      const right = await agent.post(`${base}/auth/totp`, { csrf_token: csrfOf(wrong.html), totp: code });
      assert.equal(right.status, 303);
      assert.equal(right.location, `${base}/auth/patient`);
      // The same code in a second sign-in is a replay.
      const second = new BrowserAgent();
      const totpAgain = await follow(second, await login(second, await start(second), 'doc'));
      const replay = await second.post(`${base}/auth/totp`, { csrf_token: csrfOf(totpAgain.html), totp: code });
      assert.equal(replay.status, 401);
      assert.match(replay.html, /already used/);
    });

    it('a tenant that requires TOTP refuses a user without one, and asks every user with one', async () => {
      await server.users.setAuthPolicy(tenantId, { requireTotp: true });
      await server.addUser(tenantId, 'plain', PASSWORD, 'Practitioner/d1');
      const agent = new BrowserAgent();
      const refused = await login(agent, await start(agent), 'plain');
      assert.equal(refused.status, 403);
      assert.match(refused.html, /one-time code/);
      await server.addUser(tenantId, 'strong', PASSWORD, 'Practitioner/d2', newTotpSecret());
      const asked = await login(agent, refused, 'strong');
      assert.equal(asked.location, `${base}/auth/totp`);
    });

    it('an expired or missing session gets an error page', async () => {
      const agent = new BrowserAgent();
      const noSession = await agent.get(`${base}/auth/login`);
      assert.equal(noSession.status, 400);
      agent.setCookie('hearth_authz', randomBytes(32).toString('base64url'));
      const forged = await agent.post(`${base}/auth/login`, { csrf_token: 'x', username: 'doc', password: PASSWORD });
      assert.equal(forged.status, 400);
      assert.match(forged.html, /expired/);
    });
  });

  describe('CSRF', () => {
    it('a consent POST without the token, with another session token, or with a stale one is refused and no code is issued', async () => {
      const agent = new BrowserAgent();
      const loginPage = await start(agent);
      const staleToken = csrfOf(loginPage.html);
      await seedPatient('p1', 'Lovelace', 'Ada', '1815-12-10');
      await server.addUser(tenantId, 'doc', PASSWORD, 'Practitioner/d1');
      const picker = await follow(agent, await login(agent, loginPage, 'doc'));
      const consent = await follow(agent, await agent.post(`${base}/auth/patient`, { csrf_token: csrfOf(picker.html), patient: 'p1' }));
      const other = new BrowserAgent();
      const otherToken = csrfOf((await start(other)).html);
      const before = fake.grants.length;
      for (const fields of [
        [['decision', 'approve'], ['scope', 'patient/*.rs']],
        [['csrf_token', otherToken], ['decision', 'approve'], ['scope', 'patient/*.rs']],
        [['csrf_token', staleToken], ['decision', 'approve'], ['scope', 'patient/*.rs']],
        [['csrf_token', ''], ['decision', 'approve'], ['scope', 'patient/*.rs']],
      ] as [string, string][][]) {
        const res = await agent.post(`${base}/auth/consent`, fields);
        assert.equal(res.status, 403, JSON.stringify(fields));
        assert.equal(res.location, undefined);
      }
      assert.equal(fake.grants.length, before, 'no code was issued');
      // The session is unharmed: the real form still works.
      const approved = await agent.post(`${base}/auth/consent`, [['csrf_token', csrfOf(consent.html)], ['decision', 'approve'], ['scope', 'patient/*.rs']]);
      assert.equal(approved.status, 200);
      assert.equal(fake.grants.length, before + 1);
    });

    it('a login POST without the token changes nothing', async () => {
      await server.addUser(tenantId, 'doc', PASSWORD, 'Practitioner/d1');
      const agent = new BrowserAgent();
      await start(agent);
      const res = await agent.post(`${base}/auth/login`, { username: 'doc', password: PASSWORD });
      assert.equal(res.status, 403);
      const still = await agent.get(`${base}/auth/login`);
      assert.equal(still.status, 200, 'still at the login stage');
    });
  });

  describe('consent', () => {
    it('deny returns access_denied with the state, and issues nothing', async () => {
      const agent = new BrowserAgent();
      const consent = await toConsent(agent);
      const before = fake.grants.length;
      const res = await agent.post(`${base}/auth/consent`, [['csrf_token', csrfOf(consent.html)], ['decision', 'deny']]);
      assert.equal(res.status, 200);
      assertPageHeaders(res);
      const back = returnLocationOf(res.html);
      assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
      assert.equal(back.searchParams.get('error'), 'access_denied');
      assert.equal(back.searchParams.get('state'), 'state-xyz');
      assert.equal(back.searchParams.get('code'), null);
      assert.equal(fake.grants.length, before);
      assert.match(res.html, /http-equiv="refresh" content="0;url=https:\/\/app\.example\/callback\?/);
    });

    it('approve returns a code and the state; the grant holds what the user approved', async () => {
      const agent = new BrowserAgent();
      const consent = await toConsent(agent, { nonce: 'n-1' });
      for (const scope of SCOPE.split(' ')) assert.ok(consent.html.includes(`name="scope" value="${scope}" checked`), scope);
      assert.match(consent.html, /Ada Lovelace/);
      const all = SCOPE.split(' ').map((s) => ['scope', s] as [string, string]);
      const res = await agent.post(`${base}/auth/consent`, [['csrf_token', csrfOf(consent.html)], ['decision', 'approve'], ...all]);
      assert.equal(res.status, 200);
      const back = returnLocationOf(res.html);
      assert.equal(back.searchParams.get('state'), 'state-xyz');
      const grant = fake.grantFor(back.searchParams.get('code'));
      assert.ok(grant, 'the code is one the token side issued');
      assert.deepEqual(
        { ...grant, authTime: typeof grant.authTime, userId: typeof grant.userId },
        { tenantId, clientId: 'app', redirectUri: REDIRECT, codeChallenge: challenge, scope: SCOPE, userId: 'string', fhirUser: 'Practitioner/d1', patient: 'p1', nonce: 'n-1', authTime: 'number' },
      );
      // The session was single use.
      const again = await agent.post(`${base}/auth/consent`, [['csrf_token', csrfOf(consent.html)], ['decision', 'approve'], ...all]);
      assert.equal(again.status, 400);
      assert.equal(fake.grants.filter((g) => g.grant.tenantId === tenantId).length, 1, 'one code for the session');
    });

    it('unticked scopes are not granted, and scopes the session did not offer cannot be added', async () => {
      const agent = new BrowserAgent();
      const consent = await toConsent(agent);
      const res = await agent.post(`${base}/auth/consent`, [
        ['csrf_token', csrfOf(consent.html)],
        ['decision', 'approve'],
        ['scope', 'launch/patient'],
        ['scope', 'patient/*.rs'],
        ['scope', 'user/*.rs'], // registered for the client but not requested
        ['scope', 'system/*.cruds'],
      ]);
      const grant = fake.grantFor(returnLocationOf(res.html).searchParams.get('code'));
      assert.equal(grant?.scope, 'launch/patient patient/*.rs');
    });
  });

  describe('launch context', () => {
    it('an EHR launch supplies patient and encounter without a picker', async () => {
      await seedPatient('p7', 'Hopper', 'Grace', '1906-12-09');
      fake.launches.set(`${tenantId}|L-123`, { patient: 'p7', encounter: 'e7' });
      await server.addUser(tenantId, 'doc', PASSWORD, 'Practitioner/d1');
      const agent = new BrowserAgent();
      const consent = await follow(agent, await login(agent, await start(agent, { scope: 'launch patient/*.rs openid fhirUser', launch: 'L-123' }), 'doc'));
      assert.match(consent.html, /Grace Hopper/);
      const res = await agent.post(`${base}/auth/consent`, [['csrf_token', csrfOf(consent.html)], ['decision', 'approve'], ['scope', 'launch'], ['scope', 'patient/*.rs']]);
      const grant = fake.grantFor(returnLocationOf(res.html).searchParams.get('code'));
      assert.equal(grant?.patient, 'p7');
      assert.equal(grant?.encounter, 'e7');
    });

    it('an EHR launch created for another user refuses this one', async () => {
      fake.launches.set(`${tenantId}|L-9`, { patient: 'p7', userId: 'someone-else' });
      await server.addUser(tenantId, 'doc', PASSWORD, 'Practitioner/d1');
      const agent = new BrowserAgent();
      const res = await login(agent, await start(agent, { scope: 'launch patient/*.rs', launch: 'L-9' }), 'doc');
      assert.equal(res.status, 403);
      assert.match(res.html, /another user/);
    });

    it('the patient picker lists patients with name and birth date, searches by name, pages, and the chosen patient ends up in the grant', async () => {
      await seedPatient('p1', 'Lovelace', 'Ada', '1815-12-10');
      await seedPatient('p2', 'Hopper', 'Grace', '1906-12-09');
      for (let i = 0; i < 11; i++) await seedPatient(`q${i}`, 'Quill', `Q${i}`, '2000-01-01');
      await server.addUser(tenantId, 'doc', PASSWORD, 'Practitioner/d1');
      const agent = new BrowserAgent();
      const picker = await follow(agent, await login(agent, await start(agent), 'doc'));
      const first = pickerPatients(picker.html);
      assert.equal(first.length, 10, 'a page of ten');
      const next = hrefOf(picker.html, 'next-patients');
      assert.ok(next, 'a next page');
      const second = await agent.get(new URL(next, base).toString());
      const all = [...first, ...pickerPatients(second.html)];
      assert.equal(new Set(all).size, 13);

      const search = await agent.get(`${base}/auth/patient?name=hop`);
      assert.deepEqual(pickerPatients(search.html), ['p2']);
      assert.match(search.html, /Grace Hopper/);
      assert.match(search.html, /1906-12-09/);

      const unknown = await agent.post(`${base}/auth/patient`, { csrf_token: csrfOf(search.html), patient: 'not-there' });
      assert.equal(unknown.status, 400);
      const chosen = await follow(agent, await agent.post(`${base}/auth/patient`, { csrf_token: csrfOf(unknown.html), patient: 'p2' }));
      const res = await agent.post(`${base}/auth/consent`, [['csrf_token', csrfOf(chosen.html)], ['decision', 'approve'], ['scope', 'patient/*.rs']]);
      assert.equal(fake.grantFor(returnLocationOf(res.html).searchParams.get('code'))?.patient, 'p2');
    });

    it('a user who is a Patient gets themselves, without a picker', async () => {
      await seedPatient('me', 'Curie', 'Marie', '1867-11-07');
      await server.addUser(tenantId, 'marie', PASSWORD, 'Patient/me');
      const agent = new BrowserAgent();
      const res = await login(agent, await start(agent), 'marie');
      assert.equal(res.location, `${base}/auth/consent`);
      const consent = await agent.get(res.location!);
      const done = await agent.post(`${base}/auth/consent`, [['csrf_token', csrfOf(consent.html)], ['decision', 'approve'], ['scope', 'patient/*.rs']]);
      const grant = fake.grantFor(returnLocationOf(done.html).searchParams.get('code'));
      assert.equal(grant?.patient, 'me');
      assert.equal(grant?.fhirUser, 'Patient/me');
    });
  });
});

describe('SMART login rate limit per IP address (e2e)', function () {
  this.timeout(60_000);
  let server: FrontChannelServer;
  const fake = new FakeAuthorizationServer();
  before(async function () {
    await requireServices(this);
    let taken = 0;
    server = await startFrontChannelServer({
      authServer: () => fake,
      limiters: { loginRequests: { take: async () => (++taken > 2 ? { allowed: false, retryAfterSeconds: 42 } : { allowed: true, retryAfterSeconds: 0 }) } },
    });
  });
  after(async () => server?.close());

  it('login POSTs beyond the budget get 429 with Retry-After', async () => {
    const { tenantId, base } = await server.newTenant();
    fake.addClient({ tenantId, clientId: 'app', name: 'App', kind: 'public', redirectUris: [REDIRECT], scope: 'openid fhirUser user/*.rs', admin: false });
    const challenge = createHash('sha256').update('v'.repeat(50)).digest('base64url');
    const agent = new BrowserAgent();
    const query = new URLSearchParams({ response_type: 'code', client_id: 'app', redirect_uri: REDIRECT, scope: 'openid user/*.rs', state: 's', aud: base, code_challenge: challenge, code_challenge_method: 'S256' });
    const started = await agent.get(`${base}/auth/authorize?${query}`);
    let page = await agent.get(started.location!);
    for (let i = 0; i < 2; i++) {
      page = await agent.post(`${base}/auth/login`, { csrf_token: csrfOf(page.html), username: 'x', password: 'y' });
      assert.equal(page.status, 401);
    }
    const limited = await agent.post(`${base}/auth/login`, { csrf_token: csrfOf(page.html), username: 'x', password: 'y' });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '42');
  });
});
