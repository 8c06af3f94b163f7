// Unit tests for src/load/convert.ts: what is posted for a Bundle file, a lone resource and an
// NDJSON chunk (FHIR R4 http.html#transaction).
import assert from 'node:assert/strict';
import { fileToBundle, requestFor, resourcesToBundle } from '../../../src/load/convert.js';
import { LoadError } from '../../../src/load/errors.js';

const entriesOf = (bundle: Record<string, unknown>) => bundle.entry as Record<string, unknown>[];

describe('load conversion', () => {
  it('PUTs a resource with an id (idempotent) and POSTs one without', () => {
    assert.deepEqual(requestFor({ resourceType: 'Patient', id: 'p-1' }), { method: 'PUT', url: 'Patient/p-1' });
    assert.deepEqual(requestFor({ resourceType: 'Patient' }), { method: 'POST', url: 'Patient' });
    assert.deepEqual(requestFor({ resourceType: 'Patient', id: '' }), { method: 'POST', url: 'Patient' });
    // An invalid id is left for the server to refuse, naming the entry; it cannot break the url.
    assert.deepEqual(requestFor({ resourceType: 'Patient', id: 'a/b c' }), { method: 'PUT', url: 'Patient/a%2Fb%20c' });
  });

  it('sends a transaction Bundle as it is, and a batch as a batch', () => {
    const tx = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }] };
    const numbers = new Map([['/entry/0/resource/x', '1.0']]);
    const out = fileToBundle(tx, numbers);
    assert.equal(out.bundle, tx);
    assert.equal(out.kind, 'transaction');
    assert.equal(out.entries, 1);
    assert.equal(out.numbers, numbers);
    assert.equal(fileToBundle({ resourceType: 'Bundle', type: 'batch', entry: [] }).kind, 'batch');
  });

  it('turns a collection into a transaction of PUT/POST entries that keeps fullUrls', () => {
    const collection = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { fullUrl: 'urn:uuid:0b1c', resource: { resourceType: 'Patient' } },
        { fullUrl: 'urn:uuid:9f3e', resource: { resourceType: 'Observation', id: 'o1', subject: { reference: 'urn:uuid:0b1c' } } },
      ],
    };
    const out = fileToBundle(collection);
    assert.equal(out.kind, 'transaction');
    assert.equal(out.bundle.type, 'transaction');
    assert.deepEqual(entriesOf(out.bundle), [
      { fullUrl: 'urn:uuid:0b1c', resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
      {
        fullUrl: 'urn:uuid:9f3e',
        resource: { resourceType: 'Observation', id: 'o1', subject: { reference: 'urn:uuid:0b1c' } },
        request: { method: 'PUT', url: 'Observation/o1' },
      },
    ]);
  });

  it('loads a searchset like a collection, without its search modes, total and links', () => {
    const out = fileToBundle({
      resourceType: 'Bundle', type: 'searchset', total: 1, link: [{ relation: 'self', url: 'http://x/Patient' }],
      entry: [{ fullUrl: 'http://x/Patient/1', resource: { resourceType: 'Patient', id: '1' }, search: { mode: 'match' } }],
    });
    assert.deepEqual(out.bundle, {
      resourceType: 'Bundle', type: 'transaction',
      entry: [{ fullUrl: 'http://x/Patient/1', resource: { resourceType: 'Patient', id: '1' }, request: { method: 'PUT', url: 'Patient/1' } }],
    });
  });

  it('refuses Bundle types that are not data to store, and says what to do', () => {
    for (const type of ['document', 'message', 'history', undefined]) {
      assert.throws(() => fileToBundle({ resourceType: 'Bundle', type }), /cannot be loaded: use transaction, batch, collection or searchset/);
    }
  });

  it('names the entry of a collection that is not a resource of a known type', () => {
    const bad = (entry: unknown) => fileToBundle({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient' } }, entry] });
    assert.throws(() => bad({ fullUrl: 'urn:uuid:1' }), (e: LoadError) => e.place.entry === 1 && e.reason === 'not a resource (a JSON object)');
    assert.throws(() => bad({ resource: { resourceType: 'Pateint' } }), (e: LoadError) => e.place.entry === 1 && /unknown resourceType 'Pateint'/.test(e.reason));
    assert.throws(() => bad({ resource: {} }), (e: LoadError) => e.place.entry === 1 && /resourceType is missing/.test(e.reason));
  });

  it('wraps a lone resource in a one-entry transaction, moving its decimal lexemes under the entry', () => {
    const out = fileToBundle({ resourceType: 'Observation', id: 'o', valueQuantity: { value: 1.5 } }, new Map([['/valueQuantity/value', '1.50']]));
    assert.equal(out.entries, 1);
    assert.deepEqual(entriesOf(out.bundle)[0].request, { method: 'PUT', url: 'Observation/o' });
    assert.deepEqual(out.numbers, new Map([['/entry/0/resource/valueQuantity/value', '1.50']]));
  });

  it('makes an NDJSON chunk one transaction, re-rooting each line\'s lexemes at its entry', () => {
    const out = resourcesToBundle([
      { resource: { resourceType: 'Patient', id: 'a' } },
      { resource: { resourceType: 'Observation', valueQuantity: { value: 2 } }, numbers: new Map([['/valueQuantity/value', '2.0']]) },
    ]);
    assert.equal(out.kind, 'transaction');
    assert.deepEqual(entriesOf(out.bundle).map((e) => e.request), [{ method: 'PUT', url: 'Patient/a' }, { method: 'POST', url: 'Observation' }]);
    assert.deepEqual(out.numbers, new Map([['/entry/1/resource/valueQuantity/value', '2.0']]));
    assert.equal(resourcesToBundle([{ resource: { resourceType: 'Patient' } }]).numbers, undefined);
  });
});
