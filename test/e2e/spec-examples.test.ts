// Round trip of the FHIR R4 specification's own examples (hl7.fhir.r4.examples): each one is
// stored with update-as-create under its own id and read back unchanged except for
// meta.versionId and meta.lastUpdated; each one can also be created with POST.
// PostgreSQL runs the full set; embedded runs the Patient examples (to keep time down).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Client, type FhirResource } from 'fhir-kit-client';
import { FHIR_JSON, http } from '../support/http.js';
import { useTestServer, type DatabaseMode } from '../support/test-server.js';

type Json = Record<string, unknown>;

const TYPES = ['Patient', 'Encounter', 'Observation', 'MedicationRequest', 'Appointment', 'Consent'] as const;

const require = createRequire(import.meta.url);
const EXAMPLES_DIR = dirname(require.resolve('hl7.fhir.r4.examples/package.json'));

interface Example {
  file: string;
  type: string;
  resource: Json;
}

function examplesOf(type: string): Example[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.startsWith(`${type}-`) && f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, type, resource: JSON.parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as Json }))
    .filter((e) => e.resource.resourceType === type);
}

/** A deep copy without meta.versionId / meta.lastUpdated (and without meta once it is empty). */
function withoutVersionMeta(resource: Json): Json {
  const copy = structuredClone(resource);
  const meta = copy.meta as Json | undefined;
  if (meta) {
    delete meta.versionId;
    delete meta.lastUpdated;
    if (Object.keys(meta).length === 0) delete copy.meta;
  }
  return copy;
}

const PLAN: ReadonlyArray<{ mode: DatabaseMode; types: readonly string[] }> = [
  { mode: 'postgres', types: TYPES },
  { mode: 'embedded', types: ['Patient'] },
];

for (const { mode, types } of PLAN) {
  describe(`spec examples round trip (${mode})`, function () {
    const hearth = useTestServer(mode);

    it('finds the examples of every type', () => {
      for (const type of types) assert.ok(examplesOf(type).length > 0, `examples of ${type}`);
    });

    for (const type of types) {
      describe(type, () => {
        if (type === 'Observation') {
          it('Observation-decimal.json keeps the precision of its decimals (datatypes.html#decimal)', async () => {
            // "0.010 is regarded as different to 0.01 ... Implementations SHALL handle decimal values
            // in ways that preserve and respect the precision of the value as represented".
            const base = await hearth.server.newTenantBase();
            const text = readFileSync(join(EXAMPLES_DIR, 'Observation-decimal.json'), 'utf8');
            const put = await fetch(`${base}/Observation/decimal`, { method: 'PUT', headers: { 'content-type': FHIR_JSON }, body: text });
            assert.equal(put.status, 201);
            await put.body?.cancel();
            const read = await (await fetch(`${base}/Observation/decimal`, { headers: { accept: FHIR_JSON } })).text();
            const numbers = (t: string) => [...t.matchAll(/"value"\s*:\s*(-?[0-9][0-9.eE+-]*)/g)].map((m) => m[1].toLowerCase());
            const sent = numbers(text);
            assert.deepEqual(sent.slice(0, 3), ['1.0', '1.00', '1.0']);
            assert.deepEqual(numbers(read), sent);
          });
        }

        for (const example of examplesOf(type)) {
          it(`${example.file}: PUT 201, read back unchanged, POST 201`, async () => {
            const base = await hearth.server.newTenantBase();
            const id = example.resource.id as string;
            assert.ok(id, 'the example has an id');

            const put = await http<Json>(`${base}/${type}/${id}`, { method: 'PUT', json: example.resource });
            assert.equal(put.status, 201, `PUT ${example.file}: ${JSON.stringify(put.body)}`);
            assert.equal(put.headers.get('location'), `${base}/${type}/${id}/_history/1`);
            assert.equal((put.body.meta as Json | undefined)?.versionId, '1');

            const client = new Client({ baseUrl: base });
            const read = (await client.read({ resourceType: type, id })) as Json;
            assert.equal((read.meta as Json | undefined)?.versionId, '1');
            assert.ok((read.meta as Json | undefined)?.lastUpdated, 'meta.lastUpdated is set');
            assert.deepEqual(withoutVersionMeta({ ...read }), withoutVersionMeta(example.resource));
            assert.deepEqual(withoutVersionMeta(put.body), withoutVersionMeta(example.resource), 'the PUT response too');

            const created = await http<Json>(`${base}/${type}`, { method: 'POST', json: example.resource });
            assert.equal(created.status, 201, `POST ${example.file}: ${JSON.stringify(created.body)}`);
            assert.notEqual(created.body.id, id, 'create assigns a new id');
            const { id: _a, ...createdRest } = withoutVersionMeta(created.body);
            const { id: _b, ...originalRest } = withoutVersionMeta(example.resource);
            assert.deepEqual(createdRest, originalRest);
            // Reading it back through the client gives the same.
            const readCreated = (await client.read({ resourceType: type, id: created.body.id as string })) as FhirResource;
            assert.deepEqual({ ...readCreated }, created.body);
          });
        }
      });
    }
  });
}
