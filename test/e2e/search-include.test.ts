// End-to-end _include / _revinclude (FHIR R4 search.html#include, #revinclude, #iterate):
// exact sets of matched and included resources over a small graph, with the search modes,
// de-duplication, deleted resources, paging and the error cases.
//
// Graph (ids as written):
//   Organization/org              <- Patient/p1.managingOrganization
//   Practitioner/pr               <- Encounter/e1.participant.individual, Observation/o1.performer
//   Patient/p1, Patient/p2
//   Encounter/e1 (p1), e2 (p2, updated to version 2), e3 (p1)
//   Observation/o1 (p1, e1, performer pr + org)     o2 (p1, e1, hasMember o1)
//   Observation/o3 (p2, Encounter/e2/_history/1, performer absolute URL elsewhere)
//   Observation/o4 (p1, e3)    o5 (p1, e1, DELETED)
//   Practitioner/gone (DELETED) <- Observation/o6.performer
import assert from 'node:assert/strict';
import type { Bundle, BundleEntry, Resource } from 'fhir/r4.js';
import { assertOutcome, http } from '../support/http.js';
import { requireServices } from '../support/services.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

interface SearchResult {
  bundle: Bundle;
  matches: string[];
  included: string[];
  outcomes: BundleEntry[];
}

const keyOf = (r: Resource) => `${r.resourceType}/${r.id}`;
const sorted = (list: Iterable<string>) => [...list].sort();

async function put(base: string, resource: Resource & { id: string }): Promise<void> {
  const res = await http(`${base}/${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource });
  assert.ok(res.status === 200 || res.status === 201, `PUT ${keyOf(resource)}: ${res.status} ${res.text}`);
}

async function remove(base: string, key: string): Promise<void> {
  const res = await http(`${base}/${key}`, { method: 'DELETE' });
  assert.ok(res.status === 200 || res.status === 204, `DELETE ${key}: ${res.status} ${res.text}`);
}

/** GET a search (path relative to the base, or an absolute next link); checks modes and uniqueness. */
async function search(base: string, pathOrUrl: string): Promise<SearchResult> {
  const res = await http<Bundle>(pathOrUrl.startsWith('http') ? pathOrUrl : `${base}/${pathOrUrl}`);
  assert.equal(res.status, 200, res.text);
  const bundle = res.body;
  assert.equal(bundle.type, 'searchset');
  const matches: string[] = [];
  const included: string[] = [];
  const outcomes: BundleEntry[] = [];
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource as Resource;
    const mode = entry.search?.mode;
    if (mode === 'outcome') {
      outcomes.push(entry);
      continue;
    }
    assert.ok(mode === 'match' || mode === 'include', `entry mode ${mode}`);
    assert.equal(entry.fullUrl, `${base}/${keyOf(resource)}`);
    (mode === 'match' ? matches : included).push(keyOf(resource));
  }
  const all = [...matches, ...included];
  assert.equal(new Set(all).size, all.length, `each resource appears once: ${all.join(', ')}`);
  return { bundle, matches: sorted(matches), included: sorted(included), outcomes };
}

const CODE = { coding: [{ system: 'http://loinc.org', code: '8867-4' }] };
const CLASS = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' };
const ref = (reference: string) => ({ reference });

function observation(id: string, fields: Record<string, unknown>): Resource & { id: string } {
  return { resourceType: 'Observation', id, status: 'final', code: CODE, ...fields } as Resource & { id: string };
}

function encounter(id: string, fields: Record<string, unknown>): Resource & { id: string } {
  return { resourceType: 'Encounter', id, status: 'finished', class: CLASS, ...fields } as Resource & { id: string };
}

async function createGraph(base: string): Promise<void> {
  await put(base, { resourceType: 'Organization', id: 'org', name: 'Hearth Clinic' } as Resource & { id: string });
  await put(base, { resourceType: 'Practitioner', id: 'pr', name: [{ family: 'Welby' }] } as Resource & { id: string });
  await put(base, { resourceType: 'Practitioner', id: 'gone', name: [{ family: 'Gone' }] } as Resource & { id: string });
  await put(base, { resourceType: 'Patient', id: 'p1', managingOrganization: ref('Organization/org') } as Resource & { id: string });
  await put(base, { resourceType: 'Patient', id: 'p2' } as Resource & { id: string });
  await put(base, encounter('e1', { subject: ref('Patient/p1'), participant: [{ individual: ref('Practitioner/pr') }] }));
  await put(base, encounter('e2', { subject: ref('Patient/p2') }));
  await put(base, encounter('e2', { subject: ref('Patient/p2'), status: 'cancelled' })); // version 2
  await put(base, encounter('e3', { subject: ref('Patient/p1') }));
  await put(base, observation('o1', { subject: ref('Patient/p1'), encounter: ref('Encounter/e1'), performer: [ref('Practitioner/pr'), ref('Organization/org')] }));
  await put(base, observation('o2', { subject: ref('Patient/p1'), encounter: ref('Encounter/e1'), hasMember: [ref('Observation/o1')] }));
  await put(
    base,
    observation('o3', {
      subject: ref('Patient/p2'),
      encounter: ref('Encounter/e2/_history/1'),
      performer: [ref('http://elsewhere.example/fhir/Practitioner/pr')],
    }),
  );
  await put(base, observation('o4', { subject: ref('Patient/p1'), encounter: ref('Encounter/e3') }));
  await put(base, observation('o5', { subject: ref('Patient/p1'), encounter: ref('Encounter/e1') }));
  await put(base, observation('o6', { subject: ref('Patient/p2'), performer: [ref('Practitioner/gone')] }));
  await remove(base, 'Observation/o5');
  await remove(base, 'Practitioner/gone');
}

describe('search _include / _revinclude end to end (postgres)', function () {
  let server: TestServer | undefined;
  let base = '';

  before(async function () {
    await requireServices(this);
    server = await startTestServer('postgres');
    base = await server.newTenantBase();
    await createGraph(base);
  });
  after(async () => {
    await server?.stop();
    server = undefined;
  });

  it('_include adds the referenced resources once, with mode include, not counted in total', async () => {
    const r = await search(base, 'Observation?_id=o1,o2&_include=Observation:subject&_total=accurate');
    assert.deepEqual(r.matches, ['Observation/o1', 'Observation/o2']);
    assert.deepEqual(r.included, ['Patient/p1']); // both matches refer to p1: one entry
    assert.equal(r.bundle.total, 2);
    assert.equal(r.bundle.entry?.length, 3);
    assert.deepEqual(r.outcomes, []);
  });

  it('_include with a target type follows only references to that type', async () => {
    const all = await search(base, 'Observation?_id=o1&_include=Observation:performer');
    assert.deepEqual(all.included, ['Organization/org', 'Practitioner/pr']);
    const typed = await search(base, 'Observation?_id=o1&_include=Observation:performer:Practitioner');
    assert.deepEqual(typed.included, ['Practitioner/pr']);
    const none = await search(base, 'Observation?_id=o1&_include=Observation:subject:Group');
    assert.deepEqual(none.included, []);
  });

  it('_include=Type:* and _include=* follow every reference parameter', async () => {
    for (const value of ['Observation:*', '*']) {
      const r = await search(base, `Observation?_id=o1&_include=${encodeURIComponent(value)}`);
      assert.deepEqual(r.matches, ['Observation/o1']);
      assert.deepEqual(r.included, ['Encounter/e1', 'Organization/org', 'Patient/p1', 'Practitioner/pr'], value);
    }
  });

  it('_include of a versioned reference returns the current version; absolute references are not followed', async () => {
    const r = await search(base, 'Observation?_id=o3&_include=Observation:encounter&_include=Observation:performer');
    assert.deepEqual(r.included, ['Encounter/e2']);
    const e2 = r.bundle.entry?.find((e) => e.search?.mode === 'include')?.resource;
    assert.equal(e2?.meta?.versionId, '2');
    assert.equal((e2 as { status?: string }).status, 'cancelled');
  });

  it('_revinclude adds the resources referring to the matches, never deleted ones', async () => {
    const one = await search(base, 'Encounter?_id=e1&_revinclude=Observation:encounter');
    assert.deepEqual(one.matches, ['Encounter/e1']);
    assert.deepEqual(one.included, ['Observation/o1', 'Observation/o2']); // not the deleted o5
    const patient = await search(base, 'Encounter?patient=p1&_revinclude=Observation:encounter&_total=accurate');
    assert.deepEqual(patient.matches, ['Encounter/e1', 'Encounter/e3']);
    assert.deepEqual(patient.included, ['Observation/o1', 'Observation/o2', 'Observation/o4']);
    assert.equal(patient.bundle.total, 2);
  });

  it('a deleted target is not included', async () => {
    const r = await search(base, 'Observation?_id=o6&_include=Observation:performer&_include=Observation:subject');
    assert.deepEqual(r.matches, ['Observation/o6']);
    assert.deepEqual(r.included, ['Patient/p2']);
    const deleted = await search(base, 'Observation?_id=o5&_include=Observation:subject');
    assert.deepEqual([...deleted.matches, ...deleted.included], []);
  });

  it('_include:iterate follows two hops (Observation -> Encounter -> Practitioner)', async () => {
    const r = await search(base, 'Observation?_id=o1&_include=Observation:encounter&_include:iterate=Encounter:participant');
    assert.deepEqual(r.matches, ['Observation/o1']);
    assert.deepEqual(r.included, ['Encounter/e1', 'Practitioner/pr']);
    // Without :iterate the second hop is not taken (and Encounter is not the searched type: 400).
    const flat = await http(`${base}/Observation?_id=o1&_include=Observation:encounter&_include=Encounter:participant`);
    assert.equal(flat.status, 400);
  });

  it('_revinclude:iterate follows two hops backwards (Patient <- Encounter <- Observation)', async () => {
    const r = await search(base, 'Patient?_id=p1&_revinclude=Encounter:subject&_revinclude:iterate=Observation:encounter');
    assert.deepEqual(r.matches, ['Patient/p1']);
    assert.deepEqual(r.included, ['Encounter/e1', 'Encounter/e3', 'Observation/o1', 'Observation/o2', 'Observation/o4']);
    const flat = await search(base, 'Patient?_id=p1&_revinclude=Encounter:subject&_revinclude=Observation:encounter');
    assert.deepEqual(flat.included, ['Encounter/e1', 'Encounter/e3']);
  });

  it('a resource both matched and referenced appears once, as a match', async () => {
    const forward = await search(base, 'Observation?_id=o1,o2&_include=Observation:has-member');
    assert.deepEqual(forward.matches, ['Observation/o1', 'Observation/o2']);
    assert.deepEqual(forward.included, []);
    const reverse = await search(base, 'Observation?_id=o1,o2&_revinclude=Observation:has-member&_include=Observation:subject');
    assert.deepEqual(reverse.matches, ['Observation/o1', 'Observation/o2']);
    assert.deepEqual(reverse.included, ['Patient/p1']);
  });

  it('includes follow only the current page matches', async () => {
    const first = await search(base, 'Observation?_id=o1,o4&_sort=_id&_count=1&_include=Observation:encounter&_total=accurate');
    assert.deepEqual(first.matches, ['Observation/o1']);
    assert.deepEqual(first.included, ['Encounter/e1']);
    assert.equal(first.bundle.total, 2);
    const next = first.bundle.link?.find((l) => l.relation === 'next')?.url;
    assert.ok(next, 'a next link');
    const second = await search(base, next);
    assert.deepEqual(second.matches, ['Observation/o4']);
    assert.deepEqual(second.included, ['Encounter/e3']);
  });

  it('_summary=count returns no entries at all', async () => {
    const r = await search(base, 'Observation?subject=p1&_include=Observation:encounter&_summary=count');
    assert.equal(r.bundle.total, 3);
    assert.equal(r.bundle.entry, undefined);
  });

  it('POST _search accepts _include and _revinclude', async () => {
    const res = await http<Bundle>(`${base}/Encounter/_search`, {
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
      body: new URLSearchParams({ _id: 'e3', _include: 'Encounter:subject', _revinclude: 'Observation:encounter' }).toString(),
    });
    assert.equal(res.status, 200, res.text);
    const byMode = (mode: string) => sorted((res.body.entry ?? []).filter((e) => e.search?.mode === mode).map((e) => keyOf(e.resource as Resource)));
    assert.deepEqual(byMode('match'), ['Encounter/e3']);
    assert.deepEqual(byMode('include'), ['Observation/o4', 'Patient/p1']);
  });

  for (const [query, parameter] of [
    ['Observation?_include=Observation', '_include'],
    ['Observation?_include=Observation:code', '_include'],
    ['Observation?_include=Nothing:subject', '_include'],
    ['Observation?_include=Observation:subject:Nothing', '_include'],
    ['Observation?_include=Observation:subject:Patient:extra', '_include'],
    ['Encounter?_revinclude=Observation:status', '_revinclude'],
    ['Encounter?_revinclude=Observation', '_revinclude'],
    ['Observation?_include:iterate=Encounter:nope', '_include:iterate'],
  ] as const) {
    it(`invalid ${query.split('?')[1]} is a 400 naming ${parameter}`, async () => {
      const res = await http(`${base}/${query}`);
      assert.equal(res.status, 400, res.text);
      const outcome = assertOutcome(res.body, 'invalid');
      assert.ok(
        outcome.issue.some((i) => i.expression?.includes(parameter)),
        `an issue with expression ${parameter}: ${JSON.stringify(outcome)}`,
      );
    });
  }
});

describe('search _include / _revinclude end to end (embedded)', function () {
  let server: TestServer | undefined;
  let base = '';

  before(async function () {
    await requireServices(this);
    server = await startTestServer('embedded');
    base = await server.newTenantBase();
    await createGraph(base);
  });
  after(async () => {
    await server?.stop();
    server = undefined;
  });

  it('_include, _include:iterate and _revinclude together on PGlite', async () => {
    const r = await search(
      base,
      'Encounter?_id=e1&_include=Encounter:subject&_include:iterate=Patient:organization&_revinclude=Observation:encounter',
    );
    assert.deepEqual(r.matches, ['Encounter/e1']);
    assert.deepEqual(r.included, ['Observation/o1', 'Observation/o2', 'Organization/org', 'Patient/p1']);
  });
});
