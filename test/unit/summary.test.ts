// _summary / _elements on single resources (FHIR R4 search.html#summary, #elements).
// Expectations follow the isSummary/min flags of the R4 core StructureDefinitions:
// Patient: name, birthDate, gender, identifier, address, deceased[x], managingOrganization are
// summary; text, contact, photo, maritalStatus, communication are not; nothing is mandatory.
// Observation: status and code are mandatory (min 1); value[x] and subject are summary.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { FhirError } from '../../src/core/errors.js';
import {
  applyElements,
  applySummary,
  elementFlags,
  parseElementsParam,
  parseSummaryParam,
  SUBSETTED_CODE,
  SUBSETTED_SYSTEM,
  unknownElements,
} from '../../src/core/summary.js';

const require = createRequire(import.meta.url);
type Json = Record<string, unknown>;

function example(name: string): Json {
  return structuredClone(require(`hl7.fhir.r4.examples/${name}.json`)) as Json;
}

function patient(): Json {
  // Patient-example has no photo or meta; add both so their handling is observable.
  return {
    ...example('Patient-example'),
    meta: { versionId: '3', tag: [{ system: 'http://example.org/tags', code: 'keep-me' }] },
    photo: [{ contentType: 'image/png', data: 'AAAA' }],
  };
}

function subsettedTags(resource: Json): unknown[] {
  const tags = ((resource.meta as Json | undefined)?.tag ?? []) as Json[];
  return tags.filter((t) => t.system === SUBSETTED_SYSTEM && t.code === SUBSETTED_CODE);
}

describe('element flags (generated from the R4 StructureDefinitions)', () => {
  it('has the spec flags for Patient and expands choice elements', () => {
    const flags = elementFlags('Patient')!;
    for (const name of ['name', 'birthDate', 'gender', 'deceasedBoolean', 'deceasedDateTime']) assert.ok(flags.summary.includes(name), name);
    for (const name of ['text', 'contact', 'photo', 'multipleBirthInteger']) assert.ok(flags.nonSummary.includes(name), name);
    assert.deepEqual(flags.mandatory, []);
    assert.deepEqual(flags.choices?.deceased, ['deceasedBoolean', 'deceasedDateTime']);
  });

  it('marks Observation.status and Observation.code mandatory', () => {
    assert.deepEqual(elementFlags('Observation')!.mandatory, ['status', 'code']);
  });
});

describe('applySummary', () => {
  it('true keeps only summary elements plus resourceType/id/meta', () => {
    const input = patient();
    const out = applySummary(input, 'true');
    assert.deepEqual(Object.keys(out), [
      'resourceType', 'id', 'identifier', 'active', 'name', 'telecom', 'gender', 'birthDate', '_birthDate',
      'deceasedBoolean', 'address', 'managingOrganization', 'meta',
    ]);
    assert.deepEqual(out.name, input.name);
    assert.equal(out.birthDate, '1974-12-25');
    assert.equal(out.gender, 'male');
    for (const dropped of ['text', 'contact', 'photo']) assert.equal(dropped in out, false, dropped);
  });

  it('text keeps text, id, meta and mandatory elements only', () => {
    const obs = applySummary(example('Observation-example'), 'text');
    assert.deepEqual(Object.keys(obs).sort(), ['code', 'id', 'meta', 'resourceType', 'status', 'text'].sort());
    const pat = applySummary(patient(), 'text');
    assert.deepEqual(Object.keys(pat), ['resourceType', 'id', 'text', 'meta']);
  });

  it('data drops text and keeps everything else', () => {
    const input = patient();
    const out = applySummary(input, 'data');
    const expected = Object.keys(input).filter((k) => k !== 'text');
    assert.deepEqual(Object.keys(out), expected);
    assert.deepEqual(out.contact, input.contact);
    assert.deepEqual(out.photo, input.photo);
  });

  it('false returns the resource unchanged, without a tag', () => {
    const input = patient();
    const copy = structuredClone(input);
    assert.deepEqual(applySummary(input, 'false'), copy);
  });

  it('adds the SUBSETTED tag once, keeps existing tags and never mutates the input', () => {
    const input = patient();
    const before = structuredClone(input);
    const once = applySummary(input, 'true');
    assert.deepEqual(input, before);
    assert.equal(subsettedTags(once).length, 1);
    assert.deepEqual((once.meta as Json).tag, [
      { system: 'http://example.org/tags', code: 'keep-me' },
      { system: SUBSETTED_SYSTEM, code: SUBSETTED_CODE },
    ]);
    assert.equal((once.meta as Json).versionId, '3');
    const twice = applyElements(applySummary(once, 'data'), ['name']);
    assert.equal(subsettedTags(twice).length, 1);
  });

  it('creates meta right after id when the resource has none', () => {
    const out = applySummary(example('Observation-example'), 'data');
    assert.deepEqual(Object.keys(out).slice(0, 3), ['resourceType', 'id', 'meta']);
    assert.deepEqual(out.meta, { tag: [{ system: SUBSETTED_SYSTEM, code: SUBSETTED_CODE }] });
  });
});

describe('applyElements', () => {
  it('keeps the named elements plus resourceType/id/meta', () => {
    const input = patient();
    const out = applyElements(input, ['name']);
    assert.deepEqual(Object.keys(out), ['resourceType', 'id', 'name', 'meta']);
    assert.deepEqual(out.name, input.name);
    assert.equal(subsettedTags(out).length, 1);
  });

  it('keeps mandatory elements even when not asked for', () => {
    const out = applyElements(example('Observation-example'), ['subject']);
    assert.deepEqual(Object.keys(out), ['resourceType', 'id', 'meta', 'status', 'code', 'subject']);
  });

  it('selects valueQuantity for the choice name value', () => {
    const input = example('Observation-example');
    const out = applyElements(input, ['value']);
    assert.deepEqual(out.valueQuantity, input.valueQuantity);
    assert.equal('effectiveDateTime' in out, false);
    assert.equal('text' in out, false);
  });

  it('keeps a primitive extension companion with its element', () => {
    const out = applyElements(patient(), ['birthDate']);
    assert.ok('_birthDate' in out);
    assert.equal(out.birthDate, '1974-12-25');
  });

  it('ignores unknown names, which unknownElements reports', () => {
    const out = applyElements(patient(), ['name', 'bogus']);
    assert.deepEqual(Object.keys(out), ['resourceType', 'id', 'name', 'meta']);
    assert.deepEqual(unknownElements('Patient', ['name', 'bogus', 'deceased', 'deceasedBoolean']), ['bogus']);
  });
});

describe('parseSummaryParam / parseElementsParam', () => {
  it('accepts the valid _summary values and absence', () => {
    assert.equal(parseSummaryParam(null), undefined);
    for (const v of ['true', 'text', 'data', 'false'] as const) assert.equal(parseSummaryParam(v), v);
    assert.equal(parseSummaryParam('count', { allowCount: true }), 'count');
  });

  it('rejects an invalid _summary with 400 and expression _summary', () => {
    for (const bad of ['yes', '', 'TRUE', 'count']) {
      assert.throws(
        () => parseSummaryParam(bad),
        (err: unknown) => {
          assert.ok(err instanceof FhirError);
          assert.equal(err.status, 400);
          assert.equal(err.outcome.issue[0].code, 'invalid');
          assert.deepEqual(err.outcome.issue[0].expression, ['_summary']);
          return true;
        },
        bad,
      );
    }
  });

  it('splits _elements, trims and deduplicates', () => {
    assert.equal(parseElementsParam(null), undefined);
    assert.deepEqual(parseElementsParam('name, birthDate,name'), ['name', 'birthDate']);
  });

  it('rejects malformed _elements with 400 and expression _elements', () => {
    for (const bad of ['', 'name,', 'Patient.name', 'na me']) {
      assert.throws(
        () => parseElementsParam(bad),
        (err: unknown) =>
          err instanceof FhirError && err.status === 400 && err.outcome.issue[0].expression?.[0] === '_elements',
        bad,
      );
    }
  });
});
