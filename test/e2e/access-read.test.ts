// The read side of SMART scopes (issue 10, "Scopes and enforcement"; docs/adr/0011-access-constraint.md),
// through FhirService on PostgreSQL with access contexts built here (no tokens). Two patients,
// A and B, each with Observations (laboratory and vital-signs), an Encounter and a Condition;
// a shared Practitioner; Lists. Under a patient scope for A nothing of B's is ever returned,
// counted, included, chained through, or read, and B's ids answer like unknown ids. Regression
// tests for leaks other servers shipped: _revinclude pulling another patient's resources,
// _include of a type outside the scopes, a chain on another patient's name, _has on a type
// outside the scopes.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { createFhirService, type FhirComposition } from '../../src/compose.js';
import { loadConfig } from '../../src/core/config.js';
import { ANONYMOUS_ACCESS, type AccessContext, type JsonObject } from '../../src/core/types.js';
import { testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';
import { CATEGORY, seededTenant, type Harness, type Reply } from './access-read-fixtures.js';

const LAB = `${CATEGORY}|laboratory`;

const app = (scopes: string[], extra: Partial<AccessContext> = {}): AccessContext => ({ subject: 'app', scopes, isAdmin: false, ...extra });
const PATIENT_A = app(['patient/*.rs'], { patient: 'a' });
const ADMIN = ANONYMOUS_ACCESS;

interface Entry {
  resource: JsonObject & { id: string; resourceType: string };
  search?: { mode: string };
}

const entries = (reply: Reply): Entry[] => (reply.body?.entry as Entry[] | undefined) ?? [];
const ids = (reply: Reply, mode?: string): string[] =>
  entries(reply)
    .filter((e) => e.resource.resourceType !== 'OperationOutcome' && (mode === undefined || e.search?.mode === mode))
    .map((e) => `${e.resource.resourceType}/${e.resource.id}`)
    .sort();
const diagnostics = (reply: Reply): string => String((reply.body?.issue as { diagnostics?: string }[] | undefined)?.[0]?.diagnostics);

describe('SMART scopes on reads: the data constraint (FhirService on PostgreSQL)', function () {
  let pool: pg.Pool;
  let composition: FhirComposition;
  let h: Harness;

  before(async function () {
    await requireServices(this);
    pool = await testPool();
    composition = createFhirService(loadConfig({}), { pool, mode: 'postgres', close: async () => undefined });
    h = await seededTenant(composition, pool, true);
  });

  after(async () => {
    await composition?.maintenance.close();
  });

  const get = (path: string, access: AccessContext = PATIENT_A) => h.send(access, 'GET', path);

  it('a search returns only the launch patient\'s resources, and _total counts only them', async () => {
    const all = await get('Observation?_total=accurate');
    assert.equal(all.status, 200);
    assert.deepEqual(ids(all), ['Observation/a-lab', 'Observation/a-only', 'Observation/a-panel', 'Observation/a-vital']);
    assert.equal(all.body?.total, 4);
    assert.deepEqual(ids(await get('Observation?code=2339-0&_sort=-date')), ['Observation/a-lab']);
    assert.deepEqual(ids(await get('Observation?subject=Patient/b')), []);
    // The query's own patient filter stands in for the compartment test only when it names exactly the launch patient.
    assert.deepEqual(ids(await get('Observation?patient=Patient/b&_total=accurate')), []);
    assert.deepEqual(ids(await get('Observation?patient=b')), []);
    assert.deepEqual(ids(await get('Observation?patient=Patient/a,Patient/b&code=2339-0')), ['Observation/a-lab']);
    assert.deepEqual(ids(await get('Observation?subject:Patient=b')), []);
    assert.deepEqual(ids(await get('Observation?patient=Patient/a&code=2339-0&_sort=-date&_total=accurate')), ['Observation/a-lab']);
    assert.deepEqual(ids(await get('Patient')), ['Patient/a']);
    assert.deepEqual(ids(await get('Condition?_summary=count')), []);
    assert.equal((await get('Condition?_summary=count')).body?.total, 1);
    assert.equal((await get('Observation?_total=estimate&_count=1')).body?.total, 4, 'under a constraint an estimate is an exact count');
    // The administrator sees both patients.
    assert.equal((await get('Observation?_total=accurate', ADMIN)).body?.total, 7);
  });

  it('_revinclude does not pull another patient\'s resources (a leak other servers shipped)', async () => {
    const reply = await get('Practitioner?_id=doc&_revinclude=Observation:performer&_revinclude=Patient:general-practitioner');
    assert.equal(reply.status, 200);
    assert.deepEqual(ids(reply, 'match'), ['Practitioner/doc']);
    assert.deepEqual(ids(reply, 'include'), ['Observation/a-lab', 'Observation/a-only', 'Patient/a']);
    const iterate = await get('Patient?_revinclude=Observation:subject&_revinclude:iterate=Condition:encounter&_revinclude=Encounter:subject');
    assert.ok(ids(iterate).every((id) => !id.includes('/b')), ids(iterate).join());
  });

  it('_include of a type outside the scopes is refused with 403 naming the scope; of a type in scope, B\'s targets are left out', async () => {
    const narrow = app(['patient/Observation.rs'], { patient: 'a' });
    const refused = await get('Observation?_include=Observation:performer:Practitioner', narrow);
    assert.equal(refused.status, 403);
    assert.match(diagnostics(refused), /patient\/Practitioner\.r/);
    assert.equal((await get('Observation?_revinclude=Condition:subject', narrow)).status, 403);
    assert.equal((await get('Observation?_include=Observation:subject', narrow)).status, 403, 'no target type of subject is readable');
    const panel = await get('Observation?_id=a-panel&_include=Observation:has-member');
    assert.deepEqual(ids(panel), ['Observation/a-panel'], 'B\'s Observation is not included');
    const withPatient = await get('Observation?_id=a-panel,b-lab&_include=Observation:subject');
    assert.deepEqual(ids(withPatient), ['Observation/a-panel', 'Patient/a']);
  });

  it('a chain on another patient\'s name finds nothing; on the launch patient\'s name it finds theirs', async () => {
    assert.deepEqual(ids(await get('Observation?subject:Patient.name=Bobson')), []);
    assert.deepEqual(ids(await get('Observation?subject:Patient.name=Bobson&_count=2')), []);
    assert.deepEqual(ids(await get('Observation?subject:Patient.name=Alder&code=2339-0')), ['Observation/a-lab']);
    // A chain needs 's' on its target type.
    assert.equal((await get('Observation?subject:Patient.name=Alder', app(['patient/Observation.rs'], { patient: 'a' }))).status, 403);
  });

  it('_has over a type outside the scopes is 403; over B\'s data it answers as if that data did not exist', async () => {
    const refused = await get('Patient?_has:Observation:subject:code=2339-0', app(['patient/Patient.rs'], { patient: 'a' }));
    assert.equal(refused.status, 403);
    assert.match(diagnostics(refused), /patient\/Observation\.s/);
    // Only B's Observation has code 9999-9 and points at the shared Practitioner.
    assert.deepEqual(ids(await get('Practitioner?_has:Observation:performer:code=9999-9')), []);
    assert.deepEqual(ids(await get('Practitioner?_has:Observation:performer:code=9999-9', ADMIN)), ['Practitioner/doc']);
    assert.deepEqual(ids(await get('Practitioner?_has:Observation:performer:code=1111-1')), ['Practitioner/doc']);
  });

  it('_list: only reachable Lists, and only reachable entries of them', async () => {
    assert.deepEqual(ids(await get('Observation?_list=a-list')), ['Observation/a-lab']);
    assert.deepEqual(ids(await get('Observation?_list=b-list')), [], 'B\'s List is out of reach, as if absent');
    assert.deepEqual(ids(await get('Observation?_list=b-list', ADMIN)), ['Observation/a-lab', 'Observation/b-lab']);
    assert.equal((await get('Observation?_list=a-list', app(['patient/Observation.rs'], { patient: 'a' }))).status, 403);
  });

  it('compartment search of another patient finds nothing', async () => {
    assert.deepEqual(ids(await get('Patient/b/Observation')), []);
    assert.deepEqual(ids(await get('Patient/b/Condition?_total=accurate')), []);
    assert.deepEqual(ids(await get('Patient/a/Condition')), ['Condition/a-cond']);
  });

  it('read, vread and history of another patient\'s resources answer exactly like an unknown id (404)', async () => {
    for (const [known, unknown] of [['Observation/b-lab', 'Observation/zz-lab'], ['Patient/b', 'Patient/z'], ['Encounter/b-enc', 'Encounter/zz-enc']]) {
      for (const suffix of ['', '/_history/1', '/_history']) {
        const out = await get(known + suffix);
        const none = await get(unknown + suffix);
        assert.equal(out.status, 404, known + suffix);
        assert.equal(none.status, 404, unknown + suffix);
        assert.equal(JSON.stringify(out.body).replaceAll(known, 'X'), JSON.stringify(none.body).replaceAll(unknown, 'X'), `${known}${suffix}: same body as an unknown id`);
      }
    }
    assert.equal((await get('Observation/a-lab')).status, 200);
    assert.equal((await get('Observation/a-lab/_history/1')).status, 200);
    assert.deepEqual(ids(await get('Observation/a-lab/_history')), ['Observation/a-lab']);
    assert.equal((await get('Observation/b-lab', ADMIN)).status, 200);
  });

  it('type and system history list only versions of reachable resources', async () => {
    const type = await get('Observation/_history');
    assert.deepEqual([...new Set(ids(type))], ['Observation/a-lab', 'Observation/a-only', 'Observation/a-panel', 'Observation/a-vital']);
    const system = await get('_history?_count=100', app(['patient/*.rs'], { patient: 'a' }));
    assert.equal(system.status, 200);
    assert.ok(ids(system).length > 0);
    assert.ok(ids(system).every((id) => !/\/b(-|$)/.test(id)), ids(system).join());
    assert.ok(!ids(system).includes('Questionnaire/q'), 'types outside the compartment and not shared are out of reach');
  });

  it('paging never shows another patient\'s rows', async () => {
    const seen: string[] = [];
    let reply = await get('Observation?_count=1&_sort=-date');
    for (let i = 0; i < 10; i++) {
      seen.push(...ids(reply));
      const next = (reply.body?.link as { relation: string; url: string }[]).find((l) => l.relation === 'next');
      if (!next) break;
      reply = await get(next.url.replace('http://h/fhir/', ''));
    }
    assert.deepEqual(seen.sort(), ['Observation/a-lab', 'Observation/a-only', 'Observation/a-panel', 'Observation/a-vital']);
  });

  it('a granular scope (category=laboratory) hides vital-signs Observations in search, read and includes', async () => {
    const lab = app([`patient/Observation.rs?category=${LAB}`, 'patient/Patient.rs'], { patient: 'a' });
    assert.deepEqual(ids(await get('Observation', lab)), ['Observation/a-lab', 'Observation/a-only', 'Observation/a-panel']);
    assert.equal((await get('Observation/a-vital', lab)).status, 404);
    assert.equal((await get('Observation/a-vital/_history/1', lab)).status, 404);
    assert.equal((await get('Observation/a-lab', lab)).status, 200);
    assert.deepEqual(ids(await get('Patient?_revinclude=Observation:subject', lab), 'include'), ['Observation/a-lab', 'Observation/a-only', 'Observation/a-panel']);
    // A plain scope for the type wins over the granular one.
    const both = app([`patient/Observation.rs?category=${LAB}`, 'patient/Observation.rs'], { patient: 'a' });
    assert.equal(ids(await get('Observation', both)).length, 4);
    // Several granular scopes for a type are OR'ed.
    const two = app([`patient/Observation.rs?category=${LAB}`, `patient/Observation.rs?category=${CATEGORY}|vital-signs`], { patient: 'a' });
    assert.equal(ids(await get('Observation', two)).length, 4);
    // A system scope with a constraint: tenant-wide, within its parameters.
    assert.deepEqual(ids(await get('Observation?code=8867-4', app([`system/Observation.rs?category=${LAB}`]))), []);
    assert.equal(ids(await get('Observation', app([`system/Observation.rs?category=${LAB}`]))).length, 5);
    // A constraint Hearth cannot enforce grants nothing.
    assert.deepEqual(ids(await get('Observation', app(['patient/Observation.rs?unknown-param=x'], { patient: 'a' }))), []);
  });

  it('system search returns only reachable resources', async () => {
    const typed = await get('?_type=Observation,Condition,Encounter&_total=accurate');
    assert.equal(typed.status, 200);
    assert.deepEqual(ids(typed), ['Condition/a-cond', 'Encounter/a-enc', 'Observation/a-lab', 'Observation/a-only', 'Observation/a-panel', 'Observation/a-vital']);
    assert.equal(typed.body?.total, 6);
    const all = await get('?_count=100');
    assert.ok(ids(all).every((id) => !/\/b(-|$)/.test(id) && id !== 'Questionnaire/q'), ids(all).join());
    assert.ok(ids(all).includes('Practitioner/doc'));
  });

  it('shared types are readable under patient scopes; other types outside the compartment are not', async () => {
    assert.equal((await get('Practitioner/doc')).status, 200);
    assert.deepEqual(ids(await get('Practitioner')), ['Practitioner/doc']);
    assert.equal((await get('Questionnaire/q')).status, 404);
    assert.deepEqual(ids(await get('Questionnaire')), []);
  });

  it('user scopes: confined like patient scopes for a Patient user, tenant-wide for a Practitioner user', async () => {
    const patientUser = app(['user/*.rs'], { fhirUser: 'Patient/a' });
    assert.equal(ids(await get('Observation', patientUser)).length, 4);
    assert.equal((await get('Observation/b-lab', patientUser)).status, 404);
    const practitionerUser = app(['user/*.rs'], { fhirUser: 'Practitioner/doc' });
    assert.equal(ids(await get('Observation', practitionerUser)).length, 7);
  });

  it('patient scopes without a launch patient grant nothing (403)', async () => {
    assert.equal((await get('Observation', app(['patient/*.rs']))).status, 403);
    assert.equal((await get('Observation/a-lab', app(['patient/*.rs']))).status, 403);
  });

  it('conditional criteria do not see another patient\'s resources', async () => {
    const writer = app(['patient/*.cruds'], { patient: 'a' });
    await h.send(writer, 'DELETE', 'Observation?identifier=http://example.org/obs|b-vital');
    assert.equal((await get('Observation/b-vital', ADMIN)).status, 200, 'B\'s Observation was not deleted');
  });
});
