// A real SMART client completes a standalone launch in a real browser (issue 10): the fhirclient
// library, served from a tiny app on 127.0.0.1, runs FHIR.oauth2.authorize against the real
// Hearth server (HEARTH_AUTH=required; SMART discovery, PKCE S256), the user signs in, picks a
// patient and approves in headless Chromium (Debian's, driven by playwright-core), fhirclient
// redeems the code at the token endpoint and reads the chosen Patient with the access token, and
// the app shows it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { hashPassword } from '../../src/auth/passwords.js';
import { UserStore } from '../../src/auth/users/user-store.js';
import { createFhirService } from '../../src/compose.js';
import { loadConfig } from '../../src/core/config.js';
import { projectRoot } from '../../src/core/project-root.js';
import { ANONYMOUS_ACCESS } from '../../src/core/types.js';
import { launchChromium } from '../support/browser.js';
import { registerClient } from '../support/smart-clients.js';
import { useTestServer } from '../support/test-server.js';

const SCOPE = 'launch/patient openid fhirUser patient/*.rs offline_access';
const PASSWORD = 'browser test password';

/** The SMART app: a launch page that starts authorization and a redirect page that reads the patient. */
function startApp(clientId: () => string, iss: () => string): Promise<{ server: Server; origin: string }> {
  const bundle = readFileSync(join(projectRoot(), 'node_modules/fhirclient/build/fhir-client.js'));
  const page = (script: string) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Test app</title>
<script src="/fhir-client.js"></script></head><body><pre id="out">working</pre><script>${script}</script></body></html>`;
  const server = createServer((req, res) => {
    const origin = `http://${req.headers.host}`;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/fhir-client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    } else if (path === '/launch.html') {
      const options = { clientId: clientId(), scope: SCOPE, redirectUri: `${origin}/redirect.html`, iss: iss() };
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        page(`FHIR.oauth2.authorize(${JSON.stringify(options)}).catch(function (e) { document.getElementById('out').textContent = 'ERROR ' + e.message; });`),
      );
    } else if (path === '/redirect.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        page(`FHIR.oauth2.ready()
  .then(function (client) { return client.patient.read().then(function (p) { return { patient: p, tokenPatient: client.getPatientId(), fhirUser: client.getFhirUser() }; }); })
  .then(function (r) { var n = (r.patient.name || [])[0] || {}; document.getElementById('out').textContent = JSON.stringify({ id: r.patient.id, name: (n.given || []).join(' ') + ' ' + n.family, tokenPatient: r.tokenPatient, fhirUser: r.fhirUser }); })
  .catch(function (e) { document.getElementById('out').textContent = 'ERROR ' + e.message; });`),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('SMART standalone launch in headless Chromium with fhirclient (e2e)', function () {
  this.timeout(120_000);
  const fixture = useTestServer('postgres', { auth: 'required', reindexWorker: false });
  const tenant = fixture.useTenant();
  let app: { server: Server; origin: string };
  let browser: Browser;
  let clientId = '';

  before(async () => {
    app = await startApp(() => clientId, () => tenant.base);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (app) await new Promise<void>((resolve) => app.server.close(() => resolve()));
  });

  /** Seeds two patients as the administrator, through the FHIR service on the server's database. */
  async function seedPatients(tenantId: string): Promise<void> {
    const database = fixture.server.server.database;
    const { service, maintenance } = createFhirService(loadConfig({ LOG_LEVEL: 'silent' }), database);
    try {
      for (const [id, given, family, birthDate] of [['pa', 'Ada', 'Lovelace', '1815-12-10'], ['pb', 'Grace', 'Hopper', '1906-12-09']]) {
        const res = await service.handle({
          method: 'PUT', tenantId, baseUrl: tenant.base, path: ['Patient', id], query: new URLSearchParams(), prefer: {},
          access: ANONYMOUS_ACCESS, requestId: randomUUID(), body: { resourceType: 'Patient', id, name: [{ given: [given], family }], birthDate }, bodyKind: 'resource',
        });
        assert.equal(res.status, 201);
      }
    } finally {
      await maintenance.close();
    }
  }

  it('logs in, picks the second patient, approves, and the app reads that patient with its token', async () => {
    const tenantId = /\/t\/([^/]+)\/fhir$/.exec(tenant.base)![1];
    const database = fixture.server.server.database;
    const client = await registerClient(database, tenantId, { name: 'Browser Test App', kind: 'public', redirectUris: [`${app.origin}/redirect.html`], scope: SCOPE });
    clientId = client.clientId;
    await new UserStore(database.pool).create(tenantId, { username: 'clinician', passwordHash: await hashPassword(PASSWORD), fhirUser: 'Practitioner/pr1' });
    await seedPatients(tenantId);
    // Without a token the server answers 401: the app's read below is the token at work.
    assert.equal((await fetch(`${tenant.base}/Patient/pb`)).status, 401);

    const page = await browser.newPage();
    const loginResponse = page.waitForResponse((r) => r.url().endsWith('/auth/login') && r.request().method() === 'GET');
    await page.goto(`${app.origin}/launch.html`);
    await page.waitForURL(/\/auth\/login$/);
    // The pages' own CSP replaces the server-wide helmet default.
    const csp = (await (await loginResponse).allHeaders())['content-security-policy'] ?? '';
    assert.match(csp, /^default-src 'none'; style-src 'nonce-[^']+'; form-action 'self'; frame-ancestors 'none'/);
    assert.equal(await page.locator('#client-name').textContent(), 'Browser Test App');
    await page.fill('#username', 'clinician');
    await page.fill('#password', PASSWORD);
    await page.click('#sign-in');

    await page.waitForURL(/\/auth\/patient/);
    const listed = await page.locator('[data-patient-id]').evaluateAll((inputs) => inputs.map((i) => i.getAttribute('data-patient-id')));
    assert.deepEqual(new Set(listed), new Set(['pa', 'pb']));
    await page.check('input[data-patient-id="pb"]');
    await page.click('#choose-patient');

    await page.waitForURL(/\/auth\/consent$/);
    assert.match((await page.locator('#patient-in-context').textContent()) ?? '', /Grace Hopper/);
    assert.equal(await page.locator('input[name="scope"]').count(), SCOPE.split(' ').length);
    await page.click('#approve');

    await page.waitForURL(/\/redirect\.html/);
    await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'working', undefined, { timeout: 30_000 });
    const out = (await page.locator('#out').textContent()) ?? '';
    assert.ok(!out.startsWith('ERROR'), out);
    const shown = JSON.parse(out);
    assert.equal(shown.id, 'pb');
    assert.equal(shown.name, 'Grace Hopper');
    assert.equal(shown.tokenPatient, 'pb');
    assert.match(shown.fhirUser, /Practitioner\/pr1$/);
  });
});
