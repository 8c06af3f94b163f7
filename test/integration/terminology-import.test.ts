// `hearth terminology import|preload` (src/cli/terminology-commands.ts) on real PostgreSQL: each
// fixture format lands in a tenant with a closure that answers subsumption; a bad line stores
// nothing; a loaded version is skipped unless --replace; the shared path; FHIR packages; the
// preload the test database setup runs; and the CLI once as a separate process.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { terminologyCommand } from '../../src/cli/terminology-commands.js';
import type { Database } from '../../src/storage/pg/database.js';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import type { TerminologyStore } from '../../src/storage/terminology-store.js';
import { hearth } from '../support/cli.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';
import { brokenCopy, fixture, packedFhirPackage } from '../support/terminology-fixtures.js';

describe('hearth terminology import (integration)', function () {
  this.timeout(120_000);
  let database: Database;
  let repo: PgRepository;

  before(async function () {
    await requireServices(this);
    database = { pool: await testPool(), mode: 'postgres', close: async () => undefined };
    repo = new PgRepository(database.pool);
  });

  const run = async (args: string[]) => {
    const lines: string[] = [];
    await terminologyCommand(database, args, (l) => lines.push(l));
    return lines;
  };
  const inTenant = <T>(tenant: string, work: (t: TerminologyStore) => Promise<T>) => repo.withTenant(tenant, (store) => work(store.terminology), { readOnly: true });
  /** The tenant's own version of `url` (and whether `ancestor` subsumes each of `below`). */
  const own = async (tenant: string, url: string) => inTenant(tenant, async (t) => (await t.codeSystems(url)).filter((v) => v.scope === 'tenant'));
  const subsumes = (tenant: string, url: string, ancestor: string, descendant: string) =>
    inTenant(tenant, async (t) => {
      const [cs] = (await t.codeSystems(url)).filter((v) => v.scope === 'tenant');
      return t.subsumes(cs, ancestor, descendant);
    });

  const cases = [
    { format: 'loinc', path: fixture('loinc'), url: 'http://loinc.org', version: '2.76', concepts: 20, ancestor: 'LP343406-7', descendant: '4548-4', not: ['LP7786-9', '2345-7'] },
    { format: 'snomed', path: fixture('snomed'), url: 'http://snomed.info/sct', version: 'http://snomed.info/sct/900000000000207008/version/20230131', concepts: 12, ancestor: '64572001', descendant: '44054006', not: ['49601007', '44054006'] },
    { format: 'icd10cm', path: fixture('icd10cm'), url: 'http://hl7.org/fhir/sid/icd-10-cm', version: '2024', concepts: 20, ancestor: 'S72', descendant: 'S72.001A', not: ['E11', 'E10.9'] },
    { format: 'rxnorm', path: fixture('rxnorm'), url: 'http://www.nlm.nih.gov/research/umls/rxnorm', version: '01022024', concepts: 11, ancestor: '1151133', descendant: '317541', not: ['1151133', '316945'] },
    { format: 'cvx', path: fixture('cvx'), url: 'http://hl7.org/fhir/sid/cvx', version: '2023-11-02', concepts: 12, ancestor: '03', descendant: '03', not: ['03', '08'] },
  ];

  for (const c of cases) {
    it(`${c.format}: imports into a tenant with its closure; a second import is skipped; --replace reloads`, async () => {
      const tenant = await newTenant(database.pool);
      const [line] = await run(['import', c.format, c.path, '--tenant', tenant]);
      assert.match(line, new RegExp(`^${c.url.replace(/[.]/g, '\\.')} version .+: ${c.concepts} concepts, \\d+ is-a edges, \\d+ closure rows in [\\d.]+ s$`));
      const [version] = await own(tenant, c.url);
      assert.equal(version.version, c.version);
      assert.equal(version.conceptCount, c.concepts);
      assert.equal(version.source, c.format);
      assert.equal(await subsumes(tenant, c.url, c.ancestor, c.descendant), true);
      assert.equal(await subsumes(tenant, c.url, c.not[0], c.not[1]), false);
      assert.deepEqual(await run(['import', c.format, c.path, '--tenant', tenant]), [`${c.url} version ${c.version}: already loaded, skipped (--replace loads it again)`]);
      const [replaced] = await run(['import', c.format, c.path, '--tenant', tenant, '--replace']);
      assert.match(replaced, new RegExp(`: ${c.concepts} concepts`));
      const after = await own(tenant, c.url);
      assert.equal(after.length, 1);
      assert.notEqual(after[0].id, version.id, 'a new version row');
    });
  }

  it('a bad line stores nothing: the error names file and line, the code system is absent', async () => {
    const tenant = await newTenant(database.pool);
    // Line 20 of the order file: the hierarchy is half written when it fails.
    const dir = await brokenCopy('icd10cm', 'icd10cm_order_2024.txt', 20, '00020 S72001A X bad flag');
    await assert.rejects(run(['import', 'icd10cm', dir, '--tenant', tenant]), /icd10cm_order_2024\.txt:20: column 15 should be 0 \(header\) or 1 \(billable\)/);
    assert.deepEqual(await own(tenant, 'http://hl7.org/fhir/sid/icd-10-cm'), []);
    const loinc = await brokenCopy('loinc', 'Loinc_2.76/AccessoryFiles/MultiAxialHierarchy/MultiAxialHierarchy.csv', 23, 'LP21258-6.LP35925-4,5');
    await assert.rejects(run(['import', 'loinc', loinc, '--tenant', tenant]), /MultiAxialHierarchy\.csv:23: expected 5 columns, found 2/);
    assert.deepEqual(await own(tenant, 'http://loinc.org'), []);
  });

  it('--version names the version; without --tenant the import goes to the shared tables every tenant reads', async () => {
    const version = `test-${randomUUID()}`;
    const [line] = await run(['import', 'cvx', fixture('cvx', 'cvx.txt'), '--version', version]);
    assert.match(line, new RegExp(`^http://hl7\\.org/fhir/sid/cvx version ${version}: 12 concepts`));
    const tenant = await newTenant(database.pool);
    await inTenant(tenant, async (t) => {
      const [shared] = await t.codeSystems('http://hl7.org/fhir/sid/cvx', version);
      assert.equal(shared.scope, 'shared');
      assert.equal(shared.conceptCount, 12);
      const [mmr] = await t.concepts(shared, ['03']);
      assert.equal(mmr.display, 'MMR');
      const [definition] = await t.sharedResources('CodeSystem', 'http://hl7.org/fhir/sid/cvx', version);
      assert.equal(definition.version, version);
    });
    assert.match((await run(['import', 'cvx', fixture('cvx', 'cvx.txt'), '--version', version]))[0], /already loaded, skipped/);
  });

  it('fhir: a CodeSystem file and a packed NPM package into a tenant (ValueSets and ConceptMaps go through the API)', async () => {
    const tenant = await newTenant(database.pool);
    const lines = await run(['import', 'fhir', fixture('fhir', 'CodeSystem-colours.json'), await packedFhirPackage(), '--tenant', tenant]);
    assert.ok(lines.some((l) => /^http:\/\/example\.org\/fhir\/CodeSystem\/colours version 1\.0\.0: 7 concepts, 6 is-a edges, 16 closure rows in/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^2 ValueSet\/ConceptMap resources not imported/.test(l)));
    assert.ok(lines.some((l) => /^skipped .*CodeSystem-shapes-fragment\.json: CodeSystem\.content is fragment/.test(l)), lines.join('\n'));
    assert.equal(await subsumes(tenant, 'http://example.org/fhir/CodeSystem/shapes', 'polygon', 'square'), true);
    assert.equal(await subsumes(tenant, 'http://example.org/fhir/CodeSystem/colours', 'red', 'navy'), false);
  });

  it('fhir: an unpacked package into the shared tables stores every definition', async () => {
    // The package's urls are fixed: a run against a database that has them already skips the code system.
    const lines = await run(['import', 'fhir', fixture('fhir', 'package-src')]);
    assert.ok(lines.some((l) => /^stored 1 CodeSystem definitions without concepts, 1 ValueSets, 1 ConceptMaps as shared definitions$/.test(l)), lines.join('\n'));
    const tenant = await newTenant(database.pool);
    await inTenant(tenant, async (t) => {
      assert.equal((await t.sharedResources('ValueSet', 'http://example.org/fhir/ValueSet/polygons')).length, 1);
      assert.equal((await t.sharedResources('ConceptMap', 'http://example.org/fhir/ConceptMap/shapes-to-colours')).length, 1);
      const [shapes] = await t.codeSystems('http://example.org/fhir/CodeSystem/shapes', '0.1.0');
      assert.equal(await t.subsumes(shapes, 'shape', 'triangle'), true);
    });
  });

  it('the preload (run by testPool) holds the R4 and HL7 Terminology content, and a second run skips it', async () => {
    const tenant = await newTenant(database.pool);
    await inTenant(tenant, async (t) => {
      const [gender] = await t.codeSystems('http://hl7.org/fhir/administrative-gender');
      assert.equal(gender.scope, 'shared');
      assert.equal(gender.conceptCount, 4);
      assert.deepEqual((await t.concepts(gender, ['female', 'male', 'other', 'unknown'])).map((c) => c.code).sort(), ['female', 'male', 'other', 'unknown']);
      const [valueSet] = await t.sharedResources('ValueSet', 'http://hl7.org/fhir/ValueSet/administrative-gender');
      assert.equal(valueSet.resourceType, 'ValueSet');
      const actCodes = await t.codeSystems('http://terminology.hl7.org/CodeSystem/v3-ActCode');
      const tho = actCodes.find((v) => v.version === '9.0.0') ?? actCodes[0];
      assert.ok(tho.conceptCount > 500, `v3-ActCode has ${tho.conceptCount} concepts`);
      // _ActEncounterCode is an abstract grouper over the encounter classes (AMB, EMER, IMP, ...).
      assert.equal(await t.subsumes(tho, '_ActEncounterCode', 'AMB'), true);
      assert.equal(await t.subsumes(tho, 'AMB', '_ActEncounterCode'), false);
      assert.ok((await t.sharedResources('ConceptMap', 'http://hl7.org/fhir/ConceptMap/cm-administrative-gender-v2')).length === 1);
    });
    assert.deepEqual(await run(['preload']), ['hl7.fhir.r4.examples 4.0.1: already preloaded, skipped\nhl7.terminology.r4 7.0.1: already preloaded, skipped']);
  });

  it('the CLI as an operator runs it: a tenant import, its summary on stdout and progress on stderr', async () => {
    const tenant = await newTenant(database.pool);
    const result = await hearth(['terminology', 'import', 'snomed', fixture('snomed'), '--tenant', tenant], { DATABASE_URL: TEST_DATABASE_URL });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^http:\/\/snomed\.info\/sct version http:\/\/snomed\.info\/sct\/900000000000207008\/version\/20230131: 12 concepts, 11 is-a edges, \d+ closure rows in [\d.]+ s\n$/);
    const bad = await hearth(['terminology', 'import', 'loinc', fixture('cvx'), '--tenant', tenant], { DATABASE_URL: TEST_DATABASE_URL });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /hearth: No Loinc\.csv found in/);
  });
});

