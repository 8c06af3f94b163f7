// src/fhir/bundle/references.ts (http.html#trules): fullUrl links rewritten everywhere, the input
// left as it was, conditional references found.
import assert from 'node:assert/strict';
import { conditionalReferences, isConditionalReference, rewriteReferences } from '../../../src/fhir/bundle/references.js';

const ids = new Map([
  ['urn:uuid:aaaa', 'Patient/1'],
  ['urn:oid:1.2.3', 'Organization/2'],
  ['http://other.example/fhir/Practitioner/x', 'Practitioner/x'],
]);

describe('bundle references', () => {
  it('replaces every string equal to a fullUrl: references, canonicals, urls, nested in arrays', () => {
    const input = {
      resourceType: 'Observation',
      subject: { reference: 'urn:uuid:aaaa', display: 'urn:uuid:aaaa is the patient' },
      performer: [{ reference: 'urn:oid:1.2.3' }, { reference: 'http://other.example/fhir/Practitioner/x' }],
      instantiatesCanonical: ['urn:uuid:aaaa'],
      content: [{ attachment: { url: 'urn:oid:1.2.3' } }],
      note: [{ text: 'urn:uuid:unknown' }],
    };
    const before = JSON.stringify(input);
    const out = rewriteReferences(input, ids);
    assert.deepEqual(out, {
      resourceType: 'Observation',
      subject: { reference: 'Patient/1', display: 'urn:uuid:aaaa is the patient' },
      performer: [{ reference: 'Organization/2' }, { reference: 'Practitioner/x' }],
      instantiatesCanonical: ['Patient/1'],
      content: [{ attachment: { url: 'Organization/2' } }],
      note: [{ text: 'urn:uuid:unknown' }],
    });
    assert.equal(JSON.stringify(input), before, 'the input is not changed (a retried transaction rewrites it again)');
    assert.equal(out.note, input.note, 'unchanged subtrees are shared, not copied');
  });

  it('rewrites href and src attributes in the narrative', () => {
    const div = '<div xmlns="http://www.w3.org/1999/xhtml"><a href="urn:uuid:aaaa">p</a><img src=\'urn:oid:1.2.3\'/><a href="urn:uuid:zzzz">?</a></div>';
    const out = rewriteReferences({ text: { status: 'generated', div } }, ids);
    assert.equal(out.text.div, '<div xmlns="http://www.w3.org/1999/xhtml"><a href="Patient/1">p</a><img src=\'Organization/2\'/><a href="urn:uuid:zzzz">?</a></div>');
  });

  it('finds conditional references: Type?query in Reference.reference only', () => {
    const found = conditionalReferences({
      subject: { reference: 'Patient?identifier=urn:mrn|1' },
      performer: [{ reference: 'Practitioner/1' }, { reference: 'NotAType?x=1' }],
      note: [{ text: 'Patient?identifier=urn:mrn|2' }],
      basedOn: [{ reference: 'ServiceRequest?identifier=a|b' }],
    });
    assert.deepEqual([...found], ['Patient?identifier=urn:mrn|1', 'ServiceRequest?identifier=a|b']);
    assert.equal(isConditionalReference('?x=1'), false);
  });
});
