// The terminology importers' parsers (src/terminology/import/*.ts) on the fixtures in the real
// release formats: concepts, displays, properties, designations and is-a edges; a malformed line
// fails naming the file and line.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsvRecord } from '../../../src/terminology/import/csv.js';
import { cvxSource, isoDate } from '../../../src/terminology/import/cvx.js';
import { fhirResources } from '../../../src/terminology/import/fhir-files.js';
import { dotted, icd10cmSource, parseOrderLine } from '../../../src/terminology/import/icd10cm.js';
import { loincSource } from '../../../src/terminology/import/loinc.js';
import { rxnormSource } from '../../../src/terminology/import/rxnorm.js';
import { snomedSource, withoutSemanticTag } from '../../../src/terminology/import/snomed.js';
import { closureOf } from '../../../src/storage/pg/shared-terminology-bulk.js';
import type { ConceptInput } from '../../../src/storage/terminology-store.js';
import { brokenCopy, emitted, fixture, packedFhirPackage } from '../../support/terminology-fixtures.js';

const prop = (c: ConceptInput | undefined, code: string) => c?.properties?.filter((p) => p.code === code).map((p) => p.value);
const edgeSet = (edges: { child: string; parent: string }[]) => new Set(edges.map((e) => `${e.child}<${e.parent}`));

describe('terminology import parsers', () => {
  describe('CSV (RFC 4180)', () => {
    it('splits quoted fields with commas and doubled quotes, empty fields, and reports an open quote', () => {
      assert.deepEqual(parseCsvRecord('a,"b, c","say ""hi""",,'), ['a', 'b, c', 'say "hi"', '', '']);
      assert.deepEqual(parseCsvRecord('""'), ['']);
      assert.equal(parseCsvRecord('"open, still'), undefined);
      assert.throws(() => parseCsvRecord('"a"b,c'), /after a closing quote/);
      assert.throws(() => parseCsvRecord('a"b,c'), /quote inside an unquoted field/);
    });
  });

  describe('LOINC', () => {
    it('reads Loinc.csv and MultiAxialHierarchy.csv from a release directory: terms, parts, edges, version', async () => {
      const source = await loincSource([fixture('loinc')]);
      const header = await source.header();
      assert.equal(header.url, 'http://loinc.org');
      assert.equal(header.version, '2.76', 'from the Loinc_2.76 directory');
      const { concepts, edges } = await emitted(source);
      assert.equal(concepts.size, 12 + 8, '12 terms and 8 LOINC parts');
      const glucose = concepts.get('2345-7')!;
      assert.equal(glucose.display, 'Glucose [Mass/volume] in Serum or Plasma');
      assert.deepEqual(prop(glucose, 'COMPONENT'), ['Glucose']);
      assert.deepEqual(prop(glucose, 'CLASSTYPE'), [1]);
      assert.ok(glucose.designations?.some((d) => d.value === 'Glucose SerPl-mCnc' && d.use?.code === 'SHORTNAME'));
      assert.equal(concepts.get('2344-0')!.active, false, 'DEPRECATED');
      assert.equal(concepts.get('LP14635-4')!.display, 'Glucose');
      const set = edgeSet(edges);
      assert.ok(set.has('2345-7<LP14635-4') && set.has('LP14635-4<LP343406-7') && set.has('LP343406-7<LP29693-6'));
      assert.ok(set.has('4548-4<LP14449-0') && set.has('LP14449-0<LP7786-9') && set.has('LP14449-0<LP343406-7'), 'a part under two parents');
      assert.equal(edges.length, set.size, 'a pair repeated on several paths is emitted once');
    });

    it('learns the version from the newest VersionLastChanged when the path does not name it', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'hearth-loinc-'));
      await copyFile(fixture('loinc', 'Loinc_2.76', 'LoincTable', 'Loinc.csv'), join(dir, 'Loinc.csv'));
      const source = await loincSource([dir]);
      assert.equal((await source.header()).version, '2.76');
      assert.equal(source.files.length, 1, 'no hierarchy file: terms only');
      assert.equal((await emitted(source)).edges.length, 0);
    });

    it('names the file and line of a row with the wrong number of columns, and a quote left open', async () => {
      const short = await brokenCopy('loinc', 'Loinc_2.76/LoincTable/Loinc.csv', 3, '"1234-5","only","three"');
      await assert.rejects(emitted(await loincSource([short])), /^ImportError: Loinc\.csv:3: expected 40 columns, found 3$/);
      const open = await brokenCopy('loinc', 'Loinc_2.76/LoincTable/Loinc.csv', 13, '"2344-0","Glucose,"MCnc"');
      await assert.rejects(emitted(await loincSource([open])), /Loinc\.csv:13: /);
    });
  });

  describe('SNOMED CT RF2', () => {
    it('reads the snapshot: preferred synonyms as displays, FSNs and synonyms as designations, active is-a edges', async () => {
      const source = await snomedSource([fixture('snomed')]);
      const header = await source.header();
      assert.equal(header.url, 'http://snomed.info/sct');
      assert.equal(header.version, 'http://snomed.info/sct/900000000000207008/version/20230131');
      const { concepts, edges } = await emitted(source);
      assert.equal(concepts.size, 12);
      const t2 = concepts.get('44054006')!;
      assert.equal(t2.display, 'Type 2 diabetes mellitus', 'the US English preferred synonym');
      assert.deepEqual(t2.designations?.map((d) => d.value), ['Diabetes mellitus type 2 (disorder)', 'Type 2 diabetes mellitus', 'Diabetes mellitus type II', 'Adult-onset diabetes']);
      assert.deepEqual(prop(t2, 'sufficientlyDefined'), [true]);
      assert.equal(concepts.get('190368000')!.active, false);
      assert.equal(concepts.get('190368000')!.display, 'Type I diabetes mellitus with ulcer', 'no synonym: the FSN without its tag');
      assert.ok(!concepts.get('73211009')!.designations?.some((d) => d.value === 'Retired name of diabetes'), 'inactive descriptions are left out');
      const set = edgeSet(edges);
      assert.equal(edges.length, 11);
      assert.ok(set.has('73211009<362969004') && set.has('73211009<126877002'), 'two parents');
      assert.ok(!set.has('59621000<73211009'), 'an inactive relationship');
      assert.ok(!set.has('44054006<362969004'), 'a relationship that is not is-a');
    });

    it('strips a semantic tag', () => {
      assert.equal(withoutSemanticTag('Hypertensive disorder, systemic arterial (disorder)'), 'Hypertensive disorder, systemic arterial');
    });

    it('names the file and line of a bad row', async () => {
      const dir = await brokenCopy('snomed', 'Snapshot/Terminology/sct2_Concept_Snapshot_INT_20230131.txt', 4, '64572001\t20230131\t1');
      await assert.rejects(async () => emitted(await snomedSource([dir])), /sct2_Concept_Snapshot_INT_20230131\.txt:4: expected 5 tab-separated columns, found 3/);
      const rel = await brokenCopy('snomed', 'Snapshot/Terminology/sct2_Relationship_Snapshot_INT_20230131.txt', 2, '5001025\t20230131\t2\t900000000000207008\t404684003\t138875005\t0\t116680003\t900000000000011006\t900000000000451002');
      await assert.rejects(async () => emitted(await snomedSource([rel])), /sct2_Relationship_Snapshot_INT_20230131\.txt:2: active is '2'/);
    });
  });

  describe('ICD-10-CM', () => {
    it('reads the order file: dotted codes, billable and header codes, parents by prefix', async () => {
      const source = await icd10cmSource([fixture('icd10cm')]);
      assert.equal((await source.header()).version, '2024');
      const { concepts, edges } = await emitted(source);
      assert.equal(concepts.size, 20);
      assert.equal(concepts.get('E11.65')!.display, 'Type 2 diabetes mellitus with hyperglycemia');
      assert.deepEqual(prop(concepts.get('E11.65'), 'billable'), [true]);
      assert.deepEqual(prop(concepts.get('E11'), 'billable'), [false]);
      assert.deepEqual(prop(concepts.get('E11'), 'notSelectable'), [true]);
      assert.ok(concepts.get('E08.9')!.designations?.[0].value.endsWith('...'), 'the short description');
      const set = edgeSet(edges);
      assert.ok(set.has('E11.65<E11.6') && set.has('E11.6<E11') && set.has('E11.9<E11') && set.has('S72.001A<S72.001') && set.has('I11.0<I11'));
      assert.equal(edges.length, 20 - 6, 'every code but the six categories has a parent');
    });

    it('parses one line and refuses a malformed one, naming file and line', async () => {
      assert.equal(dotted('S72001A'), 'S72.001A');
      assert.deepEqual(parseOrderLine(`00012 I10     1 ${'Essential (primary) hypertension'.padEnd(60)} Essential (primary) hypertension`), {
        code: 'I10',
        billable: true,
        short: 'Essential (primary) hypertension',
        long: 'Essential (primary) hypertension',
      });
      const dir = await brokenCopy('icd10cm', 'icd10cm_order_2024.txt', 7, '00007 E1121   2 Type 2 diabetes mellitus with diabetic nephropathy');
      await assert.rejects(async () => emitted(await icd10cmSource([dir])), /^ImportError: icd10cm_order_2024\.txt:7: column 15 should be 0 \(header\) or 1 \(billable\), found '2'$/);
    });
  });

  describe('RxNorm', () => {
    it('reads RXNCONSO (SAB=RXNORM) and the isa/inverse_isa rows of RXNREL', async () => {
      const source = await rxnormSource([fixture('rxnorm')]);
      assert.equal((await source.header()).version, '01022024');
      const { concepts, edges } = await emitted(source);
      assert.equal(concepts.size, 11, 'RXNORM rows only');
      const scd = concepts.get('860975')!;
      assert.equal(scd.display, 'metformin hydrochloride 500 MG Oral Tablet', 'the SCD name, not its synonyms');
      assert.deepEqual(prop(scd, 'TTY'), ['SCD']);
      assert.deepEqual(scd.designations?.map((d) => d.use?.code), ['PSN', 'SY']);
      assert.equal(concepts.get('235743')!.active, false, 'every row suppressed');
      assert.deepEqual([...edgeSet(edges)].sort(), ['316945<1151131', '316965<1151131', '317541<1151131', '317541<1151133']);
    });

    it('names the file and line of a row with too few fields', async () => {
      const dir = await brokenCopy('rxnorm', 'RxNorm_full_01022024/rrf/RXNCONSO.RRF', 5, '860975|ENG|');
      await assert.rejects(async () => emitted(await rxnormSource([dir])), /RXNCONSO\.RRF:5: expected 18 pipe-separated fields, found 3/);
    });
  });

  describe('CVX', () => {
    it('reads cvx.txt: trimmed codes, inactive and non-US codes, non-vaccines, the newest update as version', async () => {
      const source = await cvxSource([fixture('cvx', 'cvx.txt')]);
      assert.equal((await source.header()).version, '2023-11-02');
      const { concepts, edges } = await emitted(source);
      assert.equal(concepts.size, 12);
      assert.equal(concepts.get('03')!.display, 'MMR');
      assert.equal(concepts.get('03')!.designations?.[0].value, 'measles, mumps and rubella virus vaccine');
      assert.equal(concepts.get('01')!.active, false);
      assert.equal(concepts.get('173')!.active, false, 'Non-US');
      assert.deepEqual(prop(concepts.get('86'), 'nonvaccine'), [true]);
      assert.equal(edges.length, 0);
      assert.equal(isoDate('7/17/2020'), '2020-07-17');
    });

    it('names the file and line of a short row', async () => {
      const dir = await brokenCopy('cvx', 'cvx.txt', 4, '01|DTP|Inactive');
      await assert.rejects(async () => emitted(await cvxSource([dir])), /^ImportError: cvx\.txt:4: expected 8 pipe-separated fields, found 3$/);
    });
  });

  describe('FHIR files', () => {
    it('reads a CodeSystem file, an unpacked package (not its examples) and a packed .tgz alike', async () => {
      const single = [];
      for await (const r of fhirResources([fixture('fhir', 'CodeSystem-colours.json')])) single.push(r.resource.url);
      assert.deepEqual(single, ['http://example.org/fhir/CodeSystem/colours']);
      const types = async (path: string) => {
        const found: string[] = [];
        for await (const r of fhirResources([path])) found.push(`${String(r.resource.resourceType)}/${String(r.resource.id)}`);
        return found.sort();
      };
      const expected = ['CodeSystem/shapes', 'CodeSystem/shapes-fragment', 'ConceptMap/shapes-to-colours', 'ValueSet/polygons'];
      assert.deepEqual(await types(fixture('fhir', 'package-src')), expected);
      assert.deepEqual(await types(await packedFhirPackage()), expected);
    });
  });

  it('closureOf pairs every concept with itself and its ancestors once, past cycles and unknown parents', () => {
    const pairs = closureOf({
      concepts: ['A', 'B', 'C', 'D'].map((code) => ({ code })),
      edges: [
        { child: 'B', parent: 'A' },
        { child: 'C', parent: 'A' },
        { child: 'D', parent: 'B' },
        { child: 'D', parent: 'C' },
        { child: 'A', parent: 'D' },
        { child: 'C', parent: 'X' },
      ],
    }).map(([a, d]) => `${a}>${d}`);
    // The cycle A < D < B < A makes every concept an ancestor of every other; X is not a concept.
    assert.deepEqual(pairs.sort(), ['A>A', 'A>B', 'A>C', 'A>D', 'B>A', 'B>B', 'B>C', 'B>D', 'C>A', 'C>B', 'C>C', 'C>D', 'D>A', 'D>B', 'D>C', 'D>D']);
    const tree = closureOf({ concepts: ['A', 'B', 'C'].map((code) => ({ code })), edges: [{ child: 'B', parent: 'A' }, { child: 'C', parent: 'B' }] });
    assert.deepEqual(tree.map(([a, d]) => `${a}>${d}`).sort(), ['A>A', 'A>B', 'A>C', 'B>B', 'B>C', 'C>C']);
  });
});
