// Unit tests for src/http/negotiation.ts (FHIR R4 http.html#mime-type; RFC 9110 §12.5.1).
import assert from 'node:assert/strict';
import { FhirError } from '../../src/core/errors.js';
import { bodyKindFor, negotiateResponseType } from '../../src/http/negotiation.js';

function refused(fn: () => unknown, status: number, diagnostics: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FhirError, `expected FhirError, got ${String(error)}`);
    assert.equal(error.status, status);
    assert.equal(error.outcome.issue.length, 1);
    const [issue] = error.outcome.issue;
    assert.equal(issue.severity, 'error');
    assert.equal(issue.code, 'not-supported');
    assert.match(issue.diagnostics ?? '', diagnostics);
    assert.match(issue.diagnostics ?? '', /Hearth supports JSON only: application\/fhir\+json or application\/json/);
    return true;
  });
}

describe('negotiateResponseType', () => {
  it('defaults to application/fhir+json without Accept or _format', () => {
    assert.equal(negotiateResponseType(undefined, null), 'application/fhir+json');
    assert.equal(negotiateResponseType('', null), 'application/fhir+json');
  });

  it('answers application/fhir+json for the FHIR types and wildcards', () => {
    for (const accept of [
      'application/fhir+json',
      'application/json+fhir',
      'application/fhir+json; fhirVersion=4.0',
      'APPLICATION/FHIR+JSON',
      '*/*',
      'application/*',
      'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'application/json, application/fhir+json',
    ]) {
      assert.equal(negotiateResponseType(accept, null), 'application/fhir+json', accept);
    }
  });

  it('answers application/json when only plain JSON is acceptable', () => {
    assert.equal(negotiateResponseType('application/json', null), 'application/json');
    assert.equal(negotiateResponseType('application/json; charset=utf-8', null), 'application/json');
    assert.equal(negotiateResponseType('application/fhir+json;q=0, application/json', null), 'application/json');
    assert.equal(negotiateResponseType('text/plain, application/json;q=0.5', null), 'application/json');
  });

  it('a q=0 range is "not acceptable" and does not count', () => {
    refused(() => negotiateResponseType('application/fhir+json;q=0', null), 406, /Accept 'application\/fhir\+json;q=0'/);
    refused(() => negotiateResponseType('*/*;q=0', null), 406, /Cannot answer/);
    refused(() => negotiateResponseType('application/json; q=0.0, text/html', null), 406, /Cannot answer/);
  });

  it('does not answer with a type the client refused with q=0 even when */* is also given', () => {
    // RFC 9110 §12.5.1: q=0 means "not acceptable"; the specific range beats the wildcard.
    assert.equal(negotiateResponseType('application/fhir+json;q=0, */*', null), 'application/json');
  });

  it('refuses XML and other types with 406', () => {
    refused(() => negotiateResponseType('application/fhir+xml', null), 406, /Cannot answer with any type in Accept 'application\/fhir\+xml'/);
    refused(() => negotiateResponseType('application/xml, text/xml', null), 406, /application\/xml, text\/xml/);
    refused(() => negotiateResponseType('text/html', null), 406, /text\/html/);
  });

  it('_format takes precedence over Accept', () => {
    assert.equal(negotiateResponseType('application/fhir+xml', 'json'), 'application/fhir+json');
    assert.equal(negotiateResponseType(undefined, 'application/fhir+json'), 'application/fhir+json');
    assert.equal(negotiateResponseType(undefined, 'application/json+fhir'), 'application/fhir+json');
    assert.equal(negotiateResponseType('application/fhir+json', 'application/json'), 'application/json');
    assert.equal(negotiateResponseType(undefined, 'JSON'), 'application/fhir+json');
  });

  it('_format=xml (or any non-JSON format) → 406 naming the value', () => {
    refused(() => negotiateResponseType('application/fhir+json', 'xml'), 406, /_format 'xml' is not supported/);
    refused(() => negotiateResponseType(undefined, 'application/fhir+xml'), 406, /_format 'application\/fhir\+xml'/);
    refused(() => negotiateResponseType(undefined, 'text/turtle'), 406, /_format 'text\/turtle'/);
    refused(() => negotiateResponseType(undefined, 'html'), 406, /_format 'html'/);
  });
});

describe('bodyKindFor', () => {
  it('reads the JSON FHIR types as a resource, with or without parameters, any method', () => {
    for (const type of [
      'application/fhir+json',
      'application/json',
      'application/json+fhir',
      'application/fhir+json; charset=utf-8',
      'application/json;charset=UTF-8',
      'Application/FHIR+JSON; fhirVersion=4.0',
    ]) {
      for (const method of ['POST', 'PUT', 'PATCH']) assert.equal(bodyKindFor(type, method), 'resource', `${type} ${method}`);
    }
  });

  it('reads application/json-patch+json as JSON Patch, on PATCH only', () => {
    assert.equal(bodyKindFor('application/json-patch+json', 'PATCH'), 'json-patch');
    assert.equal(bodyKindFor('application/json-patch+json; charset=utf-8', 'PATCH'), 'json-patch');
    refused(() => bodyKindFor('application/json-patch+json', 'POST'), 415, /Content-Type 'application\/json-patch\+json' is not supported/);
    refused(() => bodyKindFor('application/json-patch+json', 'PUT'), 415, /json-patch\+json/);
  });

  it('refuses XML, text and other types with 415, naming the type', () => {
    refused(() => bodyKindFor('application/fhir+xml', 'POST'), 415, /Content-Type 'application\/fhir\+xml' is not supported/);
    refused(() => bodyKindFor('application/xml; charset=utf-8', 'PUT'), 415, /Content-Type 'application\/xml'/);
    refused(() => bodyKindFor('text/plain', 'POST'), 415, /Content-Type 'text\/plain'/);
    refused(() => bodyKindFor('application/x-www-form-urlencoded', 'PUT'), 415, /x-www-form-urlencoded/);
    assert.equal(bodyKindFor('application/x-www-form-urlencoded', 'POST'), 'form', 'POST _search takes a form body');
  });

  it('refuses a missing Content-Type with 415', () => {
    refused(() => bodyKindFor(undefined, 'POST'), 415, /A missing Content-Type is not supported/);
    refused(() => bodyKindFor('', 'PUT'), 415, /A missing Content-Type/);
  });

  it('mentions JSON Patch in the 415 only for PATCH', () => {
    refused(() => bodyKindFor('text/plain', 'PATCH'), 415, /or application\/json-patch\+json for JSON Patch/);
    assert.throws(() => bodyKindFor('text/plain', 'POST'), (e: FhirError) => !/JSON Patch/.test(e.outcome.issue[0].diagnostics ?? ''));
  });
});
