// Unit tests for the SMART front-channel pages: describeScope's plain words, and escaping of
// every dynamic value (a client named <script> stays text), with the CSP nonce on the style.
import assert from 'node:assert/strict';
import { describeScope } from '../../../src/auth/pages/describe-scope.js';
import { consentPage } from '../../../src/auth/pages/consent-page.js';
import { escapeHtml, html } from '../../../src/auth/pages/html.js';
import { errorPage, returnToAppPage } from '../../../src/auth/pages/message-pages.js';
import { patientPickerPage } from '../../../src/auth/pages/patient-picker-page.js';
import { loginPage } from '../../../src/auth/pages/sign-in-pages.js';

const EVIL = `<script>alert("x")</script>'`;

describe('front channel: describeScope', () => {
  it('describes v2 and v1 resource scopes in each context', () => {
    assert.equal(describeScope('patient/Observation.rs'), "Read and search the selected patient's Observation records.");
    assert.equal(describeScope('patient/*.read'), "Read and search the selected patient's records of every kind.");
    assert.equal(describeScope('user/Patient.cruds'), 'Create, read, update, delete and search the Patient records that you are allowed to see.');
    assert.equal(describeScope('user/Observation.write'), 'Create, update and delete the Observation records that you are allowed to see.');
    assert.equal(describeScope('system/*.s'), 'Search all records of every kind on this server, without a user present.');
  });

  it('describes granular constraints', () => {
    assert.equal(
      describeScope('patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory'),
      "Read and search the selected patient's Observation records, only those where category is http://terminology.hl7.org/CodeSystem/observation-category|laboratory.",
    );
  });

  it('describes identity, launch and refresh scopes', () => {
    assert.match(describeScope('openid'), /identity/);
    assert.match(describeScope('fhirUser'), /who you are/);
    assert.match(describeScope('offline_access'), /not using the app/);
    assert.match(describeScope('online_access'), /signed in/);
    assert.match(describeScope('launch/patient'), /which patient/);
    assert.match(describeScope('launch'), /open in your EHR/);
    assert.match(describeScope('something-else'), /not described/);
  });
});

describe('front channel: page markup', () => {
  it('escapes text and attribute values', () => {
    assert.equal(escapeHtml(EVIL), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;');
    assert.equal(html`<p title="${'"a"'}">${'<b>'}</p>`.markup, '<p title="&quot;a&quot;">&lt;b&gt;</p>');
  });

  it('a client named <script> is escaped on every page', () => {
    const pages = [
      loginPage({ nonce: 'n0nce', action: '/fhir/auth/login', csrfToken: 't', clientName: EVIL, username: EVIL, error: EVIL }),
      consentPage({ nonce: 'n0nce', action: '/fhir/auth/consent', csrfToken: 't', clientName: EVIL, scopes: [EVIL, 'patient/*.rs'], username: EVIL, patientLabel: EVIL }),
      patientPickerPage({ nonce: 'n0nce', action: '/fhir/auth/patient', csrfToken: 't', clientName: EVIL, query: EVIL, patients: [{ id: 'p1', name: EVIL, birthDate: EVIL }], nextHref: `/x?${EVIL}` }),
      errorPage({ nonce: 'n0nce', title: EVIL, message: EVIL }),
      returnToAppPage({ nonce: 'n0nce', location: `https://app.example/cb?x=${EVIL}`, clientName: EVIL }),
    ];
    for (const page of pages) {
      assert.ok(!page.includes('<script'), page);
      assert.ok(page.includes('&lt;script&gt;'));
      assert.match(page, /<style nonce="n0nce">/);
    }
  });

  it('forms carry the CSRF token and stable ids', () => {
    const page = consentPage({ nonce: 'n', action: '/fhir/auth/consent', csrfToken: 'tok"en', clientName: 'App', scopes: ['patient/*.rs', 'openid'] });
    assert.match(page, /<input type="hidden" name="csrf_token" value="tok&quot;en">/);
    assert.match(page, /id="scope-0" name="scope" value="patient\/\*\.rs" checked/);
    assert.match(page, /id="approve" name="decision" value="approve"/);
    assert.match(page, /id="deny" name="decision" value="deny"/);
  });
});
