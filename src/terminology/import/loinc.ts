// LOINC (https://loinc.org/downloads/, the "LOINC Table" and "Accessory Files" of a release) as the
// code system http://loinc.org (terminologies.html LOINC; LOINC's own FHIR guidance: the display is
// LONG_COMMON_NAME). Loinc.csv gives the LOINC terms; the hierarchy file (MultiAxialHierarchy.csv,
// or else ComponentHierarchyBySystem.csv: PATH_TO_ROOT, SEQUENCE, IMMEDIATE_PARENT, CODE,
// CODE_TEXT) gives is-a edges and the LOINC parts (LP codes) that group the terms, which become
// concepts too so the hierarchy is whole.
import { basename } from 'node:path';
import type { CodeSystemHeader, ConceptProperty, Designation, PropertyDef } from '../../storage/terminology-store.js';
import { columnsOf, csvRecords } from './csv.js';
import { ImportError } from './errors.js';
import { filesUnder, pick, required } from './files.js';
import type { CodeSystemSource } from './source.js';

export const LOINC_URL = 'http://loinc.org';

/** Loinc.csv columns kept as concept properties (names as in the file; LOINC's FHIR property codes are the same). */
const PROPERTY_COLUMNS = ['COMPONENT', 'PROPERTY', 'TIME_ASPCT', 'SYSTEM', 'SCALE_TYP', 'METHOD_TYP', 'CLASS', 'CLASSTYPE', 'STATUS', 'ORDER_OBS', 'VersionFirstReleased', 'VersionLastChanged'];
/** Other names of a term, kept as designations. */
const DESIGNATION_COLUMNS = ['SHORTNAME', 'DisplayName', 'CONSUMER_NAME'];

const PROPERTY_DEFS: PropertyDef[] = PROPERTY_COLUMNS.map((code) => ({ code, type: code === 'CLASSTYPE' ? 'integer' : 'string', uri: `${LOINC_URL}/property/${code}` }));

/** '2.76' > '2.8'? Compares dotted numbers part by part. */
function newerVersion(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return false;
}

/** The release's version: from a `Loinc_2.76` directory name, else the newest VersionLastChanged in Loinc.csv. */
async function releaseVersion(table: string): Promise<string> {
  const named = /Loinc_(\d+\.\d+)/i.exec(table);
  if (named) return named[1];
  let columns: Map<string, number> | undefined;
  let newest = '';
  for await (const record of csvRecords(table)) {
    if (!columns) {
      columns = columnsOf(table, record, ['LOINC_NUM']);
      continue;
    }
    const value = record.fields[columns.get('VersionLastChanged') ?? -1]?.trim();
    if (value && /^\d+(\.\d+)*$/.test(value) && (newest === '' || newerVersion(value, newest))) newest = value;
  }
  if (!newest) throw new Error(`${basename(table)}: no version found (no VersionLastChanged values); give --version`);
  return newest;
}

export async function loincSource(paths: readonly string[]): Promise<CodeSystemSource> {
  const files = await filesUnder(paths);
  const table = required(pick(files, /^Loinc\.csv$/i, 'Loinc.csv'), 'Loinc.csv', paths);
  const hierarchy = pick(files, /^MultiAxialHierarchy\.csv$/i, 'MultiAxialHierarchy.csv') ?? pick(files, /^ComponentHierarchyBySystem\.csv$/i, 'ComponentHierarchyBySystem.csv');
  return {
    format: 'loinc',
    files: hierarchy ? [table, hierarchy] : [table],
    async header(): Promise<CodeSystemHeader> {
      const version = await releaseVersion(table);
      const resource = {
        resourceType: 'CodeSystem',
        url: LOINC_URL,
        version,
        name: 'LOINC',
        title: 'LOINC Code System',
        status: 'active',
        publisher: 'Regenstrief Institute, Inc.',
        copyright: 'This content LOINC® is copyright © 1995 Regenstrief Institute, Inc. and the LOINC Committee, and available at no cost under the license at http://loinc.org/terms-of-use',
        caseSensitive: false,
        hierarchyMeaning: 'is-a',
        content: 'complete',
        property: PROPERTY_DEFS,
      };
      return { url: LOINC_URL, version, name: 'LOINC', title: 'LOINC Code System', status: 'active', content: 'complete', caseSensitive: false, hierarchyMeaning: 'is-a', source: 'loinc', propertyDefs: PROPERTY_DEFS, resource };
    },
    async emit(sink, progress) {
      const codes = new Set<string>();
      progress.file = basename(table);
      let columns: Map<string, number> | undefined;
      let width = 0;
      for await (const record of csvRecords(table, progress)) {
        if (!columns) {
          columns = columnsOf(table, record, ['LOINC_NUM', 'LONG_COMMON_NAME', 'STATUS']);
          width = record.fields.length;
          continue;
        }
        const f = record.fields;
        if (f.length !== width) throw new ImportError(table, record.line, `expected ${width} columns, found ${f.length}`);
        const at = (name: string) => (columns!.has(name) ? f[columns!.get(name)!].trim() : '');
        const code = at('LOINC_NUM');
        if (!/^\d+-\d$/.test(code)) throw new ImportError(table, record.line, `LOINC_NUM '${code}' is not a LOINC code (digits, a hyphen, a check digit)`);
        if (codes.has(code)) throw new ImportError(table, record.line, `the code ${code} is listed twice`);
        codes.add(code);
        const properties: ConceptProperty[] = [];
        for (const name of PROPERTY_COLUMNS) {
          const value = at(name);
          if (!value) continue;
          if (name === 'CLASSTYPE' && /^\d+$/.test(value)) properties.push({ code: name, type: 'integer', value: Number(value) });
          else properties.push({ code: name, type: 'string', value });
        }
        const designations: Designation[] = DESIGNATION_COLUMNS.flatMap((name) => {
          const value = at(name);
          return value ? [{ language: 'en-US', use: { system: LOINC_URL, code: name, display: name }, value }] : [];
        });
        const display = at('LONG_COMMON_NAME') || at('SHORTNAME') || at('COMPONENT');
        await sink.concept({
          code,
          ...(display ? { display } : {}),
          // LOINC term status (ACTIVE, TRIAL, DISCOURAGED, DEPRECATED): only deprecated terms are inactive.
          active: at('STATUS') !== 'DEPRECATED',
          ...(designations.length > 0 ? { designations } : {}),
          properties,
        });
      }
      if (!hierarchy) return;
      progress.file = basename(hierarchy);
      columns = undefined;
      // A term sits on several paths, so the file repeats a child-parent pair: write each once.
      const edges = new Set<string>();
      for await (const record of csvRecords(hierarchy, progress)) {
        if (!columns) {
          columns = columnsOf(hierarchy, record, ['PATH_TO_ROOT', 'CODE']);
          width = record.fields.length;
          continue;
        }
        const f = record.fields;
        if (f.length !== width) throw new ImportError(hierarchy, record.line, `expected ${width} columns, found ${f.length}`);
        const code = f[columns.get('CODE')!].trim();
        if (!code) throw new ImportError(hierarchy, record.line, 'CODE is empty');
        const path = f[columns.get('PATH_TO_ROOT')!].trim();
        const parent = (columns.has('IMMEDIATE_PARENT') ? f[columns.get('IMMEDIATE_PARENT')!].trim() : '') || path.split('.').pop() || '';
        if (!codes.has(code)) {
          // A LOINC part (LP…) grouping terms: a concept of http://loinc.org too.
          codes.add(code);
          const display = columns.has('CODE_TEXT') ? f[columns.get('CODE_TEXT')!].trim() : '';
          await sink.concept({ code, ...(display ? { display } : {}) });
        }
        if (!parent || parent === code || edges.has(`${code}\t${parent}`)) continue;
        edges.add(`${code}\t${parent}`);
        await sink.edge({ child: code, parent });
      }
    },
  };
}
