// Unit tests for src/fhir/versioning.ts (FHIR R4 http.html#versioning, resource.html#Meta).
import assert from 'node:assert/strict';
import { etag, nextTimestamp, parseETag, sameContent, serializeVersion } from '../../src/fhir/versioning.js';

const T = new Date('2024-03-05T06:07:08.123Z');

describe('serializeVersion', () => {
  it('puts resourceType first, then id, then meta with versionId and lastUpdated, then the rest', () => {
    const text = serializeVersion({ active: true, name: [{ family: 'A' }], resourceType: 'Patient' }, 'p1', 3, T);
    assert.equal(
      text,
      '{"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"2024-03-05T06:07:08.123Z"},"active":true,"name":[{"family":"A"}]}',
    );
    assert.deepEqual(Object.keys(JSON.parse(text)), ['resourceType', 'id', 'meta', 'active', 'name']);
  });

  it('replaces any id, versionId and lastUpdated from the client', () => {
    const stored = JSON.parse(
      serializeVersion(
        { resourceType: 'Patient', id: 'client-id', meta: { versionId: '99', lastUpdated: '1999-01-01T00:00:00Z' } },
        'server-id',
        1,
        T,
      ),
    );
    assert.equal(stored.id, 'server-id');
    assert.deepEqual(stored.meta, { versionId: '1', lastUpdated: '2024-03-05T06:07:08.123Z' });
  });

  it('keeps the other meta fields, after versionId and lastUpdated', () => {
    const meta = {
      lastUpdated: 'x',
      profile: ['http://example.org/StructureDefinition/p'],
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
      tag: [{ code: 't' }],
      source: 'urn:src',
      versionId: 'y',
    };
    const stored = JSON.parse(serializeVersion({ resourceType: 'Observation', meta, status: 'final' }, 'o1', 12, T));
    assert.deepEqual(Object.keys(stored.meta), ['versionId', 'lastUpdated', 'profile', 'security', 'tag', 'source']);
    assert.equal(stored.meta.versionId, '12');
    assert.deepEqual(stored.meta.profile, meta.profile);
    assert.deepEqual(stored.meta.security, meta.security);
    assert.deepEqual(stored.meta.tag, meta.tag);
    assert.equal(stored.meta.source, 'urn:src');
    assert.equal(stored.status, 'final');
  });

  it('does not modify its input', () => {
    const input = { resourceType: 'Patient', id: 'a', meta: { versionId: '1', tag: [{ code: 'x' }] } };
    const copy = structuredClone(input);
    serializeVersion(input, 'b', 2, T);
    assert.deepEqual(input, copy);
  });
});

describe('sameContent', () => {
  const a = { resourceType: 'Patient', id: 'p', meta: { versionId: '1', lastUpdated: '2020-01-01T00:00:00Z' }, active: true, name: [{ family: 'F', given: ['A', 'B'] }] };

  it('ignores object key order, at every level', () => {
    const b = { name: [{ given: ['A', 'B'], family: 'F' }], active: true, id: 'p', resourceType: 'Patient', meta: { lastUpdated: '2020-01-01T00:00:00Z', versionId: '1' } };
    assert.equal(sameContent(a, b), true);
  });

  it('ignores meta.versionId and meta.lastUpdated, and a meta holding only those', () => {
    assert.equal(sameContent(a, { ...a, meta: { versionId: '7', lastUpdated: '2030-01-01T00:00:00Z' } }), true);
    const { meta: _meta, ...noMeta } = a;
    assert.equal(sameContent(a, noMeta), true);
    assert.equal(sameContent(a, { ...noMeta, meta: {} }), true);
  });

  it('sees real changes', () => {
    assert.equal(sameContent(a, { ...a, active: false }), false);
    assert.equal(sameContent(a, { ...a, name: [{ family: 'F', given: ['B', 'A'] }] }), false, 'array order counts');
    assert.equal(sameContent(a, { ...a, gender: 'other' }), false, 'an added element');
    const { active: _active, ...without } = a;
    assert.equal(sameContent(a, without), false, 'a removed element');
    assert.equal(sameContent(a, { ...a, active: 'true' }), false, 'a changed JSON type');
    assert.equal(sameContent(a, { ...a, id: 'q' }), false);
  });

  it('sees changes to other meta fields', () => {
    assert.equal(sameContent(a, { ...a, meta: { ...a.meta, tag: [{ code: 'x' }] } }), false);
    assert.equal(
      sameContent({ ...a, meta: { versionId: '1', profile: ['p'] } }, { ...a, meta: { versionId: '2', profile: ['p'] } }),
      true,
    );
  });
});

describe('etag / parseETag', () => {
  it('etag is a weak tag of the version', () => {
    assert.equal(etag(3), 'W/"3"');
  });

  it('reads W/"n", "n", n and surrounding blanks', () => {
    assert.equal(parseETag('W/"3"'), 3);
    assert.equal(parseETag('"3"'), 3);
    assert.equal(parseETag('3'), 3);
    assert.equal(parseETag('  W/"42"  '), 42);
    assert.equal(parseETag(etag(123456789)), 123456789);
  });

  it('returns undefined for anything that is not a version tag', () => {
    for (const bad of ['', '*', 'W/""', 'W/"abc"', '"3a"', '-1', '1.5', 'w/"3"', '"1234567890"', 'W/"3", W/"4"']) {
      assert.equal(parseETag(bad), undefined, JSON.stringify(bad));
    }
  });
});

describe('nextTimestamp', () => {
  it('is now when there is no previous version or the clock moved forward', () => {
    const now = new Date('2024-01-01T00:00:01.000Z');
    assert.equal(nextTimestamp(undefined, now), now);
    assert.equal(nextTimestamp(new Date('2024-01-01T00:00:00.000Z'), now), now);
  });

  it('is strictly after the previous version when the clock stands still or steps back', () => {
    const previous = new Date('2024-01-01T00:00:05.000Z');
    assert.equal(nextTimestamp(previous, new Date(previous)).getTime(), previous.getTime() + 1);
    assert.equal(nextTimestamp(previous, new Date('2024-01-01T00:00:00.000Z')).getTime(), previous.getTime() + 1);
  });

  it('is monotonic over a sequence with a backwards clock', () => {
    const clock = [10, 10, 9, 5, 11, 11, 3, 20].map((s) => new Date(Date.UTC(2024, 0, 1, 0, 0, s)));
    let last: Date | undefined;
    for (const now of clock) {
      const next = nextTimestamp(last, now);
      if (last) assert.ok(next.getTime() > last.getTime(), `${next.toISOString()} > ${last.toISOString()}`);
      last = next;
    }
    assert.equal(last?.toISOString(), '2024-01-01T00:00:20.000Z');
  });

  it('defaults to the real clock', () => {
    const before = Date.now();
    const t = nextTimestamp().getTime();
    assert.ok(t >= before && t <= Date.now());
  });
});
